//! Checks shared by the process fault tests (`faults.rs`) and the container fault tests
//! (`cluster_docker.rs`).

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
