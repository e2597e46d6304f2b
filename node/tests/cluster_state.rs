//! State proofs (issue 22 item 2) on a demo network of the real data, through the
//! `safeledger` binary: an auditor proves an enterprise's licence, blacklist status, risk
//! level and credit grade after a height, and an unknown enterprise's absence; both verify
//! offline from the genesis alone; every value of the proof changed, and the known forgeries
//! of authenticated-map proofs, are refused.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{expect, expect_bare, start_demo_with};
use safeledger_core::view::{decode, StateProofDoc, Verifier};
use std::path::Path;

/// The first accepted licence decision of the import: (enterprise, licence number).
fn a_licence(home: &Path) -> (String, String) {
    let (_, d) = common::first_accepted("licence_decision", |h| {
        let o = common::run(&["block", "show", &h.to_string(), "--output", "json"], home);
        o.status
            .success()
            .then(|| serde_json::from_slice(&o.stdout).expect("block JSON"))
    });
    (
        d["enterprise"].as_str().unwrap().to_string(),
        d["licence_number"].as_str().unwrap().to_string(),
    )
}

fn prove(h: &Path, out: &Path, args: &[&str]) -> String {
    let mut all = vec!["audit", "state", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--as", "audit-office"]);
    expect(0, &all, h).0
}

#[test]
fn cluster_state_proofs_verify_offline_and_refuse_changes() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis_path = h.join("genesis.json");
    let g = genesis_path.to_str().unwrap();
    let (ent, licence) = a_licence(h);

    // An enterprise with a licence, and one the ledger never saw, in one proof.
    let file = dir.path().join("state.json");
    let o = prove(
        h,
        &file,
        &[
            "--enterprise",
            &format!("{ent},us-chi-bacp:no-such-99"),
            "--licence",
            &licence,
        ],
    );
    assert!(o.contains(&format!("enterprise {ent}")), "{o}");
    assert!(o.contains(&format!("licence {licence} (")), "{o}");
    assert!(
        o.contains("blacklist: ") && o.contains("risk level: "),
        "{o}"
    );
    assert!(
        o.contains("enterprise us-chi-bacp:no-such-99: absent (proven by non-inclusion)"),
        "{o}"
    );
    let (v, _) = expect_bare(
        0,
        &["audit", "verify", file.to_str().unwrap(), "--genesis", g],
    );
    assert!(v.starts_with("state after height "), "{v}");
    assert!(v.contains("absent (proven by non-inclusion)"), "{v}");

    // At an explicit height, and refusals for heights not provable here.
    let text = std::fs::read_to_string(&file).unwrap();
    let doc: StateProofDoc = decode(text.as_bytes()).expect("a state proof");
    let at = doc.height.to_string();
    let again = dir.path().join("again.json");
    prove(h, &again, &["--enterprise", &ent, "--height", &at]);
    let (_, err) = common::expect(
        6,
        &[
            "audit",
            "state",
            "--enterprise",
            &ent,
            "--height",
            "1000000",
            "--out",
            again.to_str().unwrap(),
            "--as",
            "audit-office",
        ],
        h,
    );
    assert!(err.contains("is proven by header 1000001"), "{err}");

    // Every value of the document changed, one at a time: refused.
    let genesis: safeledger_core::Genesis =
        serde_json::from_str(&std::fs::read_to_string(&genesis_path).unwrap()).unwrap();
    let verifier = Verifier::new(&genesis);
    verifier.verify_state(&doc).expect("the proof verifies");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut leaves = Vec::new();
    common::json_leaves(&json, String::new(), &mut leaves);
    let step = (leaves.len() / 400).max(1);
    let mut tried = 0;
    for path in leaves.iter().step_by(step) {
        let mut changed = json.clone();
        common::mutate_leaf(changed.pointer_mut(path).unwrap());
        let bytes = serde_json::to_vec(&changed).unwrap();
        let ok = decode::<StateProofDoc>(&bytes).and_then(|d| verifier.verify_state(&d));
        assert!(ok.is_err(), "changing {path} went unnoticed");
        tried += 1;
    }
    assert!(tried > 50, "{tried}");

    // Through the binary: a changed value names its entry.
    let mut changed = json.clone();
    common::mutate_leaf(changed.pointer_mut("/entries/0/value").unwrap());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&changed).unwrap()).unwrap();
    let (_, err) = expect_bare(
        1,
        &["audit", "verify", bad.to_str().unwrap(), "--genesis", g],
    );
    assert!(
        err.contains("INVALID") && err.contains("entries[0].value"),
        "{err}"
    );

    // Forgeries: the present enterprise claimed absent with the other entry's proof (a
    // proof of a different path); with its own proof; with an empty proof.
    let mut forged = doc.clone();
    forged.entries[0].value = None;
    forged.entries[0].proof = doc.entries[1].proof.clone();
    assert!(verifier.verify_state(&forged).is_err());
    forged.entries[0].proof = doc.entries[0].proof.clone();
    let err = verifier.verify_state(&forged).unwrap_err().to_string();
    assert!(err.contains("entries[0].value"), "{err}");
    forged.entries[0].proof.siblings.clear();
    forged.entries[0].proof.leaf = None;
    let err = verifier.verify_state(&forged).unwrap_err().to_string();
    assert!(
        err.contains("empty proof against a non-empty root"),
        "{err}"
    );
    // An inner step with both siblings does not decode.
    let mut both = json.clone();
    both["entries"][0]["proof"]["siblings"][0] =
        serde_json::json!({"left": "00".repeat(32), "right": "00".repeat(32)});
    assert!(decode::<StateProofDoc>(&serde_json::to_vec(&both).unwrap()).is_err());
    drop(demo);
}
