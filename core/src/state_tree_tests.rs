use super::*;
use proptest::prelude::*;

fn key(i: u32) -> Vec<u8> {
    format!("ent/E{i}").into_bytes()
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn tree_of(n: u32) -> (StateTree, Pairs) {
    let pairs: Pairs = (0..n)
        .map(|i| (key(i), format!("value {i}").into_bytes()))
        .collect();
    let t = StateTree::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    (t, pairs)
}

fn writes(pairs: &[(Vec<u8>, Option<Vec<u8>>)]) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    pairs.iter().cloned().collect()
}

#[test]
fn empty_map_and_one_key() {
    let t = StateTree::new();
    assert_eq!(t.root(), EMPTY);
    let p = t.prove(b"k");
    assert_eq!(p.siblings.len(), 0);
    verify(&EMPTY, b"k", None, &p).unwrap();
    let one = t.apply(&writes(&[(b"k".to_vec(), Some(b"v".to_vec()))]));
    assert_eq!(one.root(), leaf_hash(&key_path(b"k"), &value_hash(b"v")));
    verify(&one.root(), b"k", Some(b"v"), &one.prove(b"k")).unwrap();
    // The empty map's proof of absence does not hold against the one-key root.
    assert_eq!(
        verify(&one.root(), b"k", None, &p),
        Err(StateProofError::EmptyAgainstNonEmpty)
    );
    // Removing the key gives the empty root back.
    let none = one.apply(&writes(&[(b"k".to_vec(), None)]));
    assert_eq!(none.root(), EMPTY);
    assert_eq!(t.root(), EMPTY, "versions are persistent");
}

#[test]
fn every_key_proves_present_and_others_absent() {
    let (t, pairs) = tree_of(300);
    let root = t.root();
    for (k, v) in &pairs {
        let p = t.prove(k);
        verify(&root, k, Some(v), &p).unwrap();
        assert_eq!(
            verify(&root, k, None, &p),
            Err(StateProofError::PresentNotAbsent)
        );
        assert_eq!(
            verify(&root, k, Some(b"other"), &p),
            Err(StateProofError::ValueMismatch)
        );
    }
    for i in 300..600 {
        let k = key(i);
        let p = t.prove(&k);
        verify(&root, &k, None, &p).unwrap();
        assert!(verify(&root, &k, Some(b"x"), &p).is_err());
    }
}

/// A present key's proof of absence cannot be made from any other key's inclusion proof,
/// whole or cut short (the truncated-proof forgery).
#[test]
fn truncated_inclusion_proofs_do_not_prove_absence() {
    let (t, pairs) = tree_of(64);
    let root = t.root();
    let (target, _) = &pairs[7];
    for (k, _) in &pairs {
        if k == target {
            continue;
        }
        let mut p = t.prove(k);
        while !p.siblings.is_empty() {
            assert!(verify(&root, target, None, &p).is_err());
            p.siblings.remove(0);
        }
        assert!(verify(&root, target, None, &p).is_err());
    }
    // The classic shape: a leaf that does not share the path is named as truncation.
    let mut p = t.prove(&pairs[0].0);
    let own = t.prove(target);
    p.siblings = own.siblings.clone();
    if p.leaf.as_ref().map(|l| l.path) != own.leaf.as_ref().map(|l| l.path) {
        let err = verify(&root, target, None, &p).unwrap_err();
        assert!(
            matches!(
                err,
                StateProofError::Truncated(_) | StateProofError::Root { .. }
            ),
            "{err}"
        );
    }
}

#[test]
fn non_canonical_and_overlong_shapes_are_refused() {
    let (t, pairs) = tree_of(16);
    let root = t.root();
    let (k, v) = &pairs[3];
    let mut p = t.prove(k);
    p.siblings.push(EMPTY);
    assert!(matches!(
        verify(&root, k, Some(v), &p),
        Err(StateProofError::NotCanonical(_))
    ));
    let deep = StateProof {
        siblings: vec![Hash([1; 32]); PATH_BITS + 1],
        leaf: None,
    };
    assert_eq!(
        verify(&root, k, None, &deep),
        Err(StateProofError::TooDeep(PATH_BITS + 1))
    );
}

