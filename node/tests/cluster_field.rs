//! The supervision loop's field work (issue 20 items 4–6) on a demo network of the real
//! data, through the `safeledger` binary: an evidence file kept by the inspecting agency's
//! node, fetched and checked by that agency and refused to another; a public tip-off
//! handed in without a key, triaged and followed up, its status read by receipt code, a
//! flood from one source refused, and neither the receipt code nor the tipster's text nor
//! the reward claimant's name found anywhere in the nodes' directories (stores, logs) or
//! metrics; sensor alerts from a registered gateway — one acknowledged in time, one not,
//! which escalates to the agency's inbox and raises the enterprise's risk level — and one
//! from an unregistered gateway refused.
//!
//! One test per capability; their names have `cluster` so they run alone in the serial
//! group.

#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{expect, run, start_demo_with, text};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const CDPH: &str = "chicago-cdph";
const OSHA: &str = "us-osha";
const BACP: &str = "chicago-bacp";

/// An enterprise CDPH inspected and one of those inspections.
fn inspected(h: &Path) -> (String, String) {
    let (o, _) = expect(0, &["plan", "--agency", CDPH, "--output", "json"], h);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    for p in v["plan"].as_array().unwrap() {
        let ent = p["enterprise"].as_str().unwrap();
        let (o, _) = expect(0, &["enterprise", "show", ent, "--output", "json"], h);
        let e: serde_json::Value = serde_json::from_str(&o).unwrap();
        let insp = e["timeline"].as_array().and_then(|t| {
            t.iter()
                .find(|r| r["kind"] == "inspection_record" && r["agency"] == CDPH)
        });
        if let Some(r) = insp {
            return (ent.to_string(), r["tx_id"].as_str().unwrap().to_string());
        }
    }
    panic!("no CDPH inspection on the timelines of its plan: {v}");
}

#[test]
fn cluster_field_evidence_file_fetched_by_an_entitled_agency_only() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let (ent, inspection) = inspected(h);
    evidence(h, &ent, &inspection);
}

#[test]
fn cluster_field_tip_followed_up_by_receipt_code_and_kept_secret() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let (ent, _) = inspected(h);
    let secrets = tips(h, &ent);
    // Nothing of the tip outside the tip: every file of every node (stores, logs, keys)
    // and every node's metrics.
    let mut hits = Vec::new();
    scan(h, &secrets, &mut hits);
    let ports = metrics_ports(&demo.stdout);
    assert_eq!(ports.len(), 4, "{}", demo.stdout);
    for port in ports {
        let m = metrics(port);
        assert!(m.contains("safeledger_"), "metrics at {port}: {m}");
        for s in &secrets {
            if m.contains(s.as_str()) {
                hits.push(format!("metrics at port {port}: {s}"));
            }
        }
    }
    assert!(hits.is_empty(), "tip secrets found: {hits:?}");
}

#[test]
fn cluster_field_unacknowledged_alert_escalates() {
    let demo = start_demo_with(30);
    let h = demo.home.as_path();
    let (ent, _) = inspected(h);
    alerts(h, &ent);
}

/// Item 4.
fn evidence(h: &Path, ent: &str, inspection: &str) {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("site-photo.jpg");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&photo, &bytes).unwrap();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    let (o, _) = expect(
        0,
        &[
            "evidence",
            "add",
            "--agency",
            CDPH,
            "--record",
            inspection,
            "--enterprise",
            ent,
            photo.to_str().unwrap(),
        ],
        h,
    );
    assert!(o.contains(&hash), "{o}");
    // OSHA did not make the inspection: it may not attach to it.
    let (_, err) = expect(
        3,
        &[
            "evidence",
            "add",
            "--agency",
            OSHA,
            "--record",
            inspection,
            "--enterprise",
            ent,
            photo.to_str().unwrap(),
        ],
        h,
    );
    assert!(err.contains("R0-evidence"), "{err}");
    let out = dir.path().join("fetched.jpg");
    let (o, _) = expect(
        0,
        &[
            "evidence",
            "get",
            &hash,
            "--out",
            out.to_str().unwrap(),
            "--as",
            CDPH,
        ],
        h,
    );
    assert!(o.contains("checked against its hash"), "{o}");
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let refused = dir.path().join("refused.jpg");
    let r = run(
        &[
            "evidence",
            "get",
            &hash,
            "--out",
            refused.to_str().unwrap(),
            "--as",
            BACP,
        ],
        h,
    );
    let (_, err) = text(&r);
    assert!(!r.status.success(), "{err}");
    assert!(err.contains("not entitled"), "{err}");
    assert!(!refused.exists());
    // An unknown file.
    let r = run(
        &[
            "evidence",
            "get",
            &"ab".repeat(32),
            "--out",
            refused.to_str().unwrap(),
            "--as",
            CDPH,
        ],
        h,
    );
    assert!(!r.status.success());
}

