//! The simulated world: nodes running the real consensus core, a network, timers, block
//! sync and faults, advanced one event at a time in simulated milliseconds.
//!
//! A node is what the machine (`crate::machine`) makes of the core: it performs effects in
//! order (persist, broadcast, schedule, decide, evidence), commits a decided block and
//! starts the next height after the commit delay, and on every tick (500 ms, as
//! `shell::TICK`) asks its peers for blocks when one is ahead (block sync, each certificate
//! checked with `CommitCertificate::verify`) and, once a height has run longer than
//! `machine::RESEND_AFTER_MS`, re-sends `Consensus::resend_set()` to every peer. A crash loses
//! everything but the last `Effect::Persist` payload and the committed blocks.

mod net;
mod tick;

use super::app::{SimApp, ToyApp};
use super::byz;
use super::check::{Checker, Violation};
use super::scenario::{Byzantine, Fault, Scenario};
use super::sigs::{CachedCheck, SigCache, SigMode};
use crate::consensus::{Consensus, Effect, Input, PrivState, SignedMessage, Timeout};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safeledger_core::block::CommitCertificate;
use safeledger_core::genesis::{Validator, ValidatorSet};
use safeledger_core::{Block, Proposal, SecretKey, Timestamp, Vote};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// The chain id of simulated runs.
pub const SIM_CHAIN_ID: &str = "sim";
/// The node's tick, re-send delay and sync ban, as the machine has them.
pub use crate::machine::{RESEND_AFTER_MS, SYNC_BAN_MS, TICK_MS};
/// Most blocks in one sync response (`wire::MAX_SYNC_BLOCKS`).
pub const SYNC_BLOCKS: u64 = 32;
/// Simulated wall-clock origin (ms since the epoch), so block times look real.
pub const EPOCH_MS: u64 = 1_700_000_000_000;
/// Genesis time of simulated chains (ms since the epoch).
pub const GENESIS_MS: u64 = EPOCH_MS - 60_000;
/// Heights kept by the checkers behind the lowest node.
const PRUNE_EVERY: u64 = 64;

/// A consensus message on the wire.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A proposal and its block.
    Proposal(Proposal, Box<Block>),
    /// A vote.
    Vote(Vote),
}

impl Msg {
    fn input(self) -> Input {
        match self {
            Msg::Proposal(p, b) => Input::Proposal(p, b),
            Msg::Vote(v) => Input::Vote(v),
        }
    }
}

#[derive(Debug)]
enum Ev {
    Deliver {
        to: usize,
        msg: Msg,
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
    StartNext {
        node: usize,
        inc: u32,
    },
    SyncReply {
        node: usize,
        inc: u32,
        from: usize,
        blocks: Vec<(Block, CommitCertificate)>,
    },
    Fault(Fault),
    Gst,
}

/// One simulated node.
pub struct SimNode {
    /// Its signing key (a twin shares one with a validator).
    pub key: SecretKey,
    /// The core; `None` while crashed.
    pub core: Option<Consensus>,
    /// Its application (survives crashes, as the store does).
    pub app: Box<dyn SimApp>,
    /// The last `Effect::Persist` payload: all that survives a crash besides the store.
    pub persisted: PrivState,
    /// Incarnation: bumped by a crash, so that its old timers die with it.
    inc: u32,
    skew_ms: i64,
    height_started: u64,
    crash_after_persist: bool,
    syncing: bool,
    /// Sync peers skipped until the given time (ms).
    banned: BTreeMap<usize, u64>,
    byz: Option<Byzantine>,
    /// Effects performed by the current incarnation's `start_height` (resume cost).
    pub last_start_effects: usize,
}

/// Counters of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages delivered to a running node.
    pub delivered: u64,
    /// Messages lost (loss, partition, crashed receiver).
    pub dropped: u64,
    /// Timeouts fired.
    pub timeouts: u64,
    /// Crashes.
    pub crashes: u64,
    /// Blocks committed through block sync.
    pub synced_blocks: u64,
    /// Highest round any decision needed.
    pub max_decided_round: u32,
}

/// The world.
pub struct World {
    /// The scenario.
    pub sc: Scenario,
    /// Simulated time, ms since the start.
    pub now: u64,
    rng: ChaCha8Rng,
    queue: crate::sim::queue::EventQueue<Ev>,
    /// The nodes.
    pub nodes: Vec<SimNode>,
    /// The checker.
    pub check: Checker,
    /// The validator set.
    pub vals: ValidatorSet,
    cache: Arc<Mutex<SigCache>>,
    partition: Option<Vec<u8>>,
    drop_proposals: bool,
    /// True once GST passed.
    pub stable: bool,
    /// Counters.
    pub stats: Stats,
    /// Running digest of every event processed (two runs of a seed must match).
    pub trace: u64,
    /// Message filter for named scenarios: `false` drops the message (before GST only).
    #[allow(clippy::type_complexity)]
    pub filter: Option<Box<dyn FnMut(u64, usize, usize, &Msg) -> bool>>,
    /// When set, every message a node's core sends of its own is logged here:
    /// (time, node, message).
    pub sent: Option<Vec<(u64, usize, SignedMessage)>>,
    pruned_to: u64,
}

