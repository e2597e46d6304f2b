//! The open tasks a state object gives the agencies (issue 19 item 2: one inbox per
//! agency).
//!
//! Each state object that can ask an agency to act — an assistance request, an access
//! request, a licence application, a governance proposal, an R3 review task, an enterprise
//! (its tracked hazards and its licences' ends) — gives zero or more [`Task`]s, derived
//! from the object alone (and, for an R3 review, the enterprise it names), so an index can
//! keep them per object and replace them whenever the object's key is written. A task is
//! gone when the record that closes it has committed: the object it came from then gives
//! no such task. Nothing here depends on the time: whether a task is overdue, or a licence
//! near enough its end to show, is judged by the reader against the block time.

use crate::access::{AccessState, AccessStatus};
use crate::assistance::AssistanceState;
use crate::governance::{ProposalState, ProposalStatus};
use crate::keys;
use crate::model::{EnterpriseState, FindingKind, LicenceStatus};
use crate::rules::application::ApplicationState;
use crate::rules::restriction::ReviewTask;
use crate::state::{read, StateRead};
use safeledger_core::records::{LicenceApplicationKind, TxKind};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// The prefixes of the state keys whose objects give tasks.
pub const TASK_PREFIXES: [&[u8]; 8] = [
    crate::tips::PREFIX,
    b"asst/",
    crate::cosign::PREFIX,
    b"acc/",
    b"app/",
    b"gov/",
    b"inbox/",
    keys::ENTERPRISE_PREFIX,
];

/// What an agency is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Answer an assistance request addressed to the agency (R7).
    AssistanceRequest,
    /// Grant or refuse access to private fields of a record it made.
    AccessRequest,
    /// Decide a licence application filed with it, by the decision's time limit.
    LicenceApplication,
    /// Accept an application filed with it, or give the one-time notice of missing
    /// materials, by that step's time limit (issue 19 item 7).
    ApplicationAcceptance,
    /// Wait for the applicant's resupply of the materials its notice named (no time
    /// limit runs for the agency meanwhile).
    ApplicationResupply,
    /// Vote on a governance proposal.
    ProposalVote,
    /// Review its licences of an enterprise after another agency's severe penalty (R3).
    LicenceReview,
    /// A hazard its inspection found awaits rectification by its deadline.
    HazardRectification,
    /// A hazard reported rectified awaits its re-inspection.
    HazardReinspection,
    /// A licence it granted reaches the end of its term.
    LicenceExpiry,
    /// A licence decision one of its officers proposed awaits co-signatures by its
    /// deadline (issue 19 item 5).
    DecisionSignature,
    /// A licensed enterprise it inspects is due its next routine inspection
    /// ([`crate::plan`]; issue 20 item 1).
    RoutineInspection,
    /// Triage a public tip-off it received, by the governed time limit ([`crate::tips`];
    /// issue 20 item 5).
    TipTriage,
    /// Follow up a sensor alert the enterprise did not acknowledge in time: the next
    /// inspection of the enterprise closes it ([`crate::monitoring`]; issue 20 item 6).
    AlertFollowUp,
}

impl TaskKind {
    /// The record kinds that close a task of this kind: an officer whose posts allow none
    /// of them has nothing to do with it (the per-officer inbox, [`open_to_officer`]).
    pub fn closing_kinds(self) -> &'static [TxKind] {
        use TxKind as K;
        match self {
            TaskKind::AssistanceRequest => &[K::AssistanceResponse],
            TaskKind::AccessRequest => &[K::AccessGrant],
            TaskKind::LicenceApplication | TaskKind::LicenceReview => {
                &[K::LicenceDecision, K::DecisionProposal]
            }
            TaskKind::ApplicationAcceptance | TaskKind::ApplicationResupply => {
                &[K::ApplicationStep]
            }
            TaskKind::ProposalVote => &[K::GovernanceVote],
            TaskKind::HazardRectification => &[K::RectificationReport],
            TaskKind::HazardReinspection
            | TaskKind::RoutineInspection
            | TaskKind::AlertFollowUp => &[K::InspectionRecord],
            TaskKind::TipTriage => &[K::TipFollowUp],
            TaskKind::LicenceExpiry => &[K::LicenceApplication, K::LicenceDecision],
            TaskKind::DecisionSignature => &[K::DecisionSignature],
        }
    }
}

