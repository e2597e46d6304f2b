//! Replication of granted private values (DESIGN §4 "Private fields"): when a commit
//! grants this node's agency access to fields of a record, the machine fetches their
//! values from the recording agency's node, which serves only granted fields it holds
//! and names the granted fields it erased, so that they are not asked for again. Fetched
//! values are kept only when they match the committed record's withheld leaves.

use super::{Action, NodeMachine, Purpose};
use crate::wire::{SyncRequest, SyncResponse};
use safeledger_core::{Block, Hash, PublicKey, TxBody, TxResult};
use std::collections::BTreeSet;

/// Most granted private records waiting to be fetched.
pub const MAX_PENDING_PRIVATE: usize = 1_024;

/// Granted private values still to fetch: (recording agency, record).
#[derive(Default)]
pub(super) struct Replication {
    pending: BTreeSet<(String, Hash)>,
}

impl Replication {
    /// Stops asking for `record`'s values from `owner`.
    pub(super) fn forget(&mut self, owner: &str, record: &Hash) {
        self.pending.remove(&(owner.to_string(), *record));
    }
}

impl NodeMachine {
    /// The agency whose node key `key` is: in the validator sets of the next two heights
    /// (which follow rotations passed by governance), else in the genesis.
    fn agency_of_node(&self, key: &PublicKey) -> Option<String> {
        let tip = &self.app.tip;
        tip.validators
            .get(key)
            .or_else(|| tip.next_validators.get(key))
            .map(|v| v.agency.clone())
            .or_else(|| {
                let a = self
                    .app
                    .genesis
                    .agencies
                    .iter()
                    .find(|a| a.node_key == *key);
                a.map(|a| a.id.clone())
            })
    }

    /// The current node key of `agency`: its validator in the next height's set, else its
    /// genesis key.
    fn node_of_agency(&self, agency: &str) -> Option<PublicKey> {
        let tip = &self.app.tip;
        tip.validators
            .validators
            .iter()
            .find(|v| v.agency == agency)
            .map(|v| v.key)
            .or_else(|| self.app.genesis.agency(agency).map(|a| a.node_key))
    }

    /// Private values of `record` for the node `peer`: only those fields its agency was
    /// granted on chain, and only when this node holds them (it recorded them). Granted
    /// fields this node erased are never served: when nothing else is left, the answer
    /// names them ([`SyncResponse::PrivateErased`]) so the peer stops asking.
    pub(super) fn serve_private(&self, peer: PublicKey, record: Hash) -> SyncResponse {
        let Some(agency) = self.agency_of_node(&peer) else {
            return SyncResponse::Error("unknown node".into());
        };
        let view = crate::app::StoreView(&self.app.store);
        let (held, erased) = match (
            self.ctx.private.get(&record),
            self.ctx.private.erased(&record),
        ) {
            (Ok(v), Ok(e)) => (v, e),
            (Err(e), _) | (_, Err(e)) => return SyncResponse::Error(e.to_string()),
        };
        let is_granted =
            |name: &str| safeledger_contracts::access::granted(&view, &agency, &record, name);
        let granted: Vec<_> = held.into_iter().filter(|v| is_granted(&v.name)).collect();
        let erased: Vec<String> = erased
            .into_iter()
            .filter(|e| is_granted(&e.name))
            .map(|e| e.name)
            .collect();
        if !erased.is_empty() {
            tracing::info!(%record, to = %agency, fields = ?erased, "granted private values not disclosed: erased here");
        }
        if granted.is_empty() && !erased.is_empty() {
            self.ctx.metrics.private_erased_refusals.inc();
            return SyncResponse::PrivateErased(erased);
        }
        if granted.is_empty() {
            return SyncResponse::Error(format!("{agency} holds no granted access to {record}"));
        }
        tracing::info!(%record, to = %agency, fields = granted.len(), "private values disclosed under a grant");
        SyncResponse::Private(granted)
    }

    /// After a commit: access grants to this node's agency in `block`, and other
    /// agencies' records whose withheld fields the sharing catalogue lets this agency
    /// read, queue a fetch of those values from the recording agency's node.
    pub(super) fn private_after_commit(&mut self, block: &Block, results: &[TxResult]) {
        self.catalogued_after_commit(block, results);
        for (tx, r) in block.txs.iter().zip(results) {
            let TxBody::AccessGrant(g) = &tx.payload.body else {
                continue;
            };
            if !g.approve
                || g.requester != self.ctx.agency
                || r.outcome != safeledger_core::Outcome::Accepted
            {
                continue;
            }
            let view = crate::app::StoreView(&self.app.store);
            if let Some(st) = safeledger_contracts::access::get(&view, &g.requester, &g.request_id)
            {
                // Fields this node erased are not fetched again.
                let erased = self.ctx.private.erased(&st.record).unwrap_or_default();
                if st
                    .fields
                    .iter()
                    .all(|f| erased.iter().any(|e| &e.name == f))
                {
                    tracing::info!(record = %st.record, "granted private fields were erased here: not fetched");
                    continue;
                }
                if self.private.pending.len() < MAX_PENDING_PRIVATE {
                    self.private.pending.insert((st.owner, st.record));
                }
            }
        }
    }

