//! The shell around the node's machine ([`crate::machine`]): it owns tokio, libp2p, the
//! files (signing state, consensus log) and the timers, feeds the machine its events —
//! gossip, requests and their answers, expired timeouts, ticks, the start of a height —
//! and performs the actions it returns, in order: persist (fsync) before send, log,
//! publish, request, reply, schedule.
//!
//! One task runs the event loop, so the machine is never touched concurrently. gRPC
//! handlers share only the [`Context`] — the store (read-only), the mempool (behind a
//! mutex), the private store and the metrics — and status snapshots.

use crate::app::App;
use crate::consensus::{PrivState, Timeout};
pub use crate::grpc::Shared;
pub use crate::machine::NodeStatus;
use crate::machine::{Action, Context, Event, NodeMachine};
use crate::mempool::Mempool;
use crate::partition::PeerFilter;
use crate::store::{write_durable, Store};
use crate::wal::Wal;
use crate::wire::SyncResponse;
use anyhow::{anyhow, bail, Context as _};
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::limits::MAX_MESSAGE_BYTES;
use safeledger_core::{Genesis, SecretKey, Timestamp};
use safeledger_network::{NetEvent, NetworkConfig, NetworkHandle, PeerInfo, ReplyHandle};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};

/// The shell's tick ([`crate::machine::TICK_MS`]).
pub const TICK: Duration = Duration::from_millis(crate::machine::TICK_MS);
/// Capacity of the internal timeout channel.
pub const TIMEOUT_CHANNEL: usize = 1_024;
/// Capacity of the channel of answers to the machine's requests.
pub const RESPONSE_CHANNEL: usize = 1_024;
/// Name of the persisted signing-state file in the data directory.
pub const PRIV_STATE_FILE: &str = "priv_state.bin";
/// Directory of the consensus write-ahead log in the data directory.
pub const WAL_DIR: &str = "wal";

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
    /// Join by state sync ([`crate::snapshot::fetch`]) when the data directory holds no
    /// block yet (or an interrupted state sync); otherwise ignored.
    pub state_sync: bool,
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

/// The wall clock as a block timestamp.
pub(crate) fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Timestamp(ms)
}

/// `/healthz`'s check for this node: quorum of connected validators and a recent commit
/// ([`crate::ops::judge_health`]).
fn health_check(shared: Arc<Shared>, config: &NodeConfig) -> crate::ops::HealthCheck {
    let set = config.genesis.validator_set();
    let validators = set.validators.len() as u32;
    let me = config.node_key.public();
    let is_validator = set.validators.iter().any(|v| v.key == me);
    let stale_after_ms = config.limits.health_stale_after_ms;
    Arc::new(move || {
        let status = shared.status.borrow().clone();
        crate::ops::judge_health(crate::ops::HealthFacts {
            now_ms: now().0,
            height: status.height,
            last_block_ms: status.block_time.0,
            peers: shared.peers.load(Ordering::Relaxed),
            validators,
            is_validator,
            stale_after_ms,
        })
    })
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
        if let Ok(s) = &self.shared.search {
            s.stop();
        }
        if let Ok(i) = &self.shared.inbox {
            i.stop();
        }
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
            Err(e) => Err(anyhow!("the node task failed: {e}")),
        }
    }

    /// Waits until the shell ends (an error stops the node).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        match (&mut self.driver).await {
            Ok(x) => x,
            Err(e) => Err(anyhow!("the node task failed: {e}")),
        }
    }
}

