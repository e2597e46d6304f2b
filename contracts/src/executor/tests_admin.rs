//! Officers, assistance requests, governance, Rego policies and determinism (issue 4
//! parts 4–8).

use crate::assistance::AssistanceStatus;
use crate::governance::ProposalStatus;
use crate::query;
use crate::rules;
use crate::testkit::*;
use crate::{results_root, Executor, Outcome};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use safeledger_core::records::{
    AssistanceRequest, AssistanceResponse, GovernanceAction, GovernanceProposal, GovernanceVote,
    InspectionOutcome as I, LicenceDecisionKind as L, OfficerAction, OfficerActionKind,
    PenaltyGrade, PolicySpec, PolicyTest, TxBody, TxKind,
};
use safeledger_core::{SecretKey, Transaction};
use std::collections::BTreeMap;

fn officer_action(n: u8, action: OfficerActionKind) -> TxBody {
    TxBody::OfficerAction(OfficerAction {
        officer: officer(n).public(),
        action,
        name: format!("officer {n}"),
        roles: roles_for(action, &["head"]),
    })
}

/// The roles an officer action carries in these tests: `roles` unless it revokes.
pub(crate) fn roles_for(action: OfficerActionKind, roles: &[&str]) -> Vec<String> {
    match action {
        OfficerActionKind::Revoke => Vec::new(),
        _ => roles.iter().map(|r| r.to_string()).collect(),
    }
}

#[test]
fn agencies_register_and_revoke_their_officers_and_revoked_keys_are_refused_from_then_on() {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    let reg = c.ok(&[0], 1, officer_action(5, OfficerActionKind::Register));
    // The new officer submits and co-signs for em.
    c.ok(&[5], 2, penalty(1, "P1", PenaltyGrade::Minor));
    c.ok(&[0, 5], 3, penalty(1, "P2", PenaltyGrade::Minor));
    // Fire may not revoke em's officer; em may; a key is registered once.
    let out = c.one(&[2], 4, officer_action(5, OfficerActionKind::Revoke));
    assert_eq!(rule_of(&out), Some(rules::R1_OFFICER));
    assert_eq!(
        rule_of(&c.one(&[2], 4, officer_action(5, OfficerActionKind::Register))),
        Some(rules::R1_OFFICER)
    );
    let rev = c.ok(&[0], 5, officer_action(5, OfficerActionKind::Revoke));
    let out = c.one(&[5], 6, penalty(1, "P3", PenaltyGrade::Minor));
    assert_eq!(rule_of(&out), Some(rules::R0_SIGNER));
    assert!(reason_of(&out).contains(&rev.id().to_hex()));
    let out = c.one(&[0, 5], 6, penalty(1, "P4", PenaltyGrade::Minor));
    assert_eq!(rule_of(&out), Some(rules::R0_SIGNER));
    // A genesis officer can be revoked too.
    c.ok(&[0], 7, officer_action(1, OfficerActionKind::Revoke));
    assert_eq!(
        rule_of(&c.one(&[1], 8, penalty(1, "P5", PenaltyGrade::Minor))),
        Some(rules::R0_SIGNER)
    );
    // Who decided what and when.
    let d = query::decisions(&c.state, &ent(1), &[TxKind::Penalty], 10);
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[1].record.signers,
        vec![officer(0).public(), officer(5).public()]
    );
    assert_eq!(d[1].signer_names, vec![None, Some("officer 5".into())]);
    assert_eq!(
        query::officer(&c.state, &officer(5).public())
            .unwrap()
            .registered
            .unwrap()
            .0,
        reg.id()
    );
}

