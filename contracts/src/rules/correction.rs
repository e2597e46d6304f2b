//! Corrections and appeals (DESIGN §5: "correction (amend or withdraw an earlier record,
//! with reason; the original stays)", "appeal and its outcome").
//!
//! The original record stays on the ledger and on the timeline, marked `corrected_by`;
//! what rules read follows the correction:
//! - A correction names its target by transaction id. Only the recording agency may
//!   correct (R1-correction). A target already set aside is refused (R0-reference).
//!   - Findings (inspections, penalties, accident reports) can be withdrawn — they no
//!     longer count (a withdrawn severe penalty no longer restricts grants under R3) — or
//!     amended: the finding is rebuilt from the amended record (same kind, same
//!     enterprise; all checks of that kind apply) and keeps the original's identity and
//!     dates.
//!   - Licence decisions can be withdrawn or amended (same licence number; R0-licence-term,
//!     R0-industry, R6 with the correction's signers, and R2/R3 for a grant or renewal,
//!     at the original's effective date): the licence is recomputed from the decisions
//!     that still count ([`crate::rules::licence`]), so a withdrawn revocation no longer
//!     is the licence's status and a withdrawn grant no longer holds a licence.
//!   - Enterprise records can be withdrawn or amended: names, addresses and linked ids
//!     are recomputed from the records that count ([`crate::rules::enterprise`]).
//!   - Licence applications can be withdrawn (not once answered); no decision may then
//!     answer them. They are not amended: a new application is recorded instead.
//!   - Other kinds are corrected by a further record of their own kind (a blacklist entry
//!     by a removal, an assistance request by a response) and are refused here
//!     (R0-reference).
//! - An appeal names a record, or a licence (its latest decision). Its outcome comes from
//!   the agency whose record was appealed (R1-appeal-outcome). An overturned finding no
//!   longer counts; an overturned licence decision is set aside as if withdrawn (the
//!   licence is recomputed: an overturned revocation restores it); an overturned
//!   blacklist entry ends the listing.

use super::{
    application, collective, enterprise, findings, licence, restriction, RecordContext, Refusal,
    RuleParams, R0_REFERENCE, R1_APPEAL, R1_CORRECTION,
};
use crate::keys;
use crate::model::{
    AppealState, EnterpriseState, FindingStatus, LicenceEntry, RecordLocation, RecordRef,
};
use crate::rules::escalation::Deadline;
use crate::state::{read, Overlay, StateRead};
use safeledger_core::records::{
    Appeal, AppealOutcome, AppealTarget, AppealVerdict, Correction, CorrectionAction, TxBody,
    TxKind,
};
use safeledger_core::TxId;

/// The timeline entry of `target` if it is a record about `ent`.
fn located(
    state: &dyn StateRead,
    ent: &EnterpriseState,
    target: &TxId,
) -> Result<(u64, RecordRef), Refusal> {
    let loc: Option<RecordLocation> = read(state, &keys::record_location(target));
    match loc {
        Some(l) if l.enterprise == ent.id => {
            let r: RecordRef = read(state, &keys::record(&l.enterprise, l.index))
                .unwrap_or_else(|| panic!("corrupted state: record {target} not on timeline"));
            Ok((l.index, r))
        }
        _ => Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "tx {target} is not an accepted record about enterprise {}",
                ent.id
            ),
        )),
    }
}

fn mark(view: &mut Overlay<'_>, ent: &EnterpriseState, index: u64, by: TxId) {
    let key = keys::record(&ent.id, index);
    if let Some(mut r) = read::<RecordRef>(view, &key) {
        r.corrected_by = Some(by);
        view.put(key, &r);
    }
}

const FINDING_KINDS: [TxKind; 3] = [
    TxKind::InspectionRecord,
    TxKind::Penalty,
    TxKind::AccidentReport,
];

