//! Inclusion proofs in per-block trees (a block's `tx_root`, the next header's
//! `results_root`, a transaction's `field_root`), generated and checked by rs_merkle, with
//! the checks rs_merkle does not make (DESIGN §4).
//!
//! The trees have RFC 9162 shape (§2.1.1, see [`crate::merkle`]). A proof for one leaf is
//! the RFC 9162 §2.1.3.1 audit path, bottom-up; a proof for several leaves is rs_merkle's
//! multi-proof: the sibling hashes not computable from the proven leaves, layer by layer,
//! left to right. Before rs_merkle computes a root, [`verify`]:
//!
//! - takes the leaf count from the caller — always a signed header's `tx_count` (or the
//!   count implied by the record type), never from the proof;
//! - requires at least one leaf, indices strictly increasing (no duplicates) and below the
//!   count;
//! - requires exactly as many proof hashes as the tree shape needs (rs_merkle ignores extra
//!   trailing hashes);
//! - never panics, whatever the input.
//!
//! Leaves are passed as leaf *hashes* computed by the verifier from the data it checks
//! (`H(0x00 ‖ data)`), so an interior node (`H(0x01 ‖ …)`) cannot be presented as a leaf.

use crate::hash::Hash;
use crate::merkle::{Blake3Tree, RsHasher, TreeHasher};

/// Largest leaf count a per-block proof is checked against (far above
/// [`crate::limits::MAX_BLOCK_TXS`]; bounds the work a hostile count can cause).
pub const MAX_PROOF_TREE_LEAVES: u64 = 1 << 32;

/// Why a Merkle proof was refused (per-block trees and the ledger tree alike).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The tree has no leaves: nothing can be included in it.
    #[error("the tree is empty")]
    EmptyTree,
    /// The leaf count is above [`MAX_PROOF_TREE_LEAVES`].
    #[error("leaf count {0} is above the limit")]
    TooLarge(u64),
    /// No leaf to prove.
    #[error("no leaf to prove")]
    NoLeaves,
    /// A leaf index at or beyond the leaf count.
    #[error("leaf index {index} is not below the leaf count {count}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The count (from the signed header).
        count: u64,
    },
    /// Indices not strictly increasing (a duplicate or out of order), at this position.
    #[error("leaf indices are not strictly increasing at position {0}")]
    IndicesNotIncreasing(usize),
    /// More or fewer proof hashes than the tree shape needs.
    #[error("proof has {got} hashes, the tree shape needs exactly {want}")]
    WrongLength {
        /// Hashes given.
        got: usize,
        /// Hashes the shape needs.
        want: usize,
    },
    /// The proof does not lead to the signed root.
    #[error("the proof does not lead to the committed root")]
    RootMismatch,
    /// A consistency proof from a larger tree to a smaller one.
    #[error("tree size {first} is larger than {second}")]
    SizeOrder {
        /// Older size.
        first: u64,
        /// Newer size.
        second: u64,
    },
    /// The first root of a consistency proof does not match.
    #[error("the proof does not lead to the older root")]
    FirstRootMismatch,
    /// The second root of a consistency proof does not match.
    #[error("the proof does not lead to the newer root")]
    SecondRootMismatch,
    /// A node the generator needs is not stored.
    #[error("tree node missing: {0}")]
    Missing(String),
}

/// How many proof hashes a multi-proof of `sorted` (strictly increasing, below `count`)
/// needs: per layer, each node whose sibling is neither proven nor computable (and exists —
/// a lone last node is promoted without one).
pub fn proof_len(sorted: &[u64], count: u64) -> usize {
    let mut nodes: Vec<u64> = sorted.to_vec();
    let mut width = count;
    let mut total = 0usize;
    while width > 1 {
        let mut parents = Vec::with_capacity(nodes.len());
        let mut i = 0;
        while i < nodes.len() {
            let n = nodes[i];
            if n.is_multiple_of(2) && nodes.get(i + 1) == Some(&(n + 1)) {
                i += 2;
            } else {
                // An even node needs its right sibling unless it is the promoted last node;
                // an odd node's left sibling is not in the list (it would have paired).
                if n % 2 == 1 || n + 1 < width {
                    total += 1;
                }
                i += 1;
            }
            parents.push(n / 2);
        }
        nodes = parents;
        width = width.div_ceil(2);
    }
    total
}

