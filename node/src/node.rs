//! The driver: owns the consensus core, the ledger and the network, and performs the
//! core's effects — persist (fsync) before send, broadcast, timers, commit — in order.
//!
//! One task runs the event loop, so the core and the ledger are never touched
//! concurrently. gRPC handlers share only the store (read-only), the mempool (behind a
//! mutex) and status snapshots.

use crate::consensus::{Consensus, Effect, Input, PrivState, Timeout};
use crate::ledger::Ledger;
use crate::mempool::{AdmitError, Encoded, Mempool};
use crate::partition::PeerFilter;
use crate::store::{write_durable, Store};
use crate::wal::Wal;
use crate::wire::{Gossip, SyncRequest, SyncResponse, MAX_PUSH_VOTES};
use anyhow::{anyhow, Context};
use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::evidence::DoubleSign;
use safeledger_core::limits::MAX_MESSAGE_BYTES;
use safeledger_core::tx::TxError;
use safeledger_core::{Block, Genesis, Hash, PublicKey, SecretKey, Timestamp, Transaction, TxBody};
use safeledger_network::{NetEvent, NetworkConfig, NetworkHandle, PeerInfo, Topic};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};

/// How long to wait before proposing when the mempool is empty (idle networks make about
/// one empty block per interval). Shorter than the propose timeout, so idle heights do not
/// change rounds.
pub const IDLE_BLOCK_INTERVAL: Duration = Duration::from_millis(1_000);
/// Driver tick: status polls, sync checks, re-sends.
pub const TICK: Duration = Duration::from_millis(500);
/// A height with no decision for this long gets its messages re-sent to peers.
pub const RESEND_AFTER: Duration = Duration::from_millis(1_500);
/// Capacity of the internal timeout channel.
pub const TIMEOUT_CHANNEL: usize = 1_024;
/// Name of the persisted signing-state file in the data directory.
pub const PRIV_STATE_FILE: &str = "priv_state.bin";
/// Directory of the consensus write-ahead log in the data directory.
pub const WAL_DIR: &str = "wal";
/// Bytes kept free for the batch framing when transactions are split for gossip.
pub const GOSSIP_BATCH_SLACK: usize = 1_024;
/// Most granted private records waiting to be fetched.
pub const MAX_PENDING_PRIVATE: usize = 1_024;
/// Most rounds of one height whose large proposal's block a node fetches.
pub const MAX_PROPOSAL_FETCHES: usize = 64;
/// How long a sync peer that served bad data or stalled is skipped.
pub const SYNC_BAN: Duration = Duration::from_secs(10);

/// What a node needs to run.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The genesis document.
    pub genesis: Genesis,
    /// This node's agency id.
    pub agency: String,
    /// The node key (libp2p identity and consensus signing key).
    pub node_key: SecretKey,
    /// Data directory (sled store and signing state).
    pub data_dir: PathBuf,
    /// libp2p listen multiaddr.
    pub p2p_listen: String,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// The gRPC TLS identity: certificate and private key, PEM (none: plain HTTP/2).
    pub grpc_tls: Option<(String, String)>,
    /// Where to serve `/healthz` and `/metrics` over HTTP (none: not served).
    pub metrics_listen: Option<SocketAddr>,
    /// Node-local limits: gossip size, mempool, gRPC per-client rates and streams, per-peer
    /// p2p rates and bans, sync batches (normally the defaults, or `node.toml`; see
    /// [`crate::config`]). Validated by [`start`].
    pub limits: crate::config::NodeLimits,
}

/// A snapshot of the node's progress, for the API.
#[derive(Clone, Debug, Default)]
pub struct NodeStatus {
    /// Last committed height.
    pub height: u64,
    /// Its block hash.
    pub block_hash: Hash,
    /// State root after it.
    pub state_root: Hash,
    /// Its time.
    pub block_time: Timestamp,
    /// Transactions committed since genesis.
    pub committed_txs: u64,
}

/// State shared between the driver and the gRPC service.
pub struct Shared {
    /// Genesis.
    pub genesis: Genesis,
    /// This node's agency.
    pub agency: String,
    /// The node key's public half.
    pub node_key: PublicKey,
    /// The store (reads only outside the driver).
    pub store: Store,
    /// The mempool.
    pub mempool: Arc<Mutex<Mempool>>,
    /// Committed progress; changes wake commit waiters.
    pub status: watch::Receiver<NodeStatus>,
    /// Current round.
    pub round: AtomicU32,
    /// Connected peers.
    pub peers: AtomicU32,
    /// Network handle (for gossiping admitted transactions).
    pub net: NetworkHandle,
    /// Signalled when transactions are admitted.
    pub txs_arrived: Notify,
    /// Prometheus metrics.
    pub metrics: Arc<crate::ops::Metrics>,
    /// The officer registry (genesis and on-chain), for admission.
    pub registry: safeledger_contracts::Registry,
    /// Private field values this node holds (its agency's, and those granted to it).
    pub private: crate::private_store::PrivateStore,
}

