//! Running a machine scenario to its end: every property on every step, then liveness
//! (and the private value's arrival) after GST.

use super::scenario::Hits;
use super::{MachineScenario, MachineWorld, Stage, Violation};

/// The outcome of a machine run that broke nothing.
#[derive(Clone, Debug)]
pub struct MachineReport {
    /// The scenario's name.
    pub scenario: String,
    /// Lowest committed height among honest nodes at the end.
    pub min_height: u64,
    /// Simulated time covered, ms.
    pub sim_ms: u64,
    /// What the run exercised.
    pub hits: Hits,
    /// Digest of the run (two runs of a seed must match).
    pub trace: u64,
}

/// Runs the machine scenario of `seed`.
pub fn run_machine_seed(seed: u64) -> Result<MachineReport, crate::sim::Failure> {
    run_machine(MachineScenario::random(seed), seed)
}

/// Runs `sc` with keys and randomness from `seed`: every property on every step; after
/// GST, every honest node commits [`MachineScenario::liveness_heights`] more heights
/// within [`MachineScenario::liveness_bound_ms`].
pub fn run_machine(sc: MachineScenario, seed: u64) -> Result<MachineReport, crate::sim::Failure> {
    let name = sc.name.clone();
    let failure = |at_ms: u64, violation: Violation| crate::sim::Failure {
        seed,
        scenario: name.clone(),
        at_ms,
        violation,
    };
    let mut w = MachineWorld::new(sc, seed).map_err(|e| {
        failure(
            0,
            Violation {
                property: "node start",
                detail: e.to_string(),
            },
        )
    })?;
    w.start().map_err(|v| failure(0, v))?;
    let mut target: Option<(u64, u64)> = None;
    loop {
        if w.stable {
            let heights = w.honest_heights();
            let min = heights.iter().copied().min().unwrap_or(0);
            let (goal, deadline) = *target.get_or_insert_with(|| {
                let max = heights.iter().copied().max().unwrap_or(0);
                (max + w.sc.liveness_heights, w.now + w.sc.liveness_bound_ms)
            });
            let replicating = w
                .private
                .as_ref()
                .is_some_and(|p| p.stage == Stage::Replicating);
            if min >= goal && !replicating {
                break;
            }
            if w.now > deadline {
                let v = if min >= goal {
                    Violation {
                        property: "private values",
                        detail: format!(
                            "the granted private value never reached node {} in {} ms after GST",
                            w.private.as_ref().map_or(0, |p| p.requester),
                            w.sc.liveness_bound_ms
                        ),
                    }
                } else {
                    Violation {
                        property: "liveness",
                        detail: format!(
                            "honest heights {heights:?} short of {goal} {} ms after GST",
                            w.sc.liveness_bound_ms
                        ),
                    }
                };
                return Err(failure(w.now, v));
            }
        }
        match w.step() {
            Ok(true) => {}
            Ok(false) => break,
            Err(v) => return Err(failure(w.now, v)),
        }
    }
    Ok(MachineReport {
        scenario: w.sc.name.clone(),
        min_height: w.honest_heights().into_iter().min().unwrap_or(0),
        sim_ms: w.now,
        hits: w.hits.clone(),
        trace: w.trace,
    })
}
