//! The routine inspection plan (issue 20 item 1): the regulator's text asks every licensed
//! enterprise to be inspected at least twice a year, more often at high risk, less often
//! after three years without an accident.
//!
//! For a licensed enterprise (one active licence or more), each agency whose standing
//! inspection findings name it plans its next routine inspection: the governed
//! [`RuleParams::routine_inspections_per_year`] of the enterprise's risk level, one fewer
//! (never below one) when it has been licensed for
//! [`RuleParams::accident_free_relief_years`] without an accident — judged at the plan's
//! time — so the next one is due `⌊365 / per year⌋` days after that agency's latest
//! inspection. Due inspections are inbox tasks ([`crate::query::tasks`], relief judged at
//! the latest inspection, since a task does not depend on the time) and `safeledger plan`
//! lists them per agency (relief judged at the asked time). An agency's first inspection
//! of an enterprise indexes it under `ainsp/` so the plan need not scan every enterprise.

use crate::clock::sub_months;
use crate::model::{EnterpriseState, FindingKind, LicenceStatus, RiskLevel};
use crate::params::RuleParams;
use crate::state::{Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// One agency's next routine inspection of one enterprise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// The inspecting agency.
    pub agency: String,
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// Its name.
    pub name: String,
    /// Its risk level.
    pub risk: RiskLevel,
    /// Routine inspections a year that apply.
    pub per_year: u64,
    /// The accident-free relief applied.
    pub relief: bool,
    /// The agency's latest inspection: its transaction and effective date.
    pub last_inspection: (TxId, Timestamp),
    /// When the next one is due.
    pub due: Timestamp,
}

/// Whether `e` earns the accident-free relief at `at`: licensed since at least
/// `accident_free_relief_years` before `at`, and no accident in those years.
pub fn relief(e: &EnterpriseState, params: &RuleParams, at: Timestamp) -> bool {
    let since = sub_months(at, params.accident_free_relief_years.saturating_mul(12));
    let licensed_long = e
        .licences
        .values()
        .filter_map(|l| l.valid_from)
        .any(|from| from <= since);
    let accident_free = e.accidents.last_accident_at.is_none_or(|t| t <= since);
    licensed_long && accident_free
}

/// The routine plan of `e`: one entry per agency that inspected it, when it is licensed;
/// relief judged at `at`, or at each agency's latest inspection when `None`.
pub fn routine(e: &EnterpriseState, params: &RuleParams, at: Option<Timestamp>) -> Vec<PlanEntry> {
    if !e
        .licences
        .values()
        .any(|l| l.status == LicenceStatus::Active)
    {
        return Vec::new();
    }
    let mut last: std::collections::BTreeMap<&str, (TxId, Timestamp)> = Default::default();
    for f in e.findings.iter().filter(|f| f.standing()) {
        if matches!(f.what, FindingKind::Inspection { .. }) {
            let slot = last.entry(f.agency.as_str()).or_insert((f.tx_id, f.at));
            if f.at >= slot.1 {
                *slot = (f.tx_id, f.at);
            }
        }
    }
    let risk = e.assessment.risk;
    let base = params.routine_inspections_per_year[risk.index()].max(1);
    last.into_iter()
        .map(|(agency, (tx, when))| {
            let relief = relief(e, params, at.unwrap_or(when));
            let per_year = if relief { (base - 1).max(1) } else { base };
            PlanEntry {
                agency: agency.to_string(),
                enterprise: e.id.clone(),
                name: e.name.clone(),
                risk,
                per_year,
                relief: relief && base > 1,
                last_inspection: (tx, when),
                due: when.plus_days(365 / per_year),
            }
        })
        .collect()
}

fn marker_key(agency: &str, e: &EnterpriseId) -> Vec<u8> {
    format!("ainsp-m/{agency}/{e}").into_bytes()
}

/// Indexes `e` under `agency`'s inspected enterprises, the first time it inspects it.
pub fn index_inspected(view: &mut Overlay<'_>, agency: &str, e: &EnterpriseId) {
    let marker = marker_key(agency, e);
    if view.get(&marker).is_some() {
        return;
    }
    crate::state::list_push(view, &format!("ainsp/{agency}"), e);
    view.put(marker, &true);
}

/// `agency`'s routine plan at `at`: every entry of the enterprises it inspected, by due
/// date.
pub fn agency_plan(state: &dyn StateRead, agency: &str, at: Timestamp) -> Vec<PlanEntry> {
    let params = RuleParams::load(state, &RuleParams::default());
    let ids: Vec<EnterpriseId> = crate::state::list_read(state, &format!("ainsp/{agency}"));
    let mut out: Vec<PlanEntry> = ids
        .iter()
        .filter_map(|id| crate::query::enterprise(state, id))
        .flat_map(|e| routine(&e, &params, Some(at)))
        .filter(|p| p.agency == agency)
        .collect();
    out.sort_by(|a, b| (a.due, &a.enterprise).cmp(&(b.due, &b.enterprise)));
    out
}
