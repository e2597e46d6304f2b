//! The authenticated state map: a binary sparse Merkle tree over every state key, whose root
//! is a header's `state_root` (header version 2, [`crate::hash::HASH_SCHEME_VERSION`]).
//!
//! Shape (the Jellyfish Merkle Tree's binary form, Diem/Aptos; hashes are BLAKE3 with a
//! `derive_key` context per role, [`Domain`]):
//! - a key's *path* is `H_StateKey(key)`: 256 bits, most significant bit of byte 0 first;
//! - a subtree holding no key hashes to [`EMPTY`] (32 zero bytes);
//! - a subtree holding exactly one key is that key's *leaf*, at whatever depth, hashing to
//!   `H_StateLeaf(path ‖ H_StateValue(value))`;
//! - any other subtree is an inner node `H_StateNode(left ‖ right)` over its halves (bit
//!   `depth` of the path: 0 left, 1 right), even when one half is empty.
//!
//! So the root is a function of the set of (key, value) pairs alone, whatever the order of
//! writes, and inner nodes and leaves hash 64 bytes each (one BLAKE3 compression).
//!
//! A [`StateProof`] lists the sibling hashes from the root down to where the key's path
//! ends: at the key's own leaf (inclusion), at another key's leaf that shares the path so far
//! (non-inclusion), or at an empty subtree (non-inclusion). [`verify`] refuses the known
//! forgeries of authenticated-map proofs: a proof format carrying one sibling per step
//! cannot carry an inner step with both children (cosmos/iavl #579); a leaf offered as
//! non-inclusion must share the key's path to its depth, so a truncated inclusion proof of
//! another key does not prove absence; an empty proof only matches the empty root.
//!
//! The tree lives in memory and is persistent (versions share unchanged nodes through
//! [`Arc`]): the node rebuilds it from its stored state at start and keeps recent versions
//! for proofs. It is derived from what sled committed, so it cannot disagree with it after a
//! crash; nothing about it is stored.

use crate::hash::{Domain, Hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The hash of an empty subtree, and the root of the empty map.
pub const EMPTY: Hash = Hash::ZERO;

/// Bits in a key path: the deepest a proof can go.
pub const PATH_BITS: usize = 256;

/// A state key's path: `H_StateKey(key)`.
pub fn key_path(key: &[u8]) -> Hash {
    Domain::StateKey.hash(key)
}

/// A state value's digest: `H_StateValue(value)`.
pub fn value_hash(value: &[u8]) -> Hash {
    Domain::StateValue.hash(value)
}

/// A leaf's hash: `H_StateLeaf(path ‖ value_hash)`.
pub fn leaf_hash(path: &Hash, value_hash: &Hash) -> Hash {
    Domain::StateLeaf.hash_parts(&[&path.0, &value_hash.0])
}

/// An inner node's hash: `H_StateNode(left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Domain::StateNode.hash_parts(&[&left.0, &right.0])
}

/// Bit `i` of a path (0 = most significant bit of byte 0).
fn bit(path: &Hash, i: usize) -> bool {
    path.0[i / 8] & (0x80 >> (i % 8)) != 0
}

#[derive(Debug)]
enum Node {
    Leaf {
        path: Hash,
        value: Hash,
        hash: Hash,
    },
    Inner {
        left: Child,
        right: Child,
        hash: Hash,
    },
}

type Child = Option<Arc<Node>>;

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Leaf { hash, .. } | Node::Inner { hash, .. } => *hash,
        }
    }
}

fn hash_of(c: &Child) -> Hash {
    c.as_ref().map_or(EMPTY, |n| n.hash())
}

fn leaf(path: Hash, value: Hash) -> Arc<Node> {
    Arc::new(Node::Leaf {
        path,
        value,
        hash: leaf_hash(&path, &value),
    })
}

/// The canonical subtree over two halves: empty, a lone leaf lifted up, or an inner node.
fn join(left: Child, right: Child) -> Child {
    match (&left, &right) {
        (None, None) => None,
        (Some(n), None) | (None, Some(n)) if matches!(**n, Node::Leaf { .. }) => Some(n.clone()),
        _ => {
            let hash = node_hash(&hash_of(&left), &hash_of(&right));
            Some(Arc::new(Node::Inner { left, right, hash }))
        }
    }
}