impl Shared {
    /// Admits transactions (in order). Those submitted by a client (`from_client`) that
    /// were new here are gossiped as one batch, to every validator; those that came by
    /// gossip are not re-published (their author sent them to every validator).
    pub fn admit(
        &self,
        txs: Vec<Transaction>,
        from_client: bool,
    ) -> Vec<(Hash, Result<bool, AdmitError>)> {
        let view = crate::ledger::StoreView(&self.store);
        // Validator evidence is signed by a node key: admitted from the validators of the
        // next two heights only (execution checks the reporter deterministically). The tip
        // is read only for a batch that holds evidence, not for every client batch.
        let has_evidence = txs
            .iter()
            .any(|t| matches!(t.payload.body, TxBody::ValidatorEvidence(_)));
        let node_keys: BTreeSet<PublicKey> = match has_evidence.then(|| self.store.tip()) {
            Some(Ok(Some(t))) => t
                .validators
                .validators
                .iter()
                .chain(&t.next_validators.validators)
                .map(|v| v.key)
                .collect(),
            _ => BTreeSet::new(),
        };
        let mut out = Vec::with_capacity(txs.len());
        let mut fresh = Vec::new();
        let mut admitted = 0usize;
        // Stateless checks outside the pool's lock, all signatures as one batch, for the
        // transactions neither held nor verified here already (exact bytes).
        let chain = &self.genesis.chain_id;
        let encoded: Vec<Encoded> = txs.iter().map(Encoded::of).collect();
        let unchecked: Vec<usize> = {
            let pool = self.mempool.lock().unwrap_or_else(|e| e.into_inner());
            (0..txs.len())
                .filter(|i| !pool.contains(&encoded[*i].id) && !pool.is_verified(&encoded[*i].key))
                .collect()
        };
        let refs: Vec<&Transaction> = unchecked.iter().map(|i| &txs[*i]).collect();
        let mut stateless: Vec<Option<Result<(), TxError>>> = vec![None; txs.len()];
        for (i, r) in unchecked
            .iter()
            .zip(crate::ledger::check_stateless_all(&refs, chain))
        {
            stateless[*i] = Some(r);
        }
        // A batch's transactions come from few signers: each signer's registration and
        // last sequence is read from the store once per batch.
        let known_memo: RefCell<BTreeMap<PublicKey, bool>> = RefCell::default();
        let seq_memo: RefCell<BTreeMap<PublicKey, u64>> = RefCell::default();
        let known = |k: &PublicKey, evidence: bool| {
            if evidence {
                return node_keys.contains(k);
            }
            *known_memo
                .borrow_mut()
                .entry(*k)
                .or_insert_with(|| self.registry.officer(&view, k).is_ok())
        };
        let last_seq = |k: &PublicKey| {
            *seq_memo
                .borrow_mut()
                .entry(*k)
                .or_insert_with(|| safeledger_contracts::last_sequence(&view, k))
        };
        {
            let mut pool = self.mempool.lock().unwrap_or_else(|e| e.into_inner());
            for ((tx, checked), enc) in txs.into_iter().zip(stateless).zip(encoded) {
                let evidence = matches!(tx.payload.body, TxBody::ValidatorEvidence(_));
                // Client transactions are gossiped after admission: keep a copy (with
                // its encoded size, for batching).
                let copy = from_client.then(|| (tx.clone(), enc.size));
                let r = pool.admit_encoded(
                    tx,
                    enc,
                    chain,
                    checked,
                    |k| known(k, evidence),
                    last_seq,
                    |id| matches!(self.store.tx_location(id), Ok(Some(_))),
                );
                match &r {
                    Ok(true) => {
                        admitted += 1;
                        fresh.extend(copy);
                    }
                    Ok(false) => {}
                    Err(e) => self
                        .metrics
                        .txs_rejected
                        .with_label_values(&[e.kind()])
                        .inc(),
                }
                out.push((enc.id, r));
            }
        }
        if admitted > 0 {
            self.txs_arrived.notify_one();
        }
        if !fresh.is_empty() && from_client {
            // Batches under the gossip limit (a transaction is far smaller than it).
            let limit = self
                .net
                .max_gossip_bytes()
                .saturating_sub(GOSSIP_BATCH_SLACK);
            let mut batch: Vec<Transaction> = Vec::new();
            let mut bytes = 0;
            let mut batches = Vec::new();
            for (tx, size) in fresh {
                if !batch.is_empty() && bytes + size > limit {
                    batches.push(std::mem::take(&mut batch));
                    bytes = 0;
                }
                bytes += size;
                batch.push(tx);
            }
            batches.push(batch);
            for b in batches {
                let n = b.len();
                if let Err(e) = self
                    .net
                    .publish(Topic::Transactions, to_canonical(&Gossip::Txs(b)))
                {
                    tracing::debug!(error = %e, txs = n, "gossip of admitted transactions failed");
                }
            }
        }
        out
    }
}

/// The gossip bytes of a proposal (DESIGN.md §3): with no transactions, the proposal and
/// its block; otherwise its header and transaction ids ([`Gossip::ProposalTxIds`]), since
/// every validator holds the bodies already; and when even those exceed `limit` bytes,
/// the bare proposal ([`Gossip::ProposalRef`]), whose block peers fetch.
fn proposal_gossip(p: safeledger_core::Proposal, b: Block, limit: usize) -> Vec<u8> {
    let (height, round) = (p.height, p.round);
    let msg = if b.txs.is_empty() {
        Gossip::Proposal(p, Box::new(b))
    } else {
        let ids = b.txs.iter().map(Transaction::id).collect();
        Gossip::ProposalTxIds(p, Box::new(b.header), ids)
    };
    let bytes = to_canonical(&msg);
    if bytes.len() <= limit {
        return bytes;
    }
    let (Gossip::Proposal(p, _) | Gossip::ProposalTxIds(p, _, _)) = msg else {
        unreachable!("built above")
    };
    tracing::debug!(
        height,
        round,
        bytes = bytes.len(),
        "proposal gossiped without its block"
    );
    to_canonical(&Gossip::ProposalRef(p))
}