/// Applies a correction; returns deadlines of an amended inspection to watch (R8).
pub fn correct(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    c: &Correction,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<Vec<Deadline>, Refusal> {
    let (index, target) = located(view, ent, &c.target)?;
    if target.agency != rc.agency {
        return Err(Refusal::new(
            R1_CORRECTION,
            format!(
                "tx {} was recorded by agency {}; only it may correct it, not {}",
                c.target, target.agency, rc.agency
            ),
        ));
    }
    let deadlines = match target.kind {
        k if FINDING_KINDS.contains(&k) => correct_finding(ent, c, rc, params, &target)?,
        TxKind::LicenceDecision => {
            correct_licence(view, ent, c, rc, params)?;
            Vec::new()
        }
        TxKind::EnterpriseRecord => {
            let amended = match &c.action {
                CorrectionAction::Withdraw => None,
                CorrectionAction::Amend(body) => match &**body {
                    TxBody::EnterpriseRecord(r) if r.enterprise == ent.id => Some(r),
                    _ => return Err(wrong_amendment(c, &target, ent)),
                },
            };
            enterprise::correct_record(ent, rc.agency, &c.target, amended, rc.tx_id, params)?;
            Vec::new()
        }
        TxKind::LicenceApplication => match &c.action {
            CorrectionAction::Withdraw => {
                application::withdraw(view, &c.target, rc.tx_id)?;
                Vec::new()
            }
            CorrectionAction::Amend(_) => {
                return Err(Refusal::new(
                    R0_REFERENCE,
                    format!(
                        "licence application tx {} cannot be amended: withdraw it and record \
                         a new application",
                        c.target
                    ),
                ))
            }
        },
        _ => {
            return Err(Refusal::new(
                R0_REFERENCE,
                format!(
                    "tx {} is a {}: it is corrected by a further record of its kind, not by a \
                     correction",
                    c.target,
                    target.kind.name()
                ),
            ))
        }
    };
    mark(view, ent, index, rc.tx_id);
    Ok(deadlines)
}

fn wrong_amendment(c: &Correction, target: &RecordRef, ent: &EnterpriseState) -> Refusal {
    Refusal::new(
        R0_REFERENCE,
        format!(
            "an amendment of tx {} must be {} about enterprise {}",
            c.target,
            crate::rules::a_kind(target.kind),
            ent.id
        ),
    )
}

/// Withdraws or amends a licence decision: the licence is recomputed from its decisions
/// that still count ([`licence::replace_and_rebuild`]). An amendment keeps the licence
/// number and the original's effective date; R0-licence-term, R0-industry and R6 (with
/// the correction's signers) apply to it, and R2 and R3 to an amended grant or renewal.
/// The amendment's `application` and `applied_at` are not re-judged: the application the
/// original answered stays answered by it.
fn correct_licence(
    view: &Overlay<'_>,
    ent: &mut EnterpriseState,
    c: &Correction,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let Some((number, entry)) = licence::find_decision(ent, &c.target) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "licence decision tx {} is no longer among the last {} decisions of a licence \
                 enterprise {} holds; record a further decision instead",
                c.target,
                licence::MAX_LICENCE_HISTORY,
                ent.id
            ),
        ));
    };
    if let Some(by) = entry.set_aside {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!("tx {} was already set aside by tx {by}", c.target),
        ));
    }
    let entry = match &c.action {
        CorrectionAction::Withdraw => LicenceEntry {
            set_aside: Some(rc.tx_id),
            ..entry
        },
        CorrectionAction::Amend(body) => {
            let d = match &**body {
                TxBody::LicenceDecision(d)
                    if d.enterprise == ent.id && d.licence_number == number =>
                {
                    d
                }
                _ => {
                    return Err(Refusal::new(
                        R0_REFERENCE,
                        format!(
                            "an amendment of tx {} must be a licence_decision on licence \
                             {number} of enterprise {}",
                            c.target, ent.id
                        ),
                    ))
                }
            };
            let as_original = RecordContext {
                tx_id: entry.tx_id,
                effective_at: entry.effective_at,
                ..rc.clone()
            };
            collective::check(ent, d, rc, params)?;
            restriction::check_decision(view, ent, d, &as_original, params)?;
            licence::amended_entry(ent, &entry, d, &as_original, rc.tx_id, params)?
        }
    };
    licence::replace_and_rebuild(ent, &number, entry);
    Ok(())
}

