//! Findings: inspections with their hazards, rectification reports and re-inspections,
//! penalties and their clearance, accident reports with their level (DESIGN §5 records;
//! the inputs of R3, R4, R5, R8 and R9).
//!
//! Each accepted finding is kept as a dated [`Finding`] on the enterprise, in effective-date
//! order, with the record behind it, so that rules relating acts to each other ("in the
//! last 24 months") read effective dates, and a correction or appeal can set it aside.
//! The counters ([`InspectionSummary`] etc.) count records as received.
//!
//! - Hazards (DESIGN §5 "hazards with severity and rectification deadline"): every
//!   high-severity violation is a major hazard; every violation with a deadline is a
//!   hazard. A deadline later than the block that commits the inspection is *live*: R8
//!   may escalate it. One already past is history.
//! - A rectification report by the inspecting agency closes the named hazards of its
//!   inspection (all when it names none). A re-inspection (`follow_up_of`) that did not
//!   fail closes every hazard of the followed-up inspection whose code it does not find
//!   again. Naming an inspection the agency did not record is refused (R0-reference).
//! - An accident's level must equal [`AccidentLevel::classify`] of its figures
//!   (R0-accident-level). One found concealed blacklists the enterprise (R4).

use super::{when, RecordContext, Refusal, RuleParams, R0_ACCIDENT_LEVEL, R0_REFERENCE};
use crate::clock::{add_months, sub_months};
use crate::model::{
    AccidentSummary, EnterpriseState, Finding, FindingKind, FindingStatus, Hazard,
    InspectionSummary, Listing, PenaltySummary,
};
use crate::rules::escalation::Deadline;
use safeledger_core::records::{
    AccidentLevel, AccidentReport, InspectionOutcome, InspectionRecord, Penalty, PenaltyClearance,
    PenaltyGrade, RectificationReport, Severity,
};
use std::collections::BTreeSet;

fn finding(rc: &RecordContext<'_>, what: FindingKind) -> Finding {
    Finding {
        tx_id: rc.tx_id,
        agency: rc.agency.to_string(),
        at: rc.effective_at,
        date: rc.effective_at.date_string(),
        committed_at: rc.block_time,
        status: FindingStatus::Standing,
        amended_by: None,
        what,
    }
}

/// Inserts `f` after every finding with an effective date not later than its own.
pub fn insert(ent: &mut EnterpriseState, f: Finding) {
    let pos = ent.findings.partition_point(|g| g.at <= f.at);
    ent.findings.insert(pos, f);
}

/// Drops findings no rule window reaches any more: older than
/// [`RuleParams::history_months`] before the newest, except the latest
/// [`RuleParams::red_consecutive_failed`] inspections; then the oldest beyond
/// [`RuleParams::max_findings`].
pub fn prune(ent: &mut EnterpriseState, params: &RuleParams) {
    let Some(newest) = ent.findings.last().map(|f| f.at) else {
        return;
    };
    let horizon = sub_months(newest, params.history_months());
    let keep_inspections = usize::try_from(params.red_consecutive_failed).unwrap_or(usize::MAX);
    let recent: BTreeSet<_> = ent
        .findings
        .iter()
        .rev()
        .filter(|f| matches!(f.what, FindingKind::Inspection { .. }))
        .take(keep_inspections)
        .map(|f| f.tx_id)
        .collect();
    ent.findings
        .retain(|f| f.at >= horizon || recent.contains(&f.tx_id));
    let max = usize::try_from(params.max_findings).unwrap_or(usize::MAX);
    if ent.findings.len() > max {
        let excess = ent.findings.len() - max;
        ent.findings.drain(..excess);
    }
}

/// The standing inspection finding `agency` recorded with `inspection_id`.
fn inspection_mut<'e>(
    ent: &'e mut EnterpriseState,
    agency: &str,
    inspection_id: &str,
) -> Option<&'e mut Finding> {
    ent.findings.iter_mut().rev().find(|f| {
        f.agency == agency
            && f.standing()
            && matches!(&f.what, FindingKind::Inspection { inspection_id: i, .. } if i == inspection_id)
    })
}

