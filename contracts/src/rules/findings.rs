//! Counters of inspections, penalties and accidents (DESIGN §5 records; the inputs of
//! R3, R5 and R9 in later work). Counters follow recording order; imports submit records
//! in order of effective date (DESIGN §5 "Two clocks"), so that is also the order the acts
//! happened. Sums saturate rather than wrap.

use super::RecordContext;
use crate::model::{AccidentSummary, InspectionSummary, PenaltySummary};
use safeledger_core::records::{
    AccidentReport, InspectionOutcome, InspectionRecord, Penalty, PenaltyGrade, Severity,
};

/// Counts an inspection. `Fail` adds to `failed` and `consecutive_failed`; `Pass` and
/// `PassWithConditions` reset `consecutive_failed`; `NoVerdict` leaves it.
/// `open_high_violations` becomes this inspection's high-severity count: the larger of
/// `violation_counts[2]` (which includes the itemised ones) and the itemised high
/// violations.
pub fn inspection(s: &mut InspectionSummary, r: &InspectionRecord, rc: &RecordContext<'_>) {
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
    let listed_high = r
        .violations
        .iter()
        .filter(|v| v.severity == Severity::High)
        .count();
    let listed_high = u32::try_from(listed_high).unwrap_or(u32::MAX);
    s.open_high_violations = r.violation_counts[2].max(listed_high);
    s.last_inspection_at = Some(rc.effective_at);
    s.last_outcome = Some(r.outcome);
    s.last_inspection = Some(rc.tx_id);
}

/// Counts a penalty; a severe one is also counted in `severe` and remembered.
pub fn penalty(s: &mut PenaltySummary, r: &Penalty, rc: &RecordContext<'_>) {
    s.count = s.count.saturating_add(1);
    if r.grade == PenaltyGrade::Severe {
        s.severe = s.severe.saturating_add(1);
        s.last_severe = Some(rc.tx_id);
    }
    s.last_penalty_at = Some(rc.effective_at);
}

/// Counts an accident report with its deaths and serious injuries.
pub fn accident(s: &mut AccidentSummary, r: &AccidentReport, rc: &RecordContext<'_>) {
    s.count = s.count.saturating_add(1);
    s.deaths = s.deaths.saturating_add(u64::from(r.deaths));
    s.serious_injuries = s
        .serious_injuries
        .saturating_add(u64::from(r.serious_injuries));
    s.last_accident_at = Some(rc.effective_at);
    s.last_report = Some(rc.tx_id);
}
