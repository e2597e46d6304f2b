//! Blacklist entries and removals recorded by an agency (DESIGN §5 "blacklist entry and
//! removal"; R4: "listed 3 years; removal may be requested after 12 months").
//!
//! An entry lists the enterprise from its effective date for
//! [`RuleParams::blacklist_months`]. A removal ends the listings active at its effective
//! date, and R4-blacklist-removal refuses it before
//! [`RuleParams::blacklist_removal_after_months`] have passed since a listing began.
//! Removing when nothing is listed is refused (R0-reference).

use super::{when, RecordContext, Refusal, RuleParams, R0_REFERENCE, R4_BLACKLIST_REMOVAL};
use crate::model::EnterpriseState;
use crate::rules::findings::list;
use safeledger_core::records::{BlacklistAction, BlacklistActionKind};

/// Applies an entry or removal.
pub fn apply(
    ent: &mut EnterpriseState,
    a: &BlacklistAction,
    rc: &RecordContext<'_>,
    params: &RuleParams,
) -> Result<(), Refusal> {
    let t = rc.effective_at;
    match a.action {
        BlacklistActionKind::Enter => {
            list(ent, rc, params, a.reason.clone());
            Ok(())
        }
        BlacklistActionKind::Remove => {
            let active: Vec<usize> = (0..ent.listings.len())
                .filter(|&i| ent.listings[i].active_at(t))
                .collect();
            if active.is_empty() {
                return Err(Refusal::new(
                    R0_REFERENCE,
                    format!("enterprise {} is not blacklisted on {}", ent.id, when(t)),
                ));
            }
            for &i in &active {
                let l = &ent.listings[i];
                if t < l.removable_from {
                    return Err(Refusal::new(
                        R4_BLACKLIST_REMOVAL,
                        format!(
                            "enterprise {} was listed on {} by tx {}; removal may be requested \
                             from {} (blacklist_removal_after_months = {}), not on {}",
                            ent.id,
                            when(l.from),
                            l.tx_id,
                            when(l.removable_from),
                            params.blacklist_removal_after_months,
                            when(t)
                        ),
                    ));
                }
            }
            for i in active {
                ent.listings[i].removed = Some((rc.tx_id, t));
            }
            Ok(())
        }
    }
}
