//! The Tendermint consensus core as a sans-IO state machine.
//!
//! Implements Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT
//! consensus" (arXiv:1807.04938), as restated line by line in `shared/TENDERMINT.md`.
//! Inputs are proposals, votes and timeouts ([`Input`]); outputs are [`Effect`]s the driver
//! performs in order: persist what was signed (before anything is sent), broadcast,
//! schedule a timeout, decide. The core never touches a socket, a clock or a disk: the
//! current time comes in with each call, and block building and validity come from the
//! [`BlockSource`] the driver passes in.
//!
//! Invariants (asserted): a height decides at most once; a vote is signed only through the
//! [`PrivState`] guard, which never signs two different messages for one
//! (height, round, step) and re-sends the identical message instead.

mod guard;
#[cfg(test)]
mod tests;

pub use guard::{PrivState, SignedMessage};

use safeledger_core::block::CommitCertificate;
use safeledger_core::genesis::{ConsensusParams, ValidatorSet};
use safeledger_core::{Block, Hash, Proposal, PublicKey, SecretKey, Timestamp, Vote, VoteType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most rounds ahead of the current one for which votes are kept (bounds memory; rule 8
/// only needs them to exist for some round ahead).
pub const MAX_ROUNDS_AHEAD: u32 = 16;
/// Most messages of the next height kept until that height starts.
pub const MAX_NEXT_HEIGHT_BUFFER: usize = 1_024;

/// A step of a round (Algorithm 1, `step_p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for prevotes.
    Prevote,
    /// Precommitted; waiting for precommits.
    Precommit,
}

/// A timeout the core asked for, fed back by the driver when it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timeout {
    /// Height it was scheduled at.
    pub height: u64,
    /// Round it was scheduled in.
    pub round: u32,
    /// `Propose` → OnTimeoutPropose, `Prevote` → OnTimeoutPrevote, `Precommit` →
    /// OnTimeoutPrecommit (Algorithm 1, lines 57–67).
    pub step: Step,
}

/// What the core reacts to.
#[derive(Clone, Debug)]
pub enum Input {
    /// A proposal with its block.
    Proposal(Proposal, Box<Block>),
    /// A prevote or precommit.
    Vote(Vote),
    /// An expired timeout.
    Timeout(Timeout),
}

/// What the driver must do, in order.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Make this state durable (fsync) before performing any later effect.
    Persist(PrivState),
    /// Send a proposal and its block to every validator.
    BroadcastProposal(Proposal, Block),
    /// Send a vote to every validator.
    BroadcastVote(Vote),
    /// Feed `Input::Timeout(t)` back after this many milliseconds.
    ScheduleTimeout(Timeout, u64),
    /// The block is decided (rule 7) with this commit certificate. The driver commits it,
    /// then calls [`Consensus::start_height`] for the next height.
    Decide(Block, CommitCertificate),
}

/// Building and judging blocks: supplied by the driver.
pub trait BlockSource {
    /// A fresh block for (height, round) proposed by this node at `now`.
    fn build_block(&mut self, height: u64, round: u32, now: Timestamp) -> Block;
    /// `valid(v)` of Algorithm 1: deterministic, no clock (TENDERMINT.md "Validity").
    fn validate(&mut self, block: &Block) -> bool;
}

/// Why an input was ignored (for logs and metrics; never an error for the node).
#[derive(Debug, PartialEq, Eq, Clone, thiserror::Error)]
pub enum Rejected {
    /// Not for this height (older, or more than one ahead).
    #[error("message for height {0} (at {1})")]
    WrongHeight(u64, u64),
    /// Round more than [`MAX_ROUNDS_AHEAD`] ahead.
    #[error("round {0} too far ahead of {1}")]
    RoundTooFar(u32, u32),
    /// Signer is not a validator of the height.
    #[error("{0} is not a validator")]
    NotValidator(PublicKey),
    /// Signature does not verify.
    #[error("bad signature from {0}")]
    BadSignature(PublicKey),
    /// A proposal not from the round's proposer.
    #[error("proposal from {got}, expected proposer {want}")]
    WrongProposer {
        /// Who sent it.
        got: PublicKey,
        /// The round's proposer.
        want: PublicKey,
    },
    /// The block does not hash to the proposal's block hash.
    #[error("block does not match the proposal's hash")]
    BlockMismatch,
    /// Already have a message from this validator for this slot.
    #[error("duplicate")]
    Duplicate,
    /// Next-height buffer full.
    #[error("next-height buffer full")]
    BufferFull,
}

