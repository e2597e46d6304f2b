//! A view of a record whose private field the serving node erased (DESIGN §4 "Private
//! fields"; issue 5 item 7): the field is hidden and marked `erased`, the view is version 2
//! and still verifies, because its digest — the only proven thing about it — is unchanged.
//! The flag is the node's statement: the verifier checks where it may stand, not whether it
//! is true.

mod common;

use common::{penalty, Chain};
use safeledger_core::view::{
    decode, encode, BuildError, Element, FieldPart, FieldView, Reason, Verifier, View,
    VIEW_VERSION, VIEW_VERSION_ERASED,
};
use safeledger_core::Transaction;

/// Index of `reason` among a penalty's fields.
const REASON: usize = 6;
/// Index of `kind` (never private).
const KIND: usize = 4;

/// Block 1: a penalty whose reason was withheld after signing, then a public one.
fn chain() -> Chain {
    let mut withheld: Transaction = penalty(1);
    withheld
        .payload
        .withhold(&["reason"])
        .expect("withholdable");
    Chain::of(vec![withheld, penalty(2)])
}

fn verify(c: &Chain, v: &View) -> Result<safeledger_core::view::Verified, Element> {
    let bytes = encode(v);
    let decoded: View = decode(bytes.as_bytes()).map_err(|e| e.element)?;
    Verifier::new(&c.genesis)
        .verify(&decoded)
        .map_err(|e| e.element)
}

fn set_erased(v: &mut View, at: usize, to: bool) {
    match &mut v.tx.fields[at] {
        FieldView::Hidden { erased, .. } => *erased = to,
        FieldView::Revealed { .. } => panic!("field {at} is revealed"),
    }
}

#[test]
fn an_erased_private_field_is_hidden_marked_erased_and_the_view_verifies() {
    let c = chain();
    let v = c.try_view(0, &["amount_minor"], &["reason"]).expect("view");
    assert_eq!(v.version, VIEW_VERSION_ERASED);
    let FieldView::Hidden { digest, erased, .. } = &v.tx.fields[REASON] else {
        panic!("the erased field is not hidden");
    };
    assert!(*erased);
    assert_eq!(
        *digest, c.txs[0].payload.withheld[0].leaf,
        "the digest stays"
    );
    let json = encode(&v);
    assert!(json.contains("\"erased\": true"), "{json}");
    let ok = verify(&c, &v).expect("verifies");
    assert_eq!(ok.erased, vec!["reason".to_string()]);
    assert!(ok.hidden.contains(&"reason".to_string()));
    // Without erasures nothing changes: version 1, no key.
    let plain = c.try_view(0, &["amount_minor"], &[]).expect("view");
    assert_eq!(plain.version, VIEW_VERSION);
    assert!(!encode(&plain).contains("erased"));
    assert_eq!(
        verify(&c, &plain).expect("verifies").erased,
        Vec::<String>::new()
    );
}

#[test]
fn the_erased_flag_is_the_nodes_statement_and_only_its_place_and_version_are_checked() {
    let c = chain();
    let v = c.try_view(0, &[], &["reason"]).expect("view");
    // Not proven: dropping the flag (with version 1) gives a view that verifies too...
    let mut t = v.clone();
    set_erased(&mut t, REASON, false);
    t.version = VIEW_VERSION;
    assert!(verify(&c, &t).is_ok());
    // ...but the version must match what the document says.
    let mut t = v.clone();
    set_erased(&mut t, REASON, false);
    assert_eq!(verify(&c, &t), Err(Element::Version));
    let mut t = v.clone();
    t.version = VIEW_VERSION;
    assert_eq!(verify(&c, &t), Err(Element::Version));
    // `"erased": false` is not the canonical form (the key appears only when true).
    let json = encode(&v).replace("\"erased\": true", "\"erased\": false");
    let e = decode::<View>(json.as_bytes()).unwrap_err();
    assert_eq!(e.element, Element::Document);
    assert!(matches!(e.reason, Reason::NotCanonical(_)), "{e}");
    // A field that is never private cannot have been erased.
    let mut t = v.clone();
    set_erased(&mut t, KIND, true);
    assert_eq!(verify(&c, &t), Err(Element::Field(KIND, FieldPart::Erased)));
    // The digest is what is proven, flag or not.
    let mut t = v.clone();
    if let FieldView::Hidden { digest, .. } = &mut t.tx.fields[REASON] {
        digest.0[0] ^= 1;
    }
    assert_eq!(verify(&c, &t), Err(Element::FieldRoot));
}

#[test]
fn an_erased_field_cannot_be_revealed_and_only_withheld_fields_can_be_erased() {
    let c = chain();
    assert_eq!(
        c.try_view(0, &["reason"], &["reason"]).unwrap_err(),
        BuildError::Erased("reason".into())
    );
    // The public penalty's reason was never withheld: no erasure to show.
    assert!(matches!(
        c.try_view(1, &[], &["reason"]).unwrap_err(),
        BuildError::Inconsistent(_)
    ));
    assert!(matches!(
        c.try_view(0, &[], &["no_such_field"]).unwrap_err(),
        BuildError::Inconsistent(_)
    ));
}
