//! Joint inspections (issue 20 item 3): one record co-signed by officers of every agency
//! with a section; each section applied as its agency's inspection; signer refusals.

use crate::testkit::*;
use crate::RuleParams;
use safeledger_core::records::{
    InspectionOutcome, InspectionRecord, JointInspection, JointSection, Severity, TxBody, Violation,
};

fn section(
    agency: &str,
    id: &str,
    outcome: InspectionOutcome,
    hazard: Option<&str>,
) -> JointSection {
    let TxBody::InspectionRecord(mut inspection) = inspection(1, id, outcome) else {
        unreachable!()
    };
    if let Some(code) = hazard {
        inspection.violations = vec![Violation {
            code: code.into(),
            severity: Severity::High,
            description: "blocked exit".into(),
            rectify_by: Some(day(9000)),
        }];
    }
    JointSection {
        agency: agency.into(),
        inspection,
    }
}

fn joint(sections: Vec<JointSection>) -> TxBody {
    TxBody::JointInspection(JointInspection {
        enterprise: ent(1),
        visit_id: "JV-1".into(),
        sections,
    })
}

fn fire_and_market() -> TxBody {
    joint(vec![
        section(FIRE, "F-J1", InspectionOutcome::Fail, Some("EXIT-1")),
        section(MARKET, "M-J1", InspectionOutcome::Pass, None),
    ])
}

#[test]
fn a_joint_inspection_is_each_agencys_inspection() {
    let mut c = Chain::new();
    c.ok(&[3], 10, enterprise_record(1, "Joint Co", &[]));
    // Fire's officer submits; market's co-signs.
    let tx = c.ok(&[2, 3], 20, fire_and_market());
    let e = c.ent(1);
    let agencies: Vec<&str> = e
        .findings
        .iter()
        .filter(|f| f.tx_id == tx.id())
        .map(|f| f.agency.as_str())
        .collect();
    assert_eq!(agencies, [FIRE, MARKET]);
    assert_eq!(e.inspections.count, 2);
    assert_eq!(e.inspections.last_inspection, Some(tx.id()));
    // Fire's hazard waits in fire's inbox; both agencies plan from it once licensed.
    let key = crate::keys::enterprise(&ent(1));
    let tasks = crate::query::tasks::tasks_of(&c.state, &key, &[], &RuleParams::default());
    assert!(tasks
        .iter()
        .any(|t| t.agency == FIRE && t.kind == crate::query::tasks::TaskKind::HazardRectification));
    // The same section ids again are duplicates of each agency's inspection.
    let again = c.one(&[2, 3], 21, fire_and_market());
    assert_eq!(
        rule_of(&again),
        Some(crate::rules::R0_DUPLICATE),
        "{again:?}"
    );
}

#[test]
fn every_section_needs_its_own_agencys_signature() {
    let mut c = Chain::new();
    c.ok(&[3], 10, enterprise_record(1, "Joint Co", &[]));
    // Fire alone signs for market's section too.
    let out = c.one(&[2], 20, fire_and_market());
    assert_eq!(rule_of(&out), Some(crate::rules::R0_SIGNER));
    assert!(reason_of(&out).contains("no officer of market"), "{out:?}");
    // An officer of em signs a record with no em section.
    let out = c.one(&[2, 3, 0], 20, fire_and_market());
    assert!(reason_of(&out).contains("has no section of em"), "{out:?}");
    // A signer that is nobody's officer.
    let out = c.one(&[2, 9], 20, fire_and_market());
    assert_eq!(rule_of(&out), Some(crate::rules::R0_SIGNER));
    assert_eq!(c.ent(1).inspections.count, 0, "nothing was applied");
}

#[test]
fn joint_bounds_name_the_field() {
    let one = joint(vec![section(FIRE, "F", InspectionOutcome::Pass, None)]);
    assert_eq!(one.check_bounds().unwrap_err().field, "sections");
    let twice = joint(vec![
        section(FIRE, "F", InspectionOutcome::Pass, None),
        section(FIRE, "G", InspectionOutcome::Pass, None),
    ]);
    assert!(twice
        .check_bounds()
        .unwrap_err()
        .why
        .contains("two sections"));
    let same_code = joint(vec![
        section(FIRE, "F", InspectionOutcome::Fail, Some("X")),
        section(MARKET, "M", InspectionOutcome::Fail, Some("X")),
    ]);
    assert!(same_code
        .check_bounds()
        .unwrap_err()
        .why
        .contains("two sections"));
    let mut other = fire_and_market();
    if let TxBody::JointInspection(j) = &mut other {
        j.sections[1].inspection = InspectionRecord {
            enterprise: ent(2),
            ..j.sections[1].inspection.clone()
        };
    }
    assert!(other.check_bounds().unwrap_err().why.contains("is about"));
}
