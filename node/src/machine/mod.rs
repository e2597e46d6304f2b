//! The node as one sans-IO state machine (malachite's and quinn-proto's shape): the
//! consensus core, the application and everything around them that decides what a node says
//! and does, with no sockets, timers, threads or files of its own.
//!
//! [`NodeMachine::handle`] takes an [`Event`] — gossip, a request or a response from a
//! peer, an expired timeout, a tick, the scheduled start of a height, transactions that
//! arrived — with the time it happened, and returns the [`Action`]s to perform, in order:
//! persist the signing state (durably, before anything after it is sent), log, publish,
//! request, reply, schedule. A shell performs them: `crate::shell` with tokio, libp2p,
//! fsync and timers in production.
//!
//! Its rooms, each one job: [`admission`] (stateless checks and the mempool, for gossip,
//! clients and evidence), [`sync`] (block sync and the bans of lying peers),
//! [`proposals`] (proposals gossiped as transaction ids, rebuilt or fetched), [`resend`]
//! (vote re-sends of a height that does not decide), [`private`] (replication of granted
//! private values) and [`keys`] (where a fresh signing key may start signing).
//!
//! The ledger's store (sled) is written synchronously inside the machine, and its commit
//! waits for the previous height's fsync before the next height starts
//! (`App::wait_durable`); the rest of its I/O is the shell's.

pub mod admission;
mod commit;
mod draws;
mod events;
mod keys;
mod private;
mod proposals;
mod resend;
mod sync;

pub use admission::{admit, Admitted, GOSSIP_BATCH_SLACK};
pub use events::{Action, Event, NodeStatus, Purpose};
pub use proposals::proposal_gossip;
pub use sync::SYNC_BAN_MS;

use crate::app::App;
use crate::config::NodeLimits;
use crate::consensus::{Consensus, Input, PrivState};
use crate::mempool::Mempool;
use crate::store::Store;
use crate::wire::{Gossip, SyncRequest, SyncResponse, MAX_PUSH_VOTES};
use safeledger_core::encoding::from_canonical;
use safeledger_core::{Genesis, PublicKey, SecretKey, Timestamp};
use safeledger_network::PeerInfo;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// How long to wait before proposing when the mempool is empty (idle networks make about
/// one empty block per interval), ms. Shorter than the propose timeout, so idle heights do
/// not change rounds.
pub const IDLE_BLOCK_INTERVAL_MS: u64 = 1_000;
/// A height with no decision for this long gets its messages re-sent to peers, ms.
pub const RESEND_AFTER_MS: u64 = 1_500;
/// How often the machine wants [`Event::Tick`] (status polls, sync, re-sends, private
/// fetches), ms: the shell's timer and the simulators' ticks.
pub const TICK_MS: u64 = 500;

/// What the machine shares with the node's API (gRPC): the node's identity and the
/// handles of its stores. No I/O handle of the shell is here.
pub struct Context {
    /// Genesis.
    pub genesis: Genesis,
    /// This node's agency.
    pub agency: String,
    /// The node key's public half.
    pub node_key: PublicKey,
    /// Held while a transaction signed with the node key takes its sequence and enters
    /// the mempool (validator evidence, draw beacon steps, tip intakes from the API), so
    /// that two never take the same sequence.
    pub own_tx_lock: std::sync::Mutex<()>,
    /// The store (reads only outside the machine).
    pub store: Store,
    /// The mempool.
    pub mempool: Arc<Mutex<Mempool>>,
    /// The officer registry (genesis and on-chain), for admission.
    pub registry: safeledger_contracts::Registry,
    /// Private field values this node holds (its agency's, and those granted to it).
    pub private: crate::private_store::PrivateStore,
    /// Prometheus metrics.
    pub metrics: Arc<crate::ops::Metrics>,
    /// Largest gossip message, bytes (admitted transactions are batched under it).
    pub max_gossip_bytes: usize,
    /// State snapshots this node takes and serves (state sync).
    pub snapshots: crate::snapshot::Snapshots,
}