    /// The catalogue's part of [`NodeMachine::private_after_commit`] (issue 20 item 8).
    fn catalogued_after_commit(&mut self, block: &Block, results: &[TxResult]) {
        let view = crate::app::StoreView(&self.app.store);
        let params = safeledger_contracts::RuleParams::load(&view, &Default::default());
        if params.sharing_catalogue.is_empty() {
            return;
        }
        for (tx, r) in block.txs.iter().zip(results) {
            if tx.payload.withheld.is_empty() || r.outcome != safeledger_core::Outcome::Accepted {
                continue;
            }
            let Some(owner) = tx
                .submitter()
                .and_then(|k| self.ctx.registry.officer(&view, k).ok())
                .map(|o| o.agency)
            else {
                continue;
            };
            if owner == self.ctx.agency {
                continue;
            }
            let kind = tx.payload.body.kind();
            let names = safeledger_core::view::field_names(kind);
            let shared = tx.payload.withheld.iter().any(|w| {
                names.get(w.index as usize).is_some_and(|name| {
                    params
                        .shared_with(&owner, kind, name)
                        .is_some_and(|readers| readers.contains(&self.ctx.agency))
                })
            });
            if shared && self.private.pending.len() < MAX_PENDING_PRIVATE {
                self.private.pending.insert((owner, tx.id()));
            }
        }
    }

    /// At start: queues again the granted values this node's agency still lacks — the
    /// queue lives in memory, so a restart between a grant's commit and the fetch would
    /// otherwise lose it for good (found by the machine simulator).
    pub(super) fn resume_private_fetches(&mut self) {
        let view = crate::app::StoreView(&self.app.store);
        for st in safeledger_contracts::access::log(&view, usize::MAX) {
            if st.requester != self.ctx.agency
                || !matches!(
                    st.status,
                    safeledger_contracts::access::AccessStatus::Granted(..)
                )
            {
                continue;
            }
            let held = self.ctx.private.get(&st.record).unwrap_or_default();
            let erased = self.ctx.private.erased(&st.record).unwrap_or_default();
            let missing = st.fields.iter().any(|f| {
                !held.iter().any(|v| &v.name == f) && !erased.iter().any(|e| &e.name == f)
            });
            if missing && self.private.pending.len() < MAX_PENDING_PRIVATE {
                self.private.pending.insert((st.owner, st.record));
            }
        }
    }

    /// Asks the recording agencies' nodes for the queued private values.
    pub(super) fn fetch_private(&mut self, out: &mut Vec<Action>) {
        for (owner, record) in self.private.pending.clone() {
            let Some(node) = self.node_of_agency(&owner) else {
                self.private.forget(&owner, &record);
                continue;
            };
            out.push(Action::Request {
                peer: node,
                request: SyncRequest::Private { record },
                purpose: Purpose::Private { owner, record },
            });
        }
    }

    /// Keeps fetched private values that match the committed record's withheld leaves.
    pub(super) fn keep_private(
        &mut self,
        owner: String,
        record: Hash,
        values: Vec<safeledger_core::private::PrivateValue>,
    ) {
        let Ok(Some((h, i))) = self.app.store.tx_location(&record) else {
            return;
        };
        let Some(tx) = self
            .app
            .store
            .block(h)
            .ok()
            .flatten()
            .and_then(|b| b.txs.get(i as usize).cloned())
        else {
            return;
        };
        // Values of fields this node erased are not kept again, nor asked for again.
        let erased = self.ctx.private.erased(&record).unwrap_or_default();
        let (dropped, values): (Vec<_>, Vec<_>) = values
            .into_iter()
            .partition(|v| erased.iter().any(|e| e.index == v.index));
        let good: Vec<_> = values
            .into_iter()
            .filter(|v| tx.payload.check_private(v).is_ok())
            .collect();
        if good.is_empty() && !dropped.is_empty() {
            tracing::info!(%record, %owner, "granted private values of fields erased here dropped");
            self.private.forget(&owner, &record);
            return;
        }
        if good.is_empty() {
            tracing::warn!(%record, %owner, "private values that do not match the record refused");
            return;
        }
        match self.ctx.private.put(&record, &good) {
            Ok(()) => {
                tracing::info!(%record, from = %owner, fields = good.len(), "granted private values received");
                self.private.forget(&owner, &record);
            }
            Err(e) => tracing::warn!(error = %e, "keeping private values failed"),
        }
    }
}
