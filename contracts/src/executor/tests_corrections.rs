//! Licence applications (DESIGN §5 "licence application") and corrections of every kind
//! that can be corrected (DESIGN §5 "correction (amend or withdraw an earlier record, with
//! reason; the original stays)"): the allowed and the refused cases, and that rules and
//! queries follow the correction.

use crate::model::{LicenceStatus, LicenceStatusAt};
use crate::query;
use crate::rules;
use crate::testkit::*;
use safeledger_core::records::{
    Correction, CorrectionAction, EnterpriseRecord, LicenceApplication, LicenceApplicationKind,
    LicenceDecisionKind as L, PenaltyGrade, TxBody,
};
use safeledger_core::TxId;

/// A chain where em (officer 0) created enterprises 1 and 2.
fn chain() -> Chain {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    c.ok(&[0], 0, enterprise_record(2, "Other", &[]));
    c
}

fn application(id: u32, app_id: &str, kind: LicenceApplicationKind, number: &str) -> TxBody {
    TxBody::LicenceApplication(LicenceApplication {
        enterprise: ent(id),
        application_id: app_id.into(),
        kind,
        licence_number: Some(number.into()),
        licence_type: "Retail Food".into(),
        industry: None,
    })
}

fn answering(body: TxBody, app: Option<TxId>) -> TxBody {
    match body {
        TxBody::LicenceDecision(mut d) => {
            d.application = app;
            TxBody::LicenceDecision(d)
        }
        _ => unreachable!(),
    }
}

fn grant(number: &str, from: u64, until: u64) -> TxBody {
    licence(1, number, L::Grant, Some(day(from)), Some(day(until)))
}

fn renew(number: &str, from: u64, until: u64) -> TxBody {
    licence(1, number, L::Renew, Some(day(from)), Some(day(until)))
}

fn correction(id: u32, target: TxId, action: CorrectionAction) -> TxBody {
    TxBody::Correction(Correction {
        enterprise: ent(id),
        target,
        action,
        reason: "recorded in error".into(),
    })
}

#[test]
fn a_renewal_application_is_filed_at_least_three_months_before_expiry() {
    let mut c = chain();
    // Term ends 2023-05-31 (day 1246); three months before is 2023-02-28 (day 1154).
    c.ok(&[0], 500, grant("L1", 500, 1246));
    let late = c.one(
        &[0],
        1155,
        application(1, "A-1", LicenceApplicationKind::Renewal, "L1"),
    );
    assert_eq!(rule_of(&late), Some(rules::R0_RENEWAL_LEAD));
    assert!(reason_of(&late).contains("renewal_lead_months = 3"));
    assert!(reason_of(&late).contains("2023-02-28"));
    let app = c.ok(
        &[0],
        1154,
        application(1, "A-2", LicenceApplicationKind::Renewal, "L1"),
    );
    // The same application id twice.
    let dup = c.one(
        &[0],
        1154,
        application(1, "A-2", LicenceApplicationKind::Renewal, "L1"),
    );
    assert_eq!(rule_of(&dup), Some(rules::R0_DUPLICATE));
    // Another agency holds no licence L1: market may not file for it.
    let other = c.one(
        &[3],
        1100,
        application(1, "M-1", LicenceApplicationKind::Renewal, "L1"),
    );
    assert_eq!(rule_of(&other), Some(rules::R0_LICENCE_AGENCY));
    // The renewal answering it is judged on the filing date, and answers it once.
    c.ok(
        &[0],
        1200,
        answering(renew("L1", 1246, 1900), Some(app.id())),
    );
    assert_eq!(
        query::licence_status(&c.state, &ent(1), "L1", day(1300)),
        Some(LicenceStatusAt::Active)
    );
    let again = c.one(
        &[0],
        1201,
        answering(renew("L1", 1246, 1900), Some(app.id())),
    );
    assert_eq!(rule_of(&again), Some(rules::R0_APPLICATION));
    assert!(reason_of(&again).starts_with("field application:"));
    assert!(reason_of(&again).contains("already answered"));
}

