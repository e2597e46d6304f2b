//! Unit tests of message intake, evidence, the next-height buffer, and the liveness fixes
//! the simulation found (late polka, re-sent proof of lock, proposer restart).

use super::tests::{keys, valset, MockApp};
use super::*;
use safeledger_core::evidence::DoubleSign;

const NOW: Timestamp = Timestamp(1_000_000);

fn app(k: &SecretKey) -> MockApp {
    MockApp {
        me: k.public(),
        invalid: BTreeSet::new(),
    }
}

/// Validator 0 of four, started at height 1 (round 0's proposer is validator 1).
fn started(ks: &[SecretKey], who: usize) -> (Consensus, MockApp) {
    let vs = valset(ks);
    let mut core = Consensus::new(
        "t",
        ks[who].clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        PrivState::default(),
    );
    let mut a = app(&ks[who]);
    core.start_height(1, vs, NOW, &mut a);
    (core, a)
}

fn proposal(ks: &[SecretKey], h: u64, r: u32, vr: Option<u32>) -> (Proposal, Block) {
    let vs = valset(ks);
    let who = vs.proposer(h, r).key;
    let k = ks.iter().find(|k| k.public() == who).expect("a proposer");
    let b = app(k).build_block(h, r, NOW);
    (Proposal::new("t", k, h, r, vr, b.hash()), b)
}

fn feed(
    core: &mut Consensus,
    a: &mut MockApp,
    input: Input,
) -> (Vec<Effect>, Result<(), Rejected>) {
    core.handle(input, NOW, a)
}

fn prop(p: &Proposal, b: &Block) -> Input {
    Input::Proposal(p.clone(), Box::new(b.clone()))
}

fn vote(k: &SecretKey, h: u64, r: u32, t: VoteType, v: Option<Hash>) -> Input {
    Input::Vote(Vote::new("t", k, h, r, t, v))
}

fn evidence(fx: &[Effect]) -> Vec<DoubleSign> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Evidence(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn snapshot(core: &Consensus) -> String {
    format!("{core:?} {:?} {:?}", core.resend_set(), core.priv_state())
}

#[test]
fn double_vote_is_reported_once_as_verifiable_evidence() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let x = Hash([7; 32]);
    let (_, r) = feed(
        &mut core,
        &mut a,
        vote(&ks[2], 1, 0, VoteType::Prevote, Some(x)),
    );
    assert_eq!(r, Ok(()));
    let (fx, _) = feed(
        &mut core,
        &mut a,
        vote(&ks[2], 1, 0, VoteType::Prevote, None),
    );
    let ev = evidence(&fx);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].offender(), ks[2].public());
    assert_eq!(ev[0].verify("t", core.validators()), Ok(()));
    let (fx, r) = feed(
        &mut core,
        &mut a,
        vote(&ks[2], 1, 0, VoteType::Prevote, Some(Hash([8; 32]))),
    );
    assert!(evidence(&fx).is_empty(), "reported once per slot");
    assert_eq!(r, Err(Rejected::Equivocation(ks[2].public())));
}

#[test]
fn conflicting_vote_with_a_bad_signature_is_not_evidence() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let _ = feed(
        &mut core,
        &mut a,
        vote(&ks[2], 1, 0, VoteType::Prevote, None),
    );
    let mut forged = Vote::new("t", &ks[2], 1, 0, VoteType::Prevote, Some(Hash([1; 32])));
    forged.signature.0[3] ^= 1;
    let (fx, r) = feed(&mut core, &mut a, Input::Vote(forged));
    assert!(evidence(&fx).is_empty());
    assert_eq!(r, Err(Rejected::BadSignature(ks[2].public())));
}

#[test]
fn two_proposals_for_one_round_are_reported_and_the_first_is_kept() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let (p, b) = proposal(&ks, 1, 0, None);
    let _ = feed(&mut core, &mut a, prop(&p, &b));
    let b2 = app(&ks[1]).build_block(1, 0, Timestamp(NOW.0 + 9));
    let p2 = Proposal::new("t", &ks[1], 1, 0, None, b2.hash());
    let (fx, r) = feed(&mut core, &mut a, prop(&p2, &b2));
    assert_eq!(r, Err(Rejected::Equivocation(ks[1].public())));
    let ev = evidence(&fx);
    assert_eq!(ev.len(), 1);
    assert!(matches!(ev[0], DoubleSign::Proposals(..)));
    assert_eq!(ev[0].verify("t", core.validators()), Ok(()));
    let (props, _) = core.resend_set();
    assert_eq!(
        props.into_iter().map(|(p, _)| p).collect::<Vec<_>>(),
        vec![p]
    );
}