/// The subtree at `depth` over `leaves` (sorted by path, distinct).
fn build(depth: usize, leaves: &[(Hash, Hash)]) -> Child {
    match leaves {
        [] => None,
        [(p, v)] => Some(leaf(*p, *v)),
        // Only a BLAKE3 collision of two keys' paths reaches here; keep the first.
        _ if depth >= PATH_BITS => Some(leaf(leaves[0].0, leaves[0].1)),
        _ => {
            let split = leaves.partition_point(|(p, _)| !bit(p, depth));
            join(
                build(depth + 1, &leaves[..split]),
                build(depth + 1, &leaves[split..]),
            )
        }
    }
}

/// The hash of the canonical subtree at `depth` over `leaves` ((path, value hash) pairs,
/// sorted by path, distinct): [`EMPTY`] for none, the leaf's hash for one (a lone leaf is
/// lifted), else the inner node's. Snapshot chunks are checked with it
/// ([`crate::state_chunks`]).
pub(crate) fn subtree_hash(depth: usize, leaves: &[(Hash, Hash)]) -> Hash {
    hash_of(&build(depth, leaves))
}

/// `node` at `depth` with `ops` (sorted by path, distinct: a value hash to set, or `None` to
/// remove) applied; untouched subtrees are shared with `node`.
fn update(node: &Child, depth: usize, ops: &[(Hash, Option<Hash>)]) -> Child {
    if ops.is_empty() {
        return node.clone();
    }
    match node.as_deref() {
        None => {
            let leaves: Vec<(Hash, Hash)> =
                ops.iter().filter_map(|(p, v)| v.map(|v| (*p, v))).collect();
            build(depth, &leaves)
        }
        Some(Node::Leaf { path, value, .. }) => {
            let mut leaves: Vec<(Hash, Hash)> = Vec::with_capacity(ops.len() + 1);
            let at = ops.partition_point(|(p, _)| p < path);
            let replaced = ops.get(at).is_some_and(|(p, _)| p == path);
            for (i, (p, v)) in ops.iter().enumerate() {
                if i == at && !replaced {
                    leaves.push((*path, *value));
                }
                if let Some(v) = v {
                    leaves.push((*p, *v));
                }
            }
            if at == ops.len() {
                leaves.push((*path, *value));
            }
            build(depth, &leaves)
        }
        Some(Node::Inner { left, right, .. }) => {
            if depth >= PATH_BITS {
                return node.clone();
            }
            let split = ops.partition_point(|(p, _)| !bit(p, depth));
            join(
                update(left, depth + 1, &ops[..split]),
                update(right, depth + 1, &ops[split..]),
            )
        }
    }
}

/// One version of the state map. Cloning is cheap (the root is shared).
#[derive(Clone, Debug, Default)]
pub struct StateTree {
    root: Child,
}

impl StateTree {
    /// The empty map.
    pub fn new() -> StateTree {
        StateTree::default()
    }

    /// The map holding `pairs` (key, value), in any order; a repeated key keeps its last
    /// value.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> StateTree {
        let mut leaves: Vec<(Hash, Hash)> = pairs
            .into_iter()
            .map(|(k, v)| (key_path(k), value_hash(v)))
            .collect();
        leaves.reverse();
        leaves.sort_by_key(|a| a.0);
        leaves.dedup_by(|a, b| a.0 == b.0);
        StateTree {
            root: build(0, &leaves),
        }
    }

    /// The root hash ([`EMPTY`] for the empty map).
    pub fn root(&self) -> Hash {
        hash_of(&self.root)
    }

    /// The next version: `writes` (key → `Some(value)` to set, `None` to remove, as an
    /// executor returns them) applied. `self` is unchanged and shares what was not written.
    pub fn apply(&self, writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> StateTree {
        let mut ops: Vec<(Hash, Option<Hash>)> = writes
            .iter()
            .map(|(k, v)| (key_path(k), v.as_deref().map(value_hash)))
            .collect();
        ops.sort_by_key(|a| a.0);
        StateTree {
            root: update(&self.root, 0, &ops),
        }
    }

    /// The proof for `key` in this version: inclusion when the key is present, otherwise
    /// non-inclusion.
    pub fn prove(&self, key: &[u8]) -> StateProof {
        let path = key_path(key);
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node.as_deref() {
                None => {
                    return StateProof {
                        siblings,
                        leaf: None,
                    }
                }
                Some(Node::Leaf { path, value, .. }) => {
                    return StateProof {
                        siblings,
                        leaf: Some(ProofLeaf {
                            path: *path,
                            value_hash: *value,
                        }),
                    }
                }
                Some(Node::Inner { left, right, .. }) => {
                    let (next, other) = if bit(&path, depth) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings.push(hash_of(other));
                    node = next;
                    depth += 1;
                }
            }
        }
    }
}

