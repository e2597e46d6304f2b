//! The key ceremony through the binary (issue 8 item 6): four agencies each run
//! `safeledger keys generate` into their own directory, a genesis is assembled from the
//! public `agency.json` files alone, and the resulting network directory runs: four
//! `safeledger node start` processes commit blocks.

// Outside the node's machine: the determinism lints of `node/clippy.toml` do not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::Nodes;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_safeledger");

const AGENCIES: [(&str, &str); 4] = [
    ("chicago-bacp", "licensing"),
    ("chicago-cdph", "inspection"),
    ("sf-dph", "inspection"),
    ("us-osha", "accident_investigation"),
];

fn run(args: &[&str], extra: &[&Path]) -> std::process::Output {
    let out = Command::new(EXE)
        .args(args)
        .args(extra)
        .output()
        .expect("run safeledger");
    assert!(
        out.status.success(),
        "safeledger {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The height `endpoint` reports, asked over TLS with the certificate `net`'s genesis pins.
fn height(net: &Path, endpoint: &str) -> u64 {
    let out = Command::new(EXE)
        .args(["status", "--node", endpoint, "--output", "json", "--home"])
        .arg(net)
        .stderr(Stdio::null())
        .output();
    out.ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| v["height"].as_u64())
        .unwrap_or(0)
}

#[test]
fn cluster_key_ceremony_genesis_from_public_keys_runs_a_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = dir.path().join("net");
    let mut files: Vec<PathBuf> = Vec::new();
    for (id, role) in AGENCIES {
        let out_dir = net.join(id);
        let out = run(
            &["keys", "generate", "--agency", id, "--role", role, "--out"],
            &[&out_dir],
        );
        let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let file: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out_dir.join("agency.json")).expect("read"),
        )
        .expect("agency.json");
        assert_eq!(printed, file, "printed and written public parts differ");
        let secret = std::fs::read_to_string(out_dir.join("node.key")).expect("node.key");
        assert!(
            !file.to_string().contains(secret.trim()),
            "a secret leaked into agency.json"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for k in ["node.key", "officer.key"] {
                let mode = std::fs::metadata(out_dir.join(k))
                    .expect("key file")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{k} is readable by others");
            }
        }
        files.push(out_dir.join("agency.json"));
    }
    // A second generate into the same directory would overwrite keys: refused.
    let again = Command::new(EXE)
        .args(["keys", "generate", "--agency", "x", "--out"])
        .arg(net.join("us-osha"))
        .output()
        .expect("run");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // The assembler sees only the public files (copied elsewhere).
    let public = dir.path().join("public");
    std::fs::create_dir_all(&public).expect("mkdir");
    let mut args: Vec<String> = vec![
        "genesis".into(),
        "assemble".into(),
        "--chain-id".into(),
        "ceremony-test".into(),
    ];
    for (f, (id, _)) in files.iter().zip(AGENCIES) {
        let copy = public.join(format!("{id}.json"));
        std::fs::copy(f, &copy).expect("copy");
        args.push("--agency-file".into());
        args.push(copy.display().to_string());
    }
    args.push("--out".into());
    args.push(net.join("genesis.json").display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&argv, &[]);
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(net.join("genesis.json")).expect("read"))
            .expect("genesis");
    assert_eq!(genesis["agencies"].as_array().map(Vec::len), Some(4));

    // The directory is a network directory: every node starts and they commit.
    let mut nodes = Nodes(Vec::new());
    for (id, _) in AGENCIES {
        let log = std::fs::File::create(net.join(id).join("node.log")).expect("log");
        nodes.0.push(
            Command::new(EXE)
                .args(["node", "start", "--home"])
                .arg(&net)
                .args(["--agency", id])
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("spawn node"),
        );
    }
    let endpoints: Vec<String> = genesis["agencies"]
        .as_array()
        .expect("agencies")
        .iter()
        .map(|a| a["grpc_addr"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        endpoints.iter().all(|e| e.starts_with("https://")),
        "the API is served over TLS: {endpoints:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let heights: Vec<u64> = endpoints.iter().map(|e| height(&net, e)).collect();
        if heights.iter().all(|h| *h >= 2) {
            break;
        }
        for c in &mut nodes.0 {
            assert!(
                matches!(c.try_wait(), Ok(None)),
                "a node exited; see its node.log under {}",
                net.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the ceremony's network did not commit: heights {heights:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(nodes);
}