#[test]
fn far_future_outsider_and_badly_signed_messages_change_nothing() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let (p, b) = proposal(&ks, 1, 0, None);
    let _ = feed(&mut core, &mut a, prop(&p, &b));
    let _ = feed(
        &mut core,
        &mut a,
        vote(&ks[2], 1, 0, VoteType::Prevote, Some(b.hash())),
    );
    let before = snapshot(&core);
    let outsider = SecretKey::from_bytes(&[0xee; 32]);
    let bad = |mut v: Vote| {
        v.signature.0[0] ^= 1;
        Input::Vote(v)
    };
    let pv = |k: &SecretKey, h, r| Vote::new("t", k, h, r, VoteType::Prevote, Some(b.hash()));
    let (p1, b1) = proposal(&ks, 1, 1, None);
    let (p2, b2) = proposal(&ks, 2, 0, None);
    let mut forged_p1 = p1.clone();
    forged_p1.signature.0[5] ^= 1;
    let mut forged_p2 = p2.clone();
    forged_p2.signature.0[5] ^= 1;
    let not_proposer = Proposal::new("t", &ks[3], 1, 1, None, b1.hash());
    let mut in_victims_name = Vote::new("t", &ks[1], 1, 0, VoteType::Precommit, None);
    in_victims_name.validator = ks[3].public();
    let cases: Vec<(Input, Rejected)> = vec![
        (
            Input::Vote(pv(&ks[1], 1_000, 0)),
            Rejected::WrongHeight(1_000, 1),
        ),
        (Input::Vote(pv(&ks[1], 3, 0)), Rejected::WrongHeight(3, 1)),
        (
            Input::Vote(pv(&ks[1], 1, 1_000)),
            Rejected::RoundTooFar(1_000, 0),
        ),
        (
            Input::Vote(pv(&ks[1], 2, 1_000)),
            Rejected::RoundTooFar(1_000, 0),
        ),
        (
            Input::Vote(pv(&outsider, 1, 0)),
            Rejected::NotValidator(outsider.public()),
        ),
        (
            Input::Vote(pv(&outsider, 2, 0)),
            Rejected::NotValidator(outsider.public()),
        ),
        (
            bad(pv(&ks[3], 1, 0)),
            Rejected::BadSignature(ks[3].public()),
        ),
        (
            bad(pv(&ks[3], 2, 0)),
            Rejected::BadSignature(ks[3].public()),
        ),
        (
            Input::Vote(in_victims_name),
            Rejected::BadSignature(ks[3].public()),
        ),
        (prop(&forged_p1, &b1), Rejected::BadSignature(p1.proposer)),
        (prop(&forged_p2, &b2), Rejected::BadSignature(p2.proposer)),
        (
            prop(&not_proposer, &b1),
            Rejected::WrongProposer {
                got: ks[3].public(),
                want: p1.proposer,
            },
        ),
        (prop(&p1, &b2), Rejected::BlockMismatch),
    ];
    for (input, why) in cases {
        let (fx, r) = feed(&mut core, &mut a, input);
        assert_eq!(r, Err(why));
        assert!(fx.is_empty(), "{fx:?}");
        assert_eq!(snapshot(&core), before);
    }
}

