//! The consensus core's effects performed by the machine: signing state to persist and
//! messages to log and publish become actions; a decided block is committed (execution
//! and the store's batch, `App::commit`), counted and published; the next height is
//! scheduled and started; detected double-signs become evidence transactions.

use super::{admit, Action, NodeMachine, NodeStatus, IDLE_BLOCK_INTERVAL_MS};
use crate::consensus::Effect;
use crate::machine::proposal_gossip;
use crate::wire::Gossip;
use anyhow::Context as _;
use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::to_canonical;
use safeledger_core::evidence::DoubleSign;
use safeledger_core::{Block, Timestamp};
use safeledger_network::Topic;

impl NodeMachine {
    /// Turns the core's effects into actions, in order; commits decided blocks.
    pub(super) fn perform(
        &mut self,
        now: Timestamp,
        fx: Vec<Effect>,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        for e in fx {
            match e {
                Effect::Persist(state) => out.push(Action::Persist(Box::new(state))),
                Effect::BroadcastProposal(p, b) => {
                    let bytes = proposal_gossip(&p, &b, self.ctx.max_gossip_bytes);
                    out.push(Action::Log(Gossip::Proposal(p, Box::new(b))));
                    out.push(Action::Publish(Topic::Consensus, bytes));
                }
                Effect::BroadcastVote(v) => {
                    let msg = Gossip::Vote(v);
                    let bytes = to_canonical(&msg);
                    out.push(Action::Log(msg));
                    out.push(Action::Publish(Topic::Consensus, bytes));
                }
                Effect::ScheduleTimeout(t, ms) => out.push(Action::ScheduleTimeout(t, ms)),
                Effect::Decide(block, cert) => self.commit(now, &block, &cert, out)?,
                Effect::Evidence(e) => {
                    self.ctx.metrics.evidence.inc();
                    tracing::warn!(
                        offender = %e.offender(),
                        height = e.height(),
                        round = e.round(),
                        "double-sign detected"
                    );
                    self.report_evidence(now, &e, out);
                }
            }
        }
        Ok(())
    }

    /// Submits a detected double-sign as a validator-evidence transaction signed with the
    /// node key (validators only; once per offence per process, and not when committed
    /// state holds it already). It enters the mempool and is gossiped like a client's.
    fn report_evidence(&mut self, now: Timestamp, e: &DoubleSign, out: &mut Vec<Action>) {
        let me = self.ctx.node_key;
        if self.app.tip.validators.power_of(&me) == 0 {
            return;
        }
        let slot = (e.offender(), e.slot());
        let recorded = safeledger_contracts::evidence::key(&slot.0, slot.1);
        if !self.reported.insert(slot) || self.app.store.state_get(&recorded).is_some() {
            return;
        }
        let ctx = self.ctx.clone();
        let _own = ctx.own_tx_lock.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.app.next_sequence(&me);
        let Some(tx) = self.app.evidence_tx(e, &self.node_key, seq) else {
            tracing::debug!("evidence against a key outside its height's validator set");
            return;
        };
        self.submit_own(now, vec![tx], "validator evidence", out);
    }

    /// Admits transactions this node signed with its node key (`what` they are, for the
    /// log) into its mempool and gossips them like a client's.
    pub(super) fn submit_own(
        &mut self,
        now: Timestamp,
        txs: Vec<safeledger_core::Transaction>,
        what: &str,
        out: &mut Vec<Action>,
    ) {
        let admitted = admit(&self.ctx, txs, true);
        if admitted.any_new {
            self.on_txs_arrived(now, out);
        }
        for (id, r) in admitted.results {
            match r {
                Ok(_) => tracing::info!(tx = %id, what, "own transaction submitted"),
                Err(err) => tracing::warn!(tx = %id, what, error = %err, "own transaction refused"),
            }
        }
        self.publish_admitted(admitted.gossip, out);
    }

    /// Gossips admitted transactions' batches.
    fn publish_admitted(&mut self, gossip: Vec<Vec<u8>>, out: &mut Vec<Action>) {
        out.extend(
            gossip
                .into_iter()
                .map(|b| Action::Publish(Topic::Transactions, b)),
        );
    }

    pub(super) fn commit(
        &mut self,
        now: Timestamp,
        block: &Block,
        cert: &CommitCertificate,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        let h = block.header.height;
        let preexecuted = self.app.preexecuted;
        let results = self
            .app
            .commit(block, cert)
            .with_context(|| format!("committing block {h}"))?;
        if self.app.preexecuted > preexecuted {
            self.ctx.metrics.blocks_preexecuted.inc();
        }
        self.ctx
            .metrics
            .commit_latency
            .observe(now.0.saturating_sub(self.height_started.0) as f64 / 1_000.0);
        let refused = self.count_results(&results);
        self.private_after_commit(block, &results);
        self.ctx
            .snapshots
            .after_commit(&self.ctx.store, &self.app.tip);
        self.admit_new_validators(out);
        self.take_draw_steps(now, out);
        tracing::info!(
            height = h,
            round = cert.round,
            txs = block.txs.len(),
            refused,
            hash = %block.hash().short(),
            "committed"
        );
        self.publish_status(out);
        let pool_empty = self
            .ctx
            .mempool
            .lock()
            .map(|p| p.is_empty())
            .unwrap_or(true);
        let wait = if pool_empty {
            IDLE_BLOCK_INTERVAL_MS
        } else {
            self.app.genesis.consensus.timeout_commit_ms
        };
        self.schedule_height(now, Timestamp(now.0 + wait), out);
        Ok(())
    }

    /// Counts committed transactions and rule refusals in the metrics; returns refusals.
    pub(super) fn count_results(&self, results: &[safeledger_core::TxResult]) -> usize {
        let m = &self.ctx.metrics;
        m.txs_committed.inc_by(results.len() as u64);
        let mut refused = 0;
        for r in results {
            if let safeledger_core::Outcome::Refused { rule, .. } = &r.outcome {
                refused += 1;
                m.txs_rejected
                    .with_label_values(&[&format!("rule_{rule}")])
                    .inc();
            }
        }
        refused
    }

    pub(super) fn schedule_height(&mut self, now: Timestamp, at: Timestamp, out: &mut Vec<Action>) {
        self.next_height_at = Some(at);
        out.push(Action::NextHeightIn(Some(at.0.saturating_sub(now.0))));
    }

    pub(super) fn start_next_height(
        &mut self,
        now: Timestamp,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        let h = self.app.tip.height + 1;
        if self.core.height() == h && !self.core.decided() {
            return Ok(());
        }
        // Height h - 1 must be durable before this node signs at h or drops its log.
        self.app
            .wait_durable()
            .with_context(|| format!("making height {} durable", h - 1))?;
        // A protocol version this binary does not run: stop before signing at h.
        self.app.check_supported(h)?;
        let vals = self.app.tip.validators.clone();
        self.height_started = now;
        out.push(Action::LogHeight(h));
        let fx = self.core.start_height(h, vals, now, &mut self.app);
        self.perform(now, fx, out)
    }

    pub(super) fn publish_status(&self, out: &mut Vec<Action>) {
        let t = &self.app.tip;
        let m = &self.ctx.metrics;
        m.height.set(t.height as i64);
        if let Ok(pool) = self.ctx.mempool.lock() {
            m.mempool_txs.set(pool.len() as i64);
            m.mempool_bytes.set(pool.bytes() as i64);
        }
        out.push(Action::Status(NodeStatus {
            height: t.height,
            block_hash: t.block_hash,
            state_root: t.state_root,
            block_time: t.block_time,
            committed_txs: t.committed_txs,
        }));
    }
}
