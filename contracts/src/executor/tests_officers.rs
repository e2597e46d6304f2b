//! Officers' posts and the governed permission table (issue 19 item 6, R1-role), and
//! collective decisions co-signed over time (item 5, [`crate::cosign`]).

use super::tests_admin::roles_for;
use crate::model::LicenceStatus;
use crate::query;
use crate::rules;
use crate::testkit::*;
use crate::Outcome;
use safeledger_core::records::{
    DecisionProposal, DecisionSignature, GovernanceAction, GovernanceProposal, GovernanceVote,
    InspectionOutcome as I, LicenceDecision, LicenceDecisionKind as L, OfficerAction,
    OfficerActionKind as A, TxBody, TxKind,
};
use safeledger_core::TxId;

/// Market (officer 3, head) registers officer `n` with `roles`.
fn post(c: &mut Chain, n: u8, action: A, roles: &[&str]) -> Outcome {
    c.one(
        &[3],
        1,
        TxBody::OfficerAction(OfficerAction {
            officer: officer(n).public(),
            action,
            name: format!("officer {n}"),
            roles: roles_for(action, roles),
        }),
    )
}

fn mining_grant(number: &str) -> LicenceDecision {
    let TxBody::LicenceDecision(mut d) =
        licence(1, number, L::Grant, Some(day(900)), Some(day(1500)))
    else {
        unreachable!()
    };
    d.industry = Some("GB/T 4754-2017:B0610".into());
    d
}

fn propose(id: &str, d: LicenceDecision, hours: Option<u32>) -> TxBody {
    TxBody::DecisionProposal(DecisionProposal {
        proposal_id: id.into(),
        decision: d,
        deadline_hours: hours,
    })
}

fn cosign(proposal: TxId) -> TxBody {
    TxBody::DecisionSignature(DecisionSignature {
        enterprise: ent(1),
        proposal,
    })
}

/// A market chain with enterprise 1 and officers 10 (inspector), 11 and 12 (approvers).
fn market() -> Chain {
    let mut c = Chain::new();
    c.ok(&[3], 0, enterprise_record(1, "Mine", &[]));
    assert_eq!(
        post(&mut c, 10, A::Register, &["inspector"]),
        Outcome::Accepted
    );
    assert_eq!(
        post(&mut c, 11, A::Register, &["approver"]),
        Outcome::Accepted
    );
    assert_eq!(
        post(&mut c, 12, A::Register, &["approver"]),
        Outcome::Accepted
    );
    c
}

#[test]
fn each_post_signs_only_what_the_permission_table_allows() {
    let mut c = market();
    // An inspector records an inspection but may not revoke a licence.
    c.ok(&[10], 2, inspection(1, "I-1", I::Fail));
    c.ok(
        &[3],
        2,
        licence(1, "L1", L::Grant, Some(day(900)), Some(day(1500))),
    );
    let out = c.one(&[10], 3, licence(1, "L1", L::Revoke, None, None));
    assert_eq!(rule_of(&out), Some(rules::R1_ROLE), "{out:?}");
    let why = reason_of(&out);
    assert!(
        why.contains("[inspector]") && why.contains("licence_decision"),
        "{why}"
    );
    assert!(
        why.contains("approver") && why.contains("officer 10"),
        "{why}"
    );
    // As co-signer too: an inspector's signature does not make a decision collective.
    let out = c.one(&[11, 10], 3, licence(1, "L1", L::Suspend, None, None));
    assert_eq!(rule_of(&out), Some(rules::R1_ROLE), "{out:?}");
    // An approver may; an approver may not register officers (head only).
    c.ok(&[11], 3, licence(1, "L1", L::Suspend, None, None));
    let out = c.one(
        &[11],
        3,
        TxBody::OfficerAction(OfficerAction {
            officer: officer(13).public(),
            action: A::Register,
            name: "x".into(),
            roles: vec!["head".into()],
        }),
    );
    assert_eq!(rule_of(&out), Some(rules::R1_ROLE));
    // Unknown roles are refused naming the field; roles change by set_roles.
    let out = post(&mut c, 13, A::Register, &["janitor"]);
    assert_eq!(rule_of(&out), Some(rules::R1_OFFICER));
    assert!(reason_of(&out).contains("field roles"), "{out:?}");
    assert_eq!(
        post(&mut c, 10, A::SetRoles, &["approver"]),
        Outcome::Accepted
    );
    c.ok(&[10], 4, licence(1, "L1", L::Revoke, None, None));
    assert_eq!(
        query::officer(&c.state, &officer(10).public())
            .unwrap()
            .roles,
        vec!["approver".to_string()]
    );
    // Another agency may not set market's officers' roles.
    let out = c.one(
        &[0],
        4,
        TxBody::OfficerAction(OfficerAction {
            officer: officer(10).public(),
            action: A::SetRoles,
            name: String::new(),
            roles: vec!["head".into()],
        }),
    );
    assert_eq!(rule_of(&out), Some(rules::R1_OFFICER));
}