/// The leaf where a proof's path ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofLeaf {
    /// The leaf's key path.
    pub path: Hash,
    /// Its value's digest ([`value_hash`]).
    pub value_hash: Hash,
}

/// An inclusion or non-inclusion proof of one key (module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProof {
    /// Sibling hashes from the root down: `siblings[i]` is the other half at depth `i`.
    pub siblings: Vec<Hash>,
    /// The leaf where the path ends, or `None` for an empty subtree.
    pub leaf: Option<ProofLeaf>,
}

/// Why a state proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateProofError {
    /// More siblings than a path has bits.
    #[error("{0} siblings: a path has {PATH_BITS} bits")]
    TooDeep(usize),
    /// No siblings and no leaf, against a root that is not the empty map's.
    #[error("an empty proof against a non-empty root")]
    EmptyAgainstNonEmpty,
    /// A value is claimed but the proof ends at an empty subtree.
    #[error("the proof ends at an empty subtree: the key is absent, not holding a value")]
    AbsentNotPresent,
    /// A value is claimed but the proof ends at another key's leaf.
    #[error("the proof ends at another key's leaf")]
    OtherLeaf,
    /// The claimed value does not hash to the leaf's value hash.
    #[error("the value does not hash to the leaf's value_hash")]
    ValueMismatch,
    /// Absence is claimed but the proof ends at the key's own leaf.
    #[error("the proof ends at the key's own leaf: the key is present")]
    PresentNotAbsent,
    /// Absence is claimed with another key's leaf that does not share the key's path down
    /// to its depth: a truncated proof, which proves nothing about this key.
    #[error("truncated: the leaf at depth {0} does not share the key's path to that depth")]
    Truncated(usize),
    /// A shape no tree has: a leaf or an empty subtree beside an empty sibling (the tree
    /// lifts a lone leaf and has no inner node over two empty halves).
    #[error("not canonical: an empty sibling at depth {0} beside where the path ends")]
    NotCanonical(usize),
    /// The recomputed root differs.
    #[error("the recomputed root {computed} is not the certified state root {expected}")]
    Root {
        /// What the proof hashes to.
        computed: Hash,
        /// The certified root.
        expected: Hash,
    },
}

/// Checks that `proof` shows `key` holding `value` (`Some`) or absent (`None`) in the map
/// whose root is `root`.
///
/// # Errors
/// The first check that fails, in the order of [`StateProofError`]'s variants.
pub fn verify(
    root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &StateProof,
) -> Result<(), StateProofError> {
    let depth = proof.siblings.len();
    if depth > PATH_BITS {
        return Err(StateProofError::TooDeep(depth));
    }
    if depth == 0 && proof.leaf.is_none() && *root != EMPTY {
        return Err(StateProofError::EmptyAgainstNonEmpty);
    }
    let path = key_path(key);
    match (value, &proof.leaf) {
        (Some(_), None) => return Err(StateProofError::AbsentNotPresent),
        (Some(v), Some(l)) => {
            if l.path != path {
                return Err(StateProofError::OtherLeaf);
            }
            if l.value_hash != value_hash(v) {
                return Err(StateProofError::ValueMismatch);
            }
        }
        (None, Some(l)) => {
            if l.path == path {
                return Err(StateProofError::PresentNotAbsent);
            }
            if (0..depth).any(|i| bit(&l.path, i) != bit(&path, i)) {
                return Err(StateProofError::Truncated(depth));
            }
        }
        (None, None) => {}
    }
    if depth > 0 && proof.siblings[depth - 1] == EMPTY {
        return Err(StateProofError::NotCanonical(depth - 1));
    }
    let mut h = proof
        .leaf
        .as_ref()
        .map_or(EMPTY, |l| leaf_hash(&l.path, &l.value_hash));
    for i in (0..depth).rev() {
        h = if bit(&path, i) {
            node_hash(&proof.siblings[i], &h)
        } else {
            node_hash(&h, &proof.siblings[i])
        };
    }
    if h != *root {
        return Err(StateProofError::Root {
            computed: h,
            expected: *root,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "state_tree_tests.rs"]
mod tests;
