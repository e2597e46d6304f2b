//! The "double random" inspection draw's records (issue 20 item 2): an agency opens a
//! month's draw ([`DrawOpen`], signed by an officer); every validator's node then deals,
//! reveals and, for a dealer that withholds, decrypts its share of that dealer's secret
//! ([`DrawBeacon`], signed by the node key; [`crate::beacon`]). The selection and the
//! assignment follow from the pool and the contributions ([`crate::draw`]).

use super::{bounds, FieldError};
use crate::beacon::{Dealing, DecryptedShare, ScalarBytes};
use crate::hash::Hash;
use crate::ids::EnterpriseId;
use crate::keys::PublicKey;
use serde::{Deserialize, Serialize};

/// Least fraction of the pool a draw selects, per mille (the regulator's text: at least
/// 10 % of enterprises a month).
pub const MIN_DRAW_PERMILLE: u16 = 100;

/// Bounds of a draw's commit and reveal windows, seconds.
pub const DRAW_WINDOW_SECS: std::ops::RangeInclusive<u32> = 10..=7 * 24 * 3600;

/// Most inspectors a draw's pool may name.
pub const MAX_DRAW_INSPECTORS: usize = 256;

/// Risk levels a pool may be restricted to, lowest first (the rules' risk levels).
pub const RISK_LEVELS: [&str; 4] = ["green", "yellow", "orange", "red"];

/// An inspector (an officer, by key) in a draw's pool, with the enterprises it declared a
/// conflict of interest with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawInspector {
    /// The officer's key.
    pub officer: PublicKey,
    /// Enterprises the officer declared a conflict of interest with (never assigned).
    #[serde(default)]
    pub conflicts: Vec<EnterpriseId>,
}

/// A registered third-party expert a draw may assign ([`DrawOpen::experts`]) and the
/// enterprises it declared a conflict of interest with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawExpert {
    /// The expert's id, as registered (`assessor_action` `register_expert`).
    pub expert_id: String,
    /// Enterprises the expert declared a conflict of interest with (never assigned).
    #[serde(default)]
    pub conflicts: Vec<EnterpriseId>,
}

/// Opens a month's double-random draw: the chain computes the pool of enterprises (those
/// the supervising agency has recorded, restricted by industry and risk level), the
/// validators' beacon draws the randomness, and the selection and assignment follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawOpen {
    /// The opening agency's id of the draw (unique per agency).
    pub draw_id: String,
    /// The month inspected, `YYYY-MM`.
    pub month: String,
    /// Enterprises this agency has recorded form the pool (usually the opening agency).
    pub pool_agency: String,
    /// Only enterprises holding a licence whose industry code starts with this.
    #[serde(default)]
    pub industry: Option<String>,
    /// Only enterprises at these risk levels ([`RISK_LEVELS`]); empty = every level.
    #[serde(default)]
    pub risk_levels: Vec<String>,
    /// Fraction of the pool selected, per mille ([`MIN_DRAW_PERMILLE`]..=1000); at least
    /// one enterprise is selected.
    pub fraction_permille: u16,
    /// The inspectors the draw assigns from.
    pub inspectors: Vec<DrawInspector>,
    /// Inspectors assigned to each selected enterprise (1–4; two officers is the rule
    /// for an inspection in person).
    pub inspectors_per_enterprise: u8,
    /// Registered third-party experts the draw also assigns from ("inspectors or
    /// third-party experts"); empty: none.
    #[serde(default)]
    pub experts: Vec<DrawExpert>,
    /// Experts assigned to each selected enterprise: 0 without experts, else 1–4.
    #[serde(default)]
    pub experts_per_enterprise: u8,
    /// Seconds after the opening within which validators deal ([`DRAW_WINDOW_SECS`]);
    /// the commit phase also closes when every validator has dealt.
    pub commit_window_secs: u32,
    /// Seconds after the commit phase closes within which dealers reveal; after it, the
    /// other validators recover a withheld secret from their shares.
    pub reveal_window_secs: u32,
}

/// One step of a validator's part in a draw's beacon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum DrawBeaconStep {
    /// The node's dealing (commit phase), for the pool with this digest.
    Deal {
        /// [`crate::draw::DrawPool::digest`] of the pool the chain computed at opening:
        /// each dealer attests it.
        pool_digest: Hash,
        /// The dealing.
        dealing: Dealing,
    },
    /// The node's secret `a₀` (reveal phase).
    Reveal {
        /// The secret.
        secret: ScalarBytes,
    },
    /// The node's decrypted share of a dealer that did not reveal (after the reveal
    /// window).
    Share {
        /// The withholding dealer's agency.
        dealer: String,
        /// The share with its proof.
        share: DecryptedShare,
    },
}

