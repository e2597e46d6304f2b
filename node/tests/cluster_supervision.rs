//! The supervision loop (issue 20) on a demo network of the real data, through the
//! `safeledger` binary: the routine plan (item 1); a joint inspection signed by two
//! agencies in turn and seen by both (item 3); a month's "double random" draw (item 2):
//! an agency opens a draw, every validator's node deals,
//! one agency's node withholds its reveal (fault injection), the other nodes recover its
//! part from their shares, and the outcome is the one its reveal would have given — checked
//! here by recomputing that reveal from its node key and the randomness from the parts.
//!
//! One test per capability; their names have `cluster` so they run alone in the serial
//! group.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{expect, start_demo_env, start_demo_with};
use safeledger_core::beacon;
use safeledger_core::beacon::Point;
use safeledger_core::{Hash, PublicKey, SecretKey};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const CDPH: &str = "chicago-cdph";
/// The licensing agency: the enterprises CDPH inspects are those BACP recorded.
const BACP: &str = "chicago-bacp";
const WITHHOLDER: &str = "us-osha";

fn key_file(home: &Path, agency: &str, name: &str) -> SecretKey {
    let text = std::fs::read_to_string(home.join(agency).join(name)).expect("key file");
    SecretKey::from_hex(text.trim()).expect("key")
}

fn show(home: &Path, draw: &str) -> serde_json::Value {
    let (o, _) = expect(0, &["draw", "show", draw, "--output", "json"], home);
    serde_json::from_str(&o).expect("draw JSON")
}

#[test]
fn cluster_supervision_routine_plan_and_joint_inspection() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let planned = routine_plan(h);
    joint_inspection(h, &planned);
}

#[test]
fn cluster_supervision_sharing_catalogue() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let planned = routine_plan(h);
    sharing_catalogue(h, &planned);
}

#[test]
fn cluster_supervision_banned_assessor_report_refused() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let planned = routine_plan(h);
    banned_assessor(h, &planned);
}

