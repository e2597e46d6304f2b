//! Test fixtures: a three-agency genesis, officer keys and signed transactions built with
//! core's APIs.

use crate::executor::{BlockContext, Executor};
use rand::SeedableRng;
use safeledger_core::genesis::{Agency, ConsensusParams};
use safeledger_core::hash::{Domain, Hash};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    AccidentLevel, AccidentReport, EnterpriseRecord, InspectionOutcome, InspectionRecord,
    LicenceDecision, LicenceDecisionKind, Penalty, PenaltyGrade, TxKind,
};
use safeledger_core::{Genesis, SecretKey, Timestamp, Transaction, TxBody, TxPayload};
use std::collections::BTreeMap;

pub const CHAIN: &str = "safeledger-test";

/// Emergency management (every kind): officers 0 and 1.
pub const EM: &str = "em";
/// Fire and rescue (enterprise records, inspections, penalties): officer 2.
pub const FIRE: &str = "fire";
/// Market supervision (enterprise records, licences and applications, inspections,
/// penalties): officer 3.
pub const MARKET: &str = "market";

/// Officer key `n` (0, 1: em; 2: fire; 3: market; 9: nobody's).
pub fn officer(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n + 1; 32])
}

pub fn genesis() -> Genesis {
    let agency = |id: &str, role: &str, node: u8, officers: &[u8]| Agency {
        id: id.into(),
        name: id.to_uppercase(),
        role: role.into(),
        node_key: SecretKey::from_bytes(&[node; 32]).public(),
        officer_keys: officers.iter().map(|&n| officer(n).public()).collect(),
        p2p_addr: "/ip4/127.0.0.1/tcp/1".into(),
        grpc_addr: "http://127.0.0.1:2".into(),
        tls_cert: String::new(),
        power: 1,
    };
    let mut roles = BTreeMap::new();
    roles.insert("emergency_management".into(), TxKind::ALL.to_vec());
    let common = [
        TxKind::EnterpriseRecord,
        TxKind::InspectionRecord,
        TxKind::Penalty,
        TxKind::RectificationReport,
        TxKind::PenaltyClearance,
        TxKind::Correction,
        TxKind::AppealOutcome,
        TxKind::OfficerAction,
        TxKind::AssistanceRequest,
        TxKind::AssistanceResponse,
        TxKind::GovernanceProposal,
        TxKind::GovernanceVote,
        TxKind::AccessRequest,
        TxKind::AccessGrant,
        TxKind::PrivateRead,
        TxKind::DrawOpen,
        TxKind::AssessorAction,
        TxKind::AssessmentReport,
        TxKind::MonitorRegistration,
        TxKind::EvidenceAttachment,
        TxKind::TipFollowUp,
    ];
    roles.insert("fire_rescue".into(), common.to_vec());
    let mut market = common.to_vec();
    market.push(TxKind::LicenceDecision);
    market.push(TxKind::LicenceApplication);
    market.push(TxKind::ApplicationStep);
    roles.insert("market_supervision".into(), market);
    let g = Genesis {
        chain_id: CHAIN.into(),
        genesis_time: day(0),
        agencies: vec![
            agency(EM, "emergency_management", 100, &[0, 1]),
            agency(FIRE, "fire_rescue", 101, &[2]),
            agency(MARKET, "market_supervision", 102, &[3]),
        ],
        roles,
        consensus: ConsensusParams::default(),
        auditors: Vec::new(),
    };
    g.validate().expect("test genesis is valid");
    g
}

pub fn executor() -> Executor {
    Executor::new(&genesis())
}

/// Midnight of 2020-01-01 plus `n` days.
pub fn day(n: u64) -> Timestamp {
    Timestamp::from_ymd(2020, 1, 1).unwrap().plus_days(n)
}

/// Block `height` at day 1000 + height.
pub fn ctx(height: u64) -> BlockContext {
    BlockContext {
        height,
        time: day(1000 + height),
    }
}

pub fn ent(n: u32) -> EnterpriseId {
    EnterpriseId::parse(&format!("test:{n}")).unwrap()
}

/// A distinct hash per `n`, for results that need no real transaction.
pub fn tx_id_of(n: u8) -> Hash {
    Domain::Transaction.hash(&[n])
}

/// `body` signed by `keys` (the first submits) with `sequence`, effective at `at`.
pub fn signed(keys: &[&SecretKey], sequence: u64, at: Timestamp, body: TxBody) -> Transaction {
    let mut rng = rand::rngs::StdRng::seed_from_u64(sequence);
    Transaction::sign(TxPayload::new(CHAIN, sequence, at, body, &mut rng), keys)
}

/// `body` by officer `n` alone, effective at day 900.
pub fn by(n: u8, sequence: u64, body: TxBody) -> Transaction {
    signed(&[&officer(n)], sequence, day(900), body)
}

pub fn enterprise_record(id: u32, name: &str, linked: &[&str]) -> TxBody {
    TxBody::EnterpriseRecord(EnterpriseRecord {
        enterprise: ent(id),
        name: name.into(),
        address: "1 Main St".into(),
        linked_ids: linked.iter().map(|s| s.to_string()).collect(),
    })
}

