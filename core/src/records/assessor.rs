//! Third-party assessment institutions and their experts (issue 20 item 7): registered by
//! agencies; their assessment reports are records a licence renewal relies on; a finding
//! of falsification bans the institution and the report's signing experts from every
//! agency's renewals for life.

use super::{bounds, FieldError};
use crate::hash::Hash;
use crate::ids::EnterpriseId;
use serde::{Deserialize, Serialize};

/// Most experts signing one report.
pub const MAX_REPORT_EXPERTS: usize = 16;

/// What an agency records about an assessment institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum AssessorActionKind {
    /// Registers the institution.
    RegisterInstitution {
        /// Its name.
        name: String,
    },
    /// Registers an expert working for the institution (an expert id is unique on the
    /// ledger: the expert's certificate number).
    RegisterExpert {
        /// The expert's id.
        expert_id: String,
        /// The expert's name.
        name: String,
    },
    /// A finding that the institution falsified a report: the institution and the
    /// report's signing experts are banned for life.
    Falsification {
        /// The falsified report (its transaction id).
        report: Hash,
        /// The finding, in words (case number, what was false).
        finding: String,
    },
}

/// An agency's record about an assessment institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessorAction {
    /// The institution's id (its unified social credit code or licence number).
    pub institution_id: String,
    /// What is recorded.
    pub action: AssessorActionKind,
}

/// An assessment report an institution issued about an enterprise, as received and
/// recorded by an agency; a renewal of `licence_number` relies on the reports recorded
/// for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentReport {
    /// The enterprise assessed.
    pub enterprise: EnterpriseId,
    /// The institution's report number.
    pub report_id: String,
    /// The issuing institution.
    pub institution_id: String,
    /// The experts who signed it (1 to [`MAX_REPORT_EXPERTS`]).
    pub experts: Vec<String>,
    /// The licence the report supports (its renewal relies on it), if any.
    pub licence_number: Option<String>,
    /// The conclusion.
    pub conclusion: String,
}

/// Stateless bounds of an assessor action.
pub(super) fn check_action(r: &AssessorAction) -> Result<(), FieldError> {
    bounds::local_id("institution_id", &r.institution_id)?;
    match &r.action {
        AssessorActionKind::RegisterInstitution { name } => bounds::nonempty("name", name),
        AssessorActionKind::RegisterExpert { expert_id, name } => {
            bounds::local_id("expert_id", expert_id)?;
            bounds::nonempty("name", name)
        }
        AssessorActionKind::Falsification { finding, .. } => bounds::nonempty("finding", finding),
    }
}

/// Stateless bounds of an assessment report.
pub(super) fn check_report(r: &AssessmentReport) -> Result<(), FieldError> {
    bounds::local_id("report_id", &r.report_id)?;
    bounds::local_id("institution_id", &r.institution_id)?;
    if r.experts.is_empty() || r.experts.len() > MAX_REPORT_EXPERTS {
        return Err(FieldError {
            field: "experts",
            why: format!(
                "{} experts: a report is signed by 1 to {MAX_REPORT_EXPERTS}",
                r.experts.len()
            ),
        });
    }
    for (i, e) in r.experts.iter().enumerate() {
        bounds::local_id("experts", e)?;
        if r.experts[..i].contains(e) {
            return Err(FieldError {
                field: "experts",
                why: format!("{e:?} is named twice"),
            });
        }
    }
    if let Some(n) = &r.licence_number {
        bounds::nonempty("licence_number", n)?;
    }
    bounds::text("conclusion", &r.conclusion)
}
