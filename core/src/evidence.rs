//! Evidence of a double-sign (TENDERMINT.md "Evidence"): two different signed messages of
//! one validator for one (height, round, step).
//!
//! A correct validator signs at most one proposal per (height, round) and one vote per
//! (height, round, vote type) — its double-sign guard refuses anything else. Two different
//! ones, both with valid signatures, therefore prove misbehaviour. A [`DoubleSign`] carries
//! both signed messages, so anyone holding the validator set can check it offline with
//! [`DoubleSign::verify`]. The pair is kept in a canonical order (by canonical encoding), so
//! every node that observes the same two messages builds byte-identical evidence.

use crate::consensus::{Proposal, Vote};
use crate::encoding::to_canonical;
use crate::genesis::ValidatorSet;
use crate::keys::PublicKey;
use serde::{Deserialize, Serialize};

/// Two conflicting signed messages of one validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DoubleSign {
    /// Two votes of one validator for one (height, round, vote type) with different values.
    Votes(Vote, Vote),
    /// Two proposals of one proposer for one (height, round) that differ in block hash or
    /// valid round.
    Proposals(Proposal, Proposal),
}

/// Why a [`DoubleSign`] was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum EvidenceError {
    /// The two messages are of different signers.
    #[error("the two messages have different signers")]
    DifferentSigners,
    /// The two messages are for different (height, round, step).
    #[error("the two messages are for different (height, round, step)")]
    DifferentSlots,
    /// The two messages sign the same content.
    #[error("the two messages sign the same content")]
    NotConflicting,
    /// The pair is not in canonical order.
    #[error("the two messages are not in canonical order")]
    NotCanonical,
    /// The signer is not in the validator set.
    #[error("{0} is not a validator")]
    NotValidator(PublicKey),
    /// A signature does not verify.
    #[error("a signature of {0} does not verify")]
    BadSignature(PublicKey),
}

fn ordered<T: Serialize>(a: T, b: T) -> (T, T) {
    if to_canonical(&a) <= to_canonical(&b) {
        (a, b)
    } else {
        (b, a)
    }
}

impl DoubleSign {
    /// Evidence from two votes, in canonical order; `None` unless they are of one validator,
    /// for one (height, round, type), with different values. Signatures are not checked here
    /// (see [`DoubleSign::verify`]).
    pub fn from_votes(a: Vote, b: Vote) -> Option<DoubleSign> {
        let conflicting = a.validator == b.validator
            && (a.height, a.round, a.vote_type) == (b.height, b.round, b.vote_type)
            && a.value != b.value;
        conflicting.then(|| {
            let (a, b) = ordered(a, b);
            DoubleSign::Votes(a, b)
        })
    }

    /// Evidence from two proposals, in canonical order; `None` unless they are of one
    /// proposer, for one (height, round), and differ in block hash or valid round.
    pub fn from_proposals(a: Proposal, b: Proposal) -> Option<DoubleSign> {
        let conflicting = a.proposer == b.proposer
            && (a.height, a.round) == (b.height, b.round)
            && (a.block_hash, a.valid_round) != (b.block_hash, b.valid_round);
        conflicting.then(|| {
            let (a, b) = ordered(a, b);
            DoubleSign::Proposals(a, b)
        })
    }

    /// The validator that signed both messages.
    pub fn offender(&self) -> PublicKey {
        match self {
            DoubleSign::Votes(a, _) => a.validator,
            DoubleSign::Proposals(a, _) => a.proposer,
        }
    }

    /// The height of both messages.
    pub fn height(&self) -> u64 {
        match self {
            DoubleSign::Votes(a, _) => a.height,
            DoubleSign::Proposals(a, _) => a.height,
        }
    }

    /// The round of both messages.
    pub fn round(&self) -> u32 {
        match self {
            DoubleSign::Votes(a, _) => a.round,
            DoubleSign::Proposals(a, _) => a.round,
        }
    }

    /// Checks the evidence offline: [`DoubleSign::verify_messages`], and the signer is a
    /// validator of `vals` (the set of the evidence's height).
    pub fn verify(&self, chain_id: &str, vals: &ValidatorSet) -> Result<(), EvidenceError> {
        self.verify_messages(chain_id)?;
        let who = self.offender();
        if vals.power_of(&who) == 0 {
            return Err(EvidenceError::NotValidator(who));
        }
        Ok(())
    }

    /// Checks the two messages alone: one signer, one (height, round, step), different
    /// content, canonical order, and both signatures valid under `chain_id`. Says nothing
    /// about whether the signer was a validator.
    pub fn verify_messages(&self, chain_id: &str) -> Result<(), EvidenceError> {
        let rebuilt = match self {
            DoubleSign::Votes(a, b) => {
                if a.validator != b.validator {
                    return Err(EvidenceError::DifferentSigners);
                }
                if (a.height, a.round, a.vote_type) != (b.height, b.round, b.vote_type) {
                    return Err(EvidenceError::DifferentSlots);
                }
                DoubleSign::from_votes(a.clone(), b.clone())
            }
            DoubleSign::Proposals(a, b) => {
                if a.proposer != b.proposer {
                    return Err(EvidenceError::DifferentSigners);
                }
                if (a.height, a.round) != (b.height, b.round) {
                    return Err(EvidenceError::DifferentSlots);
                }
                DoubleSign::from_proposals(a.clone(), b.clone())
            }
        };
        match rebuilt {
            None => return Err(EvidenceError::NotConflicting),
            Some(r) if &r != self => return Err(EvidenceError::NotCanonical),
            Some(_) => {}
        }
        let who = self.offender();
        let ok = match self {
            DoubleSign::Votes(a, b) => a.verify(chain_id).is_ok() && b.verify(chain_id).is_ok(),
            DoubleSign::Proposals(a, b) => a.verify(chain_id).is_ok() && b.verify(chain_id).is_ok(),
        };
        if !ok {
            return Err(EvidenceError::BadSignature(who));
        }
        Ok(())
    }