#[test]
fn the_permission_table_is_governed() {
    let mut c = market();
    let vote_in = |c: &mut Chain, id: &str, value: &str| {
        let p = TxBody::GovernanceProposal(GovernanceProposal {
            proposal_id: id.into(),
            action: GovernanceAction::SetRuleParam {
                name: "officer_roles.inspector".into(),
                value: value.into(),
            },
            reason: "duty change".into(),
        });
        c.ok(&[0], 5, p);
        let v = TxBody::GovernanceVote(GovernanceVote {
            proposal_id: id.into(),
            approve: true,
        });
        c.ok(&[2], 5, v.clone());
        c.ok(&[3], 5, v);
    };
    c.ok(
        &[3],
        2,
        licence(1, "L1", L::Grant, Some(day(900)), Some(day(1500))),
    );
    vote_in(&mut c, "P1", "inspection_record, licence_decision");
    c.ok(&[10], 6, licence(1, "L1", L::Suspend, None, None));
    let out = c.one(&[10], 6, enterprise_record(1, "Mine Ltd", &[]));
    assert_eq!(rule_of(&out), Some(rules::R1_ROLE), "{out:?}");
}

#[test]
fn a_collective_decision_takes_effect_when_the_kth_officer_co_signs_before_the_deadline() {
    let mut c = market();
    // Alone, a high-risk grant is refused (R6); proposed, it waits for a co-signer.
    let out = c.one(&[11], 2, TxBody::LicenceDecision(mining_grant("M1")));
    assert_eq!(rule_of(&out), Some(rules::R6_COLLECTIVE));
    let p = c.ok(&[11], 2, propose("CD-1", mining_grant("M1"), None));
    let e = query::enterprise(&c.state, &ent(1)).unwrap();
    assert!(
        !e.licences.contains_key("M1"),
        "not in effect before k signed"
    );
    // The proposer again, an inspector, another agency: refused, each by its rule.
    let again = c.one(&[11], 3, cosign(p.id()));
    assert_eq!(rule_of(&again), Some(rules::R6_COLLECTIVE));
    assert!(reason_of(&again).contains("already signed"), "{again:?}");
    assert_eq!(
        rule_of(&c.one(&[10], 3, cosign(p.id()))),
        Some(rules::R1_ROLE)
    );
    let em = c.one(&[0], 3, cosign(p.id()));
    assert_eq!(rule_of(&em), Some(rules::R1_ROLE));
    assert!(reason_of(&em).contains("agency market"), "{em:?}");
    // The second approver's signature, a block later, makes it take effect.
    let s = c.ok(&[12], 3, cosign(p.id()));
    let e = query::enterprise(&c.state, &ent(1)).unwrap();
    assert_eq!(e.licences["M1"].status, LicenceStatus::Active);
    let d = query::decisions(&c.state, &ent(1), &[TxKind::LicenceDecision], 10);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].record.tx_id, s.id());
    assert_eq!(
        d[0].record.signers,
        vec![officer(11).public(), officer(12).public()]
    );
    let late = c.one(&[3], 4, cosign(p.id()));
    assert!(reason_of(&late).contains("already took effect"), "{late:?}");
}

#[test]
fn co_signatures_after_the_deadline_and_proposals_that_could_never_pass_are_refused() {
    let mut c = market();
    let p = c.ok(&[11], 2, propose("CD-2", mining_grant("M2"), Some(24)));
    c.run(&[]); // a day passes: block time is past the 24 h deadline
    let out = c.one(&[12], 3, cosign(p.id()));
    assert_eq!(rule_of(&out), Some(rules::R6_COLLECTIVE));
    assert!(reason_of(&out).contains("deadline"), "{out:?}");
    // Suspending a licence the ledger does not hold could never take effect.
    let TxBody::LicenceDecision(d) = licence(1, "NOPE", L::Suspend, None, None) else {
        unreachable!()
    };
    let out = c.one(&[11], 3, propose("CD-3", d, None));
    assert_eq!(rule_of(&out), Some(rules::R0_LICENCE_UNKNOWN), "{out:?}");
    // A proposal id is one per agency and enterprise; a co-signature names a proposal.
    let out = c.one(&[11], 3, propose("CD-2", mining_grant("M3"), None));
    assert_eq!(rule_of(&out), Some(rules::R0_DUPLICATE));
    let out = c.one(&[12], 3, cosign(tx_id_of(9)));
    assert_eq!(rule_of(&out), Some(rules::R0_REFERENCE));
    // Signed by k officers in one envelope, it takes effect at once.
    c.ok(&[11, 12], 4, propose("CD-4", mining_grant("M4"), None));
    let e = query::enterprise(&c.state, &ent(1)).unwrap();
    assert_eq!(e.licences["M4"].status, LicenceStatus::Active);
}

#[test]
fn an_agency_keeps_a_head() {
    let mut c = market();
    // Market's only head (officer 3, genesis) may neither revoke itself nor drop head.
    let alone = post(&mut c, 3, A::Revoke, &[]);
    assert_eq!(rule_of(&alone), Some(rules::R1_OFFICER), "{alone:?}");
    assert!(reason_of(&alone).contains("without an officer holding head"));
    let drop = post(&mut c, 3, A::SetRoles, &["approver"]);
    assert_eq!(rule_of(&drop), Some(rules::R1_OFFICER), "{drop:?}");
    // With a second head, it may.
    assert_eq!(post(&mut c, 13, A::Register, &["head"]), Outcome::Accepted);
    assert_eq!(
        post(&mut c, 3, A::SetRoles, &["approver", "head"]),
        Outcome::Accepted
    );
    assert_eq!(post(&mut c, 3, A::Revoke, &[]), Outcome::Accepted);
}
