//! The per-transaction pipeline (DESIGN §3 "Order, then execute").
//!
//! For each transaction of a block, in order:
//!
//! 1. R0-signer — the submitter is a registered officer. Refusal advances nothing.
//! 2. R0-sequence — its sequence is above the submitter's last committed one. Refusal
//!    advances nothing.
//! 3. From here on the submitter's sequence advances whatever the outcome, and the
//!    transaction's own writes are staged apart and kept only if it is accepted:
//!    R0-signer for co-signers, R1-permission, R0-effective-date, R0-enterprise
//!    (or, for an enterprise record, R0-linked-ids), then the record's own rules
//!    (licence lifecycle, R0-duplicate) and its state transition, and finally its entry on
//!    the enterprise's timeline.
//!
//! The first refusal wins. Later transactions of a block see earlier ones' writes.

use crate::keys;
use crate::model::{EnterpriseState, RecordRef};
use crate::rules::permission::Permissions;
use crate::rules::signer::Officers;
use crate::rules::{
    duplicate, effective_date, enterprise, findings, licence, sequence, RecordContext, Refusal,
    RuleParams,
};
use crate::state::{Overlay, StateRead};
use safeledger_core::records::TxBody;
use safeledger_core::{Genesis, Timestamp, Transaction};

use std::collections::BTreeMap;

/// The block being executed: its height and its time (the proposer's, DESIGN §3 "Block
/// time"), in ms since the Unix epoch. Execution reads no other clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block.
    pub height: u64,
    /// The block's time.
    pub time: Timestamp,
}

pub use safeledger_core::result::{Outcome, TxResult};

impl From<Refusal> for Outcome {
    fn from(r: Refusal) -> Outcome {
        Outcome::Refused {
            rule: r.rule.to_string(),
            reason: r.reason,
        }
    }
}

/// A block's results (one per transaction, in block order) and its writes to state (key
/// order; `None` deletes the key). The node applies `writes` atomically with the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockExecution {
    /// Results in block order.
    pub results: Vec<TxResult>,
    /// Writes to committed state.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Executes transactions under the genesis's officers and role permissions and the rule
/// parameters. Holds no state of its own: the same inputs give the same outputs.
#[derive(Clone, Debug)]
pub struct Executor {
    officers: Officers,
    permissions: Permissions,
    params: RuleParams,
}

impl Executor {
    /// An executor for `genesis` with the default [`RuleParams`].
    pub fn new(genesis: &Genesis) -> Executor {
        Executor::with_params(genesis, RuleParams::default())
    }

    /// An executor for `genesis` with the given rule parameters.
    pub fn with_params(genesis: &Genesis, params: RuleParams) -> Executor {
        Executor {
            officers: Officers::from_genesis(genesis),
            permissions: Permissions::from_genesis(genesis),
            params,
        }
    }

    /// The rule parameters in force.
    pub fn params(&self) -> &RuleParams {
        &self.params
    }

