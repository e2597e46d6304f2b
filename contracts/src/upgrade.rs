//! Protocol upgrades at a height (issue 22 item 7): governance passes "version v from height
//! h" ([`GovernanceAction::ScheduleUpgrade`]); from block h on, headers carry version v and
//! the rule parameters the upgrade names take their new values at the start of block h.
//!
//! The schedule is state (`upgrades`, [`keys::UPGRADES`]): every node reads the version a
//! height must carry from it ([`version_at`]), checks it in `valid(v)`, and a node whose
//! binary does not support it stops before signing at h (the node's side).
//!
//! [`GovernanceAction::ScheduleUpgrade`]: safeledger_core::records::GovernanceAction::ScheduleUpgrade

use crate::keys;
use crate::rules::RuleParams;
use crate::state::{read, Overlay, StateRead};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol version of a chain before any upgrade: the header version of genesis.
pub const GENESIS_VERSION: u32 = safeledger_core::block::HEADER_VERSION;

/// The furthest ahead of its passing an upgrade may be scheduled, in heights (a year and
/// a half at a block a second): a mistyped height cannot block upgrades for good.
pub const MAX_UPGRADE_LEAD: u64 = 50_000_000;

/// One scheduled upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    /// The version.
    pub version: u32,
    /// Its first block.
    pub height: u64,
    /// Rule parameters set at the start of that block.
    pub rule_params: BTreeMap<String, String>,
    /// The proposal that passed it.
    pub proposal: String,
    /// The height at which it passed.
    pub passed_height: u64,
}

/// The schedule, in height (and version) order.
pub fn schedule(state: &dyn StateRead) -> Vec<Upgrade> {
    read(state, keys::UPGRADES).unwrap_or_default()
}

/// The protocol version block `height` must carry.
pub fn version_at(state: &dyn StateRead, height: u64) -> u32 {
    upgrade_at(&schedule(state), height).map_or(GENESIS_VERSION, |u| u.version)
}

/// The latest upgrade in effect at `height`.
pub fn upgrade_at(schedule: &[Upgrade], height: u64) -> Option<&Upgrade> {
    schedule.iter().rev().find(|u| u.height <= height)
}

/// The schedule without its last upgrade when that one is still pending at block `now` and
/// is for `version`: a proposal for the same version reschedules it.
fn base(schedule: &[Upgrade], version: u32, now: u64) -> &[Upgrade] {
    match schedule.split_last() {
        Some((last, rest)) if last.version == version && last.height > now => rest,
        _ => schedule,
    }
}

/// Checks a proposed upgrade against the schedule, at block `now`: the version is the next
/// one (the latest in the schedule + 1, or the same as a pending last one, which it
/// reschedules), the height at least two after `now`, after the previous upgrade's and at
/// most [`MAX_UPGRADE_LEAD`] ahead, and the parameters valid.
pub(crate) fn validate(
    state: &dyn StateRead,
    params: &RuleParams,
    version: u32,
    height: u64,
    rule_params: &BTreeMap<String, String>,
    now: u64,
) -> Result<(), String> {
    let s = schedule(state);
    let base = base(&s, version, now);
    let (last_version, last_height) = base
        .last()
        .map_or((GENESIS_VERSION, 0), |u| (u.version, u.height));
    if u64::from(version) != u64::from(last_version) + 1 {
        return Err(format!(
            "version {version}: the next protocol version is {} (versions go one at a time; \
             a pending upgrade is rescheduled by proposing its version again)",
            u64::from(last_version) + 1
        ));
    }
    if height < now.saturating_add(2) {
        return Err(format!(
            "height {height} is not at least two heights after this block ({now})"
        ));
    }
    if height <= last_height {
        return Err(format!(
            "height {height} is not after version {last_version}'s first height ({last_height})"
        ));
    }
    if height > now.saturating_add(MAX_UPGRADE_LEAD) {
        return Err(format!(
            "height {height} is more than {MAX_UPGRADE_LEAD} heights after this block ({now})"
        ));
    }
    let mut p = params.clone();
    for (name, value) in rule_params {
        p.set(name, value).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Adds a passed upgrade to the schedule (replacing a pending one of its version).
pub(crate) fn add(view: &mut Overlay<'_>, upgrade: Upgrade) {
    let s = schedule(view);
    let mut s = base(&s, upgrade.version, upgrade.passed_height).to_vec();
    s.push(upgrade);
    view.put(keys::UPGRADES.to_vec(), &s);
}

/// At the start of block `height`: the rule parameters of an upgrade taking effect at it.
pub(crate) fn run(view: &mut Overlay<'_>, height: u64, params: &RuleParams) {
    let s = schedule(view);
    let Some(u) = s.iter().find(|u| u.height == height) else {
        return;
    };
    if u.rule_params.is_empty() {
        return;
    }
    let mut p = params.clone();
    for (name, value) in &u.rule_params {
        // Validated when proposed and when passed against the parameters of then; a value
        // that no longer applies is skipped alike on every node.
        let _ = p.set(name, value);
    }
    view.put(keys::PARAMS.to_vec(), &p);
}
