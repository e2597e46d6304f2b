//! Sensor alerts, public tip-offs and evidence attachments (issue 20 items 4–6).

use crate::model::RiskLevel;
use crate::monitoring::R0_MONITOR;
use crate::query::tasks::{tasks_of, TaskKind};
use crate::testkit::*;
use crate::tips::R0_TIP;
use crate::{Outcome, RuleParams};
use safeledger_core::records::{
    AlertAck, EvidenceAttachment, EvidenceFile, InspectionOutcome, MonitorRegistration,
    SensorAlert, TipFollowUp, TipIntake, TipStatus, TxBody,
};
use safeledger_core::{Hash, SecretKey, Timestamp, Transaction};

const MIN: u64 = 60_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32])
}

fn registration(e: u32, gateway: &str, g: u8, k: u8) -> TxBody {
    TxBody::MonitorRegistration(MonitorRegistration {
        enterprise: ent(e),
        gateway_id: gateway.into(),
        gateway_key: key(g).public(),
        enterprise_key: key(k).public(),
    })
}

fn alert(e: u32, gateway: &str, id: &str) -> TxBody {
    TxBody::SensorAlert(SensorAlert {
        enterprise: ent(e),
        gateway_id: gateway.into(),
        alert_id: id.into(),
        device: "CH4-3".into(),
        measure: "methane_pct".into(),
        value: "1.6".into(),
        threshold: "1.5".into(),
        level: 3,
        observed_at: day(3990),
    })
}

fn ack(e: u32, alert: Hash) -> TxBody {
    TxBody::AlertAck(AlertAck {
        enterprise: ent(e),
        alert,
        note: "ventilation started".into(),
    })
}

/// One-key transactions with their own sequence per key.
struct Keys(std::collections::BTreeMap<u8, u64>);

impl Keys {
    fn tx(&mut self, k: u8, body: TxBody) -> Transaction {
        let s = self.0.entry(k).or_insert(0);
        *s += 1;
        signed(&[&key(k)], *s, day(3000), body)
    }
}

/// Fire records enterprise 1 and registers gateway GW-1 (key 50) and enterprise key 51.
fn monitored() -> (Chain, Keys) {
    let mut c = Chain::new();
    c.ok(&[2], 10, enterprise_record(1, "Coal Mine", &[]));
    c.ok(&[2], 10, registration(1, "GW-1", 50, 51));
    (c, Keys(Default::default()))
}

fn at(c: &mut Chain, t: Timestamp, tx: Transaction) -> Outcome {
    c.block_at(t, &[tx]).remove(0)
}

#[test]
fn registrations_are_checked() {
    let (mut c, _) = monitored();
    // Another agency may not replace fire's gateway.
    let o = c.one(&[3], 10, registration(1, "GW-1", 52, 51));
    assert_eq!(rule_of(&o), Some(R0_MONITOR), "{o:?}");
    assert!(reason_of(&o).contains("registered by fire"));
    // Not on the ledger.
    let o = c.one(&[2], 10, registration(9, "GW-9", 53, 54));
    assert_eq!(rule_of(&o), Some(R0_MONITOR));
    // A gateway key of enterprise 1 for another enterprise.
    c.ok(&[2], 10, enterprise_record(2, "Chemical Works", &[]));
    let o = c.one(&[2], 10, registration(2, "GW-2", 50, 55));
    assert_eq!(rule_of(&o), Some(R0_MONITOR));
    // One key for both roles, or a key of small order, is out of bounds before any rule.
    assert!(registration(2, "GW-2", 56, 56).check_bounds().is_err());
    let TxBody::MonitorRegistration(mut weak) = registration(2, "GW-2", 56, 57) else {
        unreachable!()
    };
    weak.gateway_key = safeledger_core::PublicKey([0; 32]);
    assert!(TxBody::MonitorRegistration(weak).check_bounds().is_err());
    // An officer's or an agency node's key is not a monitoring key.
    let TxBody::MonitorRegistration(mut r) = registration(2, "GW-2", 56, 57) else {
        unreachable!()
    };
    r.gateway_key = officer(3).public();
    let o = c.one(&[2], 10, TxBody::MonitorRegistration(r.clone()));
    assert_eq!(rule_of(&o), Some(R0_MONITOR), "{o:?}");
    r.gateway_key = key(101).public();
    let o = c.one(&[2], 10, TxBody::MonitorRegistration(r));
    assert!(reason_of(&o).contains("agency node"), "{o:?}");
    // Fire replaces its gateway's key: the old key no longer signs.
    c.ok(&[2], 10, registration(1, "GW-1", 57, 51));
    let mut k = Keys(Default::default());
    let t = day(4000);
    let o = at(&mut c, t, k.tx(50, alert(1, "GW-1", "A-1")));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_SIGNER), "{o:?}");
    assert_eq!(
        at(&mut c, t, k.tx(57, alert(1, "GW-1", "A-1"))),
        Outcome::Accepted
    );
}

