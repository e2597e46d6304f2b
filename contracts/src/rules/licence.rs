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
//! R0-renewal-lead: a renewal shows when it was applied for — the filing date of the
//! [`safeledger_core::records::LicenceApplication`] it answers, else `applied_at` (Regulations
//! on Work Safety Licences art. 9: apply at least 3 months before expiry). When the
//! licence is held on the ledger with a term end, `applied_at` must be no later than
//! [`RuleParams::renewal_lead_months`] calendar months before that end, and never after
//! the decision itself. A renewal without `applied_at` does not show its application date
//! (the public data never publishes one) and is judged on the other rules only.
//!
//! Expiry is not a status: it is computed from block time by
//! [`LicenceState::status_at`] (DESIGN §5 "Two clocks").
//!
//! Every decision (and every R8 escalation) is kept in the licence's history
//! ([`LicenceState::history`], at most [`MAX_LICENCE_HISTORY`]); the licence is the
//! result of applying the table above to the entries that still count. A correction
//! withdrawing or amending a decision, or an appeal overturning one, sets it aside or
//! replaces it and recomputes the licence ([`replace_and_rebuild`],
//! [`crate::rules::correction`]): an overturned suspension restores the licence as it
//! was, a withdrawn grant no longer holds it.

use super::{
    when, RecordContext, Refusal, RuleParams, R0_LICENCE_AGENCY, R0_LICENCE_STATUS,
    R0_LICENCE_TERM, R0_LICENCE_UNKNOWN, R0_RENEWAL_LEAD,
};
use crate::clock::sub_months;
use crate::model::{EnterpriseState, LicenceEntry, LicenceState, LicenceStatus};
use safeledger_core::records::{LicenceDecision, LicenceDecisionKind};
use safeledger_core::time::DAY_MS;
use safeledger_core::{Timestamp, TxId};

/// Most entries a licence keeps in [`LicenceState::history`]; older ones fold into
/// [`LicenceState::base`] and can no longer be corrected. Bounds the enterprise value.
pub const MAX_LICENCE_HISTORY: usize = 32;

/// Applies a licence decision to the enterprise's licences, or refuses it. `applied` is
/// the application date the decision shows (its application's filing date, else its own
/// `applied_at`, see [`crate::rules::application::answer`]).
pub fn apply(
    ent: &mut EnterpriseState,
    d: &LicenceDecision,
    applied: Option<Timestamp>,
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
    match (d.kind, existing) {
        (LicenceDecisionKind::Renew, Some(l)) if l.status == LicenceStatus::Revoked => {
            return Err(refuse_status(l))
        }
        (LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke, None) => {
            return Err(unknown(ent, d, None))
        }
        (LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke, Some(l)) => match l.status {
            LicenceStatus::Denied => return Err(unknown(ent, d, Some(l))),
            LicenceStatus::Revoked => return Err(refuse_status(l)),
            LicenceStatus::Active | LicenceStatus::Suspended => {}
        },
        _ => {}
    }
    let term = match d.kind {
        LicenceDecisionKind::Grant | LicenceDecisionKind::Renew => {
            if d.kind == LicenceDecisionKind::Renew {
                renewal_lead(ent, d, applied, existing, rc, params)?;
            }
            Some(term(ent, d, rc, params)?)
        }
        _ => None,
    };
    let entry = LicenceEntry {
        tx_id: rc.tx_id,
        effective_at: rc.effective_at,
        kind: d.kind,
        licence_type: d.licence_type.clone(),
        term,
        industry: d.industry.clone(),
        escalation: false,
        set_aside: None,
        amended_by: None,
    };
    push(ent, &d.licence_number, entry, rc.agency);
    Ok(())
}

/// Checks the amended content `d` of the decision `entry` (effective at the original's
/// date, `as_original`): the licence number must stay, and the term rule R0-licence-term
/// applies. Returns the entry with the amended content, marked `amended_by`.
pub fn amended_entry(
    ent: &EnterpriseState,
    entry: &LicenceEntry,
    d: &LicenceDecision,
    as_original: &RecordContext<'_>,
    by: TxId,
    params: &RuleParams,
) -> Result<LicenceEntry, Refusal> {
    let term = match d.kind {
        LicenceDecisionKind::Grant | LicenceDecisionKind::Renew => {
            Some(term(ent, d, as_original, params)?)
        }
        _ => None,
    };
    Ok(LicenceEntry {
        kind: d.kind,
        licence_type: d.licence_type.clone(),
        term,
        industry: d.industry.clone(),
        amended_by: Some(by),
        ..entry.clone()
    })
}

/// The licence number and entry of decision `tx` among the enterprise's licences.
pub fn find_decision(ent: &EnterpriseState, tx: &TxId) -> Option<(String, LicenceEntry)> {
    ent.licences.iter().find_map(|(n, l)| {
        l.history
            .iter()
            .find(|e| e.tx_id == *tx && !e.escalation)
            .map(|e| (n.clone(), e.clone()))
    })
}

