//! The officer's own reads: `GetOfficerRecords` (lifetime accountability, issue 19 item 5,
//! from the store's signer index) and `CheckTransaction` (the dry run of item 4: the
//! mempool's pre-check `Executor::check_tx`, nothing admitted).

use super::{internal, LedgerService};
use crate::app::StoreView;
use safeledger_client::auth::method;
use safeledger_client::proto;
use safeledger_contracts::registry::OfficerState;
use safeledger_contracts::{BlockContext, Executor};
use safeledger_core::encoding::from_canonical_bounded;
use safeledger_core::limits::MAX_TX_BYTES;
use safeledger_core::{PublicKey, Transaction};
use serde_json::{json, Value};
use tonic::{Request, Response, Status};

/// Most records per page of `GetOfficerRecords`.
pub const MAX_OFFICER_PAGE: usize = 200;

/// The officer `text` names: a public key in hex, or a name registered on chain (unique).
fn resolve(svc: &LedgerService, text: &str) -> Result<PublicKey, Status> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return PublicKey::from_hex(text)
            .map_err(|e| Status::invalid_argument(format!("officer {text}: {e}")));
    }
    if text.is_empty() || text.chars().count() > 200 {
        return Err(Status::invalid_argument(
            "officer: give a public key (64 hex digits) or a registered name of at most 200 \
             characters",
        ));
    }
    let mut found = Vec::new();
    for kv in svc.shared.store.state_scan(b"off/") {
        let (k, v) = kv.map_err(internal)?;
        let st: OfficerState = safeledger_core::from_canonical(&v).map_err(internal)?;
        if st.name == text {
            let key: [u8; 32] = k[4..].try_into().map_err(internal)?;
            found.push(PublicKey(key));
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Status::not_found(format!(
            "no officer is registered under the name {text:?} (genesis officers have no \
             name: give the key)"
        ))),
        many => Err(Status::invalid_argument(format!(
            "{} officers are registered as {text:?}: give one key of [{}]",
            many.len(),
            many.iter()
                .map(PublicKey::to_hex)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// What the ledger knows of officer `key`, or `NOT_FOUND`.
fn officer_json(svc: &LedgerService, key: &PublicKey) -> Result<Value, Status> {
    let view = StoreView(&svc.shared.store);
    if let Some(st) = safeledger_contracts::query::officer(&view, key) {
        return Ok(json!({
            "key": key.to_hex(),
            "agency": st.agency,
            "name": st.name,
            "roles": st.roles,
            "registered": st.registered.map(|(t, h)| json!({"tx": t.to_hex(), "height": h})),
            "revoked": st.revoked.map(|(t, h)| json!({"tx": t.to_hex(), "height": h})),
        }));
    }
    match svc.shared.genesis.agency_of_officer(key) {
        Some(a) => Ok(json!({
            "key": key.to_hex(),
            "agency": a.id,
            "name": "",
            "roles": [safeledger_contracts::params::HEAD_ROLE],
            "registered": "genesis",
            "revoked": null,
        })),
        None => Err(Status::not_found(format!(
            "{key} is not and never was an officer of this chain"
        ))),
    }
}

fn parse_cursor(c: &str) -> Result<Option<(u64, u32)>, Status> {
    if c.is_empty() {
        return Ok(None);
    }
    let bad = || Status::invalid_argument(format!("cursor {c:?} is not HEIGHT:INDEX"));
    let (h, i) = c.split_once(':').ok_or_else(bad)?;
    Ok(Some((
        h.parse().map_err(|_| bad())?,
        i.parse().map_err(|_| bad())?,
    )))
}

/// The records of one page: each transaction at its (height, position), with its result.
fn records(svc: &LedgerService, key: &PublicKey, at: &[(u64, u32)]) -> Result<Vec<Value>, Status> {
    let store = &svc.shared.store;
    let mut out = Vec::with_capacity(at.len());
    let mut loaded: Option<(u64, safeledger_core::Block, Vec<safeledger_core::TxResult>)> = None;
    for &(h, i) in at {
        if loaded.as_ref().map(|(lh, ..)| *lh) != Some(h) {
            let block = store
                .block(h)
                .map_err(internal)?
                .ok_or_else(|| Status::internal(format!("indexed block {h} missing")))?;
            let results = store.results(h).map_err(internal)?.unwrap_or_default();
            loaded = Some((h, block, results));
        }
        let Some((_, block, results)) = loaded.as_ref() else {
            continue;
        };
        let tx = block
            .txs
            .get(i as usize)
            .ok_or_else(|| Status::internal(format!("indexed position {h}:{i} missing")))?;
        let body = &tx.payload.body;
        let signers: Vec<String> = tx.signatures.iter().map(|s| s.signer.to_hex()).collect();
        let agency = tx
            .submitter()
            .and_then(|s| officer_json(svc, s).ok())
            .and_then(|o| o["agency"].as_str().map(str::to_string));
        out.push(json!({
            "height": h,
            "index": i,
            "tx_id": tx.id().to_hex(),
            "kind": body.kind().name(),
            "agency": agency,
            "enterprise": body.enterprise().map(|e| e.as_str().to_string()),
            "effective_at": tx.payload.effective_at.0,
            "signed_as": if tx.submitter() == Some(key) { "submitter" } else { "co-signer" },
            "signers": signers,
            "outcome": results.get(i as usize).map(|r| &r.outcome),
        }));
    }
    Ok(out)
}

pub(super) async fn get_officer_records(
    svc: &LedgerService,
    req: Request<proto::GetOfficerRecordsRequest>,
) -> Result<Response<proto::GetOfficerRecordsReply>, Status> {
    svc.officer(
        &req,
        method::GET_OFFICER_RECORDS,
        "reading officers' records",
    )?;
    let r = req.into_inner();
    let limit = match r.limit as usize {
        0 => 50,
        n if n > MAX_OFFICER_PAGE => {
            return Err(Status::invalid_argument(format!(
                "limit {n} is over {MAX_OFFICER_PAGE}"
            )))
        }
        n => n,
    };
    let after = parse_cursor(&r.cursor)?;
    let key = resolve(svc, &r.officer)?;
    let officer = officer_json(svc, &key)?;
    // One more than asked: whether another page follows.
    let mut at = svc
        .shared
        .store
        .signed_by(&key, after, limit + 1)
        .map_err(internal)?;
    let more = at.len() > limit;
    at.truncate(limit);
    let next = more
        .then(|| at.last().map(|(h, i)| format!("{h}:{i}")))
        .flatten();
    let records = records(svc, &key, &at)?;
    let json = json!({ "officer": officer, "records": records, "next_cursor": next });
    Ok(Response::new(proto::GetOfficerRecordsReply {
        json: json.to_string(),
    }))
}

pub(super) async fn check_transaction(
    svc: &LedgerService,
    req: Request<proto::CheckTransactionRequest>,
) -> Result<Response<proto::CheckTransactionReply>, Status> {
    svc.officer(&req, method::CHECK_TRANSACTION, "dry runs")?;
    let bytes = req.into_inner().tx;
    let tx: Transaction = from_canonical_bounded(&bytes, MAX_TX_BYTES)
        .map_err(|e| Status::invalid_argument(format!("not a transaction: {e}")))?;
    let genesis = &svc.shared.genesis;
    tx.check_stateless(&genesis.chain_id)
        .map_err(|e| Status::invalid_argument(format!("stateless check: {e}")))?;
    let height = svc.shared.status.borrow().height + 1;
    let now = crate::shell::now();
    let ctx = BlockContext { height, time: now };
    let outcome = Executor::new(genesis).check_tx(&StoreView(&svc.shared.store), &ctx, &tx);
    let json = json!({ "height": height, "time": now.0, "outcome": outcome });
    Ok(Response::new(proto::CheckTransactionReply {
        json: json.to_string(),
    }))
}
