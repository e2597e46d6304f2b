//! The domain rules of DESIGN §5 (R2–R9, the licence lifecycle, corrections and appeals):
//! an allowed and a refused case each, and the records named in every refusal.

use crate::model::{CreditGrade, FindingStatus, LicenceStatus, LicenceStatusAt, RiskLevel};
use crate::query;
use crate::rules;
use crate::testkit::*;
use crate::Outcome;
use safeledger_core::records::{
    AccidentLevel, Appeal, AppealOutcome, AppealTarget, AppealVerdict, BlacklistAction,
    BlacklistActionKind, Correction, CorrectionAction, InspectionOutcome as I,
    LicenceDecisionKind as L, PenaltyClearance, PenaltyGrade, RectificationReport, Severity,
    TxBody, Violation,
};

/// A chain where em (officer 0) created enterprise 1.
fn chain() -> Chain {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    c
}

fn grant(number: &str, from: u64, until: u64) -> TxBody {
    licence(1, number, L::Grant, Some(day(from)), Some(day(until)))
}

fn renew(number: &str, from: u64, until: u64, applied: Option<u64>) -> TxBody {
    match licence(1, number, L::Renew, Some(day(from)), Some(day(until))) {
        TxBody::LicenceDecision(mut d) => {
            d.applied_at = applied.map(day);
            TxBody::LicenceDecision(d)
        }
        _ => unreachable!(),
    }
}

fn with_industry(body: TxBody, code: &str) -> TxBody {
    match body {
        TxBody::LicenceDecision(mut d) => {
            d.industry = Some(code.into());
            TxBody::LicenceDecision(d)
        }
        _ => unreachable!(),
    }
}

fn inspection_with(id: &str, outcome: I, violations: Vec<Violation>) -> TxBody {
    match inspection(1, id, outcome) {
        TxBody::InspectionRecord(mut r) => {
            r.violations = violations;
            TxBody::InspectionRecord(r)
        }
        _ => unreachable!(),
    }
}

fn hazard(code: &str, severity: Severity, rectify_by: Option<u64>) -> Violation {
    Violation {
        code: code.into(),
        severity,
        description: "d".into(),
        rectify_by: rectify_by.map(day),
    }
}

#[test]
fn renewal_must_be_applied_for_three_months_before_expiry() {
    let mut c = chain();
    // Term ends 2023-05-31 (day 1246 from 2020-01-01 is 2023-05-31).
    let end = 1246;
    assert_eq!(day(end).date_string(), "2023-05-31");
    c.ok(&[0], 500, grant("L1", 500, end));
    // 3 calendar months before 2023-05-31 is 2023-02-28 (day 1154).
    assert_eq!(day(1154).date_string(), "2023-02-28");
    let late = c.one(&[0], 1200, renew("L1", end, end + 700, Some(1155)));
    assert_eq!(rule_of(&late), Some(rules::R0_RENEWAL_LEAD));
    assert!(reason_of(&late).contains("renewal_lead_months = 3"));
    assert!(reason_of(&late).contains("2023-02-28"));
    let after_decision = c.one(&[0], 1200, renew("L1", end, end + 700, Some(1201)));
    assert_eq!(rule_of(&after_decision), Some(rules::R0_RENEWAL_LEAD));
    c.ok(&[0], 1200, renew("L1", end, end + 700, Some(1154)));
    // Without an application date the rule has nothing to judge.
    c.ok(&[0], 1300, renew("L1", end + 700, end + 1000, None));
}

#[test]
fn expiry_is_computed_from_block_time() {
    let mut c = chain();
    c.ok(&[0], 900, grant("L1", 900, 1005));
    let at = |d| query::licence_status(&c.state, &ent(1), "L1", day(d));
    assert_eq!(at(1005), Some(LicenceStatusAt::Active));
    assert_eq!(at(1006), Some(LicenceStatusAt::Expired));
    assert_eq!(c.ent(1).licences["L1"].status, LicenceStatus::Active);
    // What a reader is shown follows block time too (issue 18, point 5).
    let shown = |d| query::enterprise_as_of(&c.ent(1), day(d)).unwrap()["licences"]["L1"].clone();
    assert_eq!(shown(1005)["status"], "active");
    assert_eq!(shown(1006)["status"], "expired");
    assert_eq!(shown(1006)["recorded_status"], "active");
}

