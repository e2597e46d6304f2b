//! The values kept in state (layout in [`crate::keys`]).
//!
//! An [`EnterpriseState`] stays bounded: counters, the latest of each kind of finding, and
//! maps keyed by agency and licence number; its timeline of records lives in separate
//! [`RecordRef`] keys. Every summary keeps the id of the record behind it, so a rule that
//! reads it can name that record (DESIGN §5 "every change is traceable").

use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{AccidentLevel, InspectionOutcome, PenaltyGrade, TxKind};
use safeledger_core::{PublicKey, Timestamp, TxId};
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
    /// The agency whose enterprise record created it: the agency of this id, the one whose
    /// records make a link from it stand ([`crate::links`]).
    pub created_by: String,
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
    /// The dated findings rules read (R3, R5, R9), oldest first by effective date; pruned
    /// to the longest rule window ([`crate::RuleParams::history_months`]) but always
    /// keeping the latest inspections R5 counts.
    pub findings: Vec<Finding>,
    /// Blacklist listings (R2, R4), oldest first.
    pub listings: Vec<Listing>,
    /// Appeals lodged about the enterprise's records.
    pub appeals: Vec<AppealState>,
    /// Credit grade and risk level (R5, R9) as last recomputed.
    pub assessment: Assessment,
    /// Automatic escalations (R8) that fired.
    pub escalations: Vec<Escalation>,
    /// Sensor alerts not acknowledged in time ([`crate::monitoring`]), oldest first, at
    /// most [`crate::monitoring::MAX_KEPT_ESCALATIONS`].
    pub alert_escalations: Vec<AlertEscalation>,
}

/// A sensor alert the enterprise did not acknowledge in time ([`crate::monitoring`]): it
/// raises the risk level one step from `at` until `until` and asks the supervising agency
/// to follow up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEscalation {
    /// The alert (its transaction).
    pub alert: TxId,
    /// The supervising agency (the one that registered the gateway).
    pub agency: String,
    /// The alert's level, 1 to 3.
    pub level: u8,
    /// What crossed: `device measure value ≥ threshold`.
    pub what: String,
    /// Block height and time the escalation fired at.
    pub height: u64,
    /// Block time it fired at.
    pub at: Timestamp,
    /// The end of the raised risk level.
    pub until: Timestamp,
}

/// What happened to a finding since it was recorded (corrections and appeals, DESIGN §5:
/// the original stays on the ledger; rules follow the correction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Counts as recorded (or as amended).
    Standing,
    /// Withdrawn by this correction; no longer counts.
    Withdrawn(TxId),
    /// Set aside on appeal by this outcome; no longer counts.
    Overturned(TxId),
}

/// A hazard found by an inspection that needs rectification (DESIGN §5: general / major,
/// with a rectification deadline).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazard {
    /// The violation code.
    pub code: String,
    /// A major hazard (severity high).
    pub major: bool,
    /// Rectification deadline, if one was set.
    pub rectify_by: Option<Timestamp>,
    /// Rectified by this record (report or re-inspection) at its effective date.
    pub rectified: Option<(TxId, Timestamp)>,
    /// The deadline fell after the inspection was committed: an escalation (R5, R8) may
    /// fire for it. A deadline already past at commit is history (DESIGN §5 "Two clocks").
    pub live: bool,
    /// R8 escalated it.
    pub escalated: bool,
}

/// What a finding records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An inspection.
    Inspection {
        /// The agency's inspection id.
        inspection_id: String,
        /// Verdict.
        outcome: InspectionOutcome,
        /// Critical (high-severity) violations: the larger of the published count and the
        /// itemised list.
        critical: u32,
        /// Hazards needing rectification: the major ones and any with a deadline.
        hazards: Vec<Hazard>,
        /// The inspection this one follows up, if a re-inspection.
        follow_up_of: Option<String>,
    },
    /// A penalty.
    Penalty {
        /// The agency's case id.
        case_id: String,
        /// Grade.
        grade: PenaltyGrade,
        /// Cleared by the penalizing agency (R3): the clearance and its effective date.
        cleared: Option<(TxId, Timestamp)>,
    },
    /// An accident report.
    Accident {
        /// The agency's report id.
        report_id: String,
        /// Level by State Council Order 493 art. 3.
        level: AccidentLevel,
        /// Found concealed (R4).
        concealed: bool,
    },
}

