//! Determinism of execution against the real mempool (issue 4 item 8): the same blocks
//! executed twice give the same state and results roots, and when each node's mempool
//! receives the transactions in its own shuffled order before the proposer reaps them
//! ([`Mempool::reap`]: arrival order, each signer's records in sequence order), every
//! transaction still gets the same outcome and — for agencies recording about their own
//! enterprises, whose writes do not interfere — the same state as the unshuffled run but
//! for each record's position in its block (kept on the timeline, so the state roots
//! differ exactly there), while replaying the proposer's blocks gives its roots exactly.

use super::Mempool;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use safeledger_contracts::{keys, query, results_root, BlockContext, Executor, Outcome, RecordRef};
use safeledger_core::genesis::{Agency, ConsensusParams};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    EnterpriseRecord, InspectionOutcome, InspectionRecord, LicenceDecision, LicenceDecisionKind,
    Penalty, PenaltyGrade, TxKind,
};
use safeledger_core::{
    from_canonical, to_canonical, Genesis, Hash, SecretKey, Timestamp, Transaction, TxBody,
    TxPayload,
};
use std::collections::BTreeMap;

const CHAIN: &str = "determinism";
const AGENCIES: usize = 4;
const HEIGHTS: u64 = 4;

fn officer(a: usize) -> SecretKey {
    SecretKey::from_bytes(&[a as u8 + 1; 32])
}

fn genesis() -> Genesis {
    let mut roles = BTreeMap::new();
    roles.insert("all".to_string(), TxKind::ALL.to_vec());
    let g = Genesis {
        chain_id: CHAIN.into(),
        genesis_time: Timestamp(0),
        agencies: (0..AGENCIES)
            .map(|a| Agency {
                id: format!("agency-{a}"),
                name: format!("Agency {a}"),
                role: "all".into(),
                node_key: SecretKey::from_bytes(&[a as u8 + 100; 32]).public(),
                officer_keys: vec![officer(a).public()],
                p2p_addr: "/ip4/127.0.0.1/tcp/1".into(),
                grpc_addr: "http://127.0.0.1:2".into(),
                tls_cert: String::new(),
                power: 1,
            })
            .collect(),
        roles,
        consensus: ConsensusParams::default(),
        auditors: Vec::new(),
    };
    g.validate().expect("valid genesis");
    g
}

fn day(n: u64) -> Timestamp {
    Timestamp::from_ymd(2020, 1, 1).expect("date").plus_days(n)
}

/// Height `h`'s records of agency `a`, each about one of the agency's own enterprises
/// (`shared`: about enterprises every agency records on, so that order matters).
fn records(a: usize, h: u64, shared: bool) -> Vec<TxBody> {
    let ent = |k: u64| {
        let owner = if shared {
            "all".to_string()
        } else {
            a.to_string()
        };
        EnterpriseId::namespaced("t", &format!("{owner}-{k}")).expect("id")
    };
    let mut out = Vec::new();
    for k in 0..3 {
        let e = ent(k);
        if h == 1 {
            out.push(TxBody::EnterpriseRecord(EnterpriseRecord {
                enterprise: e.clone(),
                name: format!("E{k} by {a}"),
                address: "1 Main St".into(),
                linked_ids: vec![],
            }));
            continue;
        }
        out.push(TxBody::InspectionRecord(InspectionRecord {
            enterprise: e.clone(),
            inspection_id: format!("I-{a}-{h}-{k}"),
            inspection_type: "routine".into(),
            outcome: if (h + k).is_multiple_of(2) {
                InspectionOutcome::Fail
            } else {
                InspectionOutcome::Pass
            },
            score: None,
            violation_counts: [0, 0, 0],
            violations: vec![],
            follow_up_of: None,
        }));
        out.push(TxBody::Penalty(Penalty {
            enterprise: e.clone(),
            case_id: format!("P-{a}-{h}-{k}"),
            grade: if k == 0 {
                PenaltyGrade::Severe
            } else {
                PenaltyGrade::Minor
            },
            kind: "fine".into(),
            amount_minor: Some(100),
            currency: Some("CNY".into()),
            reason: "r".into(),
        }));
        out.push(TxBody::LicenceDecision(LicenceDecision {
            enterprise: e,
            licence_number: format!("L-{a}-{k}"),
            licence_type: "Retail".into(),
            kind: LicenceDecisionKind::Grant,
            valid_from: Some(day(100 * h)),
            valid_until: Some(day(100 * h + 300)),
            industry: None,
            reason: "r".into(),
            applied_at: None,
            application: None,
        }));
    }
    out
}

/// Every block's transactions in generation order: agency by agency, sequences from 1.
fn workload(shared: bool) -> Vec<Vec<Transaction>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut seq = [0u64; AGENCIES];
    (1..=HEIGHTS)
        .map(|h| {
            let mut block = Vec::new();
            for (a, s) in seq.iter_mut().enumerate() {
                for body in records(a, h, shared) {
                    *s += 1;
                    let p = TxPayload::new(CHAIN, *s, day(100 * h), body, &mut rng);
                    block.push(Transaction::sign(p, &[&officer(a)]));
                }
            }
            block
        })
        .collect()
}

