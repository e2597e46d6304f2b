//! Third-party assessment institutions (issue 20 item 7; the regulator's text: a
//! falsified report bans the institution and its experts from the trade for life).
//!
//! - `assessor_action` (an agency's officer): registers an institution (R0-assessor: once),
//!   an expert of a registered institution (once on the ledger), or a finding that a
//!   recorded report was falsified — the institution and that report's signing experts are
//!   then banned for life (`asr/ban/…`), whichever agency found it.
//! - `assessment_report` (an agency's officer, recording a report it received): refused
//!   (R0-assessor-banned) when its institution or any signing expert is banned, naming the
//!   finding; its institution and experts must be registered, the experts of that
//!   institution (R0-assessor). A report naming a licence is one its renewal relies on.
//! - A licence renewal (R0-assessor-banned) is refused while a report recorded for that
//!   licence since the current term began is by a banned institution or expert, naming the
//!   finding: every agency's renewals, for life.

use crate::rules::{RecordContext, Refusal};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    AssessmentReport, AssessorAction, AssessorActionKind, LicenceDecision,
};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// An assessor record out of order: unknown or twice-registered institution or expert, a
/// finding about no recorded report.
pub const R0_ASSESSOR: &str = "R0-assessor";
/// A report, or a renewal relying on one, by a banned institution or expert.
pub const R0_ASSESSOR_BANNED: &str = "R0-assessor-banned";

/// A lifetime ban and the finding behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// The finding's transaction.
    pub finding: TxId,
    /// The agency that found it.
    pub agency: String,
    /// The falsified report.
    pub report: TxId,
    /// The finding in words.
    pub what: String,
}

/// A registered institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    /// Its name.
    pub name: String,
    /// The registering agency and record.
    pub registered: (String, TxId),
    /// Set by a finding of falsification.
    pub banned: Option<Ban>,
}

/// A registered expert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expert {
    /// The expert's name.
    pub name: String,
    /// The institution it works for.
    pub institution: String,
    /// Set by a finding of falsification of a report it signed.
    pub banned: Option<Ban>,
}

/// A recorded report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportState {
    /// The report.
    pub report: AssessmentReport,
    /// When it was recorded (effective date).
    pub at: Timestamp,
}

fn institution_key(id: &str) -> Vec<u8> {
    format!("asr/inst/{id}").into_bytes()
}

fn expert_key(id: &str) -> Vec<u8> {
    format!("asr/expert/{id}").into_bytes()
}

fn report_key(tx: &TxId) -> Vec<u8> {
    [b"asr/report/".as_slice(), &tx.0].concat()
}

fn cited_key(e: &EnterpriseId, licence: &str) -> Vec<u8> {
    format!("asr/cite/{e}/{licence}").into_bytes()
}

/// The institution `id`, if registered.
pub fn institution(state: &dyn StateRead, id: &str) -> Option<Institution> {
    read(state, &institution_key(id))
}

/// The expert `id`, if registered.
pub fn expert(state: &dyn StateRead, id: &str) -> Option<Expert> {
    read(state, &expert_key(id))
}

fn refuse<T>(rule: &'static str, why: String) -> Result<T, Refusal> {
    Err(Refusal::new(rule, why))
}

fn banned_text(who: &str, b: &Ban) -> String {
    format!(
        "{who} is banned for life by finding {} of {} (report {} falsified: {})",
        b.finding, b.agency, b.report, b.what
    )
}