#[test]
fn the_cross_agency_timeline_merges_linked_enterprises_by_effective_date() {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(2, "Shop", &[]));
    c.ok(&[2], 5, enterprise_record(1, "Acme", &["test:2"]));
    c.ok(&[0], 10, inspection(2, "a", I::Pass));
    c.ok(&[2], 7, inspection(1, "b", I::Pass));
    let t = query::cross_agency_timeline(&c.state, &ent(1), 10);
    let order: Vec<(String, u64)> = t
        .iter()
        .map(|(e, r)| {
            (
                e.to_string(),
                r.effective_at.0 / safeledger_core::time::DAY_MS,
            )
        })
        .collect();
    let base = day(0).0 / safeledger_core::time::DAY_MS;
    let want: Vec<(String, u64)> = [("test:2", 0), ("test:1", 5), ("test:1", 7), ("test:2", 10)]
        .iter()
        .map(|(e, d)| (e.to_string(), base + d))
        .collect();
    assert_eq!(order, want);
}

#[test]
fn only_the_addressed_agency_answers_and_unanswered_requests_become_overdue_r7() {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    let request = |id: &str, hours| {
        TxBody::AssistanceRequest(AssistanceRequest {
            request_id: id.into(),
            to_agency: FIRE.into(),
            enterprise: ent(1),
            subject: "fire safety records".into(),
            due_in_hours: hours,
        })
    };
    let req = c.tx(&[0], 1, request("R1", None));
    let t0 = day(5000);
    assert_eq!(
        c.block_at(t0, std::slice::from_ref(&req)),
        [Outcome::Accepted]
    );
    let st = query::request_state(&c.state, EM, "R1").unwrap();
    assert_eq!(st.due_at.0 - t0.0, 24 * 3_600_000, "24 h by default");
    assert_eq!(query::open_requests(&c.state, FIRE, t0).len(), 1);
    // The addressed agency's inbox holds it (issue 18, point 6).
    let inbox = query::open_inbox(&c.state, FIRE, t0, 10);
    assert_eq!(inbox.open, 1);
    assert!(matches!(
        &inbox.tasks[0],
        query::InboxTask::AssistanceRequest { request, status: AssistanceStatus::Open } if request.tx_id == req.id()
    ));
    let later = safeledger_core::Timestamp(t0.0 + 24 * 3_600_000 + 1);
    assert!(query::open_requests(&c.state, FIRE, later).is_empty());
    assert_eq!(
        query::overdue_requests(&c.state, FIRE, later)[0].tx_id,
        req.id()
    );
    let answer = || {
        TxBody::AssistanceResponse(AssistanceResponse {
            from_agency: EM.into(),
            request_id: "R1".into(),
            enterprise: ent(1),
            answer: "attached".into(),
        })
    };
    let wrong = c.tx(&[3], 2, answer());
    let out = c.block_at(later, &[wrong]);
    assert_eq!(rule_of(&out[0]), Some(rules::R1_ASSISTANCE));
    let right = c.tx(&[2], 2, answer());
    let right_id = right.id();
    assert_eq!(c.block_at(later, &[right]), [Outcome::Accepted]);
    let st = query::request_state(&c.state, EM, "R1").unwrap();
    assert_eq!(st.status_at(later), AssistanceStatus::Answered);
    assert!(query::unanswered(&c.state, FIRE, later).is_empty());
    assert_eq!(query::open_inbox(&c.state, FIRE, later, 10).open, 0);
    // The requesting agency lists what it asked, with the answer.
    let sent = query::sent(&c.state, EM, later, 10);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, AssistanceStatus::Answered);
    assert_eq!(sent[0].0.answered.map(|a| a.0), Some(right_id));
    let dup = c.tx(&[0], 3, request("R1", Some(2)));
    assert_eq!(
        rule_of(&c.block_at(later, &[dup])[0]),
        Some(rules::R0_DUPLICATE)
    );
}

fn propose(id: &str, action: GovernanceAction) -> TxBody {
    TxBody::GovernanceProposal(GovernanceProposal {
        proposal_id: id.into(),
        action,
        reason: "test".into(),
    })
}