/// The proof format has one sibling per step: an inner step carrying both children (the
/// IAVL forgery) does not decode.
#[test]
fn a_step_with_both_siblings_does_not_decode() {
    let (t, pairs) = tree_of(8);
    let p = t.prove(&pairs[0].0);
    let mut json: serde_json::Value = serde_json::to_value(&p).unwrap();
    json["siblings"][0] = serde_json::json!({"left": EMPTY.to_hex(), "right": EMPTY.to_hex()});
    assert!(serde_json::from_value::<StateProof>(json.clone()).is_err());
    let mut extra: serde_json::Value = serde_json::to_value(&p).unwrap();
    extra["left"] = serde_json::json!([EMPTY.to_hex()]);
    assert!(serde_json::from_value::<StateProof>(extra).is_err());
}

fn op() -> impl Strategy<Value = (u8, Option<u8>)> {
    (0u8..40, proptest::option::of(any::<u8>()))
}

proptest! {
    /// Applying writes block by block gives the root of the final set built at once, and
    /// the earlier version still proves what it held.
    #[test]
    fn apply_matches_build(blocks in proptest::collection::vec(proptest::collection::vec(op(), 0..20), 1..8)) {
        let mut t = StateTree::new();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for block in &blocks {
            let w: BTreeMap<Vec<u8>, Option<Vec<u8>>> = block
                .iter()
                .map(|(k, v)| (vec![b'k', *k], v.map(|v| vec![v; (v % 7) as usize])))
                .collect();
            let before = t.clone();
            let before_model = model.clone();
            t = t.apply(&w);
            for (k, v) in &w {
                match v {
                    Some(v) => { model.insert(k.clone(), v.clone()); }
                    None => { model.remove(k); }
                }
            }
            let built = StateTree::from_pairs(model.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
            prop_assert_eq!(t.root(), built.root());
            for k in 0u8..40 {
                let k = vec![b'k', k];
                let p = before.prove(&k);
                prop_assert!(verify(&before.root(), &k, before_model.get(&k).map(|v| v.as_slice()), &p).is_ok());
            }
        }
    }

    /// Any changed byte of a proof, its value or its root makes verification fail.
    #[test]
    fn any_changed_byte_is_rejected(n in 1u32..60, which in 0u32..80, flip in 0usize..4096, bitn in 0u8..8) {
        let (t, pairs) = tree_of(n);
        let root = t.root();
        let k = key(which);
        let value = pairs.iter().find(|(pk, _)| *pk == k).map(|(_, v)| v.clone());
        let p = t.prove(&k);
        prop_assert!(verify(&root, &k, value.as_deref(), &p).is_ok());
        // The proof's bytes: siblings, then the leaf's path and value hash.
        let mut bytes: Vec<u8> = p.siblings.iter().flat_map(|h| h.0).collect();
        if let Some(l) = &p.leaf {
            bytes.extend_from_slice(&l.path.0);
            bytes.extend_from_slice(&l.value_hash.0);
        }
        let extra = value.as_ref().map_or(0, |v| v.len()) + 32;
        let at = flip % (bytes.len() + extra);
        let mask = 1u8 << bitn;
        let mut root2 = root;
        let mut value2 = value.clone();
        if at < bytes.len() {
            bytes[at] ^= mask;
        } else if at < bytes.len() + 32 {
            root2.0[at - bytes.len()] ^= mask;
        } else {
            value2.as_mut().unwrap()[at - bytes.len() - 32] ^= mask;
        }
        let mut q = p.clone();
        let s = q.siblings.len();
        for (i, h) in q.siblings.iter_mut().enumerate() {
            h.0.copy_from_slice(&bytes[i * 32..i * 32 + 32]);
        }
        if let Some(l) = &mut q.leaf {
            l.path.0.copy_from_slice(&bytes[s * 32..s * 32 + 32]);
            l.value_hash.0.copy_from_slice(&bytes[s * 32 + 32..s * 32 + 64]);
        }
        prop_assert!(verify(&root2, &k, value2.as_deref(), &q).is_err());
    }
}