fn check_indices(indices: &[u64], count: u64) -> Result<(), ProofError> {
    if count == 0 {
        return Err(ProofError::EmptyTree);
    }
    if count > MAX_PROOF_TREE_LEAVES {
        return Err(ProofError::TooLarge(count));
    }
    if indices.is_empty() {
        return Err(ProofError::NoLeaves);
    }
    for (pos, &index) in indices.iter().enumerate() {
        if index >= count {
            return Err(ProofError::IndexOutOfRange { index, count });
        }
        if pos > 0 && indices[pos - 1] >= index {
            return Err(ProofError::IndicesNotIncreasing(pos));
        }
    }
    Ok(())
}

/// The proof of the leaves at `indices` (strictly increasing) among `leaves` (leaf hashes),
/// generated by rs_merkle.
pub fn prove<H: TreeHasher>(leaves: &[Hash], indices: &[u64]) -> Result<Vec<Hash>, ProofError> {
    check_indices(indices, leaves.len() as u64)?;
    if leaves.len() == 1 {
        return Ok(Vec::new());
    }
    let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
    let tree = rs_merkle::MerkleTree::<RsHasher<H>>::from_leaves(&raw);
    let idx: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
    Ok(tree
        .proof(&idx)
        .proof_hashes()
        .iter()
        .map(|h| Hash(*h))
        .collect())
}

/// Checks that `leaves` — (index, leaf hash) pairs, indices strictly increasing — are in the
/// tree of `count` leaves (from the signed header) whose root is `root`.
///
/// Errors: every [`ProofError`] case above; never panics.
pub fn verify<H: TreeHasher>(
    root: &Hash,
    count: u64,
    leaves: &[(u64, Hash)],
    proof: &[Hash],
) -> Result<(), ProofError> {
    let indices: Vec<u64> = leaves.iter().map(|(i, _)| *i).collect();
    check_indices(&indices, count)?;
    let want = proof_len(&indices, count);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let idx: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
    let hashes: Vec<[u8; 32]> = leaves.iter().map(|(_, h)| h.0).collect();
    let p = rs_merkle::MerkleProof::<RsHasher<H>>::new(proof.iter().map(|h| h.0).collect());
    match p.root(&idx, &hashes, count as usize) {
        Ok(r) if r == root.0 => Ok(()),
        _ => Err(ProofError::RootMismatch),
    }
}

/// [`verify`] for one leaf of a BLAKE3 ledger tree.
pub fn verify_one(
    root: &Hash,
    count: u64,
    index: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    verify::<Blake3Tree>(root, count, &[(index, *leaf)], proof)
}

/// [`prove`] for one leaf of a BLAKE3 ledger tree.
pub fn prove_one(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    prove::<Blake3Tree>(leaves, &[index])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, root};

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn every_single_and_pair_proof_verifies_and_has_the_predicted_length() {
        for n in 1..=33u32 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n as u64 {
                let p = prove_one(&l, i).unwrap();
                assert_eq!(p.len(), proof_len(&[i], n as u64), "n={n} i={i}");
                verify_one(&r, n as u64, i, &l[i as usize], &p).unwrap();
                for j in i + 1..n as u64 {
                    let p = prove::<Blake3Tree>(&l, &[i, j]).unwrap();
                    assert_eq!(p.len(), proof_len(&[i, j], n as u64));
                    let pairs = [(i, l[i as usize]), (j, l[j as usize])];
                    verify::<Blake3Tree>(&r, n as u64, &pairs, &p).unwrap();
                }
            }
        }
    }

    #[test]
    fn hostile_inputs_are_refused() {
        let l = leaves(6);
        let r = root(&l);
        let p = prove_one(&l, 2).unwrap();
        let v = |count, lv: &[(u64, Hash)], p: &[Hash]| verify::<Blake3Tree>(&r, count, lv, p);
        assert_eq!(v(0, &[(0, l[0])], &[]), Err(ProofError::EmptyTree));
        assert_eq!(v(6, &[], &p), Err(ProofError::NoLeaves));
        assert!(matches!(
            v(6, &[(6, l[2])], &p),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert_eq!(
            v(6, &[(2, l[2]), (2, l[2])], &p),
            Err(ProofError::IndicesNotIncreasing(1))
        );
        let mut extra = p.clone();
        extra.push(r);
        assert!(matches!(
            v(6, &[(2, l[2])], &extra),
            Err(ProofError::WrongLength { .. })
        ));
        // A count other than the header's changes the shape the proof must have. (Some
        // counts share a leaf's path shape — hence the count must come from the header.)
        let p5 = prove_one(&l, 5).unwrap();
        assert!(v(5, &[(5, l[5])], &p5).is_err());
        assert!(v(7, &[(5, l[5])], &p5).is_err());
        assert!(v(12, &[(5, l[5])], &p5).is_err());
        assert!(v(u64::MAX, &[(2, l[2])], &p).is_err());
    }
}
