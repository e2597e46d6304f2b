//! # safeledger-contracts
//!
//! Deterministic execution of an ordered block of transactions (DESIGN §3 "Order, then
//! execute"). Consensus orders transactions that passed stateless checks; this crate then
//! applies each in order against a key-value view of committed state and records a
//! [`TxResult`] for every one: [`Outcome::Accepted`], or [`Outcome::Refused`] naming the
//! rule, its parameter values and the records behind it (DESIGN §5). Refusals are results
//! on the ledger, never dropped.
//!
//! Bird's-eye view: [`Executor::execute_block`] takes committed state ([`StateRead`]), a
//! [`BlockContext`] (height, block time) and the block's transactions, and returns the
//! results in block order plus the block's writes. The node persists the writes and puts
//! [`results_root`] and the root of the authenticated state map with the writes applied
//! ([`safeledger_core::state_tree::StateTree::apply`]) into the next header. [`Executor::check_tx`]
//! runs the same rules for the mempool's early feedback, without writes.
//!
//! Code map: [`state`] (the read trait and the in-block overlay), [`keys`] (state key
//! layout), [`model`] (the values stored about enterprises), [`params`] (the governed
//! rule parameters), [`registry`] (agencies, roles, officers), [`query`] (reads for the
//! node's API), [`executor`] (the per-transaction pipeline), [`rules`] (one module per
//! rule), [`assistance`] (requests between agencies, R7), [`governance`] (proposals and
//! votes), [`policy`] (Rego policies on regorus's instruction-limited VM), [`clock`]
//! (calendar months).
//!
//! Invariants: no I/O, no clock, no randomness, no `HashMap`/`HashSet`, no floats
//! (`clippy.toml` disallows the clocks and the hash maps); never depends on tokio, libp2p, sled
//! or tonic. The same state, context and transactions give the same results and writes on
//! every node.

#![warn(missing_docs)]

pub mod access;
pub mod assessors;
pub mod assistance;
pub mod attachments;
pub mod calendar;
pub mod clock;
pub mod cosign;
pub mod draw;
pub mod evidence;
pub mod executor;
pub mod governance;
pub mod keys;
pub mod links;
pub mod model;
pub mod monitoring;
pub mod params;
pub mod plan;
pub mod policy;
pub mod query;
pub mod registry;
pub mod rego_value;
pub mod rules;
pub mod state;
pub mod tips;
pub mod upgrade;

#[cfg(test)]
pub(crate) mod testkit;

pub use executor::{BlockContext, BlockExecution, Executor, Outcome, TxResult};
pub use model::{
    AccidentSummary, AgencyEntry, Assessment, CreditGrade, EnterpriseState, Finding, FindingKind,
    InspectionSummary, LicenceState, LicenceStatus, LicenceStatusAt, PenaltySummary, RecordRef,
    RiskLevel, SequenceState,
};
pub use params::RuleParams;
pub use query::{
    cross_agency_timeline, decisions, enterprise, enterprise_records, enterprise_records_from,
    last_sequence, open_requests, overdue_requests,
};
pub use registry::Registry;
pub use rules::Refusal;
pub use state::StateRead;

pub use safeledger_core::result::{result_leaf, results_root};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::tx_id_of;

    fn result(n: u8, outcome: Outcome) -> TxResult {
        TxResult {
            tx_id: tx_id_of(n),
            outcome,
        }
    }

    #[test]
    fn results_root_changes_when_any_outcome_changes() {
        let base: Vec<TxResult> = (0..7).map(|i| result(i, Outcome::Accepted)).collect();
        let root = results_root(&base);
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i].outcome = Outcome::Refused {
                rule: "R0-sequence".into(),
                reason: "x".into(),
            };
            assert_ne!(results_root(&changed), root, "index {i}");
            let mut reworded = changed.clone();
            reworded[i].outcome = Outcome::Refused {
                rule: "R0-sequence".into(),
                reason: "y".into(),
            };
            assert_ne!(results_root(&reworded), results_root(&changed));
        }
        let mut swapped = base.clone();
        swapped.swap(0, 1);
        assert_ne!(results_root(&swapped), root);
        assert_eq!(results_root(&[]), safeledger_core::merkle::empty_root());
    }
}
