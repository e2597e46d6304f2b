//! An officer's day (issue 19), through the `safeledger` binary on a demo network of the
//! real data left running: an enterprise found by part of its name and its timeline; an
//! inspection with a hazard, which waits in the inbox with its due date until a
//! rectification report and a re-inspection close it; officers' posts, the verbs that act
//! without JSON and dry runs (an inspector's revocation refused by role); a collective
//! decision co-signed at different heights and listed by `query officer` for both signers,
//! also after one is revoked (lifetime accountability); a blacklist under one id refusing a
//! licence under the id linked to it.
//!
//! One test (they share one network); its name has `cluster` so it runs alone in the
//! serial group.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{a_public_name, expect, found_within, start_demo, tasks, wait_for, write};
use std::path::Path;
use std::time::{Duration, Instant};

const BACP: &str = "chicago-bacp";
const CDPH: &str = "chicago-cdph";
const OSHA: &str = "us-osha";
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
fn cluster_officers_day_from_search_to_linked_restriction() {
    let demo = start_demo();
    let home = demo.home.clone();
    let h = home.as_path();
    let files = tempfile::tempdir().expect("tempdir");
    let real = inspect_and_close_a_hazard(h);
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
    // One inbox per officer: the co-signing task is appr-2's, not the proposer's (signed
    // already) nor the inspector's (its post signs no decision).
    let mine = |officer: &str| {
        let (o, _) = expect(
            0,
            &[
                "inbox",
                "--agency",
                BACP,
                "--officer",
                officer,
                "--mine",
                "--output",
                "json",
            ],
            h,
        );
        let v: serde_json::Value = serde_json::from_str(&o).expect("inbox JSON");
        let post = if officer == "insp-1" {
            "inspector"
        } else {
            "approver"
        };
        assert_eq!(v["officer"]["posts"][0], post, "{v}");
        v["tasks"]
            .as_array()
            .is_some_and(|t| t.iter().any(|p| p[0]["source"] == proposal.as_str()))
    };
    assert!(mine("appr-2"));
    assert!(!mine("appr-1"));
    assert!(!mine("insp-1"));
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

    licence_steps_in_time(h, &real);
    blacklist_follows_the_linked_id(h, files.path(), &real);
    drop(demo);
}

/// Morning: an enterprise of the real data found by part of its name, its timeline, an
/// inspection by chicago-cdph's inspector with a hazard that waits in the inbox with its
/// due date, its rectification and the re-inspection that closes it. Returns the id.
fn inspect_and_close_a_hazard(h: &Path) -> String {
    let (real, name) = a_public_name(h);
    let words: Vec<&str> = name.split_whitespace().collect();
    let part: String = words[0].chars().take(3).collect();
    found_within(h, CDPH, &format!("{part} {}", words[1]), &real);
    let (out, _) = expect(
        0,
        &[
            "query",
            "timeline",
            "--enterprise",
            &real,
            "--output",
            "json",
        ],
        h,
    );
    let timeline: serde_json::Value = serde_json::from_str(&out).expect("timeline JSON");
    assert!(
        timeline.as_array().is_some_and(|t| !t.is_empty()),
        "{timeline}"
    );

    expect(
        0,
        &[
            "officer",
            "register",
            "--agency",
            CDPH,
            "--name",
            "insp-cd",
            "--role",
            "inspector",
        ],
        h,
    );
    let due_day = (chrono::Utc::now() + chrono::Duration::days(20)).date_naive();
    let due_ms = due_day
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis();
    let hazard = format!("H-1:high:{}:blocked fire exit", due_day.format("%Y-%m-%d"));
    let as_inspector = ["--agency", CDPH, "--officer", "insp-cd", "--enterprise"];
    let open = |kind| tasks(h, CDPH, kind, &real).len();
    let (rect0, reinsp0) = (open("hazard_rectification"), open("hazard_reinspection"));
    let mut record = vec!["inspection", "record"];
    record.extend_from_slice(&as_inspector);
    record.extend_from_slice(&[
        &real,
        "--id",
        "DAY-1",
        "--outcome",
        "pass-with-conditions",
        "--hazard",
        &hazard,
    ]);
    let (out, _) = expect(0, &record, h);
    let inspection = tx_id(&out);
    let found = wait_for(h, CDPH, "hazard_rectification", &real, rect0 + 1);
    let task = found
        .iter()
        .find(|t| t[0]["source"] == inspection.as_str())
        .unwrap_or_else(|| panic!("no task from {inspection}: {found:?}"));
    assert_eq!(task[0]["due"], due_ms, "{task}");

    let mut report = vec!["rectification", "report"];
    report.extend_from_slice(&as_inspector);
    report.extend_from_slice(&[
        &real,
        "--inspection",
        "DAY-1",
        "--description",
        "exit cleared",
    ]);
    expect(0, &report, h);
    wait_for(h, CDPH, "hazard_rectification", &real, rect0);
    wait_for(h, CDPH, "hazard_reinspection", &real, reinsp0 + 1);
    let mut again = vec!["inspection", "record"];
    again.extend_from_slice(&as_inspector);
    again.extend_from_slice(&[
        &real,
        "--id",
        "DAY-2",
        "--type",
        "follow-up",
        "--outcome",
        "pass",
        "--follow-up-of",
        "DAY-1",
    ]);
    expect(0, &again, h);
    wait_for(h, CDPH, "hazard_reinspection", &real, reinsp0);
    real
}

