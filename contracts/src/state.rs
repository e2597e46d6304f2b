//! The state view execution reads, and the overlay that carries a block's writes.
//!
//! Committed state is a byte-keyed map ([`StateRead`]; the node implements it over sled).
//! While a block executes, an [`Overlay`] holds its writes over committed state so that a
//! later transaction in the block sees an earlier one's writes (DESIGN §3 "Order, then
//! execute"). Each transaction stages its own writes in a child overlay that is merged on
//! acceptance and discarded on refusal. Values are [`to_canonical`] encodings.

use safeledger_core::encoding::from_canonical_bounded;
use safeledger_core::limits::MAX_MESSAGE_BYTES;
use safeledger_core::to_canonical;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Read access to committed state: the value stored under `key`, `None` when absent.
///
/// Implementations must be deterministic: the same committed height gives the same
/// answers on every node.
pub trait StateRead {
    /// The value under `key`, or `None` when the key is absent.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
}

/// An in-memory state, for tests and simulations.
impl StateRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        BTreeMap::get(self, key).cloned()
    }
}

/// Values larger than this are not memoized by [`ReadCache`].
const MEMO_MAX_VALUE_BYTES: usize = 1024;

/// Committed state with a memo of the keys read from it: while one block executes,
/// committed state does not change, so each key is looked up in the base at most once
/// (the officer, agency, parameter and policy keys every transaction reads, most of them
/// absent; values over 1 KiB are not memoized). Answers are exactly the base's.
pub struct ReadCache<'a> {
    base: &'a dyn StateRead,
    seen: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl<'a> ReadCache<'a> {
    /// An empty memo over `base`, which must not change while the memo is in use.
    pub fn new(base: &'a dyn StateRead) -> ReadCache<'a> {
        ReadCache {
            base,
            seen: RefCell::new(BTreeMap::new()),
        }
    }
}

impl StateRead for ReadCache<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        if let Some(v) = self.seen.borrow().get(key) {
            return v.clone();
        }
        let v = self.base.get(key);
        // Large values (enterprises) are mostly read once and then written, so later reads
        // find the overlay's copy: memoizing them would only copy them once more.
        if v.as_ref().is_none_or(|v| v.len() <= MEMO_MAX_VALUE_BYTES) {
            self.seen.borrow_mut().insert(key.to_vec(), v.clone());
        }
        v
    }
}

/// A block's (or one transaction's) writes, keyed in byte order; `None` deletes the key.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Pending writes over a base view. Reads see the pending writes first.
pub struct Overlay<'a> {
    base: &'a dyn StateRead,
    writes: Writes,
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a dyn StateRead) -> Overlay<'a> {
        Overlay {
            base,
            writes: Writes::new(),
        }
    }

    /// Sets `key` to `value`.
    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// Sets `key` to the canonical encoding of `value`.
    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put_raw(key, to_canonical(value));
    }

    /// Deletes `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Applies writes staged over this overlay (a child's [`Overlay::into_writes`]).
    pub fn absorb(&mut self, writes: Writes) {
        self.writes.extend(writes);
    }

    /// The pending writes.
    pub fn into_writes(self) -> Writes {
        self.writes
    }
}

impl StateRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.writes.get(key) {
            Some(pending) => pending.clone(),
            None => self.base.get(key),
        }
    }
}

/// Reads and decodes the value under `key`.
///
/// # Panics
/// When the stored bytes do not decode as `T`. State holds only values this crate wrote,
/// so that is corrupted state: stopping the node beats executing on it (CONVENTIONS,
/// TigerBeetle "assertions state the invariants").
pub fn read<T: DeserializeOwned>(state: &dyn StateRead, key: &[u8]) -> Option<T> {
    let bytes = state.get(key)?;
    match from_canonical_bounded(&bytes, MAX_MESSAGE_BYTES) {
        Ok(v) => Some(v),
        Err(e) => panic!(
            "corrupted state under key {}: {e}",
            String::from_utf8_lossy(key)
        ),
    }
}

/// The key of a list's length: `list` ‖ `/n`.
fn list_len_key(list: &str) -> Vec<u8> {
    format!("{list}/n").into_bytes()
}

/// The key of a list's entry `n`: `list` ‖ `/` ‖ 8-byte big-endian `n` (never the
/// length's key: that one is a single byte after the `/`).
fn list_entry_key(list: &str, n: u64) -> Vec<u8> {
    let mut k = format!("{list}/").into_bytes();
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// Appends `value` to the list `list` kept in state as its length and one key per entry
/// (the per-agency indexes of draws and plans): one write for the entry, one for the
/// length.
pub fn list_push<T: Serialize>(view: &mut Overlay<'_>, list: &str, value: &T) {
    let n: u64 = read(view, &list_len_key(list)).unwrap_or(0);
    view.put(list_entry_key(list, n), value);
    view.put(list_len_key(list), &(n + 1));
}

/// The entries of the list `list` written by [`list_push`], in order.
pub fn list_read<T: DeserializeOwned>(state: &dyn StateRead, list: &str) -> Vec<T> {
    let n: u64 = read(state, &list_len_key(list)).unwrap_or(0);
    (0..n)
        .filter_map(|i| read(state, &list_entry_key(list, i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_reads_its_writes_before_the_base_and_honours_deletes() {
        let mut base = BTreeMap::new();
        base.insert(b"a".to_vec(), to_canonical(&1u64));
        base.insert(b"b".to_vec(), to_canonical(&2u64));
        let mut block = Overlay::new(&base);
        block.put(b"a".to_vec(), &10u64);
        let staged = {
            let mut tx = Overlay::new(&block);
            assert_eq!(read::<u64>(&tx, b"a"), Some(10));
            tx.writes.insert(b"b".to_vec(), None);
            tx.put(b"c".to_vec(), &3u64);
            assert_eq!(read::<u64>(&tx, b"b"), None);
            tx.into_writes()
        };
        assert_eq!(read::<u64>(&block, b"b"), Some(2));
        block.absorb(staged);
        assert_eq!(read::<u64>(&block, b"b"), None);
        assert_eq!(read::<u64>(&block, b"c"), Some(3));
        assert_eq!(read::<u64>(&base, b"a"), Some(1));
    }

    #[test]
    fn read_cache_answers_as_its_base() {
        let mut base = BTreeMap::new();
        base.insert(b"a".to_vec(), to_canonical(&1u64));
        let cache = ReadCache::new(&base);
        for _ in 0..2 {
            assert_eq!(read::<u64>(&cache, b"a"), Some(1));
            assert_eq!(read::<u64>(&cache, b"z"), None);
        }
        let mut block = Overlay::new(&cache);
        block.put(b"a".to_vec(), &2u64);
        assert_eq!(read::<u64>(&block, b"a"), Some(2));
        assert_eq!(read::<u64>(&cache, b"a"), Some(1));
    }

    #[test]
    #[should_panic(expected = "corrupted state under key k")]
    fn undecodable_state_stops_execution() {
        let mut base = BTreeMap::new();
        base.insert(b"k".to_vec(), vec![9, 9]);
        let _ = read::<u64>(&base, b"k");
    }
}
