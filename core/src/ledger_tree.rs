//! The ledger-wide tree's proofs, as RFC 9162 writes them: inclusion (§2.1.3) and
//! consistency (§2.1.4), generated from stored nodes and verified with the algorithms of
//! §2.1.3.2 and §2.1.4.2.
//!
//! Each header carries `ledger_root` and `ledger_size`: the tree head over every
//! transaction leaf since genesis (the same leaves as the blocks' `tx_root`s). A node keeps
//! the leaf hashes and the roots of completed perfect subtrees ([`crate::merkle::TreeNode`])
//! and serves, through a [`NodeSource`]:
//!
//! - the inclusion proof of the transaction at ledger index `m` in the tree of any later
//!   header (`m < ledger_size`);
//! - the consistency proof between the trees of two headers (`size1 ≤ size2`).
//!
//! The hash is a [`TreeHasher`] parameter so the same code is checked with SHA-256 against
//! the RFC 6962 test vectors and runs with BLAKE3. Verification takes sizes and roots from
//! signed headers; proof lengths are checked exactly before hashing; nothing panics.

use crate::hash::Hash;
use crate::merkle::TreeHasher;
use crate::proof::ProofError;

/// Largest proof accepted: a tree of 2^64 leaves needs at most 64 hashes (+1 for a
/// consistency proof's seed).
pub const MAX_LEDGER_PROOF_HASHES: usize = 65;

/// Read access to the stored nodes of the ledger tree.
pub trait NodeSource {
    /// The root of the perfect subtree of `2^level` leaves starting at leaf
    /// `index << level` (level 0: the leaf hash). Errors when it is not stored.
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError>;
}

/// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point `k`.
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[start : start + size]) (RFC 9162 §2.1.1) from stored nodes: an aligned perfect
/// subtree is one lookup, any other range splits at the largest power of two below its size.
pub fn subtree_root<H: TreeHasher, S: NodeSource + ?Sized>(
    src: &S,
    start: u64,
    size: u64,
) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(H::empty());
    }
    if size.is_power_of_two() && start.is_multiple_of(size) {
        return src.node(size.trailing_zeros() as u8, start / size);
    }
    let k = split(size);
    let left = subtree_root::<H, S>(src, start, k)?;
    let right = subtree_root::<H, S>(src, start + k, size - k)?;
    Ok(H::node(&left, &right))
}

/// PATH(m, D[n]) of RFC 9162 §2.1.3.1 for the tree D[start : start + n].
fn path<H: TreeHasher, S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    n: u64,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path::<H, S>(src, m, start, k, out)?;
        out.push(subtree_root::<H, S>(src, start + k, n - k)?);
    } else {
        path::<H, S>(src, m - k, start + k, n - k, out)?;
        out.push(subtree_root::<H, S>(src, start, k)?);
    }
    Ok(())
}

/// The inclusion proof (audit path) of leaf `index` in the tree of the first `tree_size`
/// leaves: PATH(m, D[n]), RFC 9162 §2.1.3.1.
pub fn inclusion_proof<H: TreeHasher, S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index,
            count: tree_size,
        });
    }
    let mut out = Vec::new();
    path::<H, S>(src, index, 0, tree_size, &mut out)?;
    Ok(out)
}

