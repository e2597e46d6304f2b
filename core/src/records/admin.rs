//! Records about the network itself (DESIGN §5): officer registration and revocation,
//! assistance requests and responses, governance proposals and votes, and evidence of
//! validator misbehaviour.

use crate::ids::EnterpriseId;
use crate::keys::PublicKey;
use crate::records::TxKind;
use serde::{Deserialize, Serialize};

/// Register or revoke an officer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficerActionKind {
    /// The key becomes an officer of the submitter's agency.
    Register,
    /// The key's signatures are refused from this transaction on.
    Revoke,
    /// The officer's roles become [`OfficerAction::roles`] (appended: earlier encodings
    /// keep their meaning).
    SetRoles,
}

/// An agency registers or revokes one of its own officers' keys (DESIGN §3 "Keys").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficerAction {
    /// The officer's key.
    pub officer: PublicKey,
    /// Register or revoke.
    pub action: OfficerActionKind,
    /// The officer's name or badge, for accountability queries.
    pub name: String,
    /// The officer's posts (register, set_roles): names of the governed permission table
    /// `officer_roles` (e.g. `acceptor`, `reviewer`, `inspector`, `approver`, `head`), each
    /// `[a-z_]{1,32}`, at most 8; empty for a revocation. JSON may omit it.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Most roles one officer holds.
pub const MAX_OFFICER_ROLES: usize = 8;

/// A decision proposed by one officer for others of its agency to co-sign over time
/// (issue 19 item 5; DESIGN §5 R6 "collective decisions"): it takes effect, as if the
/// licence decision had been submitted then, when the co-signature that brings its
/// distinct signers to the governed `collective_k` commits before the deadline. The
/// proposer's submission is its first signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionProposal {
    /// The agency's id for the proposal (unique per agency and enterprise).
    pub proposal_id: String,
    /// The decision proposed.
    pub decision: crate::records::LicenceDecision,
    /// Hours from the committing block until co-signatures are refused; `None` takes the
    /// governed `collective_deadline_hours` (default 7 days).
    pub deadline_hours: Option<u32>,
}

/// An officer co-signs a [`DecisionProposal`] of its own agency (issue 19 item 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSignature {
    /// The enterprise the proposal is about.
    pub enterprise: EnterpriseId,
    /// The proposal, by transaction id.
    pub proposal: crate::tx::TxId,
}

/// A request for assistance from one agency to another about an enterprise (R7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceRequest {
    /// The requesting agency's id for the request (unique per agency).
    pub request_id: String,
    /// The addressed agency.
    pub to_agency: String,
    /// The enterprise concerned.
    pub enterprise: EnterpriseId,
    /// What is asked.
    pub subject: String,
    /// Hours until the answer is due, counted from the block that commits the request;
    /// `None` takes the governed default (24 h).
    pub due_in_hours: Option<u32>,
}

/// The addressed agency answers an assistance request (R1, R7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceResponse {
    /// The requesting agency.
    pub from_agency: String,
    /// Its id for the request.
    pub request_id: String,
    /// The enterprise concerned (as in the request).
    pub enterprise: EnterpriseId,
    /// The answer.
    pub answer: String,
}

/// One test case a policy must pass at deployment (issue 4 part 7): an input document and
/// the enterprise data, as JSON, and whether the policy must deny it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTest {
    /// `input` document, JSON.
    pub input_json: String,
    /// `data` document, JSON.
    pub data_json: String,
    /// True when the policy must return at least one deny reason.
    pub expect_deny: bool,
}

/// A Rego policy to deploy (evaluated with `regorus`'s bytecode VM under an instruction
/// limit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Unique name; the refusing rule is `policy:<name>`.
    pub name: String,
    /// Rego source; its package is `safeledger.<name>` with `_` for `-`, and it defines a
    /// set `deny` of reason strings.
    pub source: String,
    /// Transaction kinds it judges.
    pub applies_to: Vec<TxKind>,
    /// Instruction budget per evaluation (at most the governed maximum).
    pub max_instructions: u64,
    /// Cases that must pass within budget at deployment.
    pub tests: Vec<PolicyTest>,
}