/// Whether `task` is for the officer `key` holding `posts` (issue 19 item 2, one inbox
/// per officer): its posts allow a record that closes it ([`crate::RuleParams::posts_allow`],
/// as R1-role judges), and a collective decision awaits its signature only when it has not
/// signed it yet.
pub fn open_to_officer(
    state: &dyn StateRead,
    task: &Task,
    key: &safeledger_core::PublicKey,
    posts: &[String],
    params: &crate::RuleParams,
) -> bool {
    if !task
        .kind
        .closing_kinds()
        .iter()
        .any(|k| params.posts_allow(posts, *k))
    {
        return false;
    }
    if task.kind == TaskKind::DecisionSignature {
        let st: Option<crate::cosign::CosignState> = read(state, &crate::cosign::key(&task.source));
        return st.is_none_or(|s| !s.signers().contains(key));
    }
    true
}

/// One open task of one agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Whose inbox.
    pub agency: String,
    /// What to do.
    pub kind: TaskKind,
    /// When it is due (`None`: no time limit is tracked).
    pub due: Option<Timestamp>,
    /// The enterprise concerned, when there is one.
    pub enterprise: Option<String>,
    /// The record that opened it.
    pub source: TxId,
    /// What is asked, for people.
    pub what: String,
    /// The record that will close it, for people.
    pub closed_by: String,
}

/// The tasks of the object under state key `key` in `state`, given the agencies that vote
/// (`voters`, for proposals) and the rule parameters in force (`params`, for routine
/// inspections; a caller deriving many objects loads them once). Empty for a key of
/// another kind or an absent object.
pub fn tasks_of(
    state: &dyn StateRead,
    key: &[u8],
    voters: &[String],
    params: &crate::RuleParams,
) -> Vec<Task> {
    if key.starts_with(crate::tips::PREFIX) {
        read::<crate::tips::TipState>(state, key).map_or_else(Vec::new, |t| crate::tips::tasks(&t))
    } else if key.starts_with(b"asst/") {
        read::<AssistanceState>(state, key).map_or_else(Vec::new, |a| assistance(&a))
    } else if key.starts_with(b"acc/") {
        read::<AccessState>(state, key).map_or_else(Vec::new, |a| access(&a))
    } else if key.starts_with(b"app/") {
        read::<ApplicationState>(state, key).map_or_else(Vec::new, |a| application(&a, key))
    } else if key.starts_with(b"gov/") {
        let id = String::from_utf8_lossy(&key[4..]).into_owned();
        read::<ProposalState>(state, key).map_or_else(Vec::new, |p| proposal(&p, &id, voters))
    } else if key.starts_with(b"inbox/") {
        review(state, key)
    } else if key.starts_with(crate::cosign::PREFIX) {
        read::<crate::cosign::CosignState>(state, key).map_or_else(Vec::new, |c| cosign(&c))
    } else if key.starts_with(keys::ENTERPRISE_PREFIX) {
        read::<EnterpriseState>(state, key).map_or_else(Vec::new, |e| {
            let mut tasks = enterprise(&e);
            tasks.extend(routine(&e, params));
            tasks.extend(crate::monitoring::tasks(&e));
            tasks
        })
    } else {
        Vec::new()
    }
}

fn assistance(a: &AssistanceState) -> Vec<Task> {
    if a.answered.is_some() {
        return Vec::new();
    }
    vec![Task {
        agency: a.to_agency.clone(),
        kind: TaskKind::AssistanceRequest,
        due: Some(a.due_at),
        enterprise: Some(a.enterprise.as_str().to_string()),
        source: a.tx_id,
        what: format!(
            "answer assistance request {} from {}: {}",
            a.request_id, a.from_agency, a.subject
        ),
        closed_by: format!(
            "an assistance_response to {} {}",
            a.from_agency, a.request_id
        ),
    }]
}

fn access(a: &AccessState) -> Vec<Task> {
    if a.status != AccessStatus::Open {
        return Vec::new();
    }
    vec![Task {
        agency: a.owner.clone(),
        kind: TaskKind::AccessRequest,
        due: None,
        enterprise: None,
        source: a.request_tx,
        what: format!(
            "answer {}'s request {} to read [{}] of record {}: {}",
            a.requester,
            a.request_id,
            a.fields.join(", "),
            a.record,
            a.purpose
        ),
        closed_by: format!("an access_grant answering {} {}", a.requester, a.request_id),
    }]
}

