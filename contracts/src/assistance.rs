//! Assistance requests between agencies (DESIGN §5 R1, R7).
//!
//! A request names the addressed agency, the enterprise, a subject and a due time —
//! [`crate::RuleParams::assistance_due_hours`] (default 24 h) after the block that commits
//! it unless it names its own. Only the addressed agency responds (R1-assistance-response),
//! once. Open, answered and overdue are derived from block time: a request is overdue when
//! unanswered past its due time. Requests committed with their due time already past
//! cannot be (the due time counts from commit), so every overdue request is an emergency
//! in the sense of DESIGN §5 "Two clocks".
//!
//! Each addressed agency has a queue of its open requests (`asstq/<agency>`), from which
//! [`open_requests`] and [`overdue_requests`] list; answered requests leave it.

use crate::keys;
use crate::registry::Registry;
use crate::rules::{RecordContext, Refusal, RuleParams, R0_DUPLICATE, R0_REFERENCE, R1_ASSISTANCE};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{AssistanceRequest, AssistanceResponse};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// One assistance request and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistanceState {
    /// Requesting agency.
    pub from_agency: String,
    /// Its id for the request.
    pub request_id: String,
    /// Addressed agency.
    pub to_agency: String,
    /// The enterprise concerned.
    pub enterprise: EnterpriseId,
    /// What is asked.
    pub subject: String,
    /// The request record.
    pub tx_id: TxId,
    /// Block time of its commit.
    pub created_at: Timestamp,
    /// Due time (block time).
    pub due_at: Timestamp,
    /// The response and its block time, once answered.
    pub answered: Option<(TxId, Timestamp)>,
}

/// A request's status at a block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistanceStatus {
    /// Unanswered, not yet due.
    Open,
    /// Unanswered past its due time (R7).
    Overdue,
    /// Answered.
    Answered,
}

impl AssistanceState {
    /// Status at block time `now`.
    pub fn status_at(&self, now: Timestamp) -> AssistanceStatus {
        match self.answered {
            Some(_) => AssistanceStatus::Answered,
            None if now > self.due_at => AssistanceStatus::Overdue,
            None => AssistanceStatus::Open,
        }
    }
}

/// Records a request from `rc.agency`.
pub fn request(
    view: &mut Overlay<'_>,
    registry: &Registry,
    r: &AssistanceRequest,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    if !registry.active_agencies(view).contains(&r.to_agency) {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!("addressed agency {:?} is not an active agency", r.to_agency),
        ));
    }
    let key = keys::assistance(rc.agency, &r.request_id);
    if let Some(first) = read::<AssistanceState>(view, &key) {
        return Err(Refusal::new(
            R0_DUPLICATE,
            format!(
                "agency {} already made assistance request {:?} (tx {})",
                rc.agency, r.request_id, first.tx_id
            ),
        ));
    }
    let hours = r
        .due_in_hours
        .map_or(params.assistance_due_hours, u64::from);
    let st = AssistanceState {
        from_agency: rc.agency.to_string(),
        request_id: r.request_id.clone(),
        to_agency: r.to_agency.clone(),
        enterprise: r.enterprise.clone(),
        subject: r.subject.clone(),
        tx_id: rc.tx_id,
        created_at: rc.block_time,
        due_at: Timestamp(
            rc.block_time
                .0
                .saturating_add(hours.saturating_mul(3_600_000)),
        ),
        answered: None,
    };
    view.put(key, &st);
    let qkey = keys::assistance_queue(&r.to_agency);
    let mut q: Vec<(String, String)> = read(view, &qkey).unwrap_or_default();
    q.push((rc.agency.to_string(), r.request_id.clone()));
    view.put(qkey, &q);
    let nkey = keys::assistance_sent_count(rc.agency);
    let n: u64 = read(view, &nkey).unwrap_or(0);
    view.put(keys::assistance_sent(rc.agency, n), &r.request_id);
    view.put(nkey, &(n + 1));
    Ok(())
}

