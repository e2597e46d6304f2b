//! Restrictions follow linked ids (issue 19 item 8, [`crate::links`]): a blacklist, a
//! severe penalty or a suspension under one id bars a grant under an id linked to it by
//! mutual records or the same unified social credit code — and a one-sided claim does not.

use crate::rules;
use crate::testkit::*;
use crate::Outcome;
use safeledger_core::records::{
    BlacklistAction, BlacklistActionKind, Correction, CorrectionAction, LicenceDecisionKind as L,
    PenaltyGrade, TxBody,
};

const CODE: &str = "91350100M000100Y43";

fn grant(id: u32, number: &str) -> TxBody {
    licence(id, number, L::Grant, Some(day(200)), Some(day(900)))
}

fn blacklist(id: u32) -> TxBody {
    TxBody::BlacklistAction(BlacklistAction {
        enterprise: ent(id),
        action: BlacklistActionKind::Enter,
        reason: "forged records".into(),
    })
}

/// em (officer 0) records enterprise `a` naming `a_links`, fire (officer 2) records `b`
/// naming `b_links`.
fn pair(c: &mut Chain, a: u32, a_links: &[&str], b: u32, b_links: &[&str]) {
    c.ok(&[0], 0, enterprise_record(a, "Here Co", a_links));
    c.ok(&[2], 0, enterprise_record(b, "There Co", b_links));
}

#[test]
fn a_blacklist_under_a_mutually_linked_id_refuses_the_grant_naming_id_record_and_link() {
    let mut c = Chain::new();
    pair(&mut c, 1, &["test:2"], 2, &["test:1"]);
    let listed = c.ok(&[0], 100, blacklist(2));
    let refused = c.one(&[0], 200, grant(1, "L1"));
    assert_eq!(rule_of(&refused), Some(rules::R2_BLACKLIST), "{refused:?}");
    let why = reason_of(&refused);
    assert!(why.contains("enterprise test:2 is blacklisted"), "{why}");
    assert!(why.contains(&listed.id().to_hex()), "{why}");
    assert!(
        why.contains("test:2 is linked to test:1 by enterprise records"),
        "{why}"
    );
    // A one-sided claim links nothing.
    let mut c = Chain::new();
    pair(&mut c, 3, &["test:4"], 4, &[]);
    c.ok(&[0], 100, blacklist(4));
    assert_eq!(c.one(&[0], 200, grant(3, "L3")), Outcome::Accepted);
    // A third agency's records about ids it did not create link nothing either.
    let mut c = Chain::new();
    pair(&mut c, 5, &[], 6, &[]);
    c.ok(&[3], 0, enterprise_record(5, "Here Co", &["test:6"]));
    c.ok(&[3], 0, enterprise_record(6, "There Co", &["test:5"]));
    c.ok(&[0], 100, blacklist(6));
    assert_eq!(c.one(&[0], 200, grant(5, "L5")), Outcome::Accepted);
}

#[test]
fn the_same_uscc_links_a_severe_penalty_until_the_claim_is_withdrawn() {
    let mut c = Chain::new();
    pair(&mut c, 5, &[CODE], 6, &[CODE]);
    c.ok(&[2], 100, penalty(6, "P-6", PenaltyGrade::Severe));
    let refused = c.one(&[0], 200, grant(5, "L5"));
    assert_eq!(
        rule_of(&refused),
        Some(rules::R3_SEVERE_PENALTY),
        "{refused:?}"
    );
    assert!(
        reason_of(&refused).contains(&format!("the same unified social credit code {CODE}")),
        "{}",
        reason_of(&refused)
    );
    // Fire withdraws its record naming the code: the link no longer stands.
    let record = crate::query::enterprise_records(&c.state, &ent(6), 1)[0].tx_id;
    c.ok(
        &[2],
        150,
        TxBody::Correction(Correction {
            enterprise: ent(6),
            target: record,
            action: CorrectionAction::Withdraw,
            reason: "wrong code".into(),
        }),
    );
    assert_eq!(c.one(&[0], 200, grant(5, "L5")), Outcome::Accepted);
}

#[test]
fn a_suspension_under_a_linked_id_bars_a_licence_of_the_same_type_only() {
    let mut c = Chain::new();
    pair(&mut c, 1, &["test:2"], 2, &["test:1"]);
    c.ok(
        &[0],
        10,
        licence(2, "L2", L::Grant, Some(day(10)), Some(day(900))),
    );
    let suspension = c.ok(&[0], 100, licence(2, "L2", L::Suspend, None, None));
    let refused = c.one(&[0], 200, grant(1, "L1"));
    assert_eq!(
        rule_of(&refused),
        Some(rules::R10_LINKED_SUSPENSION),
        "{refused:?}"
    );
    assert!(reason_of(&refused).contains(&suspension.id().to_hex()));
    let TxBody::LicenceDecision(mut other) = grant(1, "L1") else {
        unreachable!()
    };
    other.licence_type = "Hazardous Chemicals".into();
    assert_eq!(
        c.one(&[0], 200, TxBody::LicenceDecision(other)),
        Outcome::Accepted
    );
}

#[test]
fn a_closure_over_max_linked_ids_is_refused_not_judged_in_part() {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Hub", &[CODE]));
    for n in 2..=4 {
        c.ok(&[2], 0, enterprise_record(n, "Spoke", &[CODE]));
    }
    crate::executor::tests_admin::set_param(&mut c, "max_linked_ids", 2);
    let refused = c.one(&[0], 200, grant(1, "L1"));
    assert_eq!(rule_of(&refused), Some(rules::R0_LINKED_IDS), "{refused:?}");
    assert!(reason_of(&refused).contains("max_linked_ids = 2"));
}