#[test]
fn an_acknowledged_alert_does_not_escalate() {
    let (mut c, mut k) = monitored();
    let t = day(4000);
    // An unregistered key, and the enterprise key signing an alert.
    let o = at(&mut c, t, k.tx(60, alert(1, "GW-1", "A-1")));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_SIGNER));
    let o = at(&mut c, t, k.tx(51, alert(1, "GW-1", "A-1")));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_SIGNER));
    let raised = k.tx(50, alert(1, "GW-1", "A-1"));
    let id = raised.id();
    assert_eq!(at(&mut c, t, raised), Outcome::Accepted);
    let o = at(&mut c, t, k.tx(50, alert(1, "GW-1", "A-1")));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_DUPLICATE));
    // A reading from the future.
    let TxBody::SensorAlert(mut future) = alert(1, "GW-1", "A-F") else {
        unreachable!()
    };
    future.observed_at = day(4001);
    let o = at(&mut c, t, k.tx(50, TxBody::SensorAlert(future)));
    assert_eq!(rule_of(&o), Some(R0_MONITOR), "{o:?}");
    // The gateway cannot acknowledge; the enterprise can, once.
    let o = at(&mut c, Timestamp(t.0 + MIN), k.tx(50, ack(1, id)));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_SIGNER));
    assert_eq!(
        at(&mut c, Timestamp(t.0 + 4 * MIN), k.tx(51, ack(1, id))),
        Outcome::Accepted
    );
    let o = at(&mut c, Timestamp(t.0 + 4 * MIN), k.tx(51, ack(1, id)));
    assert_eq!(rule_of(&o), Some(R0_MONITOR));
    c.block_at(Timestamp(t.0 + 10 * MIN), &[]);
    let st = crate::monitoring::alert(&c.state, &id).unwrap();
    assert_eq!(st.escalated, None);
    assert!(st.acked.is_some_and(|(_, _, late)| !late));
    assert!(c.ent(1).alert_escalations.is_empty());
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Green);
}

#[test]
fn a_gateway_raises_at_most_the_governed_alerts_an_hour() {
    let (mut c, mut k) = monitored();
    let mut p = RuleParams::load(&c.state, &RuleParams::default());
    p.set("max_alerts_per_gateway_hour", "2").unwrap();
    c.state.insert(
        crate::keys::PARAMS.to_vec(),
        safeledger_core::to_canonical(&p),
    );
    let t = day(4000);
    for id in ["R-1", "R-2"] {
        assert_eq!(
            at(&mut c, t, k.tx(50, alert(1, "GW-1", id))),
            Outcome::Accepted
        );
    }
    let o = at(
        &mut c,
        Timestamp(t.0 + 59 * MIN),
        k.tx(50, alert(1, "GW-1", "R-3")),
    );
    assert_eq!(rule_of(&o), Some(R0_MONITOR), "{o:?}");
    assert!(
        reason_of(&o).contains("max_alerts_per_gateway_hour"),
        "{o:?}"
    );
    // The next hour counts afresh.
    let o = at(
        &mut c,
        Timestamp(t.0 + 61 * MIN),
        k.tx(50, alert(1, "GW-1", "R-3")),
    );
    assert_eq!(o, Outcome::Accepted);
}

