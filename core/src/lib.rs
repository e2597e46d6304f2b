//! # safeledger-core
//!
//! The vocabulary every other crate shares: canonical encoding, BLAKE3 hashing with a
//! `derive_key` context per purpose, ed25519 keys and signatures, the transaction envelope,
//! block header and commit certificate, consensus messages, Merkle commitments (RFC 9162
//! shape) and the genesis file.
//!
//! Invariant: this crate does no I/O, reads no clock and draws no randomness except through
//! functions that take an RNG from the caller. Everything hashed or signed goes through
//! [`encoding::to_canonical`].

pub mod beacon;
pub mod block;
pub mod consensus;
pub mod draw;
pub mod draw_audit;
pub mod encoding;
pub mod envelope;
pub mod evidence;
pub mod genesis;
pub mod hash;
pub mod ids;
pub mod keys;
pub mod ledger_tree;
pub mod lightclient;
pub mod limits;
pub mod merkle;
pub mod private;
pub mod proof;
pub mod records;
pub mod result;
pub mod state_chunks;
pub mod state_tree;
pub mod time;
pub mod tx;
pub mod view;

pub use block::{Block, CommitCertificate, CommitSig, Header};
pub use consensus::{Proposal, Vote, VoteType};
pub use encoding::{from_canonical, to_canonical, DecodeError};
pub use genesis::{Agency, Genesis, Validator, ValidatorSet};
pub use hash::{Domain, Hash};
pub use keys::{PublicKey, SecretKey, Signature, SignatureError};
pub use records::TxBody;
pub use result::{Outcome, TxResult};
pub use time::Timestamp;
pub use tx::{Transaction, TxId, TxPayload, TxSignature};
