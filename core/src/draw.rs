//! A double-random draw's outcome from its pool and its beacon's contributions (issue 20
//! item 2): which enterprises are inspected and by whom. Pure functions, the same in the
//! executor and in the offline verifier (`safeledger audit draw verify`).
//!
//! - randomness `ρ = BLAKE3-derive("safeledger v1 inspection draw", "randomness" ‖ draw
//!   id ‖ (agency, Vᵢ) for each dealer in agency order)`;
//! - selection: the pool's enterprises ordered by `H(ρ, "select", id)`, the first
//!   `max(1, ⌈n · permille / 1000⌉)`;
//! - assignment: the selected enterprises in that order; each takes the
//!   `inspectors_per_enterprise` eligible inspectors with the fewest assignments so far,
//!   ties broken by `H(ρ, "assign", enterprise, officer)`. An inspector is not eligible for
//!   an enterprise it declared a conflict with or whose latest inspection it signed; an
//!   enterprise left with fewer eligible inspectors than asked is marked short;
//! - experts (when the draw names any): the same rule over the pool's experts, ties broken
//!   by `H(ρ, "assign-expert", enterprise, expert id)`; an expert is not eligible for an
//!   enterprise it declared a conflict with.

use crate::beacon::Point;
use crate::hash::{Domain, Hash};
use crate::ids::EnterpriseId;
use crate::keys::PublicKey;
use crate::to_canonical;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// An inspector of the pool and the enterprises it may not be assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolInspector {
    /// The officer.
    pub officer: PublicKey,
    /// Declared conflicts and the enterprises whose latest inspection it signed, sorted.
    pub excluded: Vec<EnterpriseId>,
}

/// A third-party expert of the pool and the enterprises it may not be assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolExpert {
    /// The expert's registered id.
    pub expert_id: String,
    /// Declared conflicts, sorted.
    pub excluded: Vec<EnterpriseId>,
}

/// The pool a draw draws from, as the chain computed it at opening.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawPool {
    /// The enterprises, sorted.
    pub enterprises: Vec<EnterpriseId>,
    /// The inspectors, in the opening record's order.
    pub inspectors: Vec<PoolInspector>,
    /// The experts, in the opening record's order.
    #[serde(default)]
    pub experts: Vec<PoolExpert>,
}

impl DrawPool {
    /// The digest every dealer attests: BLAKE3 (draw domain) of "pool" ‖ canonical pool.
    pub fn digest(&self) -> Hash {
        Domain::Draw.hash_parts(&[b"pool", &to_canonical(self)])
    }
}

/// One selected enterprise and its inspectors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The inspectors assigned, in order.
    pub inspectors: Vec<PublicKey>,
    /// The experts assigned, in order (empty when the draw names none).
    #[serde(default)]
    pub experts: Vec<String>,
    /// Fewer eligible inspectors or experts than asked for.
    pub short: bool,
}

/// The draw's randomness from its dealers' contributions `(agency, Vᵢ)` (any order: they
/// are sorted by agency).
pub fn randomness(draw: &Hash, contributions: &BTreeMap<String, Point>) -> Hash {
    let mut parts: Vec<&[u8]> = vec![b"randomness", &draw.0];
    for (agency, v) in contributions {
        parts.push(agency.as_bytes());
        parts.push(&v.0);
    }
    Domain::Draw.hash_parts(&parts)
}

fn score(rho: &Hash, label: &[u8], parts: &[&[u8]]) -> Hash {
    let mut all: Vec<&[u8]> = vec![&rho.0, label];
    all.extend_from_slice(parts);
    Domain::Draw.hash_parts(&all)
}

/// How many of `n` enterprises a fraction of `permille` selects: `⌈n·permille/1000⌉`, at
/// least 1 when `n > 0`.
pub fn selected_count(n: usize, permille: u16) -> usize {
    if n == 0 {
        return 0;
    }
    (n * permille as usize).div_ceil(1000).clamp(1, n)
}

/// The enterprises selected from `pool` under randomness `rho`, in selection order.
pub fn select(rho: &Hash, pool: &[EnterpriseId], permille: u16) -> Vec<EnterpriseId> {
    let mut scored: Vec<(Hash, &EnterpriseId)> = pool
        .iter()
        .map(|e| (score(rho, b"select", &[e.as_str().as_bytes()]), e))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(selected_count(pool.len(), permille))
        .map(|(_, e)| e.clone())
        .collect()
}

/// For each of `selected` in order, the indices of the `per` eligible candidates with the
/// fewest assignments so far, ties broken by `H(rho, label, enterprise, candidate id)`;
/// `candidates` are (id bytes, excluded enterprises).
fn pick(
    rho: &Hash,
    label: &[u8],
    selected: &[EnterpriseId],
    candidates: &[(&[u8], BTreeSet<&EnterpriseId>)],
    per: usize,
) -> Vec<Vec<usize>> {
    let mut load = vec![0usize; candidates.len()];
    selected
        .iter()
        .map(|e| {
            let mut eligible: Vec<(usize, Hash, usize)> = candidates
                .iter()
                .enumerate()
                .filter(|(_, (_, excluded))| !excluded.contains(e))
                .map(|(i, (id, _))| (load[i], score(rho, label, &[e.as_str().as_bytes(), id]), i))
                .collect();
            eligible.sort();
            let chosen: Vec<usize> = eligible.into_iter().take(per).map(|(_, _, i)| i).collect();
            for i in &chosen {
                load[*i] += 1;
            }
            chosen
        })
        .collect()
}

/// The inspectors of `pool` assigned to each of `selected` under `rho`.
pub fn assign(
    rho: &Hash,
    selected: &[EnterpriseId],
    pool: &[PoolInspector],
    per: usize,
) -> Vec<Assignment> {
    let candidates: Vec<(&[u8], BTreeSet<&EnterpriseId>)> = pool
        .iter()
        .map(|i| (&i.officer.0[..], i.excluded.iter().collect()))
        .collect();
    pick(rho, b"assign", selected, &candidates, per)
        .into_iter()
        .zip(selected)
        .map(|(chosen, e)| Assignment {
            enterprise: e.clone(),
            inspectors: chosen.iter().map(|i| pool[*i].officer).collect(),
            experts: Vec::new(),
            short: chosen.len() < per,
        })
        .collect()
}

/// The draw's assignment: [`assign`] of the inspectors, then the experts of `pool` by the
/// same rule (`experts_per` each; none when the pool has no experts).
pub fn assign_all(
    rho: &Hash,
    selected: &[EnterpriseId],
    pool: &DrawPool,
    inspectors_per: usize,
    experts_per: usize,
) -> Vec<Assignment> {
    let mut out = assign(rho, selected, &pool.inspectors, inspectors_per);
    if pool.experts.is_empty() || experts_per == 0 {
        return out;
    }
    let candidates: Vec<(&[u8], BTreeSet<&EnterpriseId>)> = pool
        .experts
        .iter()
        .map(|x| (x.expert_id.as_bytes(), x.excluded.iter().collect()))
        .collect();
    let picks = pick(rho, b"assign-expert", selected, &candidates, experts_per);
    for (a, chosen) in out.iter_mut().zip(picks) {
        a.short |= chosen.len() < experts_per;
        a.experts = chosen
            .iter()
            .map(|i| pool.experts[*i].expert_id.clone())
            .collect();
    }
    out
}

#[cfg(test)]
#[path = "draw_tests.rs"]
mod tests;
