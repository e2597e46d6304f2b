//! Views are rejected when any value in them changes (DESIGN §4: "a change to any value is
//! rejected; formatting of the JSON is not a value"), when any Merkle proof element is
//! swapped, removed or duplicated, and the verifier names the first element that fails.
//! The decoder survives arbitrary bytes and JSON.

mod common;

use common::Chain;
use proptest::prelude::*;
use safeledger_core::ledger_tree::{inclusion_proof, MemoryTree};
use safeledger_core::merkle::Blake3Tree;
use safeledger_core::view::{
    decode, encode, Element, FieldPart, FieldView, LedgerInclusion, Verifier, View,
};
use serde_json::Value;
use std::sync::OnceLock;

fn chain() -> &'static Chain {
    static C: OnceLock<Chain> = OnceLock::new();
    C.get_or_init(|| Chain::new(11))
}

fn verifiers() -> &'static (Verifier, Verifier) {
    static V: OnceLock<(Verifier, Verifier)> = OnceLock::new();
    V.get_or_init(|| {
        let c = chain();
        let g = Verifier::new(&c.genesis);
        let mut cp = Verifier::new(&c.genesis);
        cp.trust_checkpoint(&c.checkpoint()).expect("checkpoint");
        (g, cp)
    })
}

/// Decodes and verifies with both verifiers; Ok only when both accept.
fn check(json: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(json).map_err(|e| e.to_string())?;
    let view: View = decode(&bytes).map_err(|e| e.to_string())?;
    let (g, cp) = verifiers();
    g.verify(&view).map_err(|e| e.to_string())?;
    cp.verify(&view).map_err(|e| e.to_string())?;
    Ok(())
}

fn with_ledger(mut v: View) -> View {
    let c = chain();
    let t = MemoryTree::from_leaves::<Blake3Tree>(&c.leaves);
    let index = v.block.index as u64;
    v.ledger = Some(LedgerInclusion {
        tree_size: c.h1.ledger_size,
        index,
        proof: inclusion_proof::<Blake3Tree, _>(&t, index, c.h1.ledger_size).unwrap(),
    });
    v
}

/// Every scalar in a JSON document, by path.
fn scalar_paths(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(PathStep::Key(k.clone()));
                scalar_paths(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(PathStep::Index(i));
                scalar_paths(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(v, |v, s| match s {
        PathStep::Key(k) => &mut v[k.as_str()],
        PathStep::Index(i) => &mut v[*i],
    })
}

/// A different value of the same JSON type (hex stays hex of the same length).
fn changed(v: &Value, salt: u8) -> Value {
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            let mut b = s.clone().into_bytes();
            let i = salt as usize % b.len();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            Value::String(String::from_utf8(b).unwrap())
        }
        Value::String(s) => Value::String(format!("{s}x")),
        Value::Number(n) => Value::from(n.as_u64().unwrap_or(0).wrapping_add(1 + salt as u64)),
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => Value::from(0),
        other => other.clone(),
    }
}

fn views() -> Vec<View> {
    let c = chain();
    vec![
        c.view(0, &[]),
        c.view(2, &["amount_minor"]),
        c.view(5, &["enterprise", "reason", "grade"]),
        with_ledger(c.view(10, &["case_id"])),
    ]
}

#[test]
fn valid_views_verify_from_genesis_and_against_a_checkpoint() {
    let (g, cp) = verifiers();
    for v in views() {
        let a = g.verify(&v).unwrap();
        let b = cp.verify(&v).unwrap();
        assert!(!a.from_checkpoint && b.from_checkpoint);
        assert_eq!(a.revealed, b.revealed);
        let back: View = decode(encode(&v).as_bytes()).unwrap();
        assert_eq!(back, v);
        // Hidden fields are digests only: their values are nowhere in the document.
        let text = encode(&v);
        let reason = format!("reason {}", v.tx.envelope.sequence);
        let hidden_reason = matches!(v.tx.fields[6], FieldView::Hidden { .. });
        assert_eq!(text.contains(&reason), !hidden_reason);
        // Formatting is not a value: compact JSON verifies the same.
        check(&serde_json::to_value(&v).unwrap()).unwrap();
    }
}

#[test]
fn a_change_to_any_value_in_a_view_is_rejected() {
    for v in views() {
        let json = serde_json::to_value(&v).unwrap();
        let mut paths = Vec::new();
        scalar_paths(&json, &mut Vec::new(), &mut paths);
        assert!(paths.len() > 60, "{}", paths.len());
        for p in &paths {
            for salt in [0u8, 7] {
                let mut j = json.clone();
                let slot = at(&mut j, p);
                *slot = changed(slot, salt);
                assert!(check(&j).is_err(), "change at {p:?} accepted");
            }
        }
    }
}

/// The Merkle proof arrays of a view.
fn proof_arrays(v: &View) -> Vec<Vec<PathStep>> {
    let k = |s: &str| PathStep::Key(s.into());
    let mut out = vec![vec![k("block"), k("proof")], vec![k("result"), k("proof")]];
    if v.ledger.is_some() {
        out.push(vec![k("ledger"), k("proof")]);
    }
    out
}

