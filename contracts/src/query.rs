//! Reads over committed state for the node's API (and for the rules themselves).
//!
//! Each function panics only on corrupted state (see [`crate::state::read`]).

use crate::keys;
use crate::model::{EnterpriseState, RecordRef, SequenceState};
use crate::state::{read, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::PublicKey;

/// The last committed sequence of `signer`; 0 when it has none (sequences start at 1).
/// DESIGN §3 "Submission semantics".
pub fn last_sequence(state: &dyn StateRead, signer: &PublicKey) -> u64 {
    sequence_state(state, signer).map_or(0, |s| s.sequence)
}

/// The signer's last committed sequence with the transaction and height that carried it.
pub fn sequence_state(state: &dyn StateRead, signer: &PublicKey) -> Option<SequenceState> {
    read(state, &keys::sequence(signer))
}

/// The enterprise, or `None` when no enterprise record has created it.
pub fn enterprise(state: &dyn StateRead, id: &EnterpriseId) -> Option<EnterpriseState> {
    read(state, &keys::enterprise(id))
}

/// The latest `limit` accepted records about the enterprise, oldest first (its timeline's
/// tail). Empty for an unknown enterprise or `limit` 0.
pub fn enterprise_records(
    state: &dyn StateRead,
    id: &EnterpriseId,
    limit: usize,
) -> Vec<RecordRef> {
    let count = enterprise(state, id).map_or(0, |e| e.record_count);
    let start = count.saturating_sub(limit as u64);
    enterprise_records_from(state, id, start, limit)
}

/// At most `limit` accepted records about the enterprise starting at timeline position
/// `start` (0 = its first record), oldest first: for paging from the beginning.
pub fn enterprise_records_from(
    state: &dyn StateRead,
    id: &EnterpriseId,
    start: u64,
    limit: usize,
) -> Vec<RecordRef> {
    let count = enterprise(state, id).map_or(0, |e| e.record_count);
    let end = count.min(start.saturating_add(limit as u64));
    (start..end)
        .map(|n| match read(state, &keys::record(id, n)) {
            Some(r) => r,
            None => panic!("corrupted state: record {n} of {id} missing (count {count})"),
        })
        .collect()
}
