//! Consensus messages of Tendermint (arXiv:1807.04938, Algorithm 1): proposals and votes,
//! with their canonical signing bytes.
//!
//! A vote signs `"safeledger/vote/v1" ‖ canonical(chain_id, height, round, type, value)`;
//! a proposal signs `"safeledger/proposal/v1" ‖ canonical(chain_id, height, round,
//! valid_round, block_hash)`. `value = None` is a vote for nil.

use crate::encoding::to_canonical;
use crate::hash::Hash;
use crate::keys::{PublicKey, SecretKey, Signature, SignatureError};
use serde::{Deserialize, Serialize};

/// Signing domain of votes.
pub const VOTE_SIGNING_DOMAIN: &[u8] = b"safeledger/vote/v1";
/// Signing domain of proposals.
pub const PROPOSAL_SIGNING_DOMAIN: &[u8] = b"safeledger/proposal/v1";

/// Prevote or precommit (Algorithm 1, the `⟨PREVOTE⟩` and `⟨PRECOMMIT⟩` messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VoteType {
    /// First voting step.
    Prevote,
    /// Second voting step; a quorum of these for a block is its commit certificate.
    Precommit,
}

/// A signed prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Height voted at.
    pub height: u64,
    /// Round voted in.
    pub round: u32,
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// The block hash voted for, or `None` for nil.
    pub value: Option<Hash>,
    /// The voting validator's node key.
    pub validator: PublicKey,
    /// Signature over [`Vote::sign_bytes`].
    pub signature: Signature,
}

#[derive(Serialize)]
struct VoteDoc<'a> {
    chain_id: &'a str,
    height: u64,
    round: u32,
    vote_type: VoteType,
    value: Option<Hash>,
}

impl Vote {
    /// The bytes a validator signs for this vote.
    pub fn sign_bytes(
        chain_id: &str,
        height: u64,
        round: u32,
        vote_type: VoteType,
        value: Option<Hash>,
    ) -> Vec<u8> {
        let mut m = VOTE_SIGNING_DOMAIN.to_vec();
        m.extend(to_canonical(&VoteDoc {
            chain_id,
            height,
            round,
            vote_type,
            value,
        }));
        m
    }

    /// Creates and signs a vote.
    pub fn new(
        chain_id: &str,
        key: &SecretKey,
        height: u64,
        round: u32,
        vote_type: VoteType,
        value: Option<Hash>,
    ) -> Vote {
        let signature = key.sign(&Self::sign_bytes(chain_id, height, round, vote_type, value));
        Vote {
            height,
            round,
            vote_type,
            value,
            validator: key.public(),
            signature,
        }
    }

    /// Verifies the signature under `chain_id`.
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        let m = Self::sign_bytes(
            chain_id,
            self.height,
            self.round,
            self.vote_type,
            self.value,
        );
        self.validator.verify(&m, &self.signature)
    }
}

/// A signed proposal of a block (Algorithm 1, `⟨PROPOSAL, h, r, v, vr⟩`). The block travels
/// beside it; the signature covers its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// The round in which the proposer saw a prevote quorum for this block (`vr`), or
    /// `None` for −1.
    pub valid_round: Option<u32>,
    /// Hash of the proposed block.
    pub block_hash: Hash,
    /// The proposer's node key.
    pub proposer: PublicKey,
    /// Signature over [`Proposal::sign_bytes`].
    pub signature: Signature,
}

#[derive(Serialize)]
struct ProposalDoc<'a> {
    chain_id: &'a str,
    height: u64,
    round: u32,
    valid_round: Option<u32>,
    block_hash: Hash,
}

impl Proposal {
    /// The bytes a proposer signs.
    pub fn sign_bytes(
        chain_id: &str,
        height: u64,
        round: u32,
        valid_round: Option<u32>,
        block_hash: Hash,
    ) -> Vec<u8> {
        let mut m = PROPOSAL_SIGNING_DOMAIN.to_vec();
        m.extend(to_canonical(&ProposalDoc {
            chain_id,
            height,
            round,
            valid_round,
            block_hash,
        }));
        m
    }

    /// Creates and signs a proposal.
    pub fn new(
        chain_id: &str,
        key: &SecretKey,
        height: u64,
        round: u32,
        valid_round: Option<u32>,
        block_hash: Hash,
    ) -> Proposal {
        let signature = key.sign(&Self::sign_bytes(
            chain_id,
            height,
            round,
            valid_round,
            block_hash,
        ));
        Proposal {
            height,
            round,
            valid_round,
            block_hash,
            proposer: key.public(),
            signature,
        }
    }

    /// Verifies the signature under `chain_id`.
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        let m = Self::sign_bytes(
            chain_id,
            self.height,
            self.round,
            self.valid_round,
            self.block_hash,
        );
        self.proposer.verify(&m, &self.signature)
    }
}
