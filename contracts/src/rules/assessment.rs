//! R5 and R9: risk level and credit grade, recomputed on every record that can change
//! them, each with the records behind it (DESIGN §5 "Every change is traceable to the
//! records behind it").
//!
//! Evaluated at time `t`, an effective date (rules between acts use effective dates) or,
//! for an escalation, the block time. Only standing findings count (corrections and
//! appeals set findings aside).
//!
//! Credit grade (R9): **D** if blacklisted at `t`; else **C** if in the
//! [`RuleParams::credit_c_months`] before `t` there is a severe penalty, an accident of
//! level larger or above, or a rectification rate under
//! [`RuleParams::min_rectification_rate_bp`] (hazards with a deadline in the window that
//! has passed by `t`: the share rectified by their deadline; no such hazard, no rate); else
//! **B** if in the [`RuleParams::credit_b_months`] before `t` a minor penalty or a failed
//! inspection; else **A**.
//!
//! Risk level (R5, R9): **red** for [`RuleParams::red_consecutive_failed`] consecutive
//! failed inspections (by effective date; inspections without verdict are skipped) or a
//! live major hazard past its deadline at `t` unrectified; **orange** for
//! [`RuleParams::orange_consecutive_failed`] or an accident in the
//! [`RuleParams::orange_accident_months`] before `t`; **yellow** for one failed inspection
//! (the latest verdict) or an open major hazard; else **green**. Red halves the
//! inspection interval (R5 "red doubles the inspection frequency").
//!
//! Sensor alerts (issue 20 item 6, [`crate::monitoring`]): a sensor alert the enterprise
//! did not acknowledge within [`RuleParams::alert_ack_seconds`] escalates, and until
//! [`RuleParams::alert_escalation_days`] after the escalation the level found above is
//! **raised one step** (green to yellow, yellow to orange, orange to red; red stays red),
//! with the escalated alerts added to the records behind it and named in the reason. The
//! raise counts for any evaluation time before its end — a record backdated to before the
//! alert does not lift it — and the level is recomputed at the block that passes its end.

use super::RuleParams;
use crate::clock::sub_months;
use crate::model::{Assessment, CreditGrade, EnterpriseState, FindingKind, RiskLevel};
use safeledger_core::records::{AccidentLevel, InspectionOutcome, PenaltyGrade};
use safeledger_core::{Timestamp, TxId};

/// The grade and level of `ent` at `t` (not stored; see [`recompute`]).
pub fn evaluate(ent: &EnterpriseState, t: Timestamp, params: &RuleParams) -> Assessment {
    let (credit, credit_basis, credit_reason) = credit(ent, t, params);
    let (risk, risk_basis, risk_reason) = risk(ent, t, params);
    let interval = if risk == RiskLevel::Red {
        params.inspection_interval_days / 2
    } else {
        params.inspection_interval_days
    };
    Assessment {
        credit,
        credit_basis,
        credit_reason,
        risk,
        risk_basis,
        risk_reason,
        inspection_interval_days: interval.max(1),
        at: t,
        by: None,
        changes: ent.assessment.changes,
    }
}

/// Recomputes and stores the assessment at `t`, triggered by `by`; counts a change when
/// grade or level moved.
pub fn recompute(ent: &mut EnterpriseState, t: Timestamp, by: TxId, params: &RuleParams) {
    let mut a = evaluate(ent, t, params);
    a.by = Some(by);
    if a.credit != ent.assessment.credit || a.risk != ent.assessment.risk {
        a.changes = ent.assessment.changes.saturating_add(1);
    }
    ent.assessment = a;
}

