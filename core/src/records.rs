//! The regulator's records (DESIGN §5): what a transaction body says.
//!
//! Each record names the enterprise it is about by [`EnterpriseId`]. Amounts are integers
//! in minor units (cents, fen); dates are [`Timestamp`]s. [`TxBody::fields`] lists the
//! record's fields as (name, canonical value bytes) for field commitments (DESIGN §4).
//!
//! Canonical encoding is postcard: enums stay externally tagged and new kinds and variants
//! are appended, never inserted, so that earlier encodings keep their meaning.
//! [`lifecycle`] holds the follow-up records (rectification, clearance, blacklist,
//! correction, appeal, accident level); [`admin`] the records about the network itself
//! (officers, assistance, governance); `bounds` the stateless field checks
//! ([`TxBody::check_bounds`]).

pub mod admin;
pub mod assessor;
pub mod attachment;
pub mod draw;
pub mod identity;
pub mod joint;
mod kind;
pub mod lifecycle;
pub mod monitoring;
pub mod tip;

pub use bounds::{is_agency_id, is_iso_4217, is_role_name};
pub use kind::TxKind;

pub use assessor::{AssessmentReport, AssessorAction, AssessorActionKind};
pub use attachment::{EvidenceAttachment, EvidenceFile};
pub use draw::{DrawBeacon, DrawBeaconStep, DrawExpert, DrawInspector, DrawOpen};
pub use joint::{JointInspection, JointSection};
pub use monitoring::{AlertAck, MonitorRegistration, SensorAlert};
pub use tip::{TipFollowUp, TipIntake, TipStatus};

pub use admin::{
    AccessGrant, AccessRequest, AssistanceRequest, AssistanceResponse, DecisionProposal,
    DecisionSignature, GovernanceAction, GovernanceProposal, GovernanceVote, OfficerAction,
    OfficerActionKind, PolicySpec, PolicyTest, PrivateRead, ValidatorEvidence, MAX_OFFICER_ROLES,
};
pub use lifecycle::{
    AccidentLevel, Appeal, AppealOutcome, AppealTarget, AppealVerdict, BlacklistAction,
    BlacklistActionKind, Correction, CorrectionAction, PenaltyClearance, RectificationReport,
};

use crate::ids::EnterpriseId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An enterprise as one agency knows it: created on first sight, later records update it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseRecord {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// Registered (legal) name.
    pub name: String,
    /// Street address, city, postcode as one line.
    pub address: String,
    /// Other ids the same enterprise holds at other agencies (`namespace:local`).
    pub linked_ids: Vec<String>,
}

/// What a licence decision decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceDecisionKind {
    /// A new licence term.
    Grant,
    /// An application refused.
    Deny,
    /// A further term of an existing licence.
    Renew,
    /// Suspended until further notice.
    Suspend,
    /// Revoked.
    Revoke,
}

/// A licensing agency's decision on one licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceDecision {
    /// The licensee.
    pub enterprise: EnterpriseId,
    /// The licence number at the licensing agency.
    pub licence_number: String,
    /// The licence type (e.g. "Retail Food Establishment").
    pub licence_type: String,
    /// What is decided.
    pub kind: LicenceDecisionKind,
    /// Start of the term granted or renewed (grant and renew only).
    pub valid_from: Option<Timestamp>,
    /// End of the term (grant and renew only). A grant runs at most 3 years (DESIGN §5).
    pub valid_until: Option<Timestamp>,
    /// Industry code (GB/T 4754-2017 or a namespaced foreign code), if known.
    pub industry: Option<String>,
    /// Free-text grounds.
    pub reason: String,
    /// When the application this decision answers was filed. A renewal shows it here so
    /// that the rule "renewal applied for at least 3 months before expiry" (Regulations on
    /// Work Safety Licences art. 9; DESIGN §5) can be checked; `None` when not recorded
    /// (the public data never publishes it).
    pub applied_at: Option<Timestamp>,
    /// The [`LicenceApplication`] this decision answers (grant, deny or renew only), by
    /// transaction id; `None` when the application is not on the ledger (imports). When
    /// set, the application's filing date is the one the renewal lead rule judges.
    /// Appended after `applied_at`: the postcard encoding of a decision changed with it
    /// (issue 4), and JSON may omit it.
    #[serde(default)]
    pub application: Option<crate::tx::TxId>,
}