fn application(a: &ApplicationState, key: &[u8]) -> Vec<Task> {
    if a.answered_by.is_some() || a.withdrawn_by.is_some() {
        return Vec::new();
    }
    let Some(source) = key
        .get(4..)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(safeledger_core::Hash)
    else {
        return Vec::new();
    };
    let licence = a
        .licence_number
        .as_deref()
        .map(|n| format!(" of licence {n}"))
        .unwrap_or_default();
    let what = format!(
        "application {} ({}{licence}) filed {}",
        a.application_id,
        match a.kind {
            LicenceApplicationKind::New => "new licence",
            LicenceApplicationKind::Renewal => "renewal",
        },
        a.filed_at.date_string()
    );
    let task = |kind, due, what: String, closed_by: String| Task {
        agency: a.agency.clone(),
        kind,
        due,
        enterprise: Some(a.enterprise.as_str().to_string()),
        source,
        what,
        closed_by,
    };
    let decide_by = a
        .decision_due
        .map(|d| format!("; decide by {}", last_day(d)))
        .unwrap_or_default();
    if let Some(n) = a.notice.as_ref().filter(|_| a.awaiting_materials()) {
        return vec![task(
            TaskKind::ApplicationResupply,
            None,
            format!(
                "await the applicant's resupply of {} item(s) notice {} named for {what}: {}",
                n.items.len(),
                n.tx,
                n.items.join("; ")
            ),
            format!("an application_step resupplied naming application {source}"),
        )];
    }
    if a.accepted.is_none() && a.resupplied.is_none() {
        return vec![task(
            TaskKind::ApplicationAcceptance,
            Some(last_moment(a.notice_due)),
            format!(
                "accept {what}, or notify every missing item at once, by {}{decide_by}",
                last_day(a.notice_due)
            ),
            format!("an application_step accept or notify_missing naming application {source}"),
        )];
    }
    vec![task(
        TaskKind::LicenceApplication,
        a.decision_due.map(last_moment),
        format!("decide {what}{decide_by}"),
        format!("a licence_decision naming application {source}"),
    )]
}

/// The last millisecond before `overdue_from` (a time limit's last moment).
fn last_moment(overdue_from: Timestamp) -> Timestamp {
    Timestamp(overdue_from.0.saturating_sub(1))
}

/// The date (UTC+8) of a time limit's last day.
fn last_day(overdue_from: Timestamp) -> String {
    crate::calendar::date_of_day(crate::calendar::day_of(last_moment(overdue_from)))
}

fn proposal(p: &ProposalState, id: &str, voters: &[String]) -> Vec<Task> {
    if p.status != ProposalStatus::Open {
        return Vec::new();
    }
    voters
        .iter()
        .filter(|a| !p.votes.contains_key(*a))
        .map(|a| Task {
            agency: a.clone(),
            kind: TaskKind::ProposalVote,
            due: None,
            enterprise: None,
            source: p.tx_id,
            what: format!("vote on proposal {id} by {}", p.proposer),
            closed_by: format!("a governance_vote on {id}"),
        })
        .collect()
}

fn cosign(c: &crate::cosign::CosignState) -> Vec<Task> {
    if c.took_effect.is_some() {
        return Vec::new();
    }
    let d = &c.decision;
    vec![Task {
        agency: c.agency.clone(),
        kind: TaskKind::DecisionSignature,
        due: Some(c.deadline),
        enterprise: Some(c.enterprise.as_str().to_string()),
        source: c.tx_id,
        what: format!(
            "co-sign proposal {} to {} licence {} (signed by {} so far)",
            c.proposal_id,
            serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            d.licence_number,
            c.signatures.len()
        ),
        closed_by: format!(
            "decision_signatures by officers with an approving role until collective_k have \
             signed proposal {}; past the deadline it lapses",
            c.tx_id
        ),
    }]
}