fn vote(id: &str, approve: bool) -> TxBody {
    TxBody::GovernanceVote(GovernanceVote {
        proposal_id: id.into(),
        approve,
    })
}

/// Passes a governance proposal setting rule parameter `name` to `value` (em proposes,
/// fire and market vote yes), effective at day 1.
pub(super) fn set_param(c: &mut Chain, name: &str, value: u64) {
    let id = format!("set-{name}-{value}");
    let action = GovernanceAction::SetRuleParam {
        name: name.into(),
        value: value.to_string(),
    };
    c.ok(&[0], 1, propose(&id, action));
    c.ok(&[2], 1, vote(&id, true));
    c.ok(&[3], 1, vote(&id, true));
}

#[test]
fn a_rule_parameter_changes_once_more_than_two_thirds_of_agencies_vote_yes() {
    let mut c = Chain::new();
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    let set_k = GovernanceAction::SetRuleParam {
        name: "collective_k".into(),
        value: "3".into(),
    };
    c.ok(&[0], 1, propose("P1", set_k.clone()));
    assert_eq!(
        rule_of(&c.one(&[2], 1, propose("P1", set_k))),
        Some(rules::G_GOVERNANCE)
    );
    c.ok(&[2], 2, vote("P1", true));
    // 2 of 3 is not more than 2/3.
    assert_eq!(c.exec.params(&c.state).collective_k, 2);
    assert_eq!(
        rule_of(&c.one(&[2], 2, vote("P1", true))),
        Some(rules::G_GOVERNANCE)
    );
    c.ok(&[3], 3, vote("P1", true));
    assert!(matches!(
        query::proposal(&c.state, "P1").unwrap().status,
        ProposalStatus::Passed(..)
    ));
    assert_eq!(c.exec.params(&c.state).collective_k, 3);
    let mining = match licence(1, "L1", L::Grant, Some(day(5)), Some(day(500))) {
        TxBody::LicenceDecision(mut d) => {
            d.industry = Some("GB/T 4754-2017:B".into());
            TxBody::LicenceDecision(d)
        }
        _ => unreachable!(),
    };
    let out = c.one(&[0, 1], 5, mining);
    assert!(reason_of(&out).contains("collective_k = 3"));
    // An invalid value is refused when proposed; a rejected proposal fails.
    let bad = GovernanceAction::SetRuleParam {
        name: "collective_k".into(),
        value: "0".into(),
    };
    assert_eq!(
        rule_of(&c.one(&[0], 6, propose("P2", bad))),
        Some(rules::G_GOVERNANCE)
    );
    let ok = GovernanceAction::SetRuleParam {
        name: "assistance_due_hours".into(),
        value: "48".into(),
    };
    c.ok(&[0], 6, propose("P3", ok));
    c.ok(&[2], 6, vote("P3", false));
    assert!(matches!(
        query::proposal(&c.state, "P3").unwrap().status,
        ProposalStatus::Failed(..)
    ));
}