type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// Per block: state root, results root, outcomes by transaction id.
type Run = Vec<(Hash, Hash, BTreeMap<Hash, Outcome>)>;

/// The state with every timeline entry's position in its block set to 0.
fn without_block_positions(state: &State) -> State {
    state
        .iter()
        .map(|(k, v)| {
            if !k.starts_with(keys::RECORD_PREFIX) {
                return (k.clone(), v.clone());
            }
            let mut r: RecordRef = from_canonical(v).expect("a timeline entry");
            r.index = 0;
            (k.clone(), to_canonical(&r))
        })
        .collect()
}

/// Executes the blocks, each built by `propose` from the block's transactions and the
/// state before it.
fn run(
    blocks: &[Vec<Transaction>],
    propose: impl FnMut(&State, &[Transaction]) -> Vec<Transaction>,
) -> Run {
    run_to_state(blocks, propose).0
}

/// [`run`], and the state after the last block.
fn run_to_state(
    blocks: &[Vec<Transaction>],
    mut propose: impl FnMut(&State, &[Transaction]) -> Vec<Transaction>,
) -> (Run, State) {
    let g = genesis();
    let exec = Executor::new(&g);
    let mut state = State::new();
    let mut tree = safeledger_core::state_tree::StateTree::new();
    let mut out = Vec::new();
    for (h, txs) in blocks.iter().enumerate() {
        let block = propose(&state, txs);
        assert_eq!(
            block.len(),
            txs.len(),
            "the proposer reaped every transaction"
        );
        let ctx = BlockContext {
            height: h as u64 + 1,
            time: day(100 * (h as u64 + 1) + 1),
        };
        let ex = exec.execute_block(&state, &ctx, &block);
        tree = tree.apply(&ex.writes);
        let root = tree.root();
        let outcomes = ex
            .results
            .iter()
            .map(|r| (r.tx_id, r.outcome.clone()))
            .collect();
        out.push((root, results_root(&ex.results), outcomes));
        for (k, v) in ex.writes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
    }
    (out, state)
}

/// A node's mempool receiving `txs` in a shuffled order, then reaping a block.
fn shuffled_proposal(seed: u64) -> impl FnMut(&State, &[Transaction]) -> Vec<Transaction> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    move |state: &State, txs: &[Transaction]| {
        let mut arrived = txs.to_vec();
        arrived.shuffle(&mut rng);
        let mut pool = Mempool::default();
        for tx in arrived {
            let admitted = pool.admit(
                tx,
                CHAIN,
                |_| true,
                |k| query::last_sequence(state, k),
                |_| false,
            );
            assert_eq!(admitted, Ok(true));
        }
        pool.reap(usize::MAX, usize::MAX)
    }
}

#[test]
fn the_same_blocks_twice_give_the_same_roots() {
    for shared in [false, true] {
        let blocks = workload(shared);
        let a = run(&blocks, |_, txs| txs.to_vec());
        assert_eq!(a, run(&blocks, |_, txs| txs.to_vec()), "shared {shared}");
        let accepted = a
            .iter()
            .flat_map(|(_, _, o)| o.values())
            .filter(|o| **o == Outcome::Accepted)
            .count();
        assert!(accepted > 0, "the workload exercises the rules");
    }
}

#[test]
fn shuffled_mempool_arrival_changes_no_outcome_and_no_state_but_block_positions() {
    let blocks = workload(false);
    let (in_order, end) = run_to_state(&blocks, |_, txs| txs.to_vec());
    for seed in 0..8 {
        let (shuffled, shuffled_end) = run_to_state(&blocks, shuffled_proposal(seed));
        for (h, (a, b)) in in_order.iter().zip(&shuffled).enumerate() {
            assert_eq!(a.2, b.2, "SEED={seed} height {}: outcomes", h + 1);
        }
        assert_eq!(
            without_block_positions(&end),
            without_block_positions(&shuffled_end),
            "SEED={seed}: the states differ beyond block positions"
        );
        assert_eq!(
            shuffled,
            run(&blocks, shuffled_proposal(seed)),
            "SEED={seed}: replaying the proposer's blocks gives the same roots"
        );
    }
}

#[test]
fn shuffled_mempool_arrival_keeps_each_signers_records_in_sequence() {
    // Agencies recording about the same enterprises: the block order (and so the
    // timeline positions and the results root) depends on the proposer's mempool, but no
    // record is refused for its sequence, whatever order it arrived in.
    let blocks = workload(true);
    for seed in 0..8 {
        let shuffled = run(&blocks, shuffled_proposal(seed));
        for (h, (_, _, outcomes)) in shuffled.iter().enumerate() {
            for o in outcomes.values() {
                assert!(
                    !matches!(o, Outcome::Refused { rule, .. } if rule == "R0-sequence"),
                    "SEED={seed} height {}: {o:?}",
                    h + 1
                );
            }
        }
        assert_eq!(
            shuffled,
            run(&blocks, shuffled_proposal(seed)),
            "SEED={seed}: replaying the proposer's blocks gives the same roots"
        );
    }
}
