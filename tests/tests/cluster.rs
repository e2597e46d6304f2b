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
    // Operators see the node through /healthz and Prometheus /metrics.
    let addr = c.nodes[0]
        .as_ref()
        .and_then(|n| n.metrics_addr)
        .expect("metrics served");
    assert!(http_get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    let m = http_get(addr, "/metrics").await;
    for name in [
        "safeledger_height",
        "safeledger_round",
        "safeledger_commit_latency_seconds",
        "safeledger_mempool_txs",
        "safeledger_mempool_bytes",
        "safeledger_peers",
        "safeledger_blocks_synced_total",
        "safeledger_txs_committed_total",
    ] {
        assert!(m.contains(name), "{name} missing from /metrics:\n{m}");
    }
    c.stop_all().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_assistance_request_is_open_for_the_addressed_agency_until_answered() {
    use safeledger_core::records::admin::{AssistanceRequest, AssistanceResponse};
    use safeledger_core::{Timestamp, Transaction, TxBody, TxPayload};
    let mut c = Cluster::start().await;
    let mut client = c.client();
    // The enterprise exists first (a record by chicago-bacp).
    let txs = c.enterprise_txs(0, 1, 1);
    client
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("enterprise");
    let enterprise = txs[0]
        .payload
        .body
        .enterprise()
        .cloned()
        .expect("enterprise id");
    let ask = TxBody::AssistanceRequest(AssistanceRequest {
        request_id: "boilers-1".into(),
        to_agency: "us-osha".into(),
        enterprise: enterprise.clone(),
        subject: "verify this enterprise's boilers".into(),
        due_in_hours: None,
    });
    let chain = c.home.genesis.chain_id.clone();
    let p = TxPayload::new(&chain, 2, Timestamp(1_000), ask, &mut rand::rngs::OsRng);
    let done = client
        .submit_and_wait(
            &[Transaction::sign(p, &[&c.officer(0)])],
            Duration::from_secs(60),
        )
        .await
        .expect("request committed");
    assert_eq!(
        done[0].result.outcome,
        Outcome::Accepted,
        "{:?}",
        done[0].result
    );
    let open = client
        .query("assistance_open", "us-osha", "", 0)
        .await
        .expect("query");
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    let answer = TxBody::AssistanceResponse(AssistanceResponse {
        from_agency: "chicago-bacp".into(),
        request_id: "boilers-1".into(),
        enterprise,
        answer: "boilers verified".into(),
    });
    let p = TxPayload::new(&chain, 1, Timestamp(2_000), answer, &mut rand::rngs::OsRng);
    let done = client
        .submit_and_wait(
            &[Transaction::sign(p, &[&c.officer(3)])],
            Duration::from_secs(60),
        )
        .await
        .expect("answer committed");
    assert_eq!(
        done[0].result.outcome,
        Outcome::Accepted,
        "{:?}",
        done[0].result
    );
    let open = client
        .query("assistance_open", "us-osha", "", 0)
        .await
        .expect("query");
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
    c.stop_all().await;
}