#[test]
fn a_flood_of_next_height_junk_does_not_crowd_out_honest_messages() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let outsider = SecretKey::from_bytes(&[0xee; 32]);
    for i in 0..(2 * MAX_NEXT_HEIGHT_BUFFER as u32) {
        let junk = Vote::new("t", &outsider, 2, i % 8, VoteType::Prevote, None);
        assert!(feed(&mut core, &mut a, Input::Vote(junk)).1.is_err());
        let mut forged = Vote::new("t", &ks[1], 2, i % 8, VoteType::Prevote, None);
        forged.value = Some(Hash([i as u8; 32]));
        assert!(feed(&mut core, &mut a, Input::Vote(forged)).1.is_err());
    }
    // A Byzantine validator fills only its own slots: one per (round, step), 17 rounds.
    for r in 0..100 {
        for x in 0..4u8 {
            let v = Vote::new("t", &ks[3], 2, r, VoteType::Precommit, Some(Hash([x; 32])));
            let _ = feed(&mut core, &mut a, Input::Vote(v));
        }
    }
    let (p, b) = proposal(&ks, 2, 0, None);
    assert_eq!(feed(&mut core, &mut a, prop(&p, &b)).1, Ok(()));
    // Height 2 starts: the buffered proposal is replayed and prevoted.
    let vs = core.validators().clone();
    let fx = core.start_height(2, vs, NOW, &mut a);
    let prevoted = fx.iter().any(|e| {
        matches!(e, Effect::BroadcastVote(v)
            if v.height == 2 && v.vote_type == VoteType::Prevote && v.value == Some(b.hash()))
    });
    assert!(prevoted, "{fx:?}");
}

#[test]
fn a_restarted_proposer_without_its_block_schedules_the_propose_timeout() {
    let ks = keys(4);
    // Validator 1 proposes (1, 0), persists, and crashes before sending.
    let vs = valset(&ks);
    let mut core = Consensus::new(
        "t",
        ks[1].clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        PrivState::default(),
    );
    let fx = core.start_height(1, vs.clone(), NOW, &mut app(&ks[1]));
    let persisted = fx
        .iter()
        .find_map(|e| match e {
            Effect::Persist(s) => Some(s.clone()),
            _ => None,
        })
        .expect("persisted");
    assert!(matches!(
        persisted.last_signed,
        Some(SignedMessage::Proposal(_))
    ));
    let mut again = Consensus::new(
        "t",
        ks[1].clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        persisted,
    );
    // The rebuilt block differs (later time), so the signed proposal cannot be re-sent.
    let fx = again.start_height(1, vs, Timestamp(NOW.0 + 50), &mut app(&ks[1]));
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::BroadcastProposal(..))));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::ScheduleTimeout(
            Timeout {
                step: Step::Propose,
                ..
            },
            _
        )
    )));
}

/// Moves `core` to `round` by showing it votes of that round from validators 1 and 2
/// (rule 8: more than a third of the power).
fn skip_to(core: &mut Consensus, a: &mut MockApp, ks: &[SecretKey], round: u32) -> Vec<Effect> {
    let mut fx = Vec::new();
    for k in &ks[1..3] {
        fx.extend(feed(core, a, vote(k, 1, round, VoteType::Precommit, None)).0);
    }
    assert_eq!(core.round(), round);
    fx
}

#[test]
fn a_late_polka_becomes_the_valid_value_and_is_re_proposed() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let (p, b) = proposal(&ks, 1, 0, None);
    let _ = feed(&mut core, &mut a, prop(&p, &b));
    skip_to(&mut core, &mut a, &ks, 2);
    // Round 0's prevotes for b arrive late (we prevoted b ourselves in round 0).
    for k in &ks[1..3] {
        let _ = feed(
            &mut core,
            &mut a,
            vote(k, 1, 0, VoteType::Prevote, Some(b.hash())),
        );
    }
    // Round 3: validator 0 proposes, and re-proposes b with valid round 0.
    let fx = skip_to(&mut core, &mut a, &ks, 3);
    let re = fx.iter().find_map(|e| match e {
        Effect::BroadcastProposal(p, blk) => Some((p.clone(), blk.clone())),
        _ => None,
    });
    let (p3, b3) = re.expect("proposed");
    assert_eq!((p3.valid_round, b3.hash()), (Some(0), b.hash()));
}

