//! Erasing the private field values of one committed transaction at this node (DESIGN §4
//! "Private fields"; issue 5 item 7): the request behind the `ErasePrivate` RPC and
//! `safeledger private erase`. Field names are resolved against the committed transaction;
//! the erasure itself (key destruction, tombstones) is [`PrivateStore::erase`].

use crate::private_store::{Erased, PrivateStore, PrivateStoreError};
use crate::store::{Store, StoreError};
use safeledger_core::{Timestamp, TxId};

/// Why an erasure request was refused.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The transaction is not committed on this node.
    #[error("transaction {0} is not committed on this node")]
    NotFound(TxId),
    /// The record has no field of that name.
    #[error("a {kind} record has no field {name:?}; its fields are {fields}")]
    UnknownField {
        /// The name asked for.
        name: String,
        /// The record kind.
        kind: &'static str,
        /// Its field names, comma-separated.
        fields: String,
    },
    /// The field is public in this transaction: its value is on every node.
    #[error("field {name:?} of {tx} is public (replicated with its value): only a private field can be erased")]
    NotPrivate {
        /// The transaction.
        tx: TxId,
        /// The field.
        name: String,
    },
    /// This node never held the value (another agency recorded it, or no grant brought
    /// it here).
    #[error("this node never held the value of field {name:?} of {tx}: nothing to erase here")]
    NotHeld {
        /// The transaction.
        tx: TxId,
        /// The field.
        name: String,
    },
    /// This node holds no private value of the transaction, and erased none.
    #[error("this node holds no private value of {0} (another agency recorded it, or no grant brought one here): nothing to erase")]
    NothingHeld(TxId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The private store failed.
    #[error(transparent)]
    Private(PrivateStoreError),
}

/// Erases, at time `now`, the values of the private fields `fields` of committed
/// transaction `id` (every private field held or erased here when `fields` is empty).
/// Returns the tombstones of the fields concerned, by index.
pub fn erase(
    store: &Store,
    private: &PrivateStore,
    id: &TxId,
    fields: &[String],
    now: Timestamp,
) -> Result<Vec<Erased>, EraseError> {
    let (h, i) = store.tx_location(id)?.ok_or(EraseError::NotFound(*id))?;
    let tx = store
        .block(h)?
        .and_then(|b| b.txs.get(i as usize).cloned())
        .ok_or(EraseError::NotFound(*id))?;
    let p = &tx.payload;
    let names: Vec<&str> = p.body.fields().iter().map(|(n, _)| *n).collect();
    let mut which = Vec::with_capacity(fields.len());
    for name in fields {
        let Some(index) = names.iter().position(|n| n == name) else {
            return Err(EraseError::UnknownField {
                name: name.clone(),
                kind: p.body.kind().name(),
                fields: names.join(","),
            });
        };
        if !p.withheld.iter().any(|w| w.index as usize == index) {
            return Err(EraseError::NotPrivate {
                tx: *id,
                name: name.clone(),
            });
        }
        which.push(index as u16);
    }
    let which = (!which.is_empty()).then_some(which.as_slice());
    private.erase(id, which, now).map_err(|e| match e {
        PrivateStoreError::NotHeld { index, .. } => EraseError::NotHeld {
            tx: *id,
            name: names.get(index as usize).unwrap_or(&"?").to_string(),
        },
        PrivateStoreError::NothingHeld(_) => EraseError::NothingHeld(*id),
        other => EraseError::Private(other),
    })
}

/// Names of the fields of `id` this node erased (for views).
pub fn erased_names(private: &PrivateStore, id: &TxId) -> Result<Vec<String>, PrivateStoreError> {
    Ok(private.erased(id)?.into_iter().map(|e| e.name).collect())
}

/// The node's wall clock as a [`Timestamp`] (the time an erasure is recorded with).
pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}