/// Upon rules that fire once per round ("the first time").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Once {
    PrevoteTimeout,
    PrevoteQuorumValue,
    PrecommitTimeout,
}

/// The consensus state of one validator (Algorithm 1, "State of validator p").
pub struct Consensus {
    chain_id: String,
    key: SecretKey,
    me: PublicKey,
    params: ConsensusParams,
    vals: ValidatorSet,
    height: u64,
    round: u32,
    step: Step,
    locked: Option<(Hash, u32)>,
    valid: Option<(Hash, u32)>,
    decided: bool,
    proposals: BTreeMap<u32, Proposal>,
    blocks: BTreeMap<Hash, Block>,
    validity: BTreeMap<Hash, bool>,
    votes: BTreeMap<(u32, VoteType), BTreeMap<PublicKey, Vote>>,
    fired: BTreeSet<(Once, u32)>,
    next_height: Vec<Input>,
    guard: PrivState,
    started: bool,
}

impl Consensus {
    /// A core for validator `key` at `height` (not started: call [`Consensus::start_height`]).
    /// `guard` is the persisted [`PrivState`] (default when none was stored).
    pub fn new(
        chain_id: &str,
        key: SecretKey,
        params: ConsensusParams,
        vals: ValidatorSet,
        height: u64,
        guard: PrivState,
    ) -> Consensus {
        let me = key.public();
        Consensus {
            chain_id: chain_id.to_string(),
            key,
            me,
            params,
            vals,
            height,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            decided: true,
            proposals: BTreeMap::new(),
            blocks: BTreeMap::new(),
            validity: BTreeMap::new(),
            votes: BTreeMap::new(),
            fired: BTreeSet::new(),
            next_height: Vec::new(),
            guard,
            started: false,
        }
    }

    /// Current height.
    pub fn height(&self) -> u64 {
        self.height
    }
    /// Current round.
    pub fn round(&self) -> u32 {
        self.round
    }
    /// Current step.
    pub fn step(&self) -> Step {
        self.step
    }
    /// True once the current height decided (until the next `start_height`).
    pub fn decided(&self) -> bool {
        self.decided
    }
    /// The validator set of the current height.
    pub fn validators(&self) -> &ValidatorSet {
        &self.vals
    }
    /// The persisted signing state.
    pub fn priv_state(&self) -> &PrivState {
        &self.guard
    }

    /// Starts `height` with validator set `vals` (Algorithm 1 StartRound(0) after a
    /// decision): resets lock and valid value, drops the old height's messages, and replays
    /// buffered messages of this height. After a restart within a height, resumes at the
    /// round of the last signed message and restores the persisted lock.
    pub fn start_height(
        &mut self,
        height: u64,
        vals: ValidatorSet,
        now: Timestamp,
        app: &mut dyn BlockSource,
    ) -> Vec<Effect> {
        self.height = height;
        self.vals = vals;
        self.locked = self.guard.lock_at(height);
        self.valid = None;
        self.decided = false;
        self.started = true;
        self.proposals.clear();
        self.blocks.clear();
        self.validity.clear();
        self.votes.clear();
        self.fired.clear();
        let resume_round = self.guard.round_at(height).unwrap_or(0);
        let mut fx = Vec::new();
        self.start_round(resume_round, now, app, &mut fx);
        let buffered = std::mem::take(&mut self.next_height);
        for input in buffered {
            let same = match &input {
                Input::Proposal(p, _) => p.height == height,
                Input::Vote(v) => v.height == height,
                Input::Timeout(_) => false,
            };
            if same {
                let _ = self.accept(input);
            }
        }
        self.process(now, app, &mut fx);
        fx
    }

