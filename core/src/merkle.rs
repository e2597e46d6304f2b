//! Merkle trees in RFC 9162 shape (§2.1.1): leaf = H(0x00 ‖ data), node = H(0x01 ‖ left ‖
//! right), an odd node is promoted, never duplicated; the empty tree's root is H().
//!
//! The hash is pluggable through [`TreeHasher`]: [`Blake3Tree`] (BLAKE3 with the
//! [`Domain::Merkle`] context) is what the ledger uses; tests run the same tree, inclusion and
//! consistency code with SHA-256 against the published RFC 6962 test vectors.
//!
//! Per-block trees are built by rs_merkle through [`RsHasher`] (rs_merkle pairs level by
//! level and promotes an odd last node, which gives the RFC 9162 tree); their proofs, with the
//! checks rs_merkle lacks, are in [`crate::proof`]. The ledger-wide tree is a
//! [`CompactRange`] (RFC 9162 §2.1): only the roots of its perfect subtrees are kept, so
//! appending needs O(log n) memory; its inclusion and consistency proofs are in
//! [`crate::ledger_tree`].

use crate::hash::{Domain, Hash};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// Leaf prefix (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Interior node prefix (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The hash function of a Merkle tree in RFC 9162 shape (§2.1.1): how a leaf, an interior
/// node and the empty tree are hashed. Implementations add the 0x00 / 0x01 prefixes.
pub trait TreeHasher {
    /// H(0x00 ‖ data).
    fn leaf(data: &[u8]) -> Hash;
    /// H(0x01 ‖ left ‖ right).
    fn node(left: &Hash, right: &Hash) -> Hash;
    /// H() — the root of the empty tree.
    fn empty() -> Hash;
}

/// The ledger's tree hash: BLAKE3 with the [`Domain::Merkle`] context.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blake3Tree;

impl TreeHasher for Blake3Tree {
    fn leaf(data: &[u8]) -> Hash {
        Domain::Merkle.hash_parts(&[&[LEAF_PREFIX], data])
    }

    fn node(left: &Hash, right: &Hash) -> Hash {
        Domain::Merkle.hash_parts(&[&[NODE_PREFIX], &left.0, &right.0])
    }

    fn empty() -> Hash {
        Domain::Merkle.hash(&[])
    }
}

/// The hash of a leaf: H(0x00 ‖ data), H = BLAKE3 with the [`Domain::Merkle`] context.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Blake3Tree::leaf(data)
}

/// An interior node: H(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Blake3Tree::node(left, right)
}

/// The root of the empty tree: H of the empty string.
pub fn empty_root() -> Hash {
    Blake3Tree::empty()
}

/// rs_merkle hasher giving RFC 9162 interior nodes over leaves already hashed with
/// `H::leaf`: two children are joined with `H::node`, a lone last child is promoted.
pub struct RsHasher<H>(PhantomData<H>);

impl<H> Clone for RsHasher<H> {
    fn clone(&self) -> Self {
        RsHasher(PhantomData)
    }
}

impl<H: TreeHasher> rs_merkle::Hasher for RsHasher<H> {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        H::leaf(data).0
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => H::node(&Hash(*left), &Hash(*r)).0,
            None => *left,
        }
    }
}

/// rs_merkle hasher of the ledger's BLAKE3 trees.
pub type RfcBlake3 = RsHasher<Blake3Tree>;

/// The RFC 9162 root (MTH, §2.1.1) over leaf hashes (already `H::leaf`ed), in order.
pub fn root_with<H: TreeHasher>(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => H::empty(),
        1 => leaves[0],
        _ => {
            let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
            let tree = rs_merkle::MerkleTree::<RsHasher<H>>::from_leaves(&raw);
            tree.root().map(Hash).unwrap_or_else(H::empty)
        }
    }
}

/// The root over leaf hashes (already [`leaf_hash`]ed), in order.
pub fn root(leaves: &[Hash]) -> Hash {
    root_with::<Blake3Tree>(leaves)
}

/// One node of the ledger tree: the root of the perfect subtree of `2^level` leaves that
/// starts at leaf `index << level` (level 0: a leaf hash). Appending a leaf completes the
/// leaf itself and every subtree it closes; the node stores these so that any inclusion or
/// consistency proof (RFC 9162 §2.1.3–2.1.4) needs O(log n) lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
    /// Height above the leaves.
    pub level: u8,
    /// Position among the nodes of that level.
    pub index: u64,
    /// MTH of the subtree.
    pub hash: Hash,
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
        self.append_with::<Blake3Tree>(leaf, |_| {});
    }

    /// Appends one leaf hash and returns the nodes it completes (the leaf at level 0 first,
    /// then each perfect subtree it closes, lowest first).
    pub fn append_nodes(&mut self, leaf: Hash) -> Vec<TreeNode> {
        let mut out = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.append_with::<Blake3Tree>(leaf, |n| out.push(n));
        out
    }

    /// [`CompactRange::append`] under any tree hash, reporting every completed node.
    pub fn append_with<H: TreeHasher>(&mut self, leaf: Hash, mut completed: impl FnMut(TreeNode)) {
        let index = self.size;
        completed(TreeNode {
            level: 0,
            index,
            hash: leaf,
        });
        let mut node = leaf;
        let mut size = self.size;
        let mut level = 0u8;
        // Merge while the lowest bit is set: two equal perfect subtrees make a larger one.
        while size & 1 == 1 {
            let left = self.peaks.pop().unwrap_or(Hash::ZERO);
            node = H::node(&left, &node);
            size >>= 1;
            level += 1;
            completed(TreeNode {
                level,
                index: index >> level,
                hash: node,
            });
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The tree head: MTH over all leaves appended (RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        self.root_with::<Blake3Tree>()
    }

    /// [`CompactRange::root`] under any tree hash.
    pub fn root_with<H: TreeHasher>(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        match it.next() {
            None => H::empty(),
            Some(last) => it.fold(*last, |acc, p| H::node(p, &acc)),
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
    fn appended_nodes_are_the_perfect_subtree_roots() {
        let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut cr = CompactRange::default();
        let mut nodes = Vec::new();
        for l in &leaves {
            nodes.extend(cr.append_nodes(*l));
        }
        // Every perfect, aligned subtree of 37 leaves appears exactly once.
        let mut want = 0;
        for level in 0..6u8 {
            want += leaves.len() >> level;
        }
        assert_eq!(nodes.len(), want);
        for n in nodes {
            let w = 1usize << n.level;
            let start = n.index as usize * w;
            assert_eq!(n.hash, mth(&leaves[start..start + w]), "{n:?}");
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
