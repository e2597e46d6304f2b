//! A bounded mempool with stateless admission checks (DESIGN §3 "Order, then execute").
//!
//! Admission: canonical size, chain id, strict signatures and field root
//! ([`Transaction::check_stateless`], skipped for exact bytes already checked here: see
//! [`verified`]), a signer registered as an officer, a sequence above
//! the signer's last committed one, not committed already. Transactions leave in arrival
//! order; within one block each signer's transactions are put in sequence order (in the
//! slots that signer occupied), so that a sequence gap never refuses an honest record.
//! Over [`MAX_MEMPOOL_TXS`] or [`MAX_MEMPOOL_BYTES`] (or the node's configured
//! [`MempoolLimits`]) new transactions are refused (the
//! caller reports `RESOURCE_EXHAUSTED`), never queued without bound.
//!
//! Indexed: arrival order is a map from an arrival counter, and each submitter's waiting
//! transactions are kept by sequence, so pruning after a commit touches only the committed
//! and stale transactions (no scan of the pool).

use safeledger_core::encoding::to_canonical;
use safeledger_core::tx::TxError;
use safeledger_core::{Hash, PublicKey, Transaction, TxId};
use std::collections::{BTreeMap, BTreeSet};

pub mod verified;

use verified::{key_of_bytes, VerifiedSet, VERIFIED_HEADROOM};

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
    #[error("signer {0} is not a registered officer, validator node or monitoring key")]
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

/// A held transaction with its canonical size, arrival number and verified-set key.
struct Held {
    tx: Transaction,
    size: usize,
    arrival: u64,
    key: Hash,
}

/// The pool.
pub struct Mempool {
    limits: MempoolLimits,
    /// The next arrival number.
    next_arrival: u64,
    /// Held transactions by arrival number (arrival order).
    order: BTreeMap<u64, TxId>,
    txs: BTreeMap<TxId, Held>,
    /// Each submitter's held transactions by (sequence, id).
    by_submitter: BTreeMap<PublicKey, BTreeSet<(u64, TxId)>>,
    bytes: usize,
    /// Transactions (exact canonical bytes) that passed the stateless checks here: those
    /// held, and those verified in blocks; bounded by `limits.max_txs` +
    /// [`VERIFIED_HEADROOM`].
    verified: VerifiedSet,
}

impl Default for Mempool {
    fn default() -> Self {
        Mempool::with_limits(MempoolLimits::default())
    }
}

/// What admission needs of a transaction's canonical encoding: its id, its size in bytes
/// and its verified-set key ([`key_of_bytes`]), computed once per transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The transaction id.
    pub id: TxId,
    /// Bytes of its canonical encoding (what the pool's byte bound counts).
    pub size: usize,
    /// Its verified-set key.
    pub key: Hash,
}

impl Encoded {
    /// Encodes `tx` once and derives the three.
    pub fn of(tx: &Transaction) -> Encoded {
        let bytes = to_canonical(tx);
        Encoded {
            id: tx.id(),
            size: bytes.len(),
            key: key_of_bytes(&bytes),
        }
    }
}

