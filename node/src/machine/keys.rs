//! Where a fresh signing key may start signing (ARCHITECTURE.md, "Wiped data directory"):
//! a node key with no stored signing state — a new validator, or a wiped data directory
//! with a kept key — signs nothing until peers holding more than 1/3 of the power (at
//! least one honest) have told it their heights; then nothing at or below the highest
//! report or its own tip (`PrivState::min_sign_height`).

use super::{Action, NodeMachine};
use crate::consensus::Consensus;
use safeledger_core::{PublicKey, Timestamp};
use std::collections::BTreeMap;

/// The heights peers reported while a fresh key waits; `None` once settled (or when the
/// signing state was stored).
pub(super) struct KeySettling {
    awaiting: Option<BTreeMap<PublicKey, u64>>,
}

impl KeySettling {
    pub(super) fn new(fresh_key: bool) -> KeySettling {
        KeySettling {
            awaiting: fresh_key.then(BTreeMap::new),
        }
    }

    /// Records `peer`'s reported height; true when the key still waits (settling may now
    /// be possible).
    pub(super) fn report(&mut self, peer: PublicKey, height: u64) -> bool {
        match self.awaiting.as_mut() {
            Some(reports) => {
                reports.insert(peer, height);
                true
            }
            None => false,
        }
    }
}

impl NodeMachine {
    /// Once the reports hold more than 1/3 of the power: persists the signing state with
    /// `min_sign_height` above the highest report and the tip, and starts the next height
    /// with a core over it.
    pub(super) fn settle_fresh_key(
        &mut self,
        now: Timestamp,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        let Some(reports) = &self.keys.awaiting else {
            return Ok(());
        };
        let vals = &self.app.tip.validators;
        let power: u64 = reports.keys().map(|k| vals.power_of(k)).sum();
        if !vals.is_one_third(power) {
            return Ok(());
        }
        let highest = reports.values().copied().max().unwrap_or(0);
        let min = highest.max(self.app.tip.height) + 1;
        self.keys.awaiting = None;
        let mut guard = self.core.priv_state().clone();
        guard.min_sign_height = min;
        out.push(Action::Persist(Box::new(guard.clone())));
        tracing::info!(
            min_sign_height = min,
            "fresh signing state: peers reported their heights"
        );
        self.core = Consensus::new(
            &self.app.genesis.chain_id,
            self.node_key.clone(),
            self.app.genesis.consensus.clone(),
            self.app.tip.validators.clone(),
            self.app.tip.height + 1,
            guard,
        );
        self.next_height_at = None;
        out.push(Action::NextHeightIn(None));
        self.start_next_height(now, out)
    }
}
