//! `safeledger governance` and `safeledger access`: proposals and votes among agencies,
//! and requests for another agency's withheld fields with their answers.

use super::tx_id_arg;
use crate::cli::act::Acting;
use crate::cli::exit;
use clap::{Args, Subcommand};
use safeledger_core::genesis::Agency;
use safeledger_core::records::{
    AccessGrant, AccessRequest, GovernanceAction, GovernanceProposal, GovernanceVote,
};
use safeledger_core::{PublicKey, TxBody};
use std::path::PathBuf;

/// What every proposal names.
#[derive(Args)]
pub struct Proposing {
    /// The proposal's id (unique on the ledger).
    #[arg(long)]
    id: String,
    /// Why.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    acting: Acting,
}

/// `safeledger governance`: proposals pass with more than 2/3 of the agencies voting yes
/// (the proposing agency's submission is its yes vote).
#[derive(Subcommand)]
pub enum GovernanceCmd {
    /// Propose admitting an agency from its public agency.json (written by `keys generate`
    /// on its own machine): id, name, role, first officer key, node key, power, p2p and
    /// gRPC addresses and the TLS certificate clients pin.
    AddAgency {
        /// The new agency's agency.json.
        #[arg(long)]
        agency_file: PathBuf,
        #[command(flatten)]
        proposing: Proposing,
    },
    /// Propose removing an agency: its officers' signatures are refused from then on.
    RemoveAgency {
        /// The agency id (named `target`, apart from `--agency`, the agency that proposes).
        #[arg(value_name = "AGENCY")]
        target: String,
        #[command(flatten)]
        proposing: Proposing,
    },
    /// Propose a rule parameter's new value (e.g. collective_k 3,
    /// work_calendar.2027-01-01 holiday, officer_roles.clerk enterprise_record).
    SetParam {
        /// The parameter's name.
        name: String,
        /// Its value in text form (empty removes a table entry).
        value: String,
        #[command(flatten)]
        proposing: Proposing,
    },
    /// Propose a validator's voting power (0 takes it out) or a rotated node key.
    SetValidator {
        /// The agency whose validator changes (named `target`, apart from `--agency`, the
        /// agency that proposes).
        #[arg(value_name = "AGENCY")]
        target: String,
        /// New voting power.
        #[arg(long)]
        power: u64,
        /// New node key (hex), for a key rotation.
        #[arg(long)]
        node_key: Option<String>,
        #[command(flatten)]
        proposing: Proposing,
    },
    /// Propose protocol version VERSION from block --height on, with the rule parameters
    /// that change with it (`--param name=value`, repeatable). Nodes whose binary does not
    /// run the version stop before that height, naming it.
    Upgrade {
        /// The new protocol version (above every version scheduled).
        version: u32,
        /// Its first block: at least two heights after the block passing the proposal.
        #[arg(long)]
        height: u64,
        /// A rule parameter set at that height, `name=value`.
        #[arg(long = "param")]
        params: Vec<String>,
        #[command(flatten)]
        proposing: Proposing,
    },
    /// Vote on an open proposal.
    Vote {
        /// The proposal's id.
        proposal: String,
        /// Vote yes.
        #[arg(long, conflicts_with = "no", required_unless_present = "no")]
        yes: bool,
        /// Vote no.
        #[arg(long)]
        no: bool,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger access`: withheld fields of another agency's record, asked for and answered
/// on chain (every request and answer is in `query access_log`).
#[derive(Subcommand)]
pub enum AccessCmd {
    /// Ask the recording agency for withheld fields of one of its records.
    Request {
        /// Your agency's id for the request.
        #[arg(long)]
        id: String,
        /// The record (transaction id).
        #[arg(long)]
        record: String,
        /// A withheld field wanted, repeatable.
        #[arg(long = "field", required = true)]
        fields: Vec<String>,
        /// Why: the legal basis, the case.
        #[arg(long)]
        purpose: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Answer a request for your agency's withheld fields.
    Grant {
        /// The requesting agency.
        #[arg(long)]
        requester: String,
        /// Its request id.
        #[arg(long)]
        request: String,
        /// Refuse instead of approving.
        #[arg(long)]
        refuse: bool,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        acting: Acting,
    },
}

fn key_arg(flag: &str, s: &str) -> anyhow::Result<PublicKey> {
    PublicKey::from_hex(s.trim()).map_err(|e| exit::usage(format!("{flag}: {e}")))
}

/// `safeledger governance`.
pub async fn governance(cmd: GovernanceCmd) -> anyhow::Result<()> {
    let (action, p) = match cmd {
        GovernanceCmd::Vote {
            proposal,
            yes,
            no: _,
            acting,
        } => {
            let body = TxBody::GovernanceVote(GovernanceVote {
                proposal_id: proposal,
                approve: yes,
            });
            return acting.act(body).await;
        }
        GovernanceCmd::AddAgency {
            agency_file,
            proposing,
        } => {
            let a: Agency = crate::cli::files::read_json(&agency_file, "an agency file", 1 << 20)?;
            let [officer] = a.officer_keys.as_slice() else {
                return Err(exit::usage(format!(
                    "{} lists {} officer keys; an added agency starts with one (register \
                     the others with `officer register` once it is admitted)",
                    agency_file.display(),
                    a.officer_keys.len()
                )));
            };
            let action = GovernanceAction::AddAgency {
                id: a.id,
                name: a.name,
                role: a.role,
                officer: *officer,
                node_key: a.node_key,
                power: a.power,
                p2p_addr: a.p2p_addr,
                grpc_addr: a.grpc_addr,
                tls_cert: a.tls_cert,
            };
            (action, proposing)
        }
        GovernanceCmd::RemoveAgency { target, proposing } => {
            (GovernanceAction::RemoveAgency { id: target }, proposing)
        }
        GovernanceCmd::SetParam {
            name,
            value,
            proposing,
        } => (GovernanceAction::SetRuleParam { name, value }, proposing),
        GovernanceCmd::Upgrade {
            version,
            height,
            params,
            proposing,
        } => {
            let mut rule_params = std::collections::BTreeMap::new();
            for p in params {
                let Some((name, value)) = p.split_once('=') else {
                    return Err(exit::usage(format!("--param {p:?}: expected name=value")));
                };
                if rule_params
                    .insert(name.trim().to_string(), value.to_string())
                    .is_some()
                {
                    return Err(exit::usage(format!("--param {name}: given twice")));
                }
            }
            (
                GovernanceAction::ScheduleUpgrade {
                    version,
                    height,
                    rule_params,
                },
                proposing,
            )
        }
        GovernanceCmd::SetValidator {
            target: agency,
            power,
            node_key,
            proposing,
        } => {
            let node_key = node_key.map(|k| key_arg("--node-key", &k)).transpose()?;
            (
                GovernanceAction::SetValidator {
                    agency,
                    node_key,
                    power,
                },
                proposing,
            )
        }
    };
    let body = TxBody::GovernanceProposal(GovernanceProposal {
        proposal_id: p.id,
        action,
        reason: p.reason,
    });
    p.acting.act(body).await
}

/// `safeledger access`.
pub async fn access(cmd: AccessCmd) -> anyhow::Result<()> {
    match cmd {
        AccessCmd::Request {
            id,
            record,
            fields,
            purpose,
            acting,
        } => {
            let body = TxBody::AccessRequest(AccessRequest {
                request_id: id,
                record: tx_id_arg("--record", &record)?,
                fields,
                purpose,
            });
            acting.act(body).await
        }
        AccessCmd::Grant {
            requester,
            request,
            refuse,
            reason,
            acting,
        } => {
            let body = TxBody::AccessGrant(AccessGrant {
                requester,
                request_id: request,
                approve: !refuse,
                reason,
            });
            acting.act(body).await
        }
    }
}