/// Starts a node: store, application, network, gRPC, the machine and its shell.
pub async fn start(config: NodeConfig) -> anyhow::Result<RunningNode> {
    config.genesis.validate().context("genesis is not valid")?;
    config
        .limits
        .validate()
        .context("node limits are not valid")?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    // First the gRPC port: once the store is open, threads that follow it hold it, and a
    // start that failed on a port in use would keep it locked against the next try.
    let open_store = || {
        Store::open(&config.data_dir.join("store"))
            .with_context(|| format!("opening the store in {}", config.data_dir.display()))
    };
    let grpc_listener = match crate::grpc::bind(config.grpc_listen).await {
        Ok(l) => l,
        // The port is taken: by this agency's own running node when its store is locked
        // too (say that), else by something else.
        Err(e) => return Err(open_store().err().unwrap_or(e)),
    };
    let store = open_store()?;
    let priv_path = config.data_dir.join(PRIV_STATE_FILE);
    // A node key with no signing state (a new validator, or a wiped data directory with a
    // kept key) signs nothing until peers holding more than 1/3 of the power have told it
    // their heights; then nothing at or below the highest (ARCHITECTURE.md, "Wiped data
    // directory").
    let fresh_key = !priv_path.exists();
    let guard = load_priv_state(&priv_path)?;
    let me = config.node_key.public();
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
    let (net, mut net_rx) = safeledger_network::start(NetworkConfig {
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

    let in_progress = store.sync_in_progress()?;
    let empty = store.tip()?.is_none_or(|t| t.height == 0);
    let mut peers_at_start = 0;
    if config.state_sync && (empty || in_progress) {
        tracing::info!("joining by state sync");
        let (_, connected) =
            crate::snapshot::fetch::run(&net, &mut net_rx, &config.genesis, &store).await?;
        peers_at_start = connected.len() as u32;
    } else if in_progress {
        bail!(
            "a state sync into {} did not finish: start the node with --state-sync again, or \
             remove its data directory to replay every block",
            config.data_dir.display()
        );
    } else if config.state_sync {
        tracing::info!("the store holds blocks already: no state sync, block sync goes on");
    }
    let mempool = Arc::new(Mutex::new(Mempool::with_limits(config.limits.mempool())));
    let built = std::time::Instant::now();
    store.state_tree()?;
    tracing::info!(
        ms = built.elapsed().as_millis() as u64,
        "state map built from the store"
    );
    let mut app = App::open(config.genesis.clone(), store.clone(), mempool.clone(), me)?;
    app.set_pipelined(true)?;
    if let Some(max) = std::env::var(crate::app::MAX_VERSION_ENV)
        .ok()
        .and_then(|v| crate::app::max_version_for(&v, &config.agency))
    {
        tracing::warn!(max, "test: running protocol versions up to {max} only");
        app.set_max_version(max);
    }

    let initial = NodeStatus {
        height: app.tip.height,
        block_hash: app.tip.block_hash,
        state_root: app.tip.state_root,
        block_time: app.tip.block_time,
        committed_txs: app.tip.committed_txs,
    };
    let (status_tx, status_rx) = watch::channel(initial);
    let private = crate::private_store::PrivateStore::open(&store, &config.data_dir)
        .context("opening the private field store")?;
    let ctx = Arc::new(Context {
        private,
        genesis: config.genesis.clone(),
        agency: config.agency.clone(),
        node_key: me,
        own_tx_lock: Mutex::new(()),
        store,
        mempool,
        metrics: Arc::new(crate::ops::Metrics::new()),
        registry: safeledger_contracts::Executor::new(&config.genesis)
            .registry()
            .clone(),
        max_gossip_bytes: net.max_gossip_bytes(),
        snapshots: crate::snapshot::Snapshots::open(
            &config.data_dir,
            config.limits.snapshot_interval,
        )
        .context("opening the state snapshot directory")?,
    });
    let search =
        crate::search::Search::start(&config.data_dir, &ctx.store, &ctx.private).map_err(|e| {
            tracing::warn!(error = %e, "enterprise search is unavailable");
            e.to_string()
        });
    let inbox = crate::inbox::Inbox::start(&ctx.store, ctx.registry.clone()).map_err(|e| {
        tracing::warn!(error = %e, "the inbox is unavailable");
        e.to_string()
    });
    let shared = Arc::new(Shared {
        inbox,
        search,
        ctx: ctx.clone(),
        status: status_rx,
        round: AtomicU32::new(0),
        peers: AtomicU32::new(peers_at_start),
        net: net.clone(),
        txs_arrived: Notify::new(),
        node_secret: config.node_key.clone(),
        evidence: crate::evidence_store::EvidenceStore::open(
            &config.data_dir,
            config.limits.max_evidence_bytes,
        )
        .context("opening the evidence file store")?,
        tip_limiter: crate::ratelimit::RateLimiter::per_hour(
            config.limits.tips_per_hour_per_source,
            config.limits.grpc_max_clients,
        ),
    });
    shared.metrics.peers.set(i64::from(peers_at_start));
    let (metrics_addr, ops) = match config.metrics_listen {
        Some(addr) => {
            let health = health_check(shared.clone(), &config);
            let (a, t) = crate::ops::serve_http(shared.metrics.clone(), health, addr).await?;
            (Some(a), Some(t))
        }
        None => (None, None),
    };

    let (grpc_addr, grpc) = crate::grpc::serve(
        shared.clone(),
        grpc_listener,
        config.grpc_tls.clone(),
        &config.limits,
    )
    .await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let wal_dir = config.data_dir.join(WAL_DIR);
    let machine = NodeMachine::new(
        ctx,
        config.node_key.clone(),
        app,
        guard,
        fresh_key,
        config.limits,
        now(),
    );
    let shell = Shell {
        wal: Wal::open(&wal_dir).with_context(|| format!("opening {}", wal_dir.display()))?,
        wal_dir,
        filter: PeerFilter::from_env(),
        machine,
        net,
        shared: shared.clone(),
        status_tx,
        priv_path,
        next_height_at: None,
    };
    let metrics = shared.metrics.clone();
    let driver = tokio::spawn(async move {
        let r = shell.run(net_rx, stop_rx).await;
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

/// The event loop around the machine.
struct Shell {
    machine: NodeMachine,
    wal: Wal,
    wal_dir: PathBuf,
    filter: PeerFilter,
    net: NetworkHandle,
    shared: Arc<Shared>,
    status_tx: watch::Sender<NodeStatus>,
    priv_path: PathBuf,
    /// When the machine wants [`Event::HeightDue`].
    next_height_at: Option<Instant>,
}

/// The channels events come back on.
struct Loopback {
    timeouts: mpsc::Sender<Timeout>,
    responses: mpsc::Sender<Event>,
}

impl Shell {
    async fn run(
        mut self,
        mut net_rx: mpsc::Receiver<NetEvent>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let (timeout_tx, mut timeout_rx) = mpsc::channel::<Timeout>(TIMEOUT_CHANNEL);
        let (response_tx, mut response_rx) = mpsc::channel::<Event>(RESPONSE_CHANNEL);
        let back = Loopback {
            timeouts: timeout_tx,
            responses: response_tx,
        };
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        let logged = Wal::read(&self.wal_dir, self.machine.height());
        self.handle(Event::Start { logged }, None, &back)?;
        loop {
            let wake = self.next_height_at;
            tokio::select! {
                _ = stop.changed() => break,
                ev = net_rx.recv() => match ev {
                    Some(ev) => self.on_net(ev, &back)?,
                    None => break,
                },
                Some(t) = timeout_rx.recv() => self.handle(Event::Timeout(t), None, &back)?,
                Some(ev) = response_rx.recv() => self.handle(ev, None, &back)?,
                _ = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.next_height_at = None;
                    self.handle(Event::HeightDue, None, &back)?;
                }
                _ = shared.txs_arrived.notified(), if wake.is_some() => {
                    self.handle(Event::TxsArrived, None, &back)?;
                }
                _ = tick.tick() => {
                    self.filter.refresh();
                    self.shared.metrics.net.record(self.net.stats());
                    let cut = self.filter.blocked().clone();
                    self.handle(Event::Tick { cut }, None, &back)?;
                }
            }
        }
        // Stopping: the last commit's flush and fsync finish first.
        self.machine
            .app_mut()
            .wait_durable()
            .context("making the last committed height durable")?;
        Ok(())
    }

    fn on_net(&mut self, ev: NetEvent, back: &Loopback) -> anyhow::Result<()> {
        match ev {
            NetEvent::Gossip { source, data, .. } => {
                self.handle(Event::Gossip { source, data }, None, back)
            }
            NetEvent::Request { peer, data, reply } => {
                self.handle(Event::Request { peer, data }, Some(reply), back)
            }
            NetEvent::PeerConnected(k) => {
                let n = self.shared.peers.fetch_add(1, Ordering::Relaxed) + 1;
                self.shared.metrics.peers.set(n as i64);
                tracing::info!(peer = %k.to_hex()[..8].to_string(), peers = n, "peer connected");
                Ok(())
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
                Ok(())
            }
        }
    }

    /// Hands `event` to the machine and performs its actions in order; `reply` answers
    /// the request being handled.
    fn handle(
        &mut self,
        event: Event,
        mut reply: Option<ReplyHandle>,
        back: &Loopback,
    ) -> anyhow::Result<()> {
        let actions = self.machine.handle(now(), event)?;
        for a in actions {
            self.perform(a, &mut reply, back)?;
        }
        if let Some(r) = reply {
            // Every request gets an answer (the machine always gives one).
            r.send(to_canonical(&SyncResponse::Error("no answer".into())));
        }
        self.shared
            .round
            .store(self.machine.round(), Ordering::Relaxed);
        Ok(())
    }

    /// Performs one action; `Persist` is durable before this returns.
    fn perform(
        &mut self,
        action: Action,
        reply: &mut Option<ReplyHandle>,
        back: &Loopback,
    ) -> anyhow::Result<()> {
        match action {
            Action::Persist(state) => {
                write_durable(&self.priv_path, &to_canonical(&state)).with_context(|| {
                    format!(
                        "persisting signing state to {}; stopping rather than risk a \
                         double-sign",
                        self.priv_path.display()
                    )
                })?;
            }
            Action::LogHeight(h) => self.wal.start_height(h)?,
            Action::Log(m) => {
                if let Err(e) = self.wal.append(&m) {
                    tracing::warn!(error = %e, "consensus log append failed");
                }
            }
            Action::Publish(topic, bytes) => {
                let _ = self.net.publish(topic, bytes);
            }
            Action::Request {
                peer,
                request,
                purpose,
            } => {
                let net = self.net.clone();
                let tx = back.responses.clone();
                let push = purpose == crate::machine::Purpose::Push;
                tokio::spawn(async move {
                    let r = net.request(peer, to_canonical(&request)).await;
                    if push {
                        return;
                    }
                    let response = r.ok().and_then(|b| from_canonical::<SyncResponse>(&b).ok());
                    let _ = tx
                        .send(Event::Response {
                            peer,
                            purpose,
                            response,
                        })
                        .await;
                });
            }
            Action::Reply(resp) => {
                if let Some(r) = reply.take() {
                    r.send(to_canonical(&resp));
                }
            }
            Action::ScheduleTimeout(t, ms) => {
                let tx = back.timeouts.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    let _ = tx.send(t).await;
                });
            }
            Action::NextHeightIn(ms) => {
                self.next_height_at = ms.map(|ms| Instant::now() + Duration::from_millis(ms));
            }
            Action::AddPeer(info) => {
                let key = info.key;
                if let Err(e) = self.net.add_peer(info) {
                    tracing::warn!(peer = %key, error = %e, "admitting a new validator failed");
                }
            }
            Action::Status(s) => {
                let _ = self.status_tx.send(s);
            }
        }
        Ok(())
    }
}
