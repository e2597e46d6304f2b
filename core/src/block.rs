//! Blocks, headers and commit certificates (DESIGN §3–4).
//!
//! Header h carries `state_root` and `results_root` of block h−1 (as CometBFT's app hash
//! does), so validators vote without executing first. The block hash is the
//! [`Domain::Header`] hash of the canonical header. A block is final with a
//! [`CommitCertificate`]: precommits for its hash from more than 2/3 of the voting power.

use crate::consensus::{Vote, VoteType};
use crate::encoding::to_canonical;
use crate::genesis::ValidatorSet;
use crate::hash::{Domain, Hash, HASH_SCHEME_VERSION};
use crate::keys::{PublicKey, Signature};
use crate::merkle;
use crate::time::Timestamp;
use crate::tx::Transaction;
use serde::{Deserialize, Serialize};

/// A block header: every field of DESIGN §4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Hash and encoding scheme version ([`HASH_SCHEME_VERSION`]).
    pub version: u32,
    /// Chain id.
    pub chain_id: String,
    /// Height, from 1.
    pub height: u64,
    /// The proposer's time, ms since the epoch; strictly after the previous block's.
    pub time: Timestamp,
    /// Hash of block h−1's header (the genesis hash for h = 1).
    pub prev_hash: Hash,
    /// RFC 9162 root over this block's transaction leaves ([`Transaction::leaf_data`]).
    pub tx_root: Hash,
    /// Transactions in this block.
    pub tx_count: u32,
    /// Tree head of the ledger-wide tree over every transaction since genesis, this
    /// block's included.
    pub ledger_root: Hash,
    /// Leaves in the ledger-wide tree, this block's included.
    pub ledger_size: u64,
    /// State root after executing block h−1.
    pub state_root: Hash,
    /// RFC 9162 root over block h−1's execution results.
    pub results_root: Hash,
    /// Hash of the validator set of this height.
    pub validators_hash: Hash,
    /// Hash of the validator set of height h+1.
    pub next_validators_hash: Hash,
    /// The proposer's node key.
    pub proposer: PublicKey,
}

impl Header {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        Domain::Header.hash(&to_canonical(self))
    }
}

/// A header with its transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in execution order.
    pub txs: Vec<Transaction>,
}

impl Block {
    /// The block hash (the header's).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

/// The leaf hashes of `txs`, for `tx_root` and the ledger tree.
pub fn tx_leaves(txs: &[Transaction]) -> Vec<Hash> {
    txs.iter()
        .map(|t| merkle::leaf_hash(&t.leaf_data()))
        .collect()
}

/// `tx_root` of a body.
pub fn tx_root(txs: &[Transaction]) -> Hash {
    merkle::root(&tx_leaves(txs))
}

/// The version of a chain's first block, which this code writes until governance schedules
/// another (issue 22 item 7: `ScheduleUpgrade`).
pub const HEADER_VERSION: u32 = HASH_SCHEME_VERSION;

/// The highest header version this code reads and runs. Version 3 exists to carry a chain
/// through the upgrade path: its hashing and rules are version 2's, and what changes at it
/// is what its upgrade proposal sets (rule parameters).
pub const MAX_HEADER_VERSION: u32 = 3;

/// One precommit signature in a commit certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSig {
    /// The validator.
    pub validator: PublicKey,
    /// Its precommit signature for (height, round, block hash).
    pub signature: Signature,
}

/// Precommits for one block hash from more than 2/3 of the voting power, all of one round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// Height of the block.
    pub height: u64,
    /// Round in which it was decided.
    pub round: u32,
    /// The block hash.
    pub block_hash: Hash,
    /// The precommits.
    pub signatures: Vec<CommitSig>,
}

/// Why a commit certificate was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CertificateError {
    /// Height or block hash differ from the block's.
    #[error("certificate is for another block (height {height}, hash {block_hash})")]
    WrongBlock {
        /// Certificate's height.
        height: u64,
        /// Certificate's block hash.
        block_hash: Hash,
    },
    /// A signer that is not in the validator set.
    #[error("signer {0} is not a validator")]
    UnknownValidator(PublicKey),
    /// A validator counted twice.
    #[error("validator {0} signed twice")]
    Duplicate(PublicKey),
    /// A signature that does not verify.
    #[error("precommit of {0} does not verify")]
    BadSignature(PublicKey),
    /// Not more than 2/3 of the power.
    #[error("signers hold {power} of {total} voting power, not more than 2/3")]
    NoQuorum {
        /// Power that signed.
        power: u64,
        /// Total power.
        total: u64,
    },
}

impl CommitCertificate {
    /// Builds a certificate from precommit votes (callers pass a quorum for `block_hash`).
    pub fn from_votes(height: u64, round: u32, block_hash: Hash, votes: &[Vote]) -> Self {
        CommitCertificate {
            height,
            round,
            block_hash,
            signatures: votes
                .iter()
                .map(|v| CommitSig {
                    validator: v.validator,
                    signature: v.signature,
                })
                .collect(),
        }
    }

    /// Verifies the certificate for block (`height`, `block_hash`) under validator set
    /// `vals`: distinct known validators, valid precommit signatures, more than 2/3 power.
    pub fn verify(
        &self,
        chain_id: &str,
        height: u64,
        block_hash: &Hash,
        vals: &ValidatorSet,
    ) -> Result<(), CertificateError> {
        if self.height != height || &self.block_hash != block_hash {
            return Err(CertificateError::WrongBlock {
                height: self.height,
                block_hash: self.block_hash,
            });
        }
        let msg = Vote::sign_bytes(
            chain_id,
            self.height,
            self.round,
            VoteType::Precommit,
            Some(self.block_hash),
        );
        let mut seen = std::collections::BTreeSet::new();
        let mut power = 0u64;
        for s in &self.signatures {
            let p = vals.power_of(&s.validator);
            if p == 0 {
                return Err(CertificateError::UnknownValidator(s.validator));
            }
            if !seen.insert(s.validator) {
                return Err(CertificateError::Duplicate(s.validator));
            }
            s.validator
                .verify(&msg, &s.signature)
                .map_err(|_| CertificateError::BadSignature(s.validator))?;
            power += p;
        }
        if !vals.is_quorum(power) {
            return Err(CertificateError::NoQuorum {
                power,
                total: vals.total_power(),
            });
        }
        Ok(())
    }
}
