//! The genesis document: chain id, agencies with their keys, addresses and voting power,
//! which roles may submit which transaction kinds (rule R1), and consensus parameters.
//!
//! An auditor's offline verifier trusts nothing but this file.

use crate::encoding::to_canonical;
use crate::hash::{Domain, Hash};
use crate::keys::PublicKey;
use crate::limits::MAX_CHAIN_ID_BYTES;
use crate::records::TxKind;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One agency: a validator (when `power > 0`) and the home of its officers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Short id, e.g. `chicago-bacp`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role; see [`Genesis::roles`].
    pub role: String,
    /// The node key: libp2p PeerId and consensus signing key.
    pub node_key: PublicKey,
    /// Officer keys registered at genesis (the first officer at least).
    pub officer_keys: Vec<PublicKey>,
    /// libp2p listen address, a multiaddr such as `/ip4/127.0.0.1/tcp/26656`.
    pub p2p_addr: String,
    /// gRPC endpoint, such as `https://127.0.0.1:50051` (`http://` only without a
    /// `tls_cert`).
    pub grpc_addr: String,
    /// The node's TLS certificate (PEM), pinned: clients trust exactly this certificate at
    /// `grpc_addr` (empty: the API is served without TLS, for tests and old networks).
    #[serde(default)]
    pub tls_cert: String,
    /// Voting power (0: not a validator).
    pub power: u64,
}

/// An auditor registered at genesis: may read desensitized views, checkpoints and proofs
/// through the authenticated API (issue 8), never private fields or whole blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auditor {
    /// Short id, e.g. `national-audit-office`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The auditor's request-signing key.
    pub key: PublicKey,
}

/// Timeouts and block bounds (TENDERMINT.md "Timeouts": `initial + round × delta`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusParams {
    /// Propose timeout in round 0, ms.
    pub timeout_propose_ms: u64,
    /// Growth of the propose timeout per round, ms.
    pub timeout_propose_delta_ms: u64,
    /// Prevote timeout in round 0, ms.
    pub timeout_prevote_ms: u64,
    /// Growth per round, ms.
    pub timeout_prevote_delta_ms: u64,
    /// Precommit timeout in round 0, ms.
    pub timeout_precommit_ms: u64,
    /// Growth per round, ms.
    pub timeout_precommit_delta_ms: u64,
    /// Wait after a commit before proposing the next height, ms (lets transactions gather).
    pub timeout_commit_ms: u64,
    /// Most transactions in a block.
    pub max_block_txs: u32,
    /// Largest block body, bytes.
    pub max_block_bytes: u64,
    /// How far a fresh proposal's time may be ahead of or behind the local clock, ms.
    pub max_clock_drift_ms: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            timeout_propose_ms: 3_000,
            timeout_propose_delta_ms: 500,
            timeout_prevote_ms: 1_000,
            timeout_prevote_delta_ms: 500,
            timeout_precommit_ms: 1_000,
            timeout_precommit_delta_ms: 500,
            timeout_commit_ms: 100,
            max_block_txs: 2_000,
            max_block_bytes: 2 * 1024 * 1024,
            max_clock_drift_ms: 10_000,
        }
    }
}

/// The genesis document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain id; every transaction and vote names it.
    pub chain_id: String,
    /// Time of the genesis; block 1's time must be after it.
    pub genesis_time: Timestamp,
    /// The agencies, in validator order.
    pub agencies: Vec<Agency>,
    /// Role → transaction kinds its agencies' officers may submit (R1).
    pub roles: BTreeMap<String, Vec<TxKind>>,
    /// Consensus parameters.
    pub consensus: ConsensusParams,
    /// Auditors allowed to read views, checkpoints and proofs (absent: none).
    #[serde(default)]
    pub auditors: Vec<Auditor>,
}

/// Why a genesis document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenesisError {
    /// Names the problem.
    #[error("invalid genesis: {0}")]
    Invalid(String),
}

/// One validator of a [`ValidatorSet`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    /// Its agency id.
    pub agency: String,
    /// Its node key.
    pub key: PublicKey,
    /// Voting power (> 0).
    pub power: u64,
}