/// Records an inspection; returns the live deadlines to watch (R8).
pub fn inspection(
    ent: &mut EnterpriseState,
    r: &InspectionRecord,
    rc: &RecordContext<'_>,
) -> Result<Vec<Deadline>, Refusal> {
    let found: BTreeSet<&str> = r.violations.iter().map(|v| v.code.as_str()).collect();
    if let Some(of) = &r.follow_up_of {
        let Some(prev) = inspection_mut(ent, rc.agency, of) else {
            return Err(Refusal::new(
                R0_REFERENCE,
                format!(
                    "re-inspection {} follows up inspection {of:?}, which agency {} has not \
                     recorded about enterprise {}",
                    r.inspection_id, rc.agency, ent.id
                ),
            ));
        };
        if r.outcome != InspectionOutcome::Fail {
            if let FindingKind::Inspection { hazards, .. } = &mut prev.what {
                for h in hazards.iter_mut() {
                    if h.rectified.is_none() && !found.contains(h.code.as_str()) {
                        h.rectified = Some((rc.tx_id, rc.effective_at));
                    }
                }
            }
        }
    }
    let hazards: Vec<Hazard> = r
        .violations
        .iter()
        .filter(|v| v.severity == Severity::High || v.rectify_by.is_some())
        .map(|v| Hazard {
            code: v.code.clone(),
            major: v.severity == Severity::High,
            rectify_by: v.rectify_by,
            rectified: None,
            live: v.rectify_by.is_some_and(|d| d > rc.block_time),
            escalated: false,
        })
        .collect();
    let deadlines = hazards
        .iter()
        .filter(|h| h.live)
        .filter_map(|h| {
            h.rectify_by.map(|due| Deadline {
                enterprise: ent.id.clone(),
                inspection: rc.tx_id,
                code: h.code.clone(),
                due,
            })
        })
        .collect();
    let listed_high = r
        .violations
        .iter()
        .filter(|v| v.severity == Severity::High)
        .count();
    let critical = r.violation_counts[2].max(u32::try_from(listed_high).unwrap_or(u32::MAX));
    count_inspection(&mut ent.inspections, r, rc, critical);
    let f = finding(
        rc,
        FindingKind::Inspection {
            inspection_id: r.inspection_id.clone(),
            outcome: r.outcome,
            critical,
            hazards,
            follow_up_of: r.follow_up_of.clone(),
        },
    );
    insert(ent, f);
    Ok(deadlines)
}

/// A rectification report closes hazards of the agency's inspection.
pub fn rectification(
    ent: &mut EnterpriseState,
    r: &RectificationReport,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let id = ent.id.clone();
    let Some(f) = inspection_mut(ent, rc.agency, &r.inspection_id) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "agency {} has recorded no standing inspection {:?} about enterprise {id}",
                rc.agency, r.inspection_id
            ),
        ));
    };
    let inspection_tx = f.tx_id;
    let FindingKind::Inspection { hazards, .. } = &mut f.what else {
        return Ok(());
    };
    let unknown: Vec<&String> = r
        .codes
        .iter()
        .filter(|c| !hazards.iter().any(|h| &h.code == *c))
        .collect();
    if !unknown.is_empty() {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "inspection {:?} (tx {inspection_tx}) found no hazard with code(s) {unknown:?}",
                r.inspection_id
            ),
        ));
    }
    for h in hazards.iter_mut() {
        if h.rectified.is_none() && (r.codes.is_empty() || r.codes.contains(&h.code)) {
            h.rectified = Some((rc.tx_id, rc.effective_at));
        }
    }
    Ok(())
}

fn count_inspection(
    s: &mut InspectionSummary,
    r: &InspectionRecord,
    rc: &RecordContext<'_>,
    critical: u32,
) {
    s.count = s.count.saturating_add(1);
    match r.outcome {
        InspectionOutcome::Fail => {
            s.failed = s.failed.saturating_add(1);
            s.consecutive_failed = s.consecutive_failed.saturating_add(1);
        }
        InspectionOutcome::Pass | InspectionOutcome::PassWithConditions => {
            s.consecutive_failed = 0;
        }
        InspectionOutcome::NoVerdict => {}
    }
    s.open_high_violations = critical;
    s.last_inspection_at = Some(rc.effective_at);
    s.last_outcome = Some(r.outcome);
    s.last_inspection = Some(rc.tx_id);
}