/// What an application asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceApplicationKind {
    /// A new licence.
    New,
    /// A further term of the licence `licence_number` (Regulations on Work Safety Licences
    /// art. 9: filed at least 3 months before the current term ends).
    Renewal,
}

/// An enterprise's application for a licence or its renewal, as filed with (and recorded
/// by) the licensing agency (DESIGN §5 "licence application"). The transaction's
/// `effective_at` is the filing date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceApplication {
    /// The applicant.
    pub enterprise: EnterpriseId,
    /// The licensing agency's id for the application (unique per agency and enterprise).
    pub application_id: String,
    /// New licence or renewal.
    pub kind: LicenceApplicationKind,
    /// The licence renewed (required for a renewal), or the number reserved for a new one.
    pub licence_number: Option<String>,
    /// The licence type applied for.
    pub licence_type: String,
    /// Industry code (GB/T 4754-2017 or a namespaced foreign code), if known.
    pub industry: Option<String>,
}

/// A step the licensing agency takes on an application it recorded (Administrative
/// Licensing Law art. 32; Regulation on Work Safety Licences art. 7; issue 19 item 7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStepKind {
    /// The materials are complete: accepted for decision from the filing date.
    Accept,
    /// The one-time notice of missing materials, naming every missing item.
    NotifyMissing {
        /// Each missing item, in words (at least one).
        items: Vec<String>,
    },
    /// The applicant supplied every item the notice named: accepted from this record's
    /// effective date.
    Resupplied,
}

/// A licensing agency's step on a licence application: acceptance, the one-time notice of
/// missing materials, or the complete resupply after it. The transaction's
/// `effective_at` is when the step was taken; the rules count working days against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationStep {
    /// The applicant.
    pub enterprise: EnterpriseId,
    /// The application (its transaction id).
    pub application: crate::hash::Hash,
    /// The step.
    pub step: ApplicationStepKind,
}

/// Severity of one violation or hazard found in an inspection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Minor / low risk.
    Low,
    /// Serious / moderate risk.
    Moderate,
    /// Critical / high risk: a major hazard (重大事故隐患). Low and moderate are general
    /// hazards (一般事故隐患).
    High,
}

/// One violation or hazard found in an inspection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    /// The agency's violation code.
    pub code: String,
    /// Severity.
    pub severity: Severity,
    /// Description.
    pub description: String,
    /// Rectification deadline, if one was set.
    pub rectify_by: Option<Timestamp>,
}

/// Outcome of an inspection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionOutcome {
    /// Passed.
    Pass,
    /// Passed with conditions (rectification required).
    PassWithConditions,
    /// Failed.
    Fail,
    /// Scored or visited without a pass/fail verdict.
    NoVerdict,
}

/// An inspection and what it found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionRecord {
    /// The inspected enterprise.
    pub enterprise: EnterpriseId,
    /// The inspecting agency's id for this inspection.
    pub inspection_id: String,
    /// Inspection type (routine, follow-up/re-inspection, complaint, ...).
    pub inspection_type: String,
    /// Verdict.
    pub outcome: InspectionOutcome,
    /// Score 0–100 where the agency scores.
    pub score: Option<u32>,
    /// Counts of violations by severity `[low, moderate, high]`, for agencies that publish
    /// counts only (these include the listed `violations`).
    pub violation_counts: [u32; 3],
    /// Violations itemised.
    pub violations: Vec<Violation>,
    /// For a re-inspection: the same agency's id of the inspection it follows up. A
    /// re-inspection that passes closes that inspection's open hazards.
    pub follow_up_of: Option<String>,
}

/// How severe a penalty is (DESIGN §5: minor → rectification notice; severe → suspension
/// or revocation and fine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyGrade {
    /// Rectification notice.
    Minor,
    /// Suspension, revocation, fine.
    Severe,
}

