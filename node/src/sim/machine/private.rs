//! The private-value scenario of a machine run: agency `recorder` commits an enterprise
//! record with its address withheld (the value goes only to its own node, as
//! `StorePrivate` does), agency `requester` asks for the field on chain, the recorder
//! grants it, and the requester's node must then fetch the value from the recorder's node
//! — and no other node may ever hold it, or be served it when it asks.
//!
//! Each step is submitted once the previous one is committed where it is needed, and
//! submitted again (idempotent by id) while it is not committed.

use super::{MachineWorld, Violation};
use crate::wire::{SyncRequest, SyncResponse};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{AccessGrant, AccessRequest, EnterpriseRecord, TxBody};
use safeledger_core::{Outcome, Timestamp, Transaction, TxId, TxPayload};

/// Where the flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Nothing submitted yet.
    Start,
    /// The withheld record is submitted.
    Recorded,
    /// The access request is submitted.
    Requested,
    /// The grant is submitted.
    Granted,
    /// The grant was committed and accepted: the requester's node must fetch the value.
    Replicating,
    /// The requester's node holds the value.
    Done,
    /// A step was refused by the rules (e.g. the record was not yet known when the
    /// request committed): nothing more is asked of the flow.
    Abandoned,
}

/// The flow's state.
#[derive(Clone, Debug)]
pub struct PrivateFlow {
    /// The recording agency's node.
    pub recorder: usize,
    /// The requesting agency's node.
    pub requester: usize,
    /// Where it is.
    pub stage: Stage,
    record: Transaction,
    values: Vec<safeledger_core::private::PrivateValue>,
    request: Transaction,
    grant: Transaction,
}

fn sign(
    seed: u64,
    officer: usize,
    seq: u64,
    body: TxBody,
    chain: &str,
    at: Timestamp,
) -> Transaction {
    let key = super::scenario::officer_key(seed, officer);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7076 ^ (seq << 8) ^ officer as u64);
    Transaction::sign(TxPayload::new(chain, seq, at, body, &mut rng), &[&key])
}

impl PrivateFlow {
    /// The flow between `recorder` and `requester` in the run of `seed` (sequences 1 and
    /// 2 of the recorder's officer, 1 of the requester's: their officers sign nothing
    /// else in the run).
    pub fn new(
        seed: u64,
        recorder: usize,
        requester: usize,
        chain: &str,
        at: Timestamp,
    ) -> PrivateFlow {
        let body = TxBody::EnterpriseRecord(EnterpriseRecord {
            enterprise: EnterpriseId::namespaced("sim", "private-1").expect("a valid id"),
            name: "Private Works".into(),
            address: "7 Secret Lane".into(),
            linked_ids: Vec::new(),
        });
        let mut record = sign(seed, recorder, 1, body, chain, at);
        let values = record
            .payload
            .withhold(&["address"])
            .expect("the address may be withheld");
        let id = record.id();
        let request = sign(
            seed,
            requester,
            1,
            TxBody::AccessRequest(AccessRequest {
                request_id: "AR-1".into(),
                record: id,
                fields: vec!["address".into()],
                purpose: "simulated review".into(),
            }),
            chain,
            at,
        );
        let grant = sign(
            seed,
            recorder,
            2,
            TxBody::AccessGrant(AccessGrant {
                requester: format!("v{requester}"),
                request_id: "AR-1".into(),
                approve: true,
                reason: "simulated grant".into(),
            }),
            chain,
            at,
        );
        PrivateFlow {
            recorder,
            requester,
            stage: Stage::Start,
            record,
            values,
            request,
            grant,
        }
    }

    /// The record's id.
    pub fn record_id(&self) -> TxId {
        self.record.id()
    }
}

impl MachineWorld {
    /// The committed result of `tx` at node `i`, if it is committed there.
    fn committed_at(&self, i: usize, tx: &TxId) -> Option<Outcome> {
        let l = self.nodes[i].machine.as_ref()?.app();
        let (h, k) = l.store.tx_location(tx).ok()??;
        let results = l.store.results(h).ok()??;
        results.get(k as usize).map(|r| r.outcome.clone())
    }

