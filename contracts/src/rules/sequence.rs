//! R0-sequence: a submitter's `sequence` is strictly greater than its last committed one;
//! gaps are allowed (DESIGN §3 "Submission semantics"). This makes resubmission
//! idempotent and replays impossible.
//!
//! The sequence advances when the transaction is accepted *and* when a later rule refuses
//! it: a refused record is on the ledger too, so resubmitting it is a replay. That
//! includes R0-signer refusing the submitter (an officer revoked between admission and
//! commit): its sequence, when above the last, is used up too. A transaction refused by
//! R0-sequence itself advances nothing; its sequence is already at most the last. So
//! after every commit, each committed transaction's sequence is at most its submitter's
//! last committed sequence: a transaction above it cannot be committed already, and the
//! node skips its "already committed" lookup for those.

use super::{Refusal, R0_SEQUENCE};
use crate::keys;
use crate::model::SequenceState;
use crate::query::sequence_state;
use crate::state::{Overlay, StateRead};
use safeledger_core::{PublicKey, TxId};

/// Passes when `sequence` is above the signer's last committed sequence (0 when none).
pub fn check(state: &dyn StateRead, signer: &PublicKey, sequence: u64) -> Result<(), Refusal> {
    match sequence_state(state, signer) {
        Some(last) if sequence <= last.sequence => Err(Refusal::new(
            R0_SEQUENCE,
            format!(
                "sequence {sequence} of signer {signer} is not above its last committed \
                 sequence {} (tx {} at height {})",
                last.sequence, last.tx_id, last.height
            ),
        )),
        _ => Ok(()),
    }
}

/// Records `sequence` as the signer's last committed one.
pub fn advance(
    view: &mut Overlay<'_>,
    signer: &PublicKey,
    sequence: u64,
    tx_id: TxId,
    height: u64,
) {
    let state = SequenceState {
        sequence,
        tx_id,
        height,
    };
    view.put(keys::sequence(signer), &state);
}
