//! Offline verification of a double-random draw (issue 20 item 2; `safeledger audit draw
//! verify`): from views of the opening and of every beacon step (each proven into a
//! certified block, [`crate::view`]), the pool the dealers attested and the claimed
//! outcome, recompute everything the chain computed.
//!
//! Checks, in order, each failure naming its element: every view verifies against the
//! genesis and records an accepted transaction; the first is the draw's opening; the
//! participants are the validator set that certified it (`Verifier::validators_of`: the
//! set of the header after the opening's block, which is the opening height's set unless
//! a validator change took effect exactly there); every step is a beacon step of this
//! draw signed by a participant; every dealing names the pool's digest and verifies; every
//! dealing precedes every reveal and share (the dealers were fixed before any secret was
//! known); every reveal matches its commitment; every share verifies; every dealer's part
//! is revealed or recovered from `t` shares; the randomness, selection, assignment and
//! the withholding dealers equal the claimed ones.

use crate::beacon::{self, Point};
use crate::draw::{self, Assignment, DrawPool};
use crate::genesis::ValidatorSet;
use crate::hash::Hash;
use crate::keys::PublicKey;
use crate::records::{DrawBeacon, DrawBeaconStep, DrawOpen, TxKind};
use crate::result::Outcome;
use crate::view::View;
use crate::view::{Verified, Verifier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` of a draw audit file.
pub const DRAW_AUDIT_FORMAT: &str = "safeledger-draw-audit";
/// Its version.
pub const DRAW_AUDIT_VERSION: u32 = 1;

/// What the chain says a draw came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawOutcome {
    /// The randomness.
    pub randomness: Hash,
    /// Selected enterprises with their inspectors, in selection order.
    pub assignments: Vec<Assignment>,
    /// Dealers that did not reveal (their parts recovered from shares).
    pub withheld: Vec<String>,
}

/// A draw audit file: everything to recompute a draw offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawAudit {
    /// [`DRAW_AUDIT_FORMAT`].
    pub format: String,
    /// [`DRAW_AUDIT_VERSION`].
    pub version: u32,
    /// The draw: its opening transaction's id.
    pub draw: Hash,
    /// The pool (its digest is attested by every dealing).
    pub pool: DrawPool,
    /// Views of the opening and of every accepted beacon step, every field revealed.
    pub views: Vec<View>,
    /// The claimed outcome.
    pub outcome: DrawOutcome,
}

/// A draw that verified.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawVerified {
    /// The opening record.
    pub open: DrawOpen,
    /// Dealers, by agency.
    pub dealers: Vec<String>,
    /// The outcome, recomputed.
    pub outcome: DrawOutcome,
    /// Pool size.
    pub pool_size: usize,
}

fn fail<T>(what: impl Into<String>) -> Result<T, String> {
    Err(what.into())
}

/// The record of a verified view, rebuilt from its revealed fields.
fn record<T: serde::de::DeserializeOwned>(v: &Verified, what: &str) -> Result<T, String> {
    if !v.hidden.is_empty() {
        return fail(format!("{what}: fields {:?} are hidden", v.hidden));
    }
    let mut obj = serde_json::Map::new();
    for (name, value) in &v.revealed {
        if name == "type" {
            continue;
        }
        // Every field of a draw record decodes; null is an absent optional value.
        obj.insert(
            name.clone(),
            value.clone().unwrap_or(serde_json::Value::Null),
        );
    }
    serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| format!("{what}: {e}"))
}

/// Verifies `audit` against `verifier` (a genesis and any trusted checkpoints).
///
/// # Errors
/// The first check that fails, in words naming the element (see the module docs).
pub fn verify(verifier: &Verifier, audit: &DrawAudit) -> Result<DrawVerified, String> {
    if audit.format != DRAW_AUDIT_FORMAT || audit.version != DRAW_AUDIT_VERSION {
        return fail(format!(
            "not a {DRAW_AUDIT_FORMAT} v{DRAW_AUDIT_VERSION} document"
        ));
    }
    let Some(first) = audit.views.first() else {
        return fail("views: the opening's view is missing");
    };
    let mut verified = Vec::with_capacity(audit.views.len());
    for (i, v) in audit.views.iter().enumerate() {
        let ok = verifier.verify(v).map_err(|e| format!("views[{i}]: {e}"))?;
        if ok.outcome != Outcome::Accepted {
            return fail(format!("views[{i}]: transaction {} was refused", ok.tx_id));
        }
        verified.push(ok);
    }
    let open_v = &verified[0];
    if open_v.kind != TxKind::DrawOpen || open_v.tx_id != audit.draw {
        return fail(format!("views[0]: not the opening of draw {}", audit.draw));
    }
    let open: DrawOpen = record(open_v, "views[0]")?;
    let set: ValidatorSet = verifier
        .validators_of(first)
        .map_err(|e| format!("views[0]: {e}"))?;
    let recipients: Vec<PublicKey> = set.validators.iter().map(|v| v.key).collect();
    let agency_of = |k: &PublicKey| set.get(k).map(|v| v.agency.clone());
    let t = beacon::threshold(recipients.len());
    let ctx = |dealer: &PublicKey| [audit.draw.0.as_slice(), &dealer.0].concat();
    let digest = audit.pool.digest();
    let mut dealings: BTreeMap<String, (PublicKey, beacon::Dealing)> = BTreeMap::new();
    let mut revealed: BTreeMap<String, Point> = BTreeMap::new();
    let mut shares: BTreeMap<String, Vec<(usize, Point)>> = BTreeMap::new();
    let mut last_deal = (0u64, 0u32);
    let mut first_open_step: Option<(u64, u32)> = None;
    for (i, v) in verified.iter().enumerate().skip(1) {
        let at = format!("views[{i}]");
        if v.kind != TxKind::DrawBeacon {
            return fail(format!("{at}: not a draw beacon step"));
        }
        let b: DrawBeacon = record(v, &at)?;
        if b.draw != audit.draw {
            return fail(format!("{at}: a step of draw {}", b.draw));
        }
        let signer = v
            .signers
            .first()
            .map(|s| s.0)
            .ok_or(format!("{at}: unsigned"))?;
        let agency = agency_of(&signer)
            .ok_or_else(|| format!("{at}: signed by {signer}, not a validator of the draw"))?;
        let pos = (v.height, v.index);
        match b.step {
            DrawBeaconStep::Deal {
                pool_digest,
                dealing,
            } => {
                if pool_digest != digest {
                    return fail(format!(
                        "{at}: attests pool digest {pool_digest}, the pool's is {digest}"
                    ));
                }
                beacon::verify_dealing(&ctx(&signer), &recipients, t, &dealing)
                    .map_err(|e| format!("{at}: dealing of {agency}: {e}"))?;
                if dealings.insert(agency.clone(), (signer, dealing)).is_some() {
                    return fail(format!("{at}: {agency} dealt twice"));
                }
                last_deal = last_deal.max(pos);
            }
            DrawBeaconStep::Reveal { secret } => {
                first_open_step = Some(first_open_step.map_or(pos, |p| p.min(pos)));
                let (_, d) = dealings
                    .get(&agency)
                    .ok_or_else(|| format!("{at}: {agency} reveals without a dealing"))?;
                let v = beacon::contribution_from_reveal(d, &secret)
                    .map_err(|e| format!("{at}: reveal of {agency}: {e}"))?;
                revealed.insert(agency, v);
            }
            DrawBeaconStep::Share { dealer, share } => {
                first_open_step = Some(first_open_step.map_or(pos, |p| p.min(pos)));
                let (dk, d) = dealings
                    .get(&dealer)
                    .ok_or_else(|| format!("{at}: a share of {dealer}, which did not deal"))?;
                let j = recipients.iter().position(|k| *k == signer).unwrap_or(0) + 1;
                beacon::verify_share(&ctx(dk), &signer, d, j, &share)
                    .map_err(|e| format!("{at}: share of {dealer} by {agency}: {e}"))?;
                shares.entry(dealer).or_default().push((j, share.s));
            }
        }
    }
    if let Some(p) = first_open_step {
        if p < last_deal {
            return fail("a reveal or share precedes a dealing: the dealers were not fixed first");
        }
    }
    if dealings.len() < t {
        return fail(format!("{} dealers, {t} needed", dealings.len()));
    }
    let mut parts = revealed.clone();
    let mut withheld = Vec::new();
    for dealer in dealings.keys() {
        if parts.contains_key(dealer) {
            continue;
        }
        withheld.push(dealer.clone());
        let list = shares.get(dealer).cloned().unwrap_or_default();
        let v = beacon::recover(&list, t)
            .map_err(|e| format!("dealer {dealer} neither revealed nor was recovered: {e}"))?;
        parts.insert(dealer.clone(), v);
    }
    let rho = draw::randomness(&audit.draw, &parts);
    let selected = draw::select(&rho, &audit.pool.enterprises, open.fraction_permille);
    let assignments = draw::assign_all(
        &rho,
        &selected,
        &audit.pool,
        usize::from(open.inspectors_per_enterprise),
        usize::from(open.experts_per_enterprise),
    );
    let outcome = DrawOutcome {
        randomness: rho,
        assignments,
        withheld,
    };
    let claimed = &audit.outcome;
    if claimed.randomness != outcome.randomness {
        return fail(format!(
            "outcome.randomness: claimed {}, recomputed {}",
            claimed.randomness, outcome.randomness
        ));
    }
    if claimed.assignments != outcome.assignments {
        return fail("outcome.assignments differ from the recomputed selection and assignment");
    }
    if claimed.withheld != outcome.withheld {
        return fail(format!(
            "outcome.withheld: claimed {:?}, recomputed {:?}",
            claimed.withheld, outcome.withheld
        ));
    }
    Ok(DrawVerified {
        open,
        dealers: dealings.into_keys().collect(),
        outcome,
        pool_size: audit.pool.enterprises.len(),
    })
}
