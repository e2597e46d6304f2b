//! Four real nodes in one process (libp2p on loopback, sled in temp dirs): commit,
//! tolerate one node down, catch up, and resume after a full restart.

use safeledger_core::Outcome;
use safeledger_tests::Cluster;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_commit_transactions_and_agree() {
    let mut c = Cluster::start().await;
    let txs = c.enterprise_txs(0, 1, 50);
    let mut client = c.client();
    let done = client
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("committed");
    assert_eq!(done.len(), 50);
    assert!(done.iter().all(|d| d.result.outcome == Outcome::Accepted));
    let top = done.iter().map(|d| d.height).max().unwrap_or(0);
    c.wait_height(top, Duration::from_secs(30)).await;
    let h0 = c.hashes(0, top).await;
    for i in 1..4 {
        assert_eq!(c.hashes(i, top).await, h0, "node {i} differs");
    }
    // A replayed transaction is not committed twice.
    let again = client
        .submit_and_wait(&txs[..1], Duration::from_secs(30))
        .await
        .expect("acknowledged");
    assert_eq!(again[0].height, done[0].height);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_with_one_node_down_and_the_node_catches_up() {
    let mut c = Cluster::start().await;
    c.wait_height(1, Duration::from_secs(30)).await;
    c.stop_node(2).await;
    let txs = c.enterprise_txs(0, 1, 30);
    let mut client = c.client();
    let done = client
        .submit_and_wait(&txs, Duration::from_secs(90))
        .await
        .expect("committed with three of four nodes");
    assert_eq!(done.len(), 30);
    let top = done.iter().map(|d| d.height).max().unwrap_or(0);
    c.start_node(2).await;
    let heights = c.wait_height(top, Duration::from_secs(60)).await;
    assert!(heights.iter().all(|h| *h >= top), "heights {heights:?}");
    assert_eq!(c.hashes(2, top).await, c.hashes(0, top).await);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_resumes_at_the_same_height_and_hashes() {
    let mut c = Cluster::start().await;
    let txs = c.enterprise_txs(1, 1, 20);
    let done = c
        .client()
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("committed");
    let top = done.iter().map(|d| d.height).max().unwrap_or(0);
    c.wait_height(top, Duration::from_secs(30)).await;
    let before = c.hashes(0, top).await;
    c.stop_all().await;
    for i in 0..4 {
        c.start_node(i).await;
    }
    let after_heights = c.wait_height(top + 1, Duration::from_secs(60)).await;
    assert!(after_heights.iter().all(|h| *h > top), "{after_heights:?}");
    for i in 0..4 {
        assert_eq!(
            c.hashes(i, top).await,
            before,
            "node {i} lost or changed blocks"
        );
    }
    // Committed transactions are still found with their results.
    let (_, h, _, r) = c.client().transaction(done[0].tx_id).await.expect("found");
    assert_eq!(h, done[0].height);
    assert_eq!(r.outcome, Outcome::Accepted);
    c.stop_all().await;
}
