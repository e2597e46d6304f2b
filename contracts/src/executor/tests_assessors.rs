//! Third-party assessors (issue 20 item 7): registration, reports, a falsification finding
//! banning the institution and its signing experts for life, every agency's renewal
//! relying on their report refused naming the finding.

use crate::assessors::{R0_ASSESSOR, R0_ASSESSOR_BANNED};
use crate::testkit::*;
use crate::Outcome;
use safeledger_core::records::{
    AssessmentReport, AssessorAction, AssessorActionKind, LicenceDecisionKind, TxBody,
};

fn act(institution: &str, action: AssessorActionKind) -> TxBody {
    TxBody::AssessorAction(AssessorAction {
        institution_id: institution.into(),
        action,
    })
}

fn expert(institution: &str, id: &str) -> TxBody {
    act(
        institution,
        AssessorActionKind::RegisterExpert {
            expert_id: id.into(),
            name: format!("Expert {id}"),
        },
    )
}

fn report(id: &str, institution: &str, experts: &[&str]) -> TxBody {
    TxBody::AssessmentReport(AssessmentReport {
        enterprise: ent(1),
        report_id: id.into(),
        institution_id: institution.into(),
        experts: experts.iter().map(|e| e.to_string()).collect(),
        licence_number: Some("L-1".into()),
        conclusion: "safety conditions met".into(),
    })
}

/// Market registers two institutions and their experts, records enterprise 1 and grants
/// it licence L-1 from day 100.
fn registry() -> Chain {
    let mut c = Chain::new();
    for inst in ["INST-1", "INST-2"] {
        c.ok(
            &[3],
            10,
            act(
                inst,
                AssessorActionKind::RegisterInstitution {
                    name: format!("{inst} Safety Assessment Co."),
                },
            ),
        );
    }
    c.ok(&[3], 10, expert("INST-1", "EXP-1"));
    c.ok(&[3], 10, expert("INST-1", "EXP-2"));
    c.ok(&[3], 10, expert("INST-2", "EXP-3"));
    c.ok(&[3], 10, enterprise_record(1, "Assessed Co", &[]));
    c.ok(
        &[3],
        100,
        licence(
            1,
            "L-1",
            LicenceDecisionKind::Grant,
            Some(day(100)),
            Some(day(1000)),
        ),
    );
    c
}

fn renewal() -> TxBody {
    licence(
        1,
        "L-1",
        LicenceDecisionKind::Renew,
        Some(day(1000)),
        Some(day(2000)),
    )
}

#[test]
fn a_falsified_report_bans_its_institution_and_experts_for_life() {
    let mut c = registry();
    let rpt = c.ok(&[3], 200, report("RPT-1", "INST-1", &["EXP-1"])).id();
    // Fire finds it falsified: the ban holds for every agency.
    let finding = c
        .ok(
            &[2],
            300,
            act(
                "INST-1",
                AssessorActionKind::Falsification {
                    report: rpt,
                    finding: "case F-9: the gas detector readings were invented".into(),
                },
            ),
        )
        .id();
    let out = c.one(&[3], 400, renewal());
    assert_eq!(rule_of(&out), Some(R0_ASSESSOR_BANNED), "{out:?}");
    assert!(reason_of(&out).contains(&finding.to_string()), "{out:?}");
    assert!(reason_of(&out).contains("RPT-1"), "{out:?}");
    // New reports by the institution, or signed by its banned expert, are refused.
    let out = c.one(&[0], 400, report("RPT-2", "INST-1", &["EXP-2"]));
    assert_eq!(rule_of(&out), Some(R0_ASSESSOR_BANNED), "{out:?}");
    assert!(reason_of(&out).contains("institution INST-1 is banned for life"));
    let out = c.one(&[3], 400, report("RPT-3", "INST-2", &["EXP-3", "EXP-1"]));
    assert_eq!(rule_of(&out), Some(R0_ASSESSOR_BANNED), "{out:?}");
    assert!(reason_of(&out).contains("expert EXP-1"), "{out:?}");
    // The other expert of INST-1 was not a signer: only its institution's ban applies.
    let e2 = crate::assessors::expert(&c.state, "EXP-2").unwrap();
    assert!(e2.banned.is_none());
}

#[test]
fn a_renewal_relying_on_a_sound_report_is_accepted() {
    let mut c = registry();
    c.ok(&[3], 200, report("RPT-1", "INST-2", &["EXP-3"]));
    assert_eq!(c.one(&[3], 400, renewal()), Outcome::Accepted);
}

#[test]
fn assessor_records_out_of_order_are_refused() {
    let mut c = registry();
    let again = c.one(
        &[3],
        20,
        act(
            "INST-1",
            AssessorActionKind::RegisterInstitution { name: "x".into() },
        ),
    );
    assert_eq!(rule_of(&again), Some(R0_ASSESSOR));
    assert!(reason_of(&c.one(&[3], 20, expert("INST-9", "EXP-9"))).contains("not registered"));
    assert!(reason_of(&c.one(&[3], 20, expert("INST-2", "EXP-1"))).contains("registered already"));
    let out = c.one(&[3], 200, report("RPT-1", "INST-9", &["EXP-1"]));
    assert_eq!(rule_of(&out), Some(R0_ASSESSOR));
    let out = c.one(&[3], 200, report("RPT-1", "INST-2", &["EXP-1"]));
    assert!(reason_of(&out).contains("works for INST-1"), "{out:?}");
    let out = c.one(
        &[3],
        200,
        act(
            "INST-1",
            AssessorActionKind::Falsification {
                report: tx_id_of(1),
                finding: "x".into(),
            },
        ),
    );
    assert!(
        reason_of(&out).contains("not a recorded assessment report"),
        "{out:?}"
    );
}
