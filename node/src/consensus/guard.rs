//! The double-sign guard: what this validator last signed, and its lock (DESIGN §3
//! "Persist before send").
//!
//! Every proposal and vote is signed through [`PrivState`]. It signs a message only if its
//! (height, round, step) is above the last signed one; for the same (height, round, step)
//! it returns the stored message unchanged, so after a crash the node re-sends the
//! identical bytes and never signs a conflicting message. The driver makes the state
//! durable (fsync + atomic rename) before any message leaves the node.

use safeledger_core::{Hash, Proposal, SecretKey, Vote, VoteType};
use serde::{Deserialize, Serialize};

/// A signed consensus message kept for identical re-sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignedMessage {
    /// A proposal (step 0).
    Proposal(Proposal),
    /// A prevote (step 1) or precommit (step 2).
    Vote(Vote),
}

impl SignedMessage {
    /// (height, round, step) with step 0 = proposal, 1 = prevote, 2 = precommit.
    pub fn hrs(&self) -> (u64, u32, u8) {
        match self {
            SignedMessage::Proposal(p) => (p.height, p.round, 0),
            SignedMessage::Vote(v) => (
                v.height,
                v.round,
                match v.vote_type {
                    VoteType::Prevote => 1,
                    VoteType::Precommit => 2,
                },
            ),
        }
    }
}

/// The persisted signing state of a validator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivState {
    /// The last message signed.
    pub last_signed: Option<SignedMessage>,
    /// The lock: (height, locked round, locked value), as of the last precommit signed.
    pub locked: Option<(u64, u32, Hash)>,
    /// Height below which this node must not sign (set after a data wipe; see
    /// ARCHITECTURE.md). 0 when unset.
    pub min_sign_height: u64,
}

impl PrivState {
    /// The round of the last signed message, if it was at `height`.
    pub fn round_at(&self, height: u64) -> Option<u32> {
        self.last_signed
            .as_ref()
            .map(|m| m.hrs())
            .filter(|(h, _, _)| *h == height)
            .map(|(_, r, _)| r)
    }

    /// The persisted lock (value, round) if it was taken at `height`.
    pub fn lock_at(&self, height: u64) -> Option<(Hash, u32)> {
        self.locked
            .filter(|(h, _, _)| *h == height)
            .map(|(_, r, v)| (v, r))
    }

    /// Whether (height, round, step) may be signed, or must re-send (`Some(stored)`), or
    /// must be refused (`Err`).
    fn check(&self, hrs: (u64, u32, u8)) -> Result<Option<SignedMessage>, ()> {
        if hrs.0 < self.min_sign_height {
            return Err(());
        }
        match &self.last_signed {
            None => Ok(None),
            Some(m) => match m.hrs().cmp(&hrs) {
                std::cmp::Ordering::Less => Ok(None),
                std::cmp::Ordering::Equal => Ok(Some(m.clone())),
                std::cmp::Ordering::Greater => Err(()),
            },
        }
    }

    /// Signs a vote unless that would conflict. Returns `(vote, fresh)`: `fresh` is false
    /// when the stored vote of the same (height, round, step) is returned instead; `None`
    /// when signing is refused (a later message was already signed). A fresh precommit
    /// also records `lock` as the lock of this height.
    #[allow(clippy::too_many_arguments)]
    pub fn sign_vote(
        &mut self,
        chain_id: &str,
        key: &SecretKey,
        height: u64,
        round: u32,
        t: VoteType,
        value: Option<Hash>,
        lock: Option<(Hash, u32)>,
    ) -> (Option<Vote>, bool) {
        let step = match t {
            VoteType::Prevote => 1,
            VoteType::Precommit => 2,
        };
        match self.check((height, round, step)) {
            Err(()) => (None, false),
            Ok(Some(SignedMessage::Vote(v))) => (Some(v), false),
            Ok(Some(SignedMessage::Proposal(_))) => (None, false),
            Ok(None) => {
                let v = Vote::new(chain_id, key, height, round, t, value);
                self.last_signed = Some(SignedMessage::Vote(v.clone()));
                if t == VoteType::Precommit && value.is_some() {
                    self.locked = lock.map(|(h, r)| (height, r, h));
                }
                (Some(v), true)
            }
        }
    }

    /// Signs a proposal unless that would conflict; same contract as
    /// [`PrivState::sign_vote`].
    pub fn sign_proposal(
        &mut self,
        chain_id: &str,
        key: &SecretKey,
        height: u64,
        round: u32,
        valid_round: Option<u32>,
        block_hash: Hash,
    ) -> Option<(Proposal, bool)> {
        match self.check((height, round, 0)) {
            Err(()) => None,
            Ok(Some(SignedMessage::Proposal(p))) => Some((p, false)),
            Ok(Some(SignedMessage::Vote(_))) => None,
            Ok(None) => {
                let p = Proposal::new(chain_id, key, height, round, valid_round, block_hash);
                self.last_signed = Some(SignedMessage::Proposal(p.clone()));
                Some((p, true))
            }
        }
    }
}