#[test]
fn a_decision_naming_a_missing_or_foreign_application_is_refused_naming_the_field() {
    let mut c = chain();
    let missing = c.one(
        &[0],
        100,
        answering(grant("L1", 100, 500), Some(tx_id_of(7))),
    );
    assert_eq!(rule_of(&missing), Some(rules::R0_APPLICATION));
    assert!(reason_of(&missing).starts_with("field application:"));
    assert!(reason_of(&missing).contains("not a licence application"));
    // An application of enterprise 2 cannot be answered by a decision on enterprise 1.
    let app2 = c.ok(
        &[0],
        90,
        application(2, "A-9", LicenceApplicationKind::New, "L1"),
    );
    let foreign = c.one(&[0], 100, answering(grant("L1", 100, 500), Some(app2.id())));
    assert_eq!(rule_of(&foreign), Some(rules::R0_APPLICATION));
    assert!(reason_of(&foreign).contains("field application:"));
    assert!(reason_of(&foreign).contains("enterprise test:2"));
    // A record that is not an application.
    let pen = c.ok(&[2], 95, penalty(1, "P-1", PenaltyGrade::Minor));
    let not_app = c.one(&[0], 100, answering(grant("L1", 100, 500), Some(pen.id())));
    assert_eq!(rule_of(&not_app), Some(rules::R0_APPLICATION));
    // An application of enterprise 1 answered by its agency: accepted.
    let app1 = c.ok(
        &[0],
        90,
        application(1, "A-1", LicenceApplicationKind::New, "L1"),
    );
    // ... but not under another licence number.
    let other_number = c.one(&[0], 100, answering(grant("L2", 100, 500), Some(app1.id())));
    assert_eq!(rule_of(&other_number), Some(rules::R0_APPLICATION));
    c.ok(&[0], 100, answering(grant("L1", 100, 500), Some(app1.id())));
}

#[test]
fn a_withdrawn_application_cannot_be_answered() {
    let mut c = chain();
    let app = c.ok(
        &[0],
        90,
        application(1, "A-1", LicenceApplicationKind::New, "L1"),
    );
    c.ok(
        &[1],
        91,
        correction(1, app.id(), CorrectionAction::Withdraw),
    );
    let out = c.one(&[0], 100, answering(grant("L1", 100, 500), Some(app.id())));
    assert_eq!(rule_of(&out), Some(rules::R0_APPLICATION));
    assert!(reason_of(&out).contains("withdrawn"));
}

#[test]
fn a_withdrawn_licence_decision_no_longer_counts_as_the_licence_status() {
    let mut c = chain();
    let g = c.ok(&[0], 100, grant("L1", 100, 700));
    let rev = c.ok(&[0], 200, licence(1, "L1", L::Revoke, None, None));
    assert_eq!(c.ent(1).licences["L1"].status, LicenceStatus::Revoked);
    // Fire did not record the revocation: it may not correct it (R1).
    let wrong = c.one(
        &[2],
        201,
        correction(1, rev.id(), CorrectionAction::Withdraw),
    );
    assert_eq!(rule_of(&wrong), Some(rules::R1_CORRECTION));
    let corr = c.ok(
        &[1],
        201,
        correction(1, rev.id(), CorrectionAction::Withdraw),
    );
    let l = &c.ent(1).licences["L1"];
    assert_eq!((l.status, l.last_decision), (LicenceStatus::Active, g.id()));
    let timeline = query::enterprise_records(&c.state, &ent(1), 10);
    let original = timeline.iter().find(|r| r.tx_id == rev.id()).unwrap();
    assert_eq!(original.corrected_by, Some(corr.id()));
    assert!(timeline.iter().any(|r| r.tx_id == corr.id()));
    // Set aside once only.
    let twice = c.one(
        &[0],
        202,
        correction(1, rev.id(), CorrectionAction::Withdraw),
    );
    assert_eq!(rule_of(&twice), Some(rules::R0_REFERENCE));
    // Withdrawing the grant leaves no licence: a suspension now has nothing to suspend.
    c.ok(&[0], 203, correction(1, g.id(), CorrectionAction::Withdraw));
    assert!(!c.ent(1).licences.contains_key("L1"));
    let out = c.one(&[0], 204, licence(1, "L1", L::Suspend, None, None));
    assert_eq!(rule_of(&out), Some(rules::R0_LICENCE_UNKNOWN));
}

