//! Behaviour of the pipeline and each rule: allowed and refused cases, sequence replay,
//! in-block visibility, determinism.

use super::*;
use crate::query::{enterprise, enterprise_records, enterprise_records_from, last_sequence};
use crate::rules::{self, RuleParams};
use crate::testkit::*;
use crate::{results_root, LicenceStatus};
use proptest::prelude::*;
use safeledger_core::records::{InspectionOutcome, LicenceDecisionKind as L, PenaltyGrade};
use safeledger_core::time::DAY_MS;
use safeledger_core::Timestamp;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Executes a block over `state` with `exec`, applies its writes, returns the outcomes.
fn run_with(exec: &Executor, state: &mut State, height: u64, txs: &[Transaction]) -> Vec<Outcome> {
    let out = exec.execute_block(state, &ctx(height), txs);
    apply(state, out.writes);
    out.results.into_iter().map(|r| r.outcome).collect()
}

fn run(state: &mut State, height: u64, txs: &[Transaction]) -> Vec<Outcome> {
    run_with(&executor(), state, height, txs)
}

fn apply(state: &mut State, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
    for (k, v) in writes {
        match v {
            Some(v) => state.insert(k, v),
            None => state.remove(&k),
        };
    }
}

fn rule(o: &Outcome) -> Option<&str> {
    match o {
        Outcome::Accepted => None,
        Outcome::Refused { rule, .. } => Some(rule),
    }
}

fn reason(o: &Outcome) -> &str {
    match o {
        Outcome::Accepted => panic!("accepted, expected a refusal"),
        Outcome::Refused { reason, .. } => reason,
    }
}

/// A state where enterprise 1 exists, created by em officer 0 with sequence 1.
fn with_enterprise() -> State {
    let mut s = State::new();
    assert_eq!(
        run(&mut s, 1, &[by(0, 1, enterprise_record(1, "Acme", &[]))]),
        [Outcome::Accepted]
    );
    s
}

#[test]
fn enterprise_record_creates_then_updates_and_merges_linked_ids_per_agency() {
    let mut s = State::new();
    let a = by(0, 1, enterprise_record(1, "Acme", &["chi-bacp:1"]));
    let b = by(2, 1, enterprise_record(1, "Acme Ltd", &["osha:7"]));
    assert_eq!(
        run(&mut s, 5, &[a.clone(), b.clone()]),
        [Outcome::Accepted, Outcome::Accepted]
    );
    let e = enterprise(&s, &ent(1)).unwrap();
    assert_eq!(e.name, "Acme Ltd");
    assert_eq!((e.first_seen_height, e.first_seen_tx), (5, a.id()));
    assert_eq!(
        e.linked_ids.iter().collect::<Vec<_>>(),
        ["chi-bacp:1", "osha:7"]
    );
    assert_eq!(e.agencies[EM].name, "Acme");
    assert_eq!(e.agencies[FIRE].last_record, b.id());
    assert!(e.agencies[FIRE].linked_ids.contains("osha:7"));
    assert_eq!(e.record_count, 2);
}

#[test]
fn linked_ids_must_be_enterprise_ids_and_stay_under_the_bound() {
    let mut s = State::new();
    let out = run(
        &mut s,
        1,
        &[by(0, 1, enterprise_record(1, "A", &["no spaces"]))],
    );
    assert_eq!(rule(&out[0]), Some(rules::R0_LINKED_IDS));
    let params = RuleParams {
        max_linked_ids: 2u64,
        ..RuleParams::default()
    };
    let exec = Executor::with_params(&genesis(), params);
    let ok = by(0, 2, enterprise_record(1, "A", &["x:1", "x:2"]));
    let over = by(0, 3, enterprise_record(1, "A", &["x:3"]));
    let out = run_with(&exec, &mut s, 2, &[ok.clone(), over]);
    assert_eq!(out[0], Outcome::Accepted);
    assert_eq!(rule(&out[1]), Some(rules::R0_LINKED_IDS));
    assert!(reason(&out[1]).contains("max_linked_ids = 2"));
    assert!(reason(&out[1]).contains(&ok.id().to_hex()));
}