/// Records a penalty; a severe one is also counted in `severe` and remembered.
pub fn penalty(ent: &mut EnterpriseState, r: &Penalty, rc: &RecordContext<'_>) {
    let s: &mut PenaltySummary = &mut ent.penalties;
    s.count = s.count.saturating_add(1);
    if r.grade == PenaltyGrade::Severe {
        s.severe = s.severe.saturating_add(1);
        s.last_severe = Some(rc.tx_id);
    }
    s.last_penalty_at = Some(rc.effective_at);
    let f = finding(
        rc,
        FindingKind::Penalty {
            case_id: r.case_id.clone(),
            grade: r.grade,
            cleared: None,
        },
    );
    insert(ent, f);
}

/// The penalizing agency clears its severe penalty (R3).
pub fn clearance(
    ent: &mut EnterpriseState,
    r: &PenaltyClearance,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let id = ent.id.clone();
    let found = ent.findings.iter_mut().rev().find(|f| {
        f.agency == rc.agency
            && f.standing()
            && matches!(&f.what, FindingKind::Penalty { case_id, grade: PenaltyGrade::Severe, .. } if *case_id == r.case_id)
    });
    match found {
        Some(Finding {
            what: FindingKind::Penalty { cleared, .. },
            tx_id,
            ..
        }) => {
            if let Some((by, at)) = cleared {
                return Err(Refusal::new(
                    R0_REFERENCE,
                    format!(
                        "severe penalty {:?} (tx {tx_id}) was already cleared by tx {by} on {}",
                        r.case_id,
                        when(*at)
                    ),
                ));
            }
            *cleared = Some((rc.tx_id, rc.effective_at));
            Ok(())
        }
        _ => Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "agency {} has recorded no standing severe penalty {:?} about enterprise {id}",
                rc.agency, r.case_id
            ),
        )),
    }
}

/// Records an accident; R0-accident-level checks its level and R4 lists a concealed one.
pub fn accident(
    ent: &mut EnterpriseState,
    r: &AccidentReport,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let thresholds = r
        .currency
        .as_ref()
        .and_then(|c| params.accident_loss_thresholds.get(c).copied());
    let level = AccidentLevel::classify(
        r.deaths,
        r.serious_injuries,
        r.direct_loss_minor,
        thresholds,
    );
    if level != r.level {
        let loss = match (r.direct_loss_minor, &r.currency, thresholds) {
            (None, ..) => "direct loss unknown".to_string(),
            (Some(l), Some(c), Some(_)) => format!("direct loss {l} minor units of {c}"),
            (Some(l), Some(c), None) => format!(
                "direct loss {l} minor units of {c}, which does not count: no loss \
                 thresholds are governed for {c} (accident_loss_thresholds), so the level \
                 rests on deaths and serious injuries alone"
            ),
            (Some(l), None, _) => format!("direct loss {l} with no currency"),
        };
        return Err(Refusal::new(
            R0_ACCIDENT_LEVEL,
            format!(
                "accident {} of enterprise {}: {} deaths, {} serious injuries, {loss} make \
                 it {} (State Council Order 493 art. 3), not {}",
                r.report_id,
                ent.id,
                r.deaths,
                r.serious_injuries,
                level.name(),
                r.level.name()
            ),
        ));
    }
    let s: &mut AccidentSummary = &mut ent.accidents;
    s.count = s.count.saturating_add(1);
    s.deaths = s.deaths.saturating_add(u64::from(r.deaths));
    s.serious_injuries = s
        .serious_injuries
        .saturating_add(u64::from(r.serious_injuries));
    s.last_accident_at = Some(rc.effective_at);
    s.last_report = Some(rc.tx_id);
    if r.concealed {
        list(
            ent,
            rc,
            params,
            format!(
                "R4: accident {} ({}) found concealed by agency {}",
                r.report_id,
                level.name(),
                rc.agency
            ),
        );
    }
    let f = finding(
        rc,
        FindingKind::Accident {
            report_id: r.report_id.clone(),
            level,
            concealed: r.concealed,
        },
    );
    insert(ent, f);
    Ok(())
}

/// Lists the enterprise on the blacklist from the record's effective date for
/// [`RuleParams::blacklist_months`] (R4).
pub fn list(
    ent: &mut EnterpriseState,
    rc: &RecordContext<'_>,
    params: &RuleParams,
    reason: String,
) {
    ent.listings.push(Listing {
        tx_id: rc.tx_id,
        agency: rc.agency.to_string(),
        from: rc.effective_at,
        until: add_months(rc.effective_at, params.blacklist_months),
        removable_from: add_months(rc.effective_at, params.blacklist_removal_after_months),
        removed: None,
        reason,
    });
}