#[test]
fn an_amended_licence_decision_is_checked_and_replaces_the_original() {
    let mut c = chain();
    let g = c.ok(&[0], 100, grant("L1", 100, 700));
    // An amended term over three years is refused like a new one.
    let long = c.one(
        &[0],
        101,
        correction(
            1,
            g.id(),
            CorrectionAction::Amend(Box::new(grant("L1", 100, 1300))),
        ),
    );
    assert_eq!(rule_of(&long), Some(rules::R0_LICENCE_TERM));
    // The licence number cannot change.
    let other = c.one(
        &[0],
        101,
        correction(
            1,
            g.id(),
            CorrectionAction::Amend(Box::new(grant("L2", 100, 600))),
        ),
    );
    assert_eq!(rule_of(&other), Some(rules::R0_REFERENCE));
    let am = c.ok(
        &[0],
        101,
        correction(
            1,
            g.id(),
            CorrectionAction::Amend(Box::new(grant("L1", 100, 600))),
        ),
    );
    let l = &c.ent(1).licences["L1"];
    assert_eq!(l.valid_until, Some(day(600)));
    assert_eq!(l.history[0].amended_by, Some(am.id()));
    assert_eq!(l.last_decision, g.id(), "the original keeps its identity");
}

#[test]
fn a_withdrawn_severe_penalty_no_longer_blocks_a_grant_r3() {
    let mut c = chain();
    let pen = c.ok(&[2], 100, penalty(1, "F-1", PenaltyGrade::Severe));
    let blocked = c.one(&[0], 150, grant("L1", 150, 800));
    assert_eq!(rule_of(&blocked), Some(rules::R3_SEVERE_PENALTY));
    // Only fire, which recorded it, withdraws it.
    let wrong = c.one(
        &[0],
        151,
        correction(1, pen.id(), CorrectionAction::Withdraw),
    );
    assert_eq!(rule_of(&wrong), Some(rules::R1_CORRECTION));
    c.ok(
        &[2],
        151,
        correction(1, pen.id(), CorrectionAction::Withdraw),
    );
    c.ok(&[0], 152, grant("L1", 152, 800));
}

#[test]
fn an_amended_minor_penalty_that_becomes_severe_blocks_a_grant_r3() {
    let mut c = chain();
    let pen = c.ok(&[2], 100, penalty(1, "F-1", PenaltyGrade::Minor));
    c.ok(&[0], 150, grant("L1", 150, 800));
    c.ok(
        &[2],
        151,
        correction(
            1,
            pen.id(),
            CorrectionAction::Amend(Box::new(penalty(1, "F-1", PenaltyGrade::Severe))),
        ),
    );
    let blocked = c.one(&[0], 152, grant("L2", 152, 800));
    assert_eq!(rule_of(&blocked), Some(rules::R3_SEVERE_PENALTY));
    assert!(reason_of(&blocked).contains(&pen.id().to_hex()));
}

#[test]
fn a_corrected_enterprise_record_changes_name_and_linked_ids() {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Acme", &["x:1"]));
    let second = c.ok(&[2], 1, enterprise_record(1, "Acme Ltd", &["y:2"]));
    let e = c.ent(1);
    assert_eq!(e.name, "Acme Ltd");
    assert!(e.linked_ids.contains("y:2"));
    // Only fire, which recorded it, corrects it.
    let wrong = c.one(
        &[0],
        2,
        correction(1, second.id(), CorrectionAction::Withdraw),
    );
    assert_eq!(rule_of(&wrong), Some(rules::R1_CORRECTION));
    c.ok(
        &[2],
        2,
        correction(1, second.id(), CorrectionAction::Withdraw),
    );
    let e = c.ent(1);
    assert_eq!(e.name, "Acme", "the latest record that counts names it");
    assert!(!e.linked_ids.contains("y:2"));
    assert!(e.linked_ids.contains("x:1"));
    // An amendment must be an enterprise record of the same enterprise, with valid ids.
    let first = query::enterprise_records_from(&c.state, &ent(1), 0, 1)[0].tx_id;
    let bad = TxBody::EnterpriseRecord(EnterpriseRecord {
        enterprise: ent(1),
        name: "Acme".into(),
        address: "1 Main St".into(),
        linked_ids: vec!["not an id".into()],
    });
    let out = c.one(
        &[0],
        3,
        correction(1, first, CorrectionAction::Amend(Box::new(bad))),
    );
    assert_eq!(rule_of(&out), Some(rules::R0_LINKED_IDS));
    let wrong_kind = c.one(
        &[0],
        3,
        correction(
            1,
            first,
            CorrectionAction::Amend(Box::new(enterprise_record(2, "B", &[]))),
        ),
    );
    assert_eq!(rule_of(&wrong_kind), Some(rules::R0_REFERENCE));
    c.ok(
        &[0],
        3,
        correction(
            1,
            first,
            CorrectionAction::Amend(Box::new(enterprise_record(1, "Acme Corp", &["z:3"]))),
        ),
    );
    let e = c.ent(1);
    assert_eq!(e.name, "Acme Corp");
    assert_eq!(
        e.linked_ids.iter().cloned().collect::<Vec<_>>(),
        vec!["z:3".to_string()]
    );
    let timeline = query::enterprise_records(&c.state, &ent(1), 10);
    assert!(timeline[0].corrected_by.is_some() && timeline[1].corrected_by.is_some());
}

