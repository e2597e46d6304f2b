//! A few-second smoke of `safeledger bench` (issue 7): four node processes, open-loop load
//! of pre-signed real records, results in JSON and a PNG plot. Figures are not asserted —
//! the benchmark measures them; this only checks that a run completes and reports.

use std::process::Command;

#[test]
fn cluster_bench_smoke_runs_a_few_seconds_and_writes_its_results() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_safeledger"))
        .args([
            "bench",
            "--rate",
            "200",
            "--seconds",
            "3",
            "--limit",
            "500",
            "--data",
            data,
            "--out",
        ])
        .arg(out_dir.path())
        .output()
        .expect("run safeledger bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out_dir.path().join("bench.json")).expect("bench.json"),
    )
    .expect("bench.json is JSON");
    let run = &json["runs"][0];
    assert_eq!(run["submitted"], 600, "{json}");
    assert!(run["committed_total"].as_u64().unwrap_or(0) > 0, "{json}");
    for n in run["nodes"].as_array().expect("nodes") {
        assert!(
            n["disk_bytes"].as_u64().unwrap_or(0) > 0,
            "disk measured: {n}"
        );
        assert!(n["store_bytes"].as_u64().unwrap_or(0) > 0, "{n}");
    }
    assert!(json["ceiling"]["ceiling_tps"].as_f64().unwrap_or(0.0) > 0.0);
    let png = std::fs::read(out_dir.path().join("bench-200.png")).expect("plot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
}
