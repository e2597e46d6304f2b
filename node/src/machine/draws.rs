//! The node's part in the inspection draws' beacon (issue 20 item 2; contracts `draw.rs`):
//! after each commit a validator looks at the latest running draws and takes the step its phase
//! asks of it — deal in the commit phase, reveal in the reveal phase, post its decrypted
//! share of each withholding dealer in the recovery phase — signed with its node key and
//! submitted like validator evidence. Secrets are derived from the node key and the draw
//! (`safeledger_core::beacon::deal`), so a restarted node deals and reveals the same
//! values and keeps nothing on disk. A step is re-submitted when it is not on chain
//! [`RETRY_HEIGHTS`] heights after it was sent.
//!
//! Fault injection for tests and drills: when the environment variable
//! [`WITHHOLD_ENV`] names this node's agency, it deals and posts shares but never reveals.

use super::{Action, NodeMachine};
use safeledger_contracts::draw::{self, DrawState, Phase};
use safeledger_core::beacon;
use safeledger_core::records::{DrawBeacon, DrawBeaconStep};
use safeledger_core::{Hash, Timestamp, Transaction, TxBody, TxPayload};

/// The environment variable naming an agency whose node withholds its reveals.
pub const WITHHOLD_ENV: &str = "SAFELEDGER_TEST_WITHHOLD_DRAW_REVEALS";

/// Heights after which an unconfirmed step is sent again.
pub const RETRY_HEIGHTS: u64 = 8;

/// How many of the latest running draws a node follows.
const FOLLOWED_DRAWS: usize = 16;

/// A step sent: (draw, step tag, dealer) → height it was sent at.
pub(super) type Sent = std::collections::BTreeMap<(Hash, u8, String), u64>;

impl NodeMachine {
    /// Takes the steps the latest draws ask of this node (validators only).
    pub(super) fn take_draw_steps(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let me = self.ctx.node_key;
        if self.app.tip.validators.power_of(&me) == 0 {
            return;
        }
        let view = crate::app::StoreView(&self.app.store);
        let ids = draw::running(&view);
        let block_time = self.app.tip.block_time;
        let height = self.app.tip.height;
        let followed: Vec<Hash> = ids.iter().rev().take(FOLLOWED_DRAWS).copied().collect();
        self.draw_sent.retain(|(d, _, _), _| followed.contains(d));
        let mut steps = Vec::new();
        for id in &followed {
            let Some(st) = draw::get(&view, id) else {
                continue;
            };
            steps.extend(self.draw_steps(&st, block_time));
        }
        let ctx = self.ctx.clone();
        let _own = ctx.own_tx_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut txs = Vec::new();
        for (tag, dealer, draw_id, step) in steps {
            let key = (draw_id, tag, dealer);
            if self
                .draw_sent
                .get(&key)
                .is_some_and(|h| height < h + RETRY_HEIGHTS)
            {
                continue;
            }
            self.draw_sent.insert(key, height);
            txs.push(self.beacon_tx(draw_id, step, txs.len() as u64));
        }
        if !txs.is_empty() {
            self.submit_own(now, txs, "draw beacon step", out);
        }
    }

    /// The steps `st` asks of this node at block time `now`: (tag, dealer, draw, step).
    fn draw_steps(
        &self,
        st: &DrawState,
        now: Timestamp,
    ) -> Vec<(u8, String, Hash, DrawBeaconStep)> {
        let me = self.ctx.node_key;
        let Some(pos) = st.participants.iter().position(|p| p.key == me) else {
            return Vec::new();
        };
        let agency = &st.participants[pos].agency;
        let deal = || {
            let keys: Vec<_> = st.participants.iter().map(|p| p.key).collect();
            beacon::deal(
                &self.node_key.to_bytes(),
                &st.context(&me),
                &keys,
                st.threshold,
            )
            .ok()
        };
        match st.phase(now) {
            Phase::Commit if !st.dealings.contains_key(agency) => deal()
                .map(|(dealing, _)| {
                    let step = DrawBeaconStep::Deal {
                        pool_digest: st.pool_digest,
                        dealing,
                    };
                    vec![(0, String::new(), st.tx_id, step)]
                })
                .unwrap_or_default(),
            Phase::Reveal
                if st.dealings.contains_key(agency)
                    && !st.revealed.contains_key(agency)
                    && !withholds(agency) =>
            {
                deal()
                    .map(|(_, secret)| {
                        vec![(
                            1,
                            String::new(),
                            st.tx_id,
                            DrawBeaconStep::Reveal { secret },
                        )]
                    })
                    .unwrap_or_default()
            }
            Phase::Recovery => st
                .missing()
                .into_iter()
                .filter(|d| {
                    !st.shares
                        .get(*d)
                        .is_some_and(|s| s.contains_key(&(pos + 1)))
                })
                .filter_map(|d| {
                    let dealer_key = st.participants.iter().find(|p| &p.agency == d)?.key;
                    let share = beacon::decrypt_share(
                        &self.node_key,
                        &st.context(&dealer_key),
                        st.dealings.get(d)?,
                        pos + 1,
                    )?;
                    let step = DrawBeaconStep::Share {
                        dealer: d.clone(),
                        share,
                    };
                    Some((2, d.clone(), st.tx_id, step))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A beacon step signed with the node key, with the `offset`-th next sequence.
    fn beacon_tx(&self, draw: Hash, step: DrawBeaconStep, offset: u64) -> Transaction {
        use rand::SeedableRng;
        let seq = self.app.next_sequence(&self.ctx.node_key) + offset;
        let seed = safeledger_core::Domain::Transaction.hash_parts(&[
            b"draw beacon salts",
            &draw.0,
            &seq.to_le_bytes(),
            &self.ctx.node_key.0,
        ]);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed.0);
        let body = TxBody::DrawBeacon(DrawBeacon { draw, step });
        let p = TxPayload::new(
            &self.app.genesis.chain_id,
            seq,
            self.app.tip.block_time,
            body,
            &mut rng,
        );
        Transaction::sign(p, &[&self.node_key])
    }
}

/// True when [`WITHHOLD_ENV`] names `agency`.
fn withholds(agency: &str) -> bool {
    std::env::var(WITHHOLD_ENV).is_ok_and(|a| a == agency)
}
