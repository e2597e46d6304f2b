//! Named fault scenarios in the deterministic simulation (`safeledger_node::sim`), each
//! built to hit one failure mode; every property checker runs on every step as in the
//! seed sweep.

use safeledger_core::encoding::to_canonical;
use safeledger_core::VoteType;
use safeledger_node::consensus::SignedMessage;
use safeledger_node::sim::{self, Byzantine, Fault, Msg, Scenario, World};

/// No GST: the scenario decides when the network heals.
const NEVER: u64 = u64::MAX / 4;

fn no_gst(mut sc: Scenario) -> Scenario {
    sc.gst_ms = NEVER;
    sc
}

fn ok<T>(r: Result<T, sim::Violation>) -> T {
    r.unwrap_or_else(|v| panic!("{} violated: {}", v.property, v.detail))
}

fn all_at_least(w: &World, nodes: &[usize], height: u64) -> bool {
    nodes.iter().all(|i| w.nodes[*i].app.height() >= height)
}

#[test]
fn crash_between_persisting_a_vote_and_sending_it_resends_identical_bytes() {
    // Validator 3 never runs, so the height needs validator 0's prevote. Validator 0
    // crashes right after its first Persist — its prevote of (1, 0), durable, never sent.
    let mut sc = no_gst(Scenario::clean("crash-between-persist-and-send", 4, 2));
    sc.byzantine.insert(3, Byzantine::Silent);
    sc.faults = vec![(0, Fault::CrashAfterPersist { node: 0 })];
    let mut w = World::new(sc, 1);
    w.sent = Some(Vec::new());
    ok(w.start());
    assert!(ok(w.run_until(10_000, |w| w.nodes[0].core.is_none())));
    let signed = w.nodes[0].persisted.last_signed.clone().expect("persisted");
    assert!(matches!(&signed, SignedMessage::Vote(v) if v.vote_type == VoteType::Prevote));
    let sent_by_0 = |w: &World| -> Vec<SignedMessage> {
        let log = w.sent.as_ref().expect("logging");
        log.iter()
            .filter(|(_, i, m)| *i == 0 && m.hrs() == signed.hrs())
            .map(|(_, _, m)| m.clone())
            .collect()
    };
    assert!(sent_by_0(&w).is_empty(), "it crashed before sending");
    let at = w.now + 1_000;
    ok(w.run_until(at, |_| false));
    ok(w.fault(Fault::Restart { node: 0 }));
    assert!(ok(w.run_until(at + 30_000, |w| !sent_by_0(w).is_empty())));
    for m in sent_by_0(&w) {
        assert_eq!(to_canonical(&m), to_canonical(&signed), "identical bytes");
    }
    assert!(ok(w.run_until(at + 60_000, |w| all_at_least(
        w,
        &[0, 1, 2],
        2
    ))));
}

#[test]
fn restart_after_many_rounds_resumes_at_the_last_signed_round() {
    // Every proposal is lost, so rounds pass without a decision.
    let mut sc = no_gst(Scenario::clean("many-rounds-then-restart", 4, 2));
    sc.params.timeout_propose_ms = 200;
    sc.params.timeout_prevote_ms = 100;
    sc.params.timeout_precommit_ms = 100;
    let mut w = World::new(sc, 2);
    w.sent = Some(Vec::new());
    ok(w.fault(Fault::DropProposals(true)));
    ok(w.start());
    let many = 40;
    let up = |w: &World| {
        w.nodes
            .iter()
            .all(|n| n.core.as_ref().is_some_and(|c| c.round() >= many))
    };
    assert!(ok(w.run_until(NEVER, up)));
    assert_eq!(w.check.decided_heights(), 0);
    let last = w.nodes[0].persisted.last_signed.clone().expect("signed");
    let (h, r, _) = last.hrs();
    assert!(r >= many - 1);
    ok(w.fault(Fault::Crash {
        node: 0,
        lose_last: false,
    }));
    let restart_at = w.now;
    ok(w.fault(Fault::Restart { node: 0 }));
    let core = w.nodes[0].core.as_ref().expect("running");
    assert_eq!(
        (core.height(), core.round()),
        (h, r),
        "resumes at its last signed round"
    );
    assert!(
        w.nodes[0].last_start_effects <= 2,
        "restart does not replay rounds: {} effects",
        w.nodes[0].last_start_effects
    );
    // It catches up with the others' round within a few round timeouts, and signs nothing
    // below its last signed round.
    let others = |w: &World| w.nodes[1].core.as_ref().map_or(0, |c| c.round());
    let joined = ok(w.run_until(restart_at + 30_000, |w| {
        w.nodes[0]
            .core
            .as_ref()
            .is_some_and(|c| c.round() + 1 >= others(w))
    }));
    assert!(joined, "resumed node reaches the others' round");
    let log = w.sent.as_ref().expect("logging");
    assert!(log
        .iter()
        .filter(|(t, i, _)| *t >= restart_at && *i == 0)
        .all(|(_, _, m)| m.hrs() >= last.hrs()));
    ok(w.fault(Fault::DropProposals(false)));
    let healed = w.now;
    assert!(ok(w.run_until(healed + 60_000, |w| all_at_least(
        w,
        &[0, 1, 2, 3],
        2
    ))));
}