#[test]
fn an_upgrade_takes_effect_at_its_height_with_its_rule_parameters() {
    let mut c = Chain::new();
    let upgrade = |version: u32, height: u64| GovernanceAction::ScheduleUpgrade {
        version,
        height,
        rule_params: BTreeMap::from([("assistance_due_hours".to_string(), "48".to_string())]),
    };
    // Too soon, not above the genesis version, or a parameter that does not apply.
    for (id, bad) in [
        ("U0", upgrade(3, 1)),
        ("U1", upgrade(2, 50)),
        (
            "U2",
            GovernanceAction::ScheduleUpgrade {
                version: 3,
                height: 50,
                rule_params: BTreeMap::from([("collective_k".into(), "0".into())]),
            },
        ),
    ] {
        assert_eq!(
            rule_of(&c.one(&[0], 1, propose(id, bad))),
            Some(rules::G_GOVERNANCE)
        );
    }
    let at = c.height + 10;
    c.ok(&[0], 1, propose("U3", upgrade(3, at)));
    c.ok(&[2], 1, vote("U3", true));
    c.ok(&[3], 1, vote("U3", true));
    assert_eq!(crate::upgrade::version_at(&c.state, at - 1), 2);
    assert_eq!(crate::upgrade::version_at(&c.state, at), 3);
    let due = |c: &Chain| c.exec.params(&c.state).assistance_due_hours;
    let before = due(&c);
    assert_ne!(before, 48);
    while c.height + 1 < at {
        c.block_at(day(2), &[]);
    }
    assert_eq!(due(&c), before, "not before its height");
    c.block_at(day(2), &[]);
    assert_eq!(c.height, at);
    assert_eq!(due(&c), 48, "from its height on");
    // In effect, version 3 is not rescheduled; the next is 4, one version at a time, and
    // not further ahead than the limit.
    for (id, bad) in [
        ("U4", upgrade(3, at + 50)),
        ("U5", upgrade(5, at + 50)),
        ("U6", upgrade(4, u64::MAX)),
    ] {
        assert_eq!(
            rule_of(&c.one(&[0], 3, propose(id, bad))),
            Some(rules::G_GOVERNANCE),
            "{id}"
        );
    }
    // A pending upgrade is rescheduled by proposing its version again.
    let far = c.height + 1000;
    c.ok(&[0], 3, propose("U7", upgrade(4, far)));
    c.ok(&[2], 3, vote("U7", true));
    c.ok(&[3], 3, vote("U7", true));
    c.ok(&[0], 3, propose("U8", upgrade(4, far + 10)));
    c.ok(&[2], 3, vote("U8", true));
    c.ok(&[3], 3, vote("U8", true));
    let s = crate::upgrade::schedule(&c.state);
    assert_eq!(s.len(), 2);
    assert_eq!((s[1].version, s[1].height), (4, far + 10));
}

#[test]
fn governance_adds_and_removes_agencies_and_queues_validator_changes() {
    let mut c = Chain::new();
    let newcomer = SecretKey::from_bytes(&[77; 32]);
    let add = GovernanceAction::AddAgency {
        id: "eco".into(),
        name: "Ecology".into(),
        role: "fire_rescue".into(),
        officer: officer(6).public(),
        node_key: newcomer.public(),
        power: 1,
        p2p_addr: "/ip4/10.0.0.5/tcp/26656".into(),
        grpc_addr: "http://10.0.0.5:50051".into(),
        tls_cert: String::new(),
    };
    c.ok(&[0], 0, propose("ADD", add));
    c.ok(&[2], 0, vote("ADD", true));
    c.ok(&[3], 0, vote("ADD", true));
    c.ok(&[6], 1, enterprise_record(1, "Acme", &[]));
    assert_eq!(query::validator_changes(&c.state)[0].agency, "eco");
    // Now 4 agencies: removal needs 3 yes votes.
    c.ok(
        &[0],
        2,
        propose("RM", GovernanceAction::RemoveAgency { id: "fire".into() }),
    );
    c.ok(&[3], 2, vote("RM", true));
    c.ok(&[2], 2, inspection(1, "x", I::Pass));
    c.ok(&[6], 2, vote("RM", true));
    let out = c.one(&[2], 3, inspection(1, "y", I::Pass));
    assert_eq!(rule_of(&out), Some(rules::R0_SIGNER));
    assert!(reason_of(&out).contains("removed by proposal RM"));
}