fn tip_status(h: &Path, receipt: &str) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let r = run(
            &["tip", "status", "--receipt", receipt, "--output", "json"],
            h,
        );
        if r.status.success() {
            return serde_json::from_slice(&r.stdout).unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "tip status: {:?}",
            text(&r)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Item 5; returns the secrets that must appear nowhere: the receipt codes, the
/// tipster's text, the claimant's name.
fn tips(h: &Path, ent: &str) -> Vec<String> {
    let words = format!("blocked-fire-exit-{}", std::process::id());
    let claimant = format!("Claimant-Zhang-{}", std::process::id());
    let (o, _) = expect(
        0,
        &[
            "tip",
            "submit",
            "--agency",
            CDPH,
            "--enterprise",
            ent,
            "--text",
            &words,
        ],
        h,
    );
    let receipt = o
        .lines()
        .find_map(|l| l.strip_prefix("receipt code: "))
        .unwrap_or_else(|| panic!("{o}"))
        .trim()
        .to_string();
    let v = tip_status(h, &receipt);
    assert_eq!(v["agency"], CDPH, "{v}");
    assert_eq!(v["status"], "awaiting_triage", "{v}");
    let task = common::wait_for(h, CDPH, "tip_triage", ent, 1);
    let what = task[0][0]["what"].as_str().unwrap();
    let tip_id = what.split_whitespace().nth(3).unwrap().to_string();
    assert_eq!(tip_id.len(), 32, "{what}");
    // CDPH reads the description at its own node, declared on chain; OSHA cannot.
    let intake = task[0][0]["source"].as_str().unwrap().to_string();
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(h.join("genesis.json")).unwrap()).unwrap();
    let url = |id: &str| {
        g["agencies"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["id"] == id))
            .and_then(|a| a["grpc_addr"].as_str())
            .unwrap()
            .to_string()
    };
    let views = tempfile::tempdir().unwrap();
    let view = views.path().join("tip-view.json");
    let read = |agency: &str| {
        run(
            &[
                "audit",
                "view",
                "--as",
                agency,
                "--tx",
                &intake,
                "--reveal",
                "description",
                "--purpose",
                "triage",
                "--node",
                &url(agency),
                "--out",
                view.to_str().unwrap(),
            ],
            h,
        )
    };
    let r = read(CDPH);
    assert!(r.status.success(), "{:?}", text(&r));
    assert!(std::fs::read_to_string(&view).unwrap().contains(&words));
    let r = read(OSHA);
    assert!(!r.status.success(), "{:?}", text(&r));
    // A reward before verification is refused; then the follow-ups.
    let follow_up = |code: i32, extra: &[&str]| {
        let mut args = vec!["tip", "follow-up", "--agency", CDPH, "--tip", &tip_id];
        args.extend_from_slice(extra);
        expect(code, &args, h)
    };
    let (_, err) = follow_up(
        3,
        &[
            "--status",
            "reward_decided",
            "--reward",
            "5000",
            "--claimant",
            "Early Bird",
        ],
    );
    assert!(err.contains("R0-tip"), "{err}");
    follow_up(
        0,
        &[
            "--status",
            "under_investigation",
            "--note",
            "an inspector visits this week",
        ],
    );
    follow_up(
        0,
        &[
            "--status",
            "verified",
            "--note",
            "the exit was blocked; the enterprise was penalized",
        ],
    );
    follow_up(
        0,
        &[
            "--status",
            "reward_decided",
            "--reward",
            "5000",
            "--claimant",
            &claimant,
        ],
    );
    // The reward closes the tip.
    let (_, err) = follow_up(
        3,
        &["--status", "not_verified", "--note", "changed our mind"],
    );
    assert!(err.contains("R0-tip"), "{err}");
    common::wait_for(h, CDPH, "tip_triage", ent, 0);
    let v = tip_status(h, &receipt);
    assert_eq!(v["status"], "reward_decided", "{v}");
    assert_eq!(
        v["follow_ups"][1]["note"],
        "the exit was blocked; the enterprise was penalized"
    );
    assert_eq!(v["follow_ups"][2]["reward_yuan"], 5000);
    let (o, _) = expect(0, &["tip", "status", "--receipt", &receipt], h);
    assert!(o.contains("reward 5000 yuan"), "{o}");
    expect(6, &["tip", "status", "--receipt", "TIP-NOSUCHCODE"], h);
    // A flood from one source: OSHA's node takes five tips an hour from this address.
    let mut receipts = vec![receipt];
    for i in 0..6 {
        let r = run(
            &[
                "tip",
                "submit",
                "--agency",
                OSHA,
                "--address",
                "12 Dock Road",
                "--text",
                &format!("{words} again {i}"),
            ],
            h,
        );
        let (o, err) = text(&r);
        if i < 5 {
            assert!(r.status.success(), "{err}");
            receipts.push(
                o.lines()
                    .find_map(|l| l.strip_prefix("receipt code: "))
                    .unwrap()
                    .trim()
                    .to_string(),
            );
        } else {
            assert!(!r.status.success());
            assert!(err.contains("too many tips"), "{err}");
        }
    }
    // Bad input: neither enterprise nor address; an unknown enterprise.
    let r = run(&["tip", "submit", "--agency", CDPH, "--text", "x"], h);
    assert!(!r.status.success());
    let r = run(
        &[
            "tip",
            "submit",
            "--agency",
            BACP,
            "--enterprise",
            "nobody:1",
            "--text",
            "x",
        ],
        h,
    );
    assert!(text(&r).1.contains("not on the ledger"), "{:?}", text(&r));
    let mut secrets = receipts;
    secrets.push(words);
    secrets.push(claimant);
    secrets
}

