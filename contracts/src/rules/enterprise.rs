//! R0-enterprise and R0-linked-ids: enterprises are created on first sight by an
//! enterprise record; other records need the enterprise first (DESIGN §5 "An enterprise
//! record (name, address, ids held at each agency) is created on first sight and ids can
//! be linked").

use super::{RecordContext, Refusal, RuleParams, R0_ENTERPRISE, R0_LINKED_IDS};
use crate::model::{
    AccidentSummary, AgencyEntry, Assessment, EnterpriseState, InspectionSummary, PenaltySummary,
};
use crate::query;
use crate::state::StateRead;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{EnterpriseRecord, TxKind};
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
                "enterprise {id} is unknown: a {} needs an enterprise_record for it first",
                kind.name()
            ),
        )
    })
}

/// Applies an enterprise record: creates the enterprise, or updates its name and address
/// (the latest record wins), merges its linked ids and records what this agency reported.
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
    for l in &rec.linked_ids {
        if let Err(e) = EnterpriseId::parse(l) {
            return Err(Refusal::new(
                R0_LINKED_IDS,
                format!("linked id {l:?} is not an enterprise id: {e}"),
            ));
        }
    }
    let mut ent = existing.unwrap_or_else(|| EnterpriseState {
        id: rec.enterprise.clone(),
        name: String::new(),
        address: String::new(),
        linked_ids: BTreeSet::new(),
        first_seen_height: rc.height,
        first_seen_tx: rc.tx_id,
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
    });
    let before = ent.linked_ids.len();
    ent.linked_ids.extend(rec.linked_ids.iter().cloned());
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
    ent.name.clone_from(&rec.name);
    ent.address.clone_from(&rec.address);
    let entry = ent
        .agencies
        .entry(rc.agency.to_string())
        .or_insert_with(|| AgencyEntry {
            name: String::new(),
            address: String::new(),
            linked_ids: BTreeSet::new(),
            last_record: rc.tx_id,
        });
    entry.name.clone_from(&rec.name);
    entry.address.clone_from(&rec.address);
    entry.linked_ids.extend(rec.linked_ids.iter().cloned());
    entry.last_record = rc.tx_id;
    Ok(ent)
}