/// chicago-bacp's grant of licence `licence` to `real`, for 2026 and 2027.
fn grant_of<'a>(real: &'a str, licence: &'a str) -> Vec<&'a str> {
    vec![
        "licence",
        "decide",
        "--agency",
        BACP,
        "--enterprise",
        real,
        "--licence",
        licence,
        "--kind",
        "grant",
        "--licence-type",
        "Retail",
        "--valid-from",
        "2026-01-01",
        "--valid-until",
        "2027-12-31",
        "--reason",
        "complete application",
    ]
}

/// The inbox task opened by `source` once it is of `kind` (waits for the inbox to follow).
fn task_from(h: &Path, agency: &str, source: &str, kind: &str) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let found = common::inbox(h, agency, "200")
            .into_iter()
            .find(|p| p[0]["source"] == source && p[0]["kind"] == kind);
        if let Some(f) = found {
            return f;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no {kind} task from {source} in {agency}'s inbox"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Afternoon: licence applications within their time limits — an acceptance long overdue
/// (counted in the inbox's heading) whose late notice is refused; a notice of missing
/// materials, their resupply and the decision that closes the application.
fn licence_steps_in_time(h: &Path, real: &str) {
    expect(
        0,
        &[
            "officer", "register", "--agency", BACP, "--name", "acc-1", "--role", "acceptor",
        ],
        h,
    );
    let as_acceptor = ["--agency", BACP, "--officer", "acc-1", "--enterprise", real];
    let apply = |id: &str, licence: &str, extra: &[&str]| {
        let mut a = vec!["licence", "apply"];
        a.extend_from_slice(&as_acceptor);
        a.extend_from_slice(&["--id", id, "--licence", licence, "--licence-type", "Retail"]);
        a.extend_from_slice(extra);
        tx_id(&expect(0, &a, h).0)
    };
    let step = |verb: &str, app: &str, extra: &[&str], code: i32| {
        let mut a = vec!["licence", verb, app];
        a.extend_from_slice(&as_acceptor);
        a.extend_from_slice(extra);
        expect(code, &a, h).0
    };
    let old = apply("APP-D1", "DAY-A", &["--effective-at", "2026-01-05"]);
    let t = task_from(h, BACP, &old, "application_acceptance");
    assert_eq!(t[1], "overdue", "{t}");
    let (heading, _) = expect(0, &["inbox", "--agency", BACP], h);
    assert!(
        heading
            .lines()
            .next()
            .is_some_and(|l| l.contains("overdue")),
        "{heading}"
    );
    let late = step("notify-missing", &old, &["--item", "safety rules"], 3);
    assert!(
        late.contains("counts as accepted from its filing"),
        "{late}"
    );
    // The enterprise's timeline shows the application with its overdue step.
    let (out, _) = expect(0, &["enterprise", "show", real, "--output", "json"], h);
    let v: serde_json::Value = serde_json::from_str(&out).expect("enterprise JSON");
    let entry = v["timeline"]
        .as_array()
        .and_then(|t| t.iter().find(|r| r["tx_id"] == old.as_str()))
        .unwrap_or_else(|| panic!("{old} not on the timeline: {v}"));
    assert_eq!(entry["application"]["overdue"][0], "acceptance", "{entry}");

    let app = apply("APP-D2", "DAY-B", &[]);
    task_from(h, BACP, &app, "application_acceptance");
    step(
        "notify-missing",
        &app,
        &["--item", "safety rules", "--item", "emergency plan"],
        0,
    );
    task_from(h, BACP, &app, "application_resupply");
    let mut grant = grant_of(real, "DAY-B");
    grant.extend_from_slice(&["--application", &app]);
    let early = expect(3, &grant, h).0;
    assert!(early.contains("awaits the materials"), "{early}");
    step("resupplied", &app, &[], 0);
    let t = task_from(h, BACP, &app, "licence_application");
    assert!(t[0]["due"].is_u64(), "{t}");
    expect(0, &grant, h);
}

/// Evening: us-osha knows the enterprise as another id; the records of each id's own
/// agency name the other id, so us-osha's blacklist entry under its id refuses
/// chicago-bacp's licence under the real one, naming both.
fn blacklist_follows_the_linked_id(h: &Path, files: &Path, real: &str) {
    let osha_id = "us-osha-day:1";
    let ours = write(
        files,
        "osha-rec.json",
        format!(
            r#"{{"enterprise_record": {{"enterprise": "{osha_id}", "name": "Same Co",
                "address": "1 Day St", "linked_ids": ["{real}"]}}}}"#
        )
        .as_bytes(),
    );
    expect(0, &["tx", "submit", "--agency", OSHA, "--file", &ours], h);
    let grant = grant_of(real, "DAY-L");
    let mut dry = grant.clone();
    dry.push("--dry-run");
    // A one-sided claim links nothing: the grant would pass.
    expect(
        0,
        &[
            "blacklist",
            "enter",
            "--agency",
            OSHA,
            "--enterprise",
            osha_id,
            "--reason",
            "concealed an accident",
        ],
        h,
    );
    expect(0, &dry, h);
    let theirs = write(
        files,
        "bacp-rec.json",
        format!(
            r#"{{"enterprise_record": {{"enterprise": "{real}", "name": "Same Co",
                "address": "1 Day St", "linked_ids": ["{osha_id}"]}}}}"#
        )
        .as_bytes(),
    );
    // The link stands on the records of each id's own agency: the one that created it.
    let (out, _) = expect(0, &["enterprise", "show", real, "--output", "json"], h);
    let v: serde_json::Value = serde_json::from_str(&out).expect("enterprise JSON");
    let creator = v["state"]["created_by"]
        .as_str()
        .expect("created_by")
        .to_string();
    expect(
        0,
        &["tx", "submit", "--agency", &creator, "--file", &theirs],
        h,
    );
    let (out, _) = expect(
        0,
        &["query", "linked", "--enterprise", real, "--output", "json"],
        h,
    );
    assert!(out.contains(osha_id) && out.contains("mutual"), "{out}");
    let (out, _) = expect(3, &grant, h);
    assert!(
        out.contains("R2-blacklist") && out.contains(osha_id) && out.contains(real),
        "{out}"
    );
}