#[test]
fn every_swap_removal_and_duplication_of_a_proof_element_is_rejected() {
    for v in views() {
        let json = serde_json::to_value(&v).unwrap();
        for p in proof_arrays(&v) {
            let mut base = json.clone();
            let arr = at(&mut base, &p).as_array().unwrap().clone();
            assert!(!arr.is_empty());
            let mut variants: Vec<Vec<Value>> = Vec::new();
            for i in 0..arr.len() {
                let mut r = arr.clone();
                r.remove(i);
                variants.push(r);
                let mut d = arr.clone();
                d.insert(i, arr[i].clone());
                variants.push(d);
                for j in i + 1..arr.len() {
                    let mut s = arr.clone();
                    s.swap(i, j);
                    if s != arr {
                        variants.push(s);
                    }
                }
            }
            let mut trailing = arr.clone();
            trailing.push(arr[0].clone());
            variants.push(trailing);
            for var in variants {
                let mut j = json.clone();
                *at(&mut j, &p) = Value::Array(var.clone());
                assert!(check(&j).is_err(), "{p:?} = {var:?} accepted");
            }
        }
        // Fields and transaction signatures are ordered too.
        let mut j = json.clone();
        at(
            &mut j,
            &[PathStep::Key("tx".into()), PathStep::Key("fields".into())],
        )
        .as_array_mut()
        .unwrap()
        .swap(1, 2);
        assert!(check(&j).is_err());
    }
}

fn first_error(v: &View) -> Element {
    verifiers().0.verify(v).unwrap_err().element
}

#[test]
fn the_first_failing_element_is_named() {
    let c = chain();
    let v = c.view(4, &["reason", "amount_minor"]);
    let mut t = v.clone();
    t.version = 2;
    assert_eq!(first_error(&t), Element::Version);
    let mut t = v.clone();
    t.certificate.signatures[1].signature.0[3] ^= 1;
    assert_eq!(first_error(&t), Element::CertificateSignature(1));
    let mut t = v.clone();
    t.certificate.signatures.pop();
    assert_eq!(first_error(&t), Element::Certificate);
    let mut t = v.clone();
    t.result.header.time.0 += 1;
    assert_eq!(first_error(&t), Element::ResultHeader);
    let mut t = v.clone();
    t.certificate.block_hash.0[0] ^= 1;
    assert_eq!(first_error(&t), Element::CertificateSignature(0));
    let mut t = v.clone();
    t.block.header.time.0 += 1;
    assert_eq!(first_error(&t), Element::BlockHeader);
    let mut t = v.clone();
    t.tx.envelope.sequence += 1;
    assert_eq!(first_error(&t), Element::TxId);
    let mut t = v.clone();
    t.tx.signatures[0].signature.0[0] ^= 1;
    assert_eq!(first_error(&t), Element::Signature(0));
    let mut t = v.clone();
    t.block.index = 3;
    assert_eq!(first_error(&t), Element::BlockProof);
    let mut t = v.clone();
    t.block.index = 11;
    assert_eq!(first_error(&t), Element::BlockIndex);
    let mut t = v.clone();
    t.block.proof[0].0[0] ^= 1;
    assert_eq!(first_error(&t), Element::BlockProof);
    let mut t = v.clone();
    if let FieldView::Revealed { value, .. } = &mut t.tx.fields[6] {
        *value = Some(Value::String("a different reason".into()));
    }
    assert_eq!(first_error(&t), Element::Field(6, FieldPart::Value));
    let mut t = v.clone();
    if let FieldView::Revealed { salt, .. } = &mut t.tx.fields[6] {
        salt[0] ^= 1;
    }
    assert_eq!(first_error(&t), Element::FieldRoot);
    let mut t = v.clone();
    if let FieldView::Revealed { canonical, .. } = &mut t.tx.fields[5] {
        canonical.push(0);
    }
    assert_eq!(first_error(&t), Element::Field(5, FieldPart::Canonical));
    let mut t = v.clone();
    t.tx.fields.pop();
    assert_eq!(first_error(&t), Element::Fields);
    let mut t = v.clone();
    t.result.result.outcome = safeledger_core::Outcome::Refused {
        rule: "R1".into(),
        reason: "made up".into(),
    };
    assert!(v.result.result.outcome != t.result.result.outcome);
    assert_eq!(first_error(&t), Element::ResultProof);
    let t = with_ledger(v.clone());
    let mut t2 = t.clone();
    if let Some(l) = &mut t2.ledger {
        l.index += 1;
    }
    assert_eq!(first_error(&t2), Element::LedgerIndex);
    let mut t2 = t.clone();
    if let Some(l) = &mut t2.ledger {
        l.tree_size = 5;
    }
    assert_eq!(first_error(&t2), Element::LedgerTreeSize);
    let mut t = v.clone();
    t.tx.id.0[0] ^= 1;
    let json = encode(&t);
    let err = decode::<View>(json.as_bytes())
        .and_then(|v| verifiers().0.verify(&v))
        .unwrap_err();
    assert_eq!(err.to_string().split(':').next(), Some("tx.id"));
}

