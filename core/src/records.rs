//! The regulator's records (DESIGN §5): what a transaction body says.
//!
//! Each record names the enterprise it is about by [`EnterpriseId`]. Amounts are integers
//! in minor units (cents, fen); dates are [`Timestamp`]s. [`TxBody::fields`] lists the
//! record's fields as (name, canonical value bytes) for field commitments (DESIGN §4).

use crate::ids::EnterpriseId;
use crate::limits::{MAX_LIST_ITEMS, MAX_TEXT_BYTES};
use crate::time::Timestamp;
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
}

impl TxKind {
    /// Every kind, in order.
    pub const ALL: [TxKind; 5] = [
        TxKind::EnterpriseRecord,
        TxKind::LicenceDecision,
        TxKind::InspectionRecord,
        TxKind::Penalty,
        TxKind::AccidentReport,
    ];

    /// snake_case name, as in genesis and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::EnterpriseRecord => "enterprise_record",
            TxKind::LicenceDecision => "licence_decision",
            TxKind::InspectionRecord => "inspection_record",
            TxKind::Penalty => "penalty",
            TxKind::AccidentReport => "accident_report",
        }
    }
}

/// An enterprise as one agency knows it: created on first sight, later records update it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Severity of one violation or hazard found in an inspection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Minor / low risk.
    Low,
    /// Serious / moderate risk.
    Moderate,
    /// Critical / high risk: a major hazard.
    High,
}

/// One violation or hazard found in an inspection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct Penalty {
    /// The penalised enterprise.
    pub enterprise: EnterpriseId,
    /// The agency's case or inspection number.
    pub case_id: String,
    /// Grade.
    pub grade: PenaltyGrade,
    /// Kind, e.g. "citation", "fine", "rectification_notice".
    pub kind: String,
    /// Fine in minor currency units, when there is one.
    pub amount_minor: Option<u64>,
    /// Grounds.
    pub reason: String,
}

/// A work accident as reported and investigated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Direct economic loss in minor currency units, if known.
    pub direct_loss_minor: Option<u64>,
    /// Where it happened.
    pub location: String,
    /// What happened (sensitive: may hold personal data).
    pub description: String,
}

/// What a transaction records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

fn text(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(FieldError {
            field,
            why: format!("{} bytes exceeds {MAX_TEXT_BYTES}", s.len()),
        });
    }
    Ok(())
}

fn list<T>(field: &'static str, v: &[T]) -> Result<(), FieldError> {
    if v.len() > MAX_LIST_ITEMS {
        return Err(FieldError {
            field,
            why: format!("{} items exceeds {MAX_LIST_ITEMS}", v.len()),
        });
    }
    Ok(())
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
        }
    }

    /// The enterprise the record is about.
    pub fn enterprise(&self) -> &EnterpriseId {
        match self {
            TxBody::EnterpriseRecord(r) => &r.enterprise,
            TxBody::LicenceDecision(r) => &r.enterprise,
            TxBody::InspectionRecord(r) => &r.enterprise,
            TxBody::Penalty(r) => &r.enterprise,
            TxBody::AccidentReport(r) => &r.enterprise,
        }
    }

    /// Stateless bounds on text lengths and list sizes. Errors name the field.
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
                text("inspection_id", &r.inspection_id)?;
                text("inspection_type", &r.inspection_type)?;
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
                text("case_id", &r.case_id)?;
                text("kind", &r.kind)?;
                text("reason", &r.reason)
            }
            TxBody::AccidentReport(r) => {
                text("report_id", &r.report_id)?;
                text("category", &r.category)?;
                text("location", &r.location)?;
                text("description", &r.description)
            }
        }
    }

    /// The record's fields as (name, canonical value), in a fixed order: the leaves of the
    /// field commitment (DESIGN §4). The first field is always `type`.
    pub fn fields(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut f: Vec<(&'static str, Vec<u8>)> = vec![("type", enc(&self.kind()))];
        match self {
            TxBody::EnterpriseRecord(r) => {
                f.push(("enterprise", enc(&r.enterprise)));
                f.push(("name", enc(&r.name)));
                f.push(("address", enc(&r.address)));
                f.push(("linked_ids", enc(&r.linked_ids)));
            }
            TxBody::LicenceDecision(r) => {
                f.push(("enterprise", enc(&r.enterprise)));
                f.push(("licence_number", enc(&r.licence_number)));
                f.push(("licence_type", enc(&r.licence_type)));
                f.push(("kind", enc(&r.kind)));
                f.push(("valid_from", enc(&r.valid_from)));
                f.push(("valid_until", enc(&r.valid_until)));
                f.push(("industry", enc(&r.industry)));
                f.push(("reason", enc(&r.reason)));
            }
            TxBody::InspectionRecord(r) => {
                f.push(("enterprise", enc(&r.enterprise)));
                f.push(("inspection_id", enc(&r.inspection_id)));
                f.push(("inspection_type", enc(&r.inspection_type)));
                f.push(("outcome", enc(&r.outcome)));
                f.push(("score", enc(&r.score)));
                f.push(("violation_counts", enc(&r.violation_counts)));
                f.push(("violations", enc(&r.violations)));
            }
            TxBody::Penalty(r) => {
                f.push(("enterprise", enc(&r.enterprise)));
                f.push(("case_id", enc(&r.case_id)));
                f.push(("grade", enc(&r.grade)));
                f.push(("kind", enc(&r.kind)));
                f.push(("amount_minor", enc(&r.amount_minor)));
                f.push(("reason", enc(&r.reason)));
            }
            TxBody::AccidentReport(r) => {
                f.push(("enterprise", enc(&r.enterprise)));
                f.push(("report_id", enc(&r.report_id)));
                f.push(("category", enc(&r.category)));
                f.push(("deaths", enc(&r.deaths)));
                f.push(("serious_injuries", enc(&r.serious_injuries)));
                f.push(("direct_loss_minor", enc(&r.direct_loss_minor)));
                f.push(("location", enc(&r.location)));
                f.push(("description", enc(&r.description)));
            }
        }
        f
    }
}
