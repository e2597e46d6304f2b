//! Licence applications (DESIGN §5 "licence application"; issue 4 item 1: "renewal applied
//! for at least 3 months before expiry").
//!
//! An application is filed with the licensing agency, which records it
//! ([`LicenceApplication`], effective at the filing date). Rules when it is recorded:
//! - R0-duplicate: one application id per agency and enterprise.
//! - R0-industry: the industry code, when given, is `GB/T 4754-2017:<code>` or namespaced.
//! - R0-licence-agency: a licence number held on the ledger under another agency.
//! - R0-licence-status: a renewal of a revoked licence (only a new grant restores it).
//! - R0-renewal-lead: a renewal of a licence held on the ledger with a term end must be
//!   filed no later than [`RuleParams::renewal_lead_months`] calendar months before that
//!   end (Regulations on Work Safety Licences art. 9).
//!
//! A grant, denial or renewal may name the application it answers
//! ([`LicenceDecision::application`]); [`answer`] then refuses it (R0-application, the
//! reason naming the field) when the application is not on the ledger, is about another
//! enterprise, was filed with another agency, is for another licence number, was already
//! answered or was withdrawn, or when the decision's own `applied_at` disagrees with the
//! filing date. Otherwise the filing date is the one R0-renewal-lead judges and the
//! application is marked answered.
//!
//! Time limits (issue 19 item 7; [`crate::calendar`] counts working days in UTC+8): the
//! agency accepts the application or gives the one-time notice of missing materials
//! ([`ApplicationStep`]) within [`RuleParams::licence_notice_working_days`] of the filing,
//! and decides within [`RuleParams::licence_decision_working_days`] of the filing — or of
//! the complete resupply after a notice. [`step`] refuses (R0-application-step) a step by
//! another agency, on an answered or withdrawn application, a second notice (it is
//! one-time), a notice after acceptance or past its limit (the application then counts as
//! accepted from its filing), a resupply without a notice or twice, an acceptance after a
//! notice (the resupply accepts it); a grant or renewal while a notice awaits its
//! materials is refused (R0-application). Late steps are not refused: the inbox shows them
//! overdue and [`ApplicationState`] keeps when each step was taken.

use super::{
    duplicate, when, RecordContext, Refusal, RuleParams, R0_APPLICATION, R0_APPLICATION_STEP,
    R0_INDUSTRY, R0_LICENCE_AGENCY, R0_LICENCE_STATUS, R0_RENEWAL_LEAD,
};
use crate::calendar::overdue_from;
use crate::clock::sub_months;
use crate::keys;
use crate::model::{EnterpriseState, LicenceStatus};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::ids::{EnterpriseId, IndustryCode};
use safeledger_core::records::{
    ApplicationStep, ApplicationStepKind, LicenceApplication, LicenceApplicationKind,
    LicenceDecision, LicenceDecisionKind, TxKind,
};
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// A recorded application (`app/` ‖ its tx id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationState {
    /// The applicant.
    pub enterprise: EnterpriseId,
    /// The agency it was filed with (and that recorded it).
    pub agency: String,
    /// The agency's id for it.
    pub application_id: String,
    /// New licence or renewal.
    pub kind: LicenceApplicationKind,
    /// The licence it is about, when it names one.
    pub licence_number: Option<String>,
    /// The licence type applied for: the answering grant or renewal must be of it.
    pub licence_type: String,
    /// The industry code it names: the answering decision must name the same (so that a
    /// high-risk application is never decided as if it were not, R6).
    pub industry: Option<String>,
    /// Filing date (the record's effective date).
    pub filed_at: Timestamp,
    /// The decision that answered it.
    pub answered_by: Option<TxId>,
    /// The correction that withdrew it.
    pub withdrawn_by: Option<TxId>,
    /// From when acceptance or the notice of missing materials is overdue.
    pub notice_due: Timestamp,
    /// The explicit acceptance (record, effective date).
    pub accepted: Option<(TxId, Timestamp)>,
    /// The one-time notice of missing materials.
    pub notice: Option<MissingNotice>,
    /// The complete resupply after the notice (record, effective date).
    pub resupplied: Option<(TxId, Timestamp)>,
    /// From when the decision is overdue; `None` while a notice awaits the materials.
    pub decision_due: Option<Timestamp>,
    /// The answering decision's effective date.
    pub answered_at: Option<Timestamp>,
}