/// Loads the signing state; a missing file is a fresh validator.
fn load_priv_state(path: &std::path::Path) -> anyhow::Result<PrivState> {
    match std::fs::read(path) {
        Ok(b) => from_canonical(&b).map_err(|e| {
            anyhow!(
                "{} is corrupt ({e}); refusing to start, since signing without it could \
                 double-sign. Restore it or ask the operators how to rejoin.",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PrivState::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Timestamp(ms)
}

/// A running node: its shared state and the handle to stop it.
pub struct RunningNode {
    /// Shared state (store, mempool, status).
    pub shared: Arc<Shared>,
    /// The gRPC address actually bound.
    pub grpc_addr: SocketAddr,
    /// The metrics/health HTTP address actually bound, if served.
    pub metrics_addr: Option<SocketAddr>,
    ops: Option<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
    driver: tokio::task::JoinHandle<anyhow::Result<()>>,
    grpc: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    /// Stops the node and waits for its tasks to end (the store is flushed).
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.shared.net.shutdown();
        let r = self.driver.await;
        self.grpc.abort();
        let _ = self.grpc.await;
        if let Some(ops) = self.ops {
            ops.abort();
            let _ = ops.await;
        }
        let _ = self.shared.store_flush();
        match r {
            Ok(x) => x,
            Err(e) => Err(anyhow!("driver task failed: {e}")),
        }
    }

    /// Waits until the driver ends (an error stops the node).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match (&mut self.driver).await {
            Ok(x) => x,
            Err(e) => Err(anyhow!("driver task failed: {e}")),
        }
    }
}

impl Shared {
    fn store_flush(&self) -> anyhow::Result<()> {
        self.store.flush()?;
        Ok(())
    }
}

/// Starts a node: store, ledger, network, gRPC and the consensus driver.
pub async fn start(config: NodeConfig) -> anyhow::Result<RunningNode> {
    config.genesis.validate().context("genesis is not valid")?;
    config
        .limits
        .validate()
        .context("node limits are not valid")?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = Store::open(&config.data_dir.join("store"))
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    let priv_path = config.data_dir.join(PRIV_STATE_FILE);
    // A node key with no signing state (a new validator, or a wiped data directory with a
    // kept key) signs nothing until peers holding more than 1/3 of the power have told it
    // their heights; then nothing at or below the highest (ARCHITECTURE.md, "Wiped data
    // directory").
    let fresh_key = !priv_path.exists();
    let mut guard = load_priv_state(&priv_path)?;
    if fresh_key {
        guard.min_sign_height = u64::MAX;
    }
    let me = config.node_key.public();
    let mempool = Arc::new(Mutex::new(Mempool::with_limits(config.limits.mempool())));
    let mut ledger = Ledger::open(config.genesis.clone(), store.clone(), mempool.clone(), me)?;
    ledger.set_pipelined(true)?;

    let peers: Vec<PeerInfo> = config
        .genesis
        .agencies
        .iter()
        .filter(|a| a.power > 0)
        .map(|a| PeerInfo {
            key: a.node_key,
            addr: a.p2p_addr.clone(),
        })
        .collect();
    let (net, net_rx) = safeledger_network::start(NetworkConfig {
        node_key: config.node_key.clone(),
        listen_addr: config.p2p_listen.clone(),
        peers,
        chain_id: config.genesis.chain_id.clone(),
        max_message_bytes: MAX_MESSAGE_BYTES,
        max_gossip_bytes: config.limits.max_gossip_bytes,
        request_timeout: Duration::from_secs(10),
        limits: config.limits.network(),
    })
    .await
    .map_err(|e| anyhow!("starting the p2p network on {}: {e}", config.p2p_listen))?;

    let initial = NodeStatus {
        height: ledger.tip.height,
        block_hash: ledger.tip.block_hash,
        state_root: ledger.tip.state_root,
        block_time: ledger.tip.block_time,
        committed_txs: ledger.tip.committed_txs,
    };
    let (status_tx, status_rx) = watch::channel(initial);
    let private = crate::private_store::PrivateStore::open(&store, &config.data_dir)
        .context("opening the private field store")?;
    let shared = Arc::new(Shared {
        private,
        genesis: config.genesis.clone(),
        agency: config.agency.clone(),
        node_key: me,
        store,
        mempool,
        status: status_rx,
        round: AtomicU32::new(0),
        peers: AtomicU32::new(0),
        net: net.clone(),
        txs_arrived: Notify::new(),
        metrics: Arc::new(crate::ops::Metrics::new()),
        registry: safeledger_contracts::Executor::new(&config.genesis)
            .registry()
            .clone(),
    });
    let (metrics_addr, ops) = match config.metrics_listen {
        Some(addr) => {
            let (a, t) = crate::ops::serve_http(shared.metrics.clone(), addr).await?;
            (Some(a), Some(t))
        }
        None => (None, None),
    };

    let (grpc_addr, grpc) = crate::grpc::serve(
        shared.clone(),
        config.grpc_listen,
        config.grpc_tls.clone(),
        &config.limits,
    )
    .await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let core = Consensus::new(
        &config.genesis.chain_id,
        config.node_key.clone(),
        config.genesis.consensus.clone(),
        ledger.tip.validators.clone(),
        ledger.tip.height + 1,
        guard,
    );
    let wal_dir = config.data_dir.join(WAL_DIR);
    let driver = Driver {
        limits: config.limits,
        wal: Wal::open(&wal_dir).with_context(|| format!("opening {}", wal_dir.display()))?,
        wal_dir,
        filter: PeerFilter::from_env(),
        banned: BTreeMap::new(),
        awaiting_heights: fresh_key.then(BTreeMap::new),
        node_key: config.node_key.clone(),
        core,
        ledger,
        net,
        shared: shared.clone(),
        status_tx,
        priv_path,
        peer_heights: BTreeMap::new(),
        syncing: false,
        height_started: Instant::now(),
        next_height_at: None,
        reported: BTreeSet::new(),
        fetching: (0, BTreeSet::new()),
        sync_tx: None,
        pending_private: BTreeSet::new(),
        admitted: BTreeSet::new(),
    };
    let metrics = shared.metrics.clone();
    let driver = tokio::spawn(async move {
        let r = driver.run(net_rx, stop_rx).await;
        metrics.driver_alive.store(false, Ordering::Relaxed);
        if let Err(e) = &r {
            tracing::error!(error = %format!("{e:#}"), "node stopped");
        }
        r
    });
    tracing::info!(agency = %config.agency, grpc = %grpc_addr, p2p = %config.p2p_listen, "node started");
    Ok(RunningNode {
        shared,
        grpc_addr,
        metrics_addr,
        ops,
        stop: stop_tx,
        driver,
        grpc,
    })
}

struct Driver {
    limits: crate::config::NodeLimits,
    wal: Wal,
    wal_dir: PathBuf,
    filter: PeerFilter,
    banned: BTreeMap<PublicKey, Instant>,
    /// Heights reported by peers while a fresh key waits to learn where it may sign.
    awaiting_heights: Option<BTreeMap<PublicKey, u64>>,
    node_key: SecretKey,
    core: Consensus,
    ledger: Ledger,
    net: NetworkHandle,
    shared: Arc<Shared>,
    status_tx: watch::Sender<NodeStatus>,
    priv_path: PathBuf,
    peer_heights: BTreeMap<PublicKey, u64>,
    syncing: bool,
    height_started: Instant,
    next_height_at: Option<Instant>,
    /// Double-signs this process already reported (offender, (height, round, step)).
    reported: BTreeSet<(PublicKey, (u64, u32, u8))>,
    /// Rounds of the current height whose large proposal's block is being fetched.
    fetching: (u64, BTreeSet<u32>),
    /// Where background requests report back (set when the loop starts).
    sync_tx: Option<mpsc::Sender<SyncDone>>,
    /// Granted private values still to fetch: (recording agency, record).
    pending_private: BTreeSet<(String, Hash)>,
    /// Node keys the network admits (genesis validators, then governance changes).
    admitted: BTreeSet<PublicKey>,
}

enum SyncDone {
    Status(PublicKey, u64),
    Blocks(PublicKey, Vec<(Block, CommitCertificate)>),
    Failed(PublicKey),
    BlocksFailed(PublicKey),
    Proposal(PublicKey, safeledger_core::Proposal, Box<Block>),
    Private(String, Hash, Vec<safeledger_core::private::PrivateValue>),
    PrivateErased(String, Hash, Vec<String>),
}

impl Driver {
    async fn run(
        mut self,
        mut net_rx: mpsc::Receiver<NetEvent>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let (timeout_tx, mut timeout_rx) = mpsc::channel::<Timeout>(TIMEOUT_CHANNEL);
        let (sync_tx, mut sync_rx) = mpsc::channel::<SyncDone>(64);
        self.sync_tx = Some(sync_tx.clone());
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        self.admitted = self
            .ledger
            .genesis
            .agencies
            .iter()
            .filter(|a| a.power > 0)
            .map(|a| a.node_key)
            .collect();
        self.admit_new_validators();
        let height = self.core.height();
        let vals = self.core.validators().clone();
        self.wal.start_height(height)?;
        let fx = self
            .core
            .start_height(height, vals, now(), &mut self.ledger);
        self.perform(fx, &timeout_tx)?;
        let logged = Wal::read(&self.wal_dir, height);
        if !logged.is_empty() {
            tracing::info!(
                height,
                messages = logged.len(),
                "replaying the consensus log"
            );
        }
        for m in logged {
            let input = match m {
                Gossip::Proposal(p, b) => Input::Proposal(p, b),
                Gossip::Vote(v) => Input::Vote(v),
                Gossip::Txs(_) | Gossip::ProposalRef(_) | Gossip::ProposalTxIds(..) => continue,
            };
            let (fx, _) = self.core.handle(input, now(), &mut self.ledger);
            self.perform(fx, &timeout_tx)?;
        }
        loop {
            let wake = self.next_height_at;
            tokio::select! {
                _ = stop.changed() => break,
                ev = net_rx.recv() => match ev {
                    Some(ev) => self.on_net(ev, &timeout_tx)?,
                    None => break,
                },
                Some(t) = timeout_rx.recv() => {
                    let (fx, _) = self.core.handle(Input::Timeout(t), now(), &mut self.ledger);
                    self.perform(fx, &timeout_tx)?;
                }
                Some(done) = sync_rx.recv() => self.on_sync(done, &timeout_tx)?,
                _ = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.next_height_at = None;
                    self.start_next_height(&timeout_tx)?;
                }
                _ = shared.txs_arrived.notified(), if wake.is_some() => {
                    // Transactions arrived while idle: propose after the commit timeout.
                    let soon = Instant::now()
                        + Duration::from_millis(self.ledger.genesis.consensus.timeout_commit_ms);
                    if wake.is_some_and(|w| w > soon) {
                        self.next_height_at = Some(soon);
                    }
                }
                _ = tick.tick() => self.on_tick(&sync_tx),
            }
        }
        // Stopping: the last commit's flush and fsync finish first.
        self.ledger
            .wait_durable()
            .context("making the last committed height durable")?;
        Ok(())
    }

    fn publish_status(&self) {
        let t = &self.ledger.tip;
        let m = &self.shared.metrics;
        m.height.set(t.height as i64);
        if let Ok(pool) = self.shared.mempool.lock() {
            m.mempool_txs.set(pool.len() as i64);
            m.mempool_bytes.set(pool.bytes() as i64);
        }
        let _ = self.status_tx.send(NodeStatus {
            height: t.height,
            block_hash: t.block_hash,
            state_root: t.state_root,
            block_time: t.block_time,
            committed_txs: t.committed_txs,
        });
        self.shared
            .round
            .store(self.core.round(), Ordering::Relaxed);
    }

    /// Performs effects in order; Persist is durable before anything after it is sent.
    fn perform(&mut self, fx: Vec<Effect>, timeouts: &mpsc::Sender<Timeout>) -> anyhow::Result<()> {
        for e in fx {
            match e {
                Effect::Persist(state) => {
                    write_durable(&self.priv_path, &to_canonical(&state)).with_context(|| {
                        format!(
                            "persisting signing state to {}; stopping rather than risk a \
                             double-sign",
                            self.priv_path.display()
                        )
                    })?;
                }
                Effect::BroadcastProposal(p, b) => {
                    let msg = Gossip::Proposal(p, Box::new(b));
                    self.log(&msg);
                    let Gossip::Proposal(p, b) = msg else {
                        unreachable!("built above")
                    };
                    let bytes = proposal_gossip(p, *b, self.net.max_gossip_bytes());
                    let _ = self.net.publish(Topic::Consensus, bytes);
                }
                Effect::BroadcastVote(v) => {
                    let msg = Gossip::Vote(v);
                    self.log(&msg);
                    let _ = self.net.publish(Topic::Consensus, to_canonical(&msg));
                }
                Effect::ScheduleTimeout(t, ms) => {
                    let tx = timeouts.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        let _ = tx.send(t).await;
                    });
                }
                Effect::Decide(block, cert) => {
                    self.commit(&block, &cert)?;
                }
                Effect::Evidence(e) => {
                    self.shared.metrics.evidence.inc();
                    tracing::warn!(
                        offender = %e.offender(),
                        height = e.height(),
                        round = e.round(),
                        "double-sign detected"
                    );
                    self.report_evidence(&e);
                }
            }
        }
        self.shared
            .round
            .store(self.core.round(), Ordering::Relaxed);
        self.shared.metrics.round.set(self.core.round() as i64);
        Ok(())
    }

    /// Submits a detected double-sign as a validator-evidence transaction signed with the
    /// node key (validators only; once per offence per process, and not when the ledger
    /// holds it already). It enters the mempool and is gossiped like a client's.
    fn report_evidence(&mut self, e: &DoubleSign) {
        let me = self.shared.node_key;
        if self.ledger.tip.validators.power_of(&me) == 0 {
            return;
        }
        let slot = (e.offender(), e.slot());
        let recorded = safeledger_contracts::evidence::key(&slot.0, slot.1);
        if !self.reported.insert(slot) || self.ledger.store.state_get(&recorded).is_some() {
            return;
        }
        let seq = self.ledger.next_sequence(&me);
        let Some(tx) = self.ledger.evidence_tx(e, &self.node_key, seq) else {
            tracing::debug!("evidence against a key outside its height's validator set");
            return;
        };
        for (id, r) in self.shared.admit(vec![tx], true) {
            match r {
                Ok(_) => tracing::info!(tx = %id, "validator evidence submitted"),
                Err(err) => tracing::warn!(tx = %id, error = %err, "validator evidence refused"),
            }
        }
    }

    fn log(&mut self, msg: &Gossip) {
        if let Err(e) = self.wal.append(msg) {
            tracing::warn!(error = %e, "consensus log append failed");
        }
    }

    fn commit(&mut self, block: &Block, cert: &CommitCertificate) -> anyhow::Result<()> {
        let h = block.header.height;
        let preexecuted = self.ledger.preexecuted;
        let results = self
            .ledger
            .commit(block, cert)
            .with_context(|| format!("committing block {h}"))?;
        if self.ledger.preexecuted > preexecuted {
            self.shared.metrics.blocks_preexecuted.inc();
        }
        self.shared
            .metrics
            .commit_latency
            .observe(self.height_started.elapsed().as_secs_f64());
        let refused = self.count_results(&results);
        self.queue_private_fetches(block, &results);
        self.admit_new_validators();
        tracing::info!(
            height = h,
            round = cert.round,
            txs = block.txs.len(),
            refused,
            hash = %block.hash().short(),
            "committed"
        );
        self.publish_status();
        let pool_empty = self
            .shared
            .mempool
            .lock()
            .map(|p| p.is_empty())
            .unwrap_or(true);
        let wait = if pool_empty {
            IDLE_BLOCK_INTERVAL
        } else {
            Duration::from_millis(self.ledger.genesis.consensus.timeout_commit_ms)
        };
        self.next_height_at = Some(Instant::now() + wait);
        Ok(())
    }

    /// Counts committed transactions and rule refusals in the metrics; returns refusals.
    fn count_results(&self, results: &[safeledger_core::TxResult]) -> usize {
        let m = &self.shared.metrics;
        m.txs_committed.inc_by(results.len() as u64);
        let mut refused = 0;
        for r in results {
            if let safeledger_core::Outcome::Refused { rule, .. } = &r.outcome {
                refused += 1;
                m.txs_rejected
                    .with_label_values(&[&format!("rule_{rule}")])
                    .inc();
            }
        }
        refused
    }

    fn start_next_height(&mut self, timeouts: &mpsc::Sender<Timeout>) -> anyhow::Result<()> {
        let h = self.ledger.tip.height + 1;
        if self.core.height() == h && !self.core.decided() {
            return Ok(());
        }
        // Height h - 1 must be durable before this node signs at h or drops its log.
        self.ledger
            .wait_durable()
            .with_context(|| format!("making height {} durable", h - 1))?;
        let vals = self.ledger.tip.validators.clone();
        self.height_started = Instant::now();
        self.wal.start_height(h)?;
        let fx = self.core.start_height(h, vals, now(), &mut self.ledger);
        self.perform(fx, timeouts)
    }

    fn on_net(&mut self, ev: NetEvent, timeouts: &mpsc::Sender<Timeout>) -> anyhow::Result<()> {
        match ev {
            NetEvent::Gossip { source, .. } if self.filter.blocks(&source) => {}
            NetEvent::Request { peer, reply, .. } if self.filter.blocks(&peer) => {
                reply.send(to_canonical(&SyncResponse::Error("partitioned".into())));
            }
            NetEvent::Gossip {
                topic,
                source,
                data,
            } => {
                let msg: Gossip = match from_canonical(&data) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::debug!(%source, ?topic, error = %e, "undecodable gossip dropped");
                        self.shared.metrics.consensus_ignored.inc();
                        return Ok(());
                    }
                };
                match msg {
                    Gossip::Txs(txs) => {
                        let _ = self.shared.admit(txs, false);
                    }
                    Gossip::Proposal(p, b) => self.feed(source, Input::Proposal(p, b), timeouts)?,
                    Gossip::Vote(v) => self.feed(source, Input::Vote(v), timeouts)?,
                    Gossip::ProposalRef(p) => self.fetch_proposal(source, p),
                    Gossip::ProposalTxIds(p, header, ids) => {
                        self.rebuild_proposal(source, p, *header, ids, timeouts)?
                    }
                }
            }
            NetEvent::Request { peer, data, reply } => {
                let resp = match from_canonical::<SyncRequest>(&data) {
                    Err(e) => SyncResponse::Error(format!("undecodable request: {e}")),
                    Ok(SyncRequest::Status) => SyncResponse::Status {
                        height: self.ledger.tip.height,
                        block_hash: self.ledger.tip.block_hash,
                    },
                    Ok(SyncRequest::Blocks { from, max }) => self.serve_blocks(from, max),
                    Ok(SyncRequest::Private { record }) => self.serve_private(peer, record),
                    Ok(SyncRequest::Proposal { height, round }) => {
                        match self.core.proposal_with_block(height, round) {
                            Some((p, b)) => SyncResponse::Proposal(p, Box::new(b)),
                            None => SyncResponse::Error("no such proposal here".into()),
                        }
                    }
                    Ok(SyncRequest::Push { proposals, votes }) => {
                        for (p, b) in proposals.into_iter().take(16) {
                            self.feed(peer, Input::Proposal(p, Box::new(b)), timeouts)?;
                        }
                        for v in votes.into_iter().take(MAX_PUSH_VOTES) {
                            self.feed(peer, Input::Vote(v), timeouts)?;
                        }
                        SyncResponse::Ack
                    }
                };
                reply.send(to_canonical(&resp));
            }
            NetEvent::PeerConnected(k) => {
                let n = self.shared.peers.fetch_add(1, Ordering::Relaxed) + 1;
                self.shared.metrics.peers.set(n as i64);
                tracing::info!(peer = %k.to_hex()[..8].to_string(), peers = n, "peer connected");
            }
            NetEvent::PeerDisconnected(k) => {
                let _ = self
                    .shared
                    .peers
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(1))
                    });
                self.shared
                    .metrics
                    .peers
                    .set(self.shared.peers.load(Ordering::Relaxed) as i64);
                tracing::info!(peer = %k.to_hex()[..8].to_string(), "peer disconnected");
            }
        }
        Ok(())
    }

    fn feed(
        &mut self,
        _relay: PublicKey,
        input: Input,
        timeouts: &mpsc::Sender<Timeout>,
    ) -> anyhow::Result<()> {
        let h = match &input {
            Input::Proposal(p, _) => p.height,
            Input::Vote(v) => v.height,
            Input::Timeout(_) => 0,
        };
        if h > self.ledger.tip.height + 1 {
            let chain = &self.ledger.genesis.chain_id;
            let signer = match &input {
                Input::Proposal(p, _) => p.verify(chain).is_ok().then_some(p.proposer),
                Input::Vote(v) => v.verify(chain).is_ok().then_some(v.validator),
                Input::Timeout(_) => None,
            };
            self.note_ahead(h, signer);
        }
        let logged = (h == self.core.height()).then(|| match &input {
            Input::Proposal(p, b) => Some(Gossip::Proposal(p.clone(), b.clone())),
            Input::Vote(v) => Some(Gossip::Vote(v.clone())),
            Input::Timeout(_) => None,
        });
        let (fx, r) = self.core.handle(input, now(), &mut self.ledger);
        match r {
            Ok(()) => {
                if let Some(Some(m)) = logged {
                    self.log(&m);
                }
            }
            Err(e) => {
                self.shared.metrics.consensus_ignored.inc();
                tracing::trace!(error = %e, "consensus message ignored");
            }
        }
        self.perform(fx, timeouts)
    }

    /// Notes that `signer` sent a validly signed message of height `h`, beyond the next:
    /// it committed at least `h - 1`. Believed only from a validly signed message (the
    /// caller verifies; `None` when it did not verify), and recorded for its signer (not
    /// whoever relayed it), so a forged far-future message cannot steer block sync.
    fn note_ahead(&mut self, h: u64, signer: Option<PublicKey>) {
        if let Some(signer) = signer.filter(|k| *k != self.shared.node_key) {
            let e = self.peer_heights.entry(signer).or_default();
            *e = (*e).max(h.saturating_sub(1));
        }
    }

    /// A proposal gossiped as its header and transaction ids
    /// ([`Gossip::ProposalTxIds`]): rebuilds the block from the mempool and feeds it to
    /// the core. When a body is not held here, or the bodies held do not match the
    /// header's `tx_count` and `tx_root`, it fetches the whole block instead (for the
    /// current height). Proposals of other heights than the current and the next are not
    /// rebuilt (the core would not take them); one further ahead still tells which height
    /// its proposer reached.
    fn rebuild_proposal(
        &mut self,
        source: PublicKey,
        p: safeledger_core::Proposal,
        header: safeledger_core::Header,
        ids: Vec<safeledger_core::TxId>,
        timeouts: &mpsc::Sender<Timeout>,
    ) -> anyhow::Result<()> {
        let current = self.core.height();
        let rebuilt = if (current..=current + 1).contains(&p.height)
            && ids.len() == header.tx_count as usize
            && header.hash() == p.block_hash
        {
            self.shared
                .mempool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .assemble(&ids)
                .filter(|txs| safeledger_core::block::tx_root(txs) == header.tx_root)
        } else {
            None
        };
        if let Some(txs) = rebuilt {
            self.shared.metrics.proposals_rebuilt.inc();
            let block = Block { header, txs };
            return self.feed(source, Input::Proposal(p, Box::new(block)), timeouts);
        }
        if p.height > self.ledger.tip.height + 1 {
            let chain = &self.ledger.genesis.chain_id;
            let signer = p.verify(chain).is_ok().then_some(p.proposer);
            self.note_ahead(p.height, signer);
        }
        tracing::debug!(
            height = p.height,
            round = p.round,
            "proposal not rebuilt from the mempool: fetching its block"
        );
        // Fetched only for the current height (`fetch_proposal` checks).
        self.fetch_proposal(source, p);
        Ok(())
    }

    /// Admits to the network the validators of the next two heights that it does not know
    /// yet (a new agency's node or a rotated key, passed by governance), at their agency's
    /// genesis address.
    fn admit_new_validators(&mut self) {
        let tip = &self.ledger.tip;
        let keys: Vec<(PublicKey, String)> = tip
            .validators
            .validators
            .iter()
            .chain(&tip.next_validators.validators)
            .filter(|v| v.key != self.shared.node_key && !self.admitted.contains(&v.key))
            .map(|v| (v.key, v.agency.clone()))
            .collect();
        for (key, agency) in keys {
            let Some(addr) = self
                .ledger
                .genesis
                .agency(&agency)
                .map(|a| a.p2p_addr.clone())
            else {
                tracing::warn!(%agency, "a validator of an agency with no genesis address is not reachable");
                self.admitted.insert(key);
                continue;
            };
            match self.net.add_peer(PeerInfo { key, addr }) {
                Ok(()) => {
                    self.admitted.insert(key);
                }
                Err(e) => tracing::warn!(%agency, error = %e, "admitting a new validator failed"),
            }
        }
    }

    /// The agency whose node key `key` is: in the validator sets of the next two heights
    /// (which follow rotations passed by governance), else in the genesis.
    fn agency_of_node(&self, key: &PublicKey) -> Option<String> {
        let tip = &self.ledger.tip;
        tip.validators
            .get(key)
            .or_else(|| tip.next_validators.get(key))
            .map(|v| v.agency.clone())
            .or_else(|| {
                let a = self
                    .ledger
                    .genesis
                    .agencies
                    .iter()
                    .find(|a| a.node_key == *key);
                a.map(|a| a.id.clone())
            })
    }

    /// The current node key of `agency`: its validator in the next height's set, else its
    /// genesis key.
    fn node_of_agency(&self, agency: &str) -> Option<PublicKey> {
        let tip = &self.ledger.tip;
        tip.validators
            .validators
            .iter()
            .find(|v| v.agency == agency)
            .map(|v| v.key)
            .or_else(|| self.ledger.genesis.agency(agency).map(|a| a.node_key))
    }

    /// Private values of `record` for the node `peer`: only those fields its agency was
    /// granted on chain, and only when this node holds them (it recorded them). Granted
    /// fields this node erased are never served: when nothing else is left, the answer
    /// names them ([`SyncResponse::PrivateErased`]) so the peer stops asking.
    fn serve_private(&self, peer: PublicKey, record: Hash) -> SyncResponse {
        let Some(agency) = self.agency_of_node(&peer) else {
            return SyncResponse::Error("unknown node".into());
        };
        let view = crate::ledger::StoreView(&self.ledger.store);
        let (held, erased) = match (
            self.shared.private.get(&record),
            self.shared.private.erased(&record),
        ) {
            (Ok(v), Ok(e)) => (v, e),
            (Err(e), _) | (_, Err(e)) => return SyncResponse::Error(e.to_string()),
        };
        let is_granted =
            |name: &str| safeledger_contracts::access::granted(&view, &agency, &record, name);
        let granted: Vec<_> = held.into_iter().filter(|v| is_granted(&v.name)).collect();
        let erased: Vec<String> = erased
            .into_iter()
            .filter(|e| is_granted(&e.name))
            .map(|e| e.name)
            .collect();
        if !erased.is_empty() {
            tracing::info!(%record, to = %agency, fields = ?erased, "granted private values not disclosed: erased here");
        }
        if granted.is_empty() && !erased.is_empty() {
            self.shared.metrics.private_erased_refusals.inc();
            return SyncResponse::PrivateErased(erased);
        }
        if granted.is_empty() {
            return SyncResponse::Error(format!("{agency} holds no granted access to {record}"));
        }
        tracing::info!(%record, to = %agency, fields = granted.len(), "private values disclosed under a grant");
        SyncResponse::Private(granted)
    }

    /// After a commit: access grants to this node's agency in `block` queue a fetch of the
    /// granted values from the recording agency's node.
    fn queue_private_fetches(&mut self, block: &Block, results: &[safeledger_core::TxResult]) {
        for (tx, r) in block.txs.iter().zip(results) {
            let TxBody::AccessGrant(g) = &tx.payload.body else {
                continue;
            };
            if !g.approve
                || g.requester != self.shared.agency
                || r.outcome != safeledger_core::Outcome::Accepted
            {
                continue;
            }
            let view = crate::ledger::StoreView(&self.ledger.store);
            if let Some(st) = safeledger_contracts::access::get(&view, &g.requester, &g.request_id)
            {
                // Fields this node erased are not fetched again.
                let erased = self.shared.private.erased(&st.record).unwrap_or_default();
                if st
                    .fields
                    .iter()
                    .all(|f| erased.iter().any(|e| &e.name == f))
                {
                    tracing::info!(record = %st.record, "granted private fields were erased here: not fetched");
                    continue;
                }
                if self.pending_private.len() < MAX_PENDING_PRIVATE {
                    self.pending_private.insert((st.owner, st.record));
                }
            }
        }
    }

    /// Fetches queued private values from their recording agencies' nodes.
    fn fetch_private(&mut self) {
        let Some(tx) = self.sync_tx.clone() else {
            return;
        };
        for (owner, record) in self.pending_private.clone() {
            let Some(node) = self.node_of_agency(&owner) else {
                self.pending_private.remove(&(owner, record));
                continue;
            };
            let net = self.net.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let req = to_canonical(&SyncRequest::Private { record });
                let r = net.request(node, req).await;
                let done = match r.ok().and_then(|b| from_canonical::<SyncResponse>(&b).ok()) {
                    Some(SyncResponse::Private(values)) => SyncDone::Private(owner, record, values),
                    Some(SyncResponse::PrivateErased(fields)) => {
                        SyncDone::PrivateErased(owner, record, fields)
                    }
                    _ => return,
                };
                let _ = tx.send(done).await;
            });
        }
    }

    /// Keeps fetched private values that match the committed record's withheld leaves.
    fn keep_private(
        &mut self,
        owner: String,
        record: Hash,
        values: Vec<safeledger_core::private::PrivateValue>,
    ) {
        let Ok(Some((h, i))) = self.ledger.store.tx_location(&record) else {
            return;
        };
        let Some(tx) = self
            .ledger
            .store
            .block(h)
            .ok()
            .flatten()
            .and_then(|b| b.txs.get(i as usize).cloned())
        else {
            return;
        };
        // Values of fields this node erased are not kept again, nor asked for again.
        let erased = self.shared.private.erased(&record).unwrap_or_default();
        let (dropped, values): (Vec<_>, Vec<_>) = values
            .into_iter()
            .partition(|v| erased.iter().any(|e| e.index == v.index));
        let good: Vec<_> = values
            .into_iter()
            .filter(|v| tx.payload.check_private(v).is_ok())
            .collect();
        if good.is_empty() && !dropped.is_empty() {
            tracing::info!(%record, %owner, "granted private values of fields erased here dropped");
            self.pending_private.remove(&(owner, record));
            return;
        }
        if good.is_empty() {
            tracing::warn!(%record, %owner, "private values that do not match the record refused");
            return;
        }
        match self.shared.private.put(&record, &good) {
            Ok(()) => {
                tracing::info!(%record, from = %owner, fields = good.len(), "granted private values received");
                self.pending_private.remove(&(owner, record));
            }
            Err(e) => tracing::warn!(error = %e, "keeping private values failed"),
        }
    }

    /// A proposal too large to gossip came without its block: fetch the block from the
    /// peer that sent it, then from the proposer (once per height and round; only for the
    /// current height). The core checks the pair as any other proposal.
    fn fetch_proposal(&mut self, source: PublicKey, p: safeledger_core::Proposal) {
        if p.height != self.core.height() || self.core.decided() {
            return;
        }
        if self.fetching.0 != p.height {
            self.fetching = (p.height, BTreeSet::new());
        }
        if self.fetching.1.len() >= MAX_PROPOSAL_FETCHES || !self.fetching.1.insert(p.round) {
            return;
        }
        let Some(tx) = self.sync_tx.clone() else {
            return;
        };
        let net = self.net.clone();
        let req = to_canonical(&SyncRequest::Proposal {
            height: p.height,
            round: p.round,
        });
        // The peer that sent it, the proposer, then the other validators: any of them
        // may hold it, and one link down must not leave this node without the block.
        let me = self.shared.node_key;
        let mut from = vec![source];
        for k in std::iter::once(p.proposer).chain(self.live_peers()) {
            if k != me && !from.contains(&k) {
                from.push(k);
            }
        }
        tokio::spawn(async move {
            for peer in from {
                let r = net.request(peer, req.clone()).await;
                if let Some(SyncResponse::Proposal(p, b)) =
                    r.ok().and_then(|b| from_canonical::<SyncResponse>(&b).ok())
                {
                    let _ = tx.send(SyncDone::Proposal(peer, p, b)).await;
                    return;
                }
            }
        });
    }

    /// Peers we may talk to now: validators but us, not cut by the test filter.
    fn live_peers(&self) -> Vec<PublicKey> {
        self.ledger
            .tip
            .validators
            .validators
            .iter()
            .map(|v| v.key)
            .filter(|k| *k != self.shared.node_key && !self.filter.blocks(k))
            .collect()
    }

    fn ban(&mut self, p: PublicKey, why: &str) {
        tracing::warn!(peer = %p.to_hex()[..8].to_string(), why, "sync peer skipped for a while");
        self.shared.metrics.sync_bans.inc();
        self.peer_heights.remove(&p);
        self.banned.insert(p, Instant::now() + SYNC_BAN);
    }

    /// A fresh key learns where it may sign: once peers holding more than 1/3 of the power
    /// (at least one honest) reported their heights, it signs nothing at or below the
    /// highest report or its own tip.
    fn settle_fresh_key(&mut self, timeouts: &mpsc::Sender<Timeout>) -> anyhow::Result<()> {
        let Some(reports) = &self.awaiting_heights else {
            return Ok(());
        };
        let vals = &self.ledger.tip.validators;
        let power: u64 = reports.keys().map(|k| vals.power_of(k)).sum();
        if !vals.is_one_third(power) {
            return Ok(());
        }
        let highest = reports.values().copied().max().unwrap_or(0);
        let min = highest.max(self.ledger.tip.height) + 1;
        self.awaiting_heights = None;
        let mut guard = self.core.priv_state().clone();
        guard.min_sign_height = min;
        write_durable(&self.priv_path, &to_canonical(&guard))
            .with_context(|| format!("persisting {}", self.priv_path.display()))?;
        tracing::info!(
            min_sign_height = min,
            "fresh signing state: peers reported their heights"
        );
        self.core = Consensus::new(
            &self.ledger.genesis.chain_id,
            self.node_key.clone(),
            self.ledger.genesis.consensus.clone(),
            self.ledger.tip.validators.clone(),
            self.ledger.tip.height + 1,
            guard,
        );
        self.next_height_at = None;
        self.start_next_height(timeouts)
    }

    fn serve_blocks(&self, from: u64, max: u32) -> SyncResponse {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let last = self.ledger.tip.height;
        let max = max.min(self.limits.sync_batch_blocks) as u64;
        let mut h = from.max(1);
        while h <= last && (out.len() as u64) < max {
            let (Ok(Some(b)), Ok(Some(c))) =
                (self.ledger.store.block(h), self.ledger.store.certificate(h))
            else {
                break;
            };
            let size = to_canonical(&b).len();
            if !out.is_empty() && bytes + size > self.limits.sync_batch_bytes {
                break;
            }
            bytes += size;
            out.push((b, c));
            h += 1;
        }
        SyncResponse::Blocks(out)
    }

    fn on_tick(&mut self, sync_tx: &mpsc::Sender<SyncDone>) {
        self.filter.refresh();
        self.shared.metrics.net.record(self.net.stats());
        if !self.pending_private.is_empty() {
            self.fetch_private();
        }
        let now_i = Instant::now();
        self.banned.retain(|_, until| *until > now_i);
        // Poll peers' heights; fetch blocks from one that is ahead.
        let peers = self.live_peers();
        for p in &peers {
            let net = self.net.clone();
            let tx = sync_tx.clone();
            let p = *p;
            tokio::spawn(async move {
                let r = net.request(p, to_canonical(&SyncRequest::Status)).await;
                let done = match r.ok().and_then(|b| from_canonical::<SyncResponse>(&b).ok()) {
                    Some(SyncResponse::Status { height, .. }) => SyncDone::Status(p, height),
                    _ => SyncDone::Failed(p),
                };
                let _ = tx.send(done).await;
            });
        }
        let tip = self.ledger.tip.height;
        if !self.syncing {
            if let Some((peer, _)) = self
                .peer_heights
                .iter()
                .filter(|(p, h)| {
                    **h > tip && !self.banned.contains_key(p) && !self.filter.blocks(p)
                })
                .max_by_key(|(_, h)| **h)
            {
                self.syncing = true;
                let net = self.net.clone();
                let tx = sync_tx.clone();
                let peer = *peer;
                let max = self.limits.sync_batch_blocks;
                tokio::spawn(async move {
                    let req = SyncRequest::Blocks { from: tip + 1, max };
                    let r = net.request(peer, to_canonical(&req)).await;
                    let done = match r.ok().and_then(|b| from_canonical::<SyncResponse>(&b).ok()) {
                        Some(SyncResponse::Blocks(bs)) => SyncDone::Blocks(peer, bs),
                        _ => SyncDone::BlocksFailed(peer),
                    };
                    let _ = tx.send(done).await;
                });
            }
        }
        // Vote sync: a height that is not deciding gets our messages re-sent to peers.
        if !self.core.decided() && self.height_started.elapsed() > RESEND_AFTER {
            let (proposals, votes) = self.core.resend_set();
            let one = to_canonical(&SyncRequest::Push {
                proposals: proposals.clone(),
                votes: votes.clone(),
            });
            // Large blocks: the votes in one request, each proposal in its own.
            let reqs: Vec<Vec<u8>> = if one.len() <= MAX_MESSAGE_BYTES {
                vec![one]
            } else {
                std::iter::once(SyncRequest::Push {
                    proposals: Vec::new(),
                    votes,
                })
                .chain(proposals.into_iter().map(|p| SyncRequest::Push {
                    proposals: vec![p],
                    votes: Vec::new(),
                }))
                .map(|r| to_canonical(&r))
                .filter(|b| b.len() <= MAX_MESSAGE_BYTES)
                .collect()
            };
            for p in peers {
                let net = self.net.clone();
                let reqs = reqs.clone();
                tokio::spawn(async move {
                    for req in reqs {
                        let _ = net.request(p, req).await;
                    }
                });
            }
        }
    }

    fn on_sync(&mut self, done: SyncDone, timeouts: &mpsc::Sender<Timeout>) -> anyhow::Result<()> {
        match done {
            SyncDone::Status(p, h) => {
                if let Some(reports) = self.awaiting_heights.as_mut() {
                    reports.insert(p, h);
                    self.settle_fresh_key(timeouts)?;
                }
                self.peer_heights.insert(p, h);
            }
            SyncDone::Private(owner, record, values) => self.keep_private(owner, record, values),
            SyncDone::PrivateErased(owner, record, fields) => {
                tracing::warn!(%record, %owner, ?fields, "the recording agency erased the granted private fields: they cannot be fetched and are not asked for again");
                self.pending_private.remove(&(owner, record));
            }
            SyncDone::Proposal(peer, p, b) => {
                self.shared.metrics.proposal_fetches.inc();
                self.feed(peer, Input::Proposal(p, b), timeouts)?;
            }
            SyncDone::Failed(p) => {
                tracing::trace!(peer = %p.to_hex()[..8].to_string(), "status request failed");
            }
            SyncDone::BlocksFailed(p) => {
                self.syncing = false;
                self.ban(p, "block request failed or timed out");
            }
            SyncDone::Blocks(p, blocks) => {
                self.syncing = false;
                let claimed = self.peer_heights.get(&p).copied().unwrap_or(0);
                if blocks.is_empty() && claimed > self.ledger.tip.height {
                    self.ban(p, "claimed a higher height but served no blocks");
                }
                let mut applied = 0;
                for (block, cert) in blocks {
                    let h = block.header.height;
                    if h != self.ledger.tip.height + 1 {
                        continue;
                    }
                    let hash = block.hash();
                    let vals = self.ledger.tip.validators.clone();
                    if let Err(e) = cert.verify(&self.ledger.genesis.chain_id, h, &hash, &vals) {
                        self.ban(p, &format!("bad certificate at height {h}: {e}"));
                        break;
                    }
                    if let Err(e) = self.ledger.valid_with_reason(&block) {
                        self.ban(p, &format!("invalid block: {e}"));
                        break;
                    }
                    let results = self
                        .ledger
                        .commit(&block, &cert)
                        .with_context(|| format!("committing synced block {h}"))?;
                    self.count_results(&results);
                    self.queue_private_fetches(&block, &results);
                    self.admit_new_validators();
                    self.shared.metrics.blocks_synced.inc();
                    applied += 1;
                }
                if applied > 0 {
                    tracing::info!(height = self.ledger.tip.height, blocks = applied, "synced");
                    self.publish_status();
                    if self.core.height() <= self.ledger.tip.height {
                        self.next_height_at = None;
                        self.start_next_height(timeouts)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeledger_core::block::Header;
    use safeledger_core::ids::EnterpriseId;
    use safeledger_core::records::EnterpriseRecord;
    use safeledger_core::{Proposal, TxPayload};

    fn block(txs: Vec<Transaction>) -> Block {
        let proposer = SecretKey::from_bytes(&[7; 32]).public();
        Block {
            header: Header {
                version: 1,
                chain_id: "g".into(),
                height: 3,
                time: Timestamp(1),
                prev_hash: Hash::ZERO,
                tx_root: safeledger_core::block::tx_root(&txs),
                tx_count: txs.len() as u32,
                ledger_root: Hash::ZERO,
                ledger_size: 0,
                state_root: Hash::ZERO,
                results_root: Hash::ZERO,
                validators_hash: Hash::ZERO,
                next_validators_hash: Hash::ZERO,
                proposer,
            },
            txs,
        }
    }

    #[test]
    fn proposals_gossip_as_ids_with_transactions_whole_without_and_bare_over_the_limit() {
        let node = SecretKey::from_bytes(&[7; 32]);
        let officer = SecretKey::from_bytes(&[8; 32]);
        let txs: Vec<Transaction> = (1..=3u64)
            .map(|seq| {
                let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                    enterprise: EnterpriseId::namespaced("g", &format!("e{seq}")).expect("id"),
                    name: "N".repeat(2_000),
                    address: "A".into(),
                    linked_ids: vec![],
                });
                let p = TxPayload::new("g", seq, Timestamp(1), body, &mut rand::rngs::OsRng);
                Transaction::sign(p, &[&officer])
            })
            .collect();
        let full = block(txs.clone());
        let p = Proposal::new("g", &node, 3, 0, None, full.hash());
        let decode = |b: Vec<u8>| from_canonical::<Gossip>(&b).expect("decodes");

        // With transactions: the header and the ids, far smaller than the block.
        let bytes = proposal_gossip(p.clone(), full.clone(), 1 << 20);
        assert!(bytes.len() * 4 < to_canonical(&full).len());
        match decode(bytes) {
            Gossip::ProposalTxIds(q, h, ids) => {
                assert_eq!((q, *h), (p.clone(), full.header.clone()));
                assert_eq!(ids, txs.iter().map(Transaction::id).collect::<Vec<_>>());
            }
            other => panic!("expected ids, got {other:?}"),
        }
        // Without transactions: the whole block.
        let empty = block(vec![]);
        let q = Proposal::new("g", &node, 3, 0, None, empty.hash());
        match decode(proposal_gossip(q.clone(), empty.clone(), 1 << 20)) {
            Gossip::Proposal(r, b) => assert_eq!((r, *b), (q, empty)),
            other => panic!("expected the block, got {other:?}"),
        }
        // Over the limit: the bare proposal.
        match decode(proposal_gossip(p.clone(), full, 64)) {
            Gossip::ProposalRef(r) => assert_eq!(r, p),
            other => panic!("expected a bare proposal, got {other:?}"),
        }
    }
}