#[test]
fn a_value_locked_by_one_node_behind_a_partition_is_still_decided_after_heal() {
    // Height 1, round 0 (proposer: validator 1). Validator 3 misses the proposal and
    // prevotes nil; validator 0's prevote reaches only itself and 3. So validator 0 sees a
    // polka for v and locks on it; 1, 2 and 3 see {v, v, nil} and precommit nil. Then
    // validator 3 crashes for good: 0, 1 and 2 must decide, and 0 prevotes only v.
    let mut sc = no_gst(Scenario::clean("one-node-locks-behind-a-partition", 4, 1));
    sc.resend = true;
    let mut w = World::new(sc, 3);
    let a = w.nodes[0].key.public();
    let heal_at = 30_000;
    w.filter = Some(Box::new(move |now, _from, to, m| {
        if now >= heal_at {
            return true;
        }
        match m {
            Msg::Proposal(p, _) => !(p.height == 1 && p.round == 0 && to == 3),
            Msg::Vote(v) => {
                let hidden = v.height == 1
                    && v.round == 0
                    && v.vote_type == VoteType::Prevote
                    && v.validator == a;
                !(hidden && (to == 1 || to == 2))
            }
        }
    }));
    ok(w.start());
    let past_round_0 =
        |w: &World| (0..4).all(|i| w.nodes[i].core.as_ref().is_some_and(|c| c.round() >= 1));
    assert!(ok(w.run_until(heal_at, past_round_0)));
    let locked = w.nodes[0].persisted.lock_at(1).expect("validator 0 locked");
    assert_eq!(locked.1, 0);
    for i in 1..4 {
        assert_eq!(
            w.nodes[i].persisted.lock_at(1),
            None,
            "only validator 0 locked"
        );
    }
    ok(w.fault(Fault::Crash {
        node: 3,
        lose_last: false,
    }));
    assert!(
        ok(w.run_until(heal_at + 60_000, |w| all_at_least(w, &[0, 1, 2], 1))),
        "decided after the heal"
    );
    assert_eq!(w.check.decided_at(1), Some(locked.0), "the locked value");
}

#[test]
fn an_equivocating_proposer_is_reported_and_agreement_holds() {
    let mut sc = Scenario::clean("equivocating-proposer", 4, 12);
    sc.byzantine.insert(1, Byzantine::Equivocate);
    let mut w = World::new(sc, 4);
    let r = sim::run_world(&mut w, 4).unwrap_or_else(|f| panic!("{f}"));
    assert!(r.evidence > 0, "{r:?}");
    let offenders: Vec<_> = w.check.offenders.iter().copied().collect();
    assert_eq!(offenders, vec![w.nodes[1].key.public()]);
}

#[test]
fn a_double_voting_validator_is_reported_and_agreement_holds() {
    // Validator 2's key runs on two nodes (2 and 4) with different clocks.
    let mut sc = Scenario::clean("double-voting-twins", 4, 12);
    sc.byzantine.insert(2, Byzantine::Twin);
    sc.skew_ms = vec![0, 0, -800, 0, 800];
    sc.net.delay_ms = (1, 400);
    let mut w = World::new(sc, 5);
    let r = sim::run_world(&mut w, 5).unwrap_or_else(|f| panic!("{f}"));
    assert!(r.evidence > 0, "{r:?}");
    assert!(w.check.offenders.contains(&w.nodes[2].key.public()));
}

