//! Time limits per licence step (issue 19 item 7, [`crate::rules::application::step`]):
//! acceptance or the one-time notice of missing materials within 5 working days, the
//! decision within 45 of the filing or of the complete resupply, steps out of order
//! refused, and the inbox task each state gives.

use crate::calendar;
use crate::keys;
use crate::query::tasks::{tasks_of, TaskKind};
use crate::rules::{self, application};
use crate::testkit::*;
use safeledger_core::records::{
    ApplicationStep, ApplicationStepKind as S, LicenceApplication, LicenceApplicationKind,
    LicenceDecisionKind as L, TxBody,
};
use safeledger_core::{Timestamp, TxId};

/// Market (officer 3) files an application for licence `number` of enterprise 1 at day
/// `at` (day 5 is Monday 2020-01-06).
fn file(c: &mut Chain, app_id: &str, number: &str, at: u64) -> TxId {
    c.ok(
        &[3],
        at,
        TxBody::LicenceApplication(LicenceApplication {
            enterprise: ent(1),
            application_id: app_id.into(),
            kind: LicenceApplicationKind::New,
            licence_number: Some(number.into()),
            licence_type: "Retail Food".into(),
            industry: None,
        }),
    )
    .id()
}

fn step(app: TxId, s: S) -> TxBody {
    TxBody::ApplicationStep(ApplicationStep {
        enterprise: ent(1),
        application: app,
        step: s,
    })
}

fn notice() -> S {
    S::NotifyMissing {
        items: vec!["safety rules".into(), "emergency plan".into()],
    }
}

fn answering(number: &str, app: TxId) -> TxBody {
    let TxBody::LicenceDecision(mut d) =
        licence(1, number, L::Grant, Some(day(40)), Some(day(400)))
    else {
        unreachable!()
    };
    d.application = Some(app);
    TxBody::LicenceDecision(d)
}

/// The one task the application's state gives, with its due time.
fn task(c: &Chain, app: TxId) -> (TaskKind, Option<Timestamp>) {
    let t = tasks_of(
        &c.state,
        &keys::application(&app),
        &[],
        &crate::RuleParams::default(),
    );
    assert_eq!(t.len(), 1, "{t:?}");
    (t[0].kind, t[0].due)
}

/// 16:00 UTC of a date: midnight after it in UTC+8.
fn beijing_midnight_after(y: i32, m: u32, d: u32) -> Timestamp {
    Timestamp(Timestamp::from_ymd(y, m, d).unwrap().0 + 16 * 3_600_000)
}

#[test]
fn a_notice_stops_the_clock_the_resupply_restarts_it_and_steps_out_of_order_are_refused() {
    let mut c = Chain::new();
    c.ok(&[3], 0, enterprise_record(1, "Acme", &[]));
    let app = file(&mut c, "A-1", "L1", 5);
    let st = application::get(&c.state, &app).unwrap();
    // Five working days after Monday 2020-01-06 end on Monday 01-13.
    assert_eq!(st.notice_due, beijing_midnight_after(2020, 1, 13));
    assert_eq!(
        task(&c, app),
        (
            TaskKind::ApplicationAcceptance,
            Some(Timestamp(st.notice_due.0 - 1))
        )
    );

    // Another agency takes no step; a resupply needs a notice first.
    let other = c.one(&[0], 6, step(app, S::Accept));
    assert_eq!(rule_of(&other), Some(rules::R0_APPLICATION_STEP));
    assert!(reason_of(&other).contains("only it takes its steps"));
    let early = c.one(&[3], 6, step(app, S::Resupplied));
    assert!(reason_of(&early).contains("no notice"), "{early:?}");

    c.ok(&[3], 12, step(app, notice()));
    assert_eq!(task(&c, app), (TaskKind::ApplicationResupply, None));
    let again = c.one(&[3], 12, step(app, notice()));
    assert!(reason_of(&again).contains("one-time notice"), "{again:?}");
    let accept = c.one(&[3], 13, step(app, S::Accept));
    assert!(
        reason_of(&accept).contains("resupply accepts it"),
        "{accept:?}"
    );
    let grant = c.one(&[3], 20, answering("L1", app));
    assert_eq!(rule_of(&grant), Some(rules::R0_APPLICATION));
    assert!(
        reason_of(&grant).contains("awaits the materials"),
        "{grant:?}"
    );

    // Resupplied Tuesday 2020-01-21: 45 working days to decide, counted from it.
    c.ok(&[3], 20, step(app, S::Resupplied));
    let st = application::get(&c.state, &app).unwrap();
    let params = crate::RuleParams::default();
    assert_eq!(
        st.decision_due,
        Some(calendar::overdue_from(day(20), 45, &params))
    );
    assert_eq!(task(&c, app).0, TaskKind::LicenceApplication);
    c.ok(&[3], 40, answering("L1", app));
    assert!(tasks_of(
        &c.state,
        &keys::application(&app),
        &[],
        &crate::RuleParams::default()
    )
    .is_empty());
    let late = c.one(&[3], 41, step(app, S::Accept));
    assert!(reason_of(&late).contains("already answered"), "{late:?}");
}