/// Replaces the entry of decision `entry.tx_id` on licence `number` and recomputes the
/// licence from its base and the entries not set aside. A licence none of whose
/// decisions counts any more is no longer held.
pub fn replace_and_rebuild(ent: &mut EnterpriseState, number: &str, entry: LicenceEntry) {
    let Some(mut l) = ent.licences.remove(number) else {
        return;
    };
    let mut history = std::mem::take(&mut l.history);
    for e in history.iter_mut() {
        if e.tx_id == entry.tx_id && !e.escalation {
            *e = entry.clone();
        }
    }
    let base = l.base.take();
    let mut cur = base.as_deref().cloned();
    for e in history.iter().filter(|e| e.set_aside.is_none()) {
        cur = step(cur, e, &l.agency);
    }
    settle(ent, number, cur, history, base, &l.agency);
}

/// R8: suspends licence `number` by an escalation of `inspection` at block time `now`.
pub fn escalate(ent: &mut EnterpriseState, number: &str, inspection: TxId, now: Timestamp) {
    let Some(l) = ent.licences.get(number) else {
        return;
    };
    let entry = LicenceEntry {
        tx_id: inspection,
        effective_at: now,
        kind: LicenceDecisionKind::Suspend,
        licence_type: l.licence_type.clone(),
        term: None,
        industry: None,
        escalation: true,
        set_aside: None,
        amended_by: None,
    };
    let agency = l.agency.clone();
    push(ent, number, entry, &agency);
}

/// Applies `entry` to licence `number` and appends it to the history.
fn push(ent: &mut EnterpriseState, number: &str, entry: LicenceEntry, agency: &str) {
    let (mut history, base, cur) = match ent.licences.remove(number) {
        Some(mut l) => (std::mem::take(&mut l.history), l.base.take(), Some(l)),
        None => (Vec::new(), None, None),
    };
    let next = step(cur, &entry, agency);
    history.push(entry);
    settle(ent, number, next, history, base, agency);
}

/// Stores `cur` with its history (folding the oldest entries into the base beyond
/// [`MAX_LICENCE_HISTORY`]); `None` leaves the licence unheld.
fn settle(
    ent: &mut EnterpriseState,
    number: &str,
    cur: Option<LicenceState>,
    mut history: Vec<LicenceEntry>,
    mut base: Option<Box<LicenceState>>,
    agency: &str,
) {
    if history.len() > MAX_LICENCE_HISTORY {
        let dropped: Vec<LicenceEntry> = history
            .drain(..history.len() - MAX_LICENCE_HISTORY)
            .collect();
        for e in dropped.iter().filter(|e| e.set_aside.is_none()) {
            base = step(base.map(|b| *b), e, agency).map(Box::new);
        }
    }
    if let Some(mut l) = cur {
        l.history = history;
        l.base = base;
        ent.licences.insert(number.to_string(), l);
    }
}

/// The licence lifecycle table of the module docs, without refusals: a decision that does
/// not apply leaves the licence as it is.
fn step(cur: Option<LicenceState>, e: &LicenceEntry, agency: &str) -> Option<LicenceState> {
    let industry = e
        .industry
        .clone()
        .or_else(|| cur.as_ref().and_then(|l| l.industry.clone()));
    let fresh = |status, term: Option<(Timestamp, Timestamp)>| LicenceState {
        licence_type: e.licence_type.clone(),
        status,
        valid_from: term.map(|t| t.0),
        valid_until: term.map(|t| t.1),
        last_decision: e.tx_id,
        agency: agency.to_string(),
        industry: industry.clone(),
        escalated_by: None,
        history: Vec::new(),
        base: None,
    };
    match (e.kind, cur) {
        (LicenceDecisionKind::Grant, _) => Some(fresh(LicenceStatus::Active, e.term)),
        (LicenceDecisionKind::Renew, Some(l)) if l.status == LicenceStatus::Revoked => Some(l),
        (LicenceDecisionKind::Renew, _) => Some(fresh(LicenceStatus::Active, e.term)),
        (LicenceDecisionKind::Deny, Some(l)) if l.status != LicenceStatus::Denied => Some(l),
        (LicenceDecisionKind::Deny, _) => Some(fresh(LicenceStatus::Denied, None)),
        (LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke, None) => None,
        (LicenceDecisionKind::Suspend | LicenceDecisionKind::Revoke, Some(mut l)) => {
            if matches!(l.status, LicenceStatus::Denied | LicenceStatus::Revoked) {
                return Some(l);
            }
            if e.escalation {
                if l.status == LicenceStatus::Active {
                    l.status = LicenceStatus::Suspended;
                    l.escalated_by = Some(e.tx_id);
                }
                return Some(l);
            }
            l.status = if e.kind == LicenceDecisionKind::Suspend {
                LicenceStatus::Suspended
            } else {
                LicenceStatus::Revoked
            };
            l.last_decision = e.tx_id;
            l.escalated_by = None;
            l.industry = industry;
            Some(l)
        }
    }
}

/// R0-renewal-lead: see the module docs.
fn renewal_lead(
    ent: &EnterpriseState,
    d: &LicenceDecision,
    applied: Option<Timestamp>,
    existing: Option<&LicenceState>,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let Some(applied) = applied else {
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
