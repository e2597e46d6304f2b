//! Who may sign and submit (DESIGN §3 "Keys", §5 R1): agencies with their roles, and
//! officer keys with their agency.
//!
//! Genesis gives the first agencies, roles and officer keys. Agencies register and revoke
//! their own officers on chain ([`OfficerState`] under `off/<key>`), and governance adds
//! or removes agencies ([`Agencies`] under `agencies`, written on the first change). A key
//! with an `off/` entry is judged by it alone; any other key by genesis.

use crate::keys;
use crate::params::HEAD_ROLE;
use crate::rules::{Refusal, RuleParams, R0_SIGNER, R1_OFFICER, R1_PERMISSION, R1_ROLE};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::records::{OfficerAction, OfficerActionKind, TxKind};
use safeledger_core::{Genesis, PublicKey, Transaction, TxId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// An officer key registered or revoked on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerState {
    /// The officer's agency.
    pub agency: String,
    /// Name or badge, as registered.
    pub name: String,
    /// The registration (`None` for a genesis officer).
    pub registered: Option<(TxId, u64)>,
    /// The revocation and its height: signatures are refused from it on.
    pub revoked: Option<(TxId, u64)>,
    /// Its posts: roles of the governed table [`RuleParams::officer_roles`] (R1-role).
    pub roles: Vec<String>,
}

/// One agency of the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyState {
    /// Role (a key of the genesis role table).
    pub role: String,
    /// Display name.
    pub name: String,
    /// False once removed by governance.
    pub active: bool,
    /// The proposal that added or removed it (`None` for a genesis agency never changed).
    pub changed_by: Option<String>,
    /// Its node's libp2p address (from the genesis or the proposal that added it).
    pub p2p_addr: String,
    /// Its node's gRPC endpoint.
    pub grpc_addr: String,
    /// The TLS certificate (PEM) pinned for `grpc_addr` (empty: none).
    pub tls_cert: String,
}

/// The agency registry.
pub type Agencies = BTreeMap<String, AgencyState>;

/// A key whose signature counts for an agency ([`Registry::officer`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Officer {
    /// The officer's key.
    pub key: PublicKey,
    /// Its agency (active).
    pub agency: String,
    /// The agency's role (a key of the genesis role table: which record kinds it submits).
    pub role: String,
    /// The officer's own posts (R1-role): `head` for a genesis officer.
    pub roles: Vec<String>,
}

/// Why a key's signature does not count for any agency ([`Registry::officer`]). The
/// messages are part of committed R0-signer refusals: they never change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotAnOfficer {
    /// Neither in genesis nor ever registered on chain.
    #[error("{0} is not a registered officer of any agency")]
    Unknown(PublicKey),
    /// Revoked on chain by `tx` at `height`.
    #[error("officer {key} of agency {agency} was revoked by tx {tx} at height {height}")]
    Revoked {
        /// The key.
        key: PublicKey,
        /// Its agency.
        agency: String,
        /// The revocation.
        tx: TxId,
        /// Its height.
        height: u64,
    },
    /// Its agency was removed by governance.
    #[error("officer {key}'s agency {agency} was removed by proposal {}", by.as_deref().unwrap_or("?"))]
    AgencyRemoved {
        /// The key.
        key: PublicKey,
        /// Its agency.
        agency: String,
        /// The proposal that removed it.
        by: Option<String>,
    },
    /// Its agency is not in the registry.
    #[error("officer {key}'s agency {agency} is not registered")]
    AgencyNotRegistered {
        /// The key.
        key: PublicKey,
        /// Its agency.
        agency: String,
    },
}

impl NotAnOfficer {
    /// True when the key was once registered (revoked, or its agency removed): a known
    /// officer who lost the right, as against a key nobody knows.
    pub fn was_registered(&self) -> bool {
        !matches!(self, NotAnOfficer::Unknown(_))
    }
}

/// Genesis data the registry falls back to: officer keys, agencies and the role table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    genesis_officers: BTreeMap<PublicKey, String>,
    genesis_agencies: Agencies,
    roles: BTreeMap<String, BTreeSet<TxKind>>,
}

