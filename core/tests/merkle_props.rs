//! Property tests of the Merkle layer: proofs of random trees verify; hostile proofs —
//! duplicate indices, extra trailing hashes, a leaf count other than the header's, an index at
//! or beyond the count, a truncated path, an interior node presented as a leaf, any swap,
//! removal or duplication — are refused; nothing panics on arbitrary input.

use proptest::prelude::*;
use safeledger_core::ledger_tree::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, MemoryTree,
    NodeSource,
};
use safeledger_core::merkle::{leaf_hash, root, Blake3Tree};
use safeledger_core::proof::{prove, verify, ProofError};
use safeledger_core::Hash;

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

/// Every single edit of a proof: each removal, duplication, swap of two different elements,
/// one flipped bit per element, and a trailing extra hash.
fn edits(p: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..p.len() {
        let mut r = p.to_vec();
        r.remove(i);
        out.push(r);
        let mut d = p.to_vec();
        d.insert(i, p[i]);
        out.push(d);
        let mut f = p.to_vec();
        f[i].0[i % 32] ^= 1;
        out.push(f);
        for j in i + 1..p.len() {
            if p[i] != p[j] {
                let mut s = p.to_vec();
                s.swap(i, j);
                out.push(s);
            }
        }
    }
    let mut t = p.to_vec();
    t.push(Hash([7; 32]));
    out.push(t);
    out
}