#[test]
fn blacklist_bars_grants_r2_and_removal_waits_twelve_months_r4() {
    let mut c = chain();
    let entry = c.ok(
        &[0],
        100,
        TxBody::BlacklistAction(BlacklistAction {
            enterprise: ent(1),
            action: BlacklistActionKind::Enter,
            reason: "fraud".into(),
        }),
    );
    assert_eq!(c.ent(1).assessment.credit, CreditGrade::D);
    let refused = c.one(&[0], 200, grant("L1", 200, 900));
    assert_eq!(rule_of(&refused), Some(rules::R2_BLACKLIST));
    assert!(reason_of(&refused).contains(&entry.id().to_hex()));
    assert!(reason_of(&refused).contains("blacklist_months = 36"));
    let remove = || {
        TxBody::BlacklistAction(BlacklistAction {
            enterprise: ent(1),
            action: BlacklistActionKind::Remove,
            reason: "request".into(),
        })
    };
    // 2020-04-10 + 12 months = 2021-04-10 (day 465).
    let early = c.one(&[0], 464, remove());
    assert_eq!(rule_of(&early), Some(rules::R4_BLACKLIST_REMOVAL));
    assert!(reason_of(&early).contains("blacklist_removal_after_months = 12"));
    c.ok(&[0], 465, remove());
    c.ok(&[0], 466, grant("L1", 466, 900));
    // Listed 3 years: a grant after the listing lapses needs no removal.
    let mut c = chain();
    c.ok(
        &[0],
        0,
        TxBody::BlacklistAction(BlacklistAction {
            enterprise: ent(1),
            action: BlacklistActionKind::Enter,
            reason: "x".into(),
        }),
    );
    assert_eq!(
        rule_of(&c.one(&[0], 1095, grant("L1", 1095, 1200))),
        Some(rules::R2_BLACKLIST)
    );
    c.ok(&[0], 1096, grant("L1", 1096, 1200));
}

#[test]
fn a_concealed_accident_blacklists_r4_and_its_level_must_be_right() {
    let mut c = chain();
    let wrong = match accident(1, "A1", 3, 0) {
        TxBody::AccidentReport(mut r) => {
            r.level = AccidentLevel::General;
            TxBody::AccidentReport(r)
        }
        _ => unreachable!(),
    };
    let out = c.one(&[0], 100, wrong);
    assert_eq!(rule_of(&out), Some(rules::R0_ACCIDENT_LEVEL));
    assert!(reason_of(&out).contains("make it larger"));
    let concealed = match accident(1, "A1", 1, 0) {
        TxBody::AccidentReport(mut r) => {
            r.concealed = true;
            TxBody::AccidentReport(r)
        }
        _ => unreachable!(),
    };
    let acc = c.ok(&[0], 100, concealed);
    let e = c.ent(1);
    assert_eq!(e.listings.len(), 1);
    assert_eq!(e.listings[0].tx_id, acc.id());
    assert_eq!(
        (e.assessment.credit, e.assessment.credit_basis.clone()),
        (CreditGrade::D, vec![acc.id()])
    );
    let out = c.one(&[0], 200, grant("L1", 200, 900));
    assert_eq!(rule_of(&out), Some(rules::R2_BLACKLIST));
}