    /// Executes `txs` in order over committed `state` (DESIGN §3 "Order, then execute").
    /// Every transaction gets a result; nothing is dropped. `txs` are assumed to have
    /// passed `Transaction::check_stateless`; a transaction without signatures is refused
    /// (R0-signer), never a panic.
    ///
    /// # Panics
    /// On corrupted state (a stored value that does not decode), or a block of more than
    /// `u32::MAX` transactions.
    pub fn execute_block(
        &self,
        state: &dyn StateRead,
        ctx: &BlockContext,
        txs: &[Transaction],
    ) -> BlockExecution {
        let mut block = Overlay::new(state);
        let results = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| {
                let index = u32::try_from(i).expect("block of more than u32::MAX transactions");
                TxResult {
                    tx_id: tx.id(),
                    outcome: self.execute_tx(&mut block, ctx, index, tx),
                }
            })
            .collect();
        BlockExecution {
            results,
            writes: block.into_writes(),
        }
    }

    /// The mempool's pre-check: the outcome `tx` would have if it were the first
    /// transaction of a block at `ctx` over committed `state` (same rules as execution,
    /// nothing written). The node passes the next height and its local time. The outcome
    /// recorded at execution is the one that counts.
    pub fn check_tx(&self, state: &dyn StateRead, ctx: &BlockContext, tx: &Transaction) -> Outcome {
        let mut scratch = Overlay::new(state);
        self.execute_tx(&mut scratch, ctx, 0, tx)
    }

    fn execute_tx(
        &self,
        block: &mut Overlay<'_>,
        ctx: &BlockContext,
        index: u32,
        tx: &Transaction,
    ) -> Outcome {
        let (submitter, agency) = match self.officers.submitter(tx) {
            Ok(s) => s,
            Err(r) => return r.into(),
        };
        let seq = tx.payload.sequence;
        if let Err(r) = sequence::check(block, submitter, seq) {
            return r.into();
        }
        let rc = RecordContext {
            tx_id: tx.id(),
            agency,
            effective_at: tx.payload.effective_at,
            height: ctx.height,
            index,
        };
        let staged = {
            let mut staged = Overlay::new(&*block);
            self.apply(&mut staged, ctx, &rc, tx)
                .map(|()| staged.into_writes())
        };
        let outcome = match staged {
            Ok(writes) => {
                block.absorb(writes);
                Outcome::Accepted
            }
            Err(r) => r.into(),
        };
        sequence::advance(block, submitter, seq, rc.tx_id, ctx.height);
        outcome
    }

    /// Step 3 of the pipeline, writing into `view` (discarded on refusal).
    fn apply(
        &self,
        view: &mut Overlay<'_>,
        ctx: &BlockContext,
        rc: &RecordContext<'_>,
        tx: &Transaction,
    ) -> Result<(), Refusal> {
        let body = &tx.payload.body;
        let kind = body.kind();
        self.officers.check_cosigners(tx, rc.agency)?;
        self.permissions.check(rc.agency, kind)?;
        effective_date::check(rc.effective_at, ctx.time)?;
        let mut ent = match body {
            TxBody::EnterpriseRecord(r) => {
                let existing = crate::query::enterprise(view, &r.enterprise);
                enterprise::apply_record(existing, r, rc, &self.params)?
            }
            _ => enterprise::require_known(view, body.enterprise(), kind)?,
        };
        match body {
            TxBody::EnterpriseRecord(_) => {}
            TxBody::LicenceDecision(d) => licence::apply(&mut ent, d, rc, &self.params)?,
            TxBody::InspectionRecord(r) => {
                duplicate::claim(view, kind, &ent.id, "inspection_id", &r.inspection_id, rc)?;
                findings::inspection(&mut ent.inspections, r, rc);
            }
            TxBody::Penalty(r) => {
                duplicate::claim(view, kind, &ent.id, "case_id", &r.case_id, rc)?;
                findings::penalty(&mut ent.penalties, r, rc);
            }
            TxBody::AccidentReport(r) => {
                duplicate::claim(view, kind, &ent.id, "report_id", &r.report_id, rc)?;
                findings::accident(&mut ent.accidents, r, rc);
            }
        }
        append_to_timeline(view, &mut ent, rc, tx);
        view.put(keys::enterprise(&ent.id), &ent);
        Ok(())
    }
}

/// Writes the accepted record as the enterprise's next timeline entry.
fn append_to_timeline(
    view: &mut Overlay<'_>,
    ent: &mut EnterpriseState,
    rc: &RecordContext<'_>,
    tx: &Transaction,
) {
    let entry = RecordRef {
        height: rc.height,
        index: rc.index,
        tx_id: rc.tx_id,
        kind: tx.payload.body.kind(),
        agency: rc.agency.to_string(),
        effective_at: rc.effective_at,
    };
    view.put(keys::record(&ent.id, ent.record_count), &entry);
    ent.record_count += 1;
}

#[cfg(test)]
mod tests;
