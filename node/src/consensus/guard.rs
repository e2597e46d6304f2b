//! The double-sign guard: what this validator last signed, and its lock (DESIGN §3
//! "Persist before send").
//!
//! Every proposal and vote is signed through [`PrivState`]. It signs a message only if its
//! (height, round, step) is above the last signed one; for the same (height, round, step)
//! — or an earlier one it still holds — it returns the stored message unchanged, so after
//! a crash the node re-sends the identical bytes and never signs a conflicting message.
//! The driver makes the state durable (fsync + atomic rename) before any message leaves
//! the node.
//!
//! What else it keeps is what a restarted validator needs to stay live when only this
//! state survives (each found by the simulation, each a permanent stall without it): its
//! messages of the last two rounds of the height (a peer may still need its prevote or
//! precommit of the previous round to reach a quorum, and the network may have lost it),
//! and with the lock the locked block and the prevotes that justify it (else nobody can
//! re-propose the locked value, and the validator prevotes nil on everything else).

use super::Step;
use safeledger_core::{Block, Hash, Proposal, SecretKey, Vote, VoteType};
use serde::{Deserialize, Serialize};

/// A signed consensus message kept for identical re-sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignedMessage {
    /// A proposal (signed in [`Step::Propose`]).
    Proposal(Proposal),
    /// A prevote or precommit (signed in [`Step::Prevote`] or [`Step::Precommit`]).
    Vote(Vote),
}

impl SignedMessage {
    /// (height, round, step) it was signed in; ordered as signing must proceed.
    pub fn hrs(&self) -> (u64, u32, Step) {
        match self {
            SignedMessage::Proposal(p) => (p.height, p.round, Step::Propose),
            SignedMessage::Vote(v) => (v.height, v.round, Step::of_vote(v.vote_type)),
        }
    }
}

/// The persisted signing state of a validator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivState {
    /// The last message signed.
    pub last_signed: Option<SignedMessage>,
    /// The other messages signed at the height of `last_signed`, in its round and the
    /// round before, in signing order (at most five).
    pub recent: Vec<SignedMessage>,
    /// The lock: (height, locked round, locked value), as of the last precommit signed.
    pub locked: Option<(u64, u32, Hash)>,
    /// The locked block itself while the lock's height runs (set by the core with the
    /// precommit that locks; dropped when a later height is signed). A restarted validator
    /// locked on a block that no other correct validator kept could otherwise never
    /// re-propose it, and would prevote nil on everything else: the height stalls (found
    /// by the simulation).
    pub locked_block: Option<Block>,
    /// The proof of the lock while its height runs: the prevotes for the locked value in
    /// the locked round (more than 2/3 of the power), set and dropped with `locked_block`.
    pub lock_proof: Vec<Vote>,
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

    /// The messages this validator signed at `height` that the state still holds.
    pub fn signed_at(&self, height: u64) -> impl Iterator<Item = &SignedMessage> {
        self.recent
            .iter()
            .chain(self.last_signed.iter())
            .filter(move |m| m.hrs().0 == height)
    }

    /// The persisted lock (value, round) if it was taken at `height`.
    pub fn lock_at(&self, height: u64) -> Option<(Hash, u32)> {
        self.locked
            .filter(|(h, _, _)| *h == height)
            .map(|(_, r, v)| (v, r))
    }

    /// Whether (height, round, step) may be signed (`Ok(None)`), or must re-send
    /// (`Ok(Some(stored))`: the last signed one, or an earlier one still held), or must be
    /// refused (`Err`).
    fn check(&self, hrs: (u64, u32, Step)) -> Result<Option<SignedMessage>, ()> {
        if hrs.0 < self.min_sign_height {
            return Err(());
        }
        match &self.last_signed {
            None => Ok(None),
            Some(m) => match m.hrs().cmp(&hrs) {
                std::cmp::Ordering::Less => Ok(None),
                std::cmp::Ordering::Equal => Ok(Some(m.clone())),
                std::cmp::Ordering::Greater => self
                    .recent
                    .iter()
                    .find(|e| e.hrs() == hrs)
                    .cloned()
                    .map(Some)
                    .ok_or(()),
            },
        }
    }

    /// Records a freshly signed message as the last one.
    fn record(&mut self, m: SignedMessage) {
        let (h, r, _) = m.hrs();
        if self.locked.is_some_and(|(lh, _, _)| lh < h) {
            self.locked_block = None;
            self.lock_proof.clear();
        }
        if let Some(last) = self.last_signed.take() {
            self.recent.push(last);
        }
        self.recent.retain(|x| {
            let (xh, xr, _) = x.hrs();
            xh == h && xr.saturating_add(1) >= r
        });
        self.last_signed = Some(m);
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
        match self.check((height, round, Step::of_vote(t))) {
            Err(()) => (None, false),
            Ok(Some(SignedMessage::Vote(v))) => (Some(v), false),
            Ok(Some(SignedMessage::Proposal(_))) => (None, false),
            Ok(None) => {
                let v = Vote::new(chain_id, key, height, round, t, value);
                self.record(SignedMessage::Vote(v.clone()));
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
        match self.check((height, round, Step::Propose)) {
            Err(()) => None,
            Ok(Some(SignedMessage::Proposal(p))) => Some((p, false)),
            Ok(Some(SignedMessage::Vote(_))) => None,
            Ok(None) => {
                let p = Proposal::new(chain_id, key, height, round, valid_round, block_hash);
                self.record(SignedMessage::Proposal(p.clone()));
                Some((p, true))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_of_the_last_two_rounds_are_re_sent_identically_and_older_ones_refused() {
        let k = SecretKey::from_bytes(&[3; 32]);
        let v = Some(Hash([1; 32]));
        let mut g = PrivState::default();
        let (pv, fresh) = g.sign_vote("c", &k, 5, 2, VoteType::Prevote, v, None);
        assert!(fresh);
        let (pc, _) = g.sign_vote("c", &k, 5, 2, VoteType::Precommit, v, v.map(|h| (h, 2)));
        // After the precommit, the prevote of the same round comes back unchanged ...
        assert_eq!(
            g.sign_vote("c", &k, 5, 2, VoteType::Prevote, None, None),
            (pv.clone(), false)
        );
        assert_eq!(
            g.sign_vote("c", &k, 5, 2, VoteType::Precommit, None, None),
            (pc, false)
        );
        // ... a proposal never signed in that round, and earlier rounds, are refused.
        assert_eq!(g.sign_proposal("c", &k, 5, 2, None, Hash([2; 32])), None);
        assert_eq!(
            g.sign_vote("c", &k, 5, 1, VoteType::Prevote, v, None),
            (None, false)
        );
        // The previous round is still held in round 3; from round 4 on it is forgotten.
        let _ = g.sign_vote("c", &k, 5, 3, VoteType::Prevote, None, None);
        let again = g.sign_vote("c", &k, 5, 2, VoteType::Prevote, v, None);
        assert_eq!(again, (pv, false));
        let _ = g.sign_vote("c", &k, 5, 4, VoteType::Prevote, None, None);
        assert_eq!(g.recent.len(), 1);
        let refused = g.sign_vote("c", &k, 5, 2, VoteType::Prevote, v, None);
        assert_eq!(refused, (None, false));
        // A new height forgets the old one's messages.
        let _ = g.sign_vote("c", &k, 6, 0, VoteType::Prevote, None, None);
        assert_eq!(g.recent, Vec::new());
    }
}
