//! The authenticated state map's recent versions ([`safeledger_core::state_tree`]), kept in
//! memory beside the store.
//!
//! The map is derived from the `s/` keys sled committed: it is built from them when first
//! asked for (the node checks its root against the tip's `state_root` when it opens), and
//! each commit adds the version after its block once the block's batch is written. Nothing
//! of it is stored, so a crash at any point leaves nothing to reconcile: the next start
//! builds it again from what sled holds. The last [`KEEP_VERSIONS`] heights stay, for state
//! proofs at a recent height; versions share the nodes they did not change.

use super::{Store, StoreError};
use safeledger_core::state_tree::{value_hash, StateTree};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

/// A block's state writes (key → `Some(value)` set, `None` removed), as the executor
/// returns them.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The state keys whose values state proofs serve (`ent/`: an enterprise's licences,
/// listings and assessment); a version keeps its block's writes of these only.
pub const PROVEN_PREFIXES: [&[u8]; 1] = [safeledger_contracts::keys::ENTERPRISE_PREFIX];

/// What one commit does to the state: its writes, and the map with them applied.
#[derive(Clone, Debug)]
pub struct StateStep {
    /// The map after the block.
    pub tree: StateTree,
    /// The block's writes, all of them (what the store applies).
    pub writes: Arc<Writes>,
    /// Its writes under [`PROVEN_PREFIXES`], kept with the version to find what such a key
    /// held at a height.
    kept: Arc<Writes>,
}

impl StateStep {
    /// The step of `writes` applied to `before`.
    pub fn new(before: &StateTree, writes: Writes) -> StateStep {
        let kept = writes
            .iter()
            .filter(|(k, _)| PROVEN_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        StateStep {
            tree: before.apply(&writes),
            writes: Arc::new(writes),
            kept: Arc::new(kept),
        }
    }
}

/// Heights whose state map version a node keeps (the latest included). At the bench's load
/// a version adds about 10 new nodes per state write, some 4 MB for a block of 1,000
/// transactions.
pub const KEEP_VERSIONS: usize = 16;

/// One version kept: the map after a height and that height's writes under
/// [`PROVEN_PREFIXES`] (none for the first, built from the store).
struct Version {
    height: u64,
    tree: StateTree,
    kept: Arc<Writes>,
}

/// The versions kept, oldest first; empty until built.
#[derive(Default)]
pub(super) struct Versions(RwLock<VecDeque<Version>>);

impl Store {
    /// The state map after the last committed height, built from the `s/` keys on first use.
    ///
    /// # Errors
    /// Reading the store failed.
    pub fn state_tree(&self) -> Result<StateTree, StoreError> {
        if let Some(v) = self.versions().back() {
            return Ok(v.tree.clone());
        }
        let height = self.tip()?.map_or(0, |t| t.height);
        let mut pairs = Vec::new();
        for kv in self.db.scan_prefix(b"s/") {
            let (k, v) = kv?;
            pairs.push((k, v));
        }
        let tree = StateTree::from_pairs(pairs.iter().map(|(k, v)| (&k[2..], &v[..])));
        let mut w = self.state.0.write().unwrap_or_else(|e| e.into_inner());
        if w.is_empty() {
            w.push_back(Version {
                height,
                tree: tree.clone(),
                kept: Default::default(),
            });
        }
        Ok(tree)
    }

    /// The state map after `height`, when it is one of the versions kept.
    pub fn state_tree_at(&self, height: u64) -> Option<StateTree> {
        self.versions()
            .iter()
            .find(|v| v.height == height)
            .map(|v| v.tree.clone())
    }

    /// What `key` held after `height` (`Some(None)`: absent), proven by that version's leaf:
    /// for a key under [`PROVEN_PREFIXES`], the latest write of it at or below `height`
    /// among the versions kept, or else
    /// its current value, whichever hashes to the leaf. `None` when the height is not kept
    /// or the value is no longer known (the key changed after `height` and was last
    /// written before the oldest version kept).
    pub fn state_value_at(&self, height: u64, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let tree = self.state_tree_at(height)?;
        let leaf = match tree.prove(key).leaf {
            Some(l) if l.path == safeledger_core::state_tree::key_path(key) => l.value_hash,
            _ => return Some(None),
        };
        let from_writes = self
            .versions()
            .iter()
            .rev()
            .filter(|v| v.height <= height)
            .find_map(|v| v.kept.get(key).cloned());
        let current = self.state_get(key);
        [from_writes.flatten(), current]
            .into_iter()
            .flatten()
            .find(|v| value_hash(v) == leaf)
            .map(Some)
    }

    /// The oldest and newest heights whose state map is kept (`None` before it is built).
    pub fn state_heights(&self) -> Option<(u64, u64)> {
        let v = self.versions();
        Some((v.front()?.height, v.back()?.height))
    }

    /// Records the map after `height`, dropping the oldest beyond [`KEEP_VERSIONS`].
    pub(super) fn push_state_version(&self, height: u64, step: StateStep) {
        let mut w = self.state.0.write().unwrap_or_else(|e| e.into_inner());
        w.retain(|v| v.height < height);
        // The version keeps what proofs need, not the whole block's writes.
        w.push_back(Version {
            height,
            tree: step.tree,
            kept: step.kept,
        });
        while w.len() > KEEP_VERSIONS {
            w.pop_front();
        }
    }

    fn versions(&self) -> std::sync::RwLockReadGuard<'_, VecDeque<Version>> {
        self.state.0.read().unwrap_or_else(|e| e.into_inner())
    }
}