/// The demo's policy, with the test genesis's role names.
fn renewal_policy() -> PolicySpec {
    let source = include_str!("../../../client/src/import/policies/inspection_blocks_renewal.rego")
        .replace("== \"licensing\"", "== \"emergency_management\"")
        .replace("== \"inspection\"\n", "== \"fire_rescue\"\n");
    let data = r#"{"agencies":{"em":{"role":"emergency_management"},"fire":{"role":"fire_rescue"}},
        "enterprise":{"findings":[{"status":"standing","agency":"fire","at":100,"date":"d","tx_id":"t",
        "what":{"inspection":{"inspection_id":"I","outcome":"fail","critical":1}}}]}}"#;
    let input = |at: u64| {
        format!(
            r#"{{"tx":{{"kind":"licence_decision","agency":"em","effective_at":{at},
            "body":{{"licence_decision":{{"kind":"renew"}}}}}}}}"#
        )
    };
    PolicySpec {
        name: "inspection-blocks-renewal".into(),
        source,
        applies_to: vec![TxKind::LicenceDecision],
        max_instructions: 50_000,
        tests: vec![
            PolicyTest {
                input_json: input(200),
                data_json: data.into(),
                expect_deny: true,
            },
            PolicyTest {
                input_json: input(100 + 91 * 86_400_000),
                data_json: data.into(),
                expect_deny: false,
            },
        ],
    }
}

fn deploy(c: &mut Chain, id: &str, spec: PolicySpec) -> Outcome {
    let out = c.one(&[0], 0, propose(id, GovernanceAction::DeployPolicy(spec)));
    if out != Outcome::Accepted {
        return out;
    }
    c.ok(&[2], 0, vote(id, true));
    c.ok(&[3], 0, vote(id, true));
    Outcome::Accepted
}

#[test]
fn a_deployed_rego_policy_refuses_renewals_within_90_days_of_a_critical_failed_inspection() {
    let mut c = Chain::new();
    assert_eq!(deploy(&mut c, "P", renewal_policy()), Outcome::Accepted);
    c.ok(&[0], 0, enterprise_record(1, "Acme", &[]));
    c.ok(
        &[0],
        10,
        licence(1, "L1", L::Grant, Some(day(10)), Some(day(400))),
    );
    let failed = match inspection(1, "I-9", I::Fail) {
        TxBody::InspectionRecord(mut r) => {
            r.violation_counts = [0, 0, 2];
            TxBody::InspectionRecord(r)
        }
        _ => unreachable!(),
    };
    let insp = c.ok(&[2], 300, failed);
    let renew = |at: u64| licence(1, "L1", L::Renew, Some(day(400)), Some(day(1000 + at)));
    let out = c.one(&[0], 390, renew(390));
    assert_eq!(rule_of(&out), Some("policy:inspection-blocks-renewal"));
    assert!(reason_of(&out).contains(&insp.id().to_hex()));
    assert!(reason_of(&out).contains("I-9"));
    assert!(reason_of(&out).contains("deployed by proposal P"));
    // 91 days after: allowed. A grant is not a renewal.
    c.ok(&[0], 391, renew(391));
    c.ok(
        &[0],
        310,
        licence(1, "L2", L::Grant, Some(day(310)), Some(day(600))),
    );
    // Retired, it refuses nothing.
    let retire = GovernanceAction::RetirePolicy {
        name: "inspection-blocks-renewal".into(),
    };
    c.ok(&[0], 400, propose("R", retire));
    c.ok(&[2], 400, vote("R", true));
    c.ok(&[3], 400, vote("R", true));
    assert!(query::active_policies(&c.state).is_empty());
}

#[test]
fn a_policy_that_does_not_parse_fails_its_tests_or_exceeds_its_budget_is_refused_at_deployment() {
    let mut c = Chain::new();
    let mut broken = renewal_policy();
    broken.source.push_str("\ndeny contains x if {");
    let out = deploy(&mut c, "A", broken);
    assert_eq!(rule_of(&out), Some(rules::G_POLICY));
    assert!(reason_of(&out).contains("does not parse"));
    let mut wrong = renewal_policy();
    wrong.tests[1].expect_deny = true;
    assert!(reason_of(&deploy(&mut c, "B", wrong)).contains("test 1: expected a denial"));
    let mut starved = renewal_policy();
    starved.max_instructions = 5;
    let out = deploy(&mut c, "C", starved);
    assert_eq!(rule_of(&out), Some(rules::G_POLICY));
    assert!(
        reason_of(&out).contains("nstruction"),
        "{}",
        reason_of(&out)
    );
    let mut greedy = renewal_policy();
    greedy.max_instructions = 10_000_000;
    assert!(reason_of(&deploy(&mut c, "D", greedy)).contains("max_policy_instructions = 200000"));
    let mut package = renewal_policy();
    package.name = "other".into();
    assert!(reason_of(&deploy(&mut c, "E", package)).contains("expected data.safeledger.other"));
}

