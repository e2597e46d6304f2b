//! What the gRPC service shares with the shell: the machine's [`Context`] and the shell's
//! handles (committed status, round, peers, the network for gossiping admitted
//! transactions, the wake-up of a waiting proposer).

use crate::machine::{Context, NodeStatus};
use crate::mempool::AdmitError;
use safeledger_core::{Hash, Transaction};
use safeledger_network::{NetworkHandle, Topic};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// State shared between the shell and the gRPC service: the machine's [`Context`]
/// (dereferenced to, so `shared.store` reads the context's store) and the shell's handles.
pub struct Shared {
    /// What the machine shares with the API.
    pub ctx: Arc<Context>,
    /// Committed progress; changes wake commit waiters.
    pub status: watch::Receiver<NodeStatus>,
    /// Current round.
    pub round: AtomicU32,
    /// Connected peers.
    pub peers: AtomicU32,
    /// Network handle (for gossiping admitted transactions).
    pub net: NetworkHandle,
    /// Signalled when transactions are admitted.
    pub txs_arrived: Notify,
    /// Enterprise search (an error: why the index could not be opened; searches answer
    /// `UNAVAILABLE` with it).
    pub search: Result<crate::search::Search, String>,
    /// The agencies' inboxes (an error: why they could not be opened; `GetInbox` answers
    /// `UNAVAILABLE` with it).
    pub inbox: Result<crate::inbox::Inbox, String>,
    /// The node key, which signs the tips this node takes in (under
    /// [`Context::own_tx_lock`]).
    pub node_secret: safeledger_core::SecretKey,
    /// Evidence files this node keeps.
    pub evidence: crate::evidence_store::EvidenceStore,
    /// Tips per source address.
    pub tip_limiter: crate::ratelimit::RateLimiter,
}

impl std::ops::Deref for Shared {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Shared {
    /// Admits transactions (in order; [`crate::machine::admit`]) and gossips, to every
    /// validator, those a client submitted (`from_client`) that were new here.
    pub fn admit(
        &self,
        txs: Vec<Transaction>,
        from_client: bool,
    ) -> Vec<(Hash, Result<bool, AdmitError>)> {
        let admitted = crate::machine::admit(&self.ctx, txs, from_client);
        if admitted.any_new {
            self.txs_arrived.notify_one();
        }
        for bytes in admitted.gossip {
            if let Err(e) = self.net.publish(Topic::Transactions, bytes) {
                tracing::debug!(error = %e, "gossip of admitted transactions failed");
            }
        }
        admitted.results
    }

    /// Flushes the store (when the node stops).
    pub(crate) fn store_flush(&self) -> anyhow::Result<()> {
        self.store.flush()?;
        Ok(())
    }
}