#[test]
fn cluster_supervision_draw_with_a_withheld_reveal() {
    let demo = start_demo_env(30, &[("SAFELEDGER_TEST_WITHHOLD_DRAW_REVEALS", WITHHOLDER)]);
    let h = demo.home.as_path();
    let inspector = key_file(h, CDPH, "officer.key").public().to_hex();
    // A second inspector, registered by name: the genesis officer signed the imported
    // inspections, so it is excluded from the enterprises it inspected last.
    expect(
        0,
        &[
            "officer",
            "register",
            "--agency",
            CDPH,
            "--name",
            "insp-2",
            "--role",
            "inspector",
        ],
        h,
    );
    let second = key_file(h, CDPH, "officers/insp-2.key").public().to_hex();
    // Bad input first: a fraction above all of the pool, an empty pool.
    let (_, err) = expect(
        2,
        &[
            "draw",
            "open",
            "--agency",
            CDPH,
            "--id",
            "D-bad",
            "--month",
            "2026-12",
            "--fraction",
            "150%",
            "--inspector",
            &inspector,
        ],
        h,
    );
    assert!(err.contains("--fraction"), "{err}");
    let (_, err) = expect(
        3,
        &[
            "draw",
            "open",
            "--agency",
            CDPH,
            "--id",
            "D-empty",
            "--month",
            "2026-12",
            "--risk",
            "red",
            "--inspector",
            &inspector,
        ],
        h,
    );
    assert!(
        err.contains("R0-draw") || err.contains("pool is empty"),
        "{err}"
    );
    let (out, _) = expect(
        0,
        &[
            "draw",
            "open",
            "--agency",
            CDPH,
            "--id",
            "D-2026-12",
            "--month",
            "2026-12",
            "--pool-agency",
            BACP,
            "--fraction",
            "10%",
            "--per",
            "1",
            "--inspector",
            &inspector,
            "--inspector",
            "insp-2",
            "--commit-window",
            "20",
            "--reveal-window",
            "10",
        ],
        h,
    );
    let draw = out.split_whitespace().next().expect("tx id").to_string();
    let t = Instant::now();
    let v = loop {
        let v = show(h, &draw);
        if v["phase"] == "complete" {
            break v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the draw did not complete: {v:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let d = &v["draw"];
    assert_eq!(d["withheld"], serde_json::json!([WITHHOLDER]), "{d:#}");
    assert!(d["revealed"].get(WITHHOLDER).is_none());
    let pool = d["pool_size"].as_u64().unwrap();
    assert!(pool > 0);
    let result = &d["result"];
    let selected = result["assignments"].as_array().unwrap();
    assert_eq!(selected.len() as u64, (pool * 100).div_ceil(1000).max(1));
    // Each selected enterprise has one inspector, never one excluded from it.
    let (o, _) = expect(0, &["draw", "show", &draw, "--output", "json"], h);
    let full: serde_json::Value = serde_json::from_str(&o).unwrap();
    let excluded = |who: &str, e: &serde_json::Value| {
        full["pool"]["inspectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["officer"] == who && i["excluded"].as_array().unwrap().contains(e))
    };
    assert!(
        !full["pool"]["inspectors"][0]["excluded"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the genesis officer signed the imported inspections: it is excluded from those enterprises"
    );
    for a in selected {
        let who = a["inspectors"][0].as_str().expect("assigned");
        assert!(who == inspector || who == second, "{a}");
        assert!(!excluded(who, &a["enterprise"]), "{a}");
        assert_eq!(a["short"], false);
    }
    // The withholder's reveal, recomputed from its node key, is what the others recovered.
    let node = key_file(h, WITHHOLDER, "node.key");
    let draw_id = Hash::from_hex(&draw).unwrap();
    let recipients: Vec<PublicKey> = d["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PublicKey::from_hex(p["key"].as_str().unwrap()).unwrap())
        .collect();
    let t_ = d["threshold"].as_u64().unwrap() as usize;
    let ctx = [draw_id.0.as_slice(), &node.public().0].concat();
    let (dealing, secret) = beacon::deal(&node.to_bytes(), &ctx, &recipients, t_).unwrap();
    let would_have: Point = beacon::contribution_from_reveal(&dealing, &secret).unwrap();
    let recovered: Point = serde_json::from_value(d["recovered"][WITHHOLDER].clone()).unwrap();
    assert_eq!(recovered, would_have);
    // The randomness is the parts' hash: the outcome does not depend on the withholding.
    let mut parts: BTreeMap<String, Point> = serde_json::from_value(d["revealed"].clone()).unwrap();
    parts.insert(WITHHOLDER.into(), would_have);
    let rho = safeledger_core::draw::randomness(&draw_id, &parts);
    assert_eq!(result["randomness"], serde_json::json!(rho.to_hex()));
    // The list shows it; the text form names the withholder.
    let (o, _) = expect(0, &["draw", "list", "--agency", CDPH], h);
    assert!(o.contains("D-2026-12") && o.contains("complete"), "{o}");
    let (o, _) = expect(0, &["draw", "show", &draw], h);
    assert!(o.contains(&format!("withheld: {WITHHOLDER}")), "{o}");
    audit_offline(h, &draw);
}

/// Item 1: CDPH's routine plan over the licensed enterprises it inspected (the imported
/// inspections are years old: overdue), and the same in its inbox.
fn routine_plan(h: &Path) -> String {
    let (o, _) = expect(0, &["plan", "--agency", CDPH, "--output", "json"], h);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let plan = v["plan"].as_array().unwrap();
    assert!(!plan.is_empty(), "{v:#}");
    // The imported inspections are years old: all overdue but the enterprise of the demo's
    // synthetic joint inspection.
    let overdue = v["overdue"].as_u64().unwrap();
    assert!(overdue >= 1 && overdue + 1 >= plan.len() as u64, "{v:#}");
    for p in plan {
        assert_eq!(p["agency"], CDPH);
        assert!(p["per_year"].as_u64().unwrap() >= 1);
    }
    let (text, _) = expect(0, &["plan", "--agency", CDPH, "--month", "2026-12"], h);
    assert!(text.contains("overdue"), "{text}");
    expect(2, &["plan", "--agency", CDPH, "--month", "2026-13"], h);
    let first = plan[0]["enterprise"].as_str().unwrap();
    common::wait_for(h, CDPH, "routine_inspection", first, 1);
    first.to_string()
}

/// Item 3: CDPH and OSHA visit `ent` together; CDPH writes the record, OSHA co-signs the
/// file, CDPH sends it. Both agencies see it on the timeline; CDPH's hazard waits in its
/// inbox; without OSHA's signature it is refused.
fn joint_inspection(h: &Path, ent: &str) {
    let dir = tempfile::tempdir().unwrap();
    let section = |agency: &str, id: &str, outcome: &str, violations: serde_json::Value| {
        serde_json::json!({"agency": agency, "inspection": {
            "enterprise": ent, "inspection_id": id, "inspection_type": "joint",
            "outcome": outcome, "score": null, "violation_counts": [0, 0, 0],
            "violations": violations, "follow_up_of": null}})
    };
    let visit = serde_json::json!({"joint_inspection": {
    "enterprise": ent, "visit_id": "JV-2026-12-1",
    "sections": [
        section(CDPH, "CDPH-J1", "fail", serde_json::json!([{"code": "EXIT-J1",
            "severity": "high", "description": "blocked fire exit",
            "rectify_by": 1830297600000u64}])),
        section(WITHHOLDER, "OSHA-J1", "pass", serde_json::json!([])),
    ]}});
    let file = common::write(dir.path(), "visit.json", visit.to_string().as_bytes());
    let txf = dir.path().join("visit.tx");
    let t = txf.to_str().unwrap();
    let prepare = || {
        expect(
            0,
            &[
                "inspection",
                "joint",
                "--file",
                &file,
                "--agency",
                CDPH,
                "--out",
                t,
            ],
            h,
        )
    };
    // Sent with CDPH's signature alone: refused, naming OSHA.
    prepare();
    let (_, err) = expect(3, &["tx", "send", t, "--agency", CDPH], h);
    assert!(err.contains("R0-signer"), "{err}");
    // Again (a fresh sequence), co-signed by OSHA's officer in turn.
    prepare();
    let (o, _) = expect(0, &["tx", "cosign", t, "--agency", WITHHOLDER], h);
    assert!(o.contains("now signed by"), "{o}");
    let (o, _) = expect(0, &["tx", "send", t, "--agency", CDPH], h);
    assert!(o.contains("accepted"), "{o}");
    for agency in [CDPH, WITHHOLDER] {
        let (o, _) = expect(
            0,
            &[
                "enterprise",
                "show",
                ent,
                "--as",
                agency,
                "--output",
                "json",
            ],
            h,
        );
        assert!(
            o.contains("joint_inspection") && o.contains("OSHA-J1"),
            "{agency}: {o}"
        );
    }
    common::wait_for(h, CDPH, "hazard_rectification", ent, 1);
}

/// Item 8: governance lists OSHA's accident descriptions for CDPH in the sharing
/// catalogue; a description OSHA then keeps private reaches CDPH's node and CDPH reads it
/// (a declared read, no access request); SF-DPH, not listed, is refused.
fn sharing_catalogue(h: &Path, ent: &str) {
    let name = "sharing_catalogue.us-osha.accident_report.description";
    expect(
        0,
        &[
            "governance",
            "set-param",
            name,
            CDPH,
            "--id",
            "CAT-1",
            "--reason",
            "routine sharing",
            "--agency",
            WITHHOLDER,
        ],
        h,
    );
    for voter in [BACP, CDPH] {
        expect(
            0,
            &["governance", "vote", "CAT-1", "--yes", "--agency", voter],
            h,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let report = serde_json::json!({"accident_report": {
        "enterprise": ent, "report_id": "AR-CAT-1", "category": "fall", "deaths": 0,
        "serious_injuries": 1, "direct_loss_minor": null, "currency": null,
        "location": "loading dock", "description": "worker fell from the dock edge",
        "level": "general", "concealed": false}});
    let file = common::write(dir.path(), "ar.json", report.to_string().as_bytes());
    let (o, _) = expect(
        0,
        &[
            "tx",
            "submit",
            "--file",
            &file,
            "--private",
            "description",
            "--agency",
            WITHHOLDER,
        ],
        h,
    );
    let tx = o.split_whitespace().next().unwrap().to_string();
    let node_of = |agency: &str| {
        let g: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(h.join("genesis.json")).unwrap())
                .unwrap();
        g["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == agency)
            .unwrap()["grpc_addr"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let out = dir.path().join("v.json");
    let view = |agency: &str| {
        common::run(
            &[
                "audit",
                "view",
                "--tx",
                &tx,
                "--reveal",
                "description",
                "--purpose",
                "joint case",
                "--as",
                agency,
                "--node",
                &node_of(agency),
                "--out",
                out.to_str().unwrap(),
            ],
            h,
        )
    };
    let t = Instant::now();
    loop {
        let o = view(CDPH);
        if o.status.success() {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "CDPH could not read the catalogued field: {:?}",
            common::text(&o)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let v = std::fs::read_to_string(&out).unwrap();
    assert!(v.contains("worker fell from the dock edge"), "{v}");
    let o = view("sf-dph");
    let (_, err) = common::text(&o);
    assert!(!o.status.success() && err.contains("R0-access"), "{err}");
}

/// Item 7: BACP registers an assessment institution and its expert and records their
/// report for a licence; CDPH finds it falsified; a new report by them is refused, naming
/// the finding.
fn banned_assessor(h: &Path, ent: &str) {
    let dir = tempfile::tempdir().unwrap();
    let submit = |agency: &str, name: &str, body: serde_json::Value, code: i32| {
        let f = common::write(dir.path(), name, body.to_string().as_bytes());
        expect(code, &["tx", "submit", "--file", &f, "--agency", agency], h)
    };
    let act = |action: serde_json::Value| serde_json::json!({"assessor_action": {"institution_id": "INST-91", "action": action}});
    submit(
        BACP,
        "i.json",
        act(serde_json::json!({"register_institution": {"name": "Safe Assess Co."}})),
        0,
    );
    submit(
        BACP,
        "e.json",
        act(serde_json::json!({"register_expert": {"expert_id": "EXP-91", "name": "Li Ming"}})),
        0,
    );
    let report = |id: &str| {
        serde_json::json!({"assessment_report": {"enterprise": ent, "report_id": id,
            "institution_id": "INST-91", "experts": ["EXP-91"], "licence_number": "L-91",
            "conclusion": "conditions met"}})
    };
    let (o, _) = submit(BACP, "r1.json", report("RPT-91"), 0);
    let rpt = o.split_whitespace().next().unwrap().to_string();
    let finding = act(serde_json::json!({"falsification": {"report": rpt,
        "finding": "case 2026-77: inspection photos reused from another site"}}));
    let (o, _) = submit(CDPH, "f.json", finding, 0);
    let finding_tx = o.split_whitespace().next().unwrap().to_string();
    let (o, _) = submit(BACP, "r2.json", report("RPT-92"), 3);
    assert!(
        o.contains("R0-assessor-banned") && o.contains(&finding_tx),
        "{o}"
    );
}

/// `audit draw export` then `audit draw verify` from the genesis alone; every value of the
/// file changed is refused.
fn audit_offline(h: &Path, draw: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("draw.json");
    let f = file.to_str().unwrap();
    expect(
        0,
        &[
            "audit",
            "draw",
            "export",
            draw,
            "--out",
            f,
            "--as",
            "audit-office",
        ],
        h,
    );
    let genesis = h.join("genesis.json");
    let g = genesis.to_str().unwrap();
    let (o, _) = common::expect_bare(0, &["audit", "draw", "verify", f, "--genesis", g]);
    assert!(o.starts_with("VALID draw D-2026-12"), "{o}");
    assert!(o.contains(&format!("recovered: {WITHHOLDER}")), "{o}");
    let text = std::fs::read_to_string(&file).unwrap();
    // A chosen few through the binary: exit 1 naming what failed.
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["outcome"]["withheld"] = serde_json::json!([]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let (_, err) = common::expect_bare(
        1,
        &[
            "audit",
            "draw",
            "verify",
            bad.to_str().unwrap(),
            "--genesis",
            g,
        ],
    );
    assert!(
        err.contains("INVALID") && err.contains("outcome.withheld"),
        "{err}"
    );
    // Every leaf outside the views, and a spread of those inside, changed one at a time.
    let genesis: safeledger_core::Genesis =
        serde_json::from_str(&std::fs::read_to_string(h.join("genesis.json")).unwrap()).unwrap();
    let verifier = safeledger_core::view::Verifier::new(&genesis);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut leaves = Vec::new();
    common::json_leaves(&doc, String::new(), &mut leaves);
    let (outside, inside): (Vec<_>, Vec<_>) =
        leaves.into_iter().partition(|p| !p.starts_with("/views"));
    let step = (inside.len() / 300).max(1);
    let mut tried = 0;
    for path in outside.iter().chain(inside.iter().step_by(step)) {
        let mut changed = doc.clone();
        common::mutate_leaf(changed.pointer_mut(path).unwrap());
        let ok = serde_json::from_value::<safeledger_core::draw_audit::DrawAudit>(changed)
            .map_err(|e| e.to_string())
            .and_then(|a| safeledger_core::draw_audit::verify(&verifier, &a));
        assert!(ok.is_err(), "changing {path} went unnoticed");
        tried += 1;
    }
    assert!(tried > 100, "{tried} values tried");
}
