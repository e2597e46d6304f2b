//! The rules execution enforces, one module each (DESIGN §5 "Rules the contracts enforce").
//!
//! Each rule is a function that either passes or returns a [`Refusal`] naming the rule
//! (its `R…` name, a constant below), its parameter values and the records behind it.
//! Rules run in a fixed order (see [`crate::executor`]): the first refusal wins. Rule
//! parameters live in [`RuleParams`], on chain and governed.
//!
//! | rule | module | refuses / does |
//! |---|---|---|
//! | R0 (ledger integrity) | `signer` (in [`crate::registry`]), [`sequence`], [`effective_date`], [`enterprise`], [`licence`], [`application`], [`duplicate`], [`findings`] | unknown or revoked signers, replays, future effective dates, unknown enterprises, bad licence terms and transitions, late renewal applications, decisions answering an application they cannot, bad industry codes, wrong accident levels, duplicate ids, dangling references |
//! | R1 | [`crate::registry`], [`correction`], [`crate::assistance`] | kinds outside the agency's role or the signing officers' posts (R1-role); corrections, appeal outcomes and assistance responses from the wrong agency; officers of another agency |
//! | R2 | [`restriction`] | grants and renewals for a blacklisted (grade D) enterprise |
//! | R3 | [`restriction`] | grants and renewals during an uncleared severe penalty; review tasks |
//! | R4 | [`findings`], [`blacklist`] | blacklists on a concealed accident; early removal refused |
//! | R5, R9 | [`assessment`] | risk level and credit grade, with the records behind them |
//! | R6 | [`collective`], [`crate::cosign`] | high-risk licence decisions with fewer than k officers; co-signatures of a proposed decision after its deadline, twice by one officer or after it took effect |
//! | R7 | [`crate::assistance`] | deadlines; open/answered/overdue from block time |
//! | R8 | [`escalation`] | unrectified hazards past their deadline suspend the licences |

pub mod application;
pub mod assessment;
pub mod blacklist;
pub mod collective;
pub mod correction;
pub mod duplicate;
pub mod effective_date;
pub mod enterprise;
pub mod escalation;
pub mod findings;
pub mod joint;
pub mod licence;
pub mod restriction;
pub mod sequence;

pub use crate::params::RuleParams;
use safeledger_core::{Timestamp, TxId};
use std::borrow::Cow;

/// Submitter or co-signer is not a current officer of the submitter's agency.
pub const R0_SIGNER: &str = "R0-signer";
/// Sequence not strictly above the submitter's last committed one.
pub const R0_SEQUENCE: &str = "R0-sequence";
/// The agency's role does not cover the transaction kind (DESIGN §5 R1).
pub const R1_PERMISSION: &str = "R1-permission";
/// No post of a signing officer allows the transaction kind: the governed permission
/// table [`RuleParams::officer_roles`] (issue 19 item 6).
pub const R1_ROLE: &str = "R1-role";
/// `effective_at` later than the block time (DESIGN §5 "Two clocks").
pub const R0_EFFECTIVE_DATE: &str = "R0-effective-date";
/// A licence application step out of order or by another agency (issue 19 item 7; the
/// reason says which, [`application::step`]).
pub const R0_APPLICATION_STEP: &str = "R0-application-step";
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
/// A renewal applied for later than [`RuleParams::renewal_lead_months`] before expiry.
pub const R0_RENEWAL_LEAD: &str = "R0-renewal-lead";
/// A licence decision naming an application it cannot answer (the reason names the field
/// `application` or `applied_at`; see [`application::ApplicationError`]).
pub const R0_APPLICATION: &str = "R0-application";
/// An industry code that is not `GB/T 4754-2017:<code>` or a namespaced foreign code.
pub const R0_INDUSTRY: &str = "R0-industry";
/// An accident level that disagrees with State Council Order 493 art. 3.
pub const R0_ACCIDENT_LEVEL: &str = "R0-accident-level";
/// The same agency's id for an inspection, case or accident report, recorded twice.
pub const R0_DUPLICATE: &str = "R0-duplicate";
/// A record naming another that the ledger does not hold (inspection, case, appeal,
/// request, proposal), or that cannot take it (e.g. a second outcome).
pub const R0_REFERENCE: &str = "R0-reference";
/// Registering a key that is an officer already, or revoking another agency's officer.
pub const R1_OFFICER: &str = "R1-officer";
/// A correction by an agency other than the recording one (DESIGN §5 R1).
pub const R1_CORRECTION: &str = "R1-correction";
/// An appeal outcome by an agency other than the one whose record was appealed.
pub const R1_APPEAL: &str = "R1-appeal-outcome";
/// An assistance response from an agency other than the addressed one (DESIGN §5 R1).
pub const R1_ASSISTANCE: &str = "R1-assistance-response";
/// A licence grant or renewal for a blacklisted enterprise, credit grade D (R2).
pub const R2_BLACKLIST: &str = "R2-blacklist";
/// A licence grant or renewal during an uncleared severe penalty (R3).
pub const R3_SEVERE_PENALTY: &str = "R3-severe-penalty";
/// A licence grant or renewal while a licence of the same type is suspended under an id
/// linked to the enterprise ([`crate::links`], issue 19 item 8).
pub const R10_LINKED_SUSPENSION: &str = "R10-linked-suspension";
/// A blacklist removal before [`RuleParams::blacklist_removal_after_months`] (R4).
pub const R4_BLACKLIST_REMOVAL: &str = "R4-blacklist-removal";
/// A high-risk licence decision signed by fewer than [`RuleParams::collective_k`] (R6).
pub const R6_COLLECTIVE: &str = "R6-collective-decision";
/// A governance proposal or vote that cannot apply (closed, duplicate, invalid action).
pub const G_GOVERNANCE: &str = "G-governance";
/// A policy that fails to compile, exceeds its budget or fails its tests at deployment.
pub const G_POLICY: &str = "G-policy";

/// A kind's name with its article, for refusals: "an inspection_record", "a penalty".
pub fn a_kind(kind: safeledger_core::records::TxKind) -> String {
    let name = kind.name();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// Why a rule refused a transaction: becomes [`crate::Outcome::Refused`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {reason}")]
pub struct Refusal {
    /// The rule's name: one of the constants of this module, or `policy:<name>`.
    pub rule: Cow<'static, str>,
    /// Parameter values and the records (tx ids) behind the refusal, in words.
    pub reason: String,
}

impl Refusal {
    /// A refusal by `rule`.
    pub fn new(rule: &'static str, reason: String) -> Refusal {
        Refusal {
            rule: Cow::Borrowed(rule),
            reason,
        }
    }

    /// A refusal by a deployed policy: rule `policy:<name>`.
    pub fn policy(name: &str, reason: String) -> Refusal {
        Refusal {
            rule: Cow::Owned(format!("policy:{name}")),
            reason,
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
    /// The block's time (deadlines run against it).
    pub block_time: Timestamp,
    /// Distinct signers of the transaction (R6).
    pub signers: usize,
}

/// A time in refusal reasons: `YYYY-MM-DD (N ms)`.
pub(crate) fn when(t: Timestamp) -> String {
    format!("{} ({} ms)", t.date_string(), t.0)
}
