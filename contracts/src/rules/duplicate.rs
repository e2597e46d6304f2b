//! R0-duplicate: an agency records each record about an enterprise once — the same kind
//! with the same natural key ([`safeledger_core::records::identity`]: inspection id, case
//! id, report id, application id, licence number + decision kind + `valid_from`, and for
//! enterprise records the same field values as the agency's latest). The claim key is
//! (kind, agency, enterprise, natural key); its value names the first record so a refusal
//! can point at it. [`find`] answers the importer's question "is this already on the
//! ledger?" by the same rule.

use super::{RecordContext, Refusal, R0_DUPLICATE};
use crate::keys;
use crate::model::{EnterpriseRecordEntry, EnterpriseState};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::identity::{enterprise_values_digest, values_digest, NaturalKey};
use safeledger_core::records::{EnterpriseRecord, TxKind};
use safeledger_core::TxId;

/// Refuses when `rc.agency` already recorded a `kind` with `local_id` about `enterprise`;
/// otherwise claims the id for `rc.tx_id` in `view`.
pub fn claim(
    view: &mut Overlay<'_>,
    kind: TxKind,
    enterprise: &EnterpriseId,
    id_field: &str,
    local_id: &str,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let key = keys::duplicate(kind, rc.agency, enterprise, local_id);
    if let Some(first) = read::<TxId>(view, &key) {
        return Err(Refusal::new(
            R0_DUPLICATE,
            format!(
                "agency {} already recorded {} {id_field} {local_id:?} about enterprise \
                 {enterprise} (tx {first})",
                rc.agency,
                kind.name()
            ),
        ));
    }
    view.put(key, &rc.tx_id);
    Ok(())
}

/// The agency's latest enterprise record about the enterprise that counts (not withdrawn).
fn latest_record<'a>(e: &'a EnterpriseState, agency: &str) -> Option<&'a EnterpriseRecordEntry> {
    e.agencies
        .get(agency)?
        .records
        .iter()
        .rev()
        .find(|r| r.set_aside.is_none())
}

/// Refuses an enterprise record of `rc.agency` whose field values are those of its latest
/// record about the enterprise (the same values again; a change is an update).
pub fn same_values(
    existing: Option<&EnterpriseState>,
    r: &EnterpriseRecord,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let Some(last) = existing.and_then(|e| latest_record(e, rc.agency)) else {
        return Ok(());
    };
    if enterprise_values_digest(&last.name, &last.address, &last.linked_ids) == values_digest(r) {
        return Err(Refusal::new(
            R0_DUPLICATE,
            format!(
                "agency {} already recorded enterprise {} with these values (name, address, \
                 linked ids) in tx {}",
                rc.agency, r.enterprise, last.tx_id
            ),
        ));
    }
    Ok(())
}

/// The committed record of `agency` that a record with natural key `k` would duplicate,
/// if any (the rule of [`claim`] and [`same_values`]; for governance, the proposal
/// exists — for a vote: and `agency` voted on it, answered with the proposal's
/// transaction, as votes are kept on the proposal).
pub fn find(state: &dyn StateRead, agency: &str, k: &NaturalKey) -> Option<TxId> {
    match (k.kind, &k.enterprise) {
        (TxKind::GovernanceProposal, None) => {
            crate::governance::proposal(state, &k.key).map(|p| p.tx_id)
        }
        (TxKind::GovernanceVote, None) => crate::governance::proposal(state, &k.key)
            .filter(|p| p.votes.contains_key(agency))
            .map(|p| p.tx_id),
        (TxKind::EnterpriseRecord, Some(id)) => {
            let e = crate::query::enterprise(state, id)?;
            let last = latest_record(&e, agency)?;
            let digest = enterprise_values_digest(&last.name, &last.address, &last.linked_ids);
            (digest.to_hex() == k.key).then_some(last.tx_id)
        }
        (kind, Some(id)) => read(state, &keys::duplicate(kind, agency, id, &k.key)),
        (_, None) => None,
    }
}
