//! The fields of each record type, as committed ([`crate::records::TxBody::fields`]): their
//! names in commitment order and how to decode a field's canonical bytes for display.
//!
//! The verifier checks a view's field count and revealed names against this table, names the
//! hidden fields from it, and shows a revealed value as JSON decoded from the committed bytes.

use crate::encoding::from_canonical_bounded;
use crate::ids::EnterpriseId;
use crate::limits::MAX_TX_BYTES;
use crate::records::{
    AccidentLevel, AppealTarget, AppealVerdict, BlacklistActionKind, CorrectionAction,
    GovernanceAction, InspectionOutcome, LicenceApplicationKind, LicenceDecisionKind,
    OfficerActionKind, PenaltyGrade, TxKind, Violation,
};
use crate::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The field names of a record of `kind`, in commitment order (the first is `type`).
pub fn field_names(kind: TxKind) -> &'static [&'static str] {
    match kind {
        TxKind::EnterpriseRecord => &["type", "enterprise", "name", "address", "linked_ids"],
        TxKind::LicenceDecision => &[
            "type",
            "enterprise",
            "licence_number",
            "licence_type",
            "kind",
            "valid_from",
            "valid_until",
            "industry",
            "reason",
            "applied_at",
            "application",
        ],
        TxKind::InspectionRecord => &[
            "type",
            "enterprise",
            "inspection_id",
            "inspection_type",
            "outcome",
            "score",
            "violation_counts",
            "violations",
            "follow_up_of",
        ],
        TxKind::Penalty => &[
            "type",
            "enterprise",
            "case_id",
            "grade",
            "kind",
            "amount_minor",
            "reason",
            "currency",
        ],
        TxKind::AccidentReport => &[
            "type",
            "enterprise",
            "report_id",
            "category",
            "deaths",
            "serious_injuries",
            "direct_loss_minor",
            "location",
            "description",
            "level",
            "concealed",
            "currency",
        ],
        TxKind::RectificationReport => &[
            "type",
            "enterprise",
            "inspection_id",
            "codes",
            "description",
        ],
        TxKind::PenaltyClearance => &["type", "enterprise", "case_id", "reason"],
        TxKind::BlacklistAction => &["type", "enterprise", "action", "reason"],
        TxKind::Correction => &["type", "enterprise", "target", "action", "reason"],
        TxKind::Appeal => &["type", "enterprise", "appeal_id", "target", "grounds"],
        TxKind::AppealOutcome => &["type", "enterprise", "appeal_id", "verdict", "reason"],
        TxKind::OfficerAction => &["type", "officer", "action", "name", "roles"],
        TxKind::AssistanceRequest => &[
            "type",
            "request_id",
            "to_agency",
            "enterprise",
            "subject",
            "due_in_hours",
        ],
        TxKind::AssistanceResponse => {
            &["type", "from_agency", "request_id", "enterprise", "answer"]
        }
        TxKind::GovernanceProposal => &["type", "proposal_id", "action", "reason"],
        TxKind::GovernanceVote => &["type", "proposal_id", "approve"],
        TxKind::ValidatorEvidence => &["type", "offender_agency", "evidence"],
        TxKind::AccessRequest => &["type", "request_id", "record", "fields", "purpose"],
        TxKind::AccessGrant => &["type", "requester", "request_id", "approve", "reason"],
        TxKind::PrivateRead => &["type", "record", "fields", "purpose"],
        TxKind::DecisionProposal => &["type", "proposal_id", "decision", "deadline_hours"],
        TxKind::DecisionSignature => &["type", "enterprise", "proposal"],
        TxKind::ApplicationStep => &["type", "enterprise", "application", "step"],
        TxKind::DrawOpen => &[
            "type",
            "draw_id",
            "month",
            "pool_agency",
            "industry",
            "risk_levels",
            "fraction_permille",
            "inspectors",
            "inspectors_per_enterprise",
            "experts",
            "experts_per_enterprise",
            "commit_window_secs",
            "reveal_window_secs",
        ],
        TxKind::DrawBeacon => &["type", "draw", "step"],
        TxKind::JointInspection => &["type", "enterprise", "visit_id", "sections"],
        TxKind::AssessorAction => &["type", "institution_id", "action"],
        TxKind::AssessmentReport => &[
            "type",
            "enterprise",
            "report_id",
            "institution_id",
            "experts",
            "licence_number",
            "conclusion",
        ],
        TxKind::MonitorRegistration => &[
            "type",
            "enterprise",
            "gateway_id",
            "gateway_key",
            "enterprise_key",
        ],
        TxKind::SensorAlert => &[
            "type",
            "enterprise",
            "gateway_id",
            "alert_id",
            "device",
            "measure",
            "value",
            "threshold",
            "level",
            "observed_at",
        ],
        TxKind::AlertAck => &["type", "enterprise", "alert", "note"],
        TxKind::EvidenceAttachment => &["type", "enterprise", "record", "files"],
        TxKind::TipIntake => &[
            "type",
            "tip_id",
            "agency",
            "enterprise",
            "address",
            "description",
            "evidence",
        ],
        TxKind::TipFollowUp => &[
            "type",
            "tip_id",
            "status",
            "note",
            "reward_yuan",
            "claimant_name",
        ],
        TxKind::LicenceApplication => &[
            "type",
            "enterprise",
            "application_id",
            "kind",
            "licence_number",
            "licence_type",
            "industry",
        ],
    }
}

