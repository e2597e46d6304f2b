//! Stateless checks of a record's fields ([`TxBody::check_bounds`]): text lengths, list
//! sizes, fields that must not be blank and fields that must agree with each other. Every
//! error names the field ([`FieldError`]; issue 4 "Bad input").

use super::{
    AppealTarget, ApplicationStepKind, CorrectionAction, FieldError, GovernanceAction,
    LicenceApplicationKind, LicenceDecisionKind, TxBody,
};
use crate::limits::{MAX_LIST_ITEMS, MAX_TEXT_BYTES};

pub(super) fn text(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(FieldError {
            field,
            why: format!("{} bytes exceeds {MAX_TEXT_BYTES}", s.len()),
        });
    }
    Ok(())
}

/// A non-empty list of field names, each non-empty (access requests, read declarations).
fn field_names(fields: &[String]) -> Result<(), FieldError> {
    list("fields", fields)?;
    if fields.is_empty() {
        return Err(FieldError {
            field: "fields",
            why: "names no field".into(),
        });
    }
    fields.iter().try_for_each(|f| nonempty("fields", f))
}

/// An officer action's roles: a register or set_roles names 1 to [`MAX_OFFICER_ROLES`]
/// distinct roles, each `[a-z_]{1,32}`; a revocation names none.
fn officer_roles(r: &super::OfficerAction) -> Result<(), FieldError> {
    let err = |why: String| {
        Err(FieldError {
            field: "roles",
            why,
        })
    };
    if r.action == super::OfficerActionKind::Revoke {
        if !r.roles.is_empty() {
            return err("a revocation names no roles".into());
        }
        return Ok(());
    }
    if r.roles.is_empty() {
        return err("names no role (e.g. inspector, approver)".into());
    }
    if r.roles.len() > super::MAX_OFFICER_ROLES {
        return err(format!(
            "{} roles exceeds {}",
            r.roles.len(),
            super::MAX_OFFICER_ROLES
        ));
    }
    for (i, role) in r.roles.iter().enumerate() {
        if !is_role_name(role) {
            return err(format!(
                "{role:?} is not a role name ([a-z_], 1 to 32 characters)"
            ));
        }
        if r.roles[..i].contains(role) {
            return err(format!("{role:?} is named twice"));
        }
    }
    Ok(())
}

/// Most bytes of a node address (p2p multiaddr or gRPC URL).
const MAX_ADDR_BYTES: usize = 256;

/// An added agency's node addresses: a multiaddr (`/…`), an `http(s)://` URL, and a PEM
/// certificate exactly when the URL is `https://`.
fn node_addresses(p2p: &str, grpc: &str, cert: &str) -> Result<(), FieldError> {
    let bad = |field: &'static str, why: String| Err(FieldError { field, why });
    if p2p.len() > MAX_ADDR_BYTES || !p2p.starts_with('/') || p2p.chars().any(char::is_whitespace) {
        return bad(
            "p2p_addr",
            format!("{p2p:?} is not a multiaddr such as /ip4/10.0.0.5/tcp/26656"),
        );
    }
    let tls = grpc.starts_with("https://");
    if grpc.len() > MAX_ADDR_BYTES
        || !(tls || grpc.starts_with("http://"))
        || grpc.chars().any(char::is_whitespace)
    {
        return bad(
            "grpc_addr",
            format!("{grpc:?} is not an http(s):// URL such as https://10.0.0.5:50051"),
        );
    }
    text("tls_cert", cert)?;
    match (tls, cert.contains("-----BEGIN CERTIFICATE-----")) {
        (true, false) => bad(
            "tls_cert",
            "an https:// endpoint needs its PEM certificate, which clients pin".into(),
        ),
        (false, true) => bad(
            "tls_cert",
            "a certificate is pinned only for an https:// endpoint".into(),
        ),
        _ => Ok(()),
    }
}

