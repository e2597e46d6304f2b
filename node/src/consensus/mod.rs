//! The Tendermint consensus core as a sans-IO state machine.
//!
//! Implements Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT
//! consensus" (arXiv:1807.04938), as restated line by line in `shared/TENDERMINT.md`.
//! Inputs are proposals, votes and timeouts ([`Input`]); outputs are [`Effect`]s the machine
//! performs in order: persist what was signed (before anything is sent), broadcast,
//! schedule a timeout, decide, report double-sign evidence. The core never touches a
//! socket, a clock or a disk: the
//! current time comes in with each call, and block building and validity come from the
//! [`BlockSource`] the driver passes in.
//!
//! Invariants (asserted): a height decides at most once; a vote is signed only through the
//! [`PrivState`] guard, which never signs two different messages for one
//! (height, round, step) and re-sends the identical message instead.
//!
//! The deterministic simulation (`crate::sim`) runs this core; fixes it prompted are
//! documented where they live: [`MAX_VOTES_PER_SIGNER`] (an equivocator's votes count
//! for each value), [`Consensus::resend_set`] (re-send the proof of a lock), the late
//! polka and the proposer's propose timeout (`rules.rs`), the bounded, checked
//! next-height buffer (`intake.rs`), and the earlier steps of the last round in
//! [`PrivState`].
//!
//! Message intake (signature checks, the bounded next-height buffer and double-sign
//! detection) lives in `intake.rs`; the upon rules of Algorithm 1 in `rules.rs`.

mod guard;
mod intake;
mod rules;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_intake;

pub use guard::{PrivState, SignedMessage};

