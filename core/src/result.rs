//! Execution results: what executing a transaction decided (DESIGN §3 "Order, then
//! execute"). Results are on the ledger: header h+1's `results_root` is the RFC 9162 root
//! over block h's results, so a refusal is as provable as an acceptance.

use crate::encoding::to_canonical;
use crate::hash::Hash;
use crate::merkle;
use serde::{Deserialize, Serialize};

/// Accepted, or refused by a named rule with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The record took effect.
    Accepted,
    /// A rule refused it; the record stays on the ledger with this result.
    Refused {
        /// The rule's name, e.g. `R1-permission`.
        rule: String,
        /// Why, naming parameter values and the records behind it.
        reason: String,
    },
}

/// One transaction's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxResult {
    /// The transaction id.
    pub tx_id: Hash,
    /// What execution decided.
    pub outcome: Outcome,
}

/// RFC 9162 root over `results`, leaf data = canonical encoding of each result.
pub fn results_root(results: &[TxResult]) -> Hash {
    let leaves: Vec<Hash> = results.iter().map(result_leaf).collect();
    merkle::root(&leaves)
}

/// The Merkle leaf hash of one result: `leaf_hash(to_canonical(result))` (RFC 9162 §2.1.1).
/// An auditor recomputes it to check a result's inclusion in the next header's
/// `results_root`.
pub fn result_leaf(result: &TxResult) -> Hash {
    merkle::leaf_hash(&to_canonical(result))
}
