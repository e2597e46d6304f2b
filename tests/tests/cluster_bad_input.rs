//! Untrusted input never panics a node or loses committed data: each kind of bad input
//! gets a typed refusal and the network keeps committing afterwards.

use safeledger_client::auth::method;
use safeledger_client::proto::{self, ledger_client::LedgerClient as Raw};
use safeledger_client::rpc::AdmissionReason;
use safeledger_core::encoding::to_canonical;
use safeledger_core::{Outcome, SecretKey};
use safeledger_network::{NetworkConfig, PeerInfo, Topic};
use safeledger_tests::Cluster;
use std::time::Duration;

async fn raw(c: &Cluster) -> Raw<tonic::transport::Channel> {
    Raw::new(
        safeledger_client::tls::connect(&c.endpoints()[0].clone())
            .await
            .expect("connect"),
    )
}

async fn still_commits(c: &Cluster, seq: u64) {
    let txs = c.enterprise_txs(3, seq, 3);
    let done = c
        .client()
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("network still commits");
    assert!(done.iter().all(|d| d.result.outcome == Outcome::Accepted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_refuses_malformed_grpc_requests_and_goes_on() {
    let mut c = Cluster::start().await;
    still_commits(&c, 1).await;
    let mut r = raw(&c).await;
    // Bytes that are not a transaction.
    let e = r
        .submit_batch(c.req(
            method::SUBMIT_BATCH,
            proto::SubmitBatchRequest {
                txs: vec![vec![1, 2, 3]],
            },
        ))
        .await
        .expect_err("garbage refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // A truncated transaction.
    let good = to_canonical(&c.enterprise_txs(3, 100, 1)[0]);
    let e = r
        .submit_batch(c.req(
            method::SUBMIT_BATCH,
            proto::SubmitBatchRequest {
                txs: vec![good[..good.len() - 5].to_vec()],
            },
        ))
        .await
        .expect_err("truncated refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // Trailing bytes.
    let mut trailing = good.clone();
    trailing.push(0);
    let e = r
        .submit_batch(c.req(
            method::SUBMIT_BATCH,
            proto::SubmitBatchRequest {
                txs: vec![trailing],
            },
        ))
        .await
        .expect_err("trailing bytes refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // Empty batch.
    let e = r
        .submit_batch(c.req(
            method::SUBMIT_BATCH,
            proto::SubmitBatchRequest { txs: vec![] },
        ))
        .await
        .expect_err("empty batch refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // Oversized batch.
    let e = r
        .submit_batch(c.req(
            method::SUBMIT_BATCH,
            proto::SubmitBatchRequest {
                txs: vec![vec![0u8]; safeledger_core::limits::MAX_BATCH_TXS + 1],
            },
        ))
        .await
        .expect_err("oversized batch refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // A hash of the wrong length.
    let e = r
        .get_transaction(c.req(
            method::GET_TRANSACTION,
            proto::GetTransactionRequest { tx_id: vec![7; 5] },
        ))
        .await
        .expect_err("bad id refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // An invalid enterprise id, and an unknown one.
    let e = r
        .get_enterprise(c.req(
            method::GET_ENTERPRISE,
            proto::GetEnterpriseRequest {
                enterprise_id: "not an id".into(),
                timeline_limit: 0,
            },
        ))
        .await
        .expect_err("invalid id refused");
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let e = r
        .get_enterprise(c.req(
            method::GET_ENTERPRISE,
            proto::GetEnterpriseRequest {
                enterprise_id: "test:nobody".into(),
                timeline_limit: 0,
            },
        ))
        .await
        .expect_err("unknown enterprise");
    assert_eq!(e.code(), tonic::Code::NotFound);
    still_commits(&c, 10).await;
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_refuses_bad_transactions_at_admission() {
    let mut c = Cluster::start().await;
    let mut client = c.client();
    // Bad signature.
    let mut tx = c.enterprise_txs(0, 1, 1).remove(0);
    tx.signatures[0].signature.0[3] ^= 1;
    let a = client.submit(&[tx]).await.expect("answered");
    assert!(
        !a[0].admitted && a[0].error.contains("signature"),
        "{:?}",
        a[0]
    );
    assert_eq!(a[0].reason(), AdmissionReason::Invalid, "typed reason");
    // Unknown signer (a key not registered as an officer).
    let stranger = SecretKey::from_bytes(&[9; 32]);
    let mut tx = c.enterprise_txs(0, 1, 1).remove(0);
    tx = safeledger_core::Transaction::sign(tx.payload, &[&stranger]);
    let a = client.submit(&[tx]).await.expect("answered");
    assert!(
        !a[0].admitted && a[0].error.contains("not a registered officer"),
        "{:?}",
        a[0]
    );
    assert_eq!(
        a[0].reason(),
        AdmissionReason::UnknownSigner,
        "typed reason"
    );
    // Wrong chain.
    let mut tx = c.enterprise_txs(0, 1, 1).remove(0);
    tx.payload.chain_id = "another-chain".into();
    let key = c.officer(0);
    let tx = safeledger_core::Transaction::sign(tx.payload, &[&key]);
    let a = client.submit(&[tx]).await.expect("answered");
    assert!(
        !a[0].admitted && a[0].error.contains("chain id"),
        "{:?}",
        a[0]
    );
    assert_eq!(a[0].reason(), AdmissionReason::Invalid, "typed reason");
    // Replayed sequence after commit.
    let txs = c.enterprise_txs(0, 5, 1);
    client
        .submit_and_wait(&txs, Duration::from_secs(60))
        .await
        .expect("committed");
    let replay = c.enterprise_txs(0, 5, 1);
    let a = client.submit(&replay).await.expect("answered");
    assert!(
        !a[0].admitted && a[0].error.contains("sequence"),
        "{:?}",
        a[0]
    );
    assert_eq!(
        a[0].reason(),
        AdmissionReason::StaleSequence,
        "typed reason"
    );
    still_commits(&c, 1).await;
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_ignores_a_peer_outside_the_genesis() {
    let mut c = Cluster::start().await;
    let peers: Vec<PeerInfo> = c
        .home
        .genesis
        .agencies
        .iter()
        .map(|a| PeerInfo {
            key: a.node_key,
            addr: a.p2p_addr.clone(),
        })
        .collect();
    let port = safeledger_node::cli::home::free_port().expect("port");
    let (intruder, _events) = safeledger_network::start(NetworkConfig {
        node_key: SecretKey::from_bytes(&[42; 32]),
        listen_addr: format!("/ip4/127.0.0.1/tcp/{port}"),
        peers,
        chain_id: c.home.genesis.chain_id.clone(),
        max_message_bytes: 1 << 20,
        max_gossip_bytes: 1 << 20,
        request_timeout: Duration::from_secs(2),
        limits: Default::default(),
    })
    .await
    .expect("intruder network");
    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..20 {
        let _ = intruder.publish(Topic::Consensus, vec![0xff; 64]);
        let _ = intruder.publish(Topic::Transactions, vec![1, 2, 3]);
    }
    // (The intruder may see a connection open for a moment before the validator's
    // allow-list closes it; what matters is what the validators see and answer.)
    for v in &c.home.genesis.agencies {
        let r = intruder.request(v.node_key, vec![1]).await;
        assert!(r.is_err(), "a non-member got an answer");
    }
    intruder.shutdown();
    for e in c.endpoints() {
        let s = safeledger_client::rpc::LedgerClient::new(vec![e])
            .status()
            .await
            .expect("status");
        assert!(s.peers <= 3, "a validator counts {} peers", s.peers);
    }
    still_commits(&c, 1).await;
    c.stop_all().await;
}