#[test]
fn an_unacknowledged_alert_escalates_raises_risk_and_lapses() {
    let (mut c, mut k) = monitored();
    let t = day(4000);
    let raised = k.tx(50, alert(1, "GW-1", "A-2"));
    let id = raised.id();
    assert_eq!(at(&mut c, t, raised), Outcome::Accepted);
    // At the deadline itself the enterprise is still on time.
    c.block_at(Timestamp(t.0 + 5 * MIN), &[]);
    assert!(c.ent(1).alert_escalations.is_empty());
    c.block_at(Timestamp(t.0 + 5 * MIN + 1), &[]);
    let e = c.ent(1);
    assert_eq!(e.alert_escalations.len(), 1);
    assert_eq!(e.alert_escalations[0].alert, id);
    assert_eq!(e.assessment.risk, RiskLevel::Yellow);
    assert!(e.assessment.risk_basis.contains(&id));
    assert!(e.assessment.risk_reason.contains("sensor alert"));
    // The supervising agency's inbox holds the follow-up, closed by its next inspection.
    let params = RuleParams::default();
    let tasks = tasks_of(&c.state, &crate::keys::enterprise(&ent(1)), &[], &params);
    assert!(tasks
        .iter()
        .any(|x| x.kind == TaskKind::AlertFollowUp && x.agency == FIRE && x.source == id));
    // A late acknowledgement is recorded as late and undoes nothing.
    assert_eq!(
        at(&mut c, Timestamp(t.0 + 6 * MIN), k.tx(51, ack(1, id))),
        Outcome::Accepted
    );
    assert!(crate::monitoring::alert(&c.state, &id)
        .unwrap()
        .acked
        .is_some_and(|(_, _, late)| late));
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Yellow);
    let insp = c.tx(&[2], 4000, inspection(1, "I-1", InspectionOutcome::Pass));
    assert_eq!(
        at(&mut c, Timestamp(t.0 + 7 * MIN), insp),
        Outcome::Accepted
    );
    let tasks = tasks_of(&c.state, &crate::keys::enterprise(&ent(1)), &[], &params);
    assert!(!tasks.iter().any(|x| x.kind == TaskKind::AlertFollowUp));
    // The raise lasts alert_escalation_days.
    c.block_at(day(4029), &[]);
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Yellow);
    c.block_at(day(4031), &[]);
    assert_eq!(c.ent(1).assessment.risk, RiskLevel::Green);
}

fn tip(id: &str, agency: &str, files: Vec<EvidenceFile>) -> TxBody {
    TxBody::TipIntake(TipIntake {
        tip_id: safeledger_core::records::tip::tip_id_of_receipt(id),
        agency: agency.into(),
        enterprise: Some(ent(1)),
        address: String::new(),
        description: String::new(),
        evidence: files,
    })
}

fn follow(receipt: &str, status: TipStatus, reward: Option<u32>) -> TxBody {
    TxBody::TipFollowUp(TipFollowUp {
        tip_id: safeledger_core::records::tip::tip_id_of_receipt(receipt),
        status,
        note: "inspected on site".into(),
        reward_yuan: reward,
        claimant_name: String::new(),
    })
}

fn file(n: u8) -> EvidenceFile {
    EvidenceFile {
        hash: Hash([n; 32]),
        bytes: 1000,
        media_type: "image/jpeg".into(),
        name: format!("photo-{n}.jpg"),
    }
}

