//! The transactions this node has already checked statelessly (issue 7: each transaction
//! verified once per node).
//!
//! [`Transaction::check_stateless`] is a pure function of a transaction's canonical bytes
//! and the chain id (size, chain, signers, signatures, bounds, field root), so once the
//! exact bytes passed it here, checking them again can only pass again. The set remembers
//! those bytes by a [`Domain::VerifiedTx`] hash of the whole canonical encoding (payload,
//! withheld leaves and every signature), so a copy that differs in any byte — a malleated
//! signature, another body behind the same id — is not covered and is checked in full.
//! Admission (gRPC and gossip) and `valid(v)` (proposals and synced blocks) consult it
//! and add what passed; commit and mempool pruning remove entries; at most
//! [`VerifiedSet::capacity`] entries are kept, the oldest evicted first (an evicted
//! transaction is simply verified again). Only passes are remembered, never failures, so
//! the set can skip work but never change an outcome: `valid(v)` stays deterministic.

use safeledger_core::encoding::to_canonical;
use safeledger_core::{Domain, Hash, Transaction};
use std::collections::BTreeMap;

/// Entries kept beyond the mempool's transaction bound: transactions verified in blocks
/// (proposals, synced blocks) that this node does not hold — about ten full blocks of
/// `MAX_BLOCK_TXS` (a whole sync batch of full blocks would exceed it; the oldest are then
/// verified again, which costs time only).
pub const VERIFIED_HEADROOM: usize = 10 * safeledger_core::limits::MAX_BLOCK_TXS;

/// The cache key of a transaction: [`Domain::VerifiedTx`] over its canonical bytes.
pub fn key_of_bytes(canonical: &[u8]) -> Hash {
    Domain::VerifiedTx.hash(canonical)
}

/// The cache key of a transaction (encodes it; use [`key_of_bytes`] when the bytes are
/// at hand).
pub fn key_of(tx: &Transaction) -> Hash {
    key_of_bytes(&to_canonical(tx))
}

/// A bounded set of keys ([`key_of`]) of transactions that passed the stateless checks,
/// evicting the oldest when full.
#[derive(Default)]
pub struct VerifiedSet {
    capacity: usize,
    next: u64,
    by_key: BTreeMap<Hash, u64>,
    by_age: BTreeMap<u64, Hash>,
}

impl VerifiedSet {
    /// An empty set holding at most `capacity` keys (at least 1).
    pub fn with_capacity(capacity: usize) -> VerifiedSet {
        VerifiedSet {
            capacity: capacity.max(1),
            ..VerifiedSet::default()
        }
    }

    /// The most keys held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// True when the transaction with this key passed the stateless checks here.
    pub fn contains(&self, key: &Hash) -> bool {
        self.by_key.contains_key(key)
    }

    /// Remembers that the transaction with this key passed; evicts the oldest key when
    /// full.
    pub fn insert(&mut self, key: Hash) {
        if self.by_key.contains_key(&key) {
            return;
        }
        while self.by_key.len() >= self.capacity {
            let Some((_, old)) = self.by_age.pop_first() else {
                break;
            };
            self.by_key.remove(&old);
        }
        let age = self.next;
        self.next += 1;
        self.by_key.insert(key, age);
        self.by_age.insert(age, key);
    }

    /// Forgets a key (committed or pruned); false when it was not held.
    pub fn remove(&mut self, key: &Hash) -> bool {
        match self.by_key.remove(key) {
            Some(age) => {
                self.by_age.remove(&age);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u8) -> Hash {
        Hash([i; 32])
    }

    #[test]
    fn bounded_set_evicts_the_oldest_and_forgets_removed_keys() {
        let mut s = VerifiedSet::with_capacity(3);
        for i in 0..3 {
            s.insert(k(i));
        }
        s.insert(k(1)); // already held: not refreshed, not duplicated
        assert_eq!(s.len(), 3);
        s.insert(k(3));
        assert!(!s.contains(&k(0)) && s.contains(&k(1)) && s.contains(&k(3)));
        assert!(s.remove(&k(1)) && !s.remove(&k(1)));
        s.insert(k(4));
        s.insert(k(5));
        assert_eq!(s.len(), 3);
        assert!(!s.contains(&k(2)));
        assert_eq!(s.by_age.len(), s.by_key.len());
    }
}
