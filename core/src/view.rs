//! Desensitized views and checkpoints: what an auditor receives and verifies offline,
//! trusting only the genesis file (DESIGN §4).
//!
//! # View format, versions 1 and 2
//!
//! A view is a JSON document. Every value in it is checked; formatting (whitespace, key
//! order) is not a value. Hashes, keys, signatures, salts and canonical bytes are lowercase
//! hex; anything that does not re-encode to the same JSON value (unknown keys, upper-case
//! hex, a missing key) is refused.
//!
//! ```text
//! {
//!   "format": "safeledger-view", "version": 1, "chain_id": "<genesis chain id>",
//!   "tx": {
//!     "id": <tx id>,
//!     "envelope": {"chain_id", "sequence", "effective_at", "field_root"},
//!     "signatures": [{"signer", "signature"}, ...],
//!     "fields": [                       // every field of the record, in commitment order
//!       {"revealed": {"index", "name", "salt", "canonical", "value"}},
//!       {"hidden": {"index", "digest"}},
//!       {"hidden": {"index", "digest", "erased": true}}, ...]   // version 2 only
//!   },
//!   "block":  {"header": <header h>, "index": i, "proof": [hash, ...]},
//!   "result": {"header": <header h+1>, "result": <TxResult>, "proof": [hash, ...]},
//!   "certificate": <commit certificate of header h+1>,
//!   "validator_path": [<SetChange>, ...],          // genesis set → set of header h+1
//!   "ledger": {"tree_size", "index", "proof"}      // optional
//! }
//! ```
//!
//! - A field leaf is `H_field(salt ‖ len(name) ‖ name ‖ canonical)` ([`crate::tx::field_leaf`]);
//!   `digest` is that value for a hidden field. `value` is the revealed field's canonical
//!   bytes decoded to JSON (null for a field this verifier cannot decode); `type` is always
//!   revealed. The RFC 9162 root over all field leaves must be the envelope's `field_root`.
//! - The transaction id is the hash of the envelope ([`crate::envelope`]); each signature
//!   is an officer's over it; the block leaf is `H(0x00 ‖ id ‖ H(signatures))`, proved in
//!   header h's `tx_root` with `tx_count` leaves (RFC 9162 §2.1.3 audit path).
//! - The result is proved at the same index in header h+1's `results_root` (results of
//!   block h; `tx_count` of header h leaves). Header h is authenticated by header h+1's
//!   `prev_hash`; header h+1 by the certificate under the validator set the path reaches
//!   from genesis ([`crate::lightclient`]).
//! - `ledger`, when present, proves the same leaf at ledger index
//!   `ledger_size(h) − tx_count(h) + i` in a ledger tree of `tree_size` leaves (RFC 9162
//!   §2.1.3): of header h, header h+1, or a checkpoint the verifier trusts.
//!
//! - `erased` (version 2): the node that built the view erased the value of this private
//!   field (DESIGN §4: the recording agency destroyed its key; only the commitment is left).
//!   It is **the serving node's statement, not a proven claim**: nothing signed or
//!   committed records an erasure, so a verifier cannot tell a true flag from a false one,
//!   and a view with the flag removed (and version 1) verifies as well. What is proven is
//!   the digest, exactly as for any hidden field. The verifier checks only that the flag is
//!   on a field of a kind that may be private ([`crate::private::withholdable`]). The key
//!   appears only when true.
//! - `version` is 2 exactly when some field is marked `erased`, and 1 otherwise, so views
//!   without erasures stay readable by version-1 verifiers and a changed version is
//!   refused like any changed value.
//!
//! A checkpoint is `{"format": "safeledger-checkpoint", "version": 1, "chain_id", "header",
//! "certificate", "validator_path"}`: a certified header, for consistency proofs between two
//! checkpoints (RFC 9162 §2.1.4) and as a trusted header for views.
//!
//! The verifier ([`Verifier`]) checks from the trust anchor outward — path, certificate,
//! headers, transaction, fields, result, ledger anchor — and returns the first element that
//! fails as a [`ViewError`] whose [`Element`] prints as a path such as `tx.fields[3].value`.

mod build;
mod schema;
mod state;
mod verify;