    /// The (height, round, step) slot both messages are for, as a stable key: step 0 is the
    /// proposal, 1 the prevote, 2 the precommit.
    pub fn slot(&self) -> (u64, u32, u8) {
        match self {
            DoubleSign::Proposals(a, _) => (a.height, a.round, 0),
            DoubleSign::Votes(a, _) => (
                a.height,
                a.round,
                match a.vote_type {
                    crate::consensus::VoteType::Prevote => 1,
                    crate::consensus::VoteType::Precommit => 2,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::VoteType;
    use crate::genesis::Validator;
    use crate::hash::Hash;
    use crate::keys::SecretKey;

    fn key(i: u8) -> SecretKey {
        SecretKey::from_bytes(&[i; 32])
    }

    fn vals(keys: &[&SecretKey]) -> ValidatorSet {
        ValidatorSet {
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    agency: format!("a{i}"),
                    key: k.public(),
                    power: 1,
                })
                .collect(),
        }
    }

    fn h(b: u8) -> Hash {
        Hash([b; 32])
    }

    #[test]
    fn two_votes_for_different_values_are_verifiable_evidence() {
        let k = key(1);
        let a = Vote::new("c", &k, 5, 2, VoteType::Prevote, Some(h(1)));
        let b = Vote::new("c", &k, 5, 2, VoteType::Prevote, None);
        let e = DoubleSign::from_votes(a.clone(), b.clone()).expect("conflict");
        assert_eq!(e, DoubleSign::from_votes(b, a).expect("conflict"));
        assert_eq!(e.offender(), k.public());
        assert_eq!((e.height(), e.round()), (5, 2));
        assert_eq!(e.verify("c", &vals(&[&k, &key(2)])), Ok(()));
        assert_eq!(
            e.verify("other-chain", &vals(&[&k])),
            Err(EvidenceError::BadSignature(k.public()))
        );
        assert_eq!(
            e.verify("c", &vals(&[&key(2)])),
            Err(EvidenceError::NotValidator(k.public()))
        );
    }

    #[test]
    fn two_proposals_for_one_round_are_verifiable_evidence() {
        let k = key(3);
        let a = Proposal::new("c", &k, 9, 0, None, h(1));
        let b = Proposal::new("c", &k, 9, 0, None, h(2));
        let c = Proposal::new("c", &k, 9, 0, Some(0), h(1));
        let e = DoubleSign::from_proposals(a.clone(), b).expect("conflict");
        assert_eq!(e.verify("c", &vals(&[&k])), Ok(()));
        assert!(DoubleSign::from_proposals(a, c).is_some());
    }

    #[test]
    fn identical_or_unrelated_messages_are_not_evidence() {
        let (k, j) = (key(1), key(2));
        let a = Vote::new("c", &k, 5, 2, VoteType::Prevote, Some(h(1)));
        assert!(DoubleSign::from_votes(a.clone(), a.clone()).is_none());
        let other_round = Vote::new("c", &k, 5, 3, VoteType::Prevote, None);
        assert!(DoubleSign::from_votes(a.clone(), other_round).is_none());
        let other_type = Vote::new("c", &k, 5, 2, VoteType::Precommit, None);
        assert!(DoubleSign::from_votes(a.clone(), other_type).is_none());
        let other_signer = Vote::new("c", &j, 5, 2, VoteType::Prevote, None);
        assert!(DoubleSign::from_votes(a, other_signer).is_none());
        let p = Proposal::new("c", &k, 9, 0, None, h(1));
        assert!(DoubleSign::from_proposals(p.clone(), p).is_none());
    }

    #[test]
    fn tampered_evidence_is_refused() {
        let k = key(1);
        let a = Vote::new("c", &k, 5, 2, VoteType::Prevote, Some(h(1)));
        let b = Vote::new("c", &k, 5, 2, VoteType::Prevote, None);
        let DoubleSign::Votes(x, mut y) = DoubleSign::from_votes(a, b).expect("conflict") else {
            unreachable!()
        };
        let swapped = DoubleSign::Votes(y.clone(), x.clone());
        assert_eq!(
            swapped.verify("c", &vals(&[&k])),
            Err(EvidenceError::NotCanonical)
        );
        y.round = 7;
        assert_eq!(
            DoubleSign::Votes(x.clone(), y.clone()).verify("c", &vals(&[&k])),
            Err(EvidenceError::DifferentSlots)
        );
        y.round = 2;
        y.signature.0[0] ^= 1;
        let forged = DoubleSign::from_votes(x, y).expect("conflict");
        assert_eq!(
            forged.verify("c", &vals(&[&k])),
            Err(EvidenceError::BadSignature(k.public()))
        );
    }
}