#[test]
fn follow_up_record_about_unknown_enterprise_is_refused_but_consumes_its_sequence() {
    let mut s = State::new();
    let out = run(
        &mut s,
        1,
        &[by(0, 1, inspection(1, "i1", InspectionOutcome::Pass))],
    );
    assert_eq!(rule(&out[0]), Some(rules::R0_ENTERPRISE));
    assert!(reason(&out[0]).contains("test:1"));
    assert_eq!(last_sequence(&s, &officer(0).public()), 1);
    assert!(enterprise(&s, &ent(1)).is_none());
}

#[test]
fn unknown_submitter_is_refused_and_uses_up_its_sequence() {
    let mut s = with_enterprise();
    let stranger = officer(9);
    let tx = signed(
        &[&stranger],
        5,
        day(900),
        penalty(1, "c", PenaltyGrade::Minor),
    );
    let out = run(&mut s, 2, &[tx]);
    assert_eq!(rule(&out[0]), Some(rules::R0_SIGNER));
    assert!(reason(&out[0]).contains(&stranger.public().to_hex()));
    // Used up, like any committed transaction's: each one's sequence is then at most its
    // submitter's last, which the node's "already committed" checks rely on.
    assert_eq!(last_sequence(&s, &stranger.public()), 5);
    // A lower one is refused and does not lower it.
    let lower = signed(
        &[&stranger],
        3,
        day(900),
        penalty(1, "d", PenaltyGrade::Minor),
    );
    assert_eq!(rule(&run(&mut s, 3, &[lower])[0]), Some(rules::R0_SIGNER));
    assert_eq!(last_sequence(&s, &stranger.public()), 5);
    let mut unsigned = by(0, 2, penalty(1, "c", PenaltyGrade::Minor));
    unsigned.signatures.clear();
    assert_eq!(
        rule(&run(&mut s, 3, &[unsigned])[0]),
        Some(rules::R0_SIGNER)
    );
}

#[test]
fn co_signers_must_be_officers_of_the_submitters_agency() {
    let mut s = with_enterprise();
    let same = signed(
        &[&officer(0), &officer(1)],
        2,
        day(900),
        penalty(1, "a", PenaltyGrade::Minor),
    );
    let other = signed(
        &[&officer(0), &officer(2)],
        3,
        day(900),
        penalty(1, "b", PenaltyGrade::Minor),
    );
    let unknown = signed(
        &[&officer(0), &officer(9)],
        4,
        day(900),
        penalty(1, "c", PenaltyGrade::Minor),
    );
    let out = run(&mut s, 2, &[same, other, unknown]);
    assert_eq!(out[0], Outcome::Accepted);
    assert_eq!(rule(&out[1]), Some(rules::R0_SIGNER));
    assert!(reason(&out[1]).contains("agency fire"));
    assert_eq!(rule(&out[2]), Some(rules::R0_SIGNER));
    assert_eq!(
        last_sequence(&s, &officer(0).public()),
        4,
        "co-signer refusals consume"
    );
}

#[test]
fn sequence_must_rise_gaps_allowed_and_replays_are_refused() {
    let mut s = with_enterprise();
    let gap = by(0, 10, penalty(1, "a", PenaltyGrade::Minor));
    assert_eq!(
        run(&mut s, 2, std::slice::from_ref(&gap)),
        [Outcome::Accepted]
    );
    let out = run(&mut s, 3, std::slice::from_ref(&gap));
    assert_eq!(rule(&out[0]), Some(rules::R0_SEQUENCE));
    assert!(reason(&out[0]).contains("last committed sequence 10"));
    assert!(reason(&out[0]).contains(&gap.id().to_hex()));
    let lower = by(0, 9, penalty(1, "b", PenaltyGrade::Minor));
    assert_eq!(rule(&run(&mut s, 4, &[lower])[0]), Some(rules::R0_SEQUENCE));
    assert_eq!(
        last_sequence(&s, &officer(0).public()),
        10,
        "R0-sequence advances nothing"
    );
    // Sequences are per signer.
    assert_eq!(
        run(&mut s, 5, &[by(1, 1, penalty(1, "b", PenaltyGrade::Minor))]),
        [Outcome::Accepted]
    );
}