    /// Handles one input; returns the effects to perform in order. Messages for other
    /// heights, from non-validators or with bad signatures are ignored (see [`Rejected`]).
    pub fn handle(
        &mut self,
        input: Input,
        now: Timestamp,
        app: &mut dyn BlockSource,
    ) -> (Vec<Effect>, Result<(), Rejected>) {
        let mut fx = Vec::new();
        if let Input::Timeout(t) = input {
            self.on_timeout(t, now, app, &mut fx);
            self.process(now, app, &mut fx);
            return (fx, Ok(()));
        }
        let r = self.accept(input);
        if r.is_ok() && !self.decided {
            self.process(now, app, &mut fx);
        }
        (fx, r)
    }

    /// The messages a peer that missed them would need: the proposals and all votes held
    /// for the current and previous round of this height (re-sent over request-response,
    /// since gossipsub suppresses repeats; TENDERMINT.md "Message ids and re-sends").
    pub fn resend_set(&self) -> (Vec<(Proposal, Block)>, Vec<Vote>) {
        let lo = self.round.saturating_sub(1);
        let props = self
            .proposals
            .range(lo..)
            .filter_map(|(_, p)| {
                self.blocks
                    .get(&p.block_hash)
                    .map(|b| (p.clone(), b.clone()))
            })
            .collect();
        let votes = self
            .votes
            .iter()
            .filter(|((r, _), _)| *r >= lo)
            .flat_map(|(_, m)| m.values().cloned())
            .collect();
        (props, votes)
    }

    // ---- message intake -------------------------------------------------------------

    fn accept(&mut self, input: Input) -> Result<(), Rejected> {
        let (height, round) = match &input {
            Input::Proposal(p, _) => (p.height, p.round),
            Input::Vote(v) => (v.height, v.round),
            Input::Timeout(_) => return Ok(()),
        };
        if height == self.height + 1 || (!self.started && height == self.height) {
            if self.next_height.len() >= MAX_NEXT_HEIGHT_BUFFER {
                return Err(Rejected::BufferFull);
            }
            self.next_height.push(input);
            return Ok(());
        }
        if height != self.height || self.decided {
            return Err(Rejected::WrongHeight(height, self.height));
        }
        if round > self.round.saturating_add(MAX_ROUNDS_AHEAD) {
            return Err(Rejected::RoundTooFar(round, self.round));
        }
        match input {
            Input::Proposal(p, block) => self.accept_proposal(p, block),
            Input::Vote(v) => self.accept_vote(v),
            Input::Timeout(_) => Ok(()),
        }
    }

    fn accept_proposal(&mut self, p: Proposal, block: Box<Block>) -> Result<(), Rejected> {
        let want = self.vals.proposer(p.height, p.round).key;
        if p.proposer != want {
            return Err(Rejected::WrongProposer {
                got: p.proposer,
                want,
            });
        }
        if self.proposals.contains_key(&p.round) {
            return Err(Rejected::Duplicate);
        }
        if block.hash() != p.block_hash {
            return Err(Rejected::BlockMismatch);
        }
        p.verify(&self.chain_id)
            .map_err(|_| Rejected::BadSignature(p.proposer))?;
        self.blocks.insert(p.block_hash, *block);
        self.proposals.insert(p.round, p);
        Ok(())
    }