/// An administrative penalty. A citation without an amount is a penalty too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Penalty {
    /// The penalised enterprise.
    pub enterprise: EnterpriseId,
    /// The agency's case or inspection number.
    pub case_id: String,
    /// Grade.
    pub grade: PenaltyGrade,
    /// Kind, e.g. "citation", "fine", "rectification_notice".
    pub kind: String,
    /// Fine in minor units of `currency`, when there is one.
    pub amount_minor: Option<u64>,
    /// Grounds.
    pub reason: String,
    /// ISO 4217 code of `amount_minor` (`CNY`, `USD`, …): required with an amount.
    /// Appended after `reason` (issue 18): the postcard encoding of a penalty changed.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A work accident as reported and investigated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccidentReport {
    /// The employer.
    pub enterprise: EnterpriseId,
    /// The agency's report or inspection number.
    pub report_id: String,
    /// "fatality" or "catastrophe" (or the agency's own category).
    pub category: String,
    /// Deaths.
    pub deaths: u32,
    /// Serious injuries.
    pub serious_injuries: u32,
    /// Direct economic loss in minor units of `currency`, if known.
    pub direct_loss_minor: Option<u64>,
    /// Where it happened.
    pub location: String,
    /// What happened (sensitive: may hold personal data).
    pub description: String,
    /// The level (State Council Order 493 art. 3), a public field derived by the
    /// recording agency; execution refuses one that [`AccidentLevel::classify`] disagrees
    /// with.
    pub level: AccidentLevel,
    /// The investigating agency found the accident concealed (瞒报): R4 blacklists.
    pub concealed: bool,
    /// ISO 4217 code of `direct_loss_minor`: required with a loss. The level's loss
    /// thresholds are governed per currency (`accident_loss_thresholds`); a currency
    /// without thresholds leaves the level to deaths and serious injuries. Appended
    /// (issue 18): the postcard encoding of an accident report changed.
    #[serde(default)]
    pub currency: Option<String>,
}

/// What a transaction records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum TxBody {
    /// See [`EnterpriseRecord`].
    EnterpriseRecord(EnterpriseRecord),
    /// See [`LicenceDecision`].
    LicenceDecision(LicenceDecision),
    /// See [`InspectionRecord`].
    InspectionRecord(InspectionRecord),
    /// See [`Penalty`].
    Penalty(Penalty),
    /// See [`AccidentReport`].
    AccidentReport(AccidentReport),
    /// See [`RectificationReport`].
    RectificationReport(RectificationReport),
    /// See [`PenaltyClearance`].
    PenaltyClearance(PenaltyClearance),
    /// See [`BlacklistAction`].
    BlacklistAction(BlacklistAction),
    /// See [`Correction`].
    Correction(Correction),
    /// See [`Appeal`].
    Appeal(Appeal),
    /// See [`AppealOutcome`].
    AppealOutcome(AppealOutcome),
    /// See [`OfficerAction`].
    OfficerAction(OfficerAction),
    /// See [`AssistanceRequest`].
    AssistanceRequest(AssistanceRequest),
    /// See [`AssistanceResponse`].
    AssistanceResponse(AssistanceResponse),
    /// See [`GovernanceProposal`].
    GovernanceProposal(GovernanceProposal),
    /// See [`GovernanceVote`].
    GovernanceVote(GovernanceVote),
    /// See [`ValidatorEvidence`].
    ValidatorEvidence(ValidatorEvidence),
    /// See [`LicenceApplication`].
    LicenceApplication(LicenceApplication),
    /// See [`AccessRequest`].
    AccessRequest(AccessRequest),
    /// See [`AccessGrant`].
    AccessGrant(AccessGrant),
    /// See [`PrivateRead`].
    PrivateRead(PrivateRead),
    /// See [`DecisionProposal`].
    DecisionProposal(DecisionProposal),
    /// See [`DecisionSignature`].
    DecisionSignature(DecisionSignature),
    /// See [`ApplicationStep`].
    ApplicationStep(ApplicationStep),
    /// See [`DrawOpen`].
    DrawOpen(DrawOpen),
    /// See [`DrawBeacon`].
    DrawBeacon(DrawBeacon),
    /// See [`JointInspection`].
    JointInspection(JointInspection),
    /// See [`AssessorAction`].
    AssessorAction(AssessorAction),
    /// See [`AssessmentReport`].
    AssessmentReport(AssessmentReport),
    /// See [`MonitorRegistration`].
    MonitorRegistration(MonitorRegistration),
    /// See [`SensorAlert`].
    SensorAlert(SensorAlert),
    /// See [`AlertAck`].
    AlertAck(AlertAck),
    /// See [`EvidenceAttachment`].
    EvidenceAttachment(EvidenceAttachment),
    /// See [`TipIntake`].
    TipIntake(TipIntake),
    /// See [`TipFollowUp`].
    TipFollowUp(TipFollowUp),
}