impl Registry {
    /// From the genesis document. A key listed by two agencies (which `Genesis::validate`
    /// refuses) counts for the first.
    pub fn from_genesis(genesis: &Genesis) -> Registry {
        let mut genesis_officers = BTreeMap::new();
        for a in &genesis.agencies {
            for k in &a.officer_keys {
                genesis_officers.entry(*k).or_insert_with(|| a.id.clone());
            }
        }
        let genesis_agencies = genesis
            .agencies
            .iter()
            .map(|a| {
                let st = AgencyState {
                    role: a.role.clone(),
                    name: a.name.clone(),
                    active: true,
                    changed_by: None,
                    p2p_addr: a.p2p_addr.clone(),
                    grpc_addr: a.grpc_addr.clone(),
                    tls_cert: a.tls_cert.clone(),
                };
                (a.id.clone(), st)
            })
            .collect();
        let roles = genesis
            .roles
            .iter()
            .map(|(r, k)| (r.clone(), k.iter().copied().collect()))
            .collect();
        Registry {
            genesis_officers,
            genesis_agencies,
            roles,
        }
    }

    /// The agency registry in force.
    pub fn agencies(&self, state: &dyn StateRead) -> Agencies {
        read(state, keys::AGENCIES).unwrap_or_else(|| self.genesis_agencies.clone())
    }

    /// `f` of the agency registry in force, without copying the genesis registry when
    /// state holds none.
    pub(crate) fn with_agencies<R>(
        &self,
        state: &dyn StateRead,
        f: impl FnOnce(&Agencies) -> R,
    ) -> R {
        match read::<Agencies>(state, keys::AGENCIES) {
            Some(stored) => f(&stored),
            None => f(&self.genesis_agencies),
        }
    }

    /// Ids of the active agencies.
    pub fn active_agencies(&self, state: &dyn StateRead) -> Vec<String> {
        self.agencies(state)
            .into_iter()
            .filter(|(_, a)| a.active)
            .map(|(id, _)| id)
            .collect()
    }

    /// True when the role table defines `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    /// True when `key` is an officer in genesis.
    pub fn is_genesis_officer(&self, key: &PublicKey) -> bool {
        self.genesis_officers.contains_key(key)
    }

    /// The one answer to "is this key an officer, of which agency, with which role" in
    /// the state `state` (execution, admission, request authentication and the private
    /// store all ask here): the officer, or why its signature does not count — unknown,
    /// revoked, or of a removed agency. The refusal's text is part of committed results
    /// (R0-signer), so it never changes.
    pub fn officer(&self, state: &dyn StateRead, key: &PublicKey) -> Result<Officer, NotAnOfficer> {
        let agency = match read::<OfficerState>(state, &keys::officer(key)) {
            Some(OfficerState {
                revoked: Some((tx, height)),
                agency,
                ..
            }) => {
                return Err(NotAnOfficer::Revoked {
                    key: *key,
                    agency,
                    tx,
                    height,
                })
            }
            Some(o) => (o.agency, o.roles),
            None => match self.genesis_officers.get(key) {
                Some(a) => (a.clone(), vec![HEAD_ROLE.to_string()]),
                None => return Err(NotAnOfficer::Unknown(*key)),
            },
        };
        let (agency, roles) = agency;
        self.with_agencies(state, |agencies| match agencies.get(&agency) {
            Some(a) if a.active => Ok(Officer {
                key: *key,
                role: a.role.clone(),
                agency: agency.clone(),
                roles,
            }),
            Some(a) => Err(NotAnOfficer::AgencyRemoved {
                key: *key,
                agency: agency.clone(),
                by: a.changed_by.clone(),
            }),
            None => Err(NotAnOfficer::AgencyNotRegistered {
                key: *key,
                agency: agency.clone(),
            }),
        })
    }

    /// True when `key` was ever registered as an officer, in genesis or on chain, revoked
    /// or not: the "known signer" of `valid(v)` (execution refuses a revoked officer with
    /// R0-signer and records it). The same answer as [`Registry::officer`] being `Ok` or an
    /// error with [`NotAnOfficer::was_registered`], from one state read.
    pub fn ever_registered(&self, state: &dyn StateRead, key: &PublicKey) -> bool {
        self.genesis_officers.contains_key(key) || state.get(&keys::officer(key)).is_some()
    }