/// The node's machine. See the module documentation.
pub struct NodeMachine {
    ctx: Arc<Context>,
    node_key: SecretKey,
    core: Consensus,
    app: App,
    sync: sync::BlockSync,
    proposals: proposals::Fetches,
    private: private::Replication,
    keys: keys::KeySettling,
    /// Double-signs this process already reported (offender, (height, round, step)).
    reported: BTreeSet<(PublicKey, (u64, u32, u8))>,
    /// Node keys the network admits (genesis validators, then governance changes).
    admitted: BTreeSet<PublicKey>,
    /// When the current height started (commit latency, re-sends).
    height_started: Timestamp,
    /// When the next height is due to start, if scheduled.
    next_height_at: Option<Timestamp>,
    /// Peers cut off by the test-only partition filter (from the last tick).
    cut: BTreeSet<PublicKey>,
    /// Draw beacon steps sent and the height they were sent at ([`draws`]).
    draw_sent: draws::Sent,
}

impl NodeMachine {
    /// A machine over `ledger` signing with `node_key` and the persisted signing state
    /// `guard`; `fresh_key`: no signing state was stored (a new validator, or a wiped data
    /// directory with a kept key), so it signs nothing until peers told it their heights
    /// ([`keys`]). Call [`Event::Start`] first.
    pub fn new(
        ctx: Arc<Context>,
        node_key: SecretKey,
        app: App,
        mut guard: PrivState,
        fresh_key: bool,
        limits: NodeLimits,
        now: Timestamp,
    ) -> NodeMachine {
        if fresh_key {
            guard.min_sign_height = u64::MAX;
        }
        let core = Consensus::new(
            &app.genesis.chain_id,
            node_key.clone(),
            app.genesis.consensus.clone(),
            app.tip.validators.clone(),
            app.tip.height + 1,
            guard,
        );
        NodeMachine {
            ctx,
            node_key,
            core,
            app,
            sync: sync::BlockSync::new(limits),
            proposals: proposals::Fetches::default(),
            private: private::Replication::default(),
            keys: keys::KeySettling::new(fresh_key),
            reported: BTreeSet::new(),
            admitted: BTreeSet::new(),
            height_started: now,
            next_height_at: None,
            cut: BTreeSet::new(),
            draw_sent: draws::Sent::new(),
        }
    }

    /// The height the consensus core is at (the one whose log [`Event::Start`] replays).
    pub fn height(&self) -> u64 {
        self.core.height()
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.core.round()
    }

    /// What the machine shares with the API (store, mempool, registry, metrics).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The application: committed chain, state and execution.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The application, mutably (the shell waits for its last fsync when stopping).
    pub fn app_mut(&mut self) -> &mut App {
        &mut self.app
    }

    /// Handles `event` at `now`; returns what to do, in order.
    ///
    /// # Errors
    /// Only failures that must stop the node: a commit the store could not write, a height
    /// that could not be made durable. Anything a peer sends is judged, never an error.
    pub fn handle(&mut self, now: Timestamp, event: Event) -> anyhow::Result<Vec<Action>> {
        let mut out = Vec::new();
        match event {
            Event::Start { logged } => self.start(now, logged, &mut out)?,
            Event::Gossip { source, data } => self.on_gossip(now, source, &data, &mut out)?,
            Event::Request { peer, data } => {
                let reply = self.on_request(now, peer, &data, &mut out)?;
                out.push(Action::Reply(reply));
            }
            Event::Response {
                peer,
                purpose,
                response,
            } => self.on_response(now, peer, purpose, response, &mut out)?,
            Event::Timeout(t) => {
                let (fx, _) = self.core.handle(Input::Timeout(t), now, &mut self.app);
                self.perform(now, fx, &mut out)?;
            }
            Event::Tick { cut } => {
                self.cut = cut;
                self.on_tick(now, &mut out);
            }
            Event::HeightDue => {
                self.next_height_at = None;
                self.start_next_height(now, &mut out)?;
            }
            Event::TxsArrived => self.on_txs_arrived(now, &mut out),
        }
        self.ctx.metrics.round.set(self.core.round() as i64);
        Ok(out)
    }

