//! Admission: the stateless checks (all signatures of a batch as one batch, outside the
//! pool's lock), the signer's registration and sequence, and the mempool, for
//! transactions from clients (gRPC `SubmitBatch`), from peers (gossip) and this node's
//! own evidence. What a client submitted and was new here is returned as gossip batches
//! for the caller to publish, each under the gossip limit.

use super::Context;
use crate::mempool::{AdmitError, Encoded};
use crate::wire::Gossip;
use safeledger_core::encoding::to_canonical;
use safeledger_core::tx::TxError;
use safeledger_core::{Hash, PublicKey, Transaction};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Bytes kept free for the batch framing when transactions are split for gossip.
pub const GOSSIP_BATCH_SLACK: usize = 1_024;

/// What [`admit`] decided.
#[derive(Debug, Default)]
pub struct Admitted {
    /// Per transaction, in input order: its id and whether it was new here (`Ok(true)`),
    /// already held (`Ok(false)`) or refused.
    pub results: Vec<(Hash, Result<bool, AdmitError>)>,
    /// True when at least one transaction was new here.
    pub any_new: bool,
    /// Gossip messages (`Gossip::Txs`, canonical bytes) of the client transactions that
    /// were new here, to publish on the transactions topic.
    pub gossip: Vec<Vec<u8>>,
}

/// Admits transactions (in order). Those submitted by a client (`from_client`) that were
/// new here come back as gossip batches, to be sent to every validator; those that came
/// by gossip are not re-published (their author sent them to every validator).
pub fn admit(ctx: &Context, txs: Vec<Transaction>, from_client: bool) -> Admitted {
    let view = crate::app::StoreView(&ctx.store);
    // Validator evidence and draw beacon steps are signed by a node key: admitted from
    // the validators of the next two heights only (execution checks the key
    // deterministically). The tip is read only for a batch that holds such a transaction,
    // not for every client batch.
    let has_evidence = txs.iter().any(|t| t.payload.body.is_node_signed());
    let node_keys: BTreeSet<PublicKey> = match has_evidence.then(|| ctx.store.tip()) {
        Some(Ok(Some(t))) => t
            .validators
            .validators
            .iter()
            .chain(&t.next_validators.validators)
            .map(|v| v.key)
            .collect(),
        _ => BTreeSet::new(),
    };
    let mut out = Admitted::default();
    let mut fresh = Vec::new();
    // Stateless checks outside the pool's lock, all signatures as one batch, for the
    // transactions neither held nor verified here already (exact bytes).
    let chain = &ctx.genesis.chain_id;
    let encoded: Vec<Encoded> = txs.iter().map(Encoded::of).collect();
    let unchecked: Vec<usize> = {
        let pool = ctx.mempool.lock().unwrap_or_else(|e| e.into_inner());
        (0..txs.len())
            .filter(|i| !pool.contains(&encoded[*i].id) && !pool.is_verified(&encoded[*i].key))
            .collect()
    };
    let refs: Vec<&Transaction> = unchecked.iter().map(|i| &txs[*i]).collect();
    let mut stateless: Vec<Option<Result<(), TxError>>> = vec![None; txs.len()];
    for (i, r) in unchecked
        .iter()
        .zip(crate::app::check_stateless_all(&refs, chain))
    {
        stateless[*i] = Some(r);
    }
    // A batch's transactions come from few signers: each signer's registration and
    // last sequence is read from the store once per batch.
    let known_memo: RefCell<BTreeMap<PublicKey, bool>> = RefCell::default();
    let seq_memo: RefCell<BTreeMap<PublicKey, u64>> = RefCell::default();
    // (node-signed, monitor-signed)
    let known = |k: &PublicKey, (node, monitor): (bool, bool)| {
        if node {
            return node_keys.contains(k);
        }
        if monitor {
            // A gateway's or an enterprise's key: registered on chain (execution checks
            // which enterprise and role).
            return safeledger_contracts::monitoring::key(&view, k).is_some();
        }
        *known_memo
            .borrow_mut()
            .entry(*k)
            .or_insert_with(|| ctx.registry.officer(&view, k).is_ok())
    };
    let last_seq = |k: &PublicKey| {
        *seq_memo
            .borrow_mut()
            .entry(*k)
            .or_insert_with(|| safeledger_contracts::last_sequence(&view, k))
    };
    {
        let mut pool = ctx.mempool.lock().unwrap_or_else(|e| e.into_inner());
        for ((tx, checked), enc) in txs.into_iter().zip(stateless).zip(encoded) {
            // Client transactions are gossiped after admission: keep a copy (with its
            // encoded size, for batching).
            let copy = from_client.then(|| (tx.clone(), enc.size));
            let class = (
                tx.payload.body.is_node_signed(),
                tx.payload.body.is_monitor_signed(),
            );
            let r = pool.admit_encoded(
                tx,
                enc,
                chain,
                checked,
                |k| known(k, class),
                last_seq,
                |id| matches!(ctx.store.tx_location(id), Ok(Some(_))),
            );
            match &r {
                Ok(true) => {
                    out.any_new = true;
                    fresh.extend(copy);
                }
                Ok(false) => {}
                Err(e) => ctx
                    .metrics
                    .txs_rejected
                    .with_label_values(&[e.kind()])
                    .inc(),
            }
            out.results.push((enc.id, r));
        }
    }
    if !fresh.is_empty() {
        out.gossip = gossip_batches(fresh, ctx.max_gossip_bytes);
    }
    out
}

/// `Gossip::Txs` messages of `txs` (each with its encoded size), in order, each under
/// `max_gossip_bytes` less [`GOSSIP_BATCH_SLACK`] (a transaction is far smaller).
fn gossip_batches(txs: Vec<(Transaction, usize)>, max_gossip_bytes: usize) -> Vec<Vec<u8>> {
    let limit = max_gossip_bytes.saturating_sub(GOSSIP_BATCH_SLACK);
    let mut batch: Vec<Transaction> = Vec::new();
    let mut bytes = 0;
    let mut batches = Vec::new();
    for (tx, size) in txs {
        if !batch.is_empty() && bytes + size > limit {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += size;
        batch.push(tx);
    }
    batches.push(batch);
    batches
        .into_iter()
        .map(|b| to_canonical(&Gossip::Txs(b)))
        .collect()
}