    fn accept_vote(&mut self, v: Vote) -> Result<(), Rejected> {
        if self.vals.power_of(&v.validator) == 0 {
            return Err(Rejected::NotValidator(v.validator));
        }
        let slot = self.votes.entry((v.round, v.vote_type)).or_default();
        if slot.contains_key(&v.validator) {
            return Err(Rejected::Duplicate);
        }
        v.verify(&self.chain_id)
            .map_err(|_| Rejected::BadSignature(v.validator))?;
        slot.insert(v.validator, v);
        Ok(())
    }

    // ---- helpers ---------------------------------------------------------------------

    fn power_for(&self, round: u32, t: VoteType, value: Option<Hash>) -> u64 {
        self.votes
            .get(&(round, t))
            .map(|m| {
                m.values()
                    .filter(|v| v.value == value)
                    .map(|v| self.vals.power_of(&v.validator))
                    .sum()
            })
            .unwrap_or(0)
    }

    fn power_any(&self, round: u32, t: VoteType) -> u64 {
        self.votes
            .get(&(round, t))
            .map(|m| m.keys().map(|k| self.vals.power_of(k)).sum())
            .unwrap_or(0)
    }

    fn is_valid(&mut self, hash: Hash, app: &mut dyn BlockSource) -> bool {
        if let Some(v) = self.validity.get(&hash) {
            return *v;
        }
        let ok = match self.blocks.get(&hash) {
            Some(b) => app.validate(b),
            None => return false,
        };
        self.validity.insert(hash, ok);
        ok
    }

    fn timely(&self, hash: &Hash, now: Timestamp) -> bool {
        let Some(b) = self.blocks.get(hash) else {
            return false;
        };
        let t = b.header.time.0;
        let drift = self.params.max_clock_drift_ms;
        t <= now.0.saturating_add(drift) && t.saturating_add(drift) >= now.0
    }

    fn timeout_ms(&self, step: Step) -> u64 {
        let r = self.round as u64;
        let p = &self.params;
        match step {
            Step::Propose => p.timeout_propose_ms + r * p.timeout_propose_delta_ms,
            Step::Prevote => p.timeout_prevote_ms + r * p.timeout_prevote_delta_ms,
            Step::Precommit => p.timeout_precommit_ms + r * p.timeout_precommit_delta_ms,
        }
    }

    fn schedule(&self, step: Step, fx: &mut Vec<Effect>) {
        let t = Timeout {
            height: self.height,
            round: self.round,
            step,
        };
        fx.push(Effect::ScheduleTimeout(t, self.timeout_ms(step)));
    }

    /// Signs (through the guard) and records our own vote, and emits persist + broadcast.
    /// Returns the value actually voted (which after a restart may be the stored one).
    fn vote(&mut self, t: VoteType, value: Option<Hash>, fx: &mut Vec<Effect>) -> Option<Hash> {
        if self.vals.power_of(&self.me) == 0 {
            return value;
        }
        let lock = match (t, value) {
            (VoteType::Precommit, Some(v)) => Some((v, self.round)),
            _ => self.locked,
        };
        let (vote, fresh) = self.guard.sign_vote(
            &self.chain_id,
            &self.key,
            self.height,
            self.round,
            t,
            value,
            lock,
        );
        let voted = vote.as_ref().map(|v| v.value).unwrap_or(value);
        if let Some(v) = vote {
            if fresh {
                fx.push(Effect::Persist(self.guard.clone()));
            }
            self.votes
                .entry((v.round, v.vote_type))
                .or_default()
                .entry(v.validator)
                .or_insert_with(|| v.clone());
            fx.push(Effect::BroadcastVote(v));
        }
        voted
    }

    // ---- Algorithm 1 -------------------------------------------------------------------