pub use build::{build_view, BuildError, ViewSource};
pub use schema::{decode_kind, decode_value, field_names};
pub use state::{StateEntry, StateProofDoc, MAX_STATE_ENTRIES, STATE_PROOF_FORMAT};
pub use verify::{Verified, Verifier};

use crate::block::{CommitCertificate, Header};
use crate::envelope::Envelope;
use crate::hash::Hash;
use crate::lightclient::{LightError, SetChange};
use crate::limits::MAX_MESSAGE_BYTES;
use crate::proof::ProofError;
use crate::result::TxResult;
use crate::tx::{Salt, TxId, TxSignature};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `format` of a view.
pub const VIEW_FORMAT: &str = "safeledger-view";
/// `format` of a checkpoint.
pub const CHECKPOINT_FORMAT: &str = "safeledger-checkpoint";
/// The version of checkpoints, and of views that mark no field erased.
pub const VIEW_VERSION: u32 = 1;
/// The version of a view that marks at least one hidden field `erased` (module docs).
pub const VIEW_VERSION_ERASED: u32 = 2;
/// Largest view or checkpoint document accepted, in bytes.
pub const MAX_VIEW_BYTES: usize = MAX_MESSAGE_BYTES;

/// A desensitized view of one transaction (module docs: the format).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// [`VIEW_FORMAT`].
    pub format: String,
    /// [`VIEW_VERSION`].
    pub version: u32,
    /// The genesis chain id.
    pub chain_id: String,
    /// The transaction.
    pub tx: TxView,
    /// Its inclusion in block h.
    pub block: BlockInclusion,
    /// Its result's inclusion in header h+1.
    pub result: ResultInclusion,
    /// The commit certificate of header h+1.
    pub certificate: CommitCertificate,
    /// Validator-set changes from genesis to header h+1.
    pub validator_path: Vec<SetChange>,
    /// Optional: the transaction's leaf in a ledger tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerInclusion>,
}

impl View {
    /// The version this view must carry: [`VIEW_VERSION_ERASED`] when a field is marked
    /// erased, [`VIEW_VERSION`] otherwise.
    pub fn required_version(&self) -> u32 {
        let erased = self
            .tx
            .fields
            .iter()
            .any(|f| matches!(f, FieldView::Hidden { erased: true, .. }));
        if erased {
            VIEW_VERSION_ERASED
        } else {
            VIEW_VERSION
        }
    }
}

/// The transaction of a view: envelope, signatures and every field, revealed or hidden.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TxView {
    /// The transaction id (recomputed from the envelope and compared).
    pub id: TxId,
    /// The signed envelope.
    pub envelope: Envelope,
    /// The officers' signatures.
    pub signatures: Vec<TxSignature>,
    /// Every field in commitment order.
    pub fields: Vec<FieldView>,
}

/// One field of a record in a view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldView {
    /// Shown: salt and committed bytes, and the bytes decoded for reading.
    Revealed {
        /// Position in the record.
        index: u32,
        /// Field name.
        name: String,
        /// The 128-bit salt.
        #[serde(with = "hex_salt")]
        salt: Salt,
        /// The committed canonical bytes.
        #[serde(with = "hex_bytes")]
        canonical: Vec<u8>,
        /// `canonical` decoded to JSON (null when this version cannot decode the field).
        value: Option<serde_json::Value>,
    },
    /// Not shown: its leaf digest only (its name follows from the record type).
    Hidden {
        /// Position in the record.
        index: u32,
        /// H_field(salt ‖ len(name) ‖ name ‖ canonical).
        digest: Hash,
        /// The serving node states that it erased the value of this private field (not
        /// proven: module docs). Serialized only when true.
        #[serde(default, skip_serializing_if = "is_false")]
        erased: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl FieldView {
    /// Position in the record.
    pub fn index(&self) -> u32 {
        match self {
            FieldView::Revealed { index, .. } | FieldView::Hidden { index, .. } => *index,
        }
    }
}

/// A transaction's inclusion in its block's `tx_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInclusion {
    /// Header h.
    pub header: Header,
    /// Position in the block.
    pub index: u32,
    /// RFC 9162 audit path in `tx_root`.
    pub proof: Vec<Hash>,
}

/// A result's inclusion in the next header's `results_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultInclusion {
    /// Header h+1.
    pub header: Header,
    /// The result.
    pub result: TxResult,
    /// RFC 9162 audit path in `results_root`.
    pub proof: Vec<Hash>,
}