/// SUBPROOF(m, D[start : start + n], b) of RFC 9162 §2.1.4.1.
fn subproof<H: TreeHasher, S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    n: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    if m == n {
        if !b {
            out.push(subtree_root::<H, S>(src, start, n)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof::<H, S>(src, m, start, k, b, out)?;
        out.push(subtree_root::<H, S>(src, start + k, n - k)?);
    } else {
        subproof::<H, S>(src, m - k, start + k, n - k, false, out)?;
        out.push(subtree_root::<H, S>(src, start, k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of the first `first` and the first `second`
/// leaves: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1. Empty when
/// `first` is 0 or equal to `second`.
pub fn consistency_proof<H: TreeHasher, S: NodeSource + ?Sized>(
    src: &S,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError> {
    if first > second {
        return Err(ProofError::SizeOrder { first, second });
    }
    let mut out = Vec::new();
    if first > 0 && first < second {
        subproof::<H, S>(src, first, 0, second, true, &mut out)?;
    }
    Ok(out)
}

/// Hashes an inclusion proof of leaf `index` in a tree of `size` leaves has: the levels where
/// the paths of `index` and of the last leaf differ (inner), plus the left-side subtrees
/// above them (border).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ size.saturating_sub(1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves with root
/// `root` — RFC 9162 §2.1.3.2, after checking the proof's exact length.
pub fn verify_inclusion<H: TreeHasher>(
    index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index,
            count: tree_size,
        });
    }
    let want = inclusion_proof_len(index, tree_size);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    // §2.1.3.2 steps 2–6.
    let (mut fnn, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if fnn & 1 == 1 || fnn == sn {
            r = H::node(p, &r);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = H::node(&r, p);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    if sn != 0 || r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Hashes a consistency proof from `first` to `second` leaves has (0 < first < second).
pub fn consistency_proof_len(first: u64, second: u64) -> usize {
    let index = first - 1;
    let inner = 64 - (index ^ (second - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    let shift = first.trailing_zeros();
    let seed = if first.is_power_of_two() { 0 } else { 1 };
    seed + inner.saturating_sub(shift) as usize + border as usize
}

/// Verifies that the tree of `first` leaves with root `first_root` is a prefix of the tree
/// of `second` leaves with root `second_root` — RFC 9162 §2.1.4.2, after checking the
/// proof's exact length. Equal sizes need an empty proof and equal roots; size 0 is a prefix
/// of every tree (empty proof).
pub fn verify_consistency<H: TreeHasher>(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizeOrder { first, second });
    }
    if first == 0 || first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        if first == second && first_root != second_root {
            return Err(ProofError::SecondRootMismatch);
        }
        return Ok(());
    }
    let want = consistency_proof_len(first, second);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    // §2.1.4.2 step 2: a power-of-two first tree is its own seed.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    // Steps 3–4.
    let (mut fnn, mut sn) = (first - 1, second - 1);
    while fnn & 1 == 1 {
        fnn >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (path[0], path[0]);
    // Step 6.
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if fnn & 1 == 1 || fnn == sn {
            fr = H::node(c, &fr);
            sr = H::node(c, &sr);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = H::node(&sr, c);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if fr != *first_root {
        return Err(ProofError::FirstRootMismatch);
    }
    if sn != 0 || sr != *second_root {
        return Err(ProofError::SecondRootMismatch);
    }
    Ok(())
}

/// The nodes of a tree kept in memory, level by level (level 0: leaf hashes). For tests,
/// benchmarks and small trees; the node keeps the same nodes in sled.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// Appends one leaf hash, completing its perfect subtrees under `H`.
    pub fn push<H: TreeHasher>(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(node);
            let row = &self.levels[level];
            if row.len() % 2 == 1 {
                break;
            }
            node = H::node(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// A tree over `leaves` (leaf hashes).
    pub fn from_leaves<H: TreeHasher>(leaves: &[Hash]) -> MemoryTree {
        let mut t = MemoryTree::default();
        for l in leaves {
            t.push::<H>(*l);
        }
        t
    }

    /// Leaves held.
    pub fn size(&self) -> u64 {
        self.levels.first().map(|l| l.len() as u64).unwrap_or(0)
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|row| row.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| ProofError::Missing(format!("level {level} index {index}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, root, Blake3Tree};

    #[test]
    fn every_inclusion_and_consistency_proof_up_to_70_leaves_verifies() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let t = MemoryTree::from_leaves::<Blake3Tree>(&leaves);
        let roots: Vec<Hash> = (0..=70).map(|n| root(&leaves[..n])).collect();
        for n in 1..=70u64 {
            assert_eq!(
                subtree_root::<Blake3Tree, _>(&t, 0, n).unwrap(),
                roots[n as usize]
            );
            for m in 0..n {
                let p = inclusion_proof::<Blake3Tree, _>(&t, m, n).unwrap();
                assert_eq!(p.len(), inclusion_proof_len(m, n));
                verify_inclusion::<Blake3Tree>(m, n, &leaves[m as usize], &p, &roots[n as usize])
                    .unwrap();
            }
            for m in 0..=n {
                let p = consistency_proof::<Blake3Tree, _>(&t, m, n).unwrap();
                let (r1, r2) = (&roots[m as usize], &roots[n as usize]);
                verify_consistency::<Blake3Tree>(m, n, r1, r2, &p).unwrap();
                if m > 0 && m < n {
                    assert_eq!(p.len(), consistency_proof_len(m, n));
                    assert!(verify_consistency::<Blake3Tree>(m, n, r2, r1, &p).is_err());
                }
            }
        }
    }

    #[test]
    fn out_of_range_and_reversed_sizes_are_refused() {
        let leaves: Vec<Hash> = (0u32..5).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let t = MemoryTree::from_leaves::<Blake3Tree>(&leaves);
        assert!(inclusion_proof::<Blake3Tree, _>(&t, 5, 5).is_err());
        assert!(inclusion_proof::<Blake3Tree, _>(&t, 3, 9).is_err());
        assert!(consistency_proof::<Blake3Tree, _>(&t, 4, 3).is_err());
        let r = root(&leaves);
        assert!(verify_inclusion::<Blake3Tree>(0, 0, &leaves[0], &[], &r).is_err());
        assert!(verify_inclusion::<Blake3Tree>(u64::MAX, u64::MAX, &r, &[], &r).is_err());
        assert!(verify_consistency::<Blake3Tree>(u64::MAX - 1, u64::MAX, &r, &r, &[r]).is_err());
    }
}