    /// StartRound (lines 11–21).
    fn start_round(
        &mut self,
        round: u32,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) {
        self.round = round;
        self.step = Step::Propose;
        if self.vals.proposer(self.height, round).key == self.me {
            let (block, valid_round) = match self
                .valid
                .and_then(|(v, vr)| self.blocks.get(&v).map(|b| (b.clone(), Some(vr))))
            {
                Some(x) => x,
                None => (app.build_block(self.height, round, now), None),
            };
            let hash = block.hash();
            if let Some((p, fresh)) = self.guard.sign_proposal(
                &self.chain_id,
                &self.key,
                self.height,
                round,
                valid_round,
                hash,
            ) {
                if fresh {
                    fx.push(Effect::Persist(self.guard.clone()));
                }
                if p.block_hash == hash {
                    self.blocks.insert(hash, block.clone());
                    self.proposals.insert(round, p.clone());
                    fx.push(Effect::BroadcastProposal(p, block));
                } else if let Some(b) = self.blocks.get(&p.block_hash).cloned() {
                    self.proposals.insert(round, p.clone());
                    fx.push(Effect::BroadcastProposal(p, b));
                }
            }
        } else {
            self.schedule(Step::Propose, fx);
        }
    }

    fn on_timeout(
        &mut self,
        t: Timeout,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) {
        if self.decided || t.height != self.height || t.round != self.round {
            return;
        }
        match t.step {
            // OnTimeoutPropose (57–60).
            Step::Propose if self.step == Step::Propose => {
                self.vote(VoteType::Prevote, None, fx);
                self.step = Step::Prevote;
            }
            // OnTimeoutPrevote (61–64).
            Step::Prevote if self.step == Step::Prevote => {
                self.vote(VoteType::Precommit, None, fx);
                self.step = Step::Precommit;
            }
            // OnTimeoutPrecommit (65–67).
            Step::Precommit => {
                let next = self.round + 1;
                self.start_round(next, now, app, fx);
            }
            _ => {}
        }
    }

    /// Applies every upon rule until none fires.
    fn process(&mut self, now: Timestamp, app: &mut dyn BlockSource, fx: &mut Vec<Effect>) {
        // Each iteration either changes (round, step, fired, decided) or stops; the number of
        // such changes per input is bounded by the rounds held (≤ MAX_ROUNDS_AHEAD + 2).
        for _ in 0..(4 * (MAX_ROUNDS_AHEAD as usize + 4)) {
            if self.decided {
                return;
            }
            if self.try_decide(app, fx) {
                return;
            }
            if self.try_round_skip(now, app, fx) {
                continue;
            }
            if self.try_proposal_rules(now, app, fx) {
                continue;
            }
            if self.try_vote_rules(app, fx) {
                continue;
            }
            return;
        }
    }

    /// Rule 7 (lines 49–54): a proposal for v from the proposer of any round r, a quorum
    /// of precommits for v in r, v valid → decide.
    fn try_decide(&mut self, app: &mut dyn BlockSource, fx: &mut Vec<Effect>) -> bool {
        let candidates: Vec<(u32, Hash)> = self
            .proposals
            .iter()
            .map(|(r, p)| (*r, p.block_hash))
            .collect();
        for (r, v) in candidates {
            if !self
                .vals
                .is_quorum(self.power_for(r, VoteType::Precommit, Some(v)))
            {
                continue;
            }
            if !self.is_valid(v, app) {
                continue;
            }
            let precommits: Vec<Vote> = self
                .votes
                .get(&(r, VoteType::Precommit))
                .map(|m| m.values().filter(|x| x.value == Some(v)).cloned().collect())
                .unwrap_or_default();
            let cert = CommitCertificate::from_votes(self.height, r, v, &precommits);
            let Some(block) = self.blocks.get(&v).cloned() else {
                continue;
            };
            assert!(!self.decided, "a height decides at most once");
            self.decided = true;
            fx.push(Effect::Decide(block, cert));
            return true;
        }
        false
    }