/// A one-time notice of missing materials ([`ApplicationStepKind::NotifyMissing`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingNotice {
    /// The notice.
    pub tx: TxId,
    /// Its effective date.
    pub at: Timestamp,
    /// The items it named.
    pub items: Vec<String>,
}

impl ApplicationState {
    /// Waiting for the materials a notice named.
    pub fn awaiting_materials(&self) -> bool {
        self.notice.is_some() && self.resupplied.is_none()
    }

    /// The steps overdue at block time `now`: `acceptance` (neither accepted nor noticed
    /// past its limit) and `decision` (not decided past its limit); empty once answered
    /// or withdrawn.
    pub fn overdue_at(&self, now: Timestamp) -> Vec<&'static str> {
        if self.answered_by.is_some() || self.withdrawn_by.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.accepted.is_none() && self.notice.is_none() && now >= self.notice_due {
            out.push("acceptance");
        }
        if self.decision_due.is_some_and(|d| now >= d) {
            out.push("decision");
        }
        out
    }

    /// The application as JSON for people at block time `now`: its state, the steps
    /// `overdue` now, and `decided_late` when the answering decision came past its limit.
    pub fn as_of(&self, now: Timestamp) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("overdue".into(), serde_json::json!(self.overdue_at(now)));
            let late =
                matches!((self.answered_at, self.decision_due), (Some(a), Some(d)) if a >= d);
            o.insert("decided_late".into(), serde_json::Value::Bool(late));
        }
        v
    }
}

/// Why a decision cannot answer the application it names: the reason of an
/// R0-application refusal. Every variant is about the decision's field `application`
/// (or, for [`ApplicationError::AppliedAt`], `applied_at`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    /// No licence application with this transaction id was accepted.
    #[error("field application: tx {0} is not a licence application on the ledger")]
    NotFound(TxId),
    /// The application is about another enterprise.
    #[error("field application: tx {tx} is an application of enterprise {of}, not {decided}")]
    OtherEnterprise {
        /// The application.
        tx: TxId,
        /// Its enterprise.
        of: EnterpriseId,
        /// The decision's enterprise.
        decided: EnterpriseId,
    },
    /// The application was filed with another agency.
    #[error("field application: tx {tx} was filed with agency {filed_with}; agency {deciding} cannot answer it")]
    OtherAgency {
        /// The application.
        tx: TxId,
        /// Where it was filed.
        filed_with: String,
        /// The deciding agency.
        deciding: String,
    },
    /// The application is about another licence number.
    #[error("field application: tx {tx} is for licence {applied:?}, not {decided:?}")]
    OtherLicence {
        /// The application.
        tx: TxId,
        /// Its licence number.
        applied: String,
        /// The decision's licence number.
        decided: String,
    },
    /// A decision already answered it.
    #[error("field application: tx {tx} was already answered by tx {by}")]
    Answered {
        /// The application.
        tx: TxId,
        /// The earlier decision.
        by: TxId,
    },
    /// A correction withdrew it.
    #[error("field application: tx {tx} was withdrawn by tx {by}")]
    Withdrawn {
        /// The application.
        tx: TxId,
        /// The correction.
        by: TxId,
    },
    /// A grant or renewal of another licence type than applied for.
    #[error("field licence_type: tx {tx} applied for {applied:?}, not {decided:?}")]
    OtherType {
        /// The application.
        tx: TxId,
        /// Its licence type.
        applied: String,
        /// The decision's.
        decided: String,
    },
    /// A decision naming another industry than the application (or none).
    #[error("field industry: tx {tx} names industry {applied:?}; the decision names {decided:?}")]
    OtherIndustry {
        /// The application.
        tx: TxId,
        /// Its industry.
        applied: Option<String>,
        /// The decision's.
        decided: Option<String>,
    },
    /// A grant or renewal while a notice of missing materials awaits them.
    #[error("field application: tx {tx} awaits the materials named by notice tx {notice}; record their resupply (application_step resupplied) before a grant or renewal")]
    AwaitingMaterials {
        /// The application.
        tx: TxId,
        /// The notice.
        notice: TxId,
    },
    /// The decision's `applied_at` is not the application's filing date.
    #[error(
        "field applied_at: {given} disagrees with the filing date {filed} of application tx {tx}"
    )]
    AppliedAt {
        /// The application.
        tx: TxId,
        /// `applied_at` as given.
        given: String,
        /// The filing date.
        filed: String,
    },
}