/// Blocks with records of every agency about a few enterprises.
fn workload() -> Vec<Vec<Transaction>> {
    let mut c = Chain::new();
    let mut blocks = Vec::new();
    for b in 0..4u32 {
        let mut txs = vec![c.tx(&[0], 1, enterprise_record(b, "E", &[]))];
        for i in 0..6u32 {
            let e = (b + i) % (b + 1);
            txs.push(c.tx(&[2], 2, inspection(e, &format!("{b}-{i}"), I::Fail)));
            txs.push(c.tx(
                &[3],
                3,
                licence(e, &format!("L{i}"), L::Grant, Some(day(3)), Some(day(300))),
            ));
            txs.push(c.tx(
                &[0],
                4,
                penalty(e, &format!("{b}-{i}"), PenaltyGrade::Severe),
            ));
            txs.push(c.tx(&[1], 5, accident(e, &format!("{b}-{i}"), i, 0)));
        }
        blocks.push(txs);
    }
    blocks
}

fn replay(
    blocks: &[Vec<Transaction>],
) -> Vec<(safeledger_core::hash::Hash, safeledger_core::hash::Hash)> {
    let g = genesis();
    let exec = Executor::new(&g);
    let mut state = BTreeMap::new();
    let mut tree = safeledger_core::state_tree::StateTree::new();
    let mut roots = Vec::new();
    for (h, txs) in blocks.iter().enumerate() {
        let out = exec.execute_block(&state, &ctx(h as u64 + 1), txs);
        tree = tree.apply(&out.writes);
        let root = tree.root();
        roots.push((root, results_root(&out.results)));
        for (k, v) in out.writes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
    }
    roots
}

/// The mempool's reaping (node/src/mempool.rs): arrival order, but each signer's
/// transactions in sequence order.
fn reap(arrived: &[Transaction]) -> Vec<Transaction> {
    let mut by_signer: BTreeMap<_, Vec<&Transaction>> = BTreeMap::new();
    for t in arrived {
        by_signer.entry(t.submitter().copied()).or_default().push(t);
    }
    for v in by_signer.values_mut() {
        v.sort_by_key(|t| t.payload.sequence);
    }
    let mut next: BTreeMap<_, usize> = BTreeMap::new();
    arrived
        .iter()
        .map(|t| {
            let s = t.submitter().copied();
            let i = next.entry(s).or_insert(0);
            *i += 1;
            by_signer[&s][*i - 1].clone()
        })
        .collect()
}

#[test]
fn the_same_blocks_give_the_same_roots_whatever_order_the_mempools_received_them_in() {
    let blocks = workload();
    assert_eq!(replay(&blocks), replay(&blocks), "executing twice");
    // Each node's mempool receives the transactions in its own order; the proposer reaps
    // its order (each signer's records in sequence order) into the block, and every node
    // executes that block: all reach the same state and results roots.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for seed in 0..4 {
        let shuffled: Vec<Vec<Transaction>> = blocks
            .iter()
            .map(|b| {
                let mut arrived = b.clone();
                arrived.shuffle(&mut rng);
                reap(&arrived)
            })
            .collect();
        let a = replay(&shuffled);
        assert_eq!(
            a,
            replay(&shuffled),
            "seed {seed}: nodes executing one block agree"
        );
    }
}