#[test]
fn tips_are_taken_in_by_a_validator_node_and_followed_up_by_its_agency() {
    let (mut c, mut k) = monitored();
    let t = day(4000);
    // Fire's node key is 101: it may take tips for fire only.
    let o = at(&mut c, t, k.tx(101, tip("R-1", EM, vec![])));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_SIGNER));
    let o = at(&mut c, t, k.tx(60, tip("R-1", FIRE, vec![])));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_SIGNER));
    assert_eq!(
        at(&mut c, t, k.tx(101, tip("R-1", FIRE, vec![file(1)]))),
        Outcome::Accepted
    );
    let o = at(&mut c, t, k.tx(101, tip("R-1", FIRE, vec![])));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_DUPLICATE));
    let tip_id = safeledger_core::records::tip::tip_id_of_receipt("R-1");
    let st = crate::tips::get(&c.state, &tip_id).unwrap();
    assert_eq!(st.triage_due, day(4007));
    let tasks = tasks_of(
        &c.state,
        &[crate::tips::PREFIX, tip_id.as_bytes()].concat(),
        &[],
        &RuleParams::default(),
    );
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, TaskKind::TipTriage);
    assert_eq!(tasks[0].due, Some(day(4007)));
    // Tip evidence stays with fire.
    assert!(crate::attachments::entitled(&c.state, FIRE, &Hash([1; 32])).is_some());
    assert!(crate::attachments::entitled(&c.state, MARKET, &Hash([1; 32])).is_none());
    // Market may not follow up fire's tip; no reward before verification.
    let o = c.one(&[3], 10, follow("R-1", TipStatus::Verified, None));
    assert_eq!(rule_of(&o), Some(R0_TIP));
    let o = c.one(
        &[2],
        10,
        follow("R-1", TipStatus::RewardDecided, Some(5000)),
    );
    assert_eq!(rule_of(&o), Some(R0_TIP));
    c.ok(&[2], 10, follow("R-1", TipStatus::UnderInvestigation, None));
    let tasks = tasks_of(
        &c.state,
        &[crate::tips::PREFIX, tip_id.as_bytes()].concat(),
        &[],
        &RuleParams::default(),
    );
    assert!(tasks.is_empty());
    c.ok(&[2], 10, follow("R-1", TipStatus::Verified, None));
    c.ok(
        &[2],
        10,
        follow("R-1", TipStatus::RewardDecided, Some(5000)),
    );
    let o = c.one(&[2], 10, follow("R-1", TipStatus::RewardDecided, Some(100)));
    assert_eq!(rule_of(&o), Some(R0_TIP));
    // Over 100,000 yuan is out of bounds.
    assert!(follow("R-1", TipStatus::RewardDecided, Some(100_001))
        .check_bounds()
        .is_err());
    // The tipster's view by receipt code.
    let s = crate::tips::public_status(&c.state, "R-1").unwrap();
    assert_eq!(s.status, "reward_decided");
    assert_eq!(s.follow_ups.len(), 3);
    assert_eq!(s.follow_ups[2].reward_yuan, Some(5000));
    assert!(crate::tips::public_status(&c.state, "R-2").is_none());
}

#[test]
fn evidence_is_attached_by_the_recording_agency_and_fetched_by_entitled_ones() {
    let (mut c, _) = monitored();
    let insp = c.ok(&[2], 20, inspection(1, "I-9", InspectionOutcome::Fail));
    let attach = |record: Hash, files: Vec<EvidenceFile>| {
        TxBody::EvidenceAttachment(EvidenceAttachment {
            enterprise: ent(1),
            record,
            files,
        })
    };
    // Not fire's to attach to for market; not an inspection; unknown record.
    let o = c.one(&[3], 20, attach(insp.id(), vec![file(7)]));
    assert_eq!(rule_of(&o), Some(crate::attachments::R0_EVIDENCE), "{o:?}");
    let o = c.one(&[2], 20, attach(Hash([9; 32]), vec![file(7)]));
    assert_eq!(rule_of(&o), Some(crate::rules::R0_REFERENCE));
    // Evidence dated before the inspection it documents.
    let o = c.one(&[2], 19, attach(insp.id(), vec![file(7)]));
    assert_eq!(rule_of(&o), Some(crate::attachments::R0_EVIDENCE), "{o:?}");
    let a = c.ok(&[2], 20, attach(insp.id(), vec![file(7), file(8)]));
    assert_eq!(
        crate::attachments::entitled(&c.state, FIRE, &Hash([7; 32]))
            .unwrap()
            .keeper,
        FIRE
    );
    assert!(crate::attachments::entitled(&c.state, MARKET, &Hash([7; 32])).is_none());
    assert!(crate::attachments::entitled(&c.state, MARKET, &Hash([6; 32])).is_none());
    // The sharing catalogue entitles market to fire's attachments.
    let mut p = RuleParams::load(&c.state, &RuleParams::default());
    p.set("sharing_catalogue.fire.evidence_attachment.files", "market")
        .unwrap();
    c.state.insert(
        crate::keys::PARAMS.to_vec(),
        safeledger_core::to_canonical(&p),
    );
    let l = crate::attachments::entitled(&c.state, MARKET, &Hash([8; 32])).unwrap();
    assert_eq!((l.keeper.as_str(), l.record), (FIRE, a.id()));
    assert!(crate::attachments::entitled(&c.state, EM, &Hash([8; 32])).is_none());
}