/// Records the addressed agency's response.
pub fn respond(
    view: &mut Overlay<'_>,
    r: &AssistanceResponse,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let key = keys::assistance(&r.from_agency, &r.request_id);
    let Some(mut st) = read::<AssistanceState>(view, &key) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "agency {} made no assistance request {:?}",
                r.from_agency, r.request_id
            ),
        ));
    };
    if st.to_agency != rc.agency {
        return Err(Refusal::new(
            R1_ASSISTANCE,
            format!(
                "assistance request {:?} of {} (tx {}) is addressed to {}; only it may \
                 respond, not {}",
                r.request_id, r.from_agency, st.tx_id, st.to_agency, rc.agency
            ),
        ));
    }
    if st.enterprise != r.enterprise {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "assistance request {:?} (tx {}) is about {}, not {}",
                r.request_id, st.tx_id, st.enterprise, r.enterprise
            ),
        ));
    }
    if let Some((tx, _)) = st.answered {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "assistance request {:?} (tx {}) was already answered by tx {tx}",
                r.request_id, st.tx_id
            ),
        ));
    }
    st.answered = Some((rc.tx_id, rc.block_time));
    view.put(key, &st);
    let qkey = keys::assistance_queue(rc.agency);
    let mut q: Vec<(String, String)> = read(view, &qkey).unwrap_or_default();
    q.retain(|(f, id)| !(f == &r.from_agency && id == &r.request_id));
    view.put(qkey, &q);
    Ok(())
}

/// One request by (requesting agency, request id).
pub fn request_state(
    state: &dyn StateRead,
    from: &str,
    request_id: &str,
) -> Option<AssistanceState> {
    read(state, &keys::assistance(from, request_id))
}

/// The unanswered requests addressed to `agency` with their status at block time `now`,
/// oldest first.
pub fn unanswered(
    state: &dyn StateRead,
    agency: &str,
    now: Timestamp,
) -> Vec<(AssistanceState, AssistanceStatus)> {
    let q: Vec<(String, String)> = read(state, &keys::assistance_queue(agency)).unwrap_or_default();
    q.iter()
        .filter_map(|(from, id)| request_state(state, from, id))
        .map(|s| {
            let st = s.status_at(now);
            (s, st)
        })
        .collect()
}

/// The latest `limit` requests `agency` made, newest first, each with its status at block
/// time `now` (answered ones name the response's transaction and block time in
/// [`AssistanceState::answered`]).
pub fn sent(
    state: &dyn StateRead,
    agency: &str,
    now: Timestamp,
    limit: usize,
) -> Vec<(AssistanceState, AssistanceStatus)> {
    let count: u64 = read(state, &keys::assistance_sent_count(agency)).unwrap_or(0);
    (0..count)
        .rev()
        .take(limit)
        .filter_map(|n| read::<String>(state, &keys::assistance_sent(agency, n)))
        .filter_map(|id| request_state(state, agency, &id))
        .map(|s| {
            let st = s.status_at(now);
            (s, st)
        })
        .collect()
}

/// Requests addressed to `agency` still open (not yet due) at block time `now`.
pub fn open_requests(state: &dyn StateRead, agency: &str, now: Timestamp) -> Vec<AssistanceState> {
    unanswered(state, agency, now)
        .into_iter()
        .filter(|(_, s)| *s == AssistanceStatus::Open)
        .map(|(r, _)| r)
        .collect()
}

/// Requests addressed to `agency` overdue at block time `now` (R7: visible to every
/// agency — any agency may ask for any other's).
pub fn overdue_requests(
    state: &dyn StateRead,
    agency: &str,
    now: Timestamp,
) -> Vec<AssistanceState> {
    unanswered(state, agency, now)
        .into_iter()
        .filter(|(_, s)| *s == AssistanceStatus::Overdue)
        .map(|(r, _)| r)
        .collect()
}