fn key_for(seed: u64, i: usize) -> SecretKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8..16].copy_from_slice(&(i as u64).to_le_bytes());
    b[16] = 0x5e;
    SecretKey::from_bytes(&b)
}

/// Mixes `x` into a 64-bit digest (splitmix64 finaliser).
pub fn mix(d: u64, x: u64) -> u64 {
    let mut z = d ^ x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn sig_word(s: &safeledger_core::Signature) -> u64 {
    u64::from_le_bytes(s.0[..8].try_into().unwrap_or([0; 8]))
}

fn msg_digest(m: &Msg) -> u64 {
    match m {
        Msg::Proposal(p, _) => mix(p.height ^ ((p.round as u64) << 40), sig_word(&p.signature)),
        Msg::Vote(v) => mix(
            v.height ^ ((v.round as u64) << 40) ^ ((v.vote_type as u64) << 60),
            sig_word(&v.signature),
        ),
    }
}

impl World {
    /// Builds the world of `sc` with keys and randomness from `seed`.
    pub fn new(sc: Scenario, seed: u64) -> World {
        let keys: Vec<SecretKey> = (0..sc.validators).map(|i| key_for(seed, i)).collect();
        let vals = ValidatorSet {
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    agency: format!("v{i}"),
                    key: k.public(),
                    power: sc.power[i],
                })
                .collect(),
        };
        let cache = Arc::new(Mutex::new(SigCache::default()));
        let byzantine: BTreeSet<_> = sc.byzantine.keys().map(|i| keys[*i].public()).collect();
        let genesis = super::ledger_genesis(&keys, &sc, seed);
        let nodes = (0..sc.nodes())
            .map(|i| {
                let key = keys[sc.key_of(i)].clone();
                let app: Box<dyn SimApp> = if sc.ledger {
                    Box::new(
                        super::app::LedgerApp::new(genesis.clone(), key.public())
                            .expect("a temporary directory"),
                    )
                } else {
                    Box::new(ToyApp::new(
                        SIM_CHAIN_ID,
                        i,
                        key.public(),
                        vals.clone(),
                        Timestamp(GENESIS_MS),
                    ))
                };
                SimNode {
                    byz: if i < sc.validators {
                        sc.byzantine.get(&i).copied()
                    } else {
                        Some(Byzantine::Twin)
                    },
                    key,
                    core: None,
                    app,
                    persisted: PrivState::default(),
                    inc: 0,
                    skew_ms: sc.skew_ms.get(i).copied().unwrap_or(0),
                    height_started: 0,
                    crash_after_persist: false,
                    syncing: false,
                    banned: BTreeMap::new(),
                    last_start_effects: 0,
                }
            })
            .collect();
        let check = Checker::new(
            SIM_CHAIN_ID,
            vals.clone(),
            byzantine,
            sc.sigs,
            cache.clone(),
        );
        let mut w = World {
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0,
            queue: Default::default(),
            nodes,
            check,
            vals,
            cache,
            partition: None,
            drop_proposals: false,
            stable: false,
            stats: Stats::default(),
            trace: mix(seed, 0),
            filter: None,
            sent: None,
            pruned_to: 0,
            sc,
        };
        for (at, f) in w.sc.faults.clone() {
            w.push(at, Ev::Fault(f));
        }
        let gst = w.sc.gst_ms;
        w.push(gst, Ev::Gst);
        w
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.queue.push(at, ev);
    }

    fn local_now(&self, i: usize) -> Timestamp {
        Timestamp((EPOCH_MS + self.now).saturating_add_signed(self.nodes[i].skew_ms))
    }

    /// Starts every node (Silent ones never run).
    pub fn start(&mut self) -> Result<(), Violation> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].byz != Some(Byzantine::Silent) {
                self.boot(i)?;
            }
        }
        Ok(())
    }

    /// Builds a core from the node's persisted state and store, as the driver does at
    /// start-up, and starts its height.
    pub fn boot(&mut self, i: usize) -> Result<(), Violation> {
        let n = &mut self.nodes[i];
        let height = n.app.height() + 1;
        let mut core = Consensus::new(
            SIM_CHAIN_ID,
            n.key.clone(),
            self.sc.params.clone(),
            self.vals.clone(),
            height,
            n.persisted.clone(),
        );
        if self.sc.sigs == SigMode::Cached {
            core = core.with_signature_check(Box::new(CachedCheck(self.cache.clone())));
        }
        n.core = Some(core);
        n.height_started = self.now;
        let inc = n.inc;
        let fx = self.start_height(i, height);
        self.nodes[i].last_start_effects = fx.len();
        let offset = self.rng.gen_range(0..TICK_MS);
        self.push(self.now + offset, Ev::Tick { node: i, inc });
        self.perform(i, fx)
    }

    fn start_height(&mut self, i: usize, height: u64) -> Vec<Effect> {
        let now = self.local_now(i);
        let vals = self.vals.clone();
        let n = &mut self.nodes[i];
        match n.core.as_mut() {
            Some(core) => core.start_height(height, vals, now, n.app.as_mut()),
            None => Vec::new(),
        }
    }

    /// The driver's `start_next_height`.
    fn start_next(&mut self, i: usize) -> Result<(), Violation> {
        let h = self.nodes[i].app.height() + 1;
        let Some(core) = self.nodes[i].core.as_ref() else {
            return Ok(());
        };
        if core.height() == h && !core.decided() {
            return Ok(());
        }
        self.nodes[i].height_started = self.now;
        let fx = self.start_height(i, h);
        self.perform(i, fx)
    }

    fn crash(&mut self, i: usize, lose_last: bool) {
        let n = &mut self.nodes[i];
        if n.core.is_none() {
            return;
        }
        n.core = None;
        n.inc += 1;
        n.syncing = false;
        n.crash_after_persist = false;
        n.app.crash(lose_last);
        self.stats.crashes += 1;
    }

    /// Performs a node's effects in order, checking each.
    pub fn perform(&mut self, i: usize, fx: Vec<Effect>) -> Result<(), Violation> {
        let key = self.nodes[i].key.public();
        for e in fx {
            if self.nodes[i].core.is_none() {
                return Ok(());
            }
            match e {
                Effect::Persist(state) => {
                    if let Some(m) = &state.last_signed {
                        self.check.signed(key, m)?;
                    }
                    self.check.persisted(i, &state)?;
                    self.nodes[i].persisted = state;
                    if self.nodes[i].crash_after_persist {
                        self.crash(i, false);
                        return Ok(());
                    }
                }
                Effect::BroadcastProposal(p, b) => {
                    let m = SignedMessage::Proposal(p.clone());
                    self.check.signed(key, &m)?;
                    self.check.sent_own(&self.nodes[i].persisted, &m)?;
                    self.log_sent(i, m);
                    self.check.proposed(p.height, p.block_hash);
                    if self.nodes[i].byz == Some(Byzantine::Equivocate) {
                        byz::equivocate(self, i, p, b);
                    } else {
                        self.broadcast(i, Msg::Proposal(p, Box::new(b)));
                    }
                }
                Effect::BroadcastVote(v) => {
                    let m = SignedMessage::Vote(v.clone());
                    self.check.signed(key, &m)?;
                    self.check.sent_own(&self.nodes[i].persisted, &m)?;
                    self.log_sent(i, m);
                    if self.nodes[i].byz == Some(Byzantine::Spam) {
                        byz::spam(self, i, &v);
                    }
                    self.broadcast(i, Msg::Vote(v));
                }
                Effect::ScheduleTimeout(t, ms) => {
                    let inc = self.nodes[i].inc;
                    self.push(self.now + ms, Ev::Timeout { node: i, inc, t });
                }
                Effect::Decide(block, cert) => {
                    let valid = self.nodes[i].app.valid(&block);
                    let hash = block.hash();
                    self.check.decided(i, &block, hash, &cert, valid)?;
                    self.stats.max_decided_round = self.stats.max_decided_round.max(cert.round);
                    self.trace = mix(self.trace, hash.0[0] as u64 ^ (i as u64) << 8);
                    self.nodes[i].app.commit(&block, &cert);
                    let inc = self.nodes[i].inc;
                    let at = self.now + self.sc.commit_delay_ms;
                    self.push(at, Ev::StartNext { node: i, inc });
                    self.maybe_prune();
                }
                Effect::Evidence(e) => {
                    self.check.evidence(i, &e)?;
                    if self.nodes[i].byz.is_none() {
                        let key = self.nodes[i].key.clone();
                        self.nodes[i].app.report_evidence(&e, &key);
                    }
                }
            }
        }
        Ok(())
    }

    fn log_sent(&mut self, i: usize, m: SignedMessage) {
        if let Some(log) = self.sent.as_mut() {
            log.push((self.now, i, m));
        }
    }

    fn maybe_prune(&mut self) {
        let low = self
            .nodes
            .iter()
            .filter(|n| n.byz != Some(Byzantine::Silent))
            .map(|n| n.app.height())
            .min()
            .unwrap_or(0);
        if low >= self.pruned_to + PRUNE_EVERY {
            self.pruned_to = low;
            self.check.prune_below(low.saturating_sub(1));
        }
    }

    /// Feeds an input to node `i`'s core and performs the effects.
    pub fn feed(&mut self, i: usize, input: Input) -> Result<(), Violation> {
        let now = self.local_now(i);
        let n = &mut self.nodes[i];
        let Some(core) = n.core.as_mut() else {
            return Ok(());
        };
        let (fx, _) = core.handle(input, now, n.app.as_mut());
        self.perform(i, fx)
    }

    /// Delivers a block-sync reply from node `from` to node `i` now, as the tick's sync
    /// would (for scenarios that pick the blocks themselves).
    pub fn deliver_sync(
        &mut self,
        i: usize,
        from: usize,
        blocks: Vec<(Block, CommitCertificate)>,
    ) -> Result<(), Violation> {
        self.sync_reply(i, from, blocks)
    }

    fn up(&self, i: usize, inc: u32) -> bool {
        let n = &self.nodes[i];
        n.core.is_some() && n.inc == inc
    }

    /// Applies a fault now.
    pub fn fault(&mut self, f: Fault) -> Result<(), Violation> {
        match f {
            Fault::Partition(g) => self.partition = Some(g),
            Fault::Heal => self.partition = None,
            Fault::Crash { node, lose_last } => self.crash(node, lose_last),
            Fault::CrashAfterPersist { node } => self.nodes[node].crash_after_persist = true,
            Fault::Restart { node } => {
                let silent = self.nodes[node].byz == Some(Byzantine::Silent);
                if self.nodes[node].core.is_none() && !silent {
                    self.boot(node)?;
                }
            }
            Fault::DropProposals(on) => self.drop_proposals = on,
        }
        Ok(())
    }

    /// GST: partitions heal, crashed nodes restart, loss stops, delays become bounded.
    fn gst(&mut self) -> Result<(), Violation> {
        self.stable = true;
        self.partition = None;
        self.drop_proposals = false;
        for i in 0..self.nodes.len() {
            self.nodes[i].crash_after_persist = false;
            let silent = self.nodes[i].byz == Some(Byzantine::Silent);
            if self.nodes[i].core.is_none() && !silent {
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
        let tag = match &ev {
            Ev::Deliver { to, msg } => mix(1 ^ (*to as u64) << 8, msg_digest(msg)),
            Ev::Timeout { node, t, .. } => {
                mix(2 ^ (*node as u64) << 8, t.height ^ (t.round as u64) << 40)
            }
            Ev::Tick { node, .. } => 3 ^ (*node as u64) << 8,
            Ev::StartNext { node, .. } => 4 ^ (*node as u64) << 8,
            Ev::SyncReply { node, blocks, .. } => {
                5 ^ (*node as u64) << 8 ^ (blocks.len() as u64) << 16
            }
            Ev::Fault(_) => 6,
            Ev::Gst => 7,
        };
        self.trace = mix(mix(self.trace, at), tag);
        match ev {
            Ev::Deliver { to, msg } => {
                if self.nodes[to].core.is_none() {
                    self.stats.dropped += 1;
                } else {
                    self.stats.delivered += 1;
                    self.feed(to, msg.input())?;
                }
            }
            Ev::Timeout { node, inc, t } => {
                if self.up(node, inc) {
                    self.stats.timeouts += 1;
                    self.feed(node, Input::Timeout(t))?;
                }
            }
            Ev::Tick { node, inc } => {
                if self.up(node, inc) {
                    self.tick(node)?;
                    self.push(self.now + TICK_MS, Ev::Tick { node, inc });
                }
            }
            Ev::StartNext { node, inc } => {
                if self.up(node, inc) {
                    self.start_next(node)?;
                }
            }
            Ev::SyncReply {
                node,
                inc,
                from,
                blocks,
            } => {
                if self.up(node, inc) {
                    self.sync_reply(node, from, blocks)?;
                }
            }
            Ev::Fault(f) => self.fault(f)?,
            Ev::Gst => self.gst()?,
        }
        Ok(true)
    }

    /// The committed height of every node running an honest key.
    pub fn honest_heights(&self) -> Vec<u64> {
        (0..self.nodes.len())
            .filter(|i| self.sc.honest(*i))
            .map(|i| self.nodes[i].app.height())
            .collect()
    }

    /// Steps until `done` holds or simulated time passes `until` (ms); returns whether
    /// `done` held.
    pub fn run_until(
        &mut self,
        until: u64,
        mut done: impl FnMut(&World) -> bool,
    ) -> Result<bool, Violation> {
        while !done(self) {
            if self.now > until || !self.step()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Draws from the run's random stream (for Byzantine behaviours).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}
