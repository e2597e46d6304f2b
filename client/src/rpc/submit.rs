//! Submitting transactions and waiting until they commit (DESIGN §3 "Submission
//! semantics"): each node is given a transaction once, the client moves on to a node that
//! does not hold it after a wait without progress, and offers it to a node again only after
//! a failed connection, a full mempool, or [`STALL_BEFORE_REOFFER`] with every node holding
//! it and nothing committed.

use super::{ClientError, Committed, LedgerClient, Refusal};
use safeledger_core::{Transaction, TxId};
use std::time::Duration;

/// How long one `AwaitCommit` of [`LedgerClient::submit_and_wait`] waits.
pub const AWAIT_ROUND: Duration = Duration::from_secs(5);
/// How long every node may hold pending transactions without committing any before the
/// current node is offered them again (it may have restarted, or evicted them, unseen).
pub const STALL_BEFORE_REOFFER: Duration = Duration::from_secs(15);

/// Which transactions each endpoint admitted: endpoint URL → ids.
pub type Held = std::collections::BTreeMap<String, std::collections::BTreeSet<TxId>>;

/// What became of submitted transactions.
#[derive(Clone, Debug, Default)]
pub struct SubmitOutcome {
    /// Committed, in input order.
    pub committed: Vec<Committed>,
    /// Refused at admission for good: (id, refusal), in input order.
    pub refused: Vec<(TxId, Refusal)>,
}

impl LedgerClient {
    /// Submits `txs` and waits until every one is committed, failing over to the next node
    /// when one stops answering, until `deadline` passes. Returns results in input order.
    /// Each node is given the transactions once: they are resubmitted only to another node
    /// (after a wait without progress, or a failed connection), and to a node again only
    /// after a connection to it failed, its mempool was full, or every node has held them
    /// for [`STALL_BEFORE_REOFFER`] with nothing committed (it may have restarted with an
    /// empty mempool unseen).
    /// A transaction the nodes refuse for good (bad signature, stale sequence, ...) is an
    /// error; see [`LedgerClient::submit_and_wait_detailed`] to handle those.
    pub async fn submit_and_wait(
        &mut self,
        txs: &[Transaction],
        deadline: Duration,
    ) -> Result<Vec<Committed>, ClientError> {
        let out = self.submit_and_wait_detailed(txs, deadline).await?;
        if let Some((id, why)) = out.refused.first() {
            return Err(ClientError::Refused(*id, why.clone()));
        }
        Ok(out.committed)
    }

    /// Like [`LedgerClient::submit_and_wait`], but transactions refused at admission for
    /// good (anything but a full mempool) are returned in `refused` instead of waited for.
    pub async fn submit_and_wait_detailed(
        &mut self,
        txs: &[Transaction],
        deadline: Duration,
    ) -> Result<SubmitOutcome, ClientError> {
        self.wait_submitted(txs, deadline, Held::new()).await
    }

    /// [`LedgerClient::submit_and_wait_detailed`] for transactions some nodes already
    /// admitted: `held` maps an endpoint to the ids it admitted, which are not offered to
    /// it again.
    pub async fn wait_submitted(
        &mut self,
        txs: &[Transaction],
        deadline: Duration,
        held: Held,
    ) -> Result<SubmitOutcome, ClientError> {
        use std::collections::BTreeMap;
        let start = std::time::Instant::now();
        let ids: Vec<TxId> = txs.iter().map(Transaction::id).collect();
        let mut done: BTreeMap<TxId, Committed> = Default::default();
        let mut refused: BTreeMap<TxId, Refusal> = Default::default();
        // What each endpoint admitted (since its last failed connection). A transaction
        // that met a full mempool is not held there, so it is offered again after a wait.
        let mut given = held;
        // Since when every node holds the pending transactions and none commits them.
        let mut stalled_since: Option<std::time::Instant> = None;
        while done.len() + refused.len() < ids.len() {
            if start.elapsed() > deadline {
                return Err(ClientError::Timeout(ids.len() - done.len() - refused.len()));
            }
            let pending: Vec<(&Transaction, TxId)> = txs
                .iter()
                .zip(ids.iter().copied())
                .filter(|(_, id)| !done.contains_key(id) && !refused.contains_key(id))
                .collect();
            let held = given.get(self.endpoint());
            let offer: Vec<Transaction> = pending
                .iter()
                .filter(|(_, id)| !held.is_some_and(|h| h.contains(id)))
                .map(|(t, _)| (*t).clone())
                .collect();
            if !offer.is_empty() {
                match self.submit(&offer).await {
                    Ok(admissions) => {
                        // `submit` may have failed over on its own: note who answered.
                        let held = given.entry(self.endpoint().to_string()).or_default();
                        for (tx, a) in offer.iter().zip(&admissions) {
                            if let Some(r) = Refusal::of(a) {
                                refused.insert(tx.id(), r);
                            } else if a.admitted || a.already_committed {
                                held.insert(tx.id());
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, endpoint = self.endpoint(), "submit failed; failing over");
                        given.remove(self.endpoint());
                        self.fail_over();
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
            }
            let pending_ids: Vec<TxId> = pending
                .iter()
                .map(|(_, id)| *id)
                .filter(|id| !refused.contains_key(id))
                .collect();
            if pending_ids.is_empty() {
                continue;
            }
            let asked = std::time::Instant::now();
            match self.await_commit(&pending_ids, AWAIT_ROUND).await {
                Ok(c) if c.is_empty() => {
                    // Nothing committed in a while: hand the transactions to a node that
                    // does not hold them all yet, if there is one; else wait here.
                    let holds_all = |ep: &str| {
                        given
                            .get(ep)
                            .is_some_and(|h| pending_ids.iter().all(|id| h.contains(id)))
                    };
                    if self.fail_over_to(|ep| !holds_all(ep)) {
                        stalled_since = None;
                    } else if stalled_since.get_or_insert(asked).elapsed() > STALL_BEFORE_REOFFER {
                        // Every node was given them and none commits: this one may have
                        // restarted or evicted them unseen. Offer them to it again.
                        given.remove(self.endpoint());
                        stalled_since = None;
                    }
                    // A node answers an unfinished wait at its end; do not spin on one
                    // that answers at once.
                    if asked.elapsed() < AWAIT_ROUND / 2 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                Ok(c) => {
                    stalled_since = None;
                    for x in c {
                        done.insert(x.tx_id, x);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, endpoint = self.endpoint(), "await failed; failing over");
                    given.remove(self.endpoint());
                    self.fail_over();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        Ok(SubmitOutcome {
            committed: ids.iter().filter_map(|id| done.remove(id)).collect(),
            refused: ids
                .iter()
                .filter_map(|id| refused.remove(id).map(|e| (*id, e)))
                .collect(),
        })
    }

    /// Moves to the next endpoint after the current one that `wanted` accepts; stays put
    /// when none does. True when it moved.
    fn fail_over_to(&mut self, wanted: impl Fn(&str) -> bool) -> bool {
        let n = self.endpoints.len();
        match (1..n)
            .map(|k| (self.current + k) % n)
            .find(|i| wanted(&self.endpoints[*i]))
        {
            Some(i) => {
                self.raw = None;
                self.current = i;
                true
            }
            None => false,
        }
    }
}
