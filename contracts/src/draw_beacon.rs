//! The beacon steps of a draw (deal, reveal, share) and the outcome they complete; see
//! the parent module for the phases.

use super::{refuse, DrawResult, DrawState, Phase, R0_DRAW_BEACON};
use crate::rules::Refusal;
use crate::state::Overlay;
use safeledger_core::beacon;
use safeledger_core::draw as outcome;
use safeledger_core::records::{DrawBeacon, DrawBeaconStep};
use safeledger_core::{PublicKey, Timestamp};

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Commit => "commit",
        Phase::Reveal => "reveal",
        Phase::Recovery => "recovery",
        Phase::Complete => "complete",
        Phase::Failed => "failed (too few dealers)",
    }
}

/// Applies beacon step `tx_id` signed by node key `signer` at block `height` and time
/// `now` (R0-draw-beacon).
pub fn apply_beacon(
    view: &mut Overlay<'_>,
    signer: &PublicKey,
    b: &DrawBeacon,
    tx_id: safeledger_core::TxId,
    (height, now): (u64, Timestamp),
) -> Result<(), Refusal> {
    let Some(mut st) = super::get(view, &b.draw) else {
        return refuse(R0_DRAW_BEACON, format!("draw {} was never opened", b.draw));
    };
    let Some(me) = st.participants.iter().position(|p| p.key == *signer) else {
        return refuse(
            R0_DRAW_BEACON,
            format!("{signer} was not a validator when draw {} opened", b.draw),
        );
    };
    let agency = st.participants[me].agency.clone();
    let phase = st.phase(now);
    let wrong_phase = |step: &str| {
        refuse(
            R0_DRAW_BEACON,
            format!(
                "a {step} is refused in the draw's {} phase",
                phase_name(phase)
            ),
        )
    };
    match &b.step {
        DrawBeaconStep::Deal {
            pool_digest,
            dealing,
        } => {
            if phase != Phase::Commit {
                return wrong_phase("dealing");
            }
            if st.dealings.contains_key(&agency) {
                return refuse(R0_DRAW_BEACON, format!("{agency} dealt already"));
            }
            if *pool_digest != st.pool_digest {
                return refuse(
                    R0_DRAW_BEACON,
                    format!(
                        "pool_digest {pool_digest} is not the pool's {}",
                        st.pool_digest
                    ),
                );
            }
            beacon::verify_dealing(&st.context(signer), &st.recipients(), st.threshold, dealing)
                .map_err(|e| Refusal::new(R0_DRAW_BEACON, format!("dealing: {e}")))?;
            st.dealings.insert(agency, dealing.clone());
            if st.dealings.len() == st.participants.len() {
                st.closed_at = Some(now);
            }
        }
        DrawBeaconStep::Reveal { secret } => {
            if phase != Phase::Reveal {
                return wrong_phase("reveal");
            }
            close(&mut st, now);
            let Some(dealing) = st.dealings.get(&agency) else {
                return refuse(R0_DRAW_BEACON, format!("{agency} did not deal"));
            };
            if st.revealed.contains_key(&agency) {
                return refuse(R0_DRAW_BEACON, format!("{agency} revealed already"));
            }
            let v = beacon::contribution_from_reveal(dealing, secret)
                .map_err(|e| Refusal::new(R0_DRAW_BEACON, format!("secret: {e}")))?;
            st.revealed.insert(agency, v);
        }
        DrawBeaconStep::Share { dealer, share } => {
            if phase != Phase::Recovery {
                return wrong_phase("share");
            }
            close(&mut st, now);
            let (Some(dealing), Some(dealer_key)) = (st.dealings.get(dealer), st.key_of(dealer))
            else {
                return refuse(R0_DRAW_BEACON, format!("dealer {dealer} did not deal"));
            };
            if !st.missing().contains(&dealer) {
                return refuse(
                    R0_DRAW_BEACON,
                    format!("dealer {dealer}'s contribution is known already"),
                );
            }
            let j = me + 1;
            if st.shares.get(dealer).is_some_and(|s| s.contains_key(&j)) {
                return refuse(
                    R0_DRAW_BEACON,
                    format!("{agency} posted its share of {dealer} already"),
                );
            }
            beacon::verify_share(&st.context(&dealer_key), signer, dealing, j, share)
                .map_err(|e| Refusal::new(R0_DRAW_BEACON, format!("share: {e}")))?;
            let shares = st.shares.entry(dealer.clone()).or_default();
            shares.insert(j, share.s);
            if shares.len() >= st.threshold {
                let list: Vec<(usize, beacon::Point)> =
                    shares.iter().map(|(j, s)| (*j, *s)).collect();
                let v = beacon::recover(&list, st.threshold)
                    .map_err(|e| Refusal::new(R0_DRAW_BEACON, format!("recovery: {e}")))?;
                st.recovered.insert(dealer.clone(), v);
            }
        }
    }
    st.steps.push(tx_id);
    if st.closed_at.is_some() && st.missing().is_empty() {
        complete(view, &mut st, height, now);
    }
    view.put(super::key(&st.tx_id), &st);
    Ok(())
}

/// Fixes the close time, the absent validators and, past the reveal window, the
/// withholding dealers.
fn close(st: &mut DrawState, now: Timestamp) {
    if st.closed_at.is_none() {
        st.closed_at = st.close_time(now);
    }
    st.absent = st
        .participants
        .iter()
        .filter(|p| !st.dealings.contains_key(&p.agency))
        .map(|p| p.agency.clone())
        .collect();
    if st.phase(now) == Phase::Recovery {
        st.withheld = st
            .dealings
            .keys()
            .filter(|a| !st.revealed.contains_key(*a))
            .cloned()
            .collect();
    }
}

/// Computes the outcome once every dealer's contribution is known.
fn complete(view: &mut Overlay<'_>, st: &mut DrawState, height: u64, now: Timestamp) {
    let Some(pool) = super::pool(view, &st.tx_id) else {
        return;
    };
    let contributions = st
        .revealed
        .iter()
        .chain(&st.recovered)
        .map(|(a, v)| (a.clone(), *v))
        .collect();
    let rho = outcome::randomness(&st.tx_id, &contributions);
    let selected = outcome::select(&rho, &pool.enterprises, st.open.fraction_permille);
    let assignments = outcome::assign_all(
        &rho,
        &selected,
        &pool,
        usize::from(st.open.inspectors_per_enterprise),
        usize::from(st.open.experts_per_enterprise),
    );
    st.result = Some(DrawResult {
        randomness: rho,
        assignments,
        completed_at: now,
        height,
    });
    let open: Vec<safeledger_core::TxId> = super::running(view)
        .into_iter()
        .filter(|id| *id != st.tx_id)
        .collect();
    view.put(super::OPEN_DRAW_INDEX.to_vec(), &open);
}