/// A record field that breaks a stateless bound.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("field {field}: {why}")]
pub struct FieldError {
    /// The field's name.
    pub field: &'static str,
    /// What is wrong.
    pub why: String,
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    crate::to_canonical(v)
}

impl TxBody {
    /// The kind of this body.
    pub fn kind(&self) -> TxKind {
        match self {
            TxBody::EnterpriseRecord(_) => TxKind::EnterpriseRecord,
            TxBody::LicenceDecision(_) => TxKind::LicenceDecision,
            TxBody::InspectionRecord(_) => TxKind::InspectionRecord,
            TxBody::Penalty(_) => TxKind::Penalty,
            TxBody::AccidentReport(_) => TxKind::AccidentReport,
            TxBody::RectificationReport(_) => TxKind::RectificationReport,
            TxBody::PenaltyClearance(_) => TxKind::PenaltyClearance,
            TxBody::BlacklistAction(_) => TxKind::BlacklistAction,
            TxBody::Correction(_) => TxKind::Correction,
            TxBody::Appeal(_) => TxKind::Appeal,
            TxBody::AppealOutcome(_) => TxKind::AppealOutcome,
            TxBody::OfficerAction(_) => TxKind::OfficerAction,
            TxBody::AssistanceRequest(_) => TxKind::AssistanceRequest,
            TxBody::AssistanceResponse(_) => TxKind::AssistanceResponse,
            TxBody::GovernanceProposal(_) => TxKind::GovernanceProposal,
            TxBody::GovernanceVote(_) => TxKind::GovernanceVote,
            TxBody::ValidatorEvidence(_) => TxKind::ValidatorEvidence,
            TxBody::LicenceApplication(_) => TxKind::LicenceApplication,
            TxBody::AccessRequest(_) => TxKind::AccessRequest,
            TxBody::AccessGrant(_) => TxKind::AccessGrant,
            TxBody::PrivateRead(_) => TxKind::PrivateRead,
            TxBody::DecisionProposal(_) => TxKind::DecisionProposal,
            TxBody::DecisionSignature(_) => TxKind::DecisionSignature,
            TxBody::ApplicationStep(_) => TxKind::ApplicationStep,
            TxBody::DrawOpen(_) => TxKind::DrawOpen,
            TxBody::DrawBeacon(_) => TxKind::DrawBeacon,
            TxBody::JointInspection(_) => TxKind::JointInspection,
            TxBody::AssessorAction(_) => TxKind::AssessorAction,
            TxBody::AssessmentReport(_) => TxKind::AssessmentReport,
            TxBody::MonitorRegistration(_) => TxKind::MonitorRegistration,
            TxBody::SensorAlert(_) => TxKind::SensorAlert,
            TxBody::AlertAck(_) => TxKind::AlertAck,
            TxBody::EvidenceAttachment(_) => TxKind::EvidenceAttachment,
            TxBody::TipIntake(_) => TxKind::TipIntake,
            TxBody::TipFollowUp(_) => TxKind::TipFollowUp,
        }
    }

    /// True for the kinds a validator's node key signs instead of an officer (validator
    /// evidence, a draw's beacon step, a tip-off taken from the public): one signature,
    /// judged against the validator sets.
    pub fn is_node_signed(&self) -> bool {
        matches!(
            self,
            TxBody::ValidatorEvidence(_) | TxBody::DrawBeacon(_) | TxBody::TipIntake(_)
        )
    }