#[test]
fn a_rule_refused_record_consumes_its_sequence_so_resubmission_is_a_replay() {
    let mut s = with_enterprise();
    let early = signed(
        &[&officer(0)],
        2,
        day(5000),
        penalty(1, "a", PenaltyGrade::Minor),
    );
    assert_eq!(
        rule(&run(&mut s, 2, std::slice::from_ref(&early))[0]),
        Some(rules::R0_EFFECTIVE_DATE)
    );
    assert_eq!(last_sequence(&s, &officer(0).public()), 2);
    // Even once the block time passes the effective date, the same tx is a replay.
    assert_eq!(
        rule(&run(&mut s, 5000, &[early])[0]),
        Some(rules::R0_SEQUENCE)
    );
}

#[test]
fn a_refused_transaction_writes_only_its_sequence_and_refusal_note() {
    let s = with_enterprise();
    let tx = by(
        2,
        1,
        licence(1, "L1", L::Grant, Some(day(0)), Some(day(10))),
    );
    let out = executor().execute_block(&s, &ctx(2), &[tx]);
    assert_eq!(rule(&out.results[0].outcome), Some(rules::R1_PERMISSION));
    let keys: Vec<&Vec<u8>> = out
        .writes
        .keys()
        .filter(|k| {
            k.as_slice() != crate::keys::DEADLINE_CURSOR
                && k.as_slice() != crate::monitoring::TIMER_CURSOR
        })
        .collect();
    // The note under its natural key lets a rerun of an import find it (issue 18).
    let note = crate::keys::refused_record(
        safeledger_core::records::TxKind::LicenceDecision,
        "fire",
        Some(&ent(1)),
        &format!("L1/grant/{}", day(0).0),
    );
    assert_eq!(keys, [&note, &crate::keys::sequence(&officer(2).public())]);
}

#[test]
fn only_roles_covering_the_kind_may_submit_it() {
    let mut s = with_enterprise();
    let grant = |n, seq| {
        by(
            n,
            seq,
            licence(1, "L1", L::Grant, Some(day(0)), Some(day(10))),
        )
    };
    let out = run(&mut s, 2, &[grant(2, 1), grant(3, 1)]);
    assert_eq!(rule(&out[0]), Some(rules::R1_PERMISSION));
    assert!(
        reason(&out[0]).contains("agency fire (role fire_rescue) may not submit licence_decision")
    );
    assert!(reason(&out[0]).contains("[enterprise_record, inspection_record, penalty, "));
    assert_eq!(out[1], Outcome::Accepted);
}

#[test]
fn effective_date_may_equal_but_not_pass_the_block_time() {
    let mut s = with_enterprise();
    let t = ctx(2).time;
    let on_time = signed(&[&officer(0)], 2, t, penalty(1, "a", PenaltyGrade::Minor));
    let late = signed(
        &[&officer(0)],
        3,
        Timestamp(t.0 + 1),
        penalty(1, "b", PenaltyGrade::Minor),
    );
    let out = run(&mut s, 2, &[on_time, late]);
    assert_eq!(out[0], Outcome::Accepted);
    assert_eq!(rule(&out[1]), Some(rules::R0_EFFECTIVE_DATE));
    assert!(reason(&out[1]).contains(&format!("({} ms)", t.0 + 1)));
}

#[test]
fn licence_term_is_at_most_1096_days_and_must_end() {
    let mut s = with_enterprise();
    let max = day(100).plus_days(1096);
    let txs = [
        by(0, 2, licence(1, "L1", L::Grant, Some(day(100)), Some(max))),
        by(
            0,
            3,
            licence(
                1,
                "L2",
                L::Grant,
                Some(day(100)),
                Some(Timestamp(max.0 + 1)),
            ),
        ),
        by(0, 4, licence(1, "L3", L::Grant, Some(day(100)), None)),
        by(
            0,
            5,
            licence(1, "L4", L::Renew, Some(day(100)), Some(day(100 + 1097))),
        ),
        // valid_from defaults to effective_at (day 900).
        by(
            0,
            6,
            licence(1, "L5", L::Grant, None, Some(day(900 + 1096))),
        ),
        by(0, 7, licence(1, "L6", L::Grant, None, Some(day(899)))),
    ];
    let out = run(&mut s, 2, &txs);
    assert_eq!(out[0], Outcome::Accepted);
    for i in [1, 2, 3, 5] {
        assert_eq!(rule(&out[i]), Some(rules::R0_LICENCE_TERM), "tx {i}");
    }
    assert!(reason(&out[1]).contains("1096 days and 1 ms, over max_licence_term_days = 1096"));
    assert_eq!(out[4], Outcome::Accepted);
    let e = enterprise(&s, &ent(1)).unwrap();
    assert_eq!(e.licences["L5"].valid_from, Some(day(900)));
    assert_eq!(e.licences["L1"].valid_until, Some(max));
    assert!(!e.licences.contains_key("L2"));
}

