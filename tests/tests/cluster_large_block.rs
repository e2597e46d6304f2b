//! Blocks larger than the gossip limit (issue 3 item 3), and proposals gossiped as their
//! transaction ids (issue 7): a peer rebuilds the block from its mempool, and fetches it
//! over request-response when it does not hold every transaction.

use safeledger_client::rpc::LedgerClient;
use safeledger_core::encoding::to_canonical;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{ids::EnterpriseId, Timestamp, Transaction, TxPayload};
use safeledger_tests::Cluster;
use std::time::Duration;

/// The lowered gossip limit of this test, in bytes.
const GOSSIP_LIMIT: usize = 256 * 1024;

/// Submits `txs` through `client`, waits until every running node reaches the highest
/// height they were committed at, and returns that height.
async fn commit_on_all(c: &Cluster, client: &mut LedgerClient, txs: &[Transaction]) -> u64 {
    let done = client
        .submit_and_wait(txs, Duration::from_secs(90))
        .await
        .expect("committed");
    let top = done.iter().map(|d| d.height).max().unwrap_or(0);
    let heights = c.wait_height(top, Duration::from_secs(60)).await;
    assert!(heights.iter().all(|h| *h >= top), "heights {heights:?}");
    top
}

/// Asserts that nodes 1 to 3 hold node 0's blocks at heights 1..=`top`.
async fn assert_same_chain(c: &Cluster, top: u64) {
    let h0 = c.hashes(0, top).await;
    for i in 1..4 {
        assert_eq!(c.hashes(i, top).await, h0, "node {i} differs");
    }
}

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
    let top = commit_on_all(&c, &mut client, &txs).await;
    let mut largest = 0;
    for h in 1..=top {
        let (b, _, _) = client.block(h).await.expect("block");
        largest = largest.max(to_canonical(&b).len());
    }
    assert!(
        largest * 2 >= GOSSIP_LIMIT * 3,
        "largest block {largest} bytes is under 1.5 x the gossip limit {GOSSIP_LIMIT}"
    );
    // Every peer held the transactions (gossiped when admitted), so the block crossed
    // the network as ids and was rebuilt, though it is larger than one gossip message.
    let rebuilt: u64 = c
        .nodes
        .iter()
        .flatten()
        .map(|n| n.shared.metrics.proposals_rebuilt.get())
        .sum();
    assert!(rebuilt >= 1, "no node rebuilt a large proposal's block");
    // The blocks began executing when built or judged valid (pipelined execution), and
    // their commits took those executions: on every node that voted for them.
    let preexecuting = c
        .nodes
        .iter()
        .flatten()
        .filter(|n| n.shared.metrics.blocks_preexecuted.get() >= 1)
        .count();
    assert!(
        preexecuting >= 3,
        "{preexecuting} nodes committed a block with its pre-execution"
    );
    assert_same_chain(&c, top).await;
    c.stop_all().await;
}

/// A node whose mempool refuses the gossiped transactions (full at one) cannot rebuild
/// the proposals of the others from their ids: it fetches the blocks it cannot rebuild,
/// and commits the same chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_node_missing_transactions_fetches_the_proposed_blocks() {
    let mut c = Cluster::start().await;
    c.stop_node(3).await;
    let defaults = c.limits;
    c.limits.mempool_max_txs = 1;
    c.start_node(3).await;
    c.limits = defaults;
    // Node 3 is connected before the load starts, so it sees every gossip batch.
    let connected = std::time::Instant::now();
    while c.nodes[3].as_ref().map_or(0, |n| {
        n.shared.peers.load(std::sync::atomic::Ordering::Relaxed)
    }) < 3
    {
        assert!(
            connected.elapsed() < Duration::from_secs(30),
            "node 3 did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ... and at the others' height: a node still syncing the blocks it missed while down
    // takes the load's blocks by sync too, and never handles their proposals.
    let tip = c.nodes[0]
        .as_ref()
        .map_or(0, |n| n.shared.status.borrow().height);
    let heights = c.wait_height(tip, Duration::from_secs(30)).await;
    assert!(
        heights.iter().all(|h| *h >= tip),
        "node 3 did not catch up: {heights:?}"
    );
    let txs = c.enterprise_txs(0, 1, 60);
    let mut client = c.node_client(0);
    let top = commit_on_all(&c, &mut client, &txs).await;
    let node3 = c.nodes[3].as_ref().expect("node 3 runs");
    let fetched = node3.shared.metrics.proposal_fetches.get();
    let synced = node3.shared.metrics.blocks_synced.get();
    assert!(
        fetched >= 1,
        "node 3 fetched no proposal's block (blocks synced instead: {synced})"
    );
    assert_same_chain(&c, top).await;
    c.stop_all().await;
}