#[test]
fn a_licence_keeps_its_latest_decisions_correctable_and_folds_older_ones() {
    let mut c = chain();
    let max = crate::rules::licence::MAX_LICENCE_HISTORY as u64;
    let first = c.ok(&[0], 10, grant("L1", 10, 20));
    let mut last = first.clone();
    for n in 1..=max + 4 {
        last = c.ok(&[0], 10 + n, renew("L1", 10 + n, 20 + n));
    }
    let l = &c.ent(1).licences["L1"];
    assert_eq!(l.history.len() as u64, max);
    assert!(
        l.base.is_some(),
        "the oldest decisions folded into the base"
    );
    assert_eq!(l.valid_until, Some(day(20 + max + 4)));
    // The grant fell out of the history: it is corrected by a further decision now.
    let old = c.one(
        &[0],
        100,
        correction(1, first.id(), CorrectionAction::Withdraw),
    );
    assert_eq!(rule_of(&old), Some(rules::R0_REFERENCE));
    assert!(reason_of(&old).contains(&format!("last {max} decisions")));
    // Withdrawing the latest renewal restores the term before it.
    c.ok(
        &[0],
        100,
        correction(1, last.id(), CorrectionAction::Withdraw),
    );
    let l = &c.ent(1).licences["L1"];
    assert_eq!(l.valid_until, Some(day(20 + max + 3)));
    assert_eq!(l.status, LicenceStatus::Active);
}

#[test]
fn withdrawing_decisions_recomputes_the_licence_from_those_that_remain() {
    let mut c = chain();
    c.ok(&[0], 100, grant("L1", 100, 400));
    let s = c.ok(&[0], 150, licence(1, "L1", L::Suspend, None, None));
    let r = c.ok(&[0], 200, renew("L1", 200, 500));
    assert_eq!(c.ent(1).licences["L1"].status, LicenceStatus::Active);
    // Withdraw the renewal: the suspension is the licence's status again.
    c.ok(&[0], 201, correction(1, r.id(), CorrectionAction::Withdraw));
    let l = &c.ent(1).licences["L1"];
    assert_eq!(
        (l.status, l.last_decision),
        (LicenceStatus::Suspended, s.id())
    );
    assert_eq!(l.valid_until, Some(day(400)));
    assert_eq!(
        query::licence_status(&c.state, &ent(1), "L1", day(300)),
        Some(LicenceStatusAt::Suspended)
    );
    // Withdraw the suspension too: active under the grant's term.
    c.ok(&[0], 202, correction(1, s.id(), CorrectionAction::Withdraw));
    assert_eq!(
        query::licence_status(&c.state, &ent(1), "L1", day(300)),
        Some(LicenceStatusAt::Active)
    );
}

#[test]
fn a_withdrawn_or_amended_concealed_accident_takes_its_listing_with_it() {
    let concealed = || match accident(1, "ACC-8", 1, 0) {
        TxBody::AccidentReport(mut r) => {
            r.concealed = true;
            TxBody::AccidentReport(r)
        }
        _ => unreachable!(),
    };
    for amend in [false, true] {
        let mut c = chain();
        let report = c.ok(&[0], 100, concealed());
        let refused = c.one(&[0], 200, grant("L1", 200, 900));
        assert_eq!(rule_of(&refused), Some(rules::R2_BLACKLIST), "{refused:?}");
        let action = if amend {
            let TxBody::AccidentReport(mut r) = concealed() else {
                unreachable!()
            };
            r.concealed = false;
            CorrectionAction::Amend(Box::new(TxBody::AccidentReport(r)))
        } else {
            CorrectionAction::Withdraw
        };
        c.ok(&[0], 150, correction(1, report.id(), action));
        assert_eq!(
            c.one(&[0], 200, grant("L1", 200, 900)),
            crate::Outcome::Accepted,
            "amend {amend}"
        );
    }
}
