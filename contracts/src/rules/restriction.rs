//! R2, R3 and R10: what bars a licence grant or renewal, judged at the decision's
//! effective date (DESIGN §5 "Two clocks": rules between acts use effective dates), under
//! the enterprise's own id and under every id linked to it ([`crate::links`]: "dishonest
//! in one place, restricted everywhere"; the refusal names the id, the record and the
//! link).
//!
//! - R2-blacklist: the enterprise, or a linked one, is blacklisted (credit grade D) at
//!   that date.
//! - R3-severe-penalty: a standing severe penalty by any agency on the enterprise or a
//!   linked one, effective no later than the decision and less than
//!   [`RuleParams::severe_penalty_months`] before it, that its penalizing agency has not
//!   cleared by then. When a severe penalty is recorded, every agency holding a licence of
//!   the enterprise gets a [`ReviewTask`] in its inbox.
//! - R10-linked-suspension: a licence of the same type suspended under a linked id (the
//!   same id's suspended licence is held by its own status).

use super::{
    when, RecordContext, Refusal, RuleParams, R10_LINKED_SUSPENSION, R2_BLACKLIST,
    R3_SEVERE_PENALTY,
};
use crate::clock::add_months;
use crate::keys;
use crate::links::Linked;
use crate::model::{EnterpriseState, FindingKind, LicenceStatus};
use crate::state::{read, Overlay};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{LicenceDecision, LicenceDecisionKind, PenaltyGrade};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// [`check_grant`] for decision `d` when it grants or renews, over `ent` and its linked
/// closure as `state` holds it ([`crate::links::closure`]).
pub fn check_decision(
    state: &dyn crate::state::StateRead,
    ent: &EnterpriseState,
    d: &LicenceDecision,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    if !matches!(
        d.kind,
        LicenceDecisionKind::Grant | LicenceDecisionKind::Renew
    ) {
        return Ok(());
    }
    let linked = crate::links::closure(state, ent, params)?;
    check_grant(
        ent,
        &linked,
        (&d.licence_number, &d.licence_type),
        rc,
        params,
    )
}

/// R2, R3 and R10 for a grant or renewal of licence `(number, licence type)` effective at
/// `rc.effective_at`, over the enterprise and its linked closure `linked`.
pub fn check_grant(
    ent: &EnterpriseState,
    linked: &[Linked],
    (licence, licence_type): (&str, &str),
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    restricted(ent, None, licence, rc, params)?;
    for l in linked {
        restricted(&l.ent, Some((ent, l)), licence, rc, params)?;
        if licence_type.is_empty() {
            continue;
        }
        let suspended =
            l.ent.licences.iter().find(|(_, s)| {
                s.status == LicenceStatus::Suspended && s.licence_type == licence_type
            });
        if let Some((number, s)) = suspended {
            return Err(Refusal::new(
                R10_LINKED_SUSPENSION,
                format!(
                    "licence {number} ({licence_type}) of enterprise {} is suspended by tx {} \
                     of agency {}, and {} is {}: licence {licence} of the same type cannot be \
                     granted or renewed for enterprise {} on {}",
                    l.ent.id,
                    s.last_decision,
                    s.agency,
                    l.ent.id,
                    l.basis,
                    ent.id,
                    when(rc.effective_at)
                ),
            ));
        }
    }
    Ok(())
}

/// R2 and R3 on `ent`, which is `via`'s linked enterprise when `via` is given.
fn restricted(
    ent: &EnterpriseState,
    via: Option<(&EnterpriseState, &Linked)>,
    licence: &str,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let t = rc.effective_at;
    // Said only in a refusal: most grants are not refused.
    let under = || match via {
        None => String::new(),
        Some((applicant, l)) => format!(
            " ({} is {}, so this bars enterprise {} too)",
            l.ent.id, l.basis, applicant.id
        ),
    };
    if let Some(l) = ent.listings.iter().find(|l| l.active_at(t)) {
        return Err(Refusal::new(
            R2_BLACKLIST,
            format!(
                "enterprise {} is blacklisted (credit grade D) from {} until {} by tx {} of \
                 agency {} ({}; blacklist_months = {}){}; licence {licence} cannot be \
                 granted or renewed on {}",
                ent.id,
                when(l.from),
                when(l.until),
                l.tx_id,
                l.agency,
                l.reason,
                params.blacklist_months,
                under(),
                when(t)
            ),
        ));
    }
    let months = params.severe_penalty_months;
    for f in ent.findings.iter().filter(|f| f.standing() && f.at <= t) {
        if let FindingKind::Penalty {
            case_id,
            grade: PenaltyGrade::Severe,
            cleared,
        } = &f.what
        {
            let until = add_months(f.at, months);
            let cleared_by_then = cleared.is_some_and(|(_, at)| at <= t);
            if t < until && !cleared_by_then {
                return Err(Refusal::new(
                    R3_SEVERE_PENALTY,
                    format!(
                        "severe penalty {case_id:?} by agency {} (tx {}, effective {}) \
                         restricts licence grants and renewals of enterprise {} until it is \
                         cleared or {} (severe_penalty_months = {months}){}; licence \
                         {licence} on {}",
                        f.agency,
                        f.tx_id,
                        when(f.at),
                        ent.id,
                        when(until),
                        under(),
                        when(t)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A task in a licensing agency's inbox: review a licence after a severe penalty (R3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewTask {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The licences the agency holds of it.
    pub licences: Vec<String>,
    /// The severe penalty.
    pub penalty: TxId,
    /// Its agency.
    pub penalizing_agency: String,
    /// Its effective date.
    pub at: Timestamp,
}

/// Puts a review task in the inbox of every agency holding an active or suspended licence
/// of the enterprise.
pub fn review_tasks(view: &mut Overlay<'_>, ent: &EnterpriseState, rc: &RecordContext<'_>) {
    let agencies: BTreeSet<&str> = ent
        .licences
        .values()
        .filter(|l| matches!(l.status, LicenceStatus::Active | LicenceStatus::Suspended))
        .map(|l| l.agency.as_str())
        .collect();
    for agency in agencies {
        let licences = ent
            .licences
            .iter()
            .filter(|(_, l)| l.agency == agency)
            .map(|(n, _)| n.clone())
            .collect();
        let n: u64 = read(view, &keys::inbox_count(agency)).unwrap_or(0);
        let task = ReviewTask {
            enterprise: ent.id.clone(),
            licences,
            penalty: rc.tx_id,
            penalizing_agency: rc.agency.to_string(),
            at: rc.effective_at,
        };
        view.put(keys::inbox(agency, n), &task);
        view.put(keys::inbox_count(agency), &(n + 1));
    }
}