    /// True when node `i`'s private store holds values of `record`.
    pub(super) fn holds_private(&self, i: usize, record: &TxId) -> bool {
        self.nodes[i]
            .machine
            .as_ref()
            .and_then(|m| m.context().private.get(record).ok())
            .is_some_and(|v| !v.is_empty())
    }

    /// Advances the private flow (every client tick).
    pub(super) fn private_step(&mut self) -> Result<(), Violation> {
        let Some(f) = self.private.clone() else {
            return Ok(());
        };
        let (rec, req) = (f.recorder, f.requester);
        let id = f.record.id();
        let next = match f.stage {
            Stage::Start => {
                if let Some(m) = self.nodes[rec].machine.as_ref() {
                    // As StorePrivate does at the recording agency's node.
                    m.context()
                        .private
                        .put(&id, &f.values)
                        .map_err(|e| Violation {
                            property: "private store",
                            detail: e.to_string(),
                        })?;
                    self.submit(rec, vec![f.record.clone()])?;
                    Stage::Recorded
                } else {
                    Stage::Start
                }
            }
            Stage::Recorded => match self.committed_at(req, &id) {
                Some(Outcome::Accepted) => {
                    self.submit(req, vec![f.request.clone()])?;
                    Stage::Requested
                }
                Some(_) => Stage::Abandoned,
                None => {
                    self.submit(rec, vec![f.record.clone()])?;
                    Stage::Recorded
                }
            },
            Stage::Requested => match self.committed_at(rec, &f.request.id()) {
                Some(Outcome::Accepted) => {
                    self.submit(rec, vec![f.grant.clone()])?;
                    Stage::Granted
                }
                Some(_) => Stage::Abandoned,
                None => {
                    self.submit(req, vec![f.request.clone()])?;
                    Stage::Requested
                }
            },
            Stage::Granted => match self.committed_at(req, &f.grant.id()) {
                Some(Outcome::Accepted) => Stage::Replicating,
                Some(_) => Stage::Abandoned,
                None => {
                    self.submit(rec, vec![f.grant.clone()])?;
                    Stage::Granted
                }
            },
            Stage::Replicating if self.holds_private(req, &id) => {
                self.hits.private_replicated += 1;
                Stage::Done
            }
            s => s,
        };
        // Nobody but the recorder and (once granted) the requester ever holds the value.
        for i in 0..self.nodes.len() {
            let allowed =
                i == rec || (i == req && matches!(next, Stage::Replicating | Stage::Done));
            if !allowed && self.holds_private(i, &id) {
                return Err(Violation {
                    property: "private values",
                    detail: format!("node {i} holds a private value it was not granted"),
                });
            }
        }
        // Every node but the recorder asks the recorder's node directly: only the
        // requester, once the recorder committed the grant, may be served.
        if f.stage != Stage::Start && self.nodes[rec].machine.is_some() {
            let granted = matches!(
                self.committed_at(rec, &f.grant.id()),
                Some(Outcome::Accepted)
            );
            for n in (0..self.nodes.len()).filter(|n| *n != rec && (*n != req || !granted)) {
                let reply = self.ask_directly(rec, n, SyncRequest::Private { record: id })?;
                if matches!(reply, Some(SyncResponse::Private(_))) {
                    return Err(Violation {
                        property: "private values",
                        detail: format!(
                            "node {rec} served a private value to node {n}, not granted"
                        ),
                    });
                }
                self.hits.private_refusals += 1;
            }
        }
        if let Some(p) = self.private.as_mut() {
            p.stage = next;
        }
        Ok(())
    }

    /// What node `to` answers node `from`'s request right now (no network; for probes).
    fn ask_directly(
        &mut self,
        to: usize,
        from: usize,
        request: SyncRequest,
    ) -> Result<Option<SyncResponse>, Violation> {
        let now = self.local_now(to);
        let peer = self.nodes[from].key.public();
        let Some(m) = self.nodes[to].machine.as_mut() else {
            return Ok(None);
        };
        let data = safeledger_core::to_canonical(&request);
        let actions = m
            .handle(now, crate::machine::Event::Request { peer, data })
            .map_err(|e| Violation {
                property: "node error",
                detail: format!("node {to}: {e:#}"),
            })?;
        Ok(actions.into_iter().find_map(|a| match a {
            crate::machine::Action::Reply(r) => Some(r),
            _ => None,
        }))
    }
}