#[test]
fn a_double_vote_is_committed_as_evidence_naming_the_validator() {
    // Over the real ledger: honest nodes that see validator 2's twin double-vote submit
    // validator-evidence transactions; the first committed one is accepted and names
    // validator 2's agency on every honest node, later reports of the same offence are
    // refused as duplicates.
    let mut sc = Scenario::clean("double-vote-evidence-committed", 4, 20);
    sc.byzantine.insert(2, Byzantine::Twin);
    sc.skew_ms = vec![0, 0, -800, 0, 800];
    sc.net.delay_ms = (1, 400);
    sc.ledger = true;
    let mut w = World::new(sc, 7);
    let r = sim::run_world(&mut w, 7).unwrap_or_else(|f| panic!("{f}"));
    assert!(r.evidence > 0, "{r:?}");
    let offender = w.nodes[2].key.public();
    let first = w.nodes[0].app.recorded_evidence();
    assert!(!first.is_empty(), "no evidence committed: {r:?}");
    for e in &first {
        assert_eq!(e.offender, offender);
        assert_eq!(e.offender_agency, "v2", "{e:?}");
    }
    for i in [1, 3] {
        let theirs = w.nodes[i].app.recorded_evidence();
        let common = theirs.len().min(first.len());
        assert_eq!(
            theirs[..common],
            first[..common],
            "node {i} recorded other evidence"
        );
    }
}

#[test]
fn junk_from_a_byzantine_validator_changes_no_outcome() {
    // Bad signatures, votes for unknown blocks, far-future heights and rounds, forged
    // votes, non-validator votes, proposals from a non-proposer.
    let mut sc = Scenario::clean("spam", 4, 15);
    sc.byzantine.insert(3, Byzantine::Spam);
    let mut w = World::new(sc, 6);
    let r = sim::run_world(&mut w, 6).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        r.stats.max_decided_round, 0,
        "honest rounds never fail: {r:?}"
    );
    assert!(r.evidence > 0);
}

#[test]
fn a_restarted_node_catches_up_by_verified_block_sync_despite_a_lying_peer() {
    // Node 0 is down while the others commit; node 1 serves forged certificates.
    let mut sc = no_gst(Scenario::clean("catch-up-by-sync", 4, 30));
    sc.byzantine.insert(1, Byzantine::LyingSync);
    sc.faults = vec![(
        100,
        Fault::Crash {
            node: 0,
            lose_last: false,
        },
    )];
    let mut w = World::new(sc, 7);
    ok(w.start());
    assert!(ok(w.run_until(NEVER, |w| all_at_least(w, &[2, 3], 20))));
    let behind = w.nodes[0].app.height();
    ok(w.fault(Fault::Restart { node: 0 }));
    let t = w.now;
    assert!(ok(w.run_until(t + 30_000, |w| all_at_least(
        w,
        &[0, 2, 3],
        25
    ))));
    assert!(w.nodes[0].app.height() > behind);
    assert!(w.stats.synced_blocks > 0);
    assert!(w.check.sync_refusals > 0, "the liar was asked and refused");
}

#[test]
fn a_sync_at_the_height_a_node_is_already_at_changes_nothing_in_its_consensus_state() {
    // Node 0 is mid-height; a peer serves it the blocks it already has (up to its own
    // tip). Its consensus state — height, round, step, signing state, the messages it
    // would re-send — and its committed tip are unchanged.
    let mut sc = Scenario::clean("sync-at-own-height", 4, 40);
    sc.ledger = false;
    let mut w = World::new(sc, 11);
    ok(w.start());
    assert!(ok(w.run_until(NEVER, |w| all_at_least(
        w,
        &[0, 1, 2, 3],
        5
    ))));
    let snapshot = |w: &World| {
        let c = w.nodes[0].core.as_ref().expect("node 0 runs");
        (
            c.height(),
            c.round(),
            c.step(),
            c.decided(),
            c.priv_state().clone(),
            format!("{:?}", c.resend_set()),
            w.nodes[0].app.height(),
            w.nodes[0].app.tip_hash(),
        )
    };
    let before = snapshot(&w);
    let mine = w.nodes[0].app.height();
    let blocks: Vec<_> = (1..=mine)
        .filter_map(|h| w.nodes[1].app.committed(h))
        .collect();
    assert!(!blocks.is_empty());
    ok(w.deliver_sync(0, 1, blocks));
    assert_eq!(snapshot(&w), before);
    // And the network goes on deciding afterwards.
    let t = w.now;
    assert!(ok(w.run_until(t + 30_000, |w| all_at_least(
        w,
        &[0, 1, 2, 3],
        mine + 3
    ))));
}

#[test]
fn a_power_loss_that_drops_the_last_committed_block_never_double_signs() {
    // The store loses its last block (sled's flush is not an fsync) but the signing state
    // is at the next height: the node must not sign at the lost height again, and catches
    // up by sync.
    let mut sc = no_gst(Scenario::clean("power-loss", 4, 12));
    sc.faults = vec![
        (
            3_000,
            Fault::Crash {
                node: 2,
                lose_last: true,
            },
        ),
        (4_000, Fault::Restart { node: 2 }),
    ];
    let r = sim::run(sc, 8).unwrap_or_else(|f| panic!("{f}"));
    assert!(r.min_height >= 12);
}
