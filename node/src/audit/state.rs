//! State proofs served to auditors (issue 22 item 2): an enterprise's `ent/` state key —
//! its licences, blacklist listings, risk level and credit grade — after a height, proven
//! against the state root header h+1 names ([`safeledger_core::view::StateProofDoc`]).
//!
//! The node keeps the state map of its last
//! [`crate::store::state_map::KEEP_VERSIONS`] heights; a height below them is refused as
//! unsupported (an archive of older state is not built).

use super::{validator_path, AuditError};
use crate::store::{Store, StoreError};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::view::{StateEntry, StateProofDoc, MAX_STATE_ENTRIES, STATE_PROOF_FORMAT};

/// The state proof of `enterprises` (ids) after `height`; 0 picks the latest height whose
/// header h+1 is committed and whose values this node still holds.
///
/// # Errors
/// [`AuditError::Invalid`] for a bad id or count; [`AuditError::NotYet`] when header h+1 is
/// not committed (or, for the latest, an enterprise changed in the last block after a long
/// quiet spell: ask again after the next block); [`AuditError::Unsupported`] for a height
/// older than the versions kept.
pub fn state_proof(
    store: &Store,
    enterprises: &[String],
    height: u64,
) -> Result<StateProofDoc, AuditError> {
    if enterprises.is_empty() || enterprises.len() > MAX_STATE_ENTRIES {
        return Err(AuditError::Invalid(format!(
            "{} enterprises: a state proof holds 1 to {MAX_STATE_ENTRIES}",
            enterprises.len()
        )));
    }
    let mut keys = Vec::with_capacity(enterprises.len());
    for e in enterprises {
        let id = EnterpriseId::parse(e)
            .map_err(|why| AuditError::Invalid(format!("enterprise id {e:?}: {why}")))?;
        keys.push(safeledger_contracts::keys::enterprise(&id));
    }
    let tip = store.tip()?.map_or(0, |t| t.height);
    let Some((oldest, _)) = store.state_heights() else {
        return Err(AuditError::NotYet("the state map is not built yet".into()));
    };
    if tip == 0 {
        return Err(AuditError::NotYet(
            "no block is committed: the state after height h is proven by header h+1".into(),
        ));
    }
    let candidates: Vec<u64> = if height == 0 {
        (oldest..tip).rev().collect()
    } else if height >= tip {
        return Err(AuditError::NotYet(format!(
            "the state after height {height} is proven by header {}, and the last committed \
             height is {tip}",
            height.saturating_add(1)
        )));
    } else if height < oldest {
        return Err(AuditError::Unsupported(format!(
            "this node keeps the state map of heights {oldest} to {tip} only; older state \
             needs an archive, which is not built"
        )));
    } else {
        vec![height]
    };
    for h in candidates {
        let values: Option<Vec<Option<Vec<u8>>>> =
            keys.iter().map(|k| store.state_value_at(h, k)).collect();
        let (Some(values), Some(tree)) = (values, store.state_tree_at(h)) else {
            continue;
        };
        let next = store
            .block(h + 1)?
            .ok_or_else(|| AuditError::NotFound(format!("no block at height {}", h + 1)))?;
        let certificate = store
            .certificate(h + 1)?
            .ok_or_else(|| AuditError::NotFound(format!("no certificate at height {}", h + 1)))?;
        if next.header.state_root != tree.root() {
            return Err(AuditError::Store(StoreError::Corrupt {
                key: format!("state map at height {h}"),
                why: format!(
                    "root {} differs from header {}'s state_root {}",
                    tree.root(),
                    h + 1,
                    next.header.state_root
                ),
            }));
        }
        let entries = keys
            .iter()
            .zip(values)
            .map(|(k, value)| StateEntry {
                proof: tree.prove(k),
                key: k.clone(),
                value,
            })
            .collect();
        return Ok(StateProofDoc {
            format: STATE_PROOF_FORMAT.into(),
            version: safeledger_core::view::VIEW_VERSION,
            chain_id: next.header.chain_id.clone(),
            height: h,
            validator_path: validator_path(store, &next.header)?,
            header: next.header,
            certificate,
            entries,
        });
    }
    Err(AuditError::NotYet(format!(
        "the values at height {} are no longer held (changed since, last written before \
         height {oldest}); ask for the latest height",
        if height == 0 { tip - 1 } else { height }
    )))
}
