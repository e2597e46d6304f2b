//! Helpers shared by the process-level tests: the chain checks of the process fault tests
//! (`faults.rs`) and the container fault tests (`cluster_docker.rs`), the guard that stops
//! node processes, and the search for a committed record that the CLI tests
//! (`cli_honest.rs`, `readme_examples.rs`, `key_ceremony.rs`) share, and the search and
//! inbox reads of the officer's tests (`cluster_search.rs`, `cluster_inbox.rs`,
//! `cluster_officers.rs`). Each test binary uses a part of it.
#![allow(dead_code)]

pub mod procnet;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use safeledger_client::auth::Signer;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::TxId;
use std::collections::BTreeMap;

/// Every node of `endpoints` holds the same block at height `min` (equal hashes there mean
/// equal chains: each header commits to its predecessor); and in heights 1..=`min`, read
/// from the first node, every acknowledged transaction (`acks`: id → (height, index)) is
/// committed exactly once, at its acknowledged place, and no transaction twice.
pub async fn assert_same_chain_and_acks_once(
    endpoints: &[String],
    signer: &Signer,
    min: u64,
    acks: &BTreeMap<TxId, (u64, u32)>,
) {
    let mut hashes = Vec::new();
    for e in endpoints {
        let (b, _, _) = LedgerClient::new(vec![e.clone()])
            .signed_by(signer.clone())
            .block(min)
            .await
            .expect("block");
        hashes.push(b.hash());
    }
    assert!(
        hashes.iter().all(|h| *h == hashes[0]),
        "nodes disagree at height {min}: {hashes:?}"
    );
    let mut c = LedgerClient::new(vec![endpoints[0].clone()]).signed_by(signer.clone());
    let mut places: BTreeMap<TxId, Vec<(u64, u32)>> = BTreeMap::new();
    for h in 1..=min {
        let (b, _, _) = c.block(h).await.expect("block");
        for (i, tx) in b.txs.iter().enumerate() {
            places.entry(tx.id()).or_default().push((h, i as u32));
        }
    }
    for (id, at) in acks {
        assert_eq!(places.get(id), Some(&vec![*at]), "acknowledged tx {id}");
    }
    assert!(
        places.values().all(|v| v.len() == 1),
        "a transaction committed twice"
    );
}

