//! The simulator over the node's machine: every honest node is a [`NodeMachine`] — the
//! code production runs — over the real application (a sled store in a temporary directory),
//! fed events and performing its actions in simulated time, with a simulated network
//! (delays, loss, partitions), crashes, wiped data directories, a lying sync peer, clients
//! submitting transactions, and the checkers of [`super::check`].
//!
//! What the shell does (`crate::shell`) is done here instead: actions are checked
//! (persist before send, no double-sign, agreement, certificates) and performed — signing
//! state kept as the last `Persist`, the consensus log kept per height, gossip and
//! requests delivered with the scenario's delays, timers queued. A crash loses the
//! machine and every action after the one it happened at; the store, the signing state
//! and the consensus log survive. [`MachineScenario`] says what happens in a run, and
//! [`Hits`] what a run exercised.

mod net;
mod perform;
mod private;
mod run;
mod scenario;

pub use private::{PrivateFlow, Stage};
pub use run::{run_machine, run_machine_seed, MachineReport};
pub use scenario::{Hits, MachineFault, MachineScenario};

use super::check::{Checker, Violation};
use super::sigs::{SigCache, SigMode};
use super::world::{mix, EPOCH_MS};
use crate::app::App;
use crate::config::NodeLimits;
use crate::consensus::{PrivState, Timeout};
use crate::machine::{Context, Event, NodeMachine, Purpose, TICK_MS};
use crate::mempool::Mempool;
use crate::store::Store;
use crate::wire::{Gossip, SyncResponse};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safeledger_core::{Genesis, PublicKey, SecretKey, Timestamp, Transaction};
use safeledger_network::Topic;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// How long a request waits for an answer that does not come, ms (as the network's
/// request timeout does).
pub const REQUEST_TIMEOUT_MS: u64 = 2_000;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs the machine and performs its actions faithfully.
    Honest,
    /// Runs the machine, but serves block-sync requests with a forged certificate.
    LyingSync,
}

/// One simulated node.
pub struct MachineNode {
    /// Its node key.
    pub key: SecretKey,
    /// What it is.
    pub role: Role,
    /// Its data directory (store and private values); replaced when wiped.
    dir: tempfile::TempDir,
    /// The machine; `None` while crashed.
    pub machine: Option<NodeMachine>,
    /// The last persisted signing state; `None` before the first (or after a wipe).
    pub persisted: Option<PrivState>,
    /// The consensus log, per height.
    wal: BTreeMap<u64, Vec<Gossip>>,
    /// Incarnation: bumped by a crash, so that its old timers and answers die with it.
    inc: u32,
    /// Generation of the scheduled height start (a newer schedule replaces an older).
    height_gen: u64,
    /// Crash right after the next `Persist`.
    crash_after_persist: bool,
    /// Its metrics, kept across incarnations.
    pub metrics: Arc<crate::ops::Metrics>,
    /// Its clock's skew, ms.
    skew_ms: i64,
}

#[derive(Debug)]
enum Ev {
    Gossip {
        to: usize,
        from: PublicKey,
        data: Arc<Vec<u8>>,
    },
    Request {
        to: usize,
        from: usize,
        from_inc: u32,
        data: Vec<u8>,
        purpose: Purpose,
    },
    Response {
        to: usize,
        inc: u32,
        from: PublicKey,
        purpose: Purpose,
        response: Option<SyncResponse>,
    },
    Timeout {
        node: usize,
        inc: u32,
        t: Timeout,
    },
    Tick {
        node: usize,
        inc: u32,
    },
    HeightDue {
        node: usize,
        inc: u32,
        generation: u64,
    },
    Submit {
        node: usize,
        txs: Vec<Transaction>,
    },
    /// The clients' periodic step (the private-value flow).
    Client,
    Fault(MachineFault),
    Gst,
}

/// The requester of the request being handled: its answer goes back to it.
struct Asker {
    node: usize,
    inc: u32,
    purpose: Purpose,
}

