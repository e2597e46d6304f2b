//! The licence lifecycle (DESIGN §5 "licence decision (grant, deny, renew, suspend,
//! revoke; a grant runs at most 3 years)").
//!
//! | decision | no licence        | Active / Suspended | Revoked          | Denied           |
//! |----------|-------------------|--------------------|------------------|------------------|
//! | grant    | Active            | Active (replaced)  | Active           | Active           |
//! | renew    | Active (as grant) | Active, new term   | R0-licence-status| Active (as grant)|
//! | suspend  | R0-licence-unknown| Suspended          | R0-licence-status| R0-licence-unknown |
//! | revoke   | R0-licence-unknown| Revoked            | R0-licence-status| R0-licence-unknown |
//! | deny     | Denied            | unchanged          | unchanged        | Denied           |
//!
//! Renewal of an unknown licence counts as a grant because imported data starts in the
//! middle of licences' histories. A denial of an application under a number that already
//! holds a licence leaves that licence as it is (the denial is still on the timeline).
//! Licences are keyed by number within the enterprise and belong to the agency that first
//! decided on them: another agency's decision on that number is refused
//! (R0-licence-agency).
//!
//! R0-licence-term: a grant or renewal names the end of its term, and the term —
//! `valid_until − valid_from`, with `valid_from` defaulting to the decision's
//! `effective_at` — is at most [`RuleParams::max_licence_term_days`] days.
//!
//! R0-renewal-lead: a renewal shows when it was applied for in `applied_at` (Regulations
//! on Work Safety Licences art. 9: apply at least 3 months before expiry). When the
//! licence is held on the ledger with a term end, `applied_at` must be no later than
//! [`RuleParams::renewal_lead_months`] calendar months before that end, and never after
//! the decision itself. A renewal without `applied_at` does not show its application date
//! (the public data never publishes one) and is judged on the other rules only.
//!
//! Expiry is not a status: it is computed from block time by
//! [`LicenceState::status_at`] (DESIGN §5 "Two clocks").
//!
//! A suspension or revocation remembers the status it replaced, so that an appeal
//! overturning it restores that status ([`crate::rules::correction`]).

use super::{
    when, RecordContext, Refusal, RuleParams, R0_LICENCE_AGENCY, R0_LICENCE_STATUS,
    R0_LICENCE_TERM, R0_LICENCE_UNKNOWN, R0_RENEWAL_LEAD,
};
use crate::clock::sub_months;
use crate::model::{EnterpriseState, LicenceState, LicenceStatus};
use safeledger_core::records::{LicenceDecision, LicenceDecisionKind};
use safeledger_core::time::DAY_MS;
use safeledger_core::Timestamp;

/// Applies a licence decision to the enterprise's licences, or refuses it.
pub fn apply(
    ent: &mut EnterpriseState,
    d: &LicenceDecision,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let existing = ent.licences.get(&d.licence_number);
    if let Some(l) = existing {
        if l.agency != rc.agency {
            return Err(Refusal::new(
                R0_LICENCE_AGENCY,
                format!(
                    "licence {} of enterprise {} is held under agency {} (tx {}); agency {} \
                     may not {} it",
                    d.licence_number,
                    ent.id,
                    l.agency,
                    l.last_decision,
                    rc.agency,
                    verb(d.kind)
                ),
            ));
        }
    }
    let status = existing.map(|l| l.status);
    let refuse_status = |l: &LicenceState| {
        Refusal::new(
            R0_LICENCE_STATUS,
            format!(
                "licence {} of enterprise {} is {:?} (tx {}); it cannot be {}",
                d.licence_number,
                ent.id,
                l.status,
                l.last_decision,
                past(d.kind)
            ),
        )
    };
    let new_status = match (d.kind, existing) {
        (LicenceDecisionKind::Grant, _) => LicenceStatus::Active,
        (LicenceDecisionKind::Renew, Some(l)) if l.status == LicenceStatus::Revoked => {
            return Err(refuse_status(l))
        }
        (LicenceDecisionKind::Renew, _) => LicenceStatus::Active,
        (LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke, None) => {
            return Err(unknown(ent, d, None))
        }
        (LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke, Some(l)) => match l.status {
            LicenceStatus::Denied => return Err(unknown(ent, d, Some(l))),
            LicenceStatus::Revoked => return Err(refuse_status(l)),
            LicenceStatus::Active | LicenceStatus::Suspended => {
                if d.kind == LicenceDecisionKind::Suspend {
                    LicenceStatus::Suspended
                } else {
                    LicenceStatus::Revoked
                }
            }
        },
        (LicenceDecisionKind::Deny, _) => LicenceStatus::Denied,
    };
    let industry = d
        .industry
        .clone()
        .or_else(|| existing.and_then(|l| l.industry.clone()));
    match d.kind {
        LicenceDecisionKind::Grant | LicenceDecisionKind::Renew => {
            if d.kind == LicenceDecisionKind::Renew {
                renewal_lead(ent, d, existing, rc, params)?;
            }
            let (from, until) = term(ent, d, rc, params)?;
            ent.licences.insert(
                d.licence_number.clone(),
                LicenceState {
                    licence_type: d.licence_type.clone(),
                    status: new_status,
                    valid_from: Some(from),
                    valid_until: Some(until),
                    last_decision: rc.tx_id,
                    agency: rc.agency.to_string(),
                    industry,
                    prior: None,
                    escalated_by: None,
                },
            );
        }
        LicenceDecisionKind::Deny if matches!(status, Some(s) if s != LicenceStatus::Denied) => {}
        LicenceDecisionKind::Deny => {
            ent.licences.insert(
                d.licence_number.clone(),
                LicenceState {
                    licence_type: d.licence_type.clone(),
                    status: LicenceStatus::Denied,
                    valid_from: None,
                    valid_until: None,
                    last_decision: rc.tx_id,
                    agency: rc.agency.to_string(),
                    industry,
                    prior: None,
                    escalated_by: None,
                },
            );
        }
        LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke => {
            if let Some(l) = ent.licences.get_mut(&d.licence_number) {
                l.prior = Some((l.status, l.last_decision));
                l.status = new_status;
                l.last_decision = rc.tx_id;
                l.escalated_by = None;
                l.industry = industry;
            }
        }
    }
    Ok(())
}