#[test]
fn resend_set_carries_the_prevotes_that_justify_the_lock() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let (p, b) = proposal(&ks, 1, 0, None);
    let _ = feed(&mut core, &mut a, prop(&p, &b));
    for k in &ks[1..3] {
        let _ = feed(
            &mut core,
            &mut a,
            vote(k, 1, 0, VoteType::Prevote, Some(b.hash())),
        );
    }
    assert_eq!(core.priv_state().lock_at(1), Some((b.hash(), 0)));
    skip_to(&mut core, &mut a, &ks, 6);
    let (props, votes) = core.resend_set();
    assert!(props.iter().any(|(q, _)| *q == p));
    let pol: BTreeSet<PublicKey> = votes
        .iter()
        .filter(|v| v.round == 0 && v.vote_type == VoteType::Prevote && v.value == Some(b.hash()))
        .map(|v| v.validator)
        .collect();
    assert_eq!(pol, ks[..3].iter().map(|k| k.public()).collect());
}

#[test]
fn an_equivocators_prevote_counts_for_each_value_it_voted() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let (p, b) = proposal(&ks, 1, 0, None);
    let _ = feed(&mut core, &mut a, prop(&p, &b));
    // Validator 1 prevotes nil here and b elsewhere; validator 2 prevotes b.
    let _ = feed(
        &mut core,
        &mut a,
        vote(&ks[1], 1, 0, VoteType::Prevote, None),
    );
    let (fx, r) = feed(
        &mut core,
        &mut a,
        vote(&ks[1], 1, 0, VoteType::Prevote, Some(b.hash())),
    );
    assert_eq!((evidence(&fx).len(), r), (1, Ok(())));
    let _ = feed(
        &mut core,
        &mut a,
        vote(&ks[2], 1, 0, VoteType::Prevote, Some(b.hash())),
    );
    assert_eq!(core.priv_state().lock_at(1), Some((b.hash(), 0)));
    // A conflicting vote for a block nobody proposed is reported but not kept.
    let _ = feed(
        &mut core,
        &mut a,
        vote(&ks[3], 1, 0, VoteType::Prevote, None),
    );
    let (fx, r) = feed(
        &mut core,
        &mut a,
        vote(&ks[3], 1, 0, VoteType::Prevote, Some(Hash([9; 32]))),
    );
    assert_eq!(evidence(&fx).len(), 1);
    assert_eq!(r, Err(Rejected::Equivocation(ks[3].public())));
}

#[test]
fn a_restarted_locked_validator_re_proposes_its_locked_value() {
    let ks = keys(4);
    let (mut core, mut a) = started(&ks, 0);
    let (p, b) = proposal(&ks, 1, 0, None);
    let _ = feed(&mut core, &mut a, prop(&p, &b));
    for k in &ks[1..3] {
        let _ = feed(
            &mut core,
            &mut a,
            vote(k, 1, 0, VoteType::Prevote, Some(b.hash())),
        );
    }
    let persisted = core.priv_state().clone();
    assert_eq!(persisted.lock_at(1), Some((b.hash(), 0)));
    // Restart: only the persisted state survives (lock, locked block, own votes); no peer
    // re-sends round 0.
    let vs = valset(&ks);
    let mut core = Consensus::new(
        "t",
        ks[0].clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        persisted,
    );
    core.start_height(1, vs, NOW, &mut a);
    // Its own prevote and precommit of round 0 are back, to be counted and re-sent.
    let (_, votes) = core.resend_set();
    let own: Vec<_> = votes
        .iter()
        .filter(|v| v.validator == ks[0].public())
        .map(|v| (v.round, v.vote_type, v.value))
        .collect();
    assert_eq!(
        own,
        vec![
            (0, VoteType::Prevote, Some(b.hash())),
            (0, VoteType::Precommit, Some(b.hash()))
        ]
    );
    let fx = skip_to(&mut core, &mut a, &ks, 3);
    let re = fx.iter().find_map(|e| match e {
        Effect::BroadcastProposal(p, blk) => Some((p.valid_round, blk.hash())),
        _ => None,
    });
    assert_eq!(re, Some((Some(0), b.hash())));
    // Rounds later, it still re-sends the persisted proof of its lock.
    let (_, votes) = core.resend_set();
    let proof: BTreeSet<PublicKey> = votes
        .iter()
        .filter(|v| v.round == 0 && v.vote_type == VoteType::Prevote && v.value == Some(b.hash()))
        .map(|v| v.validator)
        .collect();
    assert_eq!(proof, ks[..3].iter().map(|k| k.public()).collect());
}