/// What a governance proposal would do when passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceAction {
    /// Admit an agency with a role of the genesis role table, its first officer key and
    /// where its node is reached (the fields of its `agency.json` from `keys generate`).
    AddAgency {
        /// Agency id.
        id: String,
        /// Display name.
        name: String,
        /// Role (a key of the genesis role table).
        role: String,
        /// The agency's first officer key.
        officer: PublicKey,
        /// Its node key (validator-set change, applied by the node).
        node_key: PublicKey,
        /// Voting power (0: not a validator).
        power: u64,
        /// Its node's libp2p address, a multiaddr such as `/ip4/10.0.0.5/tcp/26656`.
        p2p_addr: String,
        /// Its node's gRPC endpoint, `https://HOST:PORT` (`http://` only without a
        /// certificate).
        grpc_addr: String,
        /// Its node's TLS certificate (PEM) that clients pin for `grpc_addr`; empty for an
        /// `http://` endpoint.
        tls_cert: String,
    },
    /// Remove an agency: its officers' signatures are refused from then on.
    RemoveAgency {
        /// Agency id.
        id: String,
    },
    /// Set one rule parameter by name to a value in its text form.
    SetRuleParam {
        /// Parameter name (a field of the contracts' `RuleParams`).
        name: String,
        /// New value: an integer, or a comma-separated list.
        value: String,
    },
    /// Deploy (or replace) a Rego policy.
    DeployPolicy(PolicySpec),
    /// Retire a deployed policy.
    RetirePolicy {
        /// Its name.
        name: String,
    },
    /// Change an active agency's validator: its voting power (0 takes it out of the
    /// validator set) and, for a key rotation, its node key. Takes effect two heights after
    /// the block that passes it (header h+1 commits to it in `next_validators_hash`).
    SetValidator {
        /// Agency id.
        agency: String,
        /// New node key (none: keep the current one; required when the agency has none).
        node_key: Option<PublicKey>,
        /// New voting power.
        power: u64,
    },
    /// Move the chain to protocol version `version` (the header's `version`) from block
    /// `height` on, setting `rule_params` (name → value in text form, as
    /// [`GovernanceAction::SetRuleParam`]) at the start of that block. A node whose binary
    /// does not support the version stops before it would sign at `height`, naming it.
    ScheduleUpgrade {
        /// The new protocol version: above every version scheduled before.
        version: u32,
        /// The first block of the new version: at least two heights after the block that
        /// passes the proposal.
        height: u64,
        /// Rule parameters that change with the version.
        rule_params: std::collections::BTreeMap<String, String>,
    },
}

/// A proposal by an agency; the proposer's submission counts as its yes vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceProposal {
    /// Unique proposal id.
    pub proposal_id: String,
    /// What it does.
    pub action: GovernanceAction,
    /// Why.
    pub reason: String,
}

/// An agency's vote on an open proposal; a proposal passes once more than 2/3 of the
/// agencies voted yes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceVote {
    /// The proposal.
    pub proposal_id: String,
    /// Yes or no.
    pub approve: bool,
}

/// An agency asks the recording agency for the values of private fields of one record
/// (DESIGN §4 "Private fields": access request, approval, transfer, every access logged on
/// chain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    /// The requesting agency's id for the request (unique per requesting agency).
    pub request_id: String,
    /// The record (transaction id) whose withheld fields are asked for.
    pub record: crate::tx::TxId,
    /// The withheld fields wanted, by name.
    pub fields: Vec<String>,
    /// Why (the legal basis, the case).
    pub purpose: String,
}

/// The recording agency's answer to an [`AccessRequest`]; only that agency may give it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessGrant {
    /// The requesting agency.
    pub requester: String,
    /// Its request id.
    pub request_id: String,
    /// Approved or refused.
    pub approve: bool,
    /// Why.
    pub reason: String,
}

/// An officer's declaration that it reads withheld fields of one record (DESIGN §4
/// "Private fields"; issue 8 item 2, "reads of sensitive data are logged on chain").
///
/// A node discloses a private value in a view only to an officer who names an accepted
/// declaration of its own, committed within
/// [`crate::limits::READ_DECLARATION_VALIDITY_MS`] of the node's latest block and covering
/// the record and every disclosed field: the read is on chain before the value leaves the
/// node. Only the recording agency, or an agency holding an approved access request for
/// the fields, may declare (rule R0-access).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateRead {
    /// The record (transaction id) whose withheld fields are read.
    pub record: crate::tx::TxId,
    /// The withheld fields read, by name.
    pub fields: Vec<String>,
    /// Why (the case, the legal basis).
    pub purpose: String,
}

/// Evidence of validator misbehaviour (DESIGN §5; TENDERMINT.md "Evidence"): two
/// conflicting signed consensus messages of one validator, committed so that every agency
/// sees who double-signed. Submitted by a validator's node (signed with its node key, not
/// an officer key) when its consensus core detects the conflict; execution verifies the
/// pair against the validator set of its height and records one entry per validator and
/// (height, round, step).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEvidence {
    /// The agency whose validator signed both messages (its id in the validator set of the
    /// evidence's height).
    pub offender_agency: String,
    /// The two messages.
    pub evidence: crate::evidence::DoubleSign,
}
