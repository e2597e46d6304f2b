//! Unit tests of the consensus core: a small in-memory cluster delivering every message,
//! firing the earliest timeout when no message is in flight.

use super::*;
use safeledger_core::block::Header;
use safeledger_core::genesis::Validator;
use std::collections::VecDeque;

pub(super) struct MockApp {
    pub(super) me: PublicKey,
    pub(super) invalid: BTreeSet<u64>,
}

impl BlockSource for MockApp {
    fn build_block(&mut self, height: u64, round: u32, now: Timestamp) -> Block {
        Block {
            header: Header {
                version: 1,
                chain_id: "t".into(),
                height,
                time: Timestamp(now.0 + round as u64),
                prev_hash: Hash::ZERO,
                tx_root: Hash::ZERO,
                tx_count: 0,
                ledger_root: Hash::ZERO,
                ledger_size: 0,
                state_root: Hash::ZERO,
                results_root: Hash::ZERO,
                validators_hash: Hash::ZERO,
                next_validators_hash: Hash::ZERO,
                proposer: self.me,
            },
            txs: vec![],
        }
    }
    fn valid(&mut self, block: &Block) -> bool {
        !self.invalid.contains(&block.header.time.0)
    }
}

struct Node {
    core: Consensus,
    app: MockApp,
    decided: Vec<(u64, Hash)>,
    decided_times: Vec<u64>,
    up: bool,
}

struct Cluster {
    nodes: Vec<Node>,
    inbox: VecDeque<(usize, Input)>,
    timeouts: Vec<(u64, usize, Timeout)>,
    now: u64,
}

pub(super) fn keys(n: usize) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::from_bytes(&[i as u8 + 1; 32]))
        .collect()
}

pub(super) fn valset(keys: &[SecretKey]) -> ValidatorSet {
    ValidatorSet {
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                agency: format!("a{i}"),
                key: k.public(),
                power: 1,
            })
            .collect(),
    }
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        let ks = keys(n);
        let vs = valset(&ks);
        let nodes = ks
            .iter()
            .map(|k| Node {
                core: Consensus::new(
                    "t",
                    k.clone(),
                    ConsensusParams::default(),
                    vs.clone(),
                    1,
                    PrivState::default(),
                ),
                app: MockApp {
                    me: k.public(),
                    invalid: BTreeSet::new(),
                },
                decided: vec![],
                decided_times: vec![],
                up: true,
            })
            .collect();
        Cluster {
            nodes,
            inbox: VecDeque::new(),
            timeouts: vec![],
            now: 1_000_000,
        }
    }

    fn start(&mut self) {
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            let vals = n.core.validators().clone();
            let fx = n
                .core
                .start_height(1, vals, Timestamp(self.now), &mut n.app);
            self.apply(i, fx);
        }
    }

    fn apply(&mut self, i: usize, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Persist(_) => {}
                Effect::BroadcastProposal(p, b) => {
                    for j in 0..self.nodes.len() {
                        if j != i {
                            self.inbox
                                .push_back((j, Input::Proposal(p.clone(), Box::new(b.clone()))));
                        }
                    }
                }
                Effect::BroadcastVote(v) => {
                    for j in 0..self.nodes.len() {
                        if j != i {
                            self.inbox.push_back((j, Input::Vote(v.clone())));
                        }
                    }
                }
                Effect::ScheduleTimeout(t, ms) => self.timeouts.push((self.now + ms, i, t)),
                Effect::Evidence(e) => panic!("evidence in an honest cluster: {e:?}"),
                Effect::Decide(b, cert) => {
                    let vals = self.nodes[i].core.validators().clone();
                    cert.verify("t", b.header.height, &b.hash(), &vals)
                        .expect("certificate verifies");
                    self.nodes[i].decided.push((b.header.height, b.hash()));
                    self.nodes[i].decided_times.push(b.header.time.0);
                    let h = b.header.height + 1;
                    let n = &mut self.nodes[i];
                    let fx = n
                        .core
                        .start_height(h, vals, Timestamp(self.now), &mut n.app);
                    self.apply(i, fx);
                }
            }
        }
    }

    /// Runs until every up node decided `heights` heights or `steps` deliveries passed.
    fn run(&mut self, heights: usize, steps: usize) {
        for _ in 0..steps {
            if self
                .nodes
                .iter()
                .filter(|n| n.up)
                .all(|n| n.decided.len() >= heights)
            {
                return;
            }
            if let Some((j, input)) = self.inbox.pop_front() {
                if !self.nodes[j].up {
                    continue;
                }
                let n = &mut self.nodes[j];
                let (fx, _) = n.core.handle(input, Timestamp(self.now), &mut n.app);
                self.apply(j, fx);
            } else if !self.timeouts.is_empty() {
                self.timeouts.sort_by_key(|t| (t.0, t.1));
                let (at, j, t) = self.timeouts.remove(0);
                self.now = self.now.max(at);
                if !self.nodes[j].up {
                    continue;
                }
                let n = &mut self.nodes[j];
                let (fx, _) = n
                    .core
                    .handle(Input::Timeout(t), Timestamp(self.now), &mut n.app);
                self.apply(j, fx);
            } else {
                return;
            }
        }
    }

    fn assert_agreement(&self) {
        let mut by_height: BTreeMap<u64, Hash> = BTreeMap::new();
        for n in &self.nodes {
            for (h, hash) in &n.decided {
                let prev = by_height.insert(*h, *hash);
                assert!(prev.is_none_or(|p| p == *hash), "disagreement at {h}");
            }
        }
    }
}

#[test]
fn four_validators_decide_many_heights_in_agreement() {
    let mut c = Cluster::new(4);
    c.start();
    c.run(20, 100_000);
    c.assert_agreement();
    assert!(c.nodes.iter().all(|n| n.decided.len() >= 20));
}

