//! What a transaction id commits to (DESIGN §4): the payload's chain id, sequence,
//! `effective_at` and field-commitment root — not the record body or the salts.
//!
//! The body and salts are bound to the id through `field_root`, the RFC 9162 root over the
//! field leaves H_field(salt ‖ name ‖ canonical value), which every stateless check
//! recomputes ([`crate::tx::Transaction::check_stateless`]). So an officer's signature over
//! `"safeledger/tx/v1" ‖ chain_id ‖ tx_id` covers every field, yet a desensitized view
//! ([`crate::view`]) can prove the signed transaction while showing some fields only as
//! digests.

use crate::encoding::to_canonical;
use crate::hash::{Domain, Hash};
use crate::time::Timestamp;
use crate::tx::{TxId, TX_SIGNING_DOMAIN};
use serde::{Deserialize, Serialize};

/// The signed part of a transaction as a view shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The chain the transaction is for.
    pub chain_id: String,
    /// The submitting officer's sequence number.
    pub sequence: u64,
    /// When the act happened.
    pub effective_at: Timestamp,
    /// Merkle root over the field leaves.
    pub field_root: Hash,
}

/// The transaction id: [`Domain::Transaction`] hash of
/// `canonical(chain_id, sequence, effective_at, field_root)`.
pub fn tx_id(chain_id: &str, sequence: u64, effective_at: Timestamp, field_root: &Hash) -> TxId {
    Domain::Transaction.hash(&to_canonical(&(
        chain_id,
        sequence,
        effective_at,
        field_root,
    )))
}

/// The bytes each signer signs: `TX_SIGNING_DOMAIN ‖ len(chain_id) ‖ chain_id ‖ tx_id`.
pub fn signing_bytes(chain_id: &str, id: &TxId) -> Vec<u8> {
    let mut m = Vec::with_capacity(TX_SIGNING_DOMAIN.len() + chain_id.len() + 33);
    m.extend_from_slice(TX_SIGNING_DOMAIN);
    m.push(chain_id.len() as u8);
    m.extend_from_slice(chain_id.as_bytes());
    m.extend_from_slice(&id.0);
    m
}

impl Envelope {
    /// The envelope of a payload.
    pub fn of(p: &crate::tx::TxPayload) -> Envelope {
        Envelope {
            chain_id: p.chain_id.clone(),
            sequence: p.sequence,
            effective_at: p.effective_at,
            field_root: p.field_root,
        }
    }

    /// The transaction id.
    pub fn id(&self) -> TxId {
        tx_id(
            &self.chain_id,
            self.sequence,
            self.effective_at,
            &self.field_root,
        )
    }
}
