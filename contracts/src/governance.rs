//! On-chain governance (DESIGN §5: "agency add/remove, validator set and key rotation,
//! rule parameters, policies — passed by > 2/3 of agencies"; issue 4 part 6).
//!
//! An agency proposes (its submission counts as its yes vote); every active agency votes
//! once. A proposal passes as soon as yes votes × 3 > active agencies × 2, and fails once
//! that can no longer happen. The action is validated when proposed (an invalid one is
//! refused, G-governance or G-policy) and again when it passes (state may have changed;
//! then the proposal fails with the reason). Passing applies it:
//! - add an agency (with a role of the genesis role table and its first officer key) or
//!   remove one (its officers' signatures are refused from then on), or change an agency's
//!   validator (power, node key); each queues a validator-set change under
//!   `gov-validators`, stamped with the height that passed it, for the node to apply;
//! - set one rule parameter ([`RuleParams::set`]);
//! - deploy or retire a Rego policy ([`crate::policy`]).

use crate::keys;
use crate::policy::{self, PolicyState};
use crate::registry::{AgencyState, OfficerState, Registry};
use crate::rules::{RecordContext, Refusal, RuleParams, G_GOVERNANCE, G_POLICY};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::records::{GovernanceAction, GovernanceProposal, GovernanceVote};
use safeledger_core::{PublicKey, TxId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Collecting votes.
    Open,
    /// Passed and applied by this vote (or proposal) at this height.
    Passed(TxId, u64),
    /// Can no longer pass, or could not be applied when it passed (why).
    Failed(TxId, String),
}

/// A proposal and its votes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalState {
    /// The proposal record.
    pub tx_id: TxId,
    /// Proposing agency.
    pub proposer: String,
    /// What it does.
    pub action: GovernanceAction,
    /// Votes by agency.
    pub votes: BTreeMap<String, bool>,
    /// Status.
    pub status: ProposalStatus,
}

/// Most voting power one validator may be given by governance (keeps the total far from
/// overflow; genesis allows a total up to `u64::MAX / 4`).
pub const MAX_VALIDATOR_POWER: u64 = 1 << 40;

/// A validator-set change passed by governance, for the node's validator-set mechanism.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorChange {
    /// The agency.
    pub agency: String,
    /// Its node key.
    pub node_key: Option<PublicKey>,
    /// New voting power (0 removes it).
    pub power: u64,
    /// The proposal.
    pub proposal: String,
    /// Height at which it passed.
    pub height: u64,
}

/// The proposal with this id.
pub fn proposal(state: &dyn StateRead, id: &str) -> Option<ProposalState> {
    read(state, &keys::proposal(id))
}

/// Pending validator-set changes.
pub fn validator_changes(state: &dyn StateRead) -> Vec<ValidatorChange> {
    read(state, keys::VALIDATOR_CHANGES).unwrap_or_default()
}

/// Checks that `action` could apply now.
fn validate(
    view: &dyn StateRead,
    registry: &Registry,
    params: &RuleParams,
    action: &GovernanceAction,
    now: u64,
) -> Result<(), Refusal> {
    let bad = |why: String| Err(Refusal::new(G_GOVERNANCE, why));
    let agencies = registry.agencies(view);
    match action {
        GovernanceAction::AddAgency {
            id, role, officer, ..
        } => {
            if agencies.contains_key(id) {
                return bad(format!(
                    "agency id {id:?} exists already (ids are not reused)"
                ));
            }
            if !registry.has_role(role) {
                return bad(format!("role {role:?} is not in the genesis role table"));
            }
            if registry.is_genesis_officer(officer)
                || read::<OfficerState>(view, &keys::officer(officer)).is_some()
            {
                return bad(format!("key {officer} is already an officer"));
            }
            Ok(())
        }
        GovernanceAction::RemoveAgency { id } => {
            let active = registry.active_agencies(view);
            if !active.contains(id) {
                return bad(format!("agency {id:?} is not active"));
            }
            if active.len() <= 1 {
                return bad("the last agency cannot be removed".into());
            }
            Ok(())
        }
        GovernanceAction::SetRuleParam { name, value } => params
            .clone()
            .set(name, value)
            .map_err(|e| Refusal::new(G_GOVERNANCE, e.to_string())),
        GovernanceAction::DeployPolicy(spec) => {
            policy::validate(spec, params.max_policy_instructions)
                .map(|_| ())
                .map_err(|e| Refusal::new(G_POLICY, format!("policy {}: {e}", spec.name)))
        }
        GovernanceAction::RetirePolicy { name } => {
            match read::<PolicyState>(view, &keys::policy(name)) {
                Some(p) if p.active => Ok(()),
                _ => bad(format!("no active policy {name:?}")),
            }
        }
        GovernanceAction::SetValidator {
            agency,
            node_key,
            power,
        } => {
            if !registry.active_agencies(view).contains(agency) {
                return bad(format!("agency {agency:?} is not active"));
            }
            if let Some(k) = node_key {
                if k.validate().is_err() {
                    return bad(format!("node key {k} is not a usable ed25519 key"));
                }
            }
            if *power > MAX_VALIDATOR_POWER {
                return bad(format!(
                    "power {power} exceeds the limit of {MAX_VALIDATOR_POWER}"
                ));
            }
            Ok(())
        }
        GovernanceAction::ScheduleUpgrade {
            version,
            height,
            rule_params,
        } => {
            crate::upgrade::validate(view, params, *version, *height, rule_params, now).or_else(bad)
        }
    }
}

