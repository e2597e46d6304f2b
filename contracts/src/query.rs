//! Reads over committed state for the node's API (and for the rules themselves).
//!
//! Each function panics only on corrupted state (see [`crate::state::read`]).

use crate::keys;
use crate::model::{
    Assessment, EnterpriseState, LicenceStatusAt, RecordLocation, RecordRef, SequenceState,
};
use crate::registry::OfficerState;
use crate::rules::assessment;
use crate::rules::restriction::ReviewTask;
use crate::rules::RuleParams;
use crate::state::{read, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::TxKind;
use safeledger_core::{PublicKey, Timestamp, TxId};
use serde::{Deserialize, Serialize};

mod route;

pub use route::{route, QueryArgs, QueryError, QUERY_KINDS};

pub use crate::assistance::{open_requests, overdue_requests, request_state, unanswered};
pub use crate::governance::{proposal, validator_changes};
pub use crate::policy::active as active_policies;

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

/// Where the accepted record `tx` about an enterprise lives, if it is one.
pub fn record_location(state: &dyn StateRead, tx: &TxId) -> Option<RecordLocation> {
    read(state, &keys::record_location(tx))
}

/// An officer key's on-chain registration or revocation, if any (genesis officers have
/// none until revoked).
pub fn officer(state: &dyn StateRead, key: &PublicKey) -> Option<OfficerState> {
    read(state, &keys::officer(key))
}

/// One record with who signed it: the accountability view of issue 4 part 4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The timeline entry (height, kind, agency, effective date, signers, correction).
    pub record: RecordRef,
    /// Each signer's registered name (`None` for a genesis officer never renamed).
    pub signer_names: Vec<Option<String>>,
}

/// Who decided what and when about an enterprise: its latest `limit` records, oldest
/// first, of the given kinds (all kinds when `kinds` is empty), each with its signers.
pub fn decisions(
    state: &dyn StateRead,
    id: &EnterpriseId,
    kinds: &[TxKind],
    limit: usize,
) -> Vec<Decision> {
    let count = enterprise(state, id).map_or(0, |e| e.record_count);
    let mut out = Vec::new();
    for n in (0..count).rev() {
        if out.len() >= limit {
            break;
        }
        let Some(r) = read::<RecordRef>(state, &keys::record(id, n)) else {
            continue;
        };
        if !kinds.is_empty() && !kinds.contains(&r.kind) {
            continue;
        }
        let signer_names = r
            .signers
            .iter()
            .map(|k| officer(state, k).map(|o| o.name))
            .collect();
        out.push(Decision {
            record: r,
            signer_names,
        });
    }
    out.reverse();
    out
}

/// A timeline across agencies: the enterprise's records and those of the enterprises its
/// linked ids name (its ids at other agencies that have records of their own), merged in
/// order of effective date (then height and position), the latest `limit`.
pub fn cross_agency_timeline(
    state: &dyn StateRead,
    id: &EnterpriseId,
    limit: usize,
) -> Vec<(EnterpriseId, RecordRef)> {
    let Some(e) = enterprise(state, id) else {
        return Vec::new();
    };
    let mut ids = vec![id.clone()];
    for l in &e.linked_ids {
        if let Ok(other) = EnterpriseId::parse(l) {
            if other != *id && enterprise(state, &other).is_some() {
                ids.push(other);
            }
        }
    }
    let mut all: Vec<(EnterpriseId, RecordRef)> = ids
        .iter()
        .flat_map(|i| {
            enterprise_records(state, i, limit)
                .into_iter()
                .map(move |r| (i.clone(), r))
        })
        .collect();
    all.sort_by_key(|(_, r)| (r.effective_at, r.height, r.index));
    let start = all.len().saturating_sub(limit);
    all.split_off(start)
}

/// A licence's status at block time `now` (expiry computed from block time).
pub fn licence_status(
    state: &dyn StateRead,
    id: &EnterpriseId,
    number: &str,
    now: Timestamp,
) -> Option<LicenceStatusAt> {
    enterprise(state, id)?
        .licences
        .get(number)
        .map(|l| l.status_at(now))
}

/// Credit grade and risk level of an enterprise evaluated at `t` under `params` (the
/// stored [`EnterpriseState::assessment`] is the one at its last record).
pub fn assessment_at(
    state: &dyn StateRead,
    id: &EnterpriseId,
    t: Timestamp,
    params: &RuleParams,
) -> Option<Assessment> {
    enterprise(state, id).map(|e| assessment::evaluate(&e, t, params))
}

/// At most `limit` review tasks (R3) in `agency`'s inbox from position `start`.
pub fn inbox(state: &dyn StateRead, agency: &str, start: u64, limit: usize) -> Vec<ReviewTask> {
    let count: u64 = read(state, &keys::inbox_count(agency)).unwrap_or(0);
    let end = count.min(start.saturating_add(limit as u64));
    (start..end)
        .filter_map(|n| read(state, &keys::inbox(agency, n)))
        .collect()
}