/// The validators of a height, in a fixed order; quorum is > 2/3 of the total power.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSet {
    /// Validators in genesis order.
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// Sum of voting power.
    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }

    /// True when `power` is more than 2/3 of the total (a quorum).
    pub fn is_quorum(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power() as u128 * 2
    }

    /// True when `power` is more than 1/3 of the total (rule 8, round skip).
    pub fn is_one_third(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power() as u128
    }

    /// The voting power of `key`, 0 when it is not a validator.
    pub fn power_of(&self, key: &PublicKey) -> u64 {
        self.get(key).map(|v| v.power).unwrap_or(0)
    }

    /// The validator with this key.
    pub fn get(&self, key: &PublicKey) -> Option<&Validator> {
        self.validators.iter().find(|v| &v.key == key)
    }

    /// Deterministic weighted round-robin: the proposer of (height, round) is the validator
    /// whose cumulative power interval holds `(height + round) mod total_power`.
    pub fn proposer(&self, height: u64, round: u32) -> &Validator {
        let total = self.total_power().max(1);
        let mut slot = (height.wrapping_add(round as u64)) % total;
        for v in &self.validators {
            if slot < v.power {
                return v;
            }
            slot -= v.power;
        }
        &self.validators[0]
    }

    /// [`Domain::ValidatorSet`] hash of the canonical encoding.
    pub fn hash(&self) -> Hash {
        Domain::ValidatorSet.hash(&to_canonical(self))
    }
}

impl Genesis {
    /// Checks the document: chain id bound, unique agency and auditor ids, node, officer and
    /// auditor keys valid and unique, at least one validator, roles of agencies defined, power sum in range.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |s: String| Err(GenesisError::Invalid(s));
        if self.chain_id.is_empty() || self.chain_id.len() > MAX_CHAIN_ID_BYTES {
            return bad(format!("chain_id must be 1..={MAX_CHAIN_ID_BYTES} bytes"));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        let mut total: u64 = 0;
        for a in &self.agencies {
            if !ids.insert(a.id.clone()) {
                return bad(format!("agency id {} appears twice", a.id));
            }
            if !self.roles.contains_key(&a.role) {
                return bad(format!("agency {} has undefined role {}", a.id, a.role));
            }
            let https = a.grpc_addr.starts_with("https://");
            if https == a.tls_cert.is_empty() {
                return bad(format!(
                    "agency {}: an https:// grpc_addr needs a tls_cert and a tls_cert an \
                     https:// grpc_addr",
                    a.id
                ));
            }
            if https && !a.tls_cert.contains("-----BEGIN CERTIFICATE-----") {
                return bad(format!(
                    "agency {}: tls_cert is not a PEM certificate",
                    a.id
                ));
            }
            for k in std::iter::once(&a.node_key).chain(&a.officer_keys) {
                k.validate()
                    .map_err(|e| GenesisError::Invalid(format!("agency {}: {e}", a.id)))?;
                if !keys.insert(*k) {
                    return bad(format!("key {k} appears twice"));
                }
            }
            total = total
                .checked_add(a.power)
                .ok_or_else(|| GenesisError::Invalid("voting power overflows".into()))?;
        }
        for a in &self.auditors {
            if !ids.insert(a.id.clone()) {
                return bad(format!("id {} appears twice (agencies and auditors)", a.id));
            }
            a.key
                .validate()
                .map_err(|e| GenesisError::Invalid(format!("auditor {}: {e}", a.id)))?;
            if !keys.insert(a.key) {
                return bad(format!("key {} appears twice", a.key));
            }
        }
        if total == 0 {
            return bad("no agency has voting power".into());
        }
        if total > u64::MAX / 4 {
            return bad("total voting power too large".into());
        }
        Ok(())
    }

    /// The validator set at genesis: agencies with power > 0, in document order.
    pub fn validator_set(&self) -> ValidatorSet {
        ValidatorSet {
            validators: self
                .agencies
                .iter()
                .filter(|a| a.power > 0)
                .map(|a| Validator {
                    agency: a.id.clone(),
                    key: a.node_key,
                    power: a.power,
                })
                .collect(),
        }
    }

    /// [`Domain::Genesis`] hash; block 1's `prev_hash`.
    pub fn hash(&self) -> Hash {
        Domain::Genesis.hash(&to_canonical(self))
    }

    /// The agency whose officer this key is (genesis registrations only).
    pub fn agency_of_officer(&self, key: &PublicKey) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.officer_keys.contains(key))
    }

    /// The auditor registered with this key.
    pub fn auditor(&self, key: &PublicKey) -> Option<&Auditor> {
        self.auditors.iter().find(|a| a.key == *key)
    }

    /// The agency with this id.
    pub fn agency(&self, id: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.id == id)
    }
}