#[test]
fn a_severe_penalty_restricts_grants_everywhere_until_cleared_or_twelve_months_r3() {
    let mut c = chain();
    c.ok(&[0], 10, grant("L0", 10, 700));
    let pen = c.ok(&[2], 100, penalty(1, "F-1", PenaltyGrade::Severe));
    // The licensing agency (em) got a review task.
    let tasks = query::inbox(&c.state, EM, 0, 10);
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].penalty, tasks[0].licences.clone()),
        (pen.id(), vec!["L0".into()])
    );
    let open = query::open_inbox(&c.state, EM, day(100), 10);
    assert_eq!(open.open, 1, "the review is open until em decides on L0");
    let out = c.one(&[0], 150, grant("L1", 150, 800));
    assert_eq!(rule_of(&out), Some(rules::R3_SEVERE_PENALTY));
    assert!(reason_of(&out).contains(&pen.id().to_hex()));
    assert!(reason_of(&out).contains("severe_penalty_months = 12"));
    // Only the penalizing agency clears it.
    let clear = || {
        TxBody::PenaltyClearance(PenaltyClearance {
            enterprise: ent(1),
            case_id: "F-1".into(),
            reason: "rectified".into(),
        })
    };
    assert_eq!(
        rule_of(&c.one(&[0], 160, clear())),
        Some(rules::R0_REFERENCE)
    );
    c.ok(&[2], 160, clear());
    c.ok(&[0], 161, grant("L1", 161, 800));
    // Twelve months after a severe penalty the restriction lapses by itself.
    let mut c = chain();
    c.ok(&[2], 100, penalty(1, "F-2", PenaltyGrade::Severe));
    assert_eq!(
        rule_of(&c.one(&[0], 464, grant("L1", 464, 800))),
        Some(rules::R3_SEVERE_PENALTY)
    );
    c.ok(&[0], 465, grant("L1", 465, 800));
    // A minor penalty restricts nothing.
    c.ok(&[2], 500, penalty(1, "F-3", PenaltyGrade::Minor));
    c.ok(&[0], 501, grant("L2", 501, 800));
}

#[test]
fn risk_and_credit_follow_r5_and_r9_with_the_records_behind_them() {
    let mut c = chain();
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Green);
    let f1 = c.ok(&[0], 100, inspection(1, "1", I::Fail));
    let a = c.ent(1).assessment;
    assert_eq!((a.risk, a.credit), (RiskLevel::Yellow, CreditGrade::B));
    assert_eq!(a.risk_basis, vec![f1.id()]);
    c.ok(&[0], 101, inspection(1, "2", I::NoVerdict));
    let f2 = c.ok(&[0], 102, inspection(1, "3", I::Fail));
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Orange);
    let f3 = c.ok(&[0], 103, inspection(1, "4", I::Fail));
    let a = c.ent(1).assessment;
    assert_eq!(a.risk, RiskLevel::Red);
    assert_eq!(a.risk_basis, vec![f3.id(), f2.id(), f1.id()]);
    assert_eq!(a.inspection_interval_days, 182, "red doubles the frequency");
    c.ok(&[0], 104, inspection(1, "5", I::Pass));
    let a = c.ent(1).assessment;
    assert_eq!((a.risk, a.credit), (RiskLevel::Green, CreditGrade::B));
    assert_eq!(a.inspection_interval_days, 365);
    // B lapses 12 months after the last failure; an accident makes it orange for 12
    // months; a severe penalty is C for 24 months.
    c.ok(&[0], 104 + 367, inspection(1, "6", I::Pass));
    assert_eq!(c.ent(1).assessment.credit, CreditGrade::A);
    c.ok(&[0], 480, accident(1, "A1", 1, 0));
    let a = c.ent(1).assessment;
    assert_eq!((a.risk, a.credit), (RiskLevel::Orange, CreditGrade::A));
    c.ok(&[0], 490, accident(1, "A2", 3, 0));
    assert_eq!(
        c.ent(1).assessment.credit,
        CreditGrade::C,
        "a larger accident"
    );
    let q = |d| query::assessment_at(&c.state, &ent(1), day(d), &Default::default()).unwrap();
    assert_eq!(q(490 + 731).credit, CreditGrade::A, "24 months later");
    assert_eq!(q(490 + 366).risk, RiskLevel::Green, "12 months later");
}