    fn start(
        &mut self,
        now: Timestamp,
        logged: Vec<Gossip>,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        self.admitted = self
            .app
            .genesis
            .agencies
            .iter()
            .filter(|a| a.power > 0)
            .map(|a| a.node_key)
            .collect();
        self.admit_new_validators(out);
        self.resume_private_fetches();
        let height = self.core.height();
        let vals = self.core.validators().clone();
        out.push(Action::LogHeight(height));
        let fx = self.core.start_height(height, vals, now, &mut self.app);
        self.perform(now, fx, out)?;
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
            let (fx, _) = self.core.handle(input, now, &mut self.app);
            self.perform(now, fx, out)?;
        }
        self.publish_status(out);
        Ok(())
    }

    fn on_gossip(
        &mut self,
        now: Timestamp,
        source: PublicKey,
        data: &[u8],
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        if self.cut.contains(&source) {
            return Ok(());
        }
        let msg: Gossip = match from_canonical(data) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(%source, error = %e, "undecodable gossip dropped");
                self.ctx.metrics.consensus_ignored.inc();
                return Ok(());
            }
        };
        match msg {
            Gossip::Txs(txs) => {
                let admitted = admit(&self.ctx, txs, false);
                if admitted.any_new {
                    self.on_txs_arrived(now, out);
                }
            }
            Gossip::Proposal(p, b) => self.feed(now, Input::Proposal(p, b), out)?,
            Gossip::Vote(v) => self.feed(now, Input::Vote(v), out)?,
            Gossip::ProposalRef(p) => self.fetch_proposal(source, p, out),
            Gossip::ProposalTxIds(p, header, ids) => {
                self.rebuild_proposal(now, source, p, *header, ids, out)?
            }
        }
        Ok(())
    }

    /// Transactions admitted while the node waits to propose: propose after the commit
    /// timeout.
    fn on_txs_arrived(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let soon = now.0 + self.app.genesis.consensus.timeout_commit_ms;
        if self.next_height_at.is_some_and(|w| w.0 > soon) {
            self.schedule_height(now, Timestamp(soon), out);
        }
    }

    fn on_request(
        &mut self,
        now: Timestamp,
        peer: PublicKey,
        data: &[u8],
        out: &mut Vec<Action>,
    ) -> anyhow::Result<SyncResponse> {
        if self.cut.contains(&peer) {
            return Ok(SyncResponse::Error("partitioned".into()));
        }
        Ok(match from_canonical::<SyncRequest>(data) {
            Err(e) => SyncResponse::Error(format!("undecodable request: {e}")),
            Ok(SyncRequest::Status) => SyncResponse::Status {
                height: self.app.tip.height,
                block_hash: self.app.tip.block_hash,
            },
            Ok(SyncRequest::Blocks { from, max }) => self.sync.serve(&self.app, from, max),
            Ok(SyncRequest::Private { record }) => self.serve_private(peer, record),
            Ok(SyncRequest::Snapshots) => {
                SyncResponse::Snapshots(self.ctx.snapshots.list(self.app.tip.height))
            }
            Ok(SyncRequest::SnapshotOffer { height }) => {
                match self.ctx.snapshots.offer(&self.ctx.store, height) {
                    Ok(o) => SyncResponse::SnapshotOffer(Box::new(o)),
                    Err(e) => SyncResponse::Error(e),
                }
            }
            Ok(SyncRequest::SnapshotChunk { height, index }) => {
                match self.ctx.snapshots.chunk(height, index) {
                    Ok(pairs) => SyncResponse::SnapshotChunk(pairs),
                    Err(e) => SyncResponse::Error(e),
                }
            }
            Ok(SyncRequest::Proposal { height, round }) => {
                match self.core.proposal_with_block(height, round) {
                    Some((p, b)) => SyncResponse::Proposal(p, Box::new(b)),
                    None => SyncResponse::Error("no such proposal here".into()),
                }
            }
            Ok(SyncRequest::Push { proposals, votes }) => {
                for (p, b) in proposals.into_iter().take(16) {
                    self.feed(now, Input::Proposal(p, Box::new(b)), out)?;
                }
                for v in votes.into_iter().take(MAX_PUSH_VOTES) {
                    self.feed(now, Input::Vote(v), out)?;
                }
                SyncResponse::Ack
            }
        })
    }

    fn on_response(
        &mut self,
        now: Timestamp,
        peer: PublicKey,
        purpose: Purpose,
        response: Option<SyncResponse>,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        match (purpose, response) {
            (Purpose::Status, Some(SyncResponse::Status { height, .. })) => {
                if self.keys.report(peer, height) {
                    self.settle_fresh_key(now, out)?;
                }
                self.sync.note_status(peer, height);
            }
            (Purpose::Status, _) => {
                tracing::trace!(peer = %peer.to_hex()[..8].to_string(), "status request failed");
            }
            (Purpose::Blocks, Some(SyncResponse::Blocks(blocks))) => {
                self.apply_synced(now, peer, blocks, out)?
            }
            (Purpose::Blocks, _) => {
                self.sync.done();
                self.ban(now, peer, "block request failed or timed out");
            }
            (Purpose::Proposal { .. }, Some(SyncResponse::Proposal(p, b))) => {
                self.ctx.metrics.proposal_fetches.inc();
                self.feed(now, Input::Proposal(p, b), out)?;
            }
            (
                Purpose::Proposal {
                    height,
                    round,
                    rest,
                },
                _,
            ) => self.ask_next_for_proposal(height, round, rest, out),
            (Purpose::Private { owner, record }, Some(SyncResponse::Private(values))) => {
                self.keep_private(owner, record, values)
            }
            (Purpose::Private { owner, record }, Some(SyncResponse::PrivateErased(fields))) => {
                tracing::warn!(%record, %owner, ?fields, "the recording agency erased the granted private fields: they cannot be fetched and are not asked for again");
                self.private.forget(&owner, &record);
            }
            (Purpose::Private { .. }, _) | (Purpose::Push, _) => {}
        }
        Ok(())
    }

    /// Feeds a proposal or vote to the core, logging it when it is for the current height
    /// and was taken.
    fn feed(&mut self, now: Timestamp, input: Input, out: &mut Vec<Action>) -> anyhow::Result<()> {
        let h = match &input {
            Input::Proposal(p, _) => p.height,
            Input::Vote(v) => v.height,
            Input::Timeout(_) => 0,
        };
        if h > self.app.tip.height + 1 {
            let chain = &self.app.genesis.chain_id;
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
        let (fx, r) = self.core.handle(input, now, &mut self.app);
        match r {
            Ok(()) => {
                if let Some(Some(m)) = logged {
                    out.push(Action::Log(m));
                }
            }
            Err(e) => {
                self.ctx.metrics.consensus_ignored.inc();
                tracing::trace!(error = %e, "consensus message ignored");
            }
        }
        self.perform(now, fx, out)
    }

    /// Notes that `signer` sent a validly signed message of height `h`, beyond the next:
    /// it committed at least `h - 1`. Believed only from a validly signed message (the
    /// caller verifies; `None` when it did not verify), and recorded for its signer (not
    /// whoever relayed it), so a forged far-future message cannot steer block sync.
    fn note_ahead(&mut self, h: u64, signer: Option<PublicKey>) {
        if let Some(signer) = signer.filter(|k| *k != self.ctx.node_key) {
            self.sync.note_ahead(signer, h.saturating_sub(1));
        }
    }

    /// Admits to the network the validators of the next two heights that it does not know
    /// yet (a new agency's node or a rotated key, passed by governance), at their agency's
    /// address in the registry: the genesis one, or the one the proposal that added the
    /// agency carried (issue 22 item 8).
    fn admit_new_validators(&mut self, out: &mut Vec<Action>) {
        let tip = &self.app.tip;
        let keys: Vec<(PublicKey, String)> = tip
            .validators
            .validators
            .iter()
            .chain(&tip.next_validators.validators)
            .filter(|v| v.key != self.ctx.node_key && !self.admitted.contains(&v.key))
            .map(|v| (v.key, v.agency.clone()))
            .collect();
        if keys.is_empty() {
            return;
        }
        let agencies = self
            .ctx
            .registry
            .agencies(&crate::app::StoreView(&self.app.store));
        for (key, agency) in keys {
            self.admitted.insert(key);
            match agencies.get(&agency).map(|a| a.p2p_addr.clone()) {
                Some(addr) if !addr.is_empty() => {
                    tracing::info!(%agency, %addr, "validator admitted to the network");
                    out.push(Action::AddPeer(PeerInfo { key, addr }))
                }
                _ => {
                    tracing::warn!(%agency, "a validator of an agency with no address is not reachable")
                }
            }
        }
    }

    /// Peers we may talk to now: validators but us, not cut by the partition filter.
    fn live_peers(&self) -> Vec<PublicKey> {
        self.app
            .tip
            .validators
            .validators
            .iter()
            .map(|v| v.key)
            .filter(|k| *k != self.ctx.node_key && !self.cut.contains(k))
            .collect()
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        self.fetch_private(out);
        let peers = self.live_peers();
        self.sync
            .tick(now, self.app.tip.height, &peers, &self.cut, out);
        if !self.core.decided() && now.0.saturating_sub(self.height_started.0) > RESEND_AFTER_MS {
            resend::push(&self.core, &peers, out);
        }
    }
}
