//! Deterministic simulation of a network of validators running the real consensus core
//! (`crate::consensus`), in one thread, in simulated time (TigerBeetle's simulator;
//! CONVENTIONS.md).
//!
//! A seed determines everything: the scenario ([`Scenario::random`]: validators and power,
//! Byzantine keys, loss, duplication and delays, partitions, crashes, clock skews, GST),
//! the keys, and every random choice of the run (a ChaCha8 stream). [`run_seed`] replays a
//! seed exactly; a failure prints `SEED=<n>` and the scenario name ([`Failure`]).
//!
//! Checked on every step (`check.rs`): agreement, validity, commit certificates, no
//! double-sign by honest validators across crashes, persist before send, evidence. After
//! GST (partitions healed, crashed nodes restarted, no more loss, delays bounded), every
//! honest node must commit [`Scenario::liveness_heights`] new heights within
//! [`Scenario::liveness_bound_ms`] of simulated time.

mod app;
mod byz;
mod check;
pub mod machine;
mod queue;
mod scenario;
mod sigs;
mod world;

pub use app::{toy_tx, LedgerApp, SimApp, ToyApp, POISON_SEQUENCE};
pub use check::{Checker, Violation};
pub use scenario::{Byzantine, Fault, NetworkModel, Scenario, LIVENESS_BOUND_MS};
pub use sigs::{CachedCheck, SigCache, SigMode};
pub use world::{Msg, SimNode, Stats, World, EPOCH_MS, GENESIS_MS, SIM_CHAIN_ID, TICK_MS};

use safeledger_core::genesis::Genesis;
use safeledger_core::{Agency, SecretKey, Timestamp};
use std::fmt;

/// With a target height, no honest node may go this long without committing, ms.
pub const STALL_MS: u64 = 30_000;

/// The outcome of a run that broke nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// The scenario's name.
    pub scenario: String,
    /// Lowest committed height among honest nodes at the end.
    pub min_height: u64,
    /// Heights decided.
    pub heights: u64,
    /// Simulated time covered, ms.
    pub sim_ms: u64,
    /// Simulated time from GST until every honest node had its new heights, ms.
    pub recovery_ms: Option<u64>,
    /// Evidence reports.
    pub evidence: u64,
    /// Counters.
    pub stats: Stats,
    /// Digest of every event processed and every decision.
    pub trace: u64,
}

/// A broken property, with what reproduces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// The scenario's name.
    pub scenario: String,
    /// Simulated time of the violation, ms.
    pub at_ms: u64,
    /// What broke.
    pub violation: Violation,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SEED={} scenario={} at {} ms: {} violated: {}",
            self.seed, self.scenario, self.at_ms, self.violation.property, self.violation.detail
        )
    }
}

impl std::error::Error for Failure {}

/// Runs the scenario of `seed` (the seed chooses the number of validators).
pub fn run_seed(seed: u64) -> Result<Report, Failure> {
    run(Scenario::random(seed, None), seed)
}

/// Runs the scenario of `seed` with `validators` validators.
pub fn run_seed_with(seed: u64, validators: usize) -> Result<Report, Failure> {
    run(Scenario::random(seed, Some(validators)), seed)
}

/// Runs `sc` with keys and randomness from `seed`.
pub fn run(sc: Scenario, seed: u64) -> Result<Report, Failure> {
    let mut w = World::new(sc, seed);
    run_world(&mut w, seed)
}

/// Runs a world built by the caller (named scenarios inspect it afterwards).
pub fn run_world(w: &mut World, seed: u64) -> Result<Report, Failure> {
    let failure = |w: &World, v: Violation| Failure {
        seed,
        scenario: w.sc.name.clone(),
        at_ms: w.now,
        violation: v,
    };
    w.start().map_err(|v| failure(w, v))?;
    let mut target: Option<(u64, u64)> = None;
    let mut recovery_ms = None;
    let mut low = 0;
    let mut low_since = 0;
    loop {
        let heights = w.honest_heights();
        let min = heights.iter().copied().min().unwrap_or(0);
        if min > low {
            (low, low_since) = (min, w.now);
        }
        if let Some(t) = w.sc.target_height {
            if min >= t {
                break;
            }
            if w.now > low_since + STALL_MS {
                let v = Violation {
                    property: "liveness",
                    detail: format!("no honest progress past height {min} for {STALL_MS} ms"),
                };
                return Err(failure(w, v));
            }
        } else if w.stable {
            let (goal, deadline) = *target.get_or_insert_with(|| {
                let max = heights.iter().copied().max().unwrap_or(0);
                (max + w.sc.liveness_heights, w.now + w.sc.liveness_bound_ms)
            });
            if min >= goal {
                recovery_ms = Some(w.now - w.sc.gst_ms);
                break;
            }
            if w.now > deadline {
                let v = Violation {
                    property: "liveness",
                    detail: format!(
                        "honest heights {heights:?} short of {goal} {} ms after GST",
                        w.sc.liveness_bound_ms
                    ),
                };
                return Err(failure(w, v));
            }
        }
        if w.now > w.sc.max_time_ms {
            break;
        }
        match w.step() {
            Ok(true) => {}
            Ok(false) => break,
            Err(v) => return Err(failure(w, v)),
        }
    }
    let min_height = w.honest_heights().into_iter().min().unwrap_or(0);
    let mut trace = w.trace;
    for h in 1..=w.check.decided_heights() {
        if let Some(d) = w.check.decided_at(h) {
            trace = world::mix(
                trace,
                u64::from_le_bytes(d.0[..8].try_into().unwrap_or([0; 8])),
            );
        }
    }
    Ok(Report {
        seed,
        scenario: w.sc.name.clone(),
        min_height,
        heights: w.check.decided_heights(),
        sim_ms: w.now,
        recovery_ms,
        evidence: w.check.evidence,
        stats: w.stats.clone(),
        trace,
    })
}

/// The genesis of a run over the real ledger: one agency per validator key, each with an
/// officer key derived from the seed.
pub fn ledger_genesis(keys: &[SecretKey], sc: &Scenario, seed: u64) -> Genesis {
    let agencies = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut b = [0x0fu8; 32];
            b[..8].copy_from_slice(&seed.to_le_bytes());
            b[8] = i as u8;
            Agency {
                id: format!("v{i}"),
                name: format!("validator {i}"),
                role: "inspection".into(),
                node_key: k.public(),
                officer_keys: vec![SecretKey::from_bytes(&b).public()],
                p2p_addr: String::new(),
                grpc_addr: String::new(),
                tls_cert: String::new(),
                power: sc.power[i],
            }
        })
        .collect();
    Genesis {
        chain_id: SIM_CHAIN_ID.into(),
        genesis_time: Timestamp(GENESIS_MS),
        agencies,
        roles: safeledger_client::import::demo_roles(),
        consensus: sc.params.clone(),
        auditors: Vec::new(),
    }
}