/// The world of a machine run.
pub struct MachineWorld {
    /// The scenario.
    pub sc: MachineScenario,
    /// Simulated time, ms since the start.
    pub now: u64,
    rng: ChaCha8Rng,
    queue: crate::sim::queue::EventQueue<Ev>,
    /// The nodes.
    pub nodes: Vec<MachineNode>,
    /// The checker.
    pub check: Checker,
    genesis: Genesis,
    /// Group of each node while partitioned.
    partition: Option<Vec<u8>>,
    /// True once GST passed.
    pub stable: bool,
    /// What the run exercised.
    pub hits: Hits,
    /// Running digest of every event processed.
    pub trace: u64,
    /// Highest committed height of any other node when a node's data was wiped: (node,
    /// height). It must sign nothing at or below it.
    wiped_at: BTreeMap<usize, u64>,
    /// The private-value flow, when the scenario has one.
    pub private: Option<PrivateFlow>,
}

impl MachineWorld {
    /// Builds the world of `sc` with keys and randomness from `seed`.
    pub fn new(sc: MachineScenario, seed: u64) -> std::io::Result<MachineWorld> {
        let keys: Vec<SecretKey> = (0..sc.validators)
            .map(|i| scenario::node_key(seed, i))
            .collect();
        let genesis = scenario::genesis(&keys, seed, &sc);
        let vals = genesis.validator_set();
        let nodes = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Ok(MachineNode {
                    key: k.clone(),
                    role: if sc.liar == Some(i) {
                        Role::LyingSync
                    } else {
                        Role::Honest
                    },
                    dir: tempfile::tempdir()?,
                    machine: None,
                    persisted: None,
                    wal: BTreeMap::new(),
                    inc: 0,
                    height_gen: 0,
                    crash_after_persist: false,
                    metrics: Arc::new(crate::ops::Metrics::new()),
                    skew_ms: sc.skew_ms.get(i).copied().unwrap_or(0),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let check = Checker::new(
            &genesis.chain_id,
            vals,
            BTreeSet::new(),
            SigMode::Production,
            Arc::new(Mutex::new(SigCache::default())),
        );
        let mut w = MachineWorld {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6d61_6368),
            now: 0,
            queue: Default::default(),
            nodes,
            check,
            genesis,
            partition: None,
            stable: false,
            hits: Hits::default(),
            trace: mix(seed, 1),
            wiped_at: BTreeMap::new(),
            private: None,
            sc,
        };
        w.private = w.sc.private.map(|(rec, req)| {
            PrivateFlow::new(
                seed,
                rec,
                req,
                &w.genesis.chain_id,
                Timestamp(w.genesis.genesis_time.0 + 1),
            )
        });
        if w.private.is_some() {
            w.push(1_000, Ev::Client);
        }
        for (at, f) in w.sc.faults.clone() {
            w.push(at, Ev::Fault(f));
        }
        for (at, node, txs) in scenario::submissions(&w.sc, &w.genesis, seed) {
            w.push(at, Ev::Submit { node, txs });
        }
        let gst = w.sc.gst_ms;
        w.push(gst, Ev::Gst);
        Ok(w)
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.queue.push(at, ev);
    }

    fn local_now(&self, i: usize) -> Timestamp {
        Timestamp((EPOCH_MS + self.now).saturating_add_signed(self.nodes[i].skew_ms))
    }

    /// Starts every node.
    pub fn start(&mut self) -> Result<(), Violation> {
        for i in 0..self.nodes.len() {
            self.boot(i)?;
        }
        Ok(())
    }

    /// Opens the node's store and application, builds its machine from the persisted signing
    /// state (fresh when none was persisted) and replays its consensus log.
    fn boot(&mut self, i: usize) -> Result<(), Violation> {
        let fail = |e: String| Violation {
            property: "node start",
            detail: format!("node {i}: {e}"),
        };
        let now = self.local_now(i);
        let n = &mut self.nodes[i];
        let store = Store::open(&n.dir.path().join("store")).map_err(|e| fail(e.to_string()))?;
        let mempool = Arc::new(Mutex::new(Mempool::default()));
        let me = n.key.public();
        let app = App::open(self.genesis.clone(), store.clone(), mempool.clone(), me)
            .map_err(|e| fail(e.to_string()))?;
        let private = crate::private_store::PrivateStore::open(&store, n.dir.path())
            .map_err(|e| fail(e.to_string()))?;
        let agency = self
            .genesis
            .agencies
            .iter()
            .find(|a| a.node_key == me)
            .map(|a| a.id.clone())
            .unwrap_or_default();
        let ctx = Arc::new(Context {
            genesis: self.genesis.clone(),
            agency,
            node_key: me,
            own_tx_lock: std::sync::Mutex::new(()),
            store,
            mempool,
            registry: safeledger_contracts::Executor::new(&self.genesis)
                .registry()
                .clone(),
            private,
            metrics: n.metrics.clone(),
            max_gossip_bytes: self.sc.max_gossip_bytes,
            snapshots: crate::snapshot::Snapshots::disabled(),
        });
        let fresh = n.persisted.is_none();
        let machine = NodeMachine::new(
            ctx,
            n.key.clone(),
            app,
            n.persisted.clone().unwrap_or_default(),
            fresh,
            NodeLimits {
                sync_batch_blocks: 8,
                ..NodeLimits::default()
            },
            now,
        );
        let logged = n.wal.get(&machine.height()).cloned().unwrap_or_default();
        if !logged.is_empty() {
            self.hits.wal_replays += 1;
        }
        n.machine = Some(machine);
        let inc = n.inc;
        let offset = self.rng.gen_range(0..TICK_MS);
        self.push(self.now + offset, Ev::Tick { node: i, inc });
        self.handle(i, Event::Start { logged }, None)
    }

    fn crash(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if n.machine.is_none() {
            return;
        }
        n.machine = None;
        n.inc += 1;
        n.crash_after_persist = false;
    }

    /// Hands `event` to node `i`'s machine and performs the actions; `asker`: the node
    /// whose request is being answered.
    fn handle(&mut self, i: usize, event: Event, asker: Option<Asker>) -> Result<(), Violation> {
        let now = self.local_now(i);
        let Some(machine) = self.nodes[i].machine.as_mut() else {
            return Ok(());
        };
        let before = machine.app().tip.height;
        let actions = machine.handle(now, event).map_err(|e| Violation {
            property: "node error",
            detail: format!("node {i}: {e:#}"),
        })?;
        let mut asker = asker;
        for a in actions {
            if self.nodes[i].machine.is_none() {
                break;
            }
            self.perform(i, a, &mut asker)?;
        }
        if let Some(a) = asker {
            // Crashed before answering: the asker times out.
            self.push(
                self.now + REQUEST_TIMEOUT_MS,
                Ev::Response {
                    to: a.node,
                    inc: a.inc,
                    from: self.nodes[i].key.public(),
                    purpose: a.purpose,
                    response: None,
                },
            );
        }
        self.check_commits(i, before)
    }

    fn up(&self, i: usize, inc: u32) -> bool {
        let n = &self.nodes[i];
        n.machine.is_some() && n.inc == inc
    }

    /// Applies a fault now.
    fn fault(&mut self, f: MachineFault) -> Result<(), Violation> {
        match f {
            MachineFault::Partition(g) => self.partition = Some(g),
            MachineFault::Heal => self.partition = None,
            MachineFault::Crash { node } => self.crash(node),
            MachineFault::CrashAfterPersist { node } => self.nodes[node].crash_after_persist = true,
            MachineFault::Restart { node } => {
                if self.nodes[node].machine.is_none() {
                    self.boot(node)?;
                }
            }
            MachineFault::Wipe { node } => {
                self.crash(node);
                let floor = (0..self.nodes.len())
                    .filter(|j| *j != node)
                    .filter_map(|j| self.nodes[j].machine.as_ref())
                    .map(|m| m.app().tip.height)
                    .max()
                    .unwrap_or(0);
                let n = &mut self.nodes[node];
                n.dir = tempfile::tempdir().map_err(|e| Violation {
                    property: "node start",
                    detail: e.to_string(),
                })?;
                n.persisted = None;
                n.wal.clear();
                let key = n.key.public();
                self.check.wiped(node, key, floor);
                self.wiped_at.insert(node, floor);
                self.hits.wipes += 1;
            }
        }
        Ok(())
    }

    /// GST: partitions heal, crashed nodes restart, loss stops, delays become bounded.
    fn gst(&mut self) -> Result<(), Violation> {
        self.stable = true;
        self.partition = None;
        for i in 0..self.nodes.len() {
            self.nodes[i].crash_after_persist = false;
            if self.nodes[i].machine.is_none() {
                self.boot(i)?;
            }
        }
        Ok(())
    }

    /// Processes the next event; `false` when none is left.
    pub fn step(&mut self) -> Result<bool, Violation> {
        let Some((at, ev)) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = at;
        self.trace = mix(self.trace, at);
        match ev {
            Ev::Gossip { to, from, data } => {
                let data = Arc::unwrap_or_clone(data);
                self.handle(to, Event::Gossip { source: from, data }, None)?;
            }
            Ev::Request {
                to,
                from,
                from_inc,
                data,
                purpose,
            } => {
                let peer = self.nodes[from].key.public();
                let asker = Asker {
                    node: from,
                    inc: from_inc,
                    purpose,
                };
                if self.nodes[to].machine.is_none() {
                    self.push(
                        self.now + REQUEST_TIMEOUT_MS,
                        Ev::Response {
                            to: from,
                            inc: from_inc,
                            from: self.nodes[to].key.public(),
                            purpose: asker.purpose,
                            response: None,
                        },
                    );
                } else {
                    self.handle(to, Event::Request { peer, data }, Some(asker))?;
                }
            }
            Ev::Response {
                to,
                inc,
                from,
                purpose,
                response,
            } => {
                if self.up(to, inc) {
                    self.note_response(to, &purpose, &response);
                    // A forged answer that reaches the node's next height must be refused
                    // with a ban (one for heights it has by now is skipped).
                    let next = self.nodes[to]
                        .machine
                        .as_ref()
                        .map_or(0, |m| m.app().tip.height + 1);
                    let lie = self
                        .sc
                        .liar
                        .is_some_and(|l| self.nodes[l].key.public() == from)
                        && matches!(&response, Some(SyncResponse::Blocks(b))
                            if b.iter().any(|(blk, _)| blk.header.height == next));
                    let bans = self.nodes[to].metrics.sync_bans.get();
                    let ev = Event::Response {
                        peer: from,
                        purpose,
                        response,
                    };
                    self.handle(to, ev, None)?;
                    if lie {
                        if self.nodes[to].metrics.sync_bans.get() == bans {
                            return Err(Violation {
                                property: "lying sync peer",
                                detail: format!("node {to} was served forged blocks from its next height and banned no one"),
                            });
                        }
                        self.hits.liars_banned += 1;
                    }
                }
            }
            Ev::Timeout { node, inc, t } => {
                if self.up(node, inc) {
                    self.handle(node, Event::Timeout(t), None)?;
                }
            }
            Ev::Tick { node, inc } => {
                if self.up(node, inc) {
                    let cut = self.cut_for(node);
                    self.handle(node, Event::Tick { cut }, None)?;
                    self.push(self.now + TICK_MS, Ev::Tick { node, inc });
                }
            }
            Ev::HeightDue {
                node,
                inc,
                generation,
            } => {
                if self.up(node, inc) && self.nodes[node].height_gen == generation {
                    self.handle(node, Event::HeightDue, None)?;
                }
            }
            Ev::Submit { node, txs } => self.submit(node, txs)?,
            Ev::Client => {
                self.private_step()?;
                self.push(self.now + TICK_MS, Ev::Client);
            }
            Ev::Fault(f) => self.fault(f)?,
            Ev::Gst => self.gst()?,
        }
        Ok(true)
    }

    fn note_response(&mut self, to: usize, purpose: &Purpose, r: &Option<SyncResponse>) {
        if let (Purpose::Proposal { .. }, Some(SyncResponse::Proposal(..))) = (purpose, r) {
            if self.sc.lacking == Some(to) {
                self.hits.proposal_fetches += 1;
            }
        }
    }

    /// A client submits `txs` at node `i` (as gRPC `SubmitBatch` does).
    fn submit(&mut self, i: usize, txs: Vec<Transaction>) -> Result<(), Violation> {
        let Some(m) = self.nodes[i].machine.as_ref() else {
            return Ok(());
        };
        let admitted = crate::machine::admit(m.context(), txs, true);
        for bytes in admitted.gossip {
            self.publish(i, Topic::Transactions, bytes)?;
        }
        if admitted.any_new {
            self.handle(i, Event::TxsArrived, None)?;
        }
        Ok(())
    }

    /// The committed height of every honest node.
    pub fn honest_heights(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.role == Role::Honest)
            .map(|n| match &n.machine {
                Some(m) => m.app().tip.height,
                None => 0,
            })
            .collect()
    }

    /// Sync bans each node's machine reported.
    pub fn sync_bans(&self) -> u64 {
        self.nodes.iter().map(|n| n.metrics.sync_bans.get()).sum()
    }
}