fn dec<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let v: T = from_canonical_bounded(bytes, MAX_TX_BYTES).map_err(|e| e.to_string())?;
    serde_json::to_value(&v).map_err(|e| e.to_string())
}

/// The record type committed in the `type` field's canonical bytes.
pub fn decode_kind(bytes: &[u8]) -> Result<TxKind, String> {
    from_canonical_bounded(bytes, MAX_TX_BYTES).map_err(|e| e.to_string())
}

/// The JSON of field `name` of a `kind` record decoded from its canonical bytes; `None` when
/// the table does not know the field.
pub fn decode_value(
    kind: TxKind,
    name: &str,
    bytes: &[u8],
) -> Option<Result<serde_json::Value, String>> {
    use TxKind as K;
    Some(match (kind, name) {
        (_, "type") => dec::<TxKind>(bytes),
        (K::TipIntake, "enterprise") => dec::<Option<EnterpriseId>>(bytes),
        (_, "enterprise") => dec::<EnterpriseId>(bytes),
        (K::EnterpriseRecord, "name" | "address") => dec::<String>(bytes),
        (K::EnterpriseRecord, "linked_ids") => dec::<Vec<String>>(bytes),
        (K::LicenceDecision, "licence_number" | "licence_type" | "reason") => dec::<String>(bytes),
        (K::LicenceDecision, "kind") => dec::<LicenceDecisionKind>(bytes),
        (K::LicenceDecision, "valid_from" | "valid_until") => dec::<Option<Timestamp>>(bytes),
        (K::LicenceDecision, "industry") => dec::<Option<String>>(bytes),
        (K::InspectionRecord, "inspection_id" | "inspection_type") => dec::<String>(bytes),
        (K::InspectionRecord, "outcome") => dec::<InspectionOutcome>(bytes),
        (K::InspectionRecord, "score") => dec::<Option<u32>>(bytes),
        (K::InspectionRecord, "violation_counts") => dec::<[u32; 3]>(bytes),
        (K::InspectionRecord, "violations") => dec::<Vec<Violation>>(bytes),
        (K::Penalty, "case_id" | "kind" | "reason") => dec::<String>(bytes),
        (K::Penalty, "grade") => dec::<PenaltyGrade>(bytes),
        (K::Penalty, "amount_minor") => dec::<Option<u64>>(bytes),
        (K::Penalty | K::AccidentReport, "currency") => dec::<Option<String>>(bytes),
        (K::AccidentReport, "report_id" | "category" | "location" | "description") => {
            dec::<String>(bytes)
        }
        (K::AccidentReport, "deaths" | "serious_injuries") => dec::<u32>(bytes),
        (K::AccidentReport, "direct_loss_minor") => dec::<Option<u64>>(bytes),
        (K::LicenceDecision, "applied_at") => dec::<Option<Timestamp>>(bytes),
        (K::LicenceDecision, "application") => dec::<Option<crate::hash::Hash>>(bytes),
        (K::LicenceApplication, "application_id" | "licence_type") => dec::<String>(bytes),
        (K::LicenceApplication, "kind") => dec::<LicenceApplicationKind>(bytes),
        (K::LicenceApplication, "licence_number" | "industry") => dec::<Option<String>>(bytes),
        (K::InspectionRecord, "follow_up_of") => dec::<Option<String>>(bytes),
        (K::AccidentReport, "level") => dec::<AccidentLevel>(bytes),
        (K::AccidentReport, "concealed") | (K::GovernanceVote, "approve") => dec::<bool>(bytes),
        (K::RectificationReport, "codes") => dec::<Vec<String>>(bytes),
        (K::BlacklistAction, "action") => dec::<BlacklistActionKind>(bytes),
        (K::Correction, "target") => dec::<crate::hash::Hash>(bytes),
        (K::Correction, "action") => dec::<CorrectionAction>(bytes),
        (K::Appeal, "target") => dec::<AppealTarget>(bytes),
        (K::AppealOutcome, "verdict") => dec::<AppealVerdict>(bytes),
        (K::OfficerAction, "officer") => dec::<crate::keys::PublicKey>(bytes),
        (K::OfficerAction, "action") => dec::<OfficerActionKind>(bytes),
        (K::OfficerAction, "roles") => dec::<Vec<String>>(bytes),
        (K::DecisionProposal, "decision") => dec::<crate::records::LicenceDecision>(bytes),
        (K::DecisionProposal, "deadline_hours") => dec::<Option<u32>>(bytes),
        (K::DecisionSignature, "proposal") => dec::<crate::hash::Hash>(bytes),
        (K::ApplicationStep, "application") => dec::<crate::hash::Hash>(bytes),
        (K::ApplicationStep, "step") => dec::<crate::records::ApplicationStepKind>(bytes),
        (K::DrawOpen, "industry") => dec::<Option<String>>(bytes),
        (K::DrawOpen, "risk_levels") => dec::<Vec<String>>(bytes),
        (K::DrawOpen, "fraction_permille") => dec::<u16>(bytes),
        (K::DrawOpen, "inspectors") => dec::<Vec<crate::records::DrawInspector>>(bytes),
        (K::DrawOpen, "inspectors_per_enterprise" | "experts_per_enterprise") => dec::<u8>(bytes),
        (K::DrawOpen, "experts") => dec::<Vec<crate::records::DrawExpert>>(bytes),
        (K::DrawOpen, "commit_window_secs" | "reveal_window_secs") => dec::<u32>(bytes),
        (K::DrawOpen, _) => dec::<String>(bytes),
        (K::DrawBeacon, "draw") => dec::<crate::hash::Hash>(bytes),
        (K::DrawBeacon, "step") => dec::<crate::records::DrawBeaconStep>(bytes),
        (K::JointInspection, "sections") => dec::<Vec<crate::records::JointSection>>(bytes),
        (K::JointInspection, _) => dec::<String>(bytes),
        (K::AssessorAction, "action") => dec::<crate::records::AssessorActionKind>(bytes),
        (K::AssessmentReport, "experts") => dec::<Vec<String>>(bytes),
        (K::AssessmentReport, "licence_number") => dec::<Option<String>>(bytes),
        (K::AssessorAction | K::AssessmentReport, _) => dec::<String>(bytes),
        (K::MonitorRegistration, "gateway_key" | "enterprise_key") => {
            dec::<crate::keys::PublicKey>(bytes)
        }
        (K::SensorAlert, "level") => dec::<u8>(bytes),
        (K::SensorAlert, "observed_at") => dec::<Timestamp>(bytes),
        (K::AlertAck, "alert") | (K::EvidenceAttachment, "record") => {
            dec::<crate::hash::Hash>(bytes)
        }
        (K::EvidenceAttachment, "files") | (K::TipIntake, "evidence") => {
            dec::<Vec<crate::records::EvidenceFile>>(bytes)
        }
        (K::TipFollowUp, "status") => dec::<crate::records::TipStatus>(bytes),
        (K::TipFollowUp, "reward_yuan") => dec::<Option<u32>>(bytes),
        (
            K::MonitorRegistration | K::SensorAlert | K::AlertAck | K::TipIntake | K::TipFollowUp,
            _,
        ) => dec::<String>(bytes),
        (K::AssistanceRequest, "due_in_hours") => dec::<Option<u32>>(bytes),
        (K::GovernanceProposal, "action") => dec::<GovernanceAction>(bytes),
        (K::ValidatorEvidence, "evidence") => dec::<crate::evidence::DoubleSign>(bytes),
        (K::AccessRequest, "record") => dec::<crate::hash::Hash>(bytes),
        (K::AccessRequest, "fields") => dec::<Vec<String>>(bytes),
        (K::AccessGrant, "approve") => dec::<bool>(bytes),
        (K::PrivateRead, "record") => dec::<crate::hash::Hash>(bytes),
        (K::PrivateRead, "fields") => dec::<Vec<String>>(bytes),
        (
            K::RectificationReport
            | K::PenaltyClearance
            | K::BlacklistAction
            | K::Correction
            | K::Appeal
            | K::AppealOutcome
            | K::OfficerAction
            | K::AssistanceRequest
            | K::AssistanceResponse
            | K::GovernanceProposal
            | K::GovernanceVote
            | K::ValidatorEvidence
            | K::AccessRequest
            | K::AccessGrant
            | K::PrivateRead
            | K::DecisionProposal,
            _,
        ) => dec::<String>(bytes),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::*;

    fn e() -> EnterpriseId {
        EnterpriseId::parse("us-osha-insp:1").unwrap()
    }

    fn file() -> EvidenceFile {
        EvidenceFile {
            hash: crate::hash::Hash([3; 32]),
            bytes: 10,
            media_type: "image/jpeg".into(),
            name: "site.jpg".into(),
        }
    }

    fn samples() -> Vec<TxBody> {
        vec![
            TxBody::EnterpriseRecord(EnterpriseRecord {
                enterprise: e(),
                name: "Acme".into(),
                address: "1 Main St".into(),
                linked_ids: vec!["x:1".into()],
            }),
            TxBody::LicenceDecision(LicenceDecision {
                enterprise: e(),
                licence_number: "L1".into(),
                licence_type: "Retail".into(),
                kind: LicenceDecisionKind::Grant,
                valid_from: Some(Timestamp(1)),
                valid_until: Some(Timestamp(2)),
                industry: Some("B".into()),
                reason: "ok".into(),
                applied_at: None,
                application: Some(crate::hash::Hash([9; 32])),
            }),
            TxBody::InspectionRecord(InspectionRecord {
                enterprise: e(),
                inspection_id: "I1".into(),
                inspection_type: "routine".into(),
                outcome: InspectionOutcome::Fail,
                score: Some(60),
                violation_counts: [1, 0, 0],
                violations: vec![Violation {
                    code: "V1".into(),
                    severity: Severity::Low,
                    description: "d".into(),
                    rectify_by: None,
                }],
                follow_up_of: None,
            }),
            TxBody::Penalty(Penalty {
                enterprise: e(),
                case_id: "C1".into(),
                grade: PenaltyGrade::Severe,
                kind: "fine".into(),
                amount_minor: Some(100),
                currency: Some("CNY".into()),
                reason: "r".into(),
            }),
            TxBody::AccidentReport(AccidentReport {
                enterprise: e(),
                report_id: "A1".into(),
                category: "fatality".into(),
                deaths: 1,
                serious_injuries: 2,
                direct_loss_minor: None,
                currency: None,
                location: "here".into(),
                description: "what".into(),
                level: AccidentLevel::General,
                concealed: false,
            }),
            TxBody::RectificationReport(RectificationReport {
                enterprise: e(),
                inspection_id: "I1".into(),
                codes: vec!["V1".into()],
                description: "fixed".into(),
            }),
            TxBody::PenaltyClearance(PenaltyClearance {
                enterprise: e(),
                case_id: "C1".into(),
                reason: "paid".into(),
            }),
            TxBody::BlacklistAction(BlacklistAction {
                enterprise: e(),
                action: BlacklistActionKind::Enter,
                reason: "r".into(),
            }),
            TxBody::Correction(Correction {
                enterprise: e(),
                target: crate::hash::Hash([7; 32]),
                action: CorrectionAction::Withdraw,
                reason: "typo".into(),
            }),
            TxBody::Appeal(Appeal {
                enterprise: e(),
                appeal_id: "A1".into(),
                target: AppealTarget::Licence("L1".into()),
                grounds: "g".into(),
            }),
            TxBody::AppealOutcome(AppealOutcome {
                enterprise: e(),
                appeal_id: "A1".into(),
                verdict: AppealVerdict::Upheld,
                reason: "r".into(),
            }),
            TxBody::OfficerAction(OfficerAction {
                officer: crate::keys::PublicKey([3; 32]),
                action: OfficerActionKind::Register,
                name: "n".into(),
                roles: vec!["inspector".into()],
            }),
            TxBody::AssistanceRequest(AssistanceRequest {
                request_id: "R1".into(),
                to_agency: "fire".into(),
                enterprise: e(),
                subject: "s".into(),
                due_in_hours: Some(24),
            }),
            TxBody::AssistanceResponse(AssistanceResponse {
                from_agency: "em".into(),
                request_id: "R1".into(),
                enterprise: e(),
                answer: "a".into(),
            }),
            TxBody::GovernanceProposal(GovernanceProposal {
                proposal_id: "P1".into(),
                action: GovernanceAction::RetirePolicy { name: "p".into() },
                reason: "r".into(),
            }),
            TxBody::GovernanceVote(GovernanceVote {
                proposal_id: "P1".into(),
                approve: true,
            }),
            TxBody::ValidatorEvidence(ValidatorEvidence {
                offender_agency: "fire".into(),
                evidence: {
                    let vote = |value| crate::consensus::Vote {
                        height: 3,
                        round: 0,
                        vote_type: crate::consensus::VoteType::Prevote,
                        value,
                        validator: crate::keys::PublicKey([5; 32]),
                        signature: crate::keys::Signature([6; 64]),
                    };
                    crate::evidence::DoubleSign::Votes(
                        vote(None),
                        vote(Some(crate::hash::Hash([1; 32]))),
                    )
                },
            }),
            TxBody::AccessRequest(AccessRequest {
                request_id: "AR1".into(),
                record: crate::hash::Hash([2; 32]),
                fields: vec!["description".into()],
                purpose: "case 7".into(),
            }),
            TxBody::AccessGrant(AccessGrant {
                requester: "fire".into(),
                request_id: "AR1".into(),
                approve: true,
                reason: "ok".into(),
            }),
            TxBody::PrivateRead(PrivateRead {
                record: crate::hash::Hash([2; 32]),
                fields: vec!["description".into()],
                purpose: "case 7".into(),
            }),
            TxBody::LicenceApplication(LicenceApplication {
                enterprise: e(),
                application_id: "APP-1".into(),
                kind: LicenceApplicationKind::Renewal,
                licence_number: Some("L1".into()),
                licence_type: "Retail".into(),
                industry: None,
            }),
            TxBody::DecisionProposal(DecisionProposal {
                proposal_id: "CD-1".into(),
                decision: LicenceDecision {
                    enterprise: e(),
                    licence_number: "L1".into(),
                    licence_type: "Mining".into(),
                    kind: LicenceDecisionKind::Revoke,
                    valid_from: None,
                    valid_until: None,
                    industry: Some("GB/T 4754-2017:B".into()),
                    reason: "r".into(),
                    applied_at: None,
                    application: None,
                },
                deadline_hours: Some(72),
            }),
            TxBody::DecisionSignature(DecisionSignature {
                enterprise: e(),
                proposal: crate::hash::Hash([4; 32]),
            }),
            TxBody::ApplicationStep(crate::records::ApplicationStep {
                enterprise: e(),
                application: crate::hash::Hash([5; 32]),
                step: crate::records::ApplicationStepKind::NotifyMissing {
                    items: vec!["safety management rules".into()],
                },
            }),
            TxBody::DrawOpen(DrawOpen {
                draw_id: "D-1".into(),
                month: "2026-12".into(),
                pool_agency: "fire".into(),
                industry: Some("C26".into()),
                risk_levels: vec!["red".into()],
                fraction_permille: 100,
                inspectors: vec![DrawInspector {
                    officer: crate::keys::PublicKey([3; 32]),
                    conflicts: vec![e()],
                }],
                inspectors_per_enterprise: 2,
                experts: vec![crate::records::DrawExpert {
                    expert_id: "EXP-1".into(),
                    conflicts: vec![e()],
                }],
                experts_per_enterprise: 1,
                commit_window_secs: 60,
                reveal_window_secs: 60,
            }),
            TxBody::JointInspection(crate::records::JointInspection {
                enterprise: e(),
                visit_id: "J-1".into(),
                sections: ["fire", "em"]
                    .iter()
                    .map(|a| crate::records::JointSection {
                        agency: a.to_string(),
                        inspection: InspectionRecord {
                            enterprise: e(),
                            inspection_id: format!("{a}-1"),
                            inspection_type: "joint".into(),
                            outcome: InspectionOutcome::Pass,
                            score: None,
                            violation_counts: [0, 0, 0],
                            violations: vec![],
                            follow_up_of: None,
                        },
                    })
                    .collect(),
            }),
            TxBody::MonitorRegistration(crate::records::MonitorRegistration {
                enterprise: e(),
                gateway_id: "GW-1".into(),
                gateway_key: crate::keys::PublicKey([7; 32]),
                enterprise_key: crate::keys::PublicKey([8; 32]),
            }),
            TxBody::SensorAlert(crate::records::SensorAlert {
                enterprise: e(),
                gateway_id: "GW-1".into(),
                alert_id: "A-1".into(),
                device: "CH4-3".into(),
                measure: "methane_pct".into(),
                value: "1.25".into(),
                threshold: "1.0".into(),
                level: 2,
                observed_at: Timestamp(5),
            }),
            TxBody::AlertAck(crate::records::AlertAck {
                enterprise: e(),
                alert: crate::hash::Hash([9; 32]),
                note: "ventilated".into(),
            }),
            TxBody::EvidenceAttachment(crate::records::EvidenceAttachment {
                enterprise: e(),
                record: crate::hash::Hash([9; 32]),
                files: vec![file()],
            }),
            TxBody::TipIntake(crate::records::TipIntake {
                tip_id: "0123456789abcdef0123456789abcdef".into(),
                agency: "fire".into(),
                enterprise: Some(e()),
                address: "1 Main St".into(),
                description: "blocked exits".into(),
                evidence: vec![file()],
            }),
            TxBody::TipFollowUp(crate::records::TipFollowUp {
                tip_id: "0123456789abcdef0123456789abcdef".into(),
                status: crate::records::TipStatus::RewardDecided,
                note: "verified".into(),
                reward_yuan: Some(5000),
                claimant_name: "Zhang San".into(),
            }),
            TxBody::AssessorAction(crate::records::AssessorAction {
                institution_id: "INST-1".into(),
                action: crate::records::AssessorActionKind::RegisterExpert {
                    expert_id: "EXP-1".into(),
                    name: "n".into(),
                },
            }),
            TxBody::AssessmentReport(crate::records::AssessmentReport {
                enterprise: e(),
                report_id: "RPT-1".into(),
                institution_id: "INST-1".into(),
                experts: vec!["EXP-1".into()],
                licence_number: Some("L1".into()),
                conclusion: "meets the conditions".into(),
            }),
            TxBody::DrawBeacon(DrawBeacon {
                draw: crate::hash::Hash([6; 32]),
                step: DrawBeaconStep::Reveal {
                    secret: crate::beacon::ScalarBytes([1; 32]),
                },
            }),
        ]
    }

    #[test]
    fn table_matches_the_committed_fields_of_every_record_type() {
        let bodies = samples();
        assert_eq!(
            bodies.len(),
            TxKind::ALL.len(),
            "a record type has no sample"
        );
        for body in bodies {
            let kind = body.kind();
            let fields = body.fields();
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, field_names(kind), "{kind:?}");
            let json = serde_json::to_value(&body).unwrap();
            let inner = &json[kind.name()];
            for (name, bytes) in &fields {
                let got = decode_value(kind, name, bytes).expect("known").unwrap();
                let want = if *name == "type" {
                    serde_json::to_value(kind).unwrap()
                } else {
                    inner[*name].clone()
                };
                assert_eq!(got, want, "{kind:?}.{name}");
            }
        }
    }
}