/// One dated finding about an enterprise, with the record behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The record.
    pub tx_id: TxId,
    /// Its agency.
    pub agency: String,
    /// Its effective date.
    pub at: Timestamp,
    /// `YYYY-MM-DD` of `at`, for policies and people.
    pub date: String,
    /// Block time of its commit.
    pub committed_at: Timestamp,
    /// Standing, withdrawn or overturned.
    pub status: FindingStatus,
    /// An amending correction, when the content was replaced.
    pub amended_by: Option<TxId>,
    /// What it found.
    pub what: FindingKind,
}

impl Finding {
    /// True unless withdrawn or overturned.
    pub fn standing(&self) -> bool {
        self.status == FindingStatus::Standing
    }
}

/// A blacklist listing (R2, R4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The record that listed it (a blacklist entry, or the concealed accident, R4).
    pub tx_id: TxId,
    /// The listing agency.
    pub agency: String,
    /// Listed from (effective date).
    pub from: Timestamp,
    /// Listed until (exclusive): `from` + [`crate::RuleParams::blacklist_months`].
    pub until: Timestamp,
    /// Removal may be requested from here: `from` +
    /// [`crate::RuleParams::blacklist_removal_after_months`].
    pub removable_from: Timestamp,
    /// Removed by this record at its effective date (a removal or an overturned appeal).
    pub removed: Option<(TxId, Timestamp)>,
    /// Grounds.
    pub reason: String,
}

impl Listing {
    /// Listed at `t` (effective dates).
    pub fn active_at(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.until && self.removed.is_none_or(|(_, r)| t < r)
    }
}

/// An appeal and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealState {
    /// The recording agency.
    pub agency: String,
    /// Its appeal id.
    pub appeal_id: String,
    /// The appeal record.
    pub tx_id: TxId,
    /// The appealed record.
    pub target: TxId,
    /// The agency whose record is appealed (it records the outcome).
    pub target_agency: String,
    /// Lodged (effective date).
    pub lodged_at: Timestamp,
    /// The outcome record and verdict, once decided.
    pub outcome: Option<(TxId, safeledger_core::records::AppealVerdict)>,
}

/// Credit grade (R9), best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CreditGrade {
    /// No adverse record in the windows.
    A,
    /// A minor penalty or failed inspection in the last 12 months.
    B,
    /// A severe penalty, an accident of level larger or above, or a rectification rate
    /// under 80 % in the last 24 months.
    C,
    /// Blacklisted.
    D,
}

/// Risk level (R5, R9), lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Nothing below applies.
    Green,
    /// One failed inspection, or an open major hazard.
    Yellow,
    /// Two consecutive failed inspections, or an accident in the last 12 months.
    Orange,
    /// Three consecutive failed inspections, or a major hazard past its deadline (R5).
    Red,
}

impl RiskLevel {
    /// Position from green (0) to red (3): the index of the per-level tables
    /// (`RuleParams::routine_inspections_per_year`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// snake_case name, as in JSON and draw openings (`records::draw::RISK_LEVELS`).
    pub fn name(self) -> &'static str {
        safeledger_core::records::draw::RISK_LEVELS[self.index()]
    }

    /// One step higher (red stays red).
    pub fn raised(self) -> RiskLevel {
        match self {
            RiskLevel::Green => RiskLevel::Yellow,
            RiskLevel::Yellow => RiskLevel::Orange,
            RiskLevel::Orange | RiskLevel::Red => RiskLevel::Red,
        }
    }
}

/// The current credit grade and risk level with the records behind them (R9 "every change
/// is traceable to the records behind it").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Credit grade.
    pub credit: CreditGrade,
    /// Records that set the grade (empty for A).
    pub credit_basis: Vec<TxId>,
    /// Which condition set the grade.
    pub credit_reason: String,
    /// Risk level.
    pub risk: RiskLevel,
    /// Records that set the level (empty for green).
    pub risk_basis: Vec<TxId>,
    /// Which condition set the level.
    pub risk_reason: String,
    /// Days between routine inspections: [`crate::RuleParams::inspection_interval_days`],
    /// halved at red (R5 "red doubles the inspection frequency").
    pub inspection_interval_days: u64,
    /// The evaluation time (an effective date, or the block time of an escalation).
    pub at: Timestamp,
    /// The record or escalation that triggered the last recomputation.
    pub by: Option<TxId>,
    /// How many times grade or level changed.
    pub changes: u64,
}

impl Default for Assessment {
    fn default() -> Self {
        Assessment {
            credit: CreditGrade::A,
            credit_basis: Vec::new(),
            credit_reason: "no adverse record".into(),
            risk: RiskLevel::Green,
            risk_basis: Vec::new(),
            risk_reason: "no adverse record".into(),
            inspection_interval_days: 0,
            at: Timestamp(0),
            by: None,
            changes: 0,
        }
    }
}

