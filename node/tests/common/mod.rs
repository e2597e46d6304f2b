//! Helpers shared by the process-level tests: the chain checks of the process fault tests
//! (`faults.rs`) and the container fault tests (`cluster_docker.rs`), the guard that stops
//! node processes, and the search for a committed record that the CLI tests
//! (`cli_honest.rs`, `readme_examples.rs`, `key_ceremony.rs`) share. Each test binary uses
//! a part of it.
#![allow(dead_code)]

use std::process::Child;

use safeledger_client::auth::Signer;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::TxId;
use std::collections::BTreeMap;

/// Every node of `endpoints` holds the same block at height `min` (equal hashes there mean
/// equal chains: each header commits to its predecessor); and in heights 1..=`min`, read
/// from the first node, every acknowledged transaction (`acks`: id → (height, index)) is
/// committed exactly once, at its acknowledged place, and no transaction twice.
pub async fn assert_same_chain_and_acks_once(
    endpoints: &[String],
    signer: &Signer,
    min: u64,
    acks: &BTreeMap<TxId, (u64, u32)>,
) {
    let mut hashes = Vec::new();
    for e in endpoints {
        let (b, _, _) = LedgerClient::new(vec![e.clone()])
            .signed_by(signer.clone())
            .block(min)
            .await
            .expect("block");
        hashes.push(b.hash());
    }
    assert!(
        hashes.iter().all(|h| *h == hashes[0]),
        "nodes disagree at height {min}: {hashes:?}"
    );
    let mut c = LedgerClient::new(vec![endpoints[0].clone()]).signed_by(signer.clone());
    let mut places: BTreeMap<TxId, Vec<(u64, u32)>> = BTreeMap::new();
    for h in 1..=min {
        let (b, _, _) = c.block(h).await.expect("block");
        for (i, tx) in b.txs.iter().enumerate() {
            places.entry(tx.id()).or_default().push((h, i as u32));
        }
    }
    for (id, at) in acks {
        assert_eq!(places.get(id), Some(&vec![*at]), "acknowledged tx {id}");
    }
    assert!(
        places.values().all(|v| v.len() == 1),
        "a transaction committed twice"
    );
}

/// Node processes, killed and reaped when the test ends, however it ends.
pub struct Nodes(pub Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The id of the first accepted accident report (public `category`, private `description`
/// in the demo's import), walking the blocks from height 1 as `block_json(h)` returns
/// them (`safeledger block show h --output json`; `None` past the tip).
///
/// # Panics
/// No such report in the blocks.
pub fn first_accepted_accident(
    mut block_json: impl FnMut(u64) -> Option<serde_json::Value>,
) -> String {
    for h in 1..200 {
        let Some(v) = block_json(h) else { break };
        let txs = v["block"]["txs"].as_array().cloned().unwrap_or_default();
        let results = v["results"].as_array().cloned().unwrap_or_default();
        for (tx, r) in txs.iter().zip(results) {
            if tx["payload"]["body"].get("accident_report").is_some() && r["outcome"] == "accepted"
            {
                return r["tx_id"].as_str().expect("tx id").to_string();
            }
        }
    }
    panic!("no accepted accident report in the blocks");
}