    /// Rule 8 (lines 55–56): messages of a higher round from more than 1/3 of the power.
    fn try_round_skip(
        &mut self,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let mut by_round: BTreeMap<u32, BTreeSet<PublicKey>> = BTreeMap::new();
        for ((r, _), m) in self.votes.range((self.round + 1, VoteType::Prevote)..) {
            by_round.entry(*r).or_default().extend(m.keys().copied());
        }
        for (r, p) in self.proposals.range(self.round + 1..) {
            by_round.entry(*r).or_default().insert(p.proposer);
        }
        let target = by_round.iter().rev().find(|(_, who)| {
            self.vals
                .is_one_third(who.iter().map(|k| self.vals.power_of(k)).sum())
        });
        if let Some((r, _)) = target {
            let r = *r;
            self.start_round(r, now, app, fx);
            return true;
        }
        false
    }

    /// Rules 1 and 2 (lines 22–33), in step propose.
    fn try_proposal_rules(
        &mut self,
        now: Timestamp,
        app: &mut dyn BlockSource,
        fx: &mut Vec<Effect>,
    ) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(p) = self.proposals.get(&self.round).cloned() else {
            return false;
        };
        let v = p.block_hash;
        match p.valid_round {
            None => {
                // Rule 1: a fresh proposal; the timeliness check applies here only.
                let ok = self.is_valid(v, app)
                    && self.timely(&v, now)
                    && self.locked.is_none_or(|(lv, _)| lv == v);
                self.vote(VoteType::Prevote, ok.then_some(v), fx);
                self.step = Step::Prevote;
                true
            }
            Some(vr) if vr < self.round => {
                // Rule 2: needs a prevote quorum for v in round vr.
                if !self
                    .vals
                    .is_quorum(self.power_for(vr, VoteType::Prevote, Some(v)))
                {
                    return false;
                }
                let ok =
                    self.is_valid(v, app) && self.locked.is_none_or(|(lv, lr)| lr <= vr || lv == v);
                self.vote(VoteType::Prevote, ok.then_some(v), fx);
                self.step = Step::Prevote;
                true
            }
            Some(_) => false,
        }
    }

    /// Rules 3–6 (lines 34–48).
    fn try_vote_rules(&mut self, app: &mut dyn BlockSource, fx: &mut Vec<Effect>) -> bool {
        let r = self.round;
        // Rule 4: proposal for v in this round, v valid, prevote quorum for v, step ≥ prevote.
        if self.step >= Step::Prevote && !self.fired.contains(&(Once::PrevoteQuorumValue, r)) {
            if let Some(p) = self.proposals.get(&r).cloned() {
                let v = p.block_hash;
                if self
                    .vals
                    .is_quorum(self.power_for(r, VoteType::Prevote, Some(v)))
                    && self.is_valid(v, app)
                {
                    self.fired.insert((Once::PrevoteQuorumValue, r));
                    if self.step == Step::Prevote {
                        let voted = self.vote(VoteType::Precommit, Some(v), fx);
                        if voted == Some(v) {
                            self.locked = Some((v, r));
                        }
                        self.step = Step::Precommit;
                    }
                    self.valid = Some((v, r));
                    return true;
                }
            }
        }
        if self.step == Step::Prevote {
            // Rule 5: prevote quorum for nil.
            if self
                .vals
                .is_quorum(self.power_for(r, VoteType::Prevote, None))
            {
                self.vote(VoteType::Precommit, None, fx);
                self.step = Step::Precommit;
                return true;
            }
            // Rule 3: any prevote quorum, first time: schedule the prevote timeout.
            if !self.fired.contains(&(Once::PrevoteTimeout, r))
                && self.vals.is_quorum(self.power_any(r, VoteType::Prevote))
            {
                self.fired.insert((Once::PrevoteTimeout, r));
                self.schedule(Step::Prevote, fx);
                return true;
            }
        }
        // Rule 6: any precommit quorum, first time: schedule the precommit timeout.
        if !self.fired.contains(&(Once::PrecommitTimeout, r))
            && self.vals.is_quorum(self.power_any(r, VoteType::Precommit))
        {
            self.fired.insert((Once::PrecommitTimeout, r));
            self.schedule(Step::Precommit, fx);
            return true;
        }
        false
    }
}