#[test]
fn unknown_keys_and_upper_case_hex_are_not_canonical() {
    let v = chain().view(1, &[]);
    let mut j = serde_json::to_value(&v).unwrap();
    j["extra"] = Value::from(1);
    assert_eq!(
        decode::<View>(&serde_json::to_vec(&j).unwrap())
            .unwrap_err()
            .element,
        Element::Document
    );
    let mut j = serde_json::to_value(&v).unwrap();
    let id = j["tx"]["id"].as_str().unwrap().to_uppercase();
    j["tx"]["id"] = Value::String(id);
    assert!(decode::<View>(&serde_json::to_vec(&j).unwrap()).is_err());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[0-9a-f]{0,70}".prop_map(Value::String),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("format".to_string()),
                    Just("tx".to_string()),
                    Just("fields".to_string()),
                    Just("revealed".to_string()),
                    Just("header".to_string()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoder_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = decode::<View>(&bytes);
    }

    #[test]
    fn decoder_survives_arbitrary_json(j in arb_json()) {
        let bytes = serde_json::to_vec(&j).unwrap();
        if let Ok(v) = decode::<View>(&bytes) {
            let _ = verifiers().0.verify(&v);
        }
    }

    #[test]
    fn a_byte_edit_that_still_verifies_changed_only_formatting(
        which in 0usize..4, pos in any::<prop::sample::Index>(), byte in any::<u8>(), del in any::<bool>()
    ) {
        let v = &views()[which];
        let text = encode(v);
        let mut bytes = text.clone().into_bytes();
        let i = pos.index(bytes.len());
        if del { bytes.remove(i); } else { bytes[i] = byte; }
        if let Ok(w) = decode::<View>(&bytes) {
            if verifiers().0.verify(&w).is_ok() {
                prop_assert_eq!(serde_json::to_value(&w).unwrap(), serde_json::to_value(v).unwrap());
            }
        }
    }

    #[test]
    fn a_random_value_change_is_rejected(which in 0usize..4, pick in any::<prop::sample::Index>(), salt in any::<u8>()) {
        let v = &views()[which];
        let json = serde_json::to_value(v).unwrap();
        let mut paths = Vec::new();
        scalar_paths(&json, &mut Vec::new(), &mut paths);
        let p = &paths[pick.index(paths.len())];
        let mut j = json.clone();
        let slot = at(&mut j, p);
        *slot = changed(slot, salt);
        prop_assert!(check(&j).is_err());
    }
}

#[test]
fn batch_verification_agrees_with_one_at_a_time() {
    let (g, cp) = verifiers();
    let mut vs = views();
    let mut bad = vs[1].clone();
    bad.tx.signatures[0].signature.0[10] ^= 1;
    vs.push(bad);
    let mut bad = vs[0].clone();
    bad.certificate.signatures[2].signature.0[10] ^= 1;
    vs.push(bad);
    for v in [g, cp] {
        let all = v.verify_all(&vs);
        let one: Vec<_> = vs.iter().map(|x| v.verify(x)).collect();
        assert_eq!(all, one);
        assert_eq!(all.iter().filter(|r| r.is_err()).count(), 2);
    }
    let e = g.verify(&vs[4]).unwrap_err();
    assert_eq!(e.element, Element::Signature(0));
    let e = g.verify(&vs[5]).unwrap_err();
    assert_eq!(e.element, Element::CertificateSignature(2));
}

/// A revealed optional field that is absent (JSON null) verifies after the view's JSON
/// round trip: the builder writes null, which reads back as no value, and the verifier
/// takes a field that decodes to null as such (a penalty without an amount or currency).
#[test]
fn an_absent_optional_field_revealed_verifies() {
    use rand::SeedableRng;
    use safeledger_core::records::Penalty;
    let mut tx = common::penalty(1);
    if let safeledger_core::TxBody::Penalty(p) = &mut tx.payload.body {
        *p = Penalty {
            amount_minor: None,
            currency: None,
            ..p.clone()
        };
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let p = safeledger_core::TxPayload::new(
        common::CHAIN,
        1,
        tx.payload.effective_at,
        tx.payload.body.clone(),
        &mut rng,
    );
    let tx = safeledger_core::Transaction::sign(p, &[&common::officer_key(0)]);
    let c = Chain::of(vec![tx]);
    let v = c.view(0, &["amount_minor", "currency", "case_id"]);
    let g = Verifier::new(&c.genesis);
    g.verify(&v).expect("in memory");
    let json: Value = serde_json::from_str(&encode(&v)).unwrap();
    let back: View = decode(&serde_json::to_vec(&json).unwrap()).expect("decodes");
    g.verify(&back).expect("after the JSON round trip");
}