/// Applies an assessor action (module docs).
pub fn act(
    view: &mut Overlay<'_>,
    a: &AssessorAction,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let id = &a.institution_id;
    match &a.action {
        AssessorActionKind::RegisterInstitution { name } => {
            if institution(view, id).is_some() {
                return refuse(
                    R0_ASSESSOR,
                    format!("institution {id} is registered already"),
                );
            }
            view.put(
                institution_key(id),
                &Institution {
                    name: name.clone(),
                    registered: (rc.agency.to_string(), rc.tx_id),
                    banned: None,
                },
            );
        }
        AssessorActionKind::RegisterExpert { expert_id, name } => {
            if institution(view, id).is_none() {
                return refuse(R0_ASSESSOR, format!("institution {id} is not registered"));
            }
            if expert(view, expert_id).is_some() {
                return refuse(
                    R0_ASSESSOR,
                    format!("expert {expert_id} is registered already"),
                );
            }
            view.put(
                expert_key(expert_id),
                &Expert {
                    name: name.clone(),
                    institution: id.clone(),
                    banned: None,
                },
            );
        }
        AssessorActionKind::Falsification { report, finding } => {
            let Some(r) = read::<ReportState>(view, &report_key(report)) else {
                return refuse(
                    R0_ASSESSOR,
                    format!("report {report} is not a recorded assessment report"),
                );
            };
            if r.report.institution_id != *id {
                return refuse(
                    R0_ASSESSOR,
                    format!(
                        "report {report} was issued by {}, not {id}",
                        r.report.institution_id
                    ),
                );
            }
            let ban = Ban {
                finding: rc.tx_id,
                agency: rc.agency.to_string(),
                report: *report,
                what: finding.clone(),
            };
            if let Some(mut inst) = institution(view, id) {
                inst.banned.get_or_insert(ban.clone());
                view.put(institution_key(id), &inst);
            }
            for e in &r.report.experts {
                if let Some(mut x) = expert(view, e) {
                    x.banned.get_or_insert(ban.clone());
                    view.put(expert_key(e), &x);
                }
            }
        }
    }
    Ok(())
}

/// The first ban among `r`'s institution and experts, in words.
fn ban_of(state: &dyn StateRead, r: &AssessmentReport) -> Option<String> {
    if let Some(b) = institution(state, &r.institution_id).and_then(|i| i.banned) {
        return Some(banned_text(
            &format!("institution {}", r.institution_id),
            &b,
        ));
    }
    r.experts.iter().find_map(|e| {
        expert(state, e)
            .and_then(|x| x.banned)
            .map(|b| banned_text(&format!("expert {e}"), &b))
    })
}

/// Records an assessment report (module docs).
pub fn report(
    view: &mut Overlay<'_>,
    r: &AssessmentReport,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    if let Some(why) = ban_of(view, r) {
        return refuse(R0_ASSESSOR_BANNED, format!("report {}: {why}", r.report_id));
    }
    if institution(view, &r.institution_id).is_none() {
        return refuse(
            R0_ASSESSOR,
            format!("institution {} is not registered", r.institution_id),
        );
    }
    for e in &r.experts {
        match expert(view, e) {
            Some(x) if x.institution == r.institution_id => {}
            Some(x) => {
                return refuse(
                    R0_ASSESSOR,
                    format!(
                        "expert {e} works for {}, not {}",
                        x.institution, r.institution_id
                    ),
                )
            }
            None => return refuse(R0_ASSESSOR, format!("expert {e} is not registered")),
        }
    }
    view.put(
        report_key(&rc.tx_id),
        &ReportState {
            report: r.clone(),
            at: rc.effective_at,
        },
    );
    if let Some(n) = &r.licence_number {
        let key = cited_key(&r.enterprise, n);
        let mut cited: Vec<TxId> = read(view, &key).unwrap_or_default();
        cited.push(rc.tx_id);
        view.put(key, &cited);
    }
    Ok(())
}

/// R0-assessor-banned for a renewal of `d`'s licence relying on a report (recorded for it
/// since `term_start`, the current term's start) by a banned institution or expert.
pub fn check_renewal(
    state: &dyn StateRead,
    d: &LicenceDecision,
    term_start: Option<Timestamp>,
) -> Result<(), Refusal> {
    let cited: Vec<TxId> =
        read(state, &cited_key(&d.enterprise, &d.licence_number)).unwrap_or_default();
    for tx in cited {
        let Some(r) = read::<ReportState>(state, &report_key(&tx)) else {
            continue;
        };
        if term_start.is_some_and(|s| r.at < s) {
            continue;
        }
        if let Some(why) = ban_of(state, &r.report) {
            return refuse(
                R0_ASSESSOR_BANNED,
                format!(
                    "renewal of licence {} relies on report {} ({tx}): {why}",
                    d.licence_number, r.report.report_id
                ),
            );
        }
    }
    Ok(())
}