impl ApplicationError {
    /// The decision's field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ApplicationError::AppliedAt { .. } => "applied_at",
            ApplicationError::OtherType { .. } => "licence_type",
            ApplicationError::OtherIndustry { .. } => "industry",
            _ => "application",
        }
    }
}

impl From<ApplicationError> for Refusal {
    fn from(e: ApplicationError) -> Refusal {
        Refusal::new(R0_APPLICATION, e.to_string())
    }
}

/// The application recorded by `tx`, if any.
pub fn get(state: &dyn StateRead, tx: &TxId) -> Option<ApplicationState> {
    read(state, &keys::application(tx))
}

/// Records an application (rules in the module docs).
pub fn file(
    view: &mut Overlay<'_>,
    ent: &EnterpriseState,
    a: &LicenceApplication,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    duplicate::claim(
        view,
        TxKind::LicenceApplication,
        &ent.id,
        "application_id",
        &a.application_id,
        rc,
    )?;
    if let Some(text) = &a.industry {
        IndustryCode::parse(text).map_err(|e| Refusal::new(R0_INDUSTRY, e.to_string()))?;
    }
    let held = a
        .licence_number
        .as_ref()
        .and_then(|n| ent.licences.get(n).map(|l| (n, l)));
    if let Some((number, l)) = held {
        if l.agency != rc.agency {
            return Err(Refusal::new(
                R0_LICENCE_AGENCY,
                format!(
                    "licence {number} of enterprise {} is held under agency {} (tx {}); an \
                     application for it is filed with that agency, not {}",
                    ent.id, l.agency, l.last_decision, rc.agency
                ),
            ));
        }
        if a.kind == LicenceApplicationKind::Renewal {
            if l.status == LicenceStatus::Revoked {
                return Err(Refusal::new(
                    R0_LICENCE_STATUS,
                    format!(
                        "licence {number} of enterprise {} is revoked (tx {}); it cannot be \
                         renewed, only applied for anew",
                        ent.id, l.last_decision
                    ),
                ));
            }
            if let Some(expiry) = l.valid_until {
                let months = params.renewal_lead_months;
                let latest = sub_months(expiry, months);
                if rc.effective_at > latest {
                    return Err(Refusal::new(
                        R0_RENEWAL_LEAD,
                        format!(
                            "licence {number} of enterprise {} expires {} (tx {}); a renewal \
                             must be applied for by {} (renewal_lead_months = {months}) but \
                             application {:?} was filed {}",
                            ent.id,
                            when(expiry),
                            l.last_decision,
                            when(latest),
                            a.application_id,
                            when(rc.effective_at)
                        ),
                    ));
                }
            }
        }
    }
    view.put(
        keys::application(&rc.tx_id),
        &ApplicationState {
            enterprise: ent.id.clone(),
            agency: rc.agency.to_string(),
            application_id: a.application_id.clone(),
            kind: a.kind,
            licence_number: a.licence_number.clone(),
            licence_type: a.licence_type.clone(),
            industry: a.industry.clone(),
            filed_at: rc.effective_at,
            answered_by: None,
            withdrawn_by: None,
            notice_due: overdue_from(rc.effective_at, params.licence_notice_working_days, params),
            accepted: None,
            notice: None,
            resupplied: None,
            decision_due: Some(overdue_from(
                rc.effective_at,
                params.licence_decision_working_days,
                params,
            )),
            answered_at: None,
        },
    );
    Ok(())
}