#[test]
fn licence_lifecycle_follows_the_decision_table() {
    let mut s = with_enterprise();
    let term = |k| licence(1, "L1", k, Some(day(800)), Some(day(1500)));
    let bare = |k| licence(1, "L1", k, None, None);
    // Suspend / revoke of an unknown licence.
    let out = run(
        &mut s,
        2,
        &[by(0, 2, bare(L::Suspend)), by(0, 3, bare(L::Revoke))],
    );
    assert_eq!(rule(&out[0]), Some(rules::R0_LICENCE_UNKNOWN));
    assert_eq!(rule(&out[1]), Some(rules::R0_LICENCE_UNKNOWN));
    // Deny with no licence records Denied; a suspension of it is still unknown.
    let deny = by(0, 4, bare(L::Deny));
    let out = run(&mut s, 3, &[deny.clone(), by(0, 5, bare(L::Suspend))]);
    assert_eq!(out[0], Outcome::Accepted);
    assert!(reason(&out[1]).contains(&format!("was only denied (tx {})", deny.id())));
    // Renew of a denied/unknown licence counts as a grant.
    let renew = by(0, 6, term(L::Renew));
    assert_eq!(
        run(&mut s, 4, std::slice::from_ref(&renew)),
        [Outcome::Accepted]
    );
    let l = &enterprise(&s, &ent(1)).unwrap().licences["L1"];
    assert_eq!(
        (l.status, l.last_decision),
        (LicenceStatus::Active, renew.id())
    );
    // The same denial again (same licence, kind and date) is a duplicate (issue 18,
    // point 12); a denial of a held licence on another day leaves it; suspend, then revoke.
    let out = run(&mut s, 5, &[by(0, 7, bare(L::Deny))]);
    assert!(
        reason(&out[0]).contains(&format!("(tx {})", deny.id())),
        "{out:?}"
    );
    let later = signed(&[&officer(0)], 8, day(901), bare(L::Deny));
    let out = run(&mut s, 6, &[later, by(0, 9, bare(L::Suspend))]);
    assert_eq!(out, [Outcome::Accepted, Outcome::Accepted]);
    assert_eq!(
        enterprise(&s, &ent(1)).unwrap().licences["L1"].status,
        LicenceStatus::Suspended
    );
    let revoke = by(0, 10, bare(L::Revoke));
    assert_eq!(
        run(&mut s, 7, std::slice::from_ref(&revoke)),
        [Outcome::Accepted]
    );
    // A revoked licence is not renewed, suspended or revoked again; a new grant restores it.
    let out = run(
        &mut s,
        8,
        &[
            by(0, 11, term(L::Renew)),
            signed(&[&officer(0)], 12, day(902), bare(L::Suspend)),
            by(0, 13, term(L::Grant)),
        ],
    );
    assert_eq!(rule(&out[0]), Some(rules::R0_LICENCE_STATUS));
    assert!(reason(&out[0]).contains(&revoke.id().to_hex()));
    assert_eq!(rule(&out[1]), Some(rules::R0_LICENCE_STATUS));
    assert_eq!(out[2], Outcome::Accepted);
    assert_eq!(
        enterprise(&s, &ent(1)).unwrap().licences["L1"].status,
        LicenceStatus::Active
    );
}

