//! Reads over committed state for the node's API (and for the rules themselves).
//!
//! Each function panics only on corrupted state (see [`crate::state::read`]).

use crate::assistance::{AssistanceState, AssistanceStatus};
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
pub mod tasks;

pub use route::{route, QueryArgs, QueryError, AUDIT_QUERY_KINDS, PUBLIC_QUERY_KINDS, QUERY_KINDS};

pub use crate::assistance::{open_requests, overdue_requests, request_state, sent, unanswered};
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

/// An enterprise's state as JSON for people and programs reading it at block time `now`
/// (issue 18, point 5): each licence's `status` is its status at `now`
/// ([`LicenceState::status_at`](crate::model::LicenceState::status_at): `expired` once
/// `valid_until` has passed), the stored one is kept as `recorded_status`, and `as_of` is
/// `now` (ms since 1970). The state and the rules are unchanged (DESIGN "two clocks").
///
/// # Errors
/// The state did not serialize (a bug).
pub fn enterprise_as_of(
    e: &EnterpriseState,
    now: Timestamp,
) -> Result<serde_json::Value, serde_json::Error> {
    let mut v = serde_json::to_value(e)?;
    if let Some(licences) = v.get_mut("licences").and_then(|l| l.as_object_mut()) {
        for (number, l) in licences.iter_mut() {
            let (Some(state), Some(obj)) = (e.licences.get(number), l.as_object_mut()) else {
                continue;
            };
            let recorded = obj.remove("status").unwrap_or(serde_json::Value::Null);
            obj.insert("status".into(), serde_json::to_value(state.status_at(now))?);
            obj.insert("recorded_status".into(), recorded);
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("as_of".into(), serde_json::to_value(now)?);
    }
    Ok(v)
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

/// Review tasks [`open_inbox`] looks at, newest first: older ones are not scanned (and
/// the answer says so).
pub const MAX_INBOX_SCAN: u64 = 10_000;

/// One open task of an agency ([`open_inbox`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboxTask {
    /// Answer an assistance request addressed to the agency (R7): `open` until its due
    /// time, then `overdue`; it leaves the inbox when answered.
    AssistanceRequest {
        /// Open or overdue at the inbox's block time.
        status: AssistanceStatus,
        /// The request.
        request: AssistanceState,
    },
    /// Review the agency's licences of an enterprise after a severe penalty by another
    /// agency (R3); it leaves the inbox once the agency records a decision on one of those
    /// licences effective on or after the penalty.
    LicenceReview {
        /// The task.
        task: ReviewTask,
    },
}

/// An agency's open tasks at a block time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    /// The agency.
    pub agency: String,
    /// The block time the statuses are judged at (ms since 1970).
    pub as_of: Timestamp,
    /// Open tasks in all (those shown and those past the limit).
    pub open: usize,
    /// Overdue assistance requests first (oldest due first), then open ones, then review
    /// tasks newest first; at most the limit asked for.
    pub tasks: Vec<InboxTask>,
    /// Review tasks older than the newest [`MAX_INBOX_SCAN`] were not looked at.
    pub older_not_scanned: bool,
}

/// Every open task of `agency` at block time `now` (issue 18, point 6): the assistance
/// requests addressed to it and not answered, and its licence reviews (R3) not yet
/// acted on; at most `limit` listed, `open` counting all.
pub fn open_inbox(state: &dyn StateRead, agency: &str, now: Timestamp, limit: usize) -> Inbox {
    let mut asks = crate::assistance::unanswered(state, agency, now);
    asks.sort_by_key(|(r, st)| (*st != AssistanceStatus::Overdue, r.due_at));
    let mut tasks: Vec<InboxTask> = asks
        .into_iter()
        .map(|(request, status)| InboxTask::AssistanceRequest { status, request })
        .collect();
    let count: u64 = read(state, &keys::inbox_count(agency)).unwrap_or(0);
    let floor = count.saturating_sub(MAX_INBOX_SCAN);
    for n in (floor..count).rev() {
        let Some(task) = read::<ReviewTask>(state, &keys::inbox(agency, n)) else {
            continue;
        };
        if !review_done(state, agency, &task) {
            tasks.push(InboxTask::LicenceReview { task });
        }
    }
    let open = tasks.len();
    tasks.truncate(limit);
    Inbox {
        agency: agency.to_string(),
        as_of: now,
        open,
        tasks,
        older_not_scanned: floor > 0,
    }
}

/// Whether `agency` recorded a decision (not set aside) on one of the task's licences
/// effective on or after the penalty.
fn review_done(state: &dyn StateRead, agency: &str, task: &ReviewTask) -> bool {
    let Some(e) = enterprise(state, &task.enterprise) else {
        return false;
    };
    task.licences
        .iter()
        .filter_map(|n| e.licences.get(n))
        .filter(|l| l.agency == agency)
        .any(|l| {
            l.history
                .iter()
                .any(|h| !h.escalation && h.set_aside.is_none() && h.effective_at >= task.at)
        })
}

/// At most `limit` review tasks (R3) in `agency`'s inbox from position `start`.
pub fn inbox(state: &dyn StateRead, agency: &str, start: u64, limit: usize) -> Vec<ReviewTask> {
    let count: u64 = read(state, &keys::inbox_count(agency)).unwrap_or(0);
    let end = count.min(start.saturating_add(limit as u64));
    (start..end)
        .filter_map(|n| read(state, &keys::inbox(agency, n)))
        .collect()
}