/// True for an agency id an agency is added under: `[a-z0-9-]{1,64}`.
pub fn is_agency_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// True for a role name: `[a-z_]{1,32}`.
pub fn is_role_name(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

pub(super) fn list<T>(field: &'static str, v: &[T]) -> Result<(), FieldError> {
    if v.len() > MAX_LIST_ITEMS {
        return Err(FieldError {
            field,
            why: format!("{} items exceeds {MAX_LIST_ITEMS}", v.len()),
        });
    }
    Ok(())
}

/// Most bytes of an agency's own id for a record (inspection, case, report, appeal,
/// application, proposal or request id).
pub const MAX_LOCAL_ID_BYTES: usize = 128;

/// An agency's own id for a record: not blank, at most [`MAX_LOCAL_ID_BYTES`], no control
/// characters.
pub(super) fn local_id(field: &'static str, s: &str) -> Result<(), FieldError> {
    nonempty(field, s)?;
    if s.len() > MAX_LOCAL_ID_BYTES {
        return Err(FieldError {
            field,
            why: format!("{} bytes exceeds {MAX_LOCAL_ID_BYTES}", s.len()),
        });
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError {
            field,
            why: "holds a control character".into(),
        });
    }
    Ok(())
}

pub(super) fn nonempty(field: &'static str, s: &str) -> Result<(), FieldError> {
    text(field, s)?;
    if s.trim().is_empty() {
        return Err(FieldError {
            field,
            why: "is blank".into(),
        });
    }
    Ok(())
}

/// An amount carries its currency: an ISO 4217 alphabetic code (three capital letters) is
/// required with an amount and refused without one (issue 18, point 13).
fn money(
    field: &'static str,
    amount: Option<u64>,
    currency: Option<&str>,
) -> Result<(), FieldError> {
    match (amount, currency) {
        (Some(_), None) => Err(FieldError {
            field: "currency",
            why: format!("{field} needs its currency (ISO 4217, e.g. \"CNY\" or \"USD\")"),
        }),
        (None, Some(_)) => Err(FieldError {
            field: "currency",
            why: format!("names a currency but {field} is empty"),
        }),
        (_, Some(c)) if !is_iso_4217(c) => Err(FieldError {
            field: "currency",
            why: format!("{c:?} is not an ISO 4217 code (three capital letters, e.g. \"CNY\")"),
        }),
        _ => Ok(()),
    }
}

