//! Merkle trees in RFC 9162 shape (§2.1.1): leaf = H(0x00 ‖ data), node = H(0x01 ‖ left ‖
//! right), an odd node is promoted, never duplicated; the empty tree's root is H().
//!
//! Per-block trees are built by rs_merkle with our [`RfcBlake3`] hasher (rs_merkle pairs
//! level by level and promotes an odd last node, which gives the RFC 9162 tree). The
//! ledger-wide tree is a [`CompactRange`] (RFC 9162 §2.1): only the roots of its perfect
//! subtrees are kept, so appending needs O(log n) memory.

use crate::hash::{Domain, Hash};
use serde::{Deserialize, Serialize};

/// Leaf prefix (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Interior node prefix (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf: H(0x00 ‖ data), H = BLAKE3 with the [`Domain::Merkle`] context.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Domain::Merkle.hash_parts(&[&[LEAF_PREFIX], data])
}

/// An interior node: H(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Domain::Merkle.hash_parts(&[&[NODE_PREFIX], &left.0, &right.0])
}

/// The root of the empty tree: H of the empty string.
pub fn empty_root() -> Hash {
    Domain::Merkle.hash(&[])
}

/// rs_merkle hasher giving RFC 9162 interior nodes over [`leaf_hash`]ed leaves.
#[derive(Clone, Debug)]
pub struct RfcBlake3;

impl rs_merkle::Hasher for RfcBlake3 {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Domain::Merkle.hash(data).0
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => node_hash(&Hash(*left), &Hash(*r)).0,
            None => *left,
        }
    }
}

/// The root over leaf hashes (already [`leaf_hash`]ed), in order.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        _ => {
            let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
            let tree = rs_merkle::MerkleTree::<RfcBlake3>::from_leaves(&raw);
            tree.root().map(Hash).unwrap_or_else(empty_root)
        }
    }
}

/// The ledger-wide tree as a compact range from index 0 (RFC 9162 §2.1): the roots of the
/// perfect subtrees covering `[0, size)`, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactRange {
    /// Leaves appended so far.
    pub size: u64,
    /// Roots of the perfect subtrees, left to right (sizes are the 1-bits of `size`).
    pub peaks: Vec<Hash>,
}

impl CompactRange {
    /// Appends one leaf hash.
    pub fn append(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut size = self.size;
        // Merge while the lowest bit is set: two equal perfect subtrees make a larger one.
        while size & 1 == 1 {
            let left = self.peaks.pop().unwrap_or(Hash::ZERO);
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The tree head: MTH over all leaves appended (RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, p| node_hash(p, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162 MTH, written from the definition (split at the largest power of two < n).
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn rs_merkle_and_compact_range_match_the_rfc_definition() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut cr = CompactRange::default();
        assert_eq!(cr.root(), empty_root());
        for n in 1..=leaves.len() {
            cr.append(leaves[n - 1]);
            let want = mth(&leaves[..n]);
            assert_eq!(root(&leaves[..n]), want, "rs_merkle n={n}");
            assert_eq!(cr.root(), want, "compact range n={n}");
        }
    }

    #[test]
    fn leaf_and_node_prefixes_differ() {
        let a = leaf_hash(b"x");
        let n = node_hash(&a, &a);
        let mut concat = vec![];
        concat.extend_from_slice(&a.0);
        concat.extend_from_slice(&a.0);
        assert_ne!(n, leaf_hash(&concat));
    }
}
