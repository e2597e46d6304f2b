//! The README's loopback examples run as written (issue 18): every shell line of the
//! sections from "Using a network" to "Governance" is run in order, by `sh`, against a
//! network `init` made and four `node start` processes serve, with `safeledger` on the
//! PATH. Each must exit 0.
//!
//! What the test supplies, since a README cannot: the value of each `<placeholder>` (the
//! transaction id the previous command printed, an accident report's id for the audit
//! lines, the joint inspection's record file, the draw's opening transaction id (waiting for the draw to complete before its
//! export), us-osha's gRPC URL, the photo file and its hash, the receipt code and tip id
//! `tip submit` gave (waiting for the tip's block before `tip status`), the alert `alerts
//! ingest` sent), no `[optional]` parts, the record files of the README's JSON
//! example, `--limit 30` on `import` (the whole data takes minutes in a debug build), an
//! earlier checkpoint for `audit consistency`, an accepted licence decision's enterprise
//! and licence number for `audit state`, and one network for the auditing section
//! (which starts its own demo by `cargo run`). Lines of other sections — containers, the
//! key ceremony on other machines, fault tests, `cargo run` and `cargo bench` lines,
//! fuzzing — are run by hand and reported in the issue notes.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::Nodes;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_safeledger");
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The shell lines of the README between two headings, continuation lines joined and
/// comments dropped.
fn shell_lines(readme: &str, from: &str, to: &str) -> Vec<String> {
    let start = readme.find(from).expect("start heading");
    let end = start + readme[start..].find(to).expect("end heading");
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme[start..end].lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match line.find(" #") {
            Some(i) if !line[..i].contains('\'') => &line[..i],
            _ => line,
        };
        let code = code.trim_end();
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(code.trim_start());
        // A quoted argument that goes on over the next line (apostrophes inside
        // `<placeholders>` are not quotes).
        let outside: String = pending
            .split('<')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('>').map_or("", |(_, rest)| rest)
                }
            })
            .collect();
        if outside.matches('\'').count() % 2 == 1 {
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending);
        if !full.trim().is_empty() && !full.trim_start().starts_with('#') {
            out.push(full.trim().to_string());
        }
    }
    out
}

/// The first ```json block after `marker`, split into its objects.
fn json_examples(readme: &str, marker: &str) -> Vec<serde_json::Value> {
    let at = readme.find(marker).expect("marker");
    let block = &readme[at..];
    let start = block.find("```json\n").expect("json block") + 8;
    let end = start + block[start..].find("```").expect("block end");
    serde_json::Deserializer::from_str(&block[start..end])
        .into_iter::<serde_json::Value>()
        .map(|v| v.expect("README JSON example parses"))
        .collect()
}

/// The first ````lang` block after `marker`, verbatim.
fn block_after(readme: &str, marker: &str, lang: &str) -> String {
    let at = readme.find(marker).expect("marker");
    let block = &readme[at..];
    let open = format!("```{lang}\n");
    let start = block.find(&open).expect("block") + open.len();
    let end = start + block[start..].find("```").expect("block end");
    block[start..end].to_string()
}