#[test]
fn a_notice_past_its_limit_is_refused_and_the_application_counts_as_accepted() {
    let mut c = Chain::new();
    c.ok(&[3], 0, enterprise_record(1, "Acme", &[]));
    let app = file(&mut c, "A-2", "L2", 5);
    // Tuesday 2020-01-14 is the sixth working day.
    let out = c.one(&[3], 13, step(app, notice()));
    assert_eq!(rule_of(&out), Some(rules::R0_APPLICATION_STEP));
    assert!(
        reason_of(&out).contains("counts as accepted from its filing")
            && reason_of(&out).contains("licence_notice_working_days = 5"),
        "{out:?}"
    );
    // Acceptance is late but taken; the decision's limit still runs from the filing.
    c.ok(&[3], 13, step(app, S::Accept));
    let st = application::get(&c.state, &app).unwrap();
    assert_eq!(
        st.decision_due,
        Some(calendar::overdue_from(day(5), 45, &Default::default()))
    );
    assert_eq!(task(&c, app).0, TaskKind::LicenceApplication);
    let twice = c.one(&[3], 14, step(app, S::Accept));
    assert!(reason_of(&twice).contains("already accepted"), "{twice:?}");
    // An empty notice is refused before execution.
    let empty = step(app, S::NotifyMissing { items: vec![] });
    assert!(empty.check_bounds().is_err());
}

#[test]
fn the_answering_decision_keeps_the_applications_licence_type_and_industry() {
    let mut c = Chain::new();
    c.ok(&[3], 0, enterprise_record(1, "Mine", &[]));
    let app = c
        .ok(
            &[3],
            5,
            TxBody::LicenceApplication(LicenceApplication {
                enterprise: ent(1),
                application_id: "A-3".into(),
                kind: LicenceApplicationKind::New,
                licence_number: Some("M1".into()),
                licence_type: "Retail Food".into(),
                industry: Some("GB/T 4754-2017:B0610".into()),
            }),
        )
        .id();
    c.ok(&[3], 6, step(app, S::Accept));
    // Without the industry, a high-risk application would be decided by one officer.
    let alone = c.one(&[3], 20, answering("M1", app));
    assert_eq!(rule_of(&alone), Some(rules::R0_APPLICATION));
    assert!(reason_of(&alone).contains("field industry"), "{alone:?}");
    let TxBody::LicenceDecision(mut other) = answering("M1", app) else {
        unreachable!()
    };
    other.industry = Some("GB/T 4754-2017:B0610".into());
    other.licence_type = "Mining".into();
    let out = c.one(&[3], 20, TxBody::LicenceDecision(other.clone()));
    assert!(reason_of(&out).contains("field licence_type"), "{out:?}");
    other.licence_type = "Retail Food".into();
    // Now R6 asks for collective_k signers.
    let out = c.one(&[3], 20, TxBody::LicenceDecision(other));
    assert_eq!(rule_of(&out), Some(rules::R6_COLLECTIVE), "{out:?}");
}
