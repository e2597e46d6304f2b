//! `safeledger private erase`: erase the private field values of one committed transaction
//! at the node of the agency that holds them (DESIGN §4 "Private fields"; the erasure is
//! `node/src/private_store.rs`).

use super::home::Home;
use anyhow::Context;
use safeledger_client::proto::ErasedField;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::{Timestamp, TxId};

/// Asks the node of `agency` (only that node: private values live there) to erase the
/// values of `fields` of transaction `tx` (all its private fields when empty).
pub async fn erase(
    home: &Home,
    agency: &str,
    tx: TxId,
    fields: &[String],
) -> anyhow::Result<Vec<ErasedField>> {
    let a = home.genesis.agency(agency).with_context(|| {
        let known: Vec<&str> = home
            .genesis
            .agencies
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        format!(
            "agency {agency:?} is not in the genesis (agencies: {})",
            known.join(", ")
        )
    })?;
    let mut client = LedgerClient::new(vec![a.grpc_addr.clone()]).signed_by(home.signer(agency)?);
    client
        .erase_private(&tx, fields)
        .await
        .with_context(|| format!("erasing private values of {tx} at {agency}'s node"))
}

/// The erasure reply as JSON.
pub fn to_json(tx: &TxId, agency: &str, erased: &[ErasedField]) -> serde_json::Value {
    let fields: Vec<_> = erased
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name,
                "index": e.index,
                "erased_at_ms": e.erased_at_ms,
                "newly_erased": e.newly_erased,
            })
        })
        .collect();
    serde_json::json!({ "tx_id": tx, "agency": agency, "erased": fields })
}

/// The erasure reply for people: one line per field.
pub fn render(tx: &TxId, agency: &str, erased: &[ErasedField]) -> String {
    let mut s = String::new();
    for e in erased {
        let when = Timestamp(e.erased_at_ms).date_string();
        let what = if e.newly_erased {
            "erased now"
        } else {
            "was erased already"
        };
        s.push_str(&format!(
            "field {} of {tx} {what} at {agency}'s node ({when}, {} ms); its commitment stays\n",
            e.name, e.erased_at_ms
        ));
    }
    s
}