/// The application date a decision shows: the filing date of the application it answers
/// (marked answered by `rc.tx_id`), else its own `applied_at`. Errors in the module docs.
pub fn answer(
    view: &mut Overlay<'_>,
    ent: &EnterpriseState,
    d: &LicenceDecision,
    rc: &RecordContext<'_>,
) -> Result<Option<Timestamp>, ApplicationError> {
    let Some(tx) = d.application else {
        return Ok(d.applied_at);
    };
    let Some(mut app) = get(view, &tx) else {
        return Err(ApplicationError::NotFound(tx));
    };
    if app.enterprise != ent.id {
        return Err(ApplicationError::OtherEnterprise {
            tx,
            of: app.enterprise,
            decided: ent.id.clone(),
        });
    }
    if app.agency != rc.agency {
        return Err(ApplicationError::OtherAgency {
            tx,
            filed_with: app.agency,
            deciding: rc.agency.to_string(),
        });
    }
    if let Some(n) = &app.licence_number {
        if *n != d.licence_number {
            return Err(ApplicationError::OtherLicence {
                tx,
                applied: n.clone(),
                decided: d.licence_number.clone(),
            });
        }
    }
    if let Some(by) = app.withdrawn_by {
        return Err(ApplicationError::Withdrawn { tx, by });
    }
    if let Some(by) = app.answered_by {
        return Err(ApplicationError::Answered { tx, by });
    }
    let grants = matches!(
        d.kind,
        LicenceDecisionKind::Grant | LicenceDecisionKind::Renew
    );
    if grants && d.licence_type != app.licence_type {
        return Err(ApplicationError::OtherType {
            tx,
            applied: app.licence_type,
            decided: d.licence_type.clone(),
        });
    }
    if app.industry.is_some() && d.industry != app.industry {
        return Err(ApplicationError::OtherIndustry {
            tx,
            applied: app.industry,
            decided: d.industry.clone(),
        });
    }
    if let Some(notice) = app.notice.as_ref().filter(|_| app.awaiting_materials()) {
        if matches!(
            d.kind,
            LicenceDecisionKind::Grant | LicenceDecisionKind::Renew
        ) {
            return Err(ApplicationError::AwaitingMaterials {
                tx,
                notice: notice.tx,
            });
        }
    }
    if let Some(given) = d.applied_at {
        if given != app.filed_at {
            return Err(ApplicationError::AppliedAt {
                tx,
                given: when(given),
                filed: when(app.filed_at),
            });
        }
    }
    app.answered_by = Some(rc.tx_id);
    app.answered_at = Some(rc.effective_at);
    let filed = app.filed_at;
    view.put(keys::application(&tx), &app);
    Ok(Some(filed))
}

/// Withdraws application `tx` (a correction by its agency): no decision may answer it
/// any more. Refuses (R0-reference) one already answered or withdrawn.
pub fn withdraw(view: &mut Overlay<'_>, tx: &TxId, by: TxId) -> Result<(), Refusal> {
    let Some(mut app) = get(view, tx) else {
        return Err(Refusal::new(
            super::R0_REFERENCE,
            format!("tx {tx} is not a licence application on the ledger"),
        ));
    };
    if let Some(done) = app.answered_by.or(app.withdrawn_by) {
        return Err(Refusal::new(
            super::R0_REFERENCE,
            format!(
                "application {:?} (tx {tx}) was already answered or withdrawn by tx {done}; \
                 correct that record instead",
                app.application_id
            ),
        ));
    }
    app.withdrawn_by = Some(by);
    view.put(keys::application(tx), &app);
    Ok(())
}

