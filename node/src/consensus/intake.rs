//! Message intake: which received proposals and votes the core keeps.
//!
//! - Messages of the current height are kept once per (round, step, signer), for rounds up
//!   to [`MAX_ROUNDS_AHEAD`] ahead, after the signer and the signature are checked.
//! - Messages of the next height (or of the first height before it starts) go to a bounded
//!   buffer, one per (round, step, signer), checked the same way first, so that neither a
//!   non-validator nor a forged message can take an honest validator's place in it
//!   (TENDERMINT.md "Buffer ahead, bounded").
//! - A second, different message with a valid signature for an occupied (round, step,
//!   signer) is double-signing, reported once as [`Effect::Evidence`] (TENDERMINT.md
//!   "Evidence"). A second proposal is not kept. A conflicting vote is kept, and counted in
//!   its value's tally, when its value matters here (nil, or the block of a proposal held)
//!   up to [`MAX_VOTES_PER_SIGNER`] per slot — see there why.

use super::{
    Consensus, Effect, Input, Rejected, Step, MAX_NEXT_HEIGHT_BUFFER, MAX_ROUNDS_AHEAD,
    MAX_VOTES_PER_SIGNER,
};
use safeledger_core::evidence::DoubleSign;
use safeledger_core::{Block, Proposal, Vote};

/// The step a message was signed in (as in the guard; a timeout, never buffered, counts
/// as `Propose`).
fn step_of(input: &Input) -> Step {
    match input {
        Input::Proposal(..) | Input::Timeout(_) => Step::Propose,
        Input::Vote(v) => Step::of_vote(v.vote_type),
    }
}