#[test]
fn round_changes_when_the_proposer_is_down() {
    let mut c = Cluster::new(4);
    // Height 1, round 0's proposer is index (1 + 0) % 4 = 1.
    c.nodes[1].up = false;
    c.start();
    c.run(5, 100_000);
    c.assert_agreement();
    for (i, n) in c.nodes.iter().enumerate() {
        if i != 1 {
            assert!(n.decided.len() >= 5, "node {i} decided {}", n.decided.len());
        }
    }
}

#[test]
fn no_decision_without_a_quorum() {
    let mut c = Cluster::new(4);
    c.nodes[0].up = false;
    c.nodes[1].up = false;
    c.start();
    c.run(1, 5_000);
    assert!(c.nodes.iter().all(|n| n.decided.is_empty()));
}

#[test]
fn invalid_block_is_not_decided() {
    let mut c = Cluster::new(4);
    // Every node judges blocks built at the initial time (round 0 of height 1) invalid.
    let bad = c.now;
    for n in &mut c.nodes {
        n.app.invalid.insert(bad);
    }
    c.start();
    c.run(2, 100_000);
    c.assert_agreement();
    for n in &c.nodes {
        assert!(n.decided.len() >= 2);
    }
    assert!(c.nodes.iter().all(|n| !n.decided_times.contains(&bad)));
}

#[test]
fn locked_validator_prevotes_nil_for_other_value() {
    let ks = keys(4);
    let vs = valset(&ks);
    let me = ks[0].clone();
    let mut core = Consensus::new(
        "t",
        me.clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        PrivState::default(),
    );
    let mut app = MockApp {
        me: me.public(),
        invalid: BTreeSet::new(),
    };
    let now = Timestamp(1_000_000);
    core.start_height(1, vs.clone(), now, &mut app);
    // Round 0 proposer is index 1.
    let mut app1 = MockApp {
        me: ks[1].public(),
        invalid: BTreeSet::new(),
    };
    let b0 = app1.build_block(1, 0, now);
    let p0 = Proposal::new("t", &ks[1], 1, 0, None, b0.hash());
    let _ = core.handle(Input::Proposal(p0, Box::new(b0.clone())), now, &mut app);
    for k in &ks[1..] {
        let v = Vote::new("t", k, 1, 0, VoteType::Prevote, Some(b0.hash()));
        let _ = core.handle(Input::Vote(v), now, &mut app);
    }
    assert_eq!(core.step(), Step::Precommit);
    assert_eq!(core.priv_state().lock_at(1), Some((b0.hash(), 0)));
    // Round 1: precommit timeout moves us on; proposer of round 1 is index 2 with a new block.
    let _ = core.handle(
        Input::Timeout(Timeout {
            height: 1,
            round: 0,
            step: Step::Precommit,
        }),
        now,
        &mut app,
    );
    assert_eq!(core.round(), 1);
    let mut app2 = MockApp {
        me: ks[2].public(),
        invalid: BTreeSet::new(),
    };
    let b1 = app2.build_block(1, 1, Timestamp(now.0 + 5));
    let p1 = Proposal::new("t", &ks[2], 1, 1, None, b1.hash());
    let (fx, r) = core.handle(Input::Proposal(p1, Box::new(b1)), now, &mut app);
    assert_eq!(r, Ok(()));
    let prevote = fx.iter().find_map(|e| match e {
        Effect::BroadcastVote(v) => Some(v.clone()),
        _ => None,
    });
    let prevote = prevote.expect("prevoted");
    assert_eq!(prevote.vote_type, VoteType::Prevote);
    assert_eq!(prevote.value, None);
}

#[test]
fn restarted_validator_resends_identical_vote_and_never_conflicts() {
    let ks = keys(4);
    let vs = valset(&ks);
    let me = ks[0].clone();
    let now = Timestamp(1_000_000);
    let mut app = MockApp {
        me: me.public(),
        invalid: BTreeSet::new(),
    };
    let mut core = Consensus::new(
        "t",
        me.clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        PrivState::default(),
    );
    core.start_height(1, vs.clone(), now, &mut app);
    // Propose timeout: prevote nil at (1, 0).
    let (fx, _) = core.handle(
        Input::Timeout(Timeout {
            height: 1,
            round: 0,
            step: Step::Propose,
        }),
        now,
        &mut app,
    );
    let persisted = fx.iter().find_map(|e| match e {
        Effect::Persist(p) => Some(p.clone()),
        _ => None,
    });
    let sent = fx.iter().find_map(|e| match e {
        Effect::BroadcastVote(v) => Some(v.clone()),
        _ => None,
    });
    let (persisted, sent) = (persisted.expect("persisted"), sent.expect("sent"));
    // Crash and restart from the persisted state; a proposal arrives that we would
    // otherwise prevote for: we must re-send the identical nil prevote instead.
    let mut core2 = Consensus::new(
        "t",
        me.clone(),
        ConsensusParams::default(),
        vs.clone(),
        1,
        persisted,
    );
    core2.start_height(1, vs.clone(), now, &mut app);
    let mut app1 = MockApp {
        me: ks[1].public(),
        invalid: BTreeSet::new(),
    };
    let b0 = app1.build_block(1, 0, now);
    let p0 = Proposal::new("t", &ks[1], 1, 0, None, b0.hash());
    let (fx, _) = core2.handle(Input::Proposal(p0, Box::new(b0)), now, &mut app);
    let resent = fx.iter().find_map(|e| match e {
        Effect::BroadcastVote(v) => Some(v.clone()),
        _ => None,
    });
    assert_eq!(resent, Some(sent));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Persist(_))));
}