/// R0-renewal-lead: see the module docs.
fn renewal_lead(
    ent: &EnterpriseState,
    d: &LicenceDecision,
    existing: Option<&LicenceState>,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let Some(applied) = d.applied_at else {
        return Ok(());
    };
    if applied > rc.effective_at {
        return Err(Refusal::new(
            R0_RENEWAL_LEAD,
            format!(
                "licence {} of enterprise {}: applied_at {} is after the decision's \
                 effective date {}",
                d.licence_number,
                ent.id,
                when(applied),
                when(rc.effective_at)
            ),
        ));
    }
    let Some((expiry, held_by)) =
        existing.and_then(|l| l.valid_until.map(|u| (u, l.last_decision)))
    else {
        return Ok(());
    };
    let months = params.renewal_lead_months;
    let latest = sub_months(expiry, months);
    if applied > latest {
        return Err(Refusal::new(
            R0_RENEWAL_LEAD,
            format!(
                "licence {} of enterprise {} expires {} (tx {held_by}); a renewal must be \
                 applied for by {} (renewal_lead_months = {months}) but was applied for {}",
                d.licence_number,
                ent.id,
                when(expiry),
                when(latest),
                when(applied)
            ),
        ));
    }
    Ok(())
}

/// R0-licence-term: the (start, end) of a grant's or renewal's term.
fn term(
    ent: &EnterpriseState,
    d: &LicenceDecision,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(Timestamp, Timestamp), Refusal> {
    let max = params.max_licence_term_days;
    let from = d.valid_from.unwrap_or(rc.effective_at);
    let Some(until) = d.valid_until else {
        return Err(Refusal::new(
            R0_LICENCE_TERM,
            format!(
                "licence {} of enterprise {}: a {} must set valid_until; a term runs at most \
                 max_licence_term_days = {max} days",
                d.licence_number,
                ent.id,
                verb(d.kind)
            ),
        ));
    };
    if until < from {
        return Err(Refusal::new(
            R0_LICENCE_TERM,
            format!(
                "licence {} of enterprise {}: valid_until {} is before the start {}",
                d.licence_number,
                ent.id,
                when(until),
                when(from)
            ),
        ));
    }
    let length_ms = until.0 - from.0;
    if length_ms > max.saturating_mul(DAY_MS) {
        return Err(Refusal::new(
            R0_LICENCE_TERM,
            format!(
                "licence {} of enterprise {}: term {} to {} is {} days and {} ms, over \
                 max_licence_term_days = {max}",
                d.licence_number,
                ent.id,
                when(from),
                when(until),
                length_ms / DAY_MS,
                length_ms % DAY_MS
            ),
        ));
    }
    Ok((from, until))
}

fn unknown(ent: &EnterpriseState, d: &LicenceDecision, denied: Option<&LicenceState>) -> Refusal {
    let held = match denied {
        Some(l) => format!("was only denied (tx {})", l.last_decision),
        None => "is not held on the ledger".to_string(),
    };
    Refusal::new(
        R0_LICENCE_UNKNOWN,
        format!(
            "licence {} of enterprise {} {held}; it cannot be {}",
            d.licence_number,
            ent.id,
            past(d.kind)
        ),
    )
}

fn verb(k: LicenceDecisionKind) -> &'static str {
    match k {
        LicenceDecisionKind::Grant => "grant",
        LicenceDecisionKind::Deny => "deny",
        LicenceDecisionKind::Renew => "renew",
        LicenceDecisionKind::Suspend => "suspend",
        LicenceDecisionKind::Revoke => "revoke",
    }
}

fn past(k: LicenceDecisionKind) -> &'static str {
    match k {
        LicenceDecisionKind::Grant => "granted",
        LicenceDecisionKind::Deny => "denied",
        LicenceDecisionKind::Renew => "renewed",
        LicenceDecisionKind::Suspend => "suspended",
        LicenceDecisionKind::Revoke => "revoked",
    }
}
