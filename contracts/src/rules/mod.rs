//! The rules execution enforces, one module each (DESIGN §5 "Rules the contracts enforce").
//!
//! Each rule is a function that either passes or returns a [`Refusal`] naming the rule
//! (its `R…` name, a constant below), its parameter values and the records behind it.
//! Rules run in a fixed order (see [`crate::executor`]): the first refusal wins. Rule
//! parameters live in [`RuleParams`] (on chain and governed, DESIGN §5; for now they come
//! from [`RuleParams::default`]).
//!
//! This slice holds the R0 family (ledger integrity: signer, sequence, effective date,
//! enterprise existence, licence lifecycle, duplicates, linked ids) and R1 (permissions).

pub mod duplicate;
pub mod effective_date;
pub mod enterprise;
pub mod findings;
pub mod licence;
pub mod permission;
pub mod sequence;
pub mod signer;

use safeledger_core::{Timestamp, TxId};
use serde::{Deserialize, Serialize};

/// Submitter or co-signer is not a registered officer of the submitter's agency.
pub const R0_SIGNER: &str = "R0-signer";
/// Sequence not strictly above the submitter's last committed one.
pub const R0_SEQUENCE: &str = "R0-sequence";
/// The agency's role does not cover the transaction kind (DESIGN §5 R1).
pub const R1_PERMISSION: &str = "R1-permission";
/// `effective_at` later than the block time (DESIGN §5 "Two clocks").
pub const R0_EFFECTIVE_DATE: &str = "R0-effective-date";
/// A follow-up record about an enterprise no enterprise record created.
pub const R0_ENTERPRISE: &str = "R0-enterprise";
/// A linked id that is not an enterprise id, or too many linked ids.
pub const R0_LINKED_IDS: &str = "R0-linked-ids";
/// A licence term longer than [`RuleParams::max_licence_term_days`], or without an end.
pub const R0_LICENCE_TERM: &str = "R0-licence-term";
/// Suspension or revocation of a licence the ledger does not hold.
pub const R0_LICENCE_UNKNOWN: &str = "R0-licence-unknown";
/// A decision on a licence held under another agency.
pub const R0_LICENCE_AGENCY: &str = "R0-licence-agency";
/// A decision its licence's current status does not allow (e.g. renewing a revoked one).
pub const R0_LICENCE_STATUS: &str = "R0-licence-status";
/// The same agency's id for an inspection, case or accident report, recorded twice.
pub const R0_DUPLICATE: &str = "R0-duplicate";

/// Why a rule refused a transaction: becomes [`crate::Outcome::Refused`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {reason}")]
pub struct Refusal {
    /// The rule's name, one of the constants of this module.
    pub rule: &'static str,
    /// Parameter values and the records (tx ids) behind the refusal, in words.
    pub reason: String,
}

impl Refusal {
    /// A refusal by `rule`.
    pub fn new(rule: &'static str, reason: String) -> Refusal {
        Refusal { rule, reason }
    }
}

/// The parameters of the rules (DESIGN §5: on chain and governed; defaults shown there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleParams {
    /// Longest licence term a grant or renewal may set, in days (R0-licence-term). DESIGN
    /// §5: "a grant runs at most 3 years"; default 1096 = 3 × 365 + one leap day.
    pub max_licence_term_days: u64,
    /// Most linked ids an enterprise may hold over all agencies (R0-linked-ids); keeps the
    /// enterprise value bounded. Default 256 (`core::limits::MAX_LIST_ITEMS`).
    pub max_linked_ids: usize,
}

impl Default for RuleParams {
    fn default() -> Self {
        RuleParams {
            max_licence_term_days: 1096,
            max_linked_ids: safeledger_core::limits::MAX_LIST_ITEMS,
        }
    }
}

/// What every rule may know about the transaction being applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordContext<'a> {
    /// The transaction.
    pub tx_id: TxId,
    /// The submitting officer's agency id.
    pub agency: &'a str,
    /// The transaction's `effective_at`.
    pub effective_at: Timestamp,
    /// Height of the block being executed.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// A time in refusal reasons: `YYYY-MM-DD (N ms)`.
pub(crate) fn when(t: Timestamp) -> String {
    format!("{} ({} ms)", t.date_string(), t.0)
}