/// Node processes, killed and reaped when the test ends, however it ends.
pub struct Nodes(pub Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The id of the first accepted accident report (public `category`, private `description`
/// in the demo's import), walking the blocks from height 1 as `block_json(h)` returns
/// them (`safeledger block show h --output json`; `None` past the tip).
///
/// # Panics
/// No such report in the blocks.
pub fn first_accepted_accident(block_json: impl FnMut(u64) -> Option<serde_json::Value>) -> String {
    first_accepted("accident_report", block_json).0
}

/// The id and record (the body's `kind` object) of the first accepted record of `kind`
/// (`licence_decision`, ...), walking the blocks as [`first_accepted_accident`] does.
///
/// # Panics
/// No such record in the blocks.
pub fn first_accepted(
    kind: &str,
    mut block_json: impl FnMut(u64) -> Option<serde_json::Value>,
) -> (String, serde_json::Value) {
    for h in 1..200 {
        let Some(v) = block_json(h) else { break };
        let txs = v["block"]["txs"].as_array().cloned().unwrap_or_default();
        let results = v["results"].as_array().cloned().unwrap_or_default();
        for (tx, r) in txs.iter().zip(results) {
            let body = &tx["payload"]["body"][kind];
            if body.is_object() && r["outcome"] == "accepted" {
                let id = r["tx_id"].as_str().expect("tx id").to_string();
                return (id, body.clone());
            }
        }
    }
    panic!("no accepted {kind} in the blocks");
}

/// The binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_safeledger");
/// The shipped data folder.
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");

/// The demo process; stopped (SIGTERM, then kill) on drop.
/// A running demo network, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Demo {
    /// The demo process.
    pub child: Child,
    /// The network directory.
    pub home: PathBuf,
    /// What the demo printed until it left the network running.
    pub stdout: String,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// Stops the network (SIGTERM to the demo, which stops its nodes; SIGKILL after 20 s)
    /// and keeps its directory.
    pub fn stop(&mut self) {
        signal(self.child.id(), "-TERM");
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

/// Starts `safeledger demo --limit LIMIT --keep-running` on the shipped data in a temporary
/// directory and waits until the network is left running.
pub fn start_demo_with(limit: usize) -> Demo {
    start_demo_env(limit, &[])
}

/// [`start_demo_with`] with extra environment variables for the demo and its nodes.
pub fn start_demo_env(limit: usize, env: &[(&str, &str)]) -> Demo {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("net");
    let mut child = Command::new(EXE)
        .envs(env.iter().copied())
        .args([
            "demo",
            "--limit",
            &limit.to_string(),
            "--keep-running",
            "--data",
            DATA,
            "--dir",
        ])
        .arg(&home)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the demo");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut stdout = String::new();
    let t = Instant::now();
    loop {
        let mut line = String::new();
        let n = out.read_line(&mut line).expect("read the demo's output");
        stdout.push_str(&line);
        if line.contains("network left running") {
            break;
        }
        assert!(
            n > 0 && t.elapsed() < Duration::from_secs(240),
            "the demo did not come up:\n{stdout}"
        );
    }
    // Keep draining its output so that it never blocks on a full pipe.
    std::thread::spawn(move || {
        let _ = out.read_to_end(&mut Vec::new());
    });
    Demo {
        child,
        home,
        stdout,
        _dir: dir,
    }
}

pub fn run(args: &[&str], home: &Path) -> Output {
    Command::new(EXE)
        .args(args)
        .arg("--home")
        .arg(home)
        .output()
        .expect("run safeledger")
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `args` without `--home`, checks the exit code; returns (stdout, stderr).
pub fn expect_bare(code: i32, args: &[&str]) -> (String, String) {
    let o = Command::new(EXE)
        .args(args)
        .output()
        .expect("run safeledger");
    exited(code, args, &o)
}

/// Checks that `o`, the output of `safeledger args`, exited with `code`; returns
/// (stdout, stderr).
fn exited(code: i32, args: &[&str], o: &Output) -> (String, String) {
    let (out, err) = text(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "safeledger {args:?}:\nstdout: {out}\nstderr: {err}"
    );
    (out, err)
}

/// Runs and checks the exit code; returns (stdout, stderr).
pub fn expect(code: i32, args: &[&str], home: &Path) -> (String, String) {
    exited(code, args, &run(args, home))
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p.to_string_lossy().into_owned()
}

pub fn pid_of(agency: &str, home: &Path) -> u32 {
    let out = Command::new("pgrep")
        .args([
            "-f",
            "--",
            &format!("--home {} --agency {agency}", home.display()),
        ])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no node process of {agency}"))
}

/// [`start_demo_with`] 30 rows of each file.
pub fn start_demo() -> Demo {
    start_demo_with(30)
}

/// The search's JSON answer as `agency`'s officer.
pub fn search_json(home: &Path, agency: &str, text: &str) -> serde_json::Value {
    let (out, _) = expect(
        0,
        &["search", text, "--as", agency, "--output", "json"],
        home,
    );
    serde_json::from_str(&out).expect("search JSON")
}

pub fn hit_ids(v: &serde_json::Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|x| x["enterprise"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Searches until `id` is among the hits (the index follows commits within a poll).
pub fn found_within(home: &Path, agency: &str, text: &str, id: &str) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let v = search_json(home, agency, text);
        if hit_ids(&v).iter().any(|h| h == id) {
            return v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{text:?} as {agency} never found {id}: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A public name of an accepted enterprise record of the import, with its enterprise.
pub fn a_public_name(home: &Path) -> (String, String) {
    for h in 1..200 {
        let o = run(&["block", "show", &h.to_string(), "--output", "json"], home);
        if !o.status.success() {
            break;
        }
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("block JSON");
        let txs = v["block"]["txs"].as_array().cloned().unwrap_or_default();
        let results = v["results"].as_array().cloned().unwrap_or_default();
        for (tx, r) in txs.iter().zip(results) {
            let rec = &tx["payload"]["body"]["enterprise_record"];
            let name = rec["name"].as_str().unwrap_or("");
            if r["outcome"] == "accepted" && name.split_whitespace().count() >= 2 {
                let id = rec["enterprise"].as_str().expect("enterprise").to_string();
                return (id, name.to_string());
            }
        }
    }
    panic!("no accepted enterprise record with a public name of two words");
}

/// `agency`'s whole inbox (every page), as JSON tasks.
pub fn inbox(home: &Path, agency: &str, limit: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut args = vec![
            "inbox", "--agency", agency, "--output", "json", "--limit", limit,
        ];
        if !cursor.is_empty() {
            args.extend_from_slice(&["--cursor", &cursor]);
        }
        let (o, _) = expect(0, &args, home);
        let v: serde_json::Value = serde_json::from_str(&o).expect("inbox JSON");
        out.extend(v["tasks"].as_array().cloned().unwrap_or_default());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return out,
        }
    }
}

/// The tasks of `kind` about `enterprise` in `agency`'s inbox.
pub fn tasks(home: &Path, agency: &str, kind: &str, enterprise: &str) -> Vec<serde_json::Value> {
    inbox(home, agency, "200")
        .into_iter()
        .filter(|p| p[0]["kind"] == kind && p[0]["enterprise"] == enterprise)
        .collect()
}

/// Waits until `agency`'s inbox holds `n` tasks of `kind` about `enterprise`.
pub fn wait_for(
    home: &Path,
    agency: &str,
    kind: &str,
    enterprise: &str,
    n: usize,
) -> Vec<serde_json::Value> {
    let t = Instant::now();
    loop {
        let found = tasks(home, agency, kind, enterprise);
        if found.len() == n {
            return found;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{agency}'s inbox has {} {kind} tasks about {enterprise}, not {n}: {found:?}",
            found.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// JSON pointers of every leaf (string, number, bool) of `v`.
pub fn json_leaves(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                json_leaves(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                json_leaves(x, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Null => {}
        _ => out.push(at),
    }
}

/// Changes a leaf: a number by one, a boolean negated, a string's last character to
/// another (hex stays hex).
pub fn mutate_leaf(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Bool(b) => *b = !*b,
        serde_json::Value::Number(n) => {
            *v = serde_json::json!(n.as_u64().map_or(1, |x| x ^ 1));
        }
        serde_json::Value::String(s) => {
            let last = s.pop().unwrap_or('0');
            s.push(match last {
                '0' => '1',
                'a' => 'b',
                'f' => 'e',
                c if c.is_ascii_hexdigit() => '0',
                _ => 'x',
            });
        }
        _ => {}
    }
}

/// A `safeledger console` process and the address it listens on, killed when dropped.
pub struct ConsoleProc(pub Child, pub String);

impl Drop for ConsoleProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `safeledger console --home h --as us-osha` with `extra` arguments and `env`,
/// and reads the address it prints.
pub fn console(h: &Path, extra: &[&str], env: &[(&str, &str)]) -> ConsoleProc {
    console_as(h, "us-osha", extra, env)
}

/// [`console`] acting as `identity` (an agency or an auditor).
pub fn console_as(h: &Path, identity: &str, extra: &[&str], env: &[(&str, &str)]) -> ConsoleProc {
    let mut child = Command::new(EXE)
        .args(["console", "--home"])
        .arg(h)
        .args(["--as", identity])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the console");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the console's first line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    ConsoleProc(child, addr)
}
