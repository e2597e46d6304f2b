//! One inbox per agency (issue 19 item 2) through the `safeledger` binary, on a demo
//! network left running: a hazard an inspection found waits in the inspecting agency's
//! inbox with its due date, becomes a re-inspection task when reported rectified, and
//! leaves the inbox with the re-inspection; an assistance request waits in the addressed
//! agency's inbox until answered; paging by cursor repeats and skips nothing; another
//! agency's inbox is refused.
//!
//! One test (they share one network); its name has `cluster` so it runs alone in the
//! serial group.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{expect, inbox, start_demo, wait_for, write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const CDPH: &str = "chicago-cdph";

fn submit(home: &Path, agency: &str, file: &str) -> String {
    let (out, _) = expect(
        0,
        &["tx", "submit", "--agency", agency, "--file", file],
        home,
    );
    out.split_whitespace().next().expect("tx id").to_string()
}

#[test]
fn cluster_inbox_holds_each_open_task_until_the_record_that_closes_it_commits() {
    let demo = start_demo();
    let home = demo.home.clone();
    let files = tempfile::tempdir().expect("tempdir");
    let f = files.path();
    let ent = "t-day:1";
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let due = now_ms + 20 * 86_400_000;

    let rec = write(
        f,
        "ent.json",
        format!(
            r#"{{"enterprise_record": {{"enterprise": "{ent}", "name": "Officer Day Foods",
                "address": "1 Day St", "linked_ids": []}}}}"#
        )
        .as_bytes(),
    );
    submit(&home, CDPH, &rec);

    // 1. An inspection finds a major hazard to rectify within 20 days.
    let insp = write(
        f,
        "insp.json",
        format!(
            r#"{{"inspection_record": {{"enterprise": "{ent}", "inspection_id": "I-1",
                "inspection_type": "routine", "outcome": "pass_with_conditions",
                "violation_counts": [0, 0, 1],
                "violations": [{{"code": "H1", "severity": "high",
                   "description": "guardrail missing", "rectify_by": {due}}}]}}}}"#
        )
        .as_bytes(),
    );
    let inspection = submit(&home, CDPH, &insp);
    let found = wait_for(&home, CDPH, "hazard_rectification", ent, 1);
    assert_eq!(found[0][0]["due"], due, "{found:?}");
    assert_eq!(found[0][0]["source"], inspection.as_str(), "{found:?}");
    assert_eq!(found[0][1], "due", "{found:?}");
    let (text, _) = expect(0, &["inbox", "--agency", CDPH], &home);
    assert!(
        text.contains("hazard_rectification") && text.contains("closed by"),
        "{text}"
    );

    // 2. Reported rectified: now a re-inspection is due.
    let report = write(
        f,
        "report.json",
        format!(
            r#"{{"rectification_report": {{"enterprise": "{ent}", "inspection_id": "I-1",
                "codes": ["H1"], "description": "guardrail fitted"}}}}"#
        )
        .as_bytes(),
    );
    submit(&home, CDPH, &report);
    wait_for(&home, CDPH, "hazard_rectification", ent, 0);
    wait_for(&home, CDPH, "hazard_reinspection", ent, 1);

    // 3. The re-inspection closes it.
    let re = write(
        f,
        "re.json",
        format!(
            r#"{{"inspection_record": {{"enterprise": "{ent}", "inspection_id": "I-2",
                "inspection_type": "follow-up", "outcome": "pass",
                "violation_counts": [0, 0, 0], "violations": [], "follow_up_of": "I-1"}}}}"#
        )
        .as_bytes(),
    );
    submit(&home, CDPH, &re);
    wait_for(&home, CDPH, "hazard_reinspection", ent, 0);

    // 4. An assistance request waits in the addressed agency's inbox until answered.
    let (out, _) = expect(
        0,
        &[
            "assistance",
            "request",
            "--agency",
            "chicago-bacp",
            "--to",
            CDPH,
            "--enterprise",
            ent,
            "--subject",
            "licence history?",
        ],
        &home,
    );
    let request = out.split_whitespace().next().expect("tx id").to_string();
    let found = wait_for(&home, CDPH, "assistance_request", ent, 1);
    assert!(found[0][0]["what"]
        .as_str()
        .unwrap_or("")
        .contains("licence history?"));
    expect(
        0,
        &[
            "assistance",
            "respond",
            "--agency",
            CDPH,
            "--request",
            &request,
            "--answer",
            "none on file",
        ],
        &home,
    );
    wait_for(&home, CDPH, "assistance_request", ent, 0);

    // 5. Pages of one task are the whole inbox, in due order, none twice.
    let whole = inbox(&home, CDPH, "200");
    let paged = inbox(&home, CDPH, "1");
    assert_eq!(paged, whole);
    let dues: Vec<u64> = whole
        .iter()
        .map(|p| p[0]["due"].as_u64().unwrap_or(u64::MAX))
        .collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");

    // 6. Only an agency's own officers read its inbox.
    expect(6, &["inbox", "--agency", CDPH, "--as", "us-osha"], &home);
    expect(2, &["inbox", "--cursor", "zz"], &home);
}