/// Withdraws or amends a finding (inspection, penalty, accident report); returns the
/// deadlines of an amended inspection to watch (R8).
fn correct_finding(
    ent: &mut EnterpriseState,
    c: &Correction,
    rc: &RecordContext<'_>,
    params: &RuleParams,
    target: &RecordRef,
) -> Result<Vec<Deadline>, Refusal> {
    let mut deadlines = Vec::new();
    let pos = ent.findings.iter().position(|f| f.tx_id == c.target);
    if let Some(pos) = pos {
        let f = &ent.findings[pos];
        if !f.standing() {
            return Err(Refusal::new(
                R0_REFERENCE,
                format!(
                    "tx {} was already set aside ({})",
                    c.target,
                    match &f.status {
                        FindingStatus::Withdrawn(by) => format!("withdrawn by tx {by}"),
                        FindingStatus::Overturned(by) => format!("overturned on appeal by tx {by}"),
                        FindingStatus::Standing => "standing".into(),
                    }
                ),
            ));
        }
        // A listing the corrected record made (a concealed accident, R4) never counted: it
        // ends from its own start; an amendment that still finds concealment lists anew.
        let unlist = |ent: &mut EnterpriseState| {
            for l in ent.listings.iter_mut().filter(|l| l.tx_id == c.target) {
                l.removed.get_or_insert((rc.tx_id, l.from));
            }
        };
        match &c.action {
            CorrectionAction::Withdraw => {
                ent.findings[pos].status = FindingStatus::Withdrawn(rc.tx_id);
                unlist(ent);
            }
            CorrectionAction::Amend(body) => {
                if body.kind() != target.kind || body.enterprise() != Some(&ent.id) {
                    return Err(wrong_amendment(c, target, ent));
                }
                unlist(ent);
                let old = ent.findings.remove(pos);
                let counters = (
                    ent.inspections.clone(),
                    ent.penalties.clone(),
                    ent.accidents.clone(),
                );
                let as_original = RecordContext {
                    tx_id: old.tx_id,
                    agency: rc.agency,
                    effective_at: old.at,
                    height: rc.height,
                    index: rc.index,
                    block_time: old.committed_at,
                    signers: rc.signers,
                };
                match &**body {
                    TxBody::InspectionRecord(r) => {
                        deadlines = findings::inspection(ent, r, &as_original)?;
                    }
                    TxBody::Penalty(r) => findings::penalty(ent, r, &as_original),
                    TxBody::AccidentReport(r) => {
                        findings::accident(ent, r, &as_original, params)?;
                    }
                    _ => {}
                }
                (ent.inspections, ent.penalties, ent.accidents) = counters;
                if let Some(f) = ent.findings.iter_mut().find(|f| f.tx_id == old.tx_id) {
                    f.amended_by = Some(rc.tx_id);
                }
            }
        }
    }
    Ok(deadlines)
}

/// Records an appeal against a record or a licence's latest decision.
pub fn appeal(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    a: &Appeal,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let target = match &a.target {
        AppealTarget::Record(tx) => *tx,
        AppealTarget::Licence(number) => match ent.licences.get(number) {
            Some(l) => l.last_decision,
            None => {
                return Err(Refusal::new(
                    R0_REFERENCE,
                    format!("enterprise {} holds no licence {number:?}", ent.id),
                ))
            }
        },
    };
    let (_, r) = located(view, ent, &target)?;
    // The same appeal id of the same agency about the same enterprise is the same record
    // (issue 18's one rule; the refusal names the first).
    super::duplicate::claim(
        view,
        safeledger_core::records::TxKind::Appeal,
        &ent.id,
        "appeal_id",
        &a.appeal_id,
        rc,
    )?;
    ent.appeals.push(AppealState {
        agency: rc.agency.to_string(),
        appeal_id: a.appeal_id.clone(),
        tx_id: rc.tx_id,
        target,
        target_agency: r.agency,
        lodged_at: rc.effective_at,
        outcome: None,
    });
    Ok(())
}

/// Records an appeal's outcome and, when overturned, sets the appealed record aside.
pub fn outcome(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    o: &AppealOutcome,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let pending = |p: &&mut AppealState| p.appeal_id == o.appeal_id && p.outcome.is_none();
    let Some(p) = ent.appeals.iter_mut().rev().find(pending) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "enterprise {} has no pending appeal {:?}",
                ent.id, o.appeal_id
            ),
        ));
    };
    if p.target_agency != rc.agency {
        return Err(Refusal::new(
            R1_APPEAL,
            format!(
                "appeal {:?} (tx {}) is against a record of agency {}; only it records the \
                 outcome, not {}",
                o.appeal_id, p.tx_id, p.target_agency, rc.agency
            ),
        ));
    }
    p.outcome = Some((rc.tx_id, o.verdict));
    let target = p.target;
    if o.verdict == AppealVerdict::Upheld {
        return Ok(());
    }
    if let Some(f) = ent.findings.iter_mut().find(|f| f.tx_id == target) {
        f.status = FindingStatus::Overturned(rc.tx_id);
    }
    if let Some((number, entry)) = licence::find_decision(ent, &target) {
        if entry.set_aside.is_none() {
            let entry = LicenceEntry {
                set_aside: Some(rc.tx_id),
                ..entry
            };
            licence::replace_and_rebuild(ent, &number, entry);
        }
    }
    for l in ent.listings.iter_mut().filter(|l| l.tx_id == target) {
        l.removed.get_or_insert((rc.tx_id, rc.effective_at));
    }
    if let Ok((index, _)) = located(view, ent, &target) {
        mark(view, ent, index, rc.tx_id);
    }
    Ok(())
}