fn review(state: &dyn StateRead, key: &[u8]) -> Vec<Task> {
    let Some(task) = read::<ReviewTask>(state, key) else {
        return Vec::new();
    };
    // The agency is the first element of the key's canonical (agency, n).
    let Ok((agency, _)) = safeledger_core::from_canonical::<(String, u64)>(&key[6..]) else {
        return Vec::new();
    };
    if super::review_done(state, &agency, &task) {
        return Vec::new();
    }
    vec![Task {
        kind: TaskKind::LicenceReview,
        due: None,
        enterprise: Some(task.enterprise.as_str().to_string()),
        source: task.penalty,
        what: format!(
            "review licences [{}] after {}'s severe penalty of {}",
            task.licences.join(", "),
            task.penalizing_agency,
            task.at.date_string()
        ),
        closed_by: "a licence_decision on one of those licences effective on or after the penalty"
            .to_string(),
        agency,
    }]
}

/// The routine inspections `e` is due, one per agency that inspects it ([`crate::plan`];
/// relief judged at each agency's latest inspection).
fn routine(e: &EnterpriseState, params: &crate::RuleParams) -> Vec<Task> {
    crate::plan::routine(e, params, None)
        .into_iter()
        .map(|p| Task {
            agency: p.agency,
            kind: TaskKind::RoutineInspection,
            due: Some(p.due),
            enterprise: Some(e.id.as_str().to_string()),
            source: p.last_inspection.0,
            what: format!(
                "routine inspection ({} a year at risk {:?}{}): the last was {}",
                p.per_year,
                p.risk,
                if p.relief {
                    ", accident-free relief"
                } else {
                    ""
                },
                p.last_inspection.1.date_string()
            )
            .to_lowercase(),
            closed_by: "an inspection_record of the enterprise".into(),
        })
        .collect()
}