    /// True for the kinds a monitoring key signs — a gateway's sensor alert, an
    /// enterprise's acknowledgement ([`monitoring`]): one signature, judged against the
    /// registrations on chain.
    pub fn is_monitor_signed(&self) -> bool {
        matches!(self, TxBody::SensorAlert(_) | TxBody::AlertAck(_))
    }

    /// The enterprise the record is about; `None` for officer and governance records.
    pub fn enterprise(&self) -> Option<&EnterpriseId> {
        Some(match self {
            TxBody::EnterpriseRecord(r) => &r.enterprise,
            TxBody::LicenceDecision(r) => &r.enterprise,
            TxBody::InspectionRecord(r) => &r.enterprise,
            TxBody::Penalty(r) => &r.enterprise,
            TxBody::AccidentReport(r) => &r.enterprise,
            TxBody::RectificationReport(r) => &r.enterprise,
            TxBody::PenaltyClearance(r) => &r.enterprise,
            TxBody::BlacklistAction(r) => &r.enterprise,
            TxBody::Correction(r) => &r.enterprise,
            TxBody::Appeal(r) => &r.enterprise,
            TxBody::AppealOutcome(r) => &r.enterprise,
            TxBody::AssistanceRequest(r) => &r.enterprise,
            TxBody::AssistanceResponse(r) => &r.enterprise,
            TxBody::LicenceApplication(r) => &r.enterprise,
            TxBody::DecisionProposal(r) => &r.decision.enterprise,
            TxBody::DecisionSignature(r) => &r.enterprise,
            TxBody::ApplicationStep(r) => &r.enterprise,
            TxBody::JointInspection(r) => &r.enterprise,
            TxBody::AssessmentReport(r) => &r.enterprise,
            TxBody::MonitorRegistration(r) => &r.enterprise,
            TxBody::SensorAlert(r) => &r.enterprise,
            TxBody::AlertAck(r) => &r.enterprise,
            TxBody::TipIntake(r) => return r.enterprise.as_ref(),
            TxBody::EvidenceAttachment(r) => &r.enterprise,
            TxBody::AssessorAction(_)
            | TxBody::TipFollowUp(_)
            | TxBody::OfficerAction(_)
            | TxBody::GovernanceProposal(_)
            | TxBody::GovernanceVote(_)
            | TxBody::ValidatorEvidence(_)
            | TxBody::DrawOpen(_)
            | TxBody::DrawBeacon(_)
            | TxBody::AccessRequest(_)
            | TxBody::AccessGrant(_)
            | TxBody::PrivateRead(_) => return None,
        })
    }