use safeledger_core::block::CommitCertificate;
use safeledger_core::evidence::DoubleSign;
use safeledger_core::genesis::{ConsensusParams, ValidatorSet};
use safeledger_core::{Block, Hash, Proposal, PublicKey, SecretKey, Timestamp, Vote, VoteType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most rounds ahead of the current one for which votes are kept (bounds memory; rule 8
/// only needs them to exist for some round ahead).
pub const MAX_ROUNDS_AHEAD: u32 = 16;
/// Most distinct votes kept per validator and (round, vote type): its first one, plus
/// conflicting ones (double-signing) for values that matter here — nil or the block of a
/// proposal held. Algorithm 1 counts an equivocating validator's prevote for v in v's
/// tally even when it also prevoted something else; keeping only its first vote would let
/// it show one validator a polka (and make it lock) that no other validator can ever
/// count, stalling the height (found by the simulation, twin validators).
pub const MAX_VOTES_PER_SIGNER: usize = 4;
/// Most messages of the next height kept until that height starts (in all; each validator
/// also has at most one proposal and two votes per round, for at most
/// [`MAX_ROUNDS_AHEAD`] + 1 rounds).
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

impl Step {
    /// The step a vote of type `t` is signed in: prevotes in `Prevote`, precommits in
    /// `Precommit` (a proposal is signed in `Propose`).
    pub fn of_vote(t: VoteType) -> Step {
        match t {
            VoteType::Prevote => Step::Prevote,
            VoteType::Precommit => Step::Precommit,
        }
    }
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
    /// A validator signed two different messages for one (height, round, step)
    /// (TENDERMINT.md "Evidence"). Reported once per validator and (round, step) of a
    /// height; both messages' signatures were checked. The driver commits it as evidence.
    Evidence(DoubleSign),
}

/// Building and judging blocks: supplied by the driver.
pub trait BlockSource {
    /// A fresh block for (height, round) proposed by this node at `now`.
    fn build_block(&mut self, height: u64, round: u32, now: Timestamp) -> Block;
    /// `valid(v)` of Algorithm 1: deterministic, no clock (TENDERMINT.md "Validity").
    fn valid(&mut self, block: &Block) -> bool;
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
    /// Already have this message.
    #[error("duplicate")]
    Duplicate,
    /// A second, different message of this validator for one (height, round, step): kept
    /// out of the counts and reported as [`Effect::Evidence`].
    #[error("{0} signed two different messages for one step")]
    Equivocation(PublicKey),
    /// Next-height buffer full.
    #[error("next-height buffer full")]
    BufferFull,
}

/// Checks the signatures of received proposals and votes.
///
/// The default, [`Ed25519`], verifies each one strictly (`Proposal::verify`,
/// `Vote::verify`). The simulation (`crate::sim`) puts a cache shared by its nodes in front
/// of the same check, to verify each distinct message once instead of once per node. An
/// implementation must never accept a signature that [`Ed25519`] refuses.
pub trait SignatureCheck: Send {
    /// True when the vote's signature is valid under `chain_id`.
    fn vote(&mut self, chain_id: &str, vote: &Vote) -> bool;
    /// True when the proposal's signature is valid under `chain_id`.
    fn proposal(&mut self, chain_id: &str, proposal: &Proposal) -> bool;
}

/// Strict ed25519 verification of every message (the production check).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519;

impl SignatureCheck for Ed25519 {
    fn vote(&mut self, chain_id: &str, vote: &Vote) -> bool {
        vote.verify(chain_id).is_ok()
    }
    fn proposal(&mut self, chain_id: &str, proposal: &Proposal) -> bool {
        proposal.verify(chain_id).is_ok()
    }
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
    /// lockedValue and lockedRound (Algorithm 1); `None` is the paper's nil and −1. Set
    /// together (rule 4, line 38), and from the persisted lock after a restart.
    locked_value: Option<Hash>,
    locked_round: Option<u32>,
    /// validValue and validRound (Algorithm 1); `None` is nil and −1. Set together (rule
    /// 4, line 42; a late polka, [`Consensus::try_late_polka`]).
    valid_value: Option<Hash>,
    valid_round: Option<u32>,
    decided: bool,
    proposals: BTreeMap<u32, Proposal>,
    blocks: BTreeMap<Hash, Block>,
    validity: BTreeMap<Hash, bool>,
    /// Votes by (round, type), then validator: its distinct votes, first received first.
    votes: BTreeMap<(u32, VoteType), BTreeMap<PublicKey, Vec<Vote>>>,
    fired: BTreeSet<(Once, u32)>,
    /// Signature-checked messages of the next height, one per (round, step, signer).
    next_height: BTreeMap<(u32, Step, PublicKey), Input>,
    /// (signer, round, step) already reported as evidence at this height.
    reported: BTreeSet<(PublicKey, u32, Step)>,
    guard: PrivState,
    started: bool,
    sigs: Box<dyn SignatureCheck>,
}

impl std::fmt::Debug for Consensus {
    /// Height, round, step, lock, valid value, decided, the rounds holding proposals, the
    /// voters per (round, type) and the next-height buffer's size: for logs and failing
    /// simulations.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let votes: Vec<(u32, VoteType, usize)> = self
            .votes
            .iter()
            .map(|((r, t), m)| (*r, *t, m.len()))
            .collect();
        f.debug_struct("Consensus")
            .field("height", &self.height)
            .field("round", &self.round)
            .field("step", &self.step)
            .field("locked_value", &self.locked_value)
            .field("locked_round", &self.locked_round)
            .field("valid_value", &self.valid_value)
            .field("valid_round", &self.valid_round)
            .field("decided", &self.decided)
            .field("proposals", &self.proposals.keys().collect::<Vec<_>>())
            .field("votes", &votes)
            .field("buffered", &self.next_height.len())
            .field(
                "last_signed",
                &self.guard.last_signed.as_ref().map(|m| m.hrs()),
            )
            .finish()
    }
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
            locked_value: None,
            locked_round: None,
            valid_value: None,
            valid_round: None,
            decided: true,
            proposals: BTreeMap::new(),
            blocks: BTreeMap::new(),
            validity: BTreeMap::new(),
            votes: BTreeMap::new(),
            fired: BTreeSet::new(),
            next_height: BTreeMap::new(),
            reported: BTreeSet::new(),
            guard,
            started: false,
            sigs: Box::new(Ed25519),
        }
    }

    /// Replaces the signature check (default [`Ed25519`]); see [`SignatureCheck`].
    pub fn with_signature_check(mut self, sigs: Box<dyn SignatureCheck>) -> Consensus {
        self.sigs = sigs;
        self
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
        let lock = self.guard.lock_at(height);
        (self.locked_value, self.locked_round) = (lock.map(|l| l.0), lock.map(|l| l.1));
        // validRound ≥ lockedRound holds in Algorithm 1 (line 38 sets both); after a restart
        // the lock is all that survived, so it is also the valid value.
        (self.valid_value, self.valid_round) = (self.locked_value, self.locked_round);
        self.decided = false;
        self.started = true;
        self.proposals.clear();
        self.blocks.clear();
        self.validity.clear();
        self.votes.clear();
        self.fired.clear();
        self.reported.clear();
        // After a restart: our own signed votes of this height, the locked block and the
        // prevotes that justify the lock come back from the persisted state, so that they
        // are counted and re-sent (`resend_set`) and the locked value can be re-proposed.
        let mut kept: Vec<Vote> = self
            .guard
            .signed_at(height)
            .filter_map(|m| match m {
                SignedMessage::Vote(v) => Some(v.clone()),
                SignedMessage::Proposal(_) => None,
            })
            .collect();
        if self.locked_value.is_some() {
            kept.extend(self.guard.lock_proof.iter().cloned());
        }
        for v in kept.into_iter().filter(|v| v.height == height) {
            let slot = self
                .votes
                .entry((v.round, v.vote_type))
                .or_default()
                .entry(v.validator)
                .or_default();
            if !slot.iter().any(|x| x.value == v.value) {
                slot.push(v);
            }
        }
        if let (Some(v), Some(b)) = (self.locked_value, &self.guard.locked_block) {
            if b.hash() == v {
                self.blocks.insert(v, b.clone());
            }
        }
        let resume_round = self.guard.round_at(height).unwrap_or(0);
        let mut fx = Vec::new();
        self.start_round(resume_round, now, app, &mut fx);
        let buffered = std::mem::take(&mut self.next_height);
        for input in buffered.into_values() {
            let same = match &input {
                Input::Proposal(p, _) => p.height == height,
                Input::Vote(v) => v.height == height,
                Input::Timeout(_) => false,
            };
            if same {
                let _ = self.accept(input, true, &mut fx);
            }
        }
        self.process(now, app, &mut fx);
        fx
    }

    /// Handles one input; returns the effects to perform in order. Messages for other
    /// heights or rounds too far ahead, from non-validators, or with bad signatures are
    /// ignored and change nothing (see [`Rejected`]); a double-sign is reported as
    /// [`Effect::Evidence`].
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
        let r = self.accept(input, false, &mut fx);
        if r.is_ok() && !self.decided {
            self.process(now, app, &mut fx);
        }
        (fx, r)
    }

    /// The proposal accepted for (`height`, `round`) of the current height, with its
    /// block, if this core holds both (served to peers that could not get a large block
    /// by gossip).
    pub fn proposal_with_block(&self, height: u64, round: u32) -> Option<(Proposal, Block)> {
        if height != self.height {
            return None;
        }
        let p = self.proposals.get(&round)?;
        let b = self.blocks.get(&p.block_hash)?;
        Some((p.clone(), b.clone()))
    }

    /// The messages a peer that missed them would need (re-sent over request-response,
    /// since gossipsub suppresses repeats; TENDERMINT.md "Message ids and re-sends"): the
    /// proposals and all votes held for the current and previous round of this height, and
    /// the proof of our valid value and of our lock — the proposal of validRound /
    /// lockedRound and the prevotes for that value in that round. Without the latter, a
    /// value locked in a round whose prevotes some peers never saw can be re-proposed
    /// (rule 2 needs those prevotes) only while that round is the current or previous one,
    /// and a lock taken behind a partition stalls the height once the rounds move on.
    pub fn resend_set(&self) -> (Vec<(Proposal, Block)>, Vec<Vote>) {
        let lo = self.round.saturating_sub(1);
        let pol: BTreeSet<(u32, Hash)> = [
            self.valid_round.zip(self.valid_value),
            self.locked_round.zip(self.locked_value),
        ]
        .into_iter()
        .flatten()
        .filter(|(r, _)| *r < lo)
        .collect();
        let props = self
            .proposals
            .iter()
            .filter(|(r, p)| **r >= lo || pol.contains(&(**r, p.block_hash)))
            .filter_map(|(_, p)| {
                self.blocks
                    .get(&p.block_hash)
                    .map(|b| (p.clone(), b.clone()))
            })
            .collect();
        let mut votes: Vec<Vote> = self
            .votes
            .iter()
            .filter(|((r, _), _)| *r >= lo)
            .flat_map(|(_, m)| m.values().flatten().cloned())
            .collect();
        for (r, v) in pol {
            if let Some(m) = self.votes.get(&(r, VoteType::Prevote)) {
                votes.extend(m.values().flatten().filter(|x| x.value == Some(v)).cloned());
            }
        }
        (props, votes)
    }
}
