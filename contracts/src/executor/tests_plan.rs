//! The routine inspection plan (issue 20 item 1): per-year counts by risk level, the
//! accident-free relief, one entry per inspecting agency, licensed enterprises only, and
//! the inbox task it gives.

use crate::model::RiskLevel;
use crate::plan::{agency_plan, routine};
use crate::query::tasks::{tasks_of, TaskKind};
use crate::testkit::*;
use crate::RuleParams;
use safeledger_core::records::{InspectionOutcome, LicenceDecisionKind};

/// Enterprise 1 recorded by market, licensed from `day(from)`, inspected by fire at day
/// 3000 (officer 2) and by market at day 3010 (officer 3).
fn licensed(from: u64) -> Chain {
    let mut c = Chain::new();
    c.base = 5000;
    c.ok(&[3], 10, enterprise_record(1, "Plan Co", &[]));
    c.ok(
        &[3],
        from,
        licence(
            1,
            "L-1",
            LicenceDecisionKind::Grant,
            Some(day(from)),
            Some(day(from + 1000)),
        ),
    );
    c.ok(&[2], 3000, inspection(1, "F-1", InspectionOutcome::Pass));
    c.ok(&[3], 3010, inspection(1, "M-1", InspectionOutcome::Pass));
    c
}

#[test]
fn each_inspecting_agency_plans_its_next_routine_inspection() {
    let c = licensed(2900);
    let e = c.ent(1);
    let p = routine(&e, &RuleParams::default(), Some(day(3020)));
    assert_eq!(p.len(), 2);
    let fire = p.iter().find(|x| x.agency == FIRE).unwrap();
    assert_eq!(fire.risk, RiskLevel::Green);
    assert_eq!((fire.per_year, fire.relief), (2, false));
    assert_eq!(fire.due, day(3000 + 182));
    let plan = agency_plan(&c.state, MARKET, day(3020));
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].due, day(3010 + 182));
    assert!(agency_plan(&c.state, EM, day(3020)).is_empty());
    // The inbox task of each inspecting agency.
    let key = crate::keys::enterprise(&ent(1));
    let tasks: Vec<_> = tasks_of(&c.state, &key, &[], &RuleParams::default())
        .into_iter()
        .filter(|t| t.kind == TaskKind::RoutineInspection)
        .collect();
    assert_eq!(tasks.len(), 2);
    assert!(tasks
        .iter()
        .any(|t| t.agency == FIRE && t.due == Some(day(3182))));
}

#[test]
fn red_risk_raises_and_accident_free_years_lower_the_count() {
    let c = licensed(1000);
    let mut e = c.ent(1);
    let params = RuleParams::default();
    // Licensed since day 1000: more than three years before day 3020, no accident.
    let p = routine(&e, &params, Some(day(3020)));
    assert!(p.iter().all(|x| x.per_year == 1 && x.relief), "{p:?}");
    assert_eq!(p[0].due, p[0].last_inspection.1.plus_days(365));
    // An accident within the three years takes the relief away.
    e.accidents.last_accident_at = Some(day(2500));
    assert!(routine(&e, &params, Some(day(3020)))
        .iter()
        .all(|x| x.per_year == 2));
    e.assessment.risk = RiskLevel::Red;
    let p = routine(&e, &params, Some(day(3020)));
    assert!(p.iter().all(|x| x.per_year == 4), "{p:?}");
    assert_eq!(p[0].due, p[0].last_inspection.1.plus_days(91));
    let mut governed = params.clone();
    governed
        .set("routine_inspections_per_year.red", "12")
        .unwrap();
    assert!(routine(&e, &governed, Some(day(3020)))
        .iter()
        .all(|x| x.per_year == 12));
}

#[test]
fn an_unlicensed_enterprise_has_no_routine_plan() {
    let mut c = Chain::new();
    c.base = 5000;
    c.ok(&[3], 10, enterprise_record(1, "No Licence", &[]));
    c.ok(&[2], 3000, inspection(1, "F-1", InspectionOutcome::Pass));
    assert!(routine(&c.ent(1), &RuleParams::default(), Some(day(3020))).is_empty());
    // Revoked: none either.
    let mut c = licensed(2900);
    c.ok(
        &[3],
        3015,
        licence(1, "L-1", LicenceDecisionKind::Revoke, None, None),
    );
    assert!(routine(&c.ent(1), &RuleParams::default(), Some(day(3020))).is_empty());
}
