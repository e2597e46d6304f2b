//! Building a view from what a node stores: the transaction, its block's leaves and
//! results, the next header and its certificate, and the validator-set path.

use super::{
    schema, BlockInclusion, FieldView, LedgerInclusion, ResultInclusion, TxView, View, VIEW_FORMAT,
    VIEW_VERSION,
};
use crate::block::{CommitCertificate, Header};
use crate::envelope::Envelope;
use crate::hash::Hash;
use crate::lightclient::SetChange;
use crate::proof::{prove_one, ProofError};
use crate::result::{result_leaf, TxResult};
use crate::tx::{field_leaf, Transaction};

/// Everything a view is built from.
pub struct ViewSource<'a> {
    /// The transaction.
    pub tx: &'a Transaction,
    /// Header h, of the block holding it.
    pub block_header: &'a Header,
    /// Its position in block h.
    pub index: u32,
    /// The leaf hashes of block h ([`crate::block::tx_leaves`]).
    pub block_leaves: &'a [Hash],
    /// The results of block h, in block order.
    pub results: &'a [TxResult],
    /// Header h+1 (whose `results_root` covers `results`).
    pub result_header: &'a Header,
    /// The commit certificate of header h+1.
    pub certificate: &'a CommitCertificate,
    /// Validator-set changes from genesis to header h+1.
    pub validator_path: Vec<SetChange>,
    /// Optional inclusion of the transaction in a ledger tree.
    pub ledger: Option<LedgerInclusion>,
    /// Values of withheld fields this source holds (the recording agency's, or granted);
    /// a withheld field can be revealed only with its value here.
    pub private: Vec<crate::private::PrivateValue>,
    /// Names of withheld fields whose value this source erased: shown hidden and marked
    /// `erased` (the view is then version 2; see the module docs of [`crate::view`]).
    pub erased: Vec<String>,
}

/// Why a view could not be built.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// A field to reveal that the record does not have.
    #[error("the record has no field {name:?}; its fields are {fields}")]
    UnknownField {
        /// The name asked for.
        name: String,
        /// The record's field names, comma-separated.
        fields: String,
    },
    /// The stored pieces do not fit together.
    #[error("inconsistent source: {0}")]
    Inconsistent(String),
    /// A withheld field asked to be revealed by a source that does not hold its value.
    #[error("field {0:?} is private: only the recording agency, or an agency it granted access, holds its value")]
    Private(String),
    /// A field to reveal whose value the source erased: only its digest is left.
    #[error("field {0:?} was erased by the agency that held it: only its digest is left")]
    Erased(String),
    /// A proof could not be generated.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Builds the view of `src.tx` revealing the fields named in `reveal` (and `type`, always)
/// and showing the others as digests.
pub fn build_view(src: &ViewSource<'_>, reveal: &[String]) -> Result<View, BuildError> {
    let p = &src.tx.payload;
    let fields = p.body.fields();
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    if let Some(bad) = reveal.iter().find(|r| !names.contains(&r.as_str())) {
        return Err(BuildError::UnknownField {
            name: bad.clone(),
            fields: names.join(","),
        });
    }
    if p.field_salts.len() != fields.len() {
        return Err(BuildError::Inconsistent("salt count".into()));
    }
    let kind = p.body.kind();
    let withheld_name = |name: &str| {
        let i = names.iter().position(|n| *n == name);
        i.is_some_and(|i| p.withheld.iter().any(|w| w.index as usize == i))
    };
    if let Some(bad) = src.erased.iter().find(|e| !withheld_name(e)) {
        return Err(BuildError::Inconsistent(format!(
            "field {bad:?} is marked erased but is not withheld in the transaction"
        )));
    }
    if let Some(bad) = reveal.iter().find(|r| src.erased.contains(r)) {
        return Err(BuildError::Erased(bad.clone()));
    }
    for name in reveal {
        let i = names.iter().position(|n| n == name).unwrap_or(0);
        let withheld = p.withheld.iter().any(|w| w.index as usize == i);
        let held = src.private.iter().any(|v| v.index as usize == i);
        if withheld && !held {
            return Err(BuildError::Private(name.clone()));
        }
    }
    let field_views = fields
        .iter()
        .zip(&p.field_salts)
        .enumerate()
        .map(|(i, ((name, bytes), salt))| {
            let index = i as u32;
            let name = name.to_string();
            if let Some(w) = p.withheld.iter().find(|w| w.index as usize == i) {
                return match src.private.iter().find(|v| v.index as usize == i) {
                    Some(v) if reveal.contains(&name) => FieldView::Revealed {
                        index,
                        value: schema::decode_value(kind, &name, &v.value)
                            .and_then(Result::ok)
                            .filter(|j| !j.is_null()),
                        name,
                        salt: v.salt,
                        canonical: v.value.clone(),
                    },
                    _ => FieldView::Hidden {
                        index,
                        digest: w.leaf,
                        erased: src.erased.contains(&name),
                    },
                };
            }
            if i == 0 || reveal.contains(&name) {
                let value = schema::decode_value(kind, &name, bytes)
                    .and_then(Result::ok)
                    .filter(|j| !j.is_null());
                FieldView::Revealed {
                    index,
                    name,
                    salt: *salt,
                    canonical: bytes.clone(),
                    value,
                }
            } else {
                let digest = field_leaf(salt, &name, bytes);
                FieldView::Hidden {
                    index,
                    digest,
                    erased: false,
                }
            }
        })
        .collect();
    let i = src.index as usize;
    let id = src.tx.id();
    let result = src
        .results
        .get(i)
        .filter(|r| r.tx_id == id)
        .ok_or_else(|| BuildError::Inconsistent(format!("no result for {id} at index {i}")))?;
    if src.block_leaves.len() != src.results.len() {
        return Err(BuildError::Inconsistent(
            "results and leaves differ in count".into(),
        ));
    }
    let result_leaves: Vec<Hash> = src.results.iter().map(result_leaf).collect();
    let mut view = View {
        format: VIEW_FORMAT.into(),
        version: VIEW_VERSION,
        chain_id: p.chain_id.clone(),
        tx: TxView {
            id,
            envelope: Envelope::of(p),
            signatures: src.tx.signatures.clone(),
            fields: field_views,
        },
        block: BlockInclusion {
            header: src.block_header.clone(),
            index: src.index,
            proof: prove_one(src.block_leaves, src.index as u64)?,
        },
        result: ResultInclusion {
            header: src.result_header.clone(),
            result: result.clone(),
            proof: prove_one(&result_leaves, src.index as u64)?,
        },
        certificate: src.certificate.clone(),
        validator_path: src.validator_path.clone(),
        ledger: src.ledger.clone(),
    };
    view.version = view.required_version();
    Ok(view)
}