/// The 64-hex-digit words of `stdout`, in order.
fn hex_words(stdout: &str) -> Vec<String> {
    stdout
        .split_whitespace()
        .filter(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

/// Drops `[...]` groups (optional arguments).
fn without_optional(line: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The transaction id a command printed as committed (`<id> committed at height …`).
fn printed_tx_id(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .filter(|l| l.contains(" committed at height "))
        .filter_map(|l| l.split_whitespace().next())
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// Waits until draw `id` is complete (its beacon takes a few blocks).
fn wait_for_draw(run: &Run, id: &str) {
    let t = Instant::now();
    loop {
        let out = run.ok(&format!(
            "safeledger draw show {id} --home net --output json"
        ));
        let v: serde_json::Value = serde_json::from_str(&out).expect("draw JSON");
        if v["phase"] == "complete" {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "draw {id} did not complete: {v}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

struct Run {
    dir: PathBuf,
    path: String,
}

impl Run {
    fn sh(&self, line: &str) -> (bool, String, String) {
        let o = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(&self.dir)
            .env("PATH", &self.path)
            .output()
            .expect("sh");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn ok(&self, line: &str) -> String {
        let (ok, out, err) = self.sh(line);
        assert!(
            ok,
            "README line failed: {line}\nstdout: {out}\nstderr: {err}"
        );
        out
    }
}

fn start_nodes(dir: &Path, genesis: &serde_json::Value) -> Nodes {
    let mut nodes = Vec::new();
    for a in genesis["agencies"].as_array().expect("agencies") {
        let id = a["id"].as_str().expect("id");
        let log = std::fs::File::create(dir.join(format!("{id}.log"))).expect("log");
        nodes.push(
            Command::new(EXE)
                .args(["node", "start", "--home", "net", "--agency", id])
                .current_dir(dir)
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("node start"),
        );
    }
    Nodes(nodes)
}

/// An accident report committed by the import (public `category`, private
/// `description`), found by walking the blocks.
fn accident_tx(run: &Run) -> String {
    common::first_accepted_accident(|h| {
        let (ok, out, _) = run.sh(&format!(
            "safeledger block show {h} --home net --output json"
        ));
        ok.then(|| serde_json::from_str(&out).expect("block JSON"))
    })
}

#[test]
fn cluster_readme_loopback_examples_run_as_written() {
    let readme = std::fs::read_to_string(format!("{REPO}/README.md")).expect("README");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("bin");
    std::os::unix::fs::symlink(EXE, bin.join("safeledger")).expect("symlink");
    std::os::unix::fs::symlink(format!("{REPO}/data"), dir.join("data")).expect("data");
    let run = Run {
        dir: dir.clone(),
        path: format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    };
    let records = json_examples(&readme, "A record file is the JSON of a `TxBody`");
    for (name, v) in ["enterprise.json", "penalty.json"].iter().zip(&records) {
        std::fs::write(dir.join(name), v.to_string()).expect("record file");
    }

    let visit = json_examples(&readme, "A joint inspection's record");
    std::fs::write(dir.join("visit.json"), visit[0].to_string()).expect("record file");
    // The field-work section's files: thresholds and readings as the README shows them, and
    // a photo.
    for (name, marker, lang) in [
        ("thresholds.toml", "Thresholds (`thresholds.toml`)", "toml"),
        ("readings.csv", "Readings (`readings.csv`)", "csv"),
    ] {
        std::fs::write(dir.join(name), block_after(&readme, marker, lang)).expect("file");
    }
    let photo: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("site-photo.jpg"), &photo).expect("photo");
    let photo_hash = blake3::hash(&photo).to_hex().to_string();
    let mut receipt: Option<String> = None;
    let mut alert: Option<String> = None;
    let lines = shell_lines(&readme, "## Using a network", "### Private fields");
    let governance = shell_lines(&readme, "### Governance", "### Key ceremony");
    assert!(lines.len() > 15, "{lines:?}");
    let mut nodes = None;
    let mut last_id: Option<String> = None;
    let mut accident: Option<String> = None;
    let mut draw: Option<String> = None;
    let mut ran = 0;
    for line in lines.iter().chain(&governance) {
        let mut line = without_optional(line);
        if line.starts_with("cargo run") {
            continue; // the auditing section's own demo: the network is up already
        }
        if line.starts_with("safeledger node start") {
            let g: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join("net/genesis.json")).expect("genesis"),
            )
            .expect("genesis JSON");
            nodes = Some(start_nodes(&dir, &g));
            let t = Instant::now();
            while !run.sh("safeledger status --home net").0 {
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "nodes did not come up"
                );
                std::thread::sleep(Duration::from_millis(300));
            }
            ran += 1;
            continue;
        }
        if line.starts_with("safeledger import") {
            line.push_str(" --limit 30");
        }
        if line.contains("<us-osha's gRPC URL>") {
            let g: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join("net/genesis.json")).expect("genesis"),
            )
            .expect("genesis JSON");
            let url = g["agencies"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["id"] == "us-osha"))
                .and_then(|a| a["grpc_addr"].as_str())
                .expect("us-osha's URL")
                .to_string();
            line = line.replace("<us-osha's gRPC URL>", &url);
        }
        if line.contains("<draw tx id>") {
            let id = draw.clone().expect("draw open printed its transaction id");
            if line.starts_with("safeledger audit draw export") {
                wait_for_draw(&run, &id);
            }
            line = line.replace("<draw tx id>", &id);
        }
        if line.contains("<tx id>") {
            let id = if line.starts_with("safeledger audit") {
                accident.get_or_insert_with(|| accident_tx(&run)).clone()
            } else {
                last_id.clone().expect("a transaction id printed before")
            };
            line = line.replace("<tx id>", &id);
        }
        if line.contains("<enterprise id>") {
            let (_, d) = common::first_accepted("licence_decision", |h| {
                let (ok, out, _) = run.sh(&format!(
                    "safeledger block show {h} --home net --output json"
                ));
                ok.then(|| serde_json::from_str(&out).expect("block JSON"))
            });
            line = line
                .replace("<enterprise id>", d["enterprise"].as_str().expect("id"))
                .replace(
                    "<licence number>",
                    d["licence_number"].as_str().expect("no"),
                );
        }
        line = line.replace("<file hash>", &photo_hash);
        if let Some(r) = &receipt {
            line = line.replace("<receipt code>", r).replace(
                "<tip id>",
                &safeledger_core::records::tip::tip_id_of_receipt(r),
            );
        }
        if let Some(a) = &alert {
            line = line.replace("<alert tx id>", a);
        }
        if line.starts_with("safeledger tip status") {
            // The tip is found once its block commits.
            let t = Instant::now();
            while !run.sh(&line).0 {
                assert!(t.elapsed() < Duration::from_secs(30), "{line}");
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        if line.contains("--out cp.json") {
            // An earlier tree head for `audit consistency old-cp.json cp.json`.
            run.ok("safeledger audit checkpoint --home net --out old-cp.json");
            std::thread::sleep(Duration::from_secs(2));
        }
        assert!(
            !line.contains('<'),
            "a placeholder the test does not fill: {line}"
        );
        let out = run.ok(&line);
        if line.starts_with("safeledger tip submit") {
            receipt = out
                .lines()
                .find_map(|l| l.strip_prefix("receipt code: "))
                .map(|r| r.trim().to_string());
        }
        if line.starts_with("safeledger alerts ingest") {
            alert = hex_words(&out).into_iter().next();
        }
        if let Some(id) = printed_tx_id(&out) {
            if line.starts_with("safeledger draw open") {
                draw = Some(id.clone());
            }
            last_id = Some(id);
        }
        ran += 1;
    }
    assert!(nodes.is_some(), "the README starts the nodes");
    assert!(ran > 20, "ran {ran} lines");
}