fn enterprise(e: &EnterpriseState) -> Vec<Task> {
    let mut out = Vec::new();
    let id = e.id.as_str().to_string();
    for f in e.findings.iter().filter(|f| f.standing()) {
        let FindingKind::Inspection {
            inspection_id,
            hazards,
            ..
        } = &f.what
        else {
            continue;
        };
        // A later standing inspection following this one up re-inspected it.
        let reinspected = e.findings.iter().any(|g| {
            g.standing()
                && matches!(&g.what, FindingKind::Inspection { follow_up_of: Some(of), .. } if of == inspection_id)
        });
        for h in hazards.iter().filter(|h| h.live) {
            match h.rectified {
                None => out.push(Task {
                    agency: f.agency.clone(),
                    kind: TaskKind::HazardRectification,
                    due: h.rectify_by,
                    enterprise: Some(id.clone()),
                    source: f.tx_id,
                    what: format!(
                        "{}hazard {} of inspection {inspection_id} awaits rectification",
                        if h.major { "major " } else { "" },
                        h.code
                    ),
                    closed_by: format!(
                        "a rectification_report or a re-inspection (follow_up_of \
                         {inspection_id}) naming hazard {}",
                        h.code
                    ),
                }),
                Some((by, at)) if !reinspected => {
                    let by_inspection = e
                        .findings
                        .iter()
                        .any(|g| g.tx_id == by && matches!(g.what, FindingKind::Inspection { .. }));
                    if !by_inspection {
                        out.push(Task {
                            agency: f.agency.clone(),
                            kind: TaskKind::HazardReinspection,
                            due: None,
                            enterprise: Some(id.clone()),
                            source: by,
                            what: format!(
                                "hazard {} of inspection {inspection_id} reported rectified \
                                 {}: re-inspect",
                                h.code,
                                at.date_string()
                            ),
                            closed_by: format!("an inspection with follow_up_of {inspection_id}"),
                        });
                    }
                }
                Some(_) => {}
            }
        }
    }
    for (number, l) in &e.licences {
        if l.status != LicenceStatus::Active {
            continue;
        }
        let Some(until) = l.valid_until else { continue };
        out.push(Task {
            agency: l.agency.clone(),
            kind: TaskKind::LicenceExpiry,
            due: Some(until),
            enterprise: Some(id.clone()),
            source: l.last_decision,
            what: format!(
                "licence {number} ({}) ends {}",
                l.licence_type,
                until.date_string()
            ),
            closed_by: format!(
                "a licence_decision renewing, suspending or revoking licence {number}"
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use safeledger_core::records::{
        InspectionOutcome, LicenceDecisionKind, RectificationReport, Severity, TxBody, Violation,
    };

    fn inspection_with(id: &str, follow_up_of: Option<&str>, hazards: &[(&str, u64)]) -> TxBody {
        match inspection(1, id, InspectionOutcome::PassWithConditions) {
            TxBody::InspectionRecord(mut r) => {
                r.follow_up_of = follow_up_of.map(String::from);
                r.violations = hazards
                    .iter()
                    .map(|(code, by)| Violation {
                        code: (*code).into(),
                        severity: Severity::High,
                        description: "guardrail missing".into(),
                        rectify_by: Some(day(*by)),
                    })
                    .collect();
                TxBody::InspectionRecord(r)
            }
            _ => unreachable!(),
        }
    }

    /// The tasks of enterprise 1 under the default rule parameters.
    fn enterprise_tasks(c: &Chain) -> Vec<Task> {
        tasks_of(
            &c.state,
            &keys::enterprise(&ent(1)),
            &[],
            &crate::RuleParams::default(),
        )
    }

    fn kinds(tasks: &[Task]) -> Vec<(TaskKind, Option<Timestamp>)> {
        tasks.iter().map(|t| (t.kind, t.due)).collect()
    }

    #[test]
    fn a_hazard_awaits_rectification_then_re_inspection_then_is_closed() {
        let mut c = Chain::new();
        c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
        let key = keys::enterprise(&ent(1));
        // A deadline after the block time: the ledger tracks it.
        let i1 = c.ok(&[0], 10, inspection_with("I1", None, &[("H1", 5_000)]));
        let tasks = tasks_of(&c.state, &key, &[], &crate::RuleParams::default());
        assert_eq!(
            kinds(&tasks),
            [(TaskKind::HazardRectification, Some(day(5_000)))]
        );
        assert_eq!(tasks[0].source, i1.id());
        assert_eq!(tasks[0].agency, c.ent(1).findings[0].agency);
        assert!(tasks[0].what.contains("major hazard H1 of inspection I1"));
        let report = c.ok(
            &[0],
            20,
            TxBody::RectificationReport(RectificationReport {
                enterprise: ent(1),
                inspection_id: "I1".into(),
                codes: vec!["H1".into()],
                description: "fixed".into(),
            }),
        );
        let tasks = tasks_of(&c.state, &key, &[], &crate::RuleParams::default());
        assert_eq!(kinds(&tasks), [(TaskKind::HazardReinspection, None)]);
        assert_eq!(tasks[0].source, report.id());
        c.ok(&[0], 30, inspection_with("I2", Some("I1"), &[]));
        assert!(tasks_of(&c.state, &key, &[], &crate::RuleParams::default()).is_empty());
    }

    #[test]
    fn a_deadline_already_past_at_commit_is_history_not_a_task() {
        let mut c = Chain::new();
        c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
        c.ok(&[0], 10, inspection_with("I1", None, &[("H1", 20)]));
        assert!(enterprise_tasks(&c).is_empty());
    }

    #[test]
    fn an_active_licence_gives_its_end_to_the_licensing_agency() {
        let mut c = Chain::new();
        c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
        let grant = c.ok(
            &[0],
            3_000,
            licence(
                1,
                "L1",
                LicenceDecisionKind::Grant,
                Some(day(3_000)),
                Some(day(4_000)),
            ),
        );
        let tasks = enterprise_tasks(&c);
        assert_eq!(kinds(&tasks), [(TaskKind::LicenceExpiry, Some(day(4_000)))]);
        assert_eq!(tasks[0].source, grant.id());
        assert_eq!(tasks[0].agency, c.ent(1).licences["L1"].agency);
        c.ok(
            &[0],
            3_001,
            licence(1, "L1", LicenceDecisionKind::Revoke, None, None),
        );
        assert!(enterprise_tasks(&c).is_empty());
    }

    #[test]
    fn keys_of_other_objects_give_no_task() {
        let c = Chain::new();
        assert!(tasks_of(&c.state, b"params", &[], &crate::RuleParams::default()).is_empty());
        assert!(tasks_of(&c.state, b"asst/absent", &[], &crate::RuleParams::default()).is_empty());
    }
}
