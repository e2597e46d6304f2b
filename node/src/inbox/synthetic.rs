//! Synthetic enterprises for the inbox's tests and its latency example
//! (`examples/inbox_latency.rs`): state as the rules would leave it, written straight into
//! a store.

use safeledger_contracts::model::{
    Assessment, EnterpriseState, Finding, FindingKind, FindingStatus, Hazard, LicenceState,
    LicenceStatus,
};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::InspectionOutcome;
use safeledger_core::{Hash, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// A day, ms.
pub const DAY: u64 = 86_400_000;

/// Enterprise `i` (`bench:<i, 8 digits>`) at time `now` (ms): one active licence of
/// `agency-a` ending 1–59 days after `now`, and for every tenth a major hazard of
/// `agency-a` awaiting rectification 0–29 days after `now`.
pub fn enterprise(i: u64, now: u64) -> EnterpriseState {
    let tx = Hash([(i % 251) as u8; 32]);
    let id = EnterpriseId::parse(&format!("bench:{i:08}")).expect("id");
    let mut licences = BTreeMap::new();
    licences.insert(
        format!("L{i}"),
        LicenceState {
            licence_type: "food".into(),
            status: LicenceStatus::Active,
            valid_from: Some(Timestamp(now - 300 * DAY)),
            valid_until: Some(Timestamp(now + (i % 59 + 1) * DAY)),
            last_decision: tx,
            agency: "agency-a".into(),
            industry: None,
            escalated_by: None,
            history: Vec::new(),
            base: None,
        },
    );
    let findings = if i.is_multiple_of(10) {
        vec![Finding {
            tx_id: tx,
            agency: "agency-a".into(),
            at: Timestamp(now - DAY),
            date: String::new(),
            committed_at: Timestamp(now - DAY),
            status: FindingStatus::Standing,
            amended_by: None,
            what: FindingKind::Inspection {
                inspection_id: format!("I{i}"),
                outcome: InspectionOutcome::PassWithConditions,
                critical: 1,
                hazards: vec![Hazard {
                    code: "H1".into(),
                    major: true,
                    rectify_by: Some(Timestamp(now + (i % 30) * DAY)),
                    rectified: None,
                    live: true,
                    escalated: false,
                }],
                follow_up_of: None,
            },
        }]
    } else {
        Vec::new()
    };
    EnterpriseState {
        id,
        name: format!("Enterprise {i}"),
        address: String::new(),
        linked_ids: BTreeSet::new(),
        first_seen_height: 1,
        first_seen_tx: tx,
        created_by: "agency-a".into(),
        agencies: BTreeMap::new(),
        licences,
        inspections: Default::default(),
        penalties: Default::default(),
        accidents: Default::default(),
        record_count: 0,
        findings,
        listings: Vec::new(),
        appeals: Vec::new(),
        assessment: Assessment::default(),
        escalations: Vec::new(),
        alert_escalations: Vec::new(),
    }
}

/// Writes enterprises `0..n` into `store`'s committed state.
pub fn fill(store: &crate::store::Store, n: u64, now: u64) -> Result<(), sled::Error> {
    let db = store.db();
    for i in 0..n {
        let e = enterprise(i, now);
        let mut k = b"s/ent/".to_vec();
        k.extend_from_slice(e.id.as_str().as_bytes());
        db.insert(k, safeledger_core::encoding::to_canonical(&e))?;
    }
    Ok(())
}