impl Mempool {
    /// An empty pool with these bounds.
    pub fn with_limits(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            next_arrival: 0,
            order: BTreeMap::new(),
            txs: BTreeMap::new(),
            by_submitter: BTreeMap::new(),
            bytes: 0,
            verified: VerifiedSet::with_capacity(limits.max_txs.saturating_add(VERIFIED_HEADROOM)),
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
    /// True when the transaction with this verified-set key ([`verified::key_of`]) passed
    /// [`Transaction::check_stateless`] here.
    pub fn is_verified(&self, key: &Hash) -> bool {
        self.verified.contains(key)
    }

    /// Records that the transaction with this key passed [`Transaction::check_stateless`]
    /// (block validation calls it for transactions it verified).
    pub fn mark_verified(&mut self, key: Hash) {
        self.verified.insert(key);
    }

    /// Forgets verified-set keys (of committed transactions).
    pub fn forget_verified(&mut self, keys: &[Hash]) {
        for k in keys {
            self.verified.remove(k);
        }
    }

    /// Keys in the verified set.
    pub fn verified_len(&self) -> usize {
        self.verified.len()
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
        self.admit_checked(tx, chain_id, None, known, last_seq, committed)
    }

    /// [`Mempool::admit`] with `stateless`, when given, the outcome of
    /// `tx.check_stateless(chain_id)` computed by the caller for this exact transaction
    /// (batch-verified outside the pool's lock). When `None`, the check runs here unless
    /// the transaction's exact bytes are in the verified set.
    pub fn admit_checked(
        &mut self,
        tx: Transaction,
        chain_id: &str,
        stateless: Option<Result<(), TxError>>,
        known: impl Fn(&PublicKey) -> bool,
        last_seq: impl Fn(&PublicKey) -> u64,
        committed: impl Fn(&TxId) -> bool,
    ) -> Result<bool, AdmitError> {
        let encoded = Encoded::of(&tx);
        self.admit_encoded(tx, encoded, chain_id, stateless, known, last_seq, committed)
    }

    /// [`Mempool::admit_checked`] with the transaction's id, size and verified-set key
    /// computed by the caller ([`Encoded::of`]), so a batch encodes each transaction once.
    #[allow(clippy::too_many_arguments)]
    pub fn admit_encoded(
        &mut self,
        tx: Transaction,
        encoded: Encoded,
        chain_id: &str,
        stateless: Option<Result<(), TxError>>,
        known: impl Fn(&PublicKey) -> bool,
        last_seq: impl Fn(&PublicKey) -> u64,
        committed: impl Fn(&TxId) -> bool,
    ) -> Result<bool, AdmitError> {
        let Encoded { id, size, key } = encoded;
        if self.txs.contains_key(&id) {
            return Ok(false);
        }
        // A committed transaction's sequence is at most its submitter's last (execution
        // uses up the sequence of every committed transaction, contracts `sequence.rs`):
        // only one at or below it can be committed already, so only those are looked up.
        let last = tx.submitter().map(&last_seq);
        if last.is_none_or(|last| tx.payload.sequence <= last) && committed(&id) {
            return Err(AdmitError::Committed);
        }
        let MempoolLimits { max_txs, max_bytes } = self.limits;
        if self.txs.len() >= max_txs || self.bytes + size > max_bytes {
            return Err(AdmitError::Full(max_txs, max_bytes));
        }
        match stateless {
            Some(r) => r?,
            None if self.verified.contains(&key) => {}
            None => tx.check_stateless(chain_id)?,
        }
        for s in &tx.signatures {
            if !known(&s.signer) {
                return Err(AdmitError::UnknownSigner(s.signer));
            }
        }
        if let Some(last) = last {
            if tx.payload.sequence <= last {
                return Err(AdmitError::StaleSequence {
                    got: tx.payload.sequence,
                    last,
                });
            }
        }
        self.verified.insert(key);
        self.bytes += size;
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.order.insert(arrival, id);
        if let Some(s) = tx.submitter() {
            self.by_submitter
                .entry(*s)
                .or_default()
                .insert((tx.payload.sequence, id));
        }
        self.txs.insert(
            id,
            Held {
                tx,
                size,
                arrival,
                key,
            },
        );
        Ok(true)
    }

    /// Drops `id` from every index; false when it was not held.
    fn remove(&mut self, id: &TxId) -> bool {
        let Some(held) = self.txs.remove(id) else {
            return false;
        };
        self.bytes -= held.size;
        self.order.remove(&held.arrival);
        self.verified.remove(&held.key);
        if let Some(s) = held.tx.submitter() {
            if let Some(set) = self.by_submitter.get_mut(s) {
                set.remove(&(held.tx.payload.sequence, *id));
                if set.is_empty() {
                    self.by_submitter.remove(s);
                }
            }
        }
        true
    }

    /// The highest sequence of `signer`'s transactions waiting here, if any.
    pub fn max_sequence(&self, signer: &PublicKey) -> Option<u64> {
        self.by_submitter
            .get(signer)
            .and_then(|set| set.last())
            .map(|(seq, _)| *seq)
    }

    /// Copies of the held transactions with these ids, in this order (to rebuild a block
    /// gossiped as its transaction ids, [`crate::wire::Gossip::ProposalTxIds`]); `None`
    /// when any of them is not held.
    pub fn assemble(&self, ids: &[TxId]) -> Option<Vec<Transaction>> {
        ids.iter()
            .map(|id| self.txs.get(id).map(|h| h.tx.clone()))
            .collect()
    }

    /// Up to `max_txs` transactions totalling at most `max_bytes`, in arrival order with
    /// each signer's transactions in sequence order. They stay in the pool until
    /// [`Mempool::remove_committed`].
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<Transaction> {
        let mut out: Vec<&Transaction> = Vec::new();
        let mut bytes = 0;
        for id in self.order.values() {
            if out.len() >= max_txs {
                break;
            }
            let Some(held) = self.txs.get(id) else {
                continue;
            };
            if bytes + held.size > max_bytes {
                break;
            }
            bytes += held.size;
            out.push(&held.tx);
        }
        // Per signer, put its transactions in sequence order within its own slots (a
        // stable sort: equal sequences keep arrival order).
        let mut slots: BTreeMap<PublicKey, Vec<usize>> = BTreeMap::new();
        for (i, tx) in out.iter().enumerate() {
            if let Some(s) = tx.submitter() {
                slots.entry(*s).or_default().push(i);
            }
        }
        for idx in slots.values() {
            let mut txs: Vec<&Transaction> = idx.iter().map(|i| out[*i]).collect();
            txs.sort_by_key(|t| t.payload.sequence);
            for (slot, tx) in idx.iter().zip(txs) {
                out[*slot] = tx;
            }
        }
        out.into_iter().cloned().collect()
    }

    /// Drops committed transactions and those whose sequence is no longer above their
    /// signer's last committed one (`updated`: signers whose sequence the block advanced).
    /// Touches only those transactions (through the indexes), not the whole pool.
    pub fn remove_committed(&mut self, ids: &[TxId], updated: &BTreeMap<PublicKey, u64>) {
        for id in ids {
            self.remove(id);
        }
        for (signer, last) in updated {
            let stale: Vec<TxId> = match self.by_submitter.get(signer) {
                Some(set) => set
                    .iter()
                    .take_while(|(seq, _)| seq <= last)
                    .map(|(_, id)| *id)
                    .collect(),
                None => continue,
            };
            for id in &stale {
                self.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod tests_determinism;

#[cfg(test)]
mod tests {
    use super::*;
    use safeledger_core::ids::EnterpriseId;
    use safeledger_core::records::EnterpriseRecord;
    use safeledger_core::{SecretKey, Timestamp, TxBody, TxPayload};

    const CHAIN: &str = "pool";

    fn tx(key: &SecretKey, seq: u64) -> Transaction {
        let body = TxBody::EnterpriseRecord(EnterpriseRecord {
            enterprise: EnterpriseId::namespaced("pool", &format!("e{seq}")).expect("id"),
            name: format!("Enterprise {seq}"),
            address: "1 Pool St".into(),
            linked_ids: vec![],
        });
        let p = TxPayload::new(CHAIN, seq, Timestamp(1_000), body, &mut rand::rngs::OsRng);
        Transaction::sign(p, &[key])
    }

    fn admit(pool: &mut Mempool, t: Transaction) {
        assert_eq!(pool.admit(t, CHAIN, |_| true, |_| 0, |_| false), Ok(true));
    }

    /// The "already committed" lookup runs only for a transaction at or below its
    /// submitter's last committed sequence: one above it cannot be committed (execution
    /// uses up the sequence of every committed transaction).
    #[test]
    fn committed_lookup_only_at_or_below_the_last_sequence() {
        let a = SecretKey::from_bytes(&[1; 32]);
        let mut pool = Mempool::default();
        let lookups = std::cell::Cell::new(0);
        let committed = |_: &TxId| {
            lookups.set(lookups.get() + 1);
            true
        };
        let last = |_: &PublicKey| 2;
        assert_eq!(
            pool.admit(tx(&a, 3), CHAIN, |_| true, last, committed),
            Ok(true)
        );
        assert_eq!(lookups.get(), 0, "above the last: no lookup");
        assert_eq!(
            pool.admit(tx(&a, 2), CHAIN, |_| true, last, committed),
            Err(AdmitError::Committed)
        );
        assert_eq!(lookups.get(), 1, "at the last: looked up");
        assert_eq!(
            pool.admit(tx(&a, 1), CHAIN, |_| true, last, |_| false),
            Err(AdmitError::StaleSequence { got: 1, last: 2 })
        );
    }

    #[test]
    fn pruning_drops_committed_and_stale_and_keeps_arrival_order_of_the_rest() {
        let a = SecretKey::from_bytes(&[1; 32]);
        let b = SecretKey::from_bytes(&[2; 32]);
        let mut pool = Mempool::default();
        // Arrival: a3, b1, a1, b2, a2, a4 (a's out of sequence order).
        let txs = [
            tx(&a, 3),
            tx(&b, 1),
            tx(&a, 1),
            tx(&b, 2),
            tx(&a, 2),
            tx(&a, 4),
        ];
        for t in &txs {
            admit(&mut pool, t.clone());
        }
        let total: usize = txs.iter().map(|t| to_canonical(t).len()).sum();
        assert_eq!((pool.len(), pool.bytes()), (6, total));
        assert_eq!(pool.max_sequence(&a.public()), Some(4));
        let seqs =
            |v: Vec<Transaction>| -> Vec<u64> { v.iter().map(|t| t.payload.sequence).collect() };
        // a's slots (0, 2, 4, 5) get its transactions in sequence order.
        assert_eq!(
            seqs(pool.reap(usize::MAX, usize::MAX)),
            vec![1, 1, 2, 2, 3, 4]
        );
        assert_eq!(seqs(pool.reap(3, usize::MAX)), vec![1, 1, 3]);
        // Commit b1 and a1; a's sequence advanced to 2 (a2 is stale), b's to 1.
        let mut updated = BTreeMap::new();
        updated.insert(a.public(), 2);
        updated.insert(b.public(), 1);
        pool.remove_committed(&[txs[1].id(), txs[2].id()], &updated);
        let left = pool.reap(usize::MAX, usize::MAX);
        let left_ids: Vec<TxId> = left.iter().map(|t| t.id()).collect();
        assert_eq!(left_ids, vec![txs[0].id(), txs[3].id(), txs[5].id()]);
        let rest: usize = left.iter().map(|t| to_canonical(t).len()).sum();
        assert_eq!((pool.len(), pool.bytes()), (3, rest));
        let key = verified::key_of;
        assert!(!pool.is_verified(&key(&txs[4])) && pool.is_verified(&key(&txs[0])));
        assert_eq!(pool.max_sequence(&b.public()), Some(2));
        pool.remove_committed(&[txs[3].id()], &updated);
        assert_eq!(pool.max_sequence(&b.public()), None);
        let mut all = BTreeMap::new();
        all.insert(a.public(), 9);
        pool.remove_committed(&[], &all);
        assert!(pool.is_empty() && pool.bytes() == 0 && pool.order.is_empty());
        assert!(pool.by_submitter.is_empty() && pool.verified.is_empty());
    }

    #[test]
    fn assemble_returns_held_bodies_in_the_order_asked_and_none_when_one_is_missing() {
        let a = SecretKey::from_bytes(&[1; 32]);
        let mut pool = Mempool::default();
        let txs = [tx(&a, 1), tx(&a, 2), tx(&a, 3)];
        for t in &txs[..2] {
            admit(&mut pool, t.clone());
        }
        let ids = |v: &[&Transaction]| -> Vec<TxId> { v.iter().map(|t| t.id()).collect() };
        assert_eq!(
            pool.assemble(&ids(&[&txs[1], &txs[0]])),
            Some(vec![txs[1].clone(), txs[0].clone()])
        );
        assert_eq!(pool.assemble(&[]), Some(vec![]));
        assert_eq!(pool.assemble(&ids(&[&txs[0], &txs[2]])), None);
    }
}
