//! End to end: the `safeledger demo` binary on a small slice of the real data starts four
//! node processes, imports, and exits 0 only when all four agree.

use std::process::Command;

#[test]
fn cluster_demo_on_a_slice_of_the_real_data_exits_zero_and_agrees() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_safeledger"))
        .args(["demo", "--limit", "60", "--data", data, "--dir"])
        .arg(dir.path().join("net"))
        .output()
        .expect("run safeledger demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("agreement                4/4 nodes"),
        "{stdout}"
    );
    assert!(stdout.contains("rows read                480"), "{stdout}");
    // The summary explains why records outnumber rows, and names each node's metrics.
    assert!(stdout.contains("records and rows differ"), "{stdout}");
    assert_eq!(stdout.matches("/metrics").count(), 4, "{stdout}");
    // Bytes on disk per node and per committed record (issue 22 item 6).
    assert_eq!(
        stdout
            .matches("KiB per committed record), of which store")
            .count(),
        4,
        "{stdout}"
    );
    // The synthetic supervision records (issue 20): a joint inspection, a draw, a tip-off
    // followed up, an unacknowledged alert escalating.
    for line in [
        "joint inspection ",
        "double-random draw ",
        "public tip-off ",
        "followed up under_investigation: accepted",
        "escalated to CDPH's inbox",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
}