#[test]
fn rectification_rate_under_80_percent_is_grade_c() {
    let mut c = chain();
    let hz = |n: u32| hazard(&format!("H{n}"), Severity::Moderate, Some(150));
    c.ok(
        &[0],
        100,
        inspection_with("I1", I::PassWithConditions, (0..5).map(hz).collect()),
    );
    let report = |codes: Vec<&str>| {
        TxBody::RectificationReport(RectificationReport {
            enterprise: ent(1),
            inspection_id: "I1".into(),
            codes: codes.into_iter().map(String::from).collect(),
            description: "fixed".into(),
        })
    };
    c.ok(&[0], 140, report(vec!["H0", "H1", "H2", "H3"]));
    let unknown = c.one(&[0], 140, report(vec!["H9"]));
    assert_eq!(rule_of(&unknown), Some(rules::R0_REFERENCE));
    let q = |d| query::assessment_at(&c.state, &ent(1), day(d), &Default::default()).unwrap();
    assert_eq!(
        q(151).credit,
        CreditGrade::A,
        "4 of 5 = 80 % is not under 80 %"
    );
    let mut c2 = chain();
    c2.ok(
        &[0],
        100,
        inspection_with("I1", I::PassWithConditions, (0..5).map(hz).collect()),
    );
    c2.ok(&[0], 140, report(vec!["H0", "H1", "H2"]));
    let a = query::assessment_at(&c2.state, &ent(1), day(151), &Default::default()).unwrap();
    assert_eq!(a.credit, CreditGrade::C);
    assert!(a.credit_reason.contains("3 of 5"));
}

#[test]
fn an_unrectified_hazard_past_its_live_deadline_suspends_the_licences_r8() {
    let mut c = Chain::new();
    c.base = 1000;
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    c.ok(&[0], 900, grant("L1", 900, 1500));
    // Block times are day(1000 + height): this inspection commits on day 1003 with a
    // deadline on day 1006 (live), another with a deadline already past (history).
    // The deadline escalates in the first block after it (day 1007).
    let insp = c.ok(
        &[0],
        1002,
        inspection_with("I1", I::Fail, vec![hazard("H", Severity::High, Some(1006))]),
    );
    c.ok(
        &[0],
        1003,
        inspection_with(
            "I0",
            I::Fail,
            vec![hazard("OLD", Severity::High, Some(950))],
        ),
    );
    assert_eq!(c.ent(1).licences["L1"].status, LicenceStatus::Active);
    c.run(&[]); // day 1005
    c.run(&[]); // day 1006: due, still on time
    assert_eq!(c.ent(1).licences["L1"].status, LicenceStatus::Active);
    c.run(&[]); // day 1007: past due
    let e = c.ent(1);
    assert_eq!(e.licences["L1"].status, LicenceStatus::Suspended);
    assert_eq!(e.licences["L1"].escalated_by, Some(insp.id()));
    assert_eq!(e.escalations.len(), 1, "only the live deadline escalates");
    assert_eq!(e.escalations[0].suspended, vec!["L1".to_string()]);
    assert_eq!(e.assessment.risk, RiskLevel::Red);
    // Rectified in time: no escalation.
    let mut c = Chain::new();
    c.base = 1000;
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    c.ok(&[0], 900, grant("L1", 900, 1500));
    c.ok(
        &[0],
        1002,
        inspection_with("I1", I::Fail, vec![hazard("H", Severity::High, Some(1006))]),
    );
    c.ok(
        &[0],
        1004,
        TxBody::RectificationReport(RectificationReport {
            enterprise: ent(1),
            inspection_id: "I1".into(),
            codes: vec![],
            description: "done".into(),
        }),
    );
    c.run(&[]);
    c.run(&[]);
    c.run(&[]);
    assert_eq!(c.ent(1).licences["L1"].status, LicenceStatus::Active);
    assert!(c.ent(1).escalations.is_empty());
}

