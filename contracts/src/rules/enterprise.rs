//! R0-enterprise and R0-linked-ids: enterprises are created on first sight by an
//! enterprise record; other records need the enterprise first (DESIGN §5 "An enterprise
//! record (name, address, ids held at each agency) is created on first sight and ids can
//! be linked").

use super::{RecordContext, Refusal, RuleParams, R0_ENTERPRISE, R0_LINKED_IDS, R0_REFERENCE};
use crate::model::{
    AccidentSummary, AgencyEntry, Assessment, EnterpriseRecordEntry, EnterpriseState,
    InspectionSummary, PenaltySummary,
};
use crate::query;
use crate::state::StateRead;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{EnterpriseRecord, TxKind};
use safeledger_core::TxId;
use std::collections::{BTreeMap, BTreeSet};

/// R0-enterprise: the enterprise a follow-up record (licence decision, inspection,
/// penalty, accident) is about must exist.
pub fn require_known(
    state: &dyn StateRead,
    id: &EnterpriseId,
    kind: TxKind,
) -> Result<EnterpriseState, Refusal> {
    query::enterprise(state, id).ok_or_else(|| {
        Refusal::new(
            R0_ENTERPRISE,
            format!(
                "enterprise {id} is unknown: {} needs an enterprise_record for it first",
                super::a_kind(kind)
            ),
        )
    })
}

