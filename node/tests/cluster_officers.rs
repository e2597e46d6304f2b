//! Officers' posts, the verbs that act without JSON, dry runs, collective decisions
//! co-signed at different heights and lifetime accountability (issue 19 items 4–6),
//! through the `safeledger` binary on a demo network left running.
//!
//! One test (they share one network); its name has `cluster` so it runs alone in the
//! serial group.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{expect, start_demo};
use std::path::Path;
use std::time::{Duration, Instant};

const BACP: &str = "chicago-bacp";
const ENT: &str = "t-off:1";

/// The officer's page of `query officer` as JSON.
fn officer_records(home: &Path, who: &str) -> serde_json::Value {
    let (o, _) = expect(0, &["query", "officer", who, "--output", "json"], home);
    serde_json::from_str(&o).expect("officer JSON")
}

/// The first word of a command's output: the transaction id it printed.
fn tx_id(out: &str) -> String {
    out.split_whitespace().next().expect("tx id").to_string()
}

fn decide<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--agency",
        BACP,
        "--enterprise",
        ENT,
        "--reason",
        "officer's day",
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn cluster_officers_act_by_post_co_sign_over_time_and_stay_accountable() {
    let demo = start_demo();
    let home = demo.home.clone();
    let h = home.as_path();
    let files = tempfile::tempdir().expect("tempdir");
    let rec = common::write(
        files.path(),
        "ent.json",
        format!(
            r#"{{"enterprise_record": {{"enterprise": "{ENT}", "name": "Day Mine Co",
                "address": "9 Pit Rd", "linked_ids": []}}}}"#
        )
        .as_bytes(),
    );
    expect(0, &["tx", "submit", "--agency", BACP, "--file", &rec], h);
    let mut grant = vec!["licence", "decide"];
    grant.extend(decide(&[
        "--licence",
        "L-1",
        "--kind",
        "grant",
        "--licence-type",
        "Retail",
        "--valid-from",
        "2026-01-01",
        "--valid-until",
        "2027-12-31",
    ]));
    expect(0, &grant, h);

    // Posts: an inspector and two approvers, each with its own key file.
    for (name, role) in [
        ("insp-1", "inspector"),
        ("appr-1", "approver"),
        ("appr-2", "approver"),
    ] {
        let (out, _) = expect(
            0,
            &[
                "officer", "register", "--agency", BACP, "--name", name, "--role", role,
            ],
            h,
        );
        assert!(out.contains(&format!("officer {name}")), "{out}");
        assert!(home
            .join(BACP)
            .join("officers")
            .join(format!("{name}.key"))
            .exists());
    }
    // An unknown post is refused by the rules, and leaves no key behind.
    let (out, _) = expect(
        3,
        &[
            "officer", "register", "--agency", BACP, "--name", "x-1", "--role", "janitor",
        ],
        h,
    );
    assert!(
        out.contains("R1-officer") && out.contains("field roles"),
        "{out}"
    );
    assert!(!home.join(BACP).join("officers").join("x-1.key").exists());

    // The inspector's revocation is refused by its post, in a dry run and for real.
    let mut revoke = vec!["licence", "decide", "--officer", "insp-1"];
    revoke.extend(decide(&["--licence", "L-1", "--kind", "revoke"]));
    let mut dry = revoke.clone();
    dry.push("--dry-run");
    let (out, err) = expect(3, &dry, h);
    assert!(
        out.contains("dry run, nothing submitted") && out.contains("R1-role"),
        "{out}"
    );
    assert!(err.contains("nothing was submitted"), "{err}");
    let (out, _) = expect(3, &revoke, h);
    assert!(
        out.contains("R1-role") && out.contains("[inspector]"),
        "{out}"
    );
    // An approver's dry run says it would pass, and submits nothing.
    let mut ok = vec!["licence", "decide", "--officer", "appr-1", "--dry-run"];
    ok.extend(decide(&["--licence", "L-1", "--kind", "suspend"]));
    let (out, _) = expect(0, &ok, h);
    assert!(out.contains("accepted"), "{out}");
    let (out, _) = expect(0, &["enterprise", "show", ENT, "--output", "json"], h);
    assert!(
        !out.contains("\"suspended\""),
        "a dry run changed nothing: {out}"
    );

    // A collective decision in a high-risk industry, co-signed at another height.
    let mut propose = vec![
        "decision",
        "propose",
        "--officer",
        "appr-1",
        "--id",
        "CD-1",
        "--deadline-hours",
        "72",
    ];
    propose.extend(decide(&[
        "--licence",
        "M-1",
        "--kind",
        "grant",
        "--licence-type",
        "Mining",
        "--industry",
        "GB/T 4754-2017:B0610",
        "--valid-from",
        "2026-01-01",
        "--valid-until",
        "2027-12-31",
    ]));
    let (out, _) = expect(0, &propose, h);
    let proposal = tx_id(&out);
    let t = Instant::now();
    loop {
        let (o, _) = expect(
            0,
            &[
                "inbox", "--agency", BACP, "--output", "json", "--limit", "200",
            ],
            h,
        );
        if o.contains("decision_signature") && o.contains(&proposal) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no co-signing task: {o}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (out, _) = expect(
        3,
        &[
            "decision",
            "sign",
            &proposal,
            "--agency",
            BACP,
            "--officer",
            "appr-1",
        ],
        h,
    );
    assert!(out.contains("already signed"), "{out}");
    let (out, _) = expect(
        0,
        &[
            "decision",
            "sign",
            &proposal,
            "--agency",
            BACP,
            "--officer",
            "appr-2",
        ],
        h,
    );
    let signature = tx_id(&out);
    let (out, _) = expect(0, &["enterprise", "show", ENT, "--output", "json"], h);
    let v: serde_json::Value = serde_json::from_str(&out).expect("enterprise JSON");
    assert_eq!(v["state"]["licences"]["M-1"]["status"], "active", "{out}");

    // Both signers' records, with heights and results; the proposal and the signature at
    // different heights.
    let one = officer_records(h, "appr-1");
    let two = officer_records(h, "appr-2");
    let find = |v: &serde_json::Value, id: &str| {
        v["records"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["tx_id"] == id).cloned())
            .unwrap_or_else(|| panic!("{id} not in {v}"))
    };
    let p = find(&one, &proposal);
    let s = find(&two, &signature);
    assert_eq!(p["kind"], "decision_proposal");
    assert_eq!(s["kind"], "decision_signature");
    assert_eq!(p["outcome"], "accepted");
    assert_eq!(s["outcome"], "accepted");
    assert!(p["height"].as_u64() < s["height"].as_u64(), "{p} {s}");
    assert_eq!(one["officer"]["roles"][0], "approver");

    // Revoked, appr-1 can no longer sign; what it signed stays listed, for ever.
    expect(0, &["officer", "revoke", "appr-1", "--agency", BACP], h);
    // (Its requests are refused first: exit 6, the node's refusal, naming the revocation.)
    let (_, err) = expect(
        6,
        &[
            "licence",
            "decide",
            "--officer",
            "appr-1",
            "--agency",
            BACP,
            "--enterprise",
            ENT,
            "--reason",
            "x",
            "--licence",
            "L-1",
            "--kind",
            "suspend",
        ],
        h,
    );
    assert!(err.contains("revoked"), "{err}");
    let after = officer_records(h, "appr-1");
    assert!(after["officer"]["revoked"]["height"].is_u64(), "{after}");
    find(&after, &proposal);
    let (text, _) = expect(0, &["query", "officer", "appr-1"], h);
    assert!(
        text.contains("revoked at height") && text.contains("decision_proposal"),
        "{text}"
    );
    // Unknown officers and bad cursors are the node's refusals (exit 6).
    expect(6, &["query", "officer", "nobody-here"], h);
    expect(6, &["query", "officer", "appr-2", "--cursor", "x"], h);
    drop(demo);
}