#[test]
fn a_reinspection_that_does_not_fail_closes_the_hazards_it_does_not_find_again() {
    let mut c = chain();
    c.ok(
        &[0],
        100,
        inspection_with(
            "I1",
            I::Fail,
            vec![
                hazard("A", Severity::High, None),
                hazard("B", Severity::High, None),
            ],
        ),
    );
    let follow = |id: &str, of: &str, outcome, v| match inspection_with(id, outcome, v) {
        TxBody::InspectionRecord(mut r) => {
            r.follow_up_of = Some(of.into());
            TxBody::InspectionRecord(r)
        }
        _ => unreachable!(),
    };
    let dangling = c.one(&[0], 110, follow("I2", "nope", I::Pass, vec![]));
    assert_eq!(rule_of(&dangling), Some(rules::R0_REFERENCE));
    let re = c.ok(
        &[0],
        110,
        follow(
            "I3",
            "I1",
            I::NoVerdict,
            vec![hazard("B", Severity::High, None)],
        ),
    );
    let e = c.ent(1);
    let crate::FindingKind::Inspection { hazards, .. } = &e.findings[0].what else {
        panic!()
    };
    assert_eq!(hazards[0].rectified, Some((re.id(), day(110))));
    assert_eq!(hazards[1].rectified, None);
}

#[test]
fn licence_decisions_in_high_risk_industries_need_two_officers_r6() {
    let mut c = chain();
    let mining = || with_industry(grant("L1", 900, 1500), "GB/T 4754-2017:B0610");
    let out = c.one(&[0], 900, mining());
    assert_eq!(rule_of(&out), Some(rules::R6_COLLECTIVE));
    assert!(reason_of(&out).contains("collective_k = 2"));
    assert!(reason_of(&out).contains("high-risk B"));
    c.ok(&[0, 1], 900, mining());
    // The licence keeps its industry: its suspension is collective too.
    let suspend = licence(1, "L1", L::Suspend, None, None);
    assert_eq!(
        rule_of(&c.one(&[0], 901, suspend.clone())),
        Some(rules::R6_COLLECTIVE)
    );
    c.ok(&[0, 1], 901, suspend);
    // Fireworks (C2671) are within C26; restaurants (H62) are not high-risk.
    let fireworks = with_industry(grant("L2", 900, 1500), "GB/T 4754-2017:C2671");
    assert_eq!(
        rule_of(&c.one(&[0], 900, fireworks)),
        Some(rules::R6_COLLECTIVE)
    );
    c.ok(
        &[0],
        900,
        with_industry(grant("L3", 900, 1500), "GB/T 4754-2017:H62"),
    );
    let bad = with_industry(grant("L4", 900, 1500), "GB/T 4754-2017:B13");
    assert_eq!(rule_of(&c.one(&[0], 900, bad)), Some(rules::R0_INDUSTRY));
}

#[test]
fn a_withdrawn_or_amended_finding_stops_counting_but_stays_on_the_timeline() {
    let mut c = chain();
    let f = c.ok(&[0], 100, inspection(1, "I1", I::Fail));
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Yellow);
    let withdraw = |target| {
        TxBody::Correction(Correction {
            enterprise: ent(1),
            target,
            action: CorrectionAction::Withdraw,
            reason: "wrong premises".into(),
        })
    };
    // Only the recording agency corrects.
    assert_eq!(
        rule_of(&c.one(&[2], 101, withdraw(f.id()))),
        Some(rules::R1_CORRECTION)
    );
    let corr = c.ok(&[1], 101, withdraw(f.id()));
    let e = c.ent(1);
    assert_eq!(e.findings[0].status, FindingStatus::Withdrawn(corr.id()));
    assert_eq!(e.assessment.risk, RiskLevel::Green);
    let timeline = query::enterprise_records(&c.state, &ent(1), 10);
    assert_eq!(timeline[1].tx_id, f.id());
    assert_eq!(timeline[1].corrected_by, Some(corr.id()));
    assert_eq!(
        rule_of(&c.one(&[0], 102, withdraw(f.id()))),
        Some(rules::R0_REFERENCE)
    );
    // Amend a pass into a fail.
    let p = c.ok(&[0], 110, inspection(1, "I2", I::Pass));
    let amend = TxBody::Correction(Correction {
        enterprise: ent(1),
        target: p.id(),
        action: CorrectionAction::Amend(Box::new(inspection(1, "I2", I::Fail))),
        reason: "transcription error".into(),
    });
    let am = c.ok(&[0], 111, amend);
    let e = c.ent(1);
    let g = e.findings.iter().find(|g| g.tx_id == p.id()).unwrap();
    assert_eq!(g.amended_by, Some(am.id()));
    assert_eq!(e.assessment.risk, RiskLevel::Yellow);
    assert_eq!(e.inspections.count, 2, "counters count records received");
    // A blacklist entry is corrected by a further record of its kind (a removal).
    let b = c.ok(
        &[0],
        120,
        TxBody::BlacklistAction(BlacklistAction {
            enterprise: ent(1),
            action: BlacklistActionKind::Enter,
            reason: "r".into(),
        }),
    );
    assert_eq!(
        rule_of(&c.one(&[0], 121, withdraw(b.id()))),
        Some(rules::R0_REFERENCE)
    );
}