/// A validator node's step in a draw, signed by its node key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawBeacon {
    /// The draw: its opening transaction's id.
    pub draw: Hash,
    /// The step.
    pub step: DrawBeaconStep,
}

fn bad(field: &'static str, why: impl Into<String>) -> Result<(), FieldError> {
    Err(FieldError {
        field,
        why: why.into(),
    })
}

/// `YYYY-MM` with a month 01–12.
pub fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(s[5..].parse::<u8>(), Ok(1..=12))
}

/// The stateless bounds of a draw's opening (each error names the field).
pub(super) fn check_open(r: &DrawOpen) -> Result<(), FieldError> {
    bounds::local_id("draw_id", &r.draw_id)?;
    if !is_month(&r.month) {
        return bad("month", format!("{:?} is not YYYY-MM", r.month));
    }
    if !bounds::is_agency_id(&r.pool_agency) {
        return bad(
            "pool_agency",
            format!("{:?} is not an agency id", r.pool_agency),
        );
    }
    if let Some(i) = &r.industry {
        bounds::nonempty("industry", i)?;
    }
    bounds::list("risk_levels", &r.risk_levels)?;
    if let Some(l) = r
        .risk_levels
        .iter()
        .find(|l| !RISK_LEVELS.contains(&l.as_str()))
    {
        return bad(
            "risk_levels",
            format!("{l:?} is not one of {}", RISK_LEVELS.join(", ")),
        );
    }
    if !(MIN_DRAW_PERMILLE..=1000).contains(&r.fraction_permille) {
        return bad(
            "fraction_permille",
            format!(
                "{} is outside {MIN_DRAW_PERMILLE}..=1000 (at least 10 % of the pool, at most all of it)",
                r.fraction_permille
            ),
        );
    }
    if r.inspectors.is_empty() || r.inspectors.len() > MAX_DRAW_INSPECTORS {
        return bad(
            "inspectors",
            format!(
                "{} inspectors: a draw assigns from 1 to {MAX_DRAW_INSPECTORS}",
                r.inspectors.len()
            ),
        );
    }
    for (i, insp) in r.inspectors.iter().enumerate() {
        if r.inspectors[..i].iter().any(|o| o.officer == insp.officer) {
            return bad("inspectors", format!("{} is named twice", insp.officer));
        }
        bounds::list("inspectors", &insp.conflicts)?;
    }
    if !(1..=4).contains(&r.inspectors_per_enterprise) {
        return bad("inspectors_per_enterprise", "is outside 1..=4");
    }
    if r.experts.len() > MAX_DRAW_INSPECTORS {
        return bad(
            "experts",
            format!(
                "{} experts: a draw assigns from at most {MAX_DRAW_INSPECTORS}",
                r.experts.len()
            ),
        );
    }
    for (i, x) in r.experts.iter().enumerate() {
        bounds::local_id("experts", &x.expert_id)?;
        if r.experts[..i].iter().any(|o| o.expert_id == x.expert_id) {
            return bad("experts", format!("{:?} is named twice", x.expert_id));
        }
        bounds::list("experts", &x.conflicts)?;
    }
    let per_ok = if r.experts.is_empty() {
        r.experts_per_enterprise == 0
    } else {
        (1..=4).contains(&r.experts_per_enterprise)
    };
    if !per_ok {
        return bad(
            "experts_per_enterprise",
            "is 0 without experts and 1..=4 with them",
        );
    }
    for (field, v) in [
        ("commit_window_secs", r.commit_window_secs),
        ("reveal_window_secs", r.reveal_window_secs),
    ] {
        if !DRAW_WINDOW_SECS.contains(&v) {
            return bad(
                field,
                format!(
                    "{v} s is outside {}..={} s",
                    DRAW_WINDOW_SECS.start(),
                    DRAW_WINDOW_SECS.end()
                ),
            );
        }
    }
    Ok(())
}

/// The stateless bounds of a beacon step: list sizes (proofs are checked at execution).
pub(super) fn check_beacon(r: &DrawBeacon) -> Result<(), FieldError> {
    match &r.step {
        DrawBeaconStep::Deal { dealing, .. } => {
            let max = crate::beacon::MAX_RECIPIENTS;
            if dealing.commitments.len() > max || dealing.shares.len() > max {
                return bad("dealing", format!("more than {max} commitments or shares"));
            }
            Ok(())
        }
        DrawBeaconStep::Reveal { .. } => Ok(()),
        DrawBeaconStep::Share { dealer, .. } => {
            if bounds::is_agency_id(dealer) {
                Ok(())
            } else {
                bad("dealer", format!("{dealer:?} is not an agency id"))
            }
        }
    }
}
