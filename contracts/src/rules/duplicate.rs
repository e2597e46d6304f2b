//! R0-duplicate: an agency records each record about an enterprise once — the same kind
//! with the same natural key ([`safeledger_core::records::identity`]: inspection id, case
//! id, report id, application id, licence number + decision kind + `valid_from`, and for
//! enterprise records the same field values as the agency's latest record of it). The claim key is
//! (kind, agency, enterprise, natural key); its value names the first record so a refusal
//! can point at it. [`find`] answers the importer's question "is this already on the
//! ledger?" by the same rule.

use super::{RecordContext, Refusal, R0_DUPLICATE};
use crate::keys;
use crate::model::EnterpriseState;
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

/// Refuses an enterprise record of `rc.agency` whose field values are those of its latest
/// record about the enterprise that counts (the same values again; a change — including a
/// return to earlier values — is an update), and claims the values' digest, so that the
/// importer finds a record it committed before ([`find`]). A record that withholds a field
/// (`withholds`) is not refused: its private value cannot be compared on chain.
pub fn claim_values(
    view: &mut Overlay<'_>,
    existing: Option<&EnterpriseState>,
    r: &EnterpriseRecord,
    withholds: bool,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let digest = values_digest(r);
    let latest = existing
        .and_then(|e| e.agencies.get(rc.agency))
        .and_then(|a| a.records.iter().rev().find(|x| x.set_aside.is_none()));
    if let Some(last) = latest {
        let same = enterprise_values_digest(&last.name, &last.address, &last.linked_ids) == digest;
        if same && !withholds {
            return Err(Refusal::new(
                R0_DUPLICATE,
                format!(
                    "agency {} already recorded enterprise {} with these values (name, \
                     address, linked ids) in tx {}, its latest record of it",
                    rc.agency, r.enterprise, last.tx_id
                ),
            ));
        }
    }
    let key = keys::duplicate(
        TxKind::EnterpriseRecord,
        rc.agency,
        &r.enterprise,
        &digest.to_hex(),
    );
    view.put(key, &rc.tx_id);
    Ok(())
}

/// Notes a refused record under its natural key (`None` key: nothing), so that a rerun of
/// an import finds it on the ledger and does not submit it again; the first refusal is
/// kept, and a refusal as a duplicate is not noted (the claim it met answers).
pub fn note_refused(view: &mut Overlay<'_>, agency: &str, k: Option<NaturalKey>, tx: TxId) {
    let Some(k) = k else { return };
    let key = keys::refused_record(k.kind, agency, k.enterprise.as_ref(), &k.key);
    if read::<TxId>(view, &key).is_none() {
        view.put(key, &tx);
    }
}

/// The committed record of `agency` that a record with natural key `k` would duplicate,
/// if any: the claim of an accepted record (the rule of [`claim`] and [`claim_values`]),
/// else a refused record with the same key ([`note_refused`]); for governance, the
/// proposal exists — for a vote: and `agency` voted on it, answered with the proposal's
/// transaction, as votes are kept on the proposal.
pub fn find(state: &dyn StateRead, agency: &str, k: &NaturalKey) -> Option<TxId> {
    let accepted = match (k.kind, &k.enterprise) {
        (TxKind::GovernanceProposal, None) => {
            crate::governance::proposal(state, &k.key).map(|p| p.tx_id)
        }
        (TxKind::GovernanceVote, None) => crate::governance::proposal(state, &k.key)
            .filter(|p| p.votes.contains_key(agency))
            .map(|p| p.tx_id),
        (kind, Some(id)) => read(state, &keys::duplicate(kind, agency, id, &k.key)),
        (_, None) => None,
    };
    accepted.or_else(|| {
        read(
            state,
            &keys::refused_record(k.kind, agency, k.enterprise.as_ref(), &k.key),
        )
    })
}