    /// The record's fields as (name, canonical value), in a fixed order: the leaves of the
    /// field commitment (DESIGN §4). The first field is always `type`.
    pub fn fields(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut f: Vec<(&'static str, Vec<u8>)> = vec![("type", enc(&self.kind()))];
        let mut push = |name: &'static str, bytes: Vec<u8>| f.push((name, bytes));
        match self {
            TxBody::EnterpriseRecord(r) => {
                push("enterprise", enc(&r.enterprise));
                push("name", enc(&r.name));
                push("address", enc(&r.address));
                push("linked_ids", enc(&r.linked_ids));
            }
            TxBody::LicenceDecision(r) => {
                push("enterprise", enc(&r.enterprise));
                push("licence_number", enc(&r.licence_number));
                push("licence_type", enc(&r.licence_type));
                push("kind", enc(&r.kind));
                push("valid_from", enc(&r.valid_from));
                push("valid_until", enc(&r.valid_until));
                push("industry", enc(&r.industry));
                push("reason", enc(&r.reason));
                push("applied_at", enc(&r.applied_at));
                push("application", enc(&r.application));
            }
            TxBody::InspectionRecord(r) => {
                push("enterprise", enc(&r.enterprise));
                push("inspection_id", enc(&r.inspection_id));
                push("inspection_type", enc(&r.inspection_type));
                push("outcome", enc(&r.outcome));
                push("score", enc(&r.score));
                push("violation_counts", enc(&r.violation_counts));
                push("violations", enc(&r.violations));
                push("follow_up_of", enc(&r.follow_up_of));
            }
            TxBody::Penalty(r) => {
                push("enterprise", enc(&r.enterprise));
                push("case_id", enc(&r.case_id));
                push("grade", enc(&r.grade));
                push("kind", enc(&r.kind));
                push("amount_minor", enc(&r.amount_minor));
                push("reason", enc(&r.reason));
                push("currency", enc(&r.currency));
            }
            TxBody::AccidentReport(r) => {
                push("enterprise", enc(&r.enterprise));
                push("report_id", enc(&r.report_id));
                push("category", enc(&r.category));
                push("deaths", enc(&r.deaths));
                push("serious_injuries", enc(&r.serious_injuries));
                push("direct_loss_minor", enc(&r.direct_loss_minor));
                push("location", enc(&r.location));
                push("description", enc(&r.description));
                push("level", enc(&r.level));
                push("concealed", enc(&r.concealed));
                push("currency", enc(&r.currency));
            }
            TxBody::RectificationReport(r) => {
                push("enterprise", enc(&r.enterprise));
                push("inspection_id", enc(&r.inspection_id));
                push("codes", enc(&r.codes));
                push("description", enc(&r.description));
            }
            TxBody::PenaltyClearance(r) => {
                push("enterprise", enc(&r.enterprise));
                push("case_id", enc(&r.case_id));
                push("reason", enc(&r.reason));
            }
            TxBody::BlacklistAction(r) => {
                push("enterprise", enc(&r.enterprise));
                push("action", enc(&r.action));
                push("reason", enc(&r.reason));
            }
            TxBody::Correction(r) => {
                push("enterprise", enc(&r.enterprise));
                push("target", enc(&r.target));
                push("action", enc(&r.action));
                push("reason", enc(&r.reason));
            }
            TxBody::Appeal(r) => {
                push("enterprise", enc(&r.enterprise));
                push("appeal_id", enc(&r.appeal_id));
                push("target", enc(&r.target));
                push("grounds", enc(&r.grounds));
            }
            TxBody::AppealOutcome(r) => {
                push("enterprise", enc(&r.enterprise));
                push("appeal_id", enc(&r.appeal_id));
                push("verdict", enc(&r.verdict));
                push("reason", enc(&r.reason));
            }
            TxBody::OfficerAction(r) => {
                push("officer", enc(&r.officer));
                push("action", enc(&r.action));
                push("name", enc(&r.name));
                push("roles", enc(&r.roles));
            }
            TxBody::AssistanceRequest(r) => {
                push("request_id", enc(&r.request_id));
                push("to_agency", enc(&r.to_agency));
                push("enterprise", enc(&r.enterprise));
                push("subject", enc(&r.subject));
                push("due_in_hours", enc(&r.due_in_hours));
            }
            TxBody::AssistanceResponse(r) => {
                push("from_agency", enc(&r.from_agency));
                push("request_id", enc(&r.request_id));
                push("enterprise", enc(&r.enterprise));
                push("answer", enc(&r.answer));
            }
            TxBody::GovernanceProposal(r) => {
                push("proposal_id", enc(&r.proposal_id));
                push("action", enc(&r.action));
                push("reason", enc(&r.reason));
            }
            TxBody::GovernanceVote(r) => {
                push("proposal_id", enc(&r.proposal_id));
                push("approve", enc(&r.approve));
            }
            TxBody::ValidatorEvidence(r) => {
                push("offender_agency", enc(&r.offender_agency));
                push("evidence", enc(&r.evidence));
            }
            TxBody::LicenceApplication(r) => {
                push("enterprise", enc(&r.enterprise));
                push("application_id", enc(&r.application_id));
                push("kind", enc(&r.kind));
                push("licence_number", enc(&r.licence_number));
                push("licence_type", enc(&r.licence_type));
                push("industry", enc(&r.industry));
            }
            TxBody::AccessRequest(r) => {
                push("request_id", enc(&r.request_id));
                push("record", enc(&r.record));
                push("fields", enc(&r.fields));
                push("purpose", enc(&r.purpose));
            }
            TxBody::AccessGrant(r) => {
                push("requester", enc(&r.requester));
                push("request_id", enc(&r.request_id));
                push("approve", enc(&r.approve));
                push("reason", enc(&r.reason));
            }
            TxBody::PrivateRead(r) => {
                push("record", enc(&r.record));
                push("fields", enc(&r.fields));
                push("purpose", enc(&r.purpose));
            }
            TxBody::DecisionProposal(r) => {
                push("proposal_id", enc(&r.proposal_id));
                push("decision", enc(&r.decision));
                push("deadline_hours", enc(&r.deadline_hours));
            }
            TxBody::DecisionSignature(r) => {
                push("enterprise", enc(&r.enterprise));
                push("proposal", enc(&r.proposal));
            }
            TxBody::ApplicationStep(r) => {
                push("enterprise", enc(&r.enterprise));
                push("application", enc(&r.application));
                push("step", enc(&r.step));
            }
            TxBody::DrawOpen(r) => {
                push("draw_id", enc(&r.draw_id));
                push("month", enc(&r.month));
                push("pool_agency", enc(&r.pool_agency));
                push("industry", enc(&r.industry));
                push("risk_levels", enc(&r.risk_levels));
                push("fraction_permille", enc(&r.fraction_permille));
                push("inspectors", enc(&r.inspectors));
                push(
                    "inspectors_per_enterprise",
                    enc(&r.inspectors_per_enterprise),
                );
                push("experts", enc(&r.experts));
                push("experts_per_enterprise", enc(&r.experts_per_enterprise));
                push("commit_window_secs", enc(&r.commit_window_secs));
                push("reveal_window_secs", enc(&r.reveal_window_secs));
            }
            TxBody::DrawBeacon(r) => {
                push("draw", enc(&r.draw));
                push("step", enc(&r.step));
            }
            TxBody::JointInspection(r) => {
                push("enterprise", enc(&r.enterprise));
                push("visit_id", enc(&r.visit_id));
                push("sections", enc(&r.sections));
            }
            TxBody::AssessorAction(r) => {
                push("institution_id", enc(&r.institution_id));
                push("action", enc(&r.action));
            }
            TxBody::AssessmentReport(r) => {
                push("enterprise", enc(&r.enterprise));
                push("report_id", enc(&r.report_id));
                push("institution_id", enc(&r.institution_id));
                push("experts", enc(&r.experts));
                push("licence_number", enc(&r.licence_number));
                push("conclusion", enc(&r.conclusion));
            }
            TxBody::MonitorRegistration(r) => {
                push("enterprise", enc(&r.enterprise));
                push("gateway_id", enc(&r.gateway_id));
                push("gateway_key", enc(&r.gateway_key));
                push("enterprise_key", enc(&r.enterprise_key));
            }
            TxBody::SensorAlert(r) => {
                push("enterprise", enc(&r.enterprise));
                push("gateway_id", enc(&r.gateway_id));
                push("alert_id", enc(&r.alert_id));
                push("device", enc(&r.device));
                push("measure", enc(&r.measure));
                push("value", enc(&r.value));
                push("threshold", enc(&r.threshold));
                push("level", enc(&r.level));
                push("observed_at", enc(&r.observed_at));
            }
            TxBody::AlertAck(r) => {
                push("enterprise", enc(&r.enterprise));
                push("alert", enc(&r.alert));
                push("note", enc(&r.note));
            }
            TxBody::EvidenceAttachment(r) => {
                push("enterprise", enc(&r.enterprise));
                push("record", enc(&r.record));
                push("files", enc(&r.files));
            }
            TxBody::TipIntake(r) => {
                push("tip_id", enc(&r.tip_id));
                push("agency", enc(&r.agency));
                push("enterprise", enc(&r.enterprise));
                push("address", enc(&r.address));
                push("description", enc(&r.description));
                push("evidence", enc(&r.evidence));
            }
            TxBody::TipFollowUp(r) => {
                push("tip_id", enc(&r.tip_id));
                push("status", enc(&r.status));
                push("note", enc(&r.note));
                push("reward_yuan", enc(&r.reward_yuan));
                push("claimant_name", enc(&r.claimant_name));
            }
        }
        f
    }
}

mod bounds;
#[cfg(test)]
mod tests;
