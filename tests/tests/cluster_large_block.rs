//! Blocks larger than the gossip limit (issue 3 item 3): the proposer gossips such a
//! proposal without its block, and every peer fetches the block over request-response.

use safeledger_core::encoding::to_canonical;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{ids::EnterpriseId, Timestamp, Transaction, TxPayload};
use safeledger_tests::Cluster;
use std::time::Duration;

/// The lowered gossip limit of this test, in bytes.
const GOSSIP_LIMIT: usize = 256 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_block_at_one_and_a_half_times_the_gossip_limit_is_committed_by_all() {
    let mut c = Cluster::start_with_gossip_limit(GOSSIP_LIMIT).await;
    let key = c.officer(0);
    let chain = c.home.genesis.chain_id.clone();
    // 40 records of about 32 KiB each: about 1.3 MB, more than one gossip message holds.
    let txs: Vec<Transaction> = (1..=40u64)
        .map(|seq| {
            let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                enterprise: EnterpriseId::namespaced("test", &format!("big{seq}")).expect("id"),
                name: "N".repeat(16_000),
                address: "A".repeat(16_000),
                linked_ids: vec![],
            });
            let p = TxPayload::new(&chain, seq, Timestamp(1_000), body, &mut rand::rngs::OsRng);
            Transaction::sign(p, &[&key])
        })
        .collect();
    let mut client = c.client();
    let done = client
        .submit_and_wait(&txs, Duration::from_secs(90))
        .await
        .expect("committed");
    let top = done.iter().map(|d| d.height).max().unwrap_or(0);
    let heights = c.wait_height(top, Duration::from_secs(60)).await;
    assert!(heights.iter().all(|h| *h >= top), "heights {heights:?}");
    let mut largest = 0;
    for h in 1..=top {
        let (b, _, _) = client.block(h).await.expect("block");
        largest = largest.max(to_canonical(&b).len());
    }
    assert!(
        largest * 2 >= GOSSIP_LIMIT * 3,
        "largest block {largest} bytes is under 1.5 x the gossip limit {GOSSIP_LIMIT}"
    );
    let fetched: u64 = c
        .nodes
        .iter()
        .flatten()
        .map(|n| n.shared.metrics.proposal_fetches.get())
        .sum();
    assert!(fetched >= 1, "no node fetched a large proposal's block");
    let h0 = c.hashes(0, top).await;
    for i in 1..4 {
        assert_eq!(c.hashes(i, top).await, h0, "node {i} differs");
    }
    c.stop_all().await;
}
