//! The values kept in state (layout in [`crate::keys`]).
//!
//! An [`EnterpriseState`] stays bounded: counters, the latest of each kind of finding, and
//! maps keyed by agency and licence number; its timeline of records lives in separate
//! [`RecordRef`] keys. Every summary keeps the id of the record behind it, so a rule that
//! reads it can name that record (DESIGN §5 "every change is traceable").

use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{InspectionOutcome, TxKind};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A signer's last committed sequence (DESIGN §3 "Submission semantics").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceState {
    /// The highest sequence committed for the signer (accepted or refused by a rule).
    pub sequence: u64,
    /// The transaction that carried it.
    pub tx_id: TxId,
    /// The height it was committed at.
    pub height: u64,
}

/// An enterprise as the ledger knows it (DESIGN §5: created on first sight, ids linked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseState {
    /// The enterprise's id.
    pub id: EnterpriseId,
    /// Name from the latest enterprise record by any agency.
    pub name: String,
    /// Address from the latest enterprise record by any agency.
    pub address: String,
    /// Union of the linked ids every agency reported (at most
    /// [`crate::RuleParams::max_linked_ids`]).
    pub linked_ids: BTreeSet<String>,
    /// Height of the enterprise record that created it.
    pub first_seen_height: u64,
    /// That record.
    pub first_seen_tx: TxId,
    /// What each agency recorded about the enterprise, by agency id.
    pub agencies: BTreeMap<String, AgencyEntry>,
    /// Licences by licence number.
    pub licences: BTreeMap<String, LicenceState>,
    /// Inspection counters.
    pub inspections: InspectionSummary,
    /// Penalty counters.
    pub penalties: PenaltySummary,
    /// Accident counters.
    pub accidents: AccidentSummary,
    /// Accepted records on the timeline (`erec/` keys 0..record_count).
    pub record_count: u64,
}

/// One agency's enterprise record(s) about an enterprise: its ids held at that agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyEntry {
    /// The name in the agency's latest enterprise record.
    pub name: String,
    /// The address in the agency's latest enterprise record.
    pub address: String,
    /// Every linked id the agency reported, merged.
    pub linked_ids: BTreeSet<String>,
    /// The agency's latest enterprise record.
    pub last_record: TxId,
}

/// Status of a licence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Granted or renewed and not since suspended or revoked. (Expiry is judged against
    /// block time by whoever reads `valid_until`; the status does not change by itself.)
    Active,
    /// Suspended until a renewal or a new grant.
    Suspended,
    /// Revoked; only a new grant restores it.
    Revoked,
    /// An application refused while no licence under that number existed.
    Denied,
}

/// One licence of an enterprise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceState {
    /// Licence type, from the latest grant or renewal (or the denial).
    pub licence_type: String,
    /// Current status.
    pub status: LicenceStatus,
    /// Start of the current term (`None` for a denial).
    pub valid_from: Option<Timestamp>,
    /// End of the current term (`None` for a denial).
    pub valid_until: Option<Timestamp>,
    /// The decision that set the current status.
    pub last_decision: TxId,
    /// The licensing agency: the only one whose decisions change this licence.
    pub agency: String,
}

/// Inspection counters of an enterprise, in recording order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionSummary {
    /// Inspections recorded.
    pub count: u64,
    /// Of which failed.
    pub failed: u64,
    /// Failed inspections since the last pass (a pass or pass-with-conditions resets it;
    /// an inspection without verdict leaves it).
    pub consecutive_failed: u32,
    /// `effective_at` of the latest inspection.
    pub last_inspection_at: Option<Timestamp>,
    /// Verdict of the latest inspection.
    pub last_outcome: Option<InspectionOutcome>,
    /// High-severity violations found by the latest inspection (the larger of its
    /// published count and its itemised list).
    pub open_high_violations: u32,
    /// The latest inspection.
    pub last_inspection: Option<TxId>,
}

/// Penalty counters of an enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltySummary {
    /// Penalties recorded.
    pub count: u64,
    /// Of which severe.
    pub severe: u64,
    /// `effective_at` of the latest penalty.
    pub last_penalty_at: Option<Timestamp>,
    /// The latest severe penalty.
    pub last_severe: Option<TxId>,
}

/// Accident counters of an enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccidentSummary {
    /// Accident reports recorded.
    pub count: u64,
    /// Deaths over all reports.
    pub deaths: u64,
    /// Serious injuries over all reports.
    pub serious_injuries: u64,
    /// `effective_at` of the latest report.
    pub last_accident_at: Option<Timestamp>,
    /// The latest report.
    pub last_report: Option<TxId>,
}

/// One accepted record on an enterprise's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Block height.
    pub height: u64,
    /// Position in the block (0-based).
    pub index: u32,
    /// The transaction.
    pub tx_id: TxId,
    /// Its kind.
    pub kind: TxKind,
    /// The submitting officer's agency.
    pub agency: String,
    /// When the act happened.
    pub effective_at: Timestamp,
}