impl Consensus {
    /// Takes in a proposal or vote. `checked`: its signature was already checked (a
    /// buffered message being replayed).
    pub(super) fn accept(
        &mut self,
        input: Input,
        checked: bool,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Rejected> {
        let (height, round) = match &input {
            Input::Proposal(p, _) => (p.height, p.round),
            Input::Vote(v) => (v.height, v.round),
            Input::Timeout(_) => return Ok(()),
        };
        if height == self.height + 1 || (!self.started && height == self.height) {
            return self.buffer(input, height, round, fx);
        }
        if height != self.height || self.decided {
            return Err(Rejected::WrongHeight(height, self.height));
        }
        if round > self.round.saturating_add(MAX_ROUNDS_AHEAD) {
            return Err(Rejected::RoundTooFar(round, self.round));
        }
        match input {
            Input::Proposal(p, block) => self.accept_proposal(p, block, checked, fx),
            Input::Vote(v) => self.accept_vote(v, checked, fx),
            Input::Timeout(_) => Ok(()),
        }
    }

    /// Buffers a message of a height that has not started. The validator set of the
    /// current height judges it (the set does not change between heights in this version).
    fn buffer(
        &mut self,
        input: Input,
        height: u64,
        round: u32,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Rejected> {
        let base = self.guard.round_at(height).unwrap_or(0);
        if round > base.saturating_add(MAX_ROUNDS_AHEAD) {
            return Err(Rejected::RoundTooFar(round, base));
        }
        let signer = match &input {
            Input::Proposal(p, block) => {
                let want = self.vals.proposer(height, round).key;
                if p.proposer != want {
                    return Err(Rejected::WrongProposer {
                        got: p.proposer,
                        want,
                    });
                }
                if block.hash() != p.block_hash {
                    return Err(Rejected::BlockMismatch);
                }
                p.proposer
            }
            Input::Vote(v) => {
                if self.vals.power_of(&v.validator) == 0 {
                    return Err(Rejected::NotValidator(v.validator));
                }
                v.validator
            }
            Input::Timeout(_) => return Ok(()),
        };
        let slot = (round, step_of(&input), signer);
        if let Some(held) = self.next_height.get(&slot) {
            let evidence = match (held, &input) {
                (Input::Proposal(a, _), Input::Proposal(b, _)) if a == b => {
                    return Err(Rejected::Duplicate)
                }
                (Input::Vote(a), Input::Vote(b)) if a == b => return Err(Rejected::Duplicate),
                (Input::Proposal(a, _), Input::Proposal(b, _)) => {
                    DoubleSign::from_proposals(a.clone(), b.clone())
                }
                (Input::Vote(a), Input::Vote(b)) => DoubleSign::from_votes(a.clone(), b.clone()),
                _ => None,
            };
            self.check_signature(&input)?;
            self.report(evidence, fx);
            return Err(Rejected::Equivocation(signer));
        }
        if self.next_height.len() >= MAX_NEXT_HEIGHT_BUFFER {
            return Err(Rejected::BufferFull);
        }
        self.check_signature(&input)?;
        self.next_height.insert(slot, input);
        Ok(())
    }

    fn check_signature(&mut self, input: &Input) -> Result<(), Rejected> {
        match input {
            Input::Proposal(p, _) if !self.sigs.proposal(&self.chain_id, p) => {
                Err(Rejected::BadSignature(p.proposer))
            }
            Input::Vote(v) if !self.sigs.vote(&self.chain_id, v) => {
                Err(Rejected::BadSignature(v.validator))
            }
            _ => Ok(()),
        }
    }

    /// Emits evidence once per (signer, round, step) of the height.
    fn report(&mut self, evidence: Option<DoubleSign>, fx: &mut Vec<Effect>) {
        let Some(e) = evidence else { return };
        let step = match &e {
            DoubleSign::Proposals(..) => Step::Propose,
            DoubleSign::Votes(v, _) => Step::of_vote(v.vote_type),
        };
        if self.reported.insert((e.offender(), e.round(), step)) {
            fx.push(Effect::Evidence(e));
        }
    }

    fn accept_proposal(
        &mut self,
        p: Proposal,
        block: Box<Block>,
        checked: bool,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Rejected> {
        let want = self.vals.proposer(p.height, p.round).key;
        if p.proposer != want {
            return Err(Rejected::WrongProposer {
                got: p.proposer,
                want,
            });
        }
        if let Some(held) = self.proposals.get(&p.round) {
            if *held == p {
                return Err(Rejected::Duplicate);
            }
            let evidence = DoubleSign::from_proposals(held.clone(), p.clone());
            if !checked && !self.sigs.proposal(&self.chain_id, &p) {
                return Err(Rejected::BadSignature(p.proposer));
            }
            self.report(evidence, fx);
            return Err(Rejected::Equivocation(p.proposer));
        }
        if block.hash() != p.block_hash {
            return Err(Rejected::BlockMismatch);
        }
        if !checked && !self.sigs.proposal(&self.chain_id, &p) {
            return Err(Rejected::BadSignature(p.proposer));
        }
        self.blocks.insert(p.block_hash, *block);
        self.proposals.insert(p.round, p);
        Ok(())
    }

    fn accept_vote(
        &mut self,
        v: Vote,
        checked: bool,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Rejected> {
        if self.vals.power_of(&v.validator) == 0 {
            return Err(Rejected::NotValidator(v.validator));
        }
        let held = self
            .votes
            .get(&(v.round, v.vote_type))
            .and_then(|m| m.get(&v.validator));
        let mut conflict = None;
        if let Some(held) = held {
            if held.iter().any(|h| h.value == v.value) {
                return Err(Rejected::Duplicate);
            }
            conflict = Some((
                DoubleSign::from_votes(held[0].clone(), v.clone()),
                held.len(),
            ));
        }
        if !checked && !self.sigs.vote(&self.chain_id, &v) {
            return Err(Rejected::BadSignature(v.validator));
        }
        if let Some((evidence, kept)) = conflict {
            self.report(evidence, fx);
            let matters = v.value.is_none_or(|h| self.blocks.contains_key(&h));
            if !matters || kept >= MAX_VOTES_PER_SIGNER {
                return Err(Rejected::Equivocation(v.validator));
            }
        }
        self.votes
            .entry((v.round, v.vote_type))
            .or_default()
            .entry(v.validator)
            .or_default()
            .push(v);
        Ok(())
    }
}