/// Records a step on an application (rules in the module docs).
pub fn step(
    view: &mut Overlay<'_>,
    ent: &EnterpriseState,
    s: &ApplicationStep,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let refuse = |why: String| Refusal::new(R0_APPLICATION_STEP, why);
    let tx = s.application;
    let Some(mut app) = get(view, &tx) else {
        return Err(refuse(format!(
            "tx {tx} is not a licence application on the ledger"
        )));
    };
    let name = app.application_id.clone();
    if app.enterprise != ent.id {
        return Err(refuse(format!(
            "application {name:?} (tx {tx}) is of enterprise {}, not {}",
            app.enterprise, ent.id
        )));
    }
    if app.agency != rc.agency {
        return Err(refuse(format!(
            "application {name:?} (tx {tx}) was filed with agency {}; only it takes its \
             steps, not {}",
            app.agency, rc.agency
        )));
    }
    if let Some(done) = app.answered_by.or(app.withdrawn_by) {
        return Err(refuse(format!(
            "application {name:?} (tx {tx}) was already answered or withdrawn by tx {done}"
        )));
    }
    let at = rc.effective_at;
    match &s.step {
        ApplicationStepKind::Accept => {
            if let Some(n) = &app.notice {
                return Err(refuse(format!(
                    "application {name:?} (tx {tx}) awaits the materials notice tx {} named: \
                     their complete resupply accepts it (step resupplied)",
                    n.tx
                )));
            }
            if let Some((by, _)) = app.accepted {
                return Err(refuse(format!(
                    "application {name:?} (tx {tx}) was already accepted by tx {by}"
                )));
            }
            app.accepted = Some((rc.tx_id, at));
        }
        ApplicationStepKind::NotifyMissing { items } => {
            if let Some(n) = &app.notice {
                return Err(refuse(format!(
                    "application {name:?} (tx {tx}) had its one-time notice of missing \
                     materials in tx {}: a second notice is not allowed (Administrative \
                     Licensing Law art. 32)",
                    n.tx
                )));
            }
            if let Some((by, _)) = app.accepted {
                return Err(refuse(format!(
                    "application {name:?} (tx {tx}) was accepted by tx {by}: its materials \
                     are complete"
                )));
            }
            if at >= app.notice_due {
                return Err(refuse(format!(
                    "the notice of missing materials for application {name:?} (tx {tx}, filed \
                     {}) was due before {} (licence_notice_working_days = {}); past it the \
                     application counts as accepted from its filing",
                    when(app.filed_at),
                    when(app.notice_due),
                    params.licence_notice_working_days
                )));
            }
            app.notice = Some(MissingNotice {
                tx: rc.tx_id,
                at,
                items: items.clone(),
            });
            app.decision_due = None;
        }
        ApplicationStepKind::Resupplied => {
            let Some(n) = &app.notice else {
                return Err(refuse(format!(
                    "application {name:?} (tx {tx}) had no notice of missing materials to \
                     resupply"
                )));
            };
            if let Some((by, _)) = app.resupplied {
                return Err(refuse(format!(
                    "the materials notice tx {} named were already resupplied (tx {by})",
                    n.tx
                )));
            }
            if at < n.at {
                return Err(refuse(format!(
                    "a resupply effective {} precedes the notice tx {} of {}",
                    when(at),
                    n.tx,
                    when(n.at)
                )));
            }
            app.resupplied = Some((rc.tx_id, at));
            app.decision_due = Some(overdue_from(
                at,
                params.licence_decision_working_days,
                params,
            ));
        }
    }
    view.put(keys::application(&tx), &app);
    Ok(())
}
