//! State proofs: what some state keys held after a height, proven against the state root a
//! certified header names ([`crate::state_tree`]).
//!
//! Format (canonical JSON like a view; every byte string is lowercase hex):
//! ```text
//! {"format": "safeledger-state-proof", "version": 1, "chain_id",
//!  "height": h,                        // the state after block h ...
//!  "header": <header h+1>,             // ... whose state_root header h+1 names
//!  "certificate": <its commit certificate>,
//!  "validator_path": [<set changes from genesis to h+1>],
//!  "entries": [{"key": "<hex>", "value": "<hex>" | null, "proof": {"siblings", "leaf"}}]}
//! ```
//! A `null` value claims the key absent (non-inclusion). The verifier checks the document,
//! then the header from genesis like a view's, then each entry in order, and names the
//! first failing element (`entries[2].proof`).

use super::{Element, Reason, StatePart, Verifier, ViewError, VIEW_VERSION};
use crate::block::{CommitCertificate, Header};
use crate::lightclient::SetChange;
use crate::state_tree::{verify, StateProof};
use serde::{Deserialize, Serialize};

/// `format` of a state proof.
pub const STATE_PROOF_FORMAT: &str = "safeledger-state-proof";
/// Most entries one state proof may carry.
pub const MAX_STATE_ENTRIES: usize = 64;

/// A state proof document (module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateProofDoc {
    /// [`STATE_PROOF_FORMAT`].
    pub format: String,
    /// [`VIEW_VERSION`].
    pub version: u32,
    /// The genesis chain id.
    pub chain_id: String,
    /// The height whose resulting state is proven.
    pub height: u64,
    /// Header `height + 1`, naming that state's root.
    pub header: Header,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// Validator-set changes from genesis to the header.
    pub validator_path: Vec<SetChange>,
    /// The keys proven.
    pub entries: Vec<StateEntry>,
}

/// One key, what it held (or `None`: absent), and the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateEntry {
    /// The state key.
    #[serde(with = "super::hex_bytes")]
    pub key: Vec<u8>,
    /// Its value, or `None` when absent.
    #[serde(with = "opt_hex")]
    pub value: Option<Vec<u8>>,
    /// The inclusion or non-inclusion proof.
    pub proof: StateProof,
}

impl Verifier {
    /// Verifies a state proof from genesis: document, header h+1 and its certificate, then
    /// every entry against the header's `state_root`.
    ///
    /// # Errors
    /// The first element that fails.
    pub fn verify_state(&self, doc: &StateProofDoc) -> Result<(), ViewError> {
        super::verify::check_doc(
            &doc.format,
            STATE_PROOF_FORMAT,
            doc.version,
            VIEW_VERSION,
            &doc.chain_id,
            &self.trust,
        )?;
        if doc.entries.is_empty() || doc.entries.len() > MAX_STATE_ENTRIES {
            return Err(ViewError::mismatch(
                Element::StateEntries,
                format!(
                    "{} entries: a state proof holds 1 to {MAX_STATE_ENTRIES}",
                    doc.entries.len()
                ),
            ));
        }
        self.certified_header(
            &doc.header,
            &doc.certificate,
            &doc.validator_path,
            Element::Header,
        )?;
        if doc.header.height != doc.height.saturating_add(1) {
            return Err(ViewError::mismatch(
                Element::StateHeight,
                format!(
                    "height {} is not proven by header {} (the state after h is named by header h+1)",
                    doc.height, doc.header.height
                ),
            ));
        }
        for (i, e) in doc.entries.iter().enumerate() {
            verify(&doc.header.state_root, &e.key, e.value.as_deref(), &e.proof).map_err(
                |err| {
                    let part = match err {
                        crate::state_tree::StateProofError::ValueMismatch
                        | crate::state_tree::StateProofError::PresentNotAbsent
                        | crate::state_tree::StateProofError::AbsentNotPresent => StatePart::Value,
                        _ => StatePart::Proof,
                    };
                    ViewError::new(Element::StateEntry(i, part), Reason::State(err))
                },
            )?;
        }
        Ok(())
    }
}

mod opt_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}
