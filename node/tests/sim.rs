//! The deterministic simulation over many seeds (`safeledger_node::sim`). A failure prints
//! `SEED=<n>`; `safeledger_node::sim::run_seed(n)` (or `safeledger sim --seeds 1
//! --start-seed n`) replays it exactly.

use safeledger_node::sim::{self, run_seed, Report, Scenario, SigMode};

/// Runs `seeds`, panicking with every failure's `SEED=` line.
fn sweep(seeds: std::ops::Range<u64>) -> Vec<Report> {
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for seed in seeds {
        match run_seed(seed) {
            Ok(r) => reports.push(r),
            Err(f) => failures.push(f.to_string()),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let heights: u64 = reports.iter().map(|r| r.heights).sum();
    let sim_s: u64 = reports.iter().map(|r| r.sim_ms).sum::<u64>() / 1_000;
    let worst = reports.iter().filter_map(|r| r.recovery_ms).max();
    eprintln!(
        "{} seeds: {heights} heights decided, {sim_s} s simulated, slowest recovery after GST {worst:?} ms",
        reports.len()
    );
    reports
}

// 600 seeds in four tests, so that the test runner spreads them over the cores.
#[test]
fn seeds_0_to_149_keep_every_property() {
    sweep(0..150);
}

#[test]
fn seeds_150_to_299_keep_every_property() {
    sweep(150..300);
}

#[test]
fn seeds_300_to_449_keep_every_property() {
    sweep(300..450);
}

#[test]
fn seeds_450_to_599_keep_every_property() {
    let reports = sweep(450..600);
    // The sweep covers the Byzantine behaviours and real signatures (sanity of the mix).
    assert!(reports.iter().any(|r| r.evidence > 0));
    assert!(reports.iter().any(|r| r.scenario.contains("ed25519")));
}

#[test]
fn a_seed_replays_identically() {
    for seed in [3, 9, 141] {
        let a = run_seed(seed).expect("passes");
        let b = run_seed(seed).expect("passes");
        assert_eq!(a, b);
    }
    assert_ne!(
        run_seed(3).expect("passes").trace,
        run_seed(4).expect("passes").trace
    );
}

#[test]
fn seeds_over_the_real_ledger_keep_every_property() {
    for seed in 0..6 {
        let mut sc = Scenario::random(seed, Some(4));
        sc.ledger = true;
        sc.sigs = SigMode::Production;
        sc.name = format!("{}+ledger", sc.name);
        let r = sim::run(sc, seed).unwrap_or_else(|f| panic!("{f}"));
        assert!(r.min_height >= 2, "{r:?}");
    }
}

#[test]
fn ten_thousand_heights_with_four_validators_never_stall() {
    let mut sc = Scenario::clean("ten-thousand-heights", 4, 10_000);
    sc.commit_delay_ms = 10;
    let r = sim::run(sc, 10_000).unwrap_or_else(|f| panic!("{f}"));
    assert!(r.min_height >= 10_000);
    assert_eq!(
        r.stats.max_decided_round, 0,
        "no round changes without faults"
    );
    eprintln!("{r:?}");
}
