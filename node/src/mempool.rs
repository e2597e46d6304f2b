//! A bounded mempool with stateless admission checks (DESIGN §3 "Order, then execute").
//!
//! Admission: canonical size, chain id, strict signatures and field root
//! ([`Transaction::check_stateless`]), a signer registered as an officer, a sequence above
//! the signer's last committed one, not committed already. Transactions leave in arrival
//! order; within one block each signer's transactions are put in sequence order (in the
//! slots that signer occupied), so that a sequence gap never refuses an honest record.
//! Over [`MAX_MEMPOOL_TXS`] or [`MAX_MEMPOOL_BYTES`] (or the node's configured
//! [`MempoolLimits`]) new transactions are refused (the
//! caller reports `RESOURCE_EXHAUSTED`), never queued without bound.

use safeledger_core::encoding::to_canonical;
use safeledger_core::tx::TxError;
use safeledger_core::{PublicKey, Transaction, TxId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Most transactions held.
pub const MAX_MEMPOOL_TXS: usize = 100_000;
/// Most canonical bytes held (256 MiB).
pub const MAX_MEMPOOL_BYTES: usize = 256 * 1024 * 1024;

/// The pool's bounds (normally [`MAX_MEMPOOL_TXS`] and [`MAX_MEMPOOL_BYTES`]; tests lower
/// them to reach a full pool quickly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most canonical bytes held.
    pub max_bytes: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: MAX_MEMPOOL_TXS,
            max_bytes: MAX_MEMPOOL_BYTES,
        }
    }
}

/// Why a transaction was not admitted.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum AdmitError {
    /// Failed a stateless check.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The signer is not a registered officer (or was revoked).
    #[error("signer {0} is not a registered officer")]
    UnknownSigner(PublicKey),
    /// Sequence not above the signer's last committed one.
    #[error("sequence {got} is not above the last committed {last}")]
    StaleSequence {
        /// In the transaction.
        got: u64,
        /// Last committed.
        last: u64,
    },
    /// Already committed.
    #[error("already committed")]
    Committed,
    /// Pool full.
    #[error("mempool full ({0} transactions or {1} bytes)")]
    Full(usize, usize),
}

impl AdmitError {
    /// A short stable name of the refusal, for metrics (`admission_<kind>`).
    pub fn kind(&self) -> &'static str {
        match self {
            AdmitError::Invalid(_) => "admission_invalid",
            AdmitError::UnknownSigner(_) => "admission_unknown_signer",
            AdmitError::StaleSequence { .. } => "admission_stale_sequence",
            AdmitError::Committed => "admission_already_committed",
            AdmitError::Full(..) => "admission_mempool_full",
        }
    }
}

/// The pool.
#[derive(Default)]
pub struct Mempool {
    limits: MempoolLimits,
    order: VecDeque<TxId>,
    txs: BTreeMap<TxId, (Transaction, usize)>,
    bytes: usize,
    /// Leaf data of transactions whose signatures this node verified (each transaction is
    /// verified once per node; block validation skips them).
    verified: BTreeSet<[u8; 64]>,
}

impl Mempool {
    /// An empty pool with these bounds.
    pub fn with_limits(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.txs.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// True when `id` is held.
    pub fn contains(&self, id: &TxId) -> bool {
        self.txs.contains_key(id)
    }
    /// True when this exact transaction (signatures included) was verified here.
    pub fn was_verified(&self, tx: &Transaction) -> bool {
        self.verified.contains(&tx.leaf_data())
    }

    /// Admits a transaction. `known` tells whether a key is a registered officer;
    /// `last_seq` gives the signer's last committed sequence; `committed` whether an id is
    /// already on the ledger. Already held: `Ok(false)`; newly admitted: `Ok(true)`.
    pub fn admit(
        &mut self,
        tx: Transaction,
        chain_id: &str,
        known: impl Fn(&PublicKey) -> bool,
        last_seq: impl Fn(&PublicKey) -> u64,
        committed: impl Fn(&TxId) -> bool,
    ) -> Result<bool, AdmitError> {
        let id = tx.id();
        if self.txs.contains_key(&id) {
            return Ok(false);
        }
        if committed(&id) {
            return Err(AdmitError::Committed);
        }
        let size = to_canonical(&tx).len();
        let MempoolLimits { max_txs, max_bytes } = self.limits;
        if self.txs.len() >= max_txs || self.bytes + size > max_bytes {
            return Err(AdmitError::Full(max_txs, max_bytes));
        }
        tx.check_stateless(chain_id)?;
        for s in &tx.signatures {
            if !known(&s.signer) {
                return Err(AdmitError::UnknownSigner(s.signer));
            }
        }
        if let Some(sub) = tx.submitter() {
            let last = last_seq(sub);
            if tx.payload.sequence <= last {
                return Err(AdmitError::StaleSequence {
                    got: tx.payload.sequence,
                    last,
                });
            }
        }
        self.verified.insert(tx.leaf_data());
        self.bytes += size;
        self.order.push_back(id);
        self.txs.insert(id, (tx, size));
        Ok(true)
    }

    /// The highest sequence of `signer`'s transactions waiting here, if any (a linear scan;
    /// used for the rare transactions a node signs itself).
    pub fn max_sequence(&self, signer: &PublicKey) -> Option<u64> {
        self.txs
            .values()
            .filter(|(t, _)| t.submitter() == Some(signer))
            .map(|(t, _)| t.payload.sequence)
            .max()
    }

    /// Up to `max_txs` transactions totalling at most `max_bytes`, in arrival order with
    /// each signer's transactions in sequence order. They stay in the pool until
    /// [`Mempool::remove_committed`].
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<Transaction> {
        let mut out: Vec<Transaction> = Vec::new();
        let mut bytes = 0;
        for id in &self.order {
            if out.len() >= max_txs {
                break;
            }
            let Some((tx, size)) = self.txs.get(id) else {
                continue;
            };
            if bytes + size > max_bytes {
                break;
            }
            bytes += size;
            out.push(tx.clone());
        }
        // Per signer, put its transactions in sequence order within its own slots.
        let mut slots: BTreeMap<PublicKey, Vec<usize>> = BTreeMap::new();
        for (i, tx) in out.iter().enumerate() {
            if let Some(s) = tx.submitter() {
                slots.entry(*s).or_default().push(i);
            }
        }
        for idx in slots.values() {
            let mut txs: Vec<Transaction> = idx.iter().map(|i| out[*i].clone()).collect();
            txs.sort_by_key(|t| t.payload.sequence);
            for (slot, tx) in idx.iter().zip(txs) {
                out[*slot] = tx;
            }
        }
        out
    }

    /// Drops committed transactions and those whose sequence is no longer above their
    /// signer's last committed one (`updated`: signers whose sequence the block advanced).
    pub fn remove_committed(&mut self, ids: &[TxId], updated: &BTreeMap<PublicKey, u64>) {
        for id in ids {
            if let Some((tx, size)) = self.txs.remove(id) {
                self.bytes -= size;
                self.verified.remove(&tx.leaf_data());
            }
        }
        let stale: Vec<TxId> = self
            .txs
            .iter()
            .filter(|(_, (tx, _))| {
                tx.submitter()
                    .and_then(|s| updated.get(s))
                    .is_some_and(|last| tx.payload.sequence <= *last)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some((tx, size)) = self.txs.remove(&id) {
                self.bytes -= size;
                self.verified.remove(&tx.leaf_data());
            }
        }
        let txs = &self.txs;
        self.order.retain(|id| txs.contains_key(id));
    }
}

#[cfg(test)]
mod tests_determinism;
