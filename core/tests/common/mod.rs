//! A synthetic certified chain for view tests and benchmarks: a four-validator genesis,
//! block 1 with `n` penalty records, block 2 certifying block 1's results, and views of
//! block 1's transactions.
#![allow(dead_code)]

use rand::SeedableRng;
use safeledger_core::block::{tx_leaves, CommitCertificate, Header, HEADER_VERSION};
use safeledger_core::consensus::{Vote, VoteType};
use safeledger_core::genesis::{Agency, ConsensusParams};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::merkle::{root, CompactRange};
use safeledger_core::records::{Penalty, PenaltyGrade, TxKind};
use safeledger_core::result::results_root;
use safeledger_core::view::{build_view, Checkpoint, View, ViewSource};
use safeledger_core::{
    Genesis, Hash, Outcome, SecretKey, Timestamp, Transaction, TxBody, TxPayload, TxResult,
};
use std::collections::BTreeMap;

pub const CHAIN: &str = "view-test";

pub fn validator_key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[10 + i; 32])
}

pub fn officer_key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[50 + i; 32])
}

pub fn genesis() -> Genesis {
    let mut roles = BTreeMap::new();
    roles.insert("all".to_string(), TxKind::ALL.to_vec());
    Genesis {
        chain_id: CHAIN.into(),
        genesis_time: Timestamp(1_000),
        agencies: (0..4u8)
            .map(|i| Agency {
                id: format!("agency-{i}"),
                name: format!("Agency {i}"),
                role: "all".into(),
                node_key: validator_key(i).public(),
                officer_keys: vec![officer_key(i).public()],
                p2p_addr: String::new(),
                grpc_addr: String::new(),
                tls_cert: String::new(),
                power: 1,
            })
            .collect(),
        roles,
        consensus: ConsensusParams::default(),
        auditors: Vec::new(),
    }
}

pub fn penalty(seq: u64) -> Transaction {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seq);
    let body = TxBody::Penalty(Penalty {
        enterprise: EnterpriseId::parse("us-osha-insp:7").unwrap(),
        case_id: format!("case-{seq}"),
        grade: PenaltyGrade::Severe,
        kind: "fine".into(),
        amount_minor: Some(1_000 * seq),
        currency: Some("CNY".into()),
        reason: format!("reason {seq}"),
    });
    let p = TxPayload::new(CHAIN, seq, Timestamp(500), body, &mut rng);
    Transaction::sign(p, &[&officer_key(0)])
}

pub fn certify(h: &Header, signers: &[u8]) -> CommitCertificate {
    let votes: Vec<Vote> = signers
        .iter()
        .map(|i| {
            Vote::new(
                CHAIN,
                &validator_key(*i),
                h.height,
                0,
                VoteType::Precommit,
                Some(h.hash()),
            )
        })
        .collect();
    CommitCertificate::from_votes(h.height, 0, h.hash(), &votes)
}

/// Block 1 with `n` transactions, header 2 (results of block 1) and its certificate.
pub struct Chain {
    pub genesis: Genesis,
    pub txs: Vec<Transaction>,
    pub leaves: Vec<Hash>,
    pub results: Vec<TxResult>,
    pub h1: Header,
    pub h2: Header,
    pub cert2: CommitCertificate,
}

impl Chain {
    pub fn new(n: u64) -> Chain {
        Chain::of((1..=n).map(penalty).collect())
    }

    /// Block 1 holding `txs`.
    pub fn of(txs: Vec<Transaction>) -> Chain {
        let genesis = genesis();
        let vals = genesis.validator_set();
        let n = txs.len() as u64;
        let leaves = tx_leaves(&txs);
        let mut ledger = CompactRange::default();
        for l in &leaves {
            ledger.append(*l);
        }
        let results: Vec<TxResult> = txs
            .iter()
            .enumerate()
            .map(|(i, t)| TxResult {
                tx_id: t.id(),
                outcome: if i % 3 == 2 {
                    Outcome::Refused {
                        rule: "R2".into(),
                        reason: "blacklisted".into(),
                    }
                } else {
                    Outcome::Accepted
                },
            })
            .collect();
        let h1 = Header {
            version: HEADER_VERSION,
            chain_id: CHAIN.into(),
            height: 1,
            time: Timestamp(2_000),
            prev_hash: genesis.hash(),
            tx_root: root(&leaves),
            tx_count: n as u32,
            ledger_root: ledger.root(),
            ledger_size: ledger.size,
            state_root: Hash::ZERO,
            results_root: results_root(&[]),
            validators_hash: vals.hash(),
            next_validators_hash: vals.hash(),
            proposer: validator_key(0).public(),
        };
        let h2 = Header {
            height: 2,
            time: Timestamp(3_000),
            prev_hash: h1.hash(),
            tx_root: root(&[]),
            tx_count: 0,
            results_root: results_root(&results),
            proposer: validator_key(1).public(),
            ..h1.clone()
        };
        let cert2 = certify(&h2, &[0, 1, 2]);
        Chain {
            genesis,
            txs,
            leaves,
            results,
            h1,
            h2,
            cert2,
        }
    }

    pub fn view(&self, index: usize, reveal: &[&str]) -> View {
        self.try_view(index, reveal, &[]).expect("view")
    }

    /// The view of transaction `index` built by a source that erased the withheld fields
    /// `erased`.
    pub fn try_view(
        &self,
        index: usize,
        reveal: &[&str],
        erased: &[&str],
    ) -> Result<View, safeledger_core::view::BuildError> {
        let src = ViewSource {
            tx: &self.txs[index],
            block_header: &self.h1,
            index: index as u32,
            block_leaves: &self.leaves,
            results: &self.results,
            result_header: &self.h2,
            certificate: &self.cert2,
            validator_path: vec![],
            ledger: None,
            private: vec![],
            erased: erased.iter().map(|s| s.to_string()).collect(),
        };
        let reveal: Vec<String> = reveal.iter().map(|s| s.to_string()).collect();
        build_view(&src, &reveal)
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::new(self.h2.clone(), self.cert2.clone(), vec![])
    }
}
