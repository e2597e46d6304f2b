//! Shared helpers for the cluster, fault and end-to-end tests in `tests/tests/`: an
//! in-process network of real nodes (libp2p on loopback, sled in a temporary directory,
//! gRPC on free ports).

use safeledger_client::rpc::LedgerClient;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{ids::EnterpriseId, SecretKey, Timestamp, Transaction, TxPayload};
use safeledger_node::cli::home::{self, Home};
use safeledger_node::config::NodeLimits;
use safeledger_node::shell::{self, NodeConfig, RunningNode};
use std::time::{Duration, Instant};

/// An in-process four-agency network.
pub struct Cluster {
    /// The network directory (keys, genesis, data dirs).
    pub home: Home,
    /// Running nodes by agency index (None when stopped).
    pub nodes: Vec<Option<RunningNode>>,
    /// The nodes' limits (the production defaults unless a test lowers some).
    pub limits: NodeLimits,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Creates the network with short timeouts and starts all four nodes.
    pub async fn start() -> Cluster {
        Cluster::start_with_limits(NodeLimits::default()).await
    }

    /// As [`Cluster::start`], with the nodes' gossip limit set to `max_gossip_bytes`.
    pub async fn start_with_gossip_limit(max_gossip_bytes: usize) -> Cluster {
        Cluster::start_with_limits(NodeLimits {
            max_gossip_bytes,
            ..NodeLimits::default()
        })
        .await
    }

    /// As [`Cluster::start`], with the nodes' limits given.
    pub async fn start_with_limits(limits: NodeLimits) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut home = home::init(&dir.path().join("net"), "safeledger-test").expect("init");
        let c = &mut home.genesis.consensus;
        c.timeout_propose_ms = 1_500;
        c.timeout_prevote_ms = 500;
        c.timeout_precommit_ms = 500;
        let n = home.genesis.agencies.len();
        let mut cluster = Cluster {
            home,
            nodes: (0..n).map(|_| None).collect(),
            limits,
            _dir: dir,
        };
        for i in 0..n {
            cluster.start_node(i).await;
        }
        cluster
    }

    /// The config of node `i`.
    pub fn config(&self, i: usize) -> NodeConfig {
        let a = &self.home.genesis.agencies[i];
        NodeConfig {
            genesis: self.home.genesis.clone(),
            agency: a.id.clone(),
            node_key: self.home.node_key(&a.id).expect("node key"),
            data_dir: self.home.agency_dir(&a.id).join("data"),
            p2p_listen: a.p2p_addr.clone(),
            grpc_listen: a
                .grpc_addr
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .parse()
                .expect("grpc addr"),
            grpc_tls: self.home.tls_identity(&a.id).expect("tls key"),
            metrics_listen: Some(([127, 0, 0, 1], 0).into()),
            limits: self.limits,
            state_sync: false,
        }
    }

    /// Starts node `i` (again), retrying while its ports are still being released.
    pub async fn start_node(&mut self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match shell::start(self.config(i)).await {
                Ok(n) => {
                    self.nodes[i] = Some(n);
                    return;
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("node {i} start failed ({e:#}); retrying");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("node {i} did not start: {e:#}"),
            }
        }
    }

    /// Stops node `i`.
    pub async fn stop_node(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            n.stop().await.expect("clean stop");
        }
    }

    /// Stops every node.
    pub async fn stop_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i).await;
        }
    }

    /// gRPC endpoints of the running nodes.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_some())
            .map(|(i, _)| self.home.genesis.agencies[i].grpc_addr.clone())
            .collect()
    }

    /// A client over the running nodes, signing as agency 0's officer.
    pub fn client(&self) -> LedgerClient {
        LedgerClient::new(self.endpoints()).signed_by(self.signer(0))
    }

    /// A client of node `i` alone, signing as agency `i`'s officer.
    pub fn node_client(&self, i: usize) -> LedgerClient {
        LedgerClient::new(vec![self.home.genesis.agencies[i].grpc_addr.clone()])
            .signed_by(self.signer(i))
    }

    /// The request-signing identity of agency `i`'s officer.
    pub fn signer(&self, i: usize) -> safeledger_client::auth::Signer {
        self.home
            .signer(&self.home.genesis.agencies[i].id)
            .expect("officer key")
    }

    /// `msg` as a request for `method` signed by agency 0's officer (for raw gRPC clients).
    pub fn req<T: prost::Message>(&self, method: &str, msg: T) -> tonic::Request<T> {
        safeledger_client::auth::request(Some(&self.signer(0)), method, msg)
    }

    /// The request-signing identity of the network's auditor.
    pub fn auditor(&self) -> safeledger_client::auth::Signer {
        self.home
            .signer(safeledger_node::cli::home::DEMO_AUDITOR)
            .expect("auditor key")
    }

    /// The officer key of agency `i`.
    pub fn officer(&self, i: usize) -> SecretKey {
        self.home
            .officer_key(&self.home.genesis.agencies[i].id)
            .expect("officer key")
    }

    /// `body` signed by agency `i`'s officer with sequence `seq` (effective at 1970 + 1 s).
    pub fn signed(&self, i: usize, seq: u64, body: TxBody) -> Transaction {
        let p = TxPayload::new(
            &self.home.genesis.chain_id,
            seq,
            Timestamp(1_000),
            body,
            &mut rand::rngs::OsRng,
        );
        Transaction::sign(p, &[&self.officer(i)])
    }

    /// `n` signed enterprise records by agency `i`'s officer, sequences from `first_seq`.
    pub fn enterprise_txs(&self, i: usize, first_seq: u64, n: usize) -> Vec<Transaction> {
        let key = self.officer(i);
        let mut rng = rand::rngs::OsRng;
        (0..n)
            .map(|k| {
                let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                    enterprise: EnterpriseId::namespaced(
                        "test",
                        &format!("e{}", first_seq + k as u64),
                    )
                    .expect("id"),
                    name: format!("Enterprise {k}"),
                    address: "1 Test St".into(),
                    linked_ids: vec![],
                });
                let p = TxPayload::new(
                    &self.home.genesis.chain_id,
                    first_seq + k as u64,
                    Timestamp(1_000),
                    body,
                    &mut rng,
                );
                Transaction::sign(p, &[&key])
            })
            .collect()
    }

    /// Waits until every running node reports height ≥ `h`.
    pub async fn wait_height(&self, h: u64, within: Duration) -> Vec<u64> {
        let start = Instant::now();
        loop {
            let mut heights = Vec::new();
            for e in self.endpoints() {
                let mut c = LedgerClient::new(vec![e]);
                heights.push(c.status().await.map(|s| s.height).unwrap_or(0));
            }
            if heights.iter().all(|x| *x >= h) || start.elapsed() > within {
                return heights;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Block hashes of heights 1..=h at node `i`.
    pub async fn hashes(&self, i: usize, h: u64) -> Vec<safeledger_core::Hash> {
        let mut c = self.node_client(i);
        let mut out = Vec::new();
        for k in 1..=h {
            let (b, _, _) = c.block(k).await.expect("block");
            out.push(b.hash());
        }
        out
    }
}

/// The gRPC code and message of an auditor client's error; panics on any other error.
pub fn audit_code_of(e: safeledger_client::audit::AuditClientError) -> (tonic::Code, String) {
    match e {
        safeledger_client::audit::AuditClientError::Status(s) => {
            (s.code(), s.message().to_string())
        }
        other => panic!("expected a gRPC status, got {other}"),
    }
}