#[test]
fn a_licence_belongs_to_the_agency_that_decided_it() {
    let mut s = with_enterprise();
    let grant = by(
        0,
        2,
        licence(1, "L1", L::Grant, Some(day(800)), Some(day(1500))),
    );
    let market = by(3, 1, licence(1, "L1", L::Suspend, None, None));
    let out = run(&mut s, 2, &[grant.clone(), market]);
    assert_eq!(out[0], Outcome::Accepted);
    assert_eq!(rule(&out[1]), Some(rules::R0_LICENCE_AGENCY));
    assert!(reason(&out[1]).contains(&format!("held under agency em (tx {})", grant.id())));
}

#[test]
fn an_agency_records_each_inspection_case_and_report_once() {
    let mut s = with_enterprise();
    assert_eq!(
        run(&mut s, 2, &[by(0, 2, enterprise_record(2, "Other", &[]))]),
        [Outcome::Accepted]
    );
    let first = by(0, 3, inspection(1, "I-1", InspectionOutcome::Pass));
    let txs = [
        first.clone(),
        by(0, 4, inspection(1, "I-1", InspectionOutcome::Fail)),
        by(2, 1, inspection(1, "I-1", InspectionOutcome::Fail)), // another agency
        by(0, 5, inspection(2, "I-1", InspectionOutcome::Fail)), // another enterprise
        by(0, 6, penalty(1, "I-1", PenaltyGrade::Minor)),        // another kind
        by(0, 7, penalty(1, "I-1", PenaltyGrade::Severe)),
        by(0, 8, accident(1, "R-1", 1, 0)),
        by(1, 1, accident(1, "R-1", 1, 0)), // same agency, other officer
    ];
    let out = run(&mut s, 3, &txs);
    let rules_seen: Vec<Option<&str>> = out.iter().map(rule).collect();
    let dup = Some(rules::R0_DUPLICATE);
    assert_eq!(rules_seen, [None, dup, None, None, None, dup, None, dup]);
    assert!(reason(&out[1]).contains(&format!(
        "inspection_id \"I-1\" about enterprise test:1 (tx {})",
        first.id()
    )));
}

#[test]
fn findings_update_the_enterprise_counters() {
    let mut s = with_enterprise();
    use InspectionOutcome::*;
    let txs = [
        by(0, 2, inspection(1, "1", Fail)),
        by(0, 3, inspection(1, "2", NoVerdict)),
        by(0, 4, inspection(1, "3", Fail)),
        by(0, 5, penalty(1, "p1", PenaltyGrade::Minor)),
        by(0, 6, penalty(1, "p2", PenaltyGrade::Severe)),
        by(0, 7, accident(1, "a1", 2, 3)),
        by(0, 8, accident(1, "a2", 1, 0)),
    ];
    assert!(run(&mut s, 2, &txs).iter().all(|o| *o == Outcome::Accepted));
    let e = enterprise(&s, &ent(1)).unwrap();
    assert_eq!(
        (
            e.inspections.count,
            e.inspections.failed,
            e.inspections.consecutive_failed
        ),
        (3, 2, 2)
    );
    assert_eq!(e.inspections.last_outcome, Some(Fail));
    assert_eq!(e.inspections.last_inspection, Some(txs[2].id()));
    assert_eq!((e.penalties.count, e.penalties.severe), (2, 1));
    assert_eq!(e.penalties.last_severe, Some(txs[4].id()));
    assert_eq!(
        (
            e.accidents.count,
            e.accidents.deaths,
            e.accidents.serious_injuries
        ),
        (2, 3, 3)
    );
    assert_eq!(e.record_count, 8);
    run(&mut s, 3, &[by(0, 9, inspection(1, "4", Pass))]);
    assert_eq!(
        enterprise(&s, &ent(1))
            .unwrap()
            .inspections
            .consecutive_failed,
        0
    );
}

#[test]
fn a_later_transaction_sees_an_earlier_ones_writes_in_the_same_block() {
    let mut s = State::new();
    let txs = [
        by(0, 1, enterprise_record(1, "Acme", &[])),
        by(
            0,
            2,
            licence(1, "L1", L::Grant, Some(day(800)), Some(day(1500))),
        ),
        by(0, 3, licence(1, "L1", L::Suspend, None, None)),
        by(0, 3, penalty(1, "p", PenaltyGrade::Minor)), // same sequence again
    ];
    let out = run(&mut s, 1, &txs);
    assert_eq!(
        &out[..3],
        [Outcome::Accepted, Outcome::Accepted, Outcome::Accepted]
    );
    assert_eq!(rule(&out[3]), Some(rules::R0_SEQUENCE));
    assert_eq!(
        enterprise(&s, &ent(1)).unwrap().licences["L1"].status,
        LicenceStatus::Suspended
    );
}