/// Applies an enterprise record: creates the enterprise, or updates its name and address
/// (the latest record that counts wins), merges its linked ids and records what this
/// agency reported ([`AgencyEntry::records`], so that a correction can set it aside).
///
/// R0-linked-ids refuses a linked id that is not a valid enterprise id (`namespace:local`
/// or a unified social credit code, `EnterpriseId::parse`) and a merge that would hold
/// more than [`RuleParams::max_linked_ids`] ids.
pub fn apply_record(
    existing: Option<EnterpriseState>,
    rec: &EnterpriseRecord,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<EnterpriseState, Refusal> {
    check_linked_syntax(rec)?;
    let mut ent = existing.unwrap_or_else(|| EnterpriseState {
        id: rec.enterprise.clone(),
        name: String::new(),
        address: String::new(),
        linked_ids: BTreeSet::new(),
        first_seen_height: rc.height,
        first_seen_tx: rc.tx_id,
        created_by: rc.agency.to_string(),
        agencies: BTreeMap::new(),
        licences: BTreeMap::new(),
        inspections: InspectionSummary::default(),
        penalties: PenaltySummary::default(),
        accidents: AccidentSummary::default(),
        record_count: 0,
        findings: Vec::new(),
        listings: Vec::new(),
        appeals: Vec::new(),
        assessment: Assessment::default(),
        escalations: Vec::new(),
        alert_escalations: Vec::new(),
    });
    let entry = EnterpriseRecordEntry {
        tx_id: rc.tx_id,
        position: ent.record_count,
        name: rec.name.clone(),
        address: rec.address.clone(),
        linked_ids: rec.linked_ids.clone(),
        set_aside: None,
        amended_by: None,
    };
    let agency = ent
        .agencies
        .entry(rc.agency.to_string())
        .or_insert_with(|| AgencyEntry {
            name: String::new(),
            address: String::new(),
            linked_ids: BTreeSet::new(),
            last_record: rc.tx_id,
            records: Vec::new(),
            earlier_linked_ids: BTreeSet::new(),
        });
    agency.records.push(entry);
    if agency.records.len() > MAX_RECORD_HISTORY {
        let dropped: Vec<EnterpriseRecordEntry> = agency
            .records
            .drain(..agency.records.len() - MAX_RECORD_HISTORY)
            .collect();
        for d in dropped.iter().filter(|d| d.set_aside.is_none()) {
            agency
                .earlier_linked_ids
                .extend(d.linked_ids.iter().cloned());
        }
    }
    let before = ent.linked_ids.len();
    recompute(&mut ent);
    check_linked_count(&ent, before, params)?;
    Ok(ent)
}

/// R0-linked-ids: at most [`RuleParams::max_linked_ids`] over all agencies.
fn check_linked_count(
    ent: &EnterpriseState,
    before: usize,
    params: &RuleParams,
) -> Result<(), Refusal> {
    if ent.linked_ids.len() as u64 > params.max_linked_ids {
        return Err(Refusal::new(
            R0_LINKED_IDS,
            format!(
                "enterprise {} would hold {} linked ids ({before} recorded, first by tx {}), \
                 over max_linked_ids = {}",
                ent.id,
                ent.linked_ids.len(),
                ent.first_seen_tx,
                params.max_linked_ids
            ),
        ));
    }
    Ok(())
}

/// Most enterprise records each agency's [`AgencyEntry::records`] keeps; bounds the
/// enterprise value.
pub const MAX_RECORD_HISTORY: usize = 16;

/// Recomputes what the enterprise records say from those that count: each agency's name,
/// address and linked ids from its latest record (ids merged over all of them), the
/// enterprise's name and address from the latest record by any agency, its linked ids as
/// the union over agencies. An agency none of whose records counts keeps empty fields;
/// the enterprise keeps its last name and address when no record by any agency counts.
pub fn recompute(ent: &mut EnterpriseState) {
    let mut latest: Option<(u64, String, String)> = None;
    let mut all = BTreeSet::new();
    for a in ent.agencies.values_mut() {
        let standing: Vec<&EnterpriseRecordEntry> =
            a.records.iter().filter(|r| r.set_aside.is_none()).collect();
        a.linked_ids = a.earlier_linked_ids.clone();
        a.linked_ids
            .extend(standing.iter().flat_map(|r| r.linked_ids.iter().cloned()));
        match standing.last() {
            Some(r) => {
                a.name.clone_from(&r.name);
                a.address.clone_from(&r.address);
                a.last_record = r.tx_id;
                if latest.as_ref().is_none_or(|(p, _, _)| r.position > *p) {
                    latest = Some((r.position, r.name.clone(), r.address.clone()));
                }
            }
            None => {
                a.name.clear();
                a.address.clear();
            }
        }
        all.extend(a.linked_ids.iter().cloned());
    }
    ent.linked_ids = all;
    if let Some((_, name, address)) = latest {
        ent.name = name;
        ent.address = address;
    }
}

/// A correction of enterprise record `tx` by `agency`: withdraws it, or amends it to
/// `amended` (linked ids checked as for a new record). `by` is the correction.
pub fn correct_record(
    ent: &mut EnterpriseState,
    agency: &str,
    tx: &TxId,
    amended: Option<&EnterpriseRecord>,
    by: TxId,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let found = ent
        .agencies
        .get_mut(agency)
        .and_then(|a| a.records.iter_mut().find(|r| r.tx_id == *tx));
    let Some(entry) = found else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "enterprise record tx {tx} is older than the last {MAX_RECORD_HISTORY} \
                 records agency {agency} made about enterprise {}; record a new one instead",
                ent.id
            ),
        ));
    };
    if let Some(s) = entry.set_aside {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!("enterprise record tx {tx} was already withdrawn by tx {s}"),
        ));
    }
    match amended {
        None => entry.set_aside = Some(by),
        Some(rec) => {
            check_linked_syntax(rec)?;
            entry.name.clone_from(&rec.name);
            entry.address.clone_from(&rec.address);
            entry.linked_ids.clone_from(&rec.linked_ids);
            entry.amended_by = Some(by);
        }
    }
    let before = ent.linked_ids.len();
    recompute(ent);
    check_linked_count(ent, before, params)
}

fn check_linked_syntax(rec: &EnterpriseRecord) -> Result<(), Refusal> {
    for l in &rec.linked_ids {
        if let Err(e) = EnterpriseId::parse(l) {
            return Err(Refusal::new(
                R0_LINKED_IDS,
                format!("linked id {l:?} is not an enterprise id: {e}"),
            ));
        }
    }
    Ok(())
}