fn device_key(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let (o, _) = common::expect_bare(0, &["keys", "device", "--out", path.to_str().unwrap()]);
    o.trim().to_string()
}

/// Item 6.
fn alerts(h: &Path, ent: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    device_key(d, "gw.key");
    device_key(d, "ent.key");
    device_key(d, "rogue.key");
    let p = |n: &str| d.join(n).to_str().unwrap().to_string();
    expect(
        0,
        &[
            "monitor",
            "register",
            "--agency",
            CDPH,
            "--enterprise",
            ent,
            "--gateway-id",
            "GW-1",
            "--gateway-key",
            &p("gw.key"),
            "--enterprise-key",
            &p("ent.key"),
        ],
        h,
    );
    std::fs::write(
        d.join("t.toml"),
        "[methane_pct]\nlevels = [0.5, 1.0, 1.5]\n",
    )
    .unwrap();
    let readings = |name: &str, device: &str| {
        std::fs::write(
            d.join(name),
            format!(
                "time,device,measure,value\n\
                 2026-12-01T08:00:00Z,{device},methane_pct,0.2\n\
                 2026-12-01T08:01:00Z,{device},methane_pct,0.3\n\
                 2026-12-01T08:02:00Z,{device},methane_pct,1.2\n\
                 2026-12-01T08:03:00Z,{device},methane_pct,1.1\n"
            ),
        )
        .unwrap();
    };
    readings("a.csv", "CH4-A");
    readings("b.csv", "CH4-B");
    let ingest = |file: &str, key: &str, code: i32| {
        expect(
            code,
            &[
                "alerts",
                "ingest",
                "--file",
                &p(file),
                "--thresholds",
                &p("t.toml"),
                "--gateway-key",
                &p(key),
                "--enterprise",
                ent,
                "--gateway-id",
                "GW-1",
                "--output",
                "json",
            ],
            h,
        )
    };
    // An unregistered gateway's alert is refused at admission.
    let (_, err) = ingest("a.csv", "rogue.key", 4);
    assert!(err.contains("rejected"), "{err}");
    // The demo shortened the acknowledgement window to show its own escalation: back to
    // the regulator's five minutes for A.
    ack_window(h, "300", "ACK-300S");
    let (o, _) = ingest("a.csv", "gw.key", 0);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["readings"], 4, "{v}");
    let sent = v["alerts"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "one crossing, level 2: {v}");
    let first = sent[0]["tx_id"].as_str().unwrap().to_string();
    let (o, _) = expect(
        0,
        &[
            "alerts",
            "ack",
            "--alert",
            &first,
            "--enterprise",
            ent,
            "--enterprise-key",
            &p("ent.key"),
            "--note",
            "ventilation started",
        ],
        h,
    );
    assert!(o.contains("accepted"), "{o}");
    // The next window is two seconds (governed), and B's alert goes unacknowledged.
    ack_window(h, "2", "ACK-2S");
    let (o, _) = ingest("b.csv", "gw.key", 0);
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let second = v["alerts"][0]["tx_id"].as_str().unwrap().to_string();
    follow_up_of(h, ent, &second);
    let (o, _) = expect(0, &["enterprise", "show", ent, "--output", "json"], h);
    let e: serde_json::Value = serde_json::from_str(&o).unwrap();
    let a = &e["state"]["assessment"];
    assert!(
        a["risk_basis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == second.as_str()),
        "{a}"
    );
    assert!(
        a["risk_reason"].as_str().unwrap().contains("sensor alert"),
        "{a}"
    );
    assert_eq!(e["state"]["alert_escalations"][0]["alert"], second.as_str());
    // A late acknowledgement is recorded, and undoes nothing.
    expect(
        0,
        &[
            "alerts",
            "ack",
            "--alert",
            &second,
            "--enterprise",
            ent,
            "--enterprise-key",
            &p("ent.key"),
        ],
        h,
    );
    follow_up_of(h, ent, &second);
    // A was acknowledged in time: no follow-up.
    assert!(common::tasks(h, CDPH, "alert_follow_up", ent)
        .iter()
        .all(|t| t[0]["source"] != first.as_str()));
}