#[test]
fn the_timeline_lists_accepted_records_oldest_first() {
    let mut s = with_enterprise();
    let txs = [
        by(0, 2, penalty(1, "a", PenaltyGrade::Minor)),
        by(2, 1, licence(1, "L", L::Grant, Some(day(0)), Some(day(1)))), // refused: R1
        by(2, 2, inspection(1, "b", InspectionOutcome::Pass)),
    ];
    run(&mut s, 7, &txs);
    let all = enterprise_records(&s, &ent(1), 10);
    assert_eq!(all.len(), 3);
    assert_eq!((all[0].height, all[0].index), (1, 0));
    assert_eq!(
        (all[2].height, all[2].index, all[2].tx_id),
        (7, 2, txs[2].id())
    );
    assert_eq!(all[2].agency, FIRE);
    assert_eq!(
        all[2].kind,
        safeledger_core::records::TxKind::InspectionRecord
    );
    assert_eq!(enterprise_records(&s, &ent(1), 1), all[2..]);
    assert_eq!(enterprise_records_from(&s, &ent(1), 1, 1), all[1..2]);
    assert!(enterprise_records(&s, &ent(2), 10).is_empty());
}

#[test]
fn check_tx_gives_the_execution_outcome_without_writing() {
    let s = with_enterprise();
    let exec = executor();
    let ok = by(0, 2, penalty(1, "a", PenaltyGrade::Minor));
    let replay = by(0, 1, penalty(1, "a", PenaltyGrade::Minor));
    assert_eq!(exec.check_tx(&s, &ctx(2), &ok), Outcome::Accepted);
    assert_eq!(
        rule(&exec.check_tx(&s, &ctx(2), &replay)),
        Some(rules::R0_SEQUENCE)
    );
    assert_eq!(last_sequence(&s, &officer(0).public()), 1);
}

#[test]
fn executing_the_same_blocks_twice_gives_identical_results_writes_and_roots() {
    let g = genesis();
    let blocks: Vec<Vec<Transaction>> = vec![
        vec![
            by(0, 1, enterprise_record(1, "A", &["x:1"])),
            by(2, 1, penalty(1, "p", PenaltyGrade::Severe)),
        ],
        vec![
            by(0, 2, licence(1, "L", L::Grant, None, Some(day(1500)))),
            by(0, 2, accident(1, "r", 1, 1)),
        ],
        vec![],
    ];
    let replay = || {
        let mut s = State::new();
        let mut tree = safeledger_core::state_tree::StateTree::new();
        let mut trace = vec![];
        for (h, txs) in blocks.iter().enumerate() {
            let out = Executor::new(&g).execute_block(&s, &ctx(h as u64 + 1), txs);
            tree = tree.apply(&out.writes);
            let root = tree.root();
            trace.push((results_root(&out.results), root, out.clone()));
            apply(&mut s, out.writes);
        }
        (trace, s)
    };
    assert_eq!(replay(), replay());
}

/// One generated transaction: (officer 0..=4 where 4 is unregistered, sequence step 0..3
/// where 0 repeats the last one, body 0..6, enterprise 0..3, local id 0..3, effective day
/// offset from the block time −2..=2).
type Op = (u8, u64, u8, u32, u8, i64);

fn op() -> impl Strategy<Value = Op> {
    (0u8..5, 0u64..3, 0u8..6, 0u32..3, 0u8..3, -2i64..=2)
}