/// A transaction leaf's inclusion in a ledger tree (RFC 9162 §2.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerInclusion {
    /// Leaves of the tree proved against.
    pub tree_size: u64,
    /// The transaction's ledger index.
    pub index: u64,
    /// The audit path.
    pub proof: Vec<Hash>,
}

/// A certified header (module docs: the format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`VIEW_VERSION`].
    pub version: u32,
    /// The genesis chain id.
    pub chain_id: String,
    /// The header.
    pub header: Header,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// Validator-set changes from genesis to the header.
    pub validator_path: Vec<SetChange>,
}

impl Checkpoint {
    /// A checkpoint document for a certified header.
    pub fn new(header: Header, certificate: CommitCertificate, path: Vec<SetChange>) -> Self {
        Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            version: VIEW_VERSION,
            chain_id: header.chain_id.clone(),
            header,
            certificate,
            validator_path: path,
        }
    }
}

/// The part of a validator-path step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepPart {
    /// `header`.
    Header,
    /// `certificate`.
    Certificate,
    /// `next_validators`.
    NextValidators,
}

/// The part of a state proof entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatePart {
    /// `key`.
    Key,
    /// `value`.
    Value,
    /// `proof`.
    Proof,
}

/// The part of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldPart {
    /// `index`.
    Index,
    /// `name`.
    Name,
    /// `canonical`.
    Canonical,
    /// `value`.
    Value,
    /// `erased`.
    Erased,
}

/// An element of a view or checkpoint; `Display` gives its path in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// The whole document (does not parse, or is not in canonical JSON form).
    Document,
    /// `format`.
    Format,
    /// `version`.
    Version,
    /// `chain_id`.
    ChainId,
    /// `validator_path[i].<part>`.
    PathStep(usize, StepPart),
    /// `validator_path` as a whole.
    Path,
    /// A checkpoint's `header`.
    Header,
    /// `result.header` (header h+1).
    ResultHeader,
    /// `certificate`.
    Certificate,
    /// `certificate.signatures[i]`.
    CertificateSignature(usize),
    /// `block.header` (header h).
    BlockHeader,
    /// `block.index`.
    BlockIndex,
    /// `block.proof`.
    BlockProof,
    /// `tx.id`.
    TxId,
    /// `tx.envelope`.
    Envelope,
    /// `tx.envelope.field_root` (the fields do not hash to it).
    FieldRoot,
    /// `tx.signatures`.
    Signatures,
    /// `tx.signatures[i]`.
    Signature(usize),
    /// `tx.fields`.
    Fields,
    /// `tx.fields[i].<part>`.
    Field(usize, FieldPart),
    /// `result.result`.
    Result,
    /// `result.proof`.
    ResultProof,
    /// `ledger.index`.
    LedgerIndex,
    /// `ledger.tree_size`.
    LedgerTreeSize,
    /// `ledger.proof`.
    LedgerProof,
    /// A state proof's `height`.
    StateHeight,
    /// A state proof's `entries` as a whole.
    StateEntries,
    /// `entries[i].<part>` of a state proof.
    StateEntry(usize, StatePart),
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Document => f.write_str("document"),
            Element::Format => f.write_str("format"),
            Element::Version => f.write_str("version"),
            Element::ChainId => f.write_str("chain_id"),
            Element::PathStep(i, p) => {
                let part = match p {
                    StepPart::Header => "header",
                    StepPart::Certificate => "certificate",
                    StepPart::NextValidators => "next_validators",
                };
                write!(f, "validator_path[{i}].{part}")
            }
            Element::Path => f.write_str("validator_path"),
            Element::Header => f.write_str("header"),
            Element::ResultHeader => f.write_str("result.header"),
            Element::Certificate => f.write_str("certificate"),
            Element::CertificateSignature(i) => write!(f, "certificate.signatures[{i}]"),
            Element::BlockHeader => f.write_str("block.header"),
            Element::BlockIndex => f.write_str("block.index"),
            Element::BlockProof => f.write_str("block.proof"),
            Element::TxId => f.write_str("tx.id"),
            Element::Envelope => f.write_str("tx.envelope"),
            Element::FieldRoot => f.write_str("tx.envelope.field_root"),
            Element::Signatures => f.write_str("tx.signatures"),
            Element::Signature(i) => write!(f, "tx.signatures[{i}]"),
            Element::Fields => f.write_str("tx.fields"),
            Element::Field(i, p) => {
                let part = match p {
                    FieldPart::Index => "index",
                    FieldPart::Name => "name",
                    FieldPart::Canonical => "canonical",
                    FieldPart::Value => "value",
                    FieldPart::Erased => "erased",
                };
                write!(f, "tx.fields[{i}].{part}")
            }
            Element::Result => f.write_str("result.result"),
            Element::ResultProof => f.write_str("result.proof"),
            Element::LedgerIndex => f.write_str("ledger.index"),
            Element::LedgerTreeSize => f.write_str("ledger.tree_size"),
            Element::LedgerProof => f.write_str("ledger.proof"),
            Element::StateHeight => f.write_str("height"),
            Element::StateEntries => f.write_str("entries"),
            Element::StateEntry(i, p) => {
                let part = match p {
                    StatePart::Key => "key",
                    StatePart::Value => "value",
                    StatePart::Proof => "proof",
                };
                write!(f, "entries[{i}].{part}")
            }
        }
    }
}

