//! R8 (and R5's deadline half): a hazard not rectified by its deadline escalates — every
//! active licence of the enterprise is suspended and the risk level is recomputed (a
//! major hazard past its deadline is red).
//!
//! Deadlines run against the present (DESIGN §5 "Two clocks"): they are judged at block
//! time, at the start of each block, before its transactions. Only *live* deadlines are
//! watched — those later than the block that committed the inspection; a record committed
//! with its deadline already past is history, not an emergency. Deadlines wait in buckets
//! per UTC day (`dlq/<day>`); a cursor (`dlq-cursor`) remembers the last day processed,
//! so each block reads only the days since the previous one.

use super::RuleParams;
use crate::keys;
use crate::model::{EnterpriseState, Escalation, FindingKind, LicenceStatus};
use crate::rules::{assessment, licence};
use crate::state::{read, Overlay};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::time::DAY_MS;
use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// A hazard's rectification deadline being watched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The enterprise.
    pub enterprise: EnterpriseId,
    /// The inspection that found the hazard.
    pub inspection: TxId,
    /// The hazard's code.
    pub code: String,
    /// Its deadline.
    pub due: Timestamp,
}

/// Watches `deadlines` (each must be later than the current block time).
pub fn watch(view: &mut Overlay<'_>, deadlines: Vec<Deadline>) {
    for d in deadlines {
        let key = keys::deadlines(d.due.0 / DAY_MS);
        let mut bucket: Vec<Deadline> = read(view, &key).unwrap_or_default();
        bucket.push(d);
        view.put(key, &bucket);
    }
}

/// Fires every watched deadline before `now` (block `height`'s time): at the deadline
/// itself the report is still on time.
pub fn run(view: &mut Overlay<'_>, height: u64, now: Timestamp, params: &RuleParams) {
    let today = now.0 / DAY_MS;
    let first = read::<u64>(view, keys::DEADLINE_CURSOR).unwrap_or(today);
    for day in first..=today {
        let key = keys::deadlines(day);
        let Some(bucket) = read::<Vec<Deadline>>(view, &key) else {
            continue;
        };
        let (due, later): (Vec<Deadline>, Vec<Deadline>) =
            bucket.into_iter().partition(|d| d.due < now);
        if later.is_empty() {
            view.delete(key);
        } else {
            view.put(key, &later);
        }
        for d in due {
            fire(view, &d, height, now, params);
        }
    }
    if read::<u64>(view, keys::DEADLINE_CURSOR) != Some(today) {
        view.put(keys::DEADLINE_CURSOR.to_vec(), &today);
    }
}

fn fire(view: &mut Overlay<'_>, d: &Deadline, height: u64, now: Timestamp, params: &RuleParams) {
    let key = keys::enterprise(&d.enterprise);
    let Some(mut ent) = read::<EnterpriseState>(view, &key) else {
        return;
    };
    let mut open = false;
    for f in ent.findings.iter_mut() {
        if f.tx_id != d.inspection || !f.standing() {
            continue;
        }
        if let FindingKind::Inspection { hazards, .. } = &mut f.what {
            for h in hazards.iter_mut() {
                if h.code == d.code && h.rectified.is_none() && !h.escalated {
                    h.escalated = true;
                    open = true;
                }
            }
        }
    }
    if !open {
        return;
    }
    let suspended: Vec<String> = ent
        .licences
        .iter()
        .filter(|(_, l)| {
            l.status == LicenceStatus::Active && l.valid_until.is_none_or(|u| u >= now)
        })
        .map(|(number, _)| number.clone())
        .collect();
    for number in &suspended {
        licence::escalate(&mut ent, number, d.inspection, now);
    }
    ent.escalations.push(Escalation {
        height,
        at: now,
        inspection: d.inspection,
        code: d.code.clone(),
        due: d.due,
        suspended,
    });
    assessment::recompute(&mut ent, now, d.inspection, params);
    view.put(key, &ent);
}
