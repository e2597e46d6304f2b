//! R6: licence decisions in high-risk industries are collective decisions — at least
//! [`RuleParams::collective_k`] distinct officers of the licensing agency sign the one
//! envelope (DESIGN §5 R6). High-risk industries are the governed list
//! [`RuleParams::high_risk_industries`] of GB/T 4754-2017 codes (default B, E, C26).
//!
//! The industry is the decision's own, else the licence's from an earlier decision.
//! R0-industry refuses a code that is neither `GB/T 4754-2017:<code>` (checked against the
//! standard) nor a namespaced foreign code. Co-signers are already known to be current
//! officers of the submitter's agency (R0-signer).

use super::{RecordContext, Refusal, RuleParams, R0_INDUSTRY, R6_COLLECTIVE};
use crate::model::EnterpriseState;
use safeledger_core::ids::IndustryCode;
use safeledger_core::records::LicenceDecision;

/// R0-industry and R6 for a licence decision.
pub fn check(
    ent: &EnterpriseState,
    d: &LicenceDecision,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let text = d.industry.clone().or_else(|| {
        ent.licences
            .get(&d.licence_number)
            .and_then(|l| l.industry.clone())
    });
    let Some(text) = text else {
        return Ok(());
    };
    let code = IndustryCode::parse(&text).map_err(|e| Refusal::new(R0_INDUSTRY, e.to_string()))?;
    let Some(prefix) = params
        .high_risk_industries
        .iter()
        .find(|p| code.is_within(p))
    else {
        return Ok(());
    };
    let k = params.collective_k;
    if (rc.signers as u64) < k {
        return Err(Refusal::new(
            R6_COLLECTIVE,
            format!(
                "licence {} of enterprise {} is in industry {code}, within high-risk {prefix} \
                 (high_risk_industries = [{}]): the decision needs collective_k = {k} \
                 distinct officers of agency {}, it has {}",
                d.licence_number,
                ent.id,
                params.high_risk_industries.join(", "),
                rc.agency,
                rc.signers
            ),
        ));
    }
    Ok(())
}