fn subset(n: u64) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::btree_set(0..n, 1..=(n as usize).min(6)).prop_map(|s| s.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn multi_proofs_verify_and_every_edit_is_refused((n, idx) in (1u64..120).prop_flat_map(|n| (Just(n), subset(n)))) {
        let l = leaves(n);
        let r = root(&l);
        let p = prove::<Blake3Tree>(&l, &idx).unwrap();
        let pairs: Vec<(u64, Hash)> = idx.iter().map(|i| (*i, l[*i as usize])).collect();
        prop_assert_eq!(verify::<Blake3Tree>(&r, n, &pairs, &p), Ok(()));
        for e in edits(&p) {
            prop_assert!(verify::<Blake3Tree>(&r, n, &pairs, &e).is_err());
        }
        // Duplicate or unordered indices.
        let mut dup = pairs.clone();
        dup.insert(0, pairs[0]);
        prop_assert_eq!(verify::<Blake3Tree>(&r, n, &dup, &p), Err(ProofError::IndicesNotIncreasing(1)));
        if pairs.len() > 1 {
            let mut rev = pairs.clone();
            rev.reverse();
            prop_assert!(verify::<Blake3Tree>(&r, n, &rev, &p).is_err());
        }
        // An index at or beyond the header's count.
        let mut out = pairs.clone();
        let last = out.len() - 1;
        out[last].0 = n + last as u64;
        let oor = matches!(verify::<Blake3Tree>(&r, n, &out, &p), Err(ProofError::IndexOutOfRange { .. }));
        prop_assert!(oor);
        // A wrong leaf.
        let mut wrong = pairs.clone();
        wrong[0].1 = leaf_hash(b"forged");
        prop_assert_eq!(verify::<Blake3Tree>(&r, n, &wrong, &p), Err(ProofError::RootMismatch));
    }

    #[test]
    fn a_proof_for_another_leaf_count_fails_against_the_header(n in 2u64..80, m in 1u64..80, i in 0u64..80) {
        prop_assume!(m != n && i < m && i < n);
        // A proof made in a tree of m leaves, presented against the header of n leaves.
        let l = leaves(n.max(m));
        let p = prove::<Blake3Tree>(&l[..m as usize], &[i]).unwrap();
        let r = root(&l[..n as usize]);
        prop_assert!(verify::<Blake3Tree>(&r, n, &[(i, l[i as usize])], &p).is_err());
        let pl = inclusion_proof::<Blake3Tree, _>(&MemoryTree::from_leaves::<Blake3Tree>(&l), i, m).unwrap();
        prop_assert!(verify_inclusion::<Blake3Tree>(i, n, &l[i as usize], &pl, &r).is_err());
    }

    #[test]
    fn ledger_proofs_verify_and_every_edit_is_refused(n in 1u64..200, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let l = leaves(n);
        let t = MemoryTree::from_leaves::<Blake3Tree>(&l);
        let r = root(&l);
        let m = a.index(n as usize) as u64;
        let p = inclusion_proof::<Blake3Tree, _>(&t, m, n).unwrap();
        prop_assert_eq!(verify_inclusion::<Blake3Tree>(m, n, &l[m as usize], &p, &r), Ok(()));
        for e in edits(&p) {
            prop_assert!(verify_inclusion::<Blake3Tree>(m, n, &l[m as usize], &e, &r).is_err());
        }
        let first = 1 + b.index(n as usize) as u64;
        let r1 = root(&l[..first as usize]);
        let c = consistency_proof::<Blake3Tree, _>(&t, first, n).unwrap();
        prop_assert_eq!(verify_consistency::<Blake3Tree>(first, n, &r1, &r, &c), Ok(()));
        if first < n {
            for e in edits(&c) {
                prop_assert!(verify_consistency::<Blake3Tree>(first, n, &r1, &r, &e).is_err());
            }
            prop_assert!(verify_consistency::<Blake3Tree>(first, n, &r, &r1, &c).is_err());
            prop_assert!(verify_consistency::<Blake3Tree>(first + 1, n, &r1, &r, &c).is_err());
        }
    }

    #[test]
    fn interior_nodes_are_not_leaves(k in 1u8..6, extra in 0u64..40) {
        // A perfect subtree's root presented as a leaf, with its own upper path.
        let n = (1u64 << k) * 2 + extra;
        let l = leaves(n);
        let t = MemoryTree::from_leaves::<Blake3Tree>(&l);
        let r = root(&l);
        let node = t.node(k, 1).unwrap();
        let upper: Vec<Hash> = inclusion_proof::<Blake3Tree, _>(&t, 1u64 << k, n).unwrap()[k as usize..].to_vec();
        for idx in [1u64, 1u64 << k] {
            prop_assert!(verify_inclusion::<Blake3Tree>(idx, n, &node, &upper, &r).is_err());
            prop_assert!(verify::<Blake3Tree>(&r, n, &[(idx, node)], &upper).is_err());
            // As data: the leaf prefix makes it a different hash.
            prop_assert!(verify::<Blake3Tree>(&r, n, &[(idx, leaf_hash(&node.0))], &upper).is_err());
        }
    }

    #[test]
    fn nothing_panics_on_arbitrary_input(
        count in any::<u64>(), idx in prop::collection::vec(any::<u64>(), 0..5),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..70), s1 in any::<u64>(), s2 in any::<u64>()
    ) {
        let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
        let pairs: Vec<(u64, Hash)> = idx.iter().map(|i| (*i, Hash([1; 32]))).collect();
        let _ = verify::<Blake3Tree>(&Hash::ZERO, count, &pairs, &proof);
        let small: Vec<(u64, Hash)> = idx.iter().map(|i| (i % 64, Hash([1; 32]))).collect();
        let _ = verify::<Blake3Tree>(&Hash::ZERO, count % 100, &small, &proof);
        let _ = verify_inclusion::<Blake3Tree>(s1, s2, &Hash::ZERO, &proof, &Hash::ZERO);
        let _ = verify_inclusion::<Blake3Tree>(s1 % 100, s2 % 100, &Hash::ZERO, &proof, &Hash::ZERO);
        let _ = verify_consistency::<Blake3Tree>(s1, s2, &Hash::ZERO, &Hash::ZERO, &proof);
        let _ = verify_consistency::<Blake3Tree>(s1 % 100, s2 % 100, &Hash::ZERO, &Hash::ZERO, &proof);
    }
}