/// Builds blocks of transactions from generated ops; sequences per officer follow the
/// steps (step 0 replays the previous sequence number with a new body).
fn build(blocks: &[Vec<Op>]) -> Vec<Vec<Transaction>> {
    let mut next = [0u64; 10];
    blocks
        .iter()
        .enumerate()
        .map(|(h, ops)| {
            let t = ctx(h as u64 + 1).time;
            ops.iter()
                .map(|&(o, step, b, e, id, off)| {
                    let n = if o == 4 { 9 } else { o };
                    next[n as usize] += step;
                    let seq = next[n as usize].max(1);
                    let local = format!("{id}");
                    let body = match b {
                        0 => enterprise_record(e, "E", &[]),
                        1 => licence(e, &local, L::Grant, None, Some(t.plus_days(700))),
                        2 => licence(e, &local, L::Suspend, None, None),
                        3 => inspection(e, &local, InspectionOutcome::Fail),
                        4 => penalty(e, &local, PenaltyGrade::Severe),
                        _ => accident(e, &local, 1, 0),
                    };
                    let at = Timestamp((t.0 as i64 + off * DAY_MS as i64) as u64);
                    signed(&[&officer(n)], seq, at, body)
                })
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Execution is a function of (state, context, transactions), and one block equals the
    /// same transactions split over two blocks at the same time (in-block visibility is
    /// the same as committed visibility): same outcomes, same state apart from timeline
    /// positions. Sequences only rise.
    #[test]
    fn execution_is_deterministic_and_block_boundaries_do_not_change_outcomes(
        ops in proptest::collection::vec(op(), 0..24),
        split in 0usize..24,
    ) {
        let txs = build(&[ops]).remove(0);
        let exec = executor();
        let whole = |s: &State| exec.execute_block(s, &ctx(1), &txs);
        let s0 = State::new();
        let (a, b) = (whole(&s0), whole(&s0));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.results.len(), txs.len());

        let split = split.min(txs.len());
        let mut s = State::new();
        let mut outcomes = run_with(&exec, &mut s, 1, &txs[..split]);
        let mut before: Vec<u64> = (0..10).map(|n| last_sequence(&s, &officer(n).public())).collect();
        outcomes.extend(run_with(&exec, &mut s, 1, &txs[split..]));
        let whole_outcomes: Vec<Outcome> = a.results.iter().map(|r| r.outcome.clone()).collect();
        prop_assert_eq!(outcomes, whole_outcomes);

        let mut merged = State::new();
        apply(&mut merged, a.writes);
        let not_timeline = |st: &State| -> State {
            st.iter().filter(|(k, _)| !k.starts_with(crate::keys::RECORD_PREFIX)).map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        prop_assert_eq!(not_timeline(&s), not_timeline(&merged));
        for (n, b) in before.iter_mut().enumerate() {
            prop_assert!(last_sequence(&s, &officer(n as u8).public()) >= *b);
        }
    }
}

#[test]
fn the_same_enterprise_record_again_is_a_duplicate_a_change_an_update_r0() {
    use safeledger_core::records::identity::natural_key;
    let mut s = with_enterprise();
    let again = run(&mut s, 2, &[by(0, 2, enterprise_record(1, "Acme", &[]))]);
    assert_eq!(rule(&again[0]), Some(rules::R0_DUPLICATE));
    let renamed = by(0, 3, enterprise_record(1, "Acme Ltd", &[]));
    assert_eq!(
        run(&mut s, 3, std::slice::from_ref(&renamed)),
        [Outcome::Accepted]
    );
    // Back to the first values: an update, not a repeat of the latest.
    assert_eq!(
        run(&mut s, 4, &[by(0, 4, enterprise_record(1, "Acme", &[]))]),
        [Outcome::Accepted]
    );
    // The ledger answers the importer's question: was this record committed before?
    let key = natural_key(&renamed.payload.body, renamed.payload.effective_at);
    assert_eq!(
        rules::duplicate::find(&s, EM, &key.clone().unwrap()),
        Some(renamed.id())
    );
    assert_eq!(rules::duplicate::find(&s, FIRE, &key.unwrap()), None);
    // A refused record is found too, so a rerun does not submit it again.
    let refused = by(
        2,
        1,
        licence(1, "L9", L::Grant, Some(day(0)), Some(day(10))),
    );
    let out = run(&mut s, 4, std::slice::from_ref(&refused));
    assert_eq!(rule(&out[0]), Some(rules::R1_PERMISSION));
    let key = natural_key(&refused.payload.body, refused.payload.effective_at).unwrap();
    assert_eq!(rules::duplicate::find(&s, FIRE, &key), Some(refused.id()));
}