    /// R0-signer for the submitter: its agency. (On refusal the executor still uses up
    /// the transaction's sequence: `rules/sequence.rs`.)
    pub fn submitter<'t>(
        &self,
        state: &dyn StateRead,
        tx: &'t Transaction,
    ) -> Result<(&'t PublicKey, String), Refusal> {
        let Some(key) = tx.submitter() else {
            return Err(Refusal::new(
                R0_SIGNER,
                "the transaction has no signer".into(),
            ));
        };
        self.officer(state, key)
            .map(|o| (key, o.agency))
            .map_err(|why| Refusal::new(R0_SIGNER, format!("submitter: {why}")))
    }

    /// R0-signer for co-signers: each is a current officer of `agency`.
    pub fn check_cosigners(
        &self,
        state: &dyn StateRead,
        tx: &Transaction,
        agency: &str,
    ) -> Result<(), Refusal> {
        for s in tx.signatures.iter().skip(1) {
            match self.officer(state, &s.signer).map(|o| o.agency) {
                Ok(a) if a == agency => {}
                Ok(other) => {
                    return Err(Refusal::new(
                        R0_SIGNER,
                        format!(
                            "co-signer {} is an officer of agency {other}, not of the \
                             submitter's agency {agency}",
                            s.signer
                        ),
                    ))
                }
                Err(why) => return Err(Refusal::new(R0_SIGNER, format!("co-signer: {why}"))),
            }
        }
        Ok(())
    }

    /// R1-permission: `agency`'s role lists `kind`.
    pub fn check_permission(
        &self,
        state: &dyn StateRead,
        agency: &str,
        kind: TxKind,
    ) -> Result<(), Refusal> {
        let role = self.with_agencies(state, |agencies| {
            agencies
                .get(agency)
                .map(|a| a.role.clone())
                .unwrap_or_else(|| "(none)".into())
        });
        let empty = BTreeSet::new();
        let kinds = self.roles.get(&role).unwrap_or(&empty);
        if kinds.contains(&kind) {
            return Ok(());
        }
        let allowed: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        Err(Refusal::new(
            R1_PERMISSION,
            format!(
                "agency {agency} (role {role}) may not submit {}; its role allows [{}]",
                kind.name(),
                allowed.join(", ")
            ),
        ))
    }

    /// R1-role: every signer (submitter and co-signers, already known to be current
    /// officers) holds a post whose entry in the governed table
    /// [`RuleParams::officer_roles`] lists `kind`. The refusal names the officer, its roles
    /// and the roles that would do.
    pub fn check_roles(
        &self,
        state: &dyn StateRead,
        tx: &Transaction,
        kind: TxKind,
        params: &RuleParams,
    ) -> Result<(), Refusal> {
        for s in &tx.signatures {
            let Ok(officer) = self.officer(state, &s.signer) else {
                continue; // R0-signer judged it already
            };
            if params.posts_allow(&officer.roles, kind) {
                continue;
            }
            let would: Vec<&str> = params
                .officer_roles
                .iter()
                .filter(|(_, kinds)| kinds.contains(&kind))
                .map(|(r, _)| r.as_str())
                .collect();
            let name = read::<OfficerState>(state, &keys::officer(&s.signer))
                .map(|o| o.name)
                .filter(|n| !n.is_empty())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            return Err(Refusal::new(
                R1_ROLE,
                format!(
                    "officer {}{name} of agency {} holds roles [{}], none of which may sign \
                     {} under officer_roles; roles that may: [{}]",
                    s.signer,
                    officer.agency,
                    officer.roles.join(", "),
                    kind.name(),
                    would.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Changes `agency`'s count of active heads by `delta` (`heads/` ‖ agency; the
    /// genesis officers of the agency until first written). R1-officer refuses a change
    /// that would leave the agency without a head: no one could then register, revoke or
    /// set posts for its officers.
    fn count_heads(&self, view: &mut Overlay<'_>, agency: &str, delta: i64) -> Result<(), Refusal> {
        let key = keys::heads(agency);
        let now: u64 = read(view, &key).unwrap_or_else(|| {
            self.genesis_officers
                .values()
                .filter(|a| a.as_str() == agency)
                .count() as u64
        });
        let next = now.saturating_add_signed(delta);
        if next == 0 {
            return Err(Refusal::new(
                R1_OFFICER,
                format!(
                    "this would leave agency {agency} without an officer holding head: \
                     register another head first"
                ),
            ));
        }
        view.put(key, &next);
        Ok(())
    }

    /// Applies an officer registration or revocation by `agency` (DESIGN §3 "Keys": by
    /// the officer's own agency). R1-officer refuses registering a key that is already an
    /// officer (or was revoked: keys are not reused) and revoking one of another agency or
    /// one already revoked, and leaving the agency without a head (`heads/`).
    pub fn apply_officer_action(
        &self,
        view: &mut Overlay<'_>,
        a: &OfficerAction,
        agency: &str,
        tx_id: TxId,
        height: u64,
        params: &RuleParams,
    ) -> Result<(), Refusal> {
        if let Some(unknown) = a
            .roles
            .iter()
            .find(|r| !params.officer_roles.contains_key(r.as_str()))
        {
            let known: Vec<&str> = params.officer_roles.keys().map(String::as_str).collect();
            return Err(Refusal::new(
                R1_OFFICER,
                format!(
                    "field roles: {unknown:?} is not a role of officer_roles [{}]",
                    known.join(", ")
                ),
            ));
        }
        let key = keys::officer(&a.officer);
        let current = read::<OfficerState>(view, &key).or_else(|| {
            self.genesis_officers
                .get(&a.officer)
                .map(|ag| OfficerState {
                    agency: ag.clone(),
                    name: String::new(),
                    registered: None,
                    revoked: None,
                    roles: vec![HEAD_ROLE.to_string()],
                })
        });
        let refuse = |why: String| Err(Refusal::new(R1_OFFICER, why));
        match (a.action, current) {
            (OfficerActionKind::Register, None) => {
                if holds_head(&a.roles) {
                    self.count_heads(view, agency, 1)?;
                }
                let st = OfficerState {
                    agency: agency.to_string(),
                    name: a.name.clone(),
                    registered: Some((tx_id, height)),
                    revoked: None,
                    roles: a.roles.clone(),
                };
                view.put(key, &st);
                Ok(())
            }
            (OfficerActionKind::Register, Some(o)) => refuse(format!(
                "key {} is already an officer of agency {}{}; keys are not re-registered",
                a.officer,
                o.agency,
                o.revoked
                    .map(|(t, h)| format!(" (revoked by tx {t} at height {h})"))
                    .unwrap_or_default()
            )),
            (OfficerActionKind::Revoke | OfficerActionKind::SetRoles, None) => {
                refuse(format!("key {} is not a registered officer", a.officer))
            }
            (_, Some(o)) if o.agency != agency => refuse(format!(
                "officer {} belongs to agency {}; only its own agency may revoke it or set \
                 its roles, not {agency}",
                a.officer, o.agency
            )),
            (OfficerActionKind::SetRoles, Some(mut o)) => {
                if let Some((t, h)) = o.revoked {
                    return refuse(format!(
                        "officer {} was revoked by tx {t} at height {h}",
                        a.officer
                    ));
                }
                match (holds_head(&o.roles), holds_head(&a.roles)) {
                    (true, false) => self.count_heads(view, agency, -1)?,
                    (false, true) => self.count_heads(view, agency, 1)?,
                    _ => {}
                }
                o.roles.clone_from(&a.roles);
                if o.name.is_empty() {
                    o.name.clone_from(&a.name);
                }
                view.put(key, &o);
                Ok(())
            }
            (OfficerActionKind::Revoke, Some(mut o)) => {
                if let Some((t, h)) = o.revoked {
                    return refuse(format!(
                        "officer {} was already revoked by tx {t} at height {h}",
                        a.officer
                    ));
                }
                if holds_head(&o.roles) {
                    self.count_heads(view, agency, -1)?;
                }
                o.revoked = Some((tx_id, height));
                if o.name.is_empty() {
                    o.name.clone_from(&a.name);
                }
                view.put(key, &o);
                Ok(())
            }
        }
    }
}

/// Whether `roles` hold the post `head`.
fn holds_head(roles: &[String]) -> bool {
    roles.iter().any(|r| r == HEAD_ROLE)
}