fn apply(
    view: &mut Overlay<'_>,
    registry: &Registry,
    params: &RuleParams,
    id: &str,
    action: &GovernanceAction,
    rc: &RecordContext<'_>,
) {
    let mut agencies = registry.agencies(view);
    let mut changes = validator_changes(view);
    match action {
        GovernanceAction::AddAgency {
            id: agency,
            name,
            role,
            officer,
            node_key,
            power,
            p2p_addr,
            grpc_addr,
            tls_cert,
        } => {
            agencies.insert(
                agency.clone(),
                AgencyState {
                    role: role.clone(),
                    name: name.clone(),
                    active: true,
                    changed_by: Some(id.to_string()),
                    p2p_addr: p2p_addr.clone(),
                    grpc_addr: grpc_addr.clone(),
                    tls_cert: tls_cert.clone(),
                },
            );
            view.put(keys::AGENCIES.to_vec(), &agencies);
            let st = OfficerState {
                agency: agency.clone(),
                name: format!("first officer of {agency}"),
                registered: Some((rc.tx_id, rc.height)),
                revoked: None,
                roles: vec![crate::params::HEAD_ROLE.to_string()],
            };
            view.put(keys::officer(officer), &st);
            view.put(keys::heads(agency), &1u64);
            changes.push(ValidatorChange {
                agency: agency.clone(),
                node_key: Some(*node_key),
                power: *power,
                proposal: id.to_string(),
                height: rc.height,
            });
            view.put(keys::VALIDATOR_CHANGES.to_vec(), &changes);
        }
        GovernanceAction::RemoveAgency { id: agency } => {
            if let Some(a) = agencies.get_mut(agency) {
                a.active = false;
                a.changed_by = Some(id.to_string());
            }
            view.put(keys::AGENCIES.to_vec(), &agencies);
            changes.push(ValidatorChange {
                agency: agency.clone(),
                node_key: None,
                power: 0,
                proposal: id.to_string(),
                height: rc.height,
            });
            view.put(keys::VALIDATOR_CHANGES.to_vec(), &changes);
        }
        GovernanceAction::SetRuleParam { name, value } => {
            let mut p = params.clone();
            if p.set(name, value).is_ok() {
                view.put(keys::PARAMS.to_vec(), &p);
            }
        }
        GovernanceAction::DeployPolicy(spec) => {
            let st = PolicyState {
                spec: spec.clone(),
                proposal: id.to_string(),
                height: rc.height,
                active: true,
            };
            view.put(keys::policy(&spec.name), &st);
            let mut names: BTreeSet<String> = read(view, keys::POLICY_INDEX).unwrap_or_default();
            names.insert(spec.name.clone());
            view.put(keys::POLICY_INDEX.to_vec(), &names);
        }
        GovernanceAction::SetValidator {
            agency,
            node_key,
            power,
        } => {
            changes.push(ValidatorChange {
                agency: agency.clone(),
                node_key: *node_key,
                power: *power,
                proposal: id.to_string(),
                height: rc.height,
            });
            view.put(keys::VALIDATOR_CHANGES.to_vec(), &changes);
        }
        GovernanceAction::ScheduleUpgrade {
            version,
            height,
            rule_params,
        } => crate::upgrade::add(
            view,
            crate::upgrade::Upgrade {
                version: *version,
                height: *height,
                rule_params: rule_params.clone(),
                proposal: id.to_string(),
                passed_height: rc.height,
            },
        ),
        GovernanceAction::RetirePolicy { name } => {
            if let Some(mut p) = read::<PolicyState>(view, &keys::policy(name)) {
                p.active = false;
                view.put(keys::policy(name), &p);
            }
            let mut names: BTreeSet<String> = read(view, keys::POLICY_INDEX).unwrap_or_default();
            names.remove(name);
            view.put(keys::POLICY_INDEX.to_vec(), &names);
        }
    }
}

/// Tallies `p` over the active agencies; applies it when it passes.
fn tally(
    view: &mut Overlay<'_>,
    registry: &Registry,
    params: &RuleParams,
    id: &str,
    p: &mut ProposalState,
    rc: &RecordContext<'_>,
) {
    let active = registry.active_agencies(view);
    let n = active.len() as u64;
    let yes = active
        .iter()
        .filter(|a| p.votes.get(*a) == Some(&true))
        .count() as u64;
    let no = active
        .iter()
        .filter(|a| p.votes.get(*a) == Some(&false))
        .count() as u64;
    if yes * 3 > n * 2 {
        p.status = match validate(view, registry, params, &p.action, rc.height) {
            Ok(()) => {
                apply(view, registry, params, id, &p.action, rc);
                ProposalStatus::Passed(rc.tx_id, rc.height)
            }
            Err(r) => ProposalStatus::Failed(rc.tx_id, r.reason),
        };
    } else if (n - no) * 3 <= n * 2 {
        p.status = ProposalStatus::Failed(
            rc.tx_id,
            format!("{no} of {n} agencies voted no; more than 2/3 yes is no longer possible"),
        );
    }
}