pub fn licence(
    id: u32,
    number: &str,
    kind: LicenceDecisionKind,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
) -> TxBody {
    TxBody::LicenceDecision(LicenceDecision {
        enterprise: ent(id),
        licence_number: number.into(),
        licence_type: "Retail Food".into(),
        kind,
        valid_from: from,
        valid_until: until,
        industry: None,
        reason: "test".into(),
        applied_at: None,
        application: None,
    })
}

pub fn inspection(id: u32, inspection_id: &str, outcome: InspectionOutcome) -> TxBody {
    TxBody::InspectionRecord(InspectionRecord {
        enterprise: ent(id),
        inspection_id: inspection_id.into(),
        inspection_type: "routine".into(),
        outcome,
        score: None,
        violation_counts: [0, 0, 0],
        violations: vec![],
        follow_up_of: None,
    })
}

pub fn penalty(id: u32, case_id: &str, grade: PenaltyGrade) -> TxBody {
    TxBody::Penalty(Penalty {
        enterprise: ent(id),
        case_id: case_id.into(),
        grade,
        kind: "fine".into(),
        amount_minor: Some(10_000),
        currency: Some("CNY".into()),
        reason: "test".into(),
    })
}

pub fn accident(id: u32, report_id: &str, deaths: u32, injuries: u32) -> TxBody {
    TxBody::AccidentReport(AccidentReport {
        enterprise: ent(id),
        report_id: report_id.into(),
        category: "fatality".into(),
        deaths,
        serious_injuries: injuries,
        direct_loss_minor: None,
        currency: None,
        location: "site".into(),
        description: "test".into(),
        level: AccidentLevel::classify(deaths, injuries, None, None),
        concealed: false,
    })
}

/// A chain in memory: state, executor, per-officer sequences and the height.
pub struct Chain {
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
    pub exec: Executor,
    pub height: u64,
    /// Block `h` runs at `day(base + h)`.
    pub base: u64,
    seq: BTreeMap<u8, u64>,
}

impl Default for Chain {
    fn default() -> Self {
        Chain::new()
    }
}

impl Chain {
    /// Empty state under the test genesis.
    pub fn new() -> Chain {
        Chain {
            state: BTreeMap::new(),
            exec: executor(),
            height: 0,
            base: 3000,
            seq: BTreeMap::new(),
        }
    }

    /// `body` signed by `officers` (the first submits, with its next sequence), effective
    /// at `day(at)`.
    pub fn tx(&mut self, officers: &[u8], at: u64, body: TxBody) -> Transaction {
        let s = self.seq.entry(officers[0]).or_insert(0);
        *s += 1;
        let keys: Vec<SecretKey> = officers.iter().map(|&n| officer(n)).collect();
        let refs: Vec<&SecretKey> = keys.iter().collect();
        signed(&refs, *s, day(at), body)
    }

    /// Executes the next block at `time` and applies its writes.
    pub fn block_at(&mut self, time: Timestamp, txs: &[Transaction]) -> Vec<crate::Outcome> {
        self.height += 1;
        let ctx = BlockContext {
            height: self.height,
            time,
        };
        let out = self.exec.execute_block(&self.state, &ctx, txs);
        for (k, v) in out.writes {
            match v {
                Some(v) => self.state.insert(k, v),
                None => self.state.remove(&k),
            };
        }
        out.results.into_iter().map(|r| r.outcome).collect()
    }

    /// Executes the next block at `day(base + height)`.
    pub fn run(&mut self, txs: &[Transaction]) -> Vec<crate::Outcome> {
        let t = day(self.base + 1 + self.height);
        self.block_at(t, txs)
    }

    /// One transaction in its own block; its outcome.
    pub fn one(&mut self, officers: &[u8], at: u64, body: TxBody) -> crate::Outcome {
        let tx = self.tx(officers, at, body);
        self.run(&[tx]).remove(0)
    }

    /// One transaction that must be accepted; returns it.
    pub fn ok(&mut self, officers: &[u8], at: u64, body: TxBody) -> Transaction {
        let tx = self.tx(officers, at, body);
        let out = self.run(std::slice::from_ref(&tx)).remove(0);
        assert_eq!(
            out,
            crate::Outcome::Accepted,
            "{:?}",
            tx.payload.body.kind()
        );
        tx
    }

    /// The enterprise `n`.
    pub fn ent(&self, n: u32) -> crate::EnterpriseState {
        crate::query::enterprise(&self.state, &ent(n)).expect("enterprise exists")
    }
}

/// The rule of a refusal (`None` when accepted).
pub fn rule_of(o: &crate::Outcome) -> Option<&str> {
    match o {
        crate::Outcome::Accepted => None,
        crate::Outcome::Refused { rule, .. } => Some(rule),
    }
}

/// The reason of a refusal.
pub fn reason_of(o: &crate::Outcome) -> &str {
    match o {
        crate::Outcome::Accepted => panic!("accepted, expected a refusal"),
        crate::Outcome::Refused { reason, .. } => reason,
    }
}
