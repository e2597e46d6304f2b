//! The kinds of transaction, by name (genesis role tables, the CLI, queries).

use serde::{Deserialize, Serialize};

/// The kinds of transaction; genesis maps each agency role to the kinds it may submit (R1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// [`EnterpriseRecord`].
    EnterpriseRecord,
    /// [`LicenceDecision`].
    LicenceDecision,
    /// [`InspectionRecord`].
    InspectionRecord,
    /// [`Penalty`].
    Penalty,
    /// [`AccidentReport`].
    AccidentReport,
    /// [`RectificationReport`].
    RectificationReport,
    /// [`PenaltyClearance`].
    PenaltyClearance,
    /// [`BlacklistAction`].
    BlacklistAction,
    /// [`Correction`].
    Correction,
    /// [`Appeal`].
    Appeal,
    /// [`AppealOutcome`].
    AppealOutcome,
    /// [`OfficerAction`].
    OfficerAction,
    /// [`AssistanceRequest`].
    AssistanceRequest,
    /// [`AssistanceResponse`].
    AssistanceResponse,
    /// [`GovernanceProposal`].
    GovernanceProposal,
    /// [`GovernanceVote`].
    GovernanceVote,
    /// [`ValidatorEvidence`].
    ValidatorEvidence,
    /// [`LicenceApplication`].
    LicenceApplication,
    /// [`AccessRequest`].
    AccessRequest,
    /// [`AccessGrant`].
    AccessGrant,
    /// [`PrivateRead`].
    PrivateRead,
    /// [`DecisionProposal`].
    DecisionProposal,
    /// [`DecisionSignature`].
    DecisionSignature,
    /// [`ApplicationStep`].
    ApplicationStep,
    /// [`DrawOpen`].
    DrawOpen,
    /// [`DrawBeacon`].
    DrawBeacon,
    /// [`JointInspection`].
    JointInspection,
    /// [`AssessorAction`].
    AssessorAction,
    /// [`AssessmentReport`].
    AssessmentReport,
    /// [`MonitorRegistration`].
    MonitorRegistration,
    /// [`SensorAlert`].
    SensorAlert,
    /// [`AlertAck`].
    AlertAck,
    /// [`EvidenceAttachment`].
    EvidenceAttachment,
    /// [`TipIntake`].
    TipIntake,
    /// [`TipFollowUp`].
    TipFollowUp,
}

impl TxKind {
    /// Every kind, in order.
    pub const ALL: [TxKind; 35] = [
        TxKind::EnterpriseRecord,
        TxKind::LicenceDecision,
        TxKind::InspectionRecord,
        TxKind::Penalty,
        TxKind::AccidentReport,
        TxKind::RectificationReport,
        TxKind::PenaltyClearance,
        TxKind::BlacklistAction,
        TxKind::Correction,
        TxKind::Appeal,
        TxKind::AppealOutcome,
        TxKind::OfficerAction,
        TxKind::AssistanceRequest,
        TxKind::AssistanceResponse,
        TxKind::GovernanceProposal,
        TxKind::GovernanceVote,
        TxKind::ValidatorEvidence,
        TxKind::LicenceApplication,
        TxKind::AccessRequest,
        TxKind::AccessGrant,
        TxKind::PrivateRead,
        TxKind::DecisionProposal,
        TxKind::DecisionSignature,
        TxKind::ApplicationStep,
        TxKind::DrawOpen,
        TxKind::DrawBeacon,
        TxKind::JointInspection,
        TxKind::AssessorAction,
        TxKind::AssessmentReport,
        TxKind::MonitorRegistration,
        TxKind::SensorAlert,
        TxKind::AlertAck,
        TxKind::EvidenceAttachment,
        TxKind::TipIntake,
        TxKind::TipFollowUp,
    ];

    /// snake_case name, as in genesis and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::EnterpriseRecord => "enterprise_record",
            TxKind::LicenceDecision => "licence_decision",
            TxKind::InspectionRecord => "inspection_record",
            TxKind::Penalty => "penalty",
            TxKind::AccidentReport => "accident_report",
            TxKind::RectificationReport => "rectification_report",
            TxKind::PenaltyClearance => "penalty_clearance",
            TxKind::BlacklistAction => "blacklist_action",
            TxKind::Correction => "correction",
            TxKind::Appeal => "appeal",
            TxKind::AppealOutcome => "appeal_outcome",
            TxKind::OfficerAction => "officer_action",
            TxKind::AssistanceRequest => "assistance_request",
            TxKind::AssistanceResponse => "assistance_response",
            TxKind::GovernanceProposal => "governance_proposal",
            TxKind::GovernanceVote => "governance_vote",
            TxKind::ValidatorEvidence => "validator_evidence",
            TxKind::LicenceApplication => "licence_application",
            TxKind::AccessRequest => "access_request",
            TxKind::AccessGrant => "access_grant",
            TxKind::PrivateRead => "private_read",
            TxKind::DecisionProposal => "decision_proposal",
            TxKind::DecisionSignature => "decision_signature",
            TxKind::ApplicationStep => "application_step",
            TxKind::DrawOpen => "draw_open",
            TxKind::DrawBeacon => "draw_beacon",
            TxKind::JointInspection => "joint_inspection",
            TxKind::AssessorAction => "assessor_action",
            TxKind::AssessmentReport => "assessment_report",
            TxKind::MonitorRegistration => "monitor_registration",
            TxKind::SensorAlert => "sensor_alert",
            TxKind::AlertAck => "alert_ack",
            TxKind::EvidenceAttachment => "evidence_attachment",
            TxKind::TipIntake => "tip_intake",
            TxKind::TipFollowUp => "tip_follow_up",
        }
    }

    /// The kind with this snake_case name.
    pub fn from_name(name: &str) -> Option<TxKind> {
        TxKind::ALL.into_iter().find(|k| k.name() == name)
    }
}