#[test]
fn an_overturned_revocation_restores_the_licence_and_only_its_agency_decides() {
    let mut c = chain();
    let g = c.ok(&[0], 100, grant("L1", 100, 700));
    c.ok(&[0], 200, licence(1, "L1", L::Revoke, None, None));
    let appeal = c.ok(
        &[0],
        210,
        TxBody::Appeal(Appeal {
            enterprise: ent(1),
            appeal_id: "AP-1".into(),
            target: AppealTarget::Licence("L1".into()),
            grounds: "procedure".into(),
        }),
    );
    let outcome = |verdict| {
        TxBody::AppealOutcome(AppealOutcome {
            enterprise: ent(1),
            appeal_id: "AP-1".into(),
            verdict,
            reason: "r".into(),
        })
    };
    let out = c.one(&[2], 300, outcome(AppealVerdict::Overturned));
    assert_eq!(rule_of(&out), Some(rules::R1_APPEAL));
    assert!(reason_of(&out).contains(&appeal.id().to_hex()));
    c.ok(&[0], 300, outcome(AppealVerdict::Overturned));
    let l = &c.ent(1).licences["L1"];
    assert_eq!((l.status, l.last_decision), (LicenceStatus::Active, g.id()));
    assert_eq!(
        rule_of(&c.one(&[0], 301, outcome(AppealVerdict::Upheld))),
        Some(rules::R0_REFERENCE)
    );
}

#[test]
fn every_refusal_here_names_its_rule() {
    // A smoke check that a refused outcome carries a rule name from the table.
    let mut c = chain();
    let out = c.one(&[0], 100, renew("L9", 100, 5000, None));
    assert!(matches!(out, Outcome::Refused { ref rule, .. } if rule == rules::R0_LICENCE_TERM));
}

#[test]
fn accident_levels_compare_losses_per_currency() {
    let mut c = chain();
    let with_loss = |report: &str, loss: u64, currency: &str, level| match accident(1, report, 0, 0)
    {
        TxBody::AccidentReport(mut r) => {
            r.direct_loss_minor = Some(loss);
            r.currency = Some(currency.into());
            r.level = level;
            TxBody::AccidentReport(r)
        }
        _ => unreachable!(),
    };
    // 20 M yuan in fen: larger by Order 493's CNY thresholds.
    c.ok(
        &[0],
        100,
        with_loss("A1", 2_000_000_000, "CNY", AccidentLevel::Larger),
    );
    // The same figure in US cents: no thresholds governed for USD, the loss does not count,
    // and the refusal says why.
    let out = c.one(
        &[0],
        100,
        with_loss("A2", 2_000_000_000, "USD", AccidentLevel::Larger),
    );
    assert_eq!(rule_of(&out), Some(rules::R0_ACCIDENT_LEVEL));
    assert!(
        reason_of(&out).contains("no loss thresholds are governed for USD"),
        "{out:?}"
    );
    c.ok(
        &[0],
        100,
        with_loss("A3", 2_000_000_000, "USD", AccidentLevel::General),
    );
}