/// Sets `alert_ack_seconds` by a governance proposal `id` of CDPH and two votes.
fn ack_window(h: &Path, seconds: &str, id: &str) {
    expect(
        0,
        &[
            "governance",
            "set-param",
            "alert_ack_seconds",
            seconds,
            "--id",
            id,
            "--reason",
            "drill",
            "--agency",
            CDPH,
        ],
        h,
    );
    for voter in [BACP, OSHA] {
        expect(
            0,
            &["governance", "vote", id, "--yes", "--agency", voter],
            h,
        );
    }
}

/// Waits until CDPH's inbox holds the follow-up of `alert` about `ent`.
fn follow_up_of(h: &Path, ent: &str, alert: &str) {
    let t = Instant::now();
    while !common::tasks(h, CDPH, "alert_follow_up", ent)
        .iter()
        .any(|t| t[0]["source"] == alert)
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no alert_follow_up of {alert} in CDPH's inbox"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Every file under `dir` holding one of `secrets` (as bytes).
fn scan(dir: &Path, secrets: &[String], hits: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            scan(&p, secrets, hits);
        } else if let Ok(bytes) = std::fs::read(&p) {
            for s in secrets {
                if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                    hits.push(format!("{}: {s}", p.display()));
                }
            }
        }
    }
}

/// The metrics ports the demo's summary names.
fn metrics_ports(stdout: &str) -> Vec<u16> {
    stdout
        .split("/metrics")
        .filter_map(|before| before.rsplit(':').next())
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

fn metrics(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