/// Records a proposal (and the proposer's yes vote).
pub fn propose(
    view: &mut Overlay<'_>,
    registry: &Registry,
    params: &RuleParams,
    g: &GovernanceProposal,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let key = keys::proposal(&g.proposal_id);
    if let Some(p) = read::<ProposalState>(view, &key) {
        return Err(Refusal::new(
            G_GOVERNANCE,
            format!(
                "proposal {:?} exists already (tx {})",
                g.proposal_id, p.tx_id
            ),
        ));
    }
    validate(view, registry, params, &g.action, rc.height)?;
    let mut p = ProposalState {
        tx_id: rc.tx_id,
        proposer: rc.agency.to_string(),
        action: g.action.clone(),
        votes: BTreeMap::from([(rc.agency.to_string(), true)]),
        status: ProposalStatus::Open,
    };
    tally(view, registry, params, &g.proposal_id, &mut p, rc);
    view.put(key, &p);
    Ok(())
}

/// Records a vote.
pub fn vote(
    view: &mut Overlay<'_>,
    registry: &Registry,
    params: &RuleParams,
    v: &GovernanceVote,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let key = keys::proposal(&v.proposal_id);
    let Some(mut p) = read::<ProposalState>(view, &key) else {
        return Err(Refusal::new(
            G_GOVERNANCE,
            format!("no proposal {:?}", v.proposal_id),
        ));
    };
    if p.status != ProposalStatus::Open {
        return Err(Refusal::new(
            G_GOVERNANCE,
            format!("proposal {:?} is closed: {:?}", v.proposal_id, p.status),
        ));
    }
    if let Some(prev) = p.votes.get(rc.agency) {
        return Err(Refusal::new(
            G_GOVERNANCE,
            format!(
                "agency {} already voted {} on proposal {:?}",
                rc.agency,
                if *prev { "yes" } else { "no" },
                v.proposal_id
            ),
        ));
    }
    p.votes.insert(rc.agency.to_string(), v.approve);
    tally(view, registry, params, &v.proposal_id, &mut p, rc);
    view.put(key, &p);
    Ok(())
}

/// The validator-set changes the block at `height` passed, from that block's write set
/// (`BlockExecution::writes`): those it queued stamped with its height; none when it did
/// not touch the queue.
pub fn changes_passed_at(
    writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    height: u64,
) -> Vec<ValidatorChange> {
    match writes.get(keys::VALIDATOR_CHANGES) {
        Some(Some(v)) => safeledger_core::from_canonical::<Vec<ValidatorChange>>(v)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.height == height)
            .collect(),
        _ => Vec::new(),
    }
}

/// Applies governance changes to a validator set, in order, deterministically:
/// - power 0 takes the agency's validator out of the set;
/// - otherwise the agency's validator gets the new power (and the new node key when one is
///   given); an agency without a validator joins at the end of the set, which needs a node
///   key.
///
/// A change that would leave an unusable set (empty, a key held twice, more than
/// [`safeledger_core::lightclient::MAX_VALIDATORS`], power out of range — the checks of
/// [`safeledger_core::lightclient::check_set`]) or that lacks a needed key is skipped, and
/// its reason is returned with it. Every node applies the same changes to the same set, so
/// every node skips the same ones.
pub fn apply_validator_changes(
    set: &safeledger_core::ValidatorSet,
    changes: &[ValidatorChange],
) -> (
    safeledger_core::ValidatorSet,
    Vec<(ValidatorChange, String)>,
) {
    use safeledger_core::Validator;
    let mut out = set.clone();
    let mut skipped = Vec::new();
    for c in changes {
        let mut next = out.clone();
        let pos = next.validators.iter().position(|v| v.agency == c.agency);
        match (pos, c.power, c.node_key) {
            (Some(i), 0, _) => {
                next.validators.remove(i);
            }
            (None, 0, _) => {
                skipped.push((c.clone(), "the agency has no validator".into()));
                continue;
            }
            (Some(i), p, k) => {
                next.validators[i].power = p;
                if let Some(k) = k {
                    next.validators[i].key = k;
                }
            }
            (None, p, Some(k)) => next.validators.push(Validator {
                agency: c.agency.clone(),
                key: k,
                power: p,
            }),
            (None, _, None) => {
                skipped.push((c.clone(), "a new validator needs a node key".into()));
                continue;
            }
        }
        match safeledger_core::lightclient::check_set(&next) {
            Ok(()) => out = next,
            Err(e) => skipped.push((c.clone(), e.to_string())),
        }
    }
    (out, skipped)
}
