//! A joint inspection (issue 20 item 3): several agencies inspect one enterprise in one
//! visit and record it once, each agency's findings in its own section, co-signed by an
//! officer of every agency with a section.

use super::{bounds, FieldError, InspectionRecord, TxBody};
use crate::ids::EnterpriseId;
use serde::{Deserialize, Serialize};

/// Most agencies in one joint inspection.
pub const MAX_JOINT_SECTIONS: usize = 8;

/// One agency's findings in a joint inspection: an inspection record as that agency would
/// record it alone (its `enterprise` is the joint inspection's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointSection {
    /// The agency whose findings these are.
    pub agency: String,
    /// Its inspection: its own inspection id, verdict, violations and deadlines.
    pub inspection: InspectionRecord,
}

/// One visit by several agencies, recorded once and co-signed by an officer of each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointInspection {
    /// The enterprise visited.
    pub enterprise: EnterpriseId,
    /// The visit's id, shared by the agencies.
    pub visit_id: String,
    /// Each agency's section (2 to [`MAX_JOINT_SECTIONS`], distinct agencies).
    pub sections: Vec<JointSection>,
}

/// The stateless bounds of a joint inspection (each error names the field).
pub(super) fn check(r: &JointInspection) -> Result<(), FieldError> {
    let bad = |field: &'static str, why: String| Err(FieldError { field, why });
    bounds::local_id("visit_id", &r.visit_id)?;
    if !(2..=MAX_JOINT_SECTIONS).contains(&r.sections.len()) {
        return bad(
            "sections",
            format!(
                "{} sections: a joint inspection has 2 to {MAX_JOINT_SECTIONS} agencies",
                r.sections.len()
            ),
        );
    }
    let mut codes = std::collections::BTreeSet::new();
    for (i, s) in r.sections.iter().enumerate() {
        if !bounds::is_agency_id(&s.agency) {
            return bad("sections", format!("{:?} is not an agency id", s.agency));
        }
        if r.sections[..i].iter().any(|o| o.agency == s.agency) {
            return bad("sections", format!("agency {} has two sections", s.agency));
        }
        if s.inspection.enterprise != r.enterprise {
            return bad(
                "sections",
                format!(
                    "the section of {} is about {}, not {}",
                    s.agency, s.inspection.enterprise, r.enterprise
                ),
            );
        }
        TxBody::InspectionRecord(s.inspection.clone())
            .check_bounds()
            .map_err(|e| FieldError {
                field: "sections",
                why: format!("section of {}: {e}", s.agency),
            })?;
        for v in &s.inspection.violations {
            if !codes.insert(v.code.as_str()) {
                return bad(
                    "sections",
                    format!("violation code {} appears in two sections", v.code),
                );
            }
        }
    }
    Ok(())
}