/// Three ASCII capital letters: the shape of an ISO 4217 alphabetic code.
pub fn is_iso_4217(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl TxBody {
    /// Stateless bounds on text lengths and list sizes, and fields that must not be blank.
    /// Errors name the field.
    pub fn check_bounds(&self) -> Result<(), FieldError> {
        match self {
            TxBody::EnterpriseRecord(r) => {
                text("name", &r.name)?;
                text("address", &r.address)?;
                list("linked_ids", &r.linked_ids)?;
                r.linked_ids.iter().try_for_each(|s| text("linked_ids", s))
            }
            TxBody::LicenceDecision(r) => {
                text("licence_number", &r.licence_number)?;
                text("licence_type", &r.licence_type)?;
                text("industry", r.industry.as_deref().unwrap_or(""))?;
                text("reason", &r.reason)?;
                if r.application.is_some()
                    && matches!(
                        r.kind,
                        LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke
                    )
                {
                    return Err(FieldError {
                        field: "application",
                        why: "only a grant, denial or renewal answers an application".into(),
                    });
                }
                if let (Some(a), Some(b)) = (r.valid_from, r.valid_until) {
                    if b < a {
                        return Err(FieldError {
                            field: "valid_until",
                            why: "before valid_from".into(),
                        });
                    }
                }
                Ok(())
            }
            TxBody::InspectionRecord(r) => {
                local_id("inspection_id", &r.inspection_id)?;
                text("inspection_type", &r.inspection_type)?;
                text("follow_up_of", r.follow_up_of.as_deref().unwrap_or(""))?;
                if r.score.is_some_and(|s| s > 100) {
                    return Err(FieldError {
                        field: "score",
                        why: "above 100".into(),
                    });
                }
                list("violations", &r.violations)?;
                for v in &r.violations {
                    text("violations", &v.code)?;
                    text("violations", &v.description)?;
                }
                Ok(())
            }
            TxBody::Penalty(r) => {
                local_id("case_id", &r.case_id)?;
                text("kind", &r.kind)?;
                text("reason", &r.reason)?;
                money("amount_minor", r.amount_minor, r.currency.as_deref())
            }
            TxBody::AccidentReport(r) => {
                local_id("report_id", &r.report_id)?;
                text("category", &r.category)?;
                text("location", &r.location)?;
                text("description", &r.description)?;
                money(
                    "direct_loss_minor",
                    r.direct_loss_minor,
                    r.currency.as_deref(),
                )
            }
            TxBody::RectificationReport(r) => {
                local_id("inspection_id", &r.inspection_id)?;
                list("codes", &r.codes)?;
                r.codes.iter().try_for_each(|c| text("codes", c))?;
                text("description", &r.description)
            }
            TxBody::PenaltyClearance(r) => {
                local_id("case_id", &r.case_id)?;
                text("reason", &r.reason)
            }
            TxBody::BlacklistAction(r) => nonempty("reason", &r.reason),
            TxBody::Correction(r) => {
                nonempty("reason", &r.reason)?;
                match &r.action {
                    CorrectionAction::Amend(body) => {
                        if matches!(**body, TxBody::Correction(_)) {
                            return Err(FieldError {
                                field: "action",
                                why: "a correction cannot amend into a correction".into(),
                            });
                        }
                        body.check_bounds()
                    }
                    CorrectionAction::Withdraw => Ok(()),
                }
            }
            TxBody::Appeal(r) => {
                local_id("appeal_id", &r.appeal_id)?;
                if let AppealTarget::Licence(n) = &r.target {
                    nonempty("target", n)?;
                }
                text("grounds", &r.grounds)
            }
            TxBody::AppealOutcome(r) => {
                local_id("appeal_id", &r.appeal_id)?;
                text("reason", &r.reason)
            }
            TxBody::OfficerAction(r) => {
                text("name", &r.name)?;
                officer_roles(r)
            }
            TxBody::DecisionProposal(r) => {
                local_id("proposal_id", &r.proposal_id)?;
                if let Some(h) = r.deadline_hours.filter(|h| !(1..=8_760).contains(h)) {
                    return Err(FieldError {
                        field: "deadline_hours",
                        why: format!("{h} is outside 1..=8760 (a year)"),
                    });
                }
                // The inner decision's own bounds, its errors naming its fields.
                let d = &r.decision;
                text("licence_number", &d.licence_number)?;
                nonempty("licence_number", &d.licence_number)?;
                text("licence_type", &d.licence_type)?;
                text("industry", d.industry.as_deref().unwrap_or(""))?;
                text("reason", &d.reason)?;
                if let (Some(a), Some(b)) = (d.valid_from, d.valid_until) {
                    if b < a {
                        return Err(FieldError {
                            field: "valid_until",
                            why: "before valid_from".into(),
                        });
                    }
                }
                if d.application.is_some()
                    && matches!(
                        d.kind,
                        LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke
                    )
                {
                    return Err(FieldError {
                        field: "application",
                        why: "only a grant, denial or renewal answers an application".into(),
                    });
                }
                Ok(())
            }
            TxBody::DecisionSignature(_) => Ok(()),
            TxBody::ApplicationStep(r) => match &r.step {
                ApplicationStepKind::NotifyMissing { items } => {
                    list("items", items)?;
                    if items.is_empty() {
                        return Err(FieldError {
                            field: "items",
                            why: "a notice of missing materials names every missing item".into(),
                        });
                    }
                    items.iter().try_for_each(|i| nonempty("items", i))
                }
                ApplicationStepKind::Accept | ApplicationStepKind::Resupplied => Ok(()),
            },
            TxBody::AssistanceRequest(r) => {
                local_id("request_id", &r.request_id)?;
                nonempty("to_agency", &r.to_agency)?;
                nonempty("subject", &r.subject)?;
                if r.due_in_hours == Some(0) {
                    return Err(FieldError {
                        field: "due_in_hours",
                        why: "is zero".into(),
                    });
                }
                Ok(())
            }
            TxBody::AssistanceResponse(r) => {
                nonempty("from_agency", &r.from_agency)?;
                local_id("request_id", &r.request_id)?;
                nonempty("answer", &r.answer)
            }
            TxBody::GovernanceProposal(r) => {
                local_id("proposal_id", &r.proposal_id)?;
                text("reason", &r.reason)?;
                match &r.action {
                    GovernanceAction::AddAgency {
                        id,
                        name,
                        role,
                        p2p_addr,
                        grpc_addr,
                        tls_cert,
                        ..
                    } => {
                        if !is_agency_id(id) {
                            return Err(FieldError {
                                field: "id",
                                why: format!(
                                    "{id:?} is not an agency id ([a-z0-9-], 1 to 64 \
                                     characters, e.g. cn-gd-em)"
                                ),
                            });
                        }
                        text("name", name)?;
                        nonempty("role", role)?;
                        node_addresses(p2p_addr, grpc_addr, tls_cert)
                    }
                    GovernanceAction::RemoveAgency { id } => nonempty("id", id),
                    GovernanceAction::SetRuleParam { name, value } => {
                        nonempty("name", name)?;
                        text("value", value)
                    }
                    GovernanceAction::DeployPolicy(p) => {
                        nonempty("name", &p.name)?;
                        nonempty("source", &p.source)?;
                        list("applies_to", &p.applies_to)?;
                        list("tests", &p.tests)?;
                        for t in &p.tests {
                            text("tests", &t.input_json)?;
                            text("tests", &t.data_json)?;
                        }
                        Ok(())
                    }
                    GovernanceAction::RetirePolicy { name } => nonempty("name", name),
                    GovernanceAction::SetValidator { agency, .. } => nonempty("agency", agency),
                    GovernanceAction::ScheduleUpgrade { rule_params, .. } => {
                        if rule_params.len() > MAX_LIST_ITEMS {
                            return Err(FieldError {
                                field: "rule_params",
                                why: format!(
                                    "{} items exceeds {MAX_LIST_ITEMS}",
                                    rule_params.len()
                                ),
                            });
                        }
                        for (name, value) in rule_params {
                            nonempty("rule_params", name)?;
                            text("rule_params", value)?;
                        }
                        Ok(())
                    }
                }
            }
            TxBody::GovernanceVote(r) => local_id("proposal_id", &r.proposal_id),
            TxBody::ValidatorEvidence(r) => nonempty("offender_agency", &r.offender_agency),
            TxBody::DrawOpen(r) => super::draw::check_open(r),
            TxBody::DrawBeacon(r) => super::draw::check_beacon(r),
            TxBody::JointInspection(r) => super::joint::check(r),
            TxBody::AssessorAction(r) => super::assessor::check_action(r),
            TxBody::AssessmentReport(r) => super::assessor::check_report(r),
            TxBody::MonitorRegistration(r) => super::monitoring::check_registration(r),
            TxBody::SensorAlert(r) => super::monitoring::check_alert(r),
            TxBody::AlertAck(r) => super::monitoring::check_ack(r),
            TxBody::EvidenceAttachment(r) => super::attachment::check(r),
            TxBody::TipIntake(r) => super::tip::check_intake(r),
            TxBody::TipFollowUp(r) => super::tip::check_follow_up(r),
            TxBody::AccessRequest(r) => {
                local_id("request_id", &r.request_id)?;
                text("purpose", &r.purpose)?;
                field_names(&r.fields)
            }
            TxBody::PrivateRead(r) => {
                text("purpose", &r.purpose)?;
                field_names(&r.fields)
            }
            TxBody::AccessGrant(r) => {
                nonempty("requester", &r.requester)?;
                local_id("request_id", &r.request_id)?;
                text("reason", &r.reason)
            }
            TxBody::LicenceApplication(r) => {
                local_id("application_id", &r.application_id)?;
                nonempty("licence_type", &r.licence_type)?;
                text("industry", r.industry.as_deref().unwrap_or(""))?;
                match (&r.licence_number, r.kind) {
                    (Some(n), _) => nonempty("licence_number", n),
                    (None, LicenceApplicationKind::Renewal) => Err(FieldError {
                        field: "licence_number",
                        why: "a renewal application names the licence it renews".into(),
                    }),
                    (None, LicenceApplicationKind::New) => Ok(()),
                }
            }
        }
    }
}