/// An automatic escalation (R8: a rectification not reported by its deadline suspends the
/// licences).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// Block height and time it fired at.
    pub height: u64,
    /// Block time.
    pub at: Timestamp,
    /// The inspection whose hazard was not rectified.
    pub inspection: TxId,
    /// The hazard's code.
    pub code: String,
    /// Its deadline.
    pub due: Timestamp,
    /// Licences suspended, by number.
    pub suspended: Vec<String>,
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
    /// The agency's latest enterprise record that counts.
    pub last_record: TxId,
    /// The agency's enterprise records, oldest first, at most
    /// [`crate::rules::enterprise::MAX_RECORD_HISTORY`]; the fields above are recomputed
    /// from those not set aside when a correction withdraws or amends one.
    pub records: Vec<EnterpriseRecordEntry>,
    /// Linked ids of the agency's records dropped from the front of `records` (they can no
    /// longer be corrected).
    pub earlier_linked_ids: BTreeSet<String>,
}

/// One enterprise record as the rules count it ([`AgencyEntry::records`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseRecordEntry {
    /// The record.
    pub tx_id: TxId,
    /// Its position on the enterprise's timeline: the latest record that counts, by any
    /// agency, gives the enterprise its name and address.
    pub position: u64,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Linked ids.
    pub linked_ids: Vec<String>,
    /// The correction that withdrew it.
    pub set_aside: Option<TxId>,
    /// The amending correction whose content replaced the record's.
    pub amended_by: Option<TxId>,
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
    /// Industry code (GB/T 4754-2017 or foreign) from the latest decision naming one.
    pub industry: Option<String>,
    /// Suspended by an R8 escalation of this inspection rather than by a decision.
    pub escalated_by: Option<TxId>,
    /// The decisions (and R8 escalations) on this licence, oldest first, at most
    /// [`crate::rules::licence::MAX_LICENCE_HISTORY`]: the state above is `base` followed
    /// by every entry not set aside, so a correction or an overturning appeal of any of
    /// them recomputes it (DESIGN §5: "rules and queries follow the correction").
    pub history: Vec<LicenceEntry>,
    /// The licence as it stood after the decisions dropped from the front of `history`
    /// (they can no longer be corrected); `None` when none were dropped.
    pub base: Option<Box<LicenceState>>,
}

/// One decision on a licence as the rules count it ([`LicenceState::history`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceEntry {
    /// The decision (for an escalation: the inspection whose hazard went unrectified).
    pub tx_id: TxId,
    /// Its effective date (for an escalation: the block time it fired at).
    pub effective_at: Timestamp,
    /// What it decided (an escalation suspends).
    pub kind: safeledger_core::records::LicenceDecisionKind,
    /// The licence type it names.
    pub licence_type: String,
    /// The term (start, end) of a grant or renewal, as checked by R0-licence-term.
    pub term: Option<(Timestamp, Timestamp)>,
    /// The industry code it names.
    pub industry: Option<String>,
    /// An R8 escalation rather than a decision.
    pub escalation: bool,
    /// The correction or appeal outcome that set it aside: it no longer counts.
    pub set_aside: Option<TxId>,
    /// The amending correction whose content replaced the decision's.
    pub amended_by: Option<TxId>,
}

impl LicenceState {
    /// The status at block time `now`: an active licence whose term ended before `now` is
    /// expired (DESIGN §5 "Two clocks": expiry runs against the present).
    pub fn status_at(&self, now: Timestamp) -> LicenceStatusAt {
        match self.status {
            LicenceStatus::Active if self.valid_until.is_some_and(|u| u < now) => {
                LicenceStatusAt::Expired
            }
            LicenceStatus::Active => LicenceStatusAt::Active,
            LicenceStatus::Suspended => LicenceStatusAt::Suspended,
            LicenceStatus::Revoked => LicenceStatusAt::Revoked,
            LicenceStatus::Denied => LicenceStatusAt::Denied,
        }
    }
}

/// A licence's status as seen at a block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatusAt {
    /// In force.
    Active,
    /// Its term ended.
    Expired,
    /// Suspended.
    Suspended,
    /// Revoked.
    Revoked,
    /// Only denied.
    Denied,
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
    /// Every signer (the submitting officer first): who decided (issue 4 part 4).
    pub signers: Vec<PublicKey>,
    /// A later correction or overturning appeal outcome that changed how it counts.
    pub corrected_by: Option<TxId>,
}

/// Where a record lives: the enterprise and its timeline position (`rec/` keys), so that
/// corrections and appeals can name any record by transaction id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordLocation {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// Position on its timeline.
    pub index: u64,
}