/// Why an element failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// Bytes that are not a document of this type.
    #[error("does not decode: {0}")]
    Decode(String),
    /// JSON that does not re-encode to itself, at this JSON path.
    #[error("not canonical JSON at {0} (unknown key, upper-case hex or a changed value)")]
    NotCanonical(String),
    /// A format or version this verifier does not read.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A value that differs from what it must equal.
    #[error("{0}")]
    Mismatch(String),
    /// A header or path step failed light-client verification.
    #[error(transparent)]
    Light(#[from] LightError),
    /// A Merkle proof failed.
    #[error("Merkle proof: {0}")]
    Proof(#[from] ProofError),
    /// A signature does not verify.
    #[error("signature does not verify")]
    Signature,
    /// A state proof entry failed ([`crate::state_tree::verify`]).
    #[error("state proof: {0}")]
    State(#[from] crate::state_tree::StateProofError),
}

/// The first element of a view or checkpoint that failed verification, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {reason}")]
pub struct ViewError {
    /// Where.
    pub element: Element,
    /// Why.
    pub reason: Reason,
}

impl ViewError {
    /// An error at `element`.
    pub fn new(element: Element, reason: impl Into<Reason>) -> ViewError {
        ViewError {
            element,
            reason: reason.into(),
        }
    }

    /// A mismatch at `element`.
    pub fn mismatch(element: Element, what: impl Into<String>) -> ViewError {
        ViewError::new(element, Reason::Mismatch(what.into()))
    }
}

/// The first JSON path where `a` and `b` differ.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value as V;
    match (a, b) {
        (V::Object(x), V::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some(p),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}"))
        }
        (V::Array(x), V::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(va, vb, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}[{}]", x.len().min(y.len())))
        }
        _ => (a != b).then(|| path.to_string()),
    }
}

/// Decodes a view or checkpoint from JSON bytes: at most [`MAX_VIEW_BYTES`], valid JSON of
/// the document's shape, and canonical (re-encoding the decoded document gives the same JSON
/// value: no unknown keys, lowercase hex). Never panics.
pub fn decode<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, ViewError> {
    let doc = |r: Reason| ViewError::new(Element::Document, r);
    if bytes.len() > MAX_VIEW_BYTES {
        return Err(doc(Reason::Decode(format!(
            "{} bytes exceed the limit of {MAX_VIEW_BYTES}",
            bytes.len()
        ))));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| doc(Reason::Decode(e.to_string())))?;
    let typed = T::deserialize(&value).map_err(|e| doc(Reason::Decode(e.to_string())))?;
    let again = serde_json::to_value(&typed).map_err(|e| doc(Reason::Decode(e.to_string())))?;
    if let Some(path) = first_difference(&value, &again, "$") {
        return Err(doc(Reason::NotCanonical(path)));
    }
    Ok(typed)
}

/// A view or checkpoint as pretty JSON.
pub fn encode<T: Serialize>(doc: &T) -> String {
    // Our documents hold only strings, integers, sequences and string-keyed maps.
    serde_json::to_string_pretty(doc).unwrap_or_default()
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

mod hex_salt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}