fn credit(ent: &EnterpriseState, t: Timestamp, p: &RuleParams) -> (CreditGrade, Vec<TxId>, String) {
    let listed: Vec<TxId> = ent
        .listings
        .iter()
        .filter(|l| l.active_at(t))
        .map(|l| l.tx_id)
        .collect();
    if !listed.is_empty() {
        return (CreditGrade::D, listed, "blacklisted".into());
    }
    let in_window = |at: Timestamp, months: u64| at <= t && at >= sub_months(t, months);
    let standing = || ent.findings.iter().filter(|f| f.standing());
    let mut c = Vec::new();
    let mut why = Vec::new();
    let (mut due, mut on_time, mut due_txs) = (0u64, 0u64, Vec::new());
    for f in standing() {
        match &f.what {
            FindingKind::Penalty {
                grade: PenaltyGrade::Severe,
                ..
            } if in_window(f.at, p.credit_c_months) => {
                c.push(f.tx_id);
                why.push("severe penalty");
            }
            FindingKind::Accident { level, .. }
                if *level >= AccidentLevel::Larger && in_window(f.at, p.credit_c_months) =>
            {
                c.push(f.tx_id);
                why.push("accident of level larger or above");
            }
            FindingKind::Inspection { hazards, .. } => {
                for h in hazards {
                    let Some(d) = h.rectify_by else { continue };
                    if d <= t && in_window(d, p.credit_c_months) {
                        due += 1;
                        if h.rectified.is_some_and(|(_, at)| at <= d) {
                            on_time += 1;
                        } else if !due_txs.contains(&f.tx_id) {
                            due_txs.push(f.tx_id);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if due > 0 && on_time * 10_000 < due * p.min_rectification_rate_bp {
        c.extend(due_txs);
        why.push("rectification rate under the minimum");
    }
    if !c.is_empty() {
        why.dedup();
        let reason = format!(
            "in the {} months before {}: {} (min_rectification_rate_bp = {}, {on_time} of \
             {due} due hazards rectified on time)",
            p.credit_c_months,
            t.date_string(),
            why.join(", "),
            p.min_rectification_rate_bp
        );
        return (CreditGrade::C, c, reason);
    }
    let b: Vec<TxId> = standing()
        .filter(|f| in_window(f.at, p.credit_b_months))
        .filter(|f| match &f.what {
            FindingKind::Penalty { grade, .. } => *grade == PenaltyGrade::Minor,
            FindingKind::Inspection { outcome, .. } => *outcome == InspectionOutcome::Fail,
            FindingKind::Accident { .. } => false,
        })
        .map(|f| f.tx_id)
        .collect();
    if !b.is_empty() {
        let reason = format!(
            "in the {} months before {}: a minor penalty or failed inspection",
            p.credit_b_months,
            t.date_string()
        );
        return (CreditGrade::B, b, reason);
    }
    (CreditGrade::A, Vec::new(), "no adverse record".into())
}

fn risk(ent: &EnterpriseState, t: Timestamp, p: &RuleParams) -> (RiskLevel, Vec<TxId>, String) {
    let (level, mut basis, mut reason) = base_risk(ent, t, p);
    let alerts: Vec<TxId> = ent
        .alert_escalations
        .iter()
        .filter(|x| t < x.until)
        .map(|x| x.alert)
        .collect();
    if alerts.is_empty() {
        return (level, basis, reason);
    }
    reason = format!(
        "{reason}; raised one step by {} unacknowledged sensor alert(s) (alert_escalation_days = {})",
        alerts.len(),
        p.alert_escalation_days
    );
    basis.extend(alerts);
    (level.raised(), basis, reason)
}

fn base_risk(
    ent: &EnterpriseState,
    t: Timestamp,
    p: &RuleParams,
) -> (RiskLevel, Vec<TxId>, String) {
    // Latest verdicts first, up to t.
    let verdicts: Vec<(TxId, InspectionOutcome)> = ent
        .findings
        .iter()
        .rev()
        .filter(|f| f.standing() && f.at <= t)
        .filter_map(|f| match &f.what {
            FindingKind::Inspection { outcome, .. } if *outcome != InspectionOutcome::NoVerdict => {
                Some((f.tx_id, *outcome))
            }
            _ => None,
        })
        .collect();
    let failed_run: Vec<TxId> = verdicts
        .iter()
        .take_while(|(_, o)| *o == InspectionOutcome::Fail)
        .map(|(tx, _)| *tx)
        .collect();
    let run = failed_run.len() as u64;
    let mut overdue = Vec::new();
    let mut open_major = Vec::new();
    for f in ent.findings.iter().filter(|f| f.standing() && f.at <= t) {
        if let FindingKind::Inspection { hazards, .. } = &f.what {
            for h in hazards.iter().filter(|h| h.major && h.rectified.is_none()) {
                if h.live && h.rectify_by.is_some_and(|d| d < t) {
                    overdue.push(f.tx_id);
                }
                open_major.push(f.tx_id);
            }
        }
    }
    overdue.dedup();
    open_major.dedup();
    let take = |n: u64| {
        failed_run
            .iter()
            .take(n as usize)
            .copied()
            .collect::<Vec<_>>()
    };
    if run >= p.red_consecutive_failed {
        let reason = format!(
            "{run} consecutive failed inspections (red_consecutive_failed = {})",
            p.red_consecutive_failed
        );
        return (RiskLevel::Red, take(p.red_consecutive_failed), reason);
    }
    if !overdue.is_empty() {
        return (
            RiskLevel::Red,
            overdue,
            format!(
                "a major hazard past its rectification deadline at {}",
                t.date_string()
            ),
        );
    }
    if run >= p.orange_consecutive_failed {
        let reason = format!(
            "{run} consecutive failed inspections (orange_consecutive_failed = {})",
            p.orange_consecutive_failed
        );
        return (RiskLevel::Orange, take(p.orange_consecutive_failed), reason);
    }
    let since = sub_months(t, p.orange_accident_months);
    let accidents: Vec<TxId> = ent
        .findings
        .iter()
        .filter(|f| f.standing() && f.at <= t && f.at >= since)
        .filter(|f| matches!(f.what, FindingKind::Accident { .. }))
        .map(|f| f.tx_id)
        .collect();
    if !accidents.is_empty() {
        let reason = format!(
            "an accident in the {} months before {}",
            p.orange_accident_months,
            t.date_string()
        );
        return (RiskLevel::Orange, accidents, reason);
    }
    if run >= 1 {
        return (
            RiskLevel::Yellow,
            take(1),
            "the latest inspection failed".into(),
        );
    }
    if !open_major.is_empty() {
        return (RiskLevel::Yellow, open_major, "an open major hazard".into());
    }
    (RiskLevel::Green, Vec::new(), "no adverse record".into())
}
