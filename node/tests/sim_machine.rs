//! The simulator over the node's machine (`safeledger_node::sim::machine`): the code
//! production runs, over the real ledger, under crashes right after persisting, wiped data
//! directories, a lying sync peer, nodes lacking proposal bodies, loss and partitions. A
//! failure prints `SEED=<n>`; `run_machine_seed(n)` replays it.

use safeledger_node::sim::machine::{run_machine_seed, Hits};
use std::collections::BTreeMap;

/// Runs `seeds`, panicking with every failure's `SEED=` line; returns the summed hits and
/// how many seeds hit each feature.
fn sweep(seeds: std::ops::Range<u64>) -> (Hits, BTreeMap<&'static str, u64>) {
    let mut hits = Hits::default();
    let mut seeds_hitting = BTreeMap::new();
    let mut failures = Vec::new();
    let n = seeds.end - seeds.start;
    for seed in seeds {
        match run_machine_seed(seed) {
            Ok(r) => {
                hits.add(&r.hits);
                for f in r.hits.features() {
                    *seeds_hitting.entry(f).or_default() += 1;
                }
            }
            Err(f) => failures.push(f.to_string()),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    for (f, k) in &seeds_hitting {
        eprintln!("{f}: {k} of {n} seeds");
    }
    (hits, seeds_hitting)
}

/// The features every sweep of 75 seeds must hit: a sweep that hits none of one means
/// the scenario no longer exercises what it guards (e.g. proposal fetching broken: the
/// node lacking bodies never fetches).
const FEATURES: [&str; 5] = [
    "crash after persist, then log replay",
    "wiped data directory, key kept",
    "lying sync peer banned",
    "proposal as ids fetched by a node lacking bodies",
    "blocks with transactions",
];

fn sweep_and_hit_all(seeds: std::ops::Range<u64>) {
    let (_, hit) = sweep(seeds);
    for f in FEATURES {
        assert!(
            hit.get(f).copied().unwrap_or(0) > 0,
            "no seed hit {f:?}: {hit:?}"
        );
    }
}

// 300 seeds in four tests, so that the test runner spreads them over the cores.
#[test]
fn machine_seeds_0_to_74_keep_every_property_and_hit_every_feature() {
    sweep_and_hit_all(0..75);
}

#[test]
fn machine_seeds_75_to_149_keep_every_property_and_hit_every_feature() {
    sweep_and_hit_all(75..150);
}

#[test]
fn machine_seeds_150_to_224_keep_every_property_and_hit_every_feature() {
    sweep_and_hit_all(150..225);
}

#[test]
fn machine_seeds_225_to_299_keep_every_property_and_hit_every_feature() {
    sweep_and_hit_all(225..300);
}

#[test]
fn a_machine_seed_replays_identically() {
    let a = run_machine_seed(7).expect("seed 7 passes");
    let b = run_machine_seed(7).expect("seed 7 passes");
    assert_eq!(
        (a.trace, a.min_height, a.hits),
        (b.trace, b.min_height, b.hits)
    );
}
