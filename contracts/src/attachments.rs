//! Evidence files attached to records (issue 20 item 4; `safeledger_core::records::attachment`).
//!
//! - `evidence_attachment` (an officer): the record must be an accepted inspection, joint
//!   inspection or accident report about the same enterprise (R0-reference), made by the
//!   attaching agency — for a joint inspection, by any agency whose officer signed it — and
//!   the attachment may not be dated before the record (R0-evidence).
//! - Every file listed by an attachment or a tip intake is indexed by its hash
//!   (`evf/<hash>`): which record lists it and which agency's node keeps it.
//! - Who may fetch a file ([`entitled`]): the agency keeping it; for a joint inspection's
//!   file, every agency that signed the inspection; otherwise an agency the sharing
//!   catalogue lists for the keeping agency's `evidence_attachment.files`, or one holding
//!   an approved access request for field `files` of the attachment
//!   ([`crate::access::granted`]). A tip's files stay with the receiving agency.

use crate::keys::join;
use crate::model::RecordRef;
use crate::registry::Registry;
use crate::rules::{RecordContext, Refusal, R0_REFERENCE};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::records::{EvidenceAttachment, EvidenceFile, TxKind};
use safeledger_core::{Hash, TxId};
use serde::{Deserialize, Serialize};

/// An attachment by an agency that did not make (or co-sign) the record.
pub const R0_EVIDENCE: &str = "R0-evidence";

/// Most records one file's index lists (later listings are not indexed).
pub const MAX_LISTINGS: usize = 16;

/// A record listing a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The listing record (an attachment or a tip intake).
    pub record: TxId,
    /// The agency whose node keeps the file.
    pub keeper: String,
    /// The file as listed.
    pub file: EvidenceFile,
    /// Agencies entitled besides the keeper by the record itself (a joint inspection's
    /// signing agencies).
    pub co_holders: Vec<String>,
}

fn key(hash: &Hash) -> Vec<u8> {
    join(b"evf/", &hash.0)
}

/// The records listing the file `hash`, oldest first.
pub fn listings(state: &dyn StateRead, hash: &Hash) -> Vec<Listing> {
    read(state, &key(hash)).unwrap_or_default()
}

/// Indexes `file`, listed by `record` and kept by `keeper`.
pub(crate) fn index(view: &mut Overlay<'_>, file: &EvidenceFile, record: TxId, keeper: &str) {
    index_with(view, file, record, keeper, Vec::new());
}

fn index_with(
    view: &mut Overlay<'_>,
    file: &EvidenceFile,
    record: TxId,
    keeper: &str,
    co_holders: Vec<String>,
) {
    let k = key(&file.hash);
    let mut all: Vec<Listing> = read(view, &k).unwrap_or_default();
    if all.len() < MAX_LISTINGS {
        all.push(Listing {
            record,
            keeper: keeper.to_string(),
            file: file.clone(),
            co_holders,
        });
        view.put(k, &all);
    }
}

/// `evidence_attachment`, by an officer of `rc.agency`; `registry` names the agencies
/// of a joint inspection's signers.
///
/// # Errors
/// R0-reference, R0-evidence as in the module documentation.
pub fn attach(
    view: &mut Overlay<'_>,
    registry: &Registry,
    a: &EvidenceAttachment,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let rec: Option<RecordRef> = crate::query::record_location(view, &a.record)
        .filter(|l| l.enterprise == a.enterprise)
        .and_then(|l| read(view, &crate::keys::record(&l.enterprise, l.index)));
    let Some(rec) = rec.filter(|r| {
        matches!(
            r.kind,
            TxKind::InspectionRecord | TxKind::JointInspection | TxKind::AccidentReport
        )
    }) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "field record: {} is no accepted inspection, joint inspection or accident \
                 report about {}",
                a.record, a.enterprise
            ),
        ));
    };
    let mut holders: Vec<String> = vec![rec.agency.clone()];
    if rec.kind == TxKind::JointInspection {
        for k in &rec.signers {
            if let Ok(o) = registry.officer(view, k) {
                if !holders.contains(&o.agency) {
                    holders.push(o.agency);
                }
            }
        }
    }
    if rc.effective_at < rec.effective_at {
        return Err(Refusal::new(
            R0_EVIDENCE,
            format!(
                "effective_at {} is before the record's own date {}: evidence comes from the \
                 visit or after it",
                crate::rules::when(rc.effective_at),
                crate::rules::when(rec.effective_at)
            ),
        ));
    }
    if !holders.iter().any(|h| h == rc.agency) {
        return Err(Refusal::new(
            R0_EVIDENCE,
            format!(
                "record {} was made by {}; {} may not attach evidence to it",
                a.record,
                holders.join(", "),
                rc.agency
            ),
        ));
    }
    let others: Vec<String> = holders.into_iter().filter(|h| h != rc.agency).collect();
    for f in &a.files {
        index_with(view, f, rc.tx_id, rc.agency, others.clone());
    }
    Ok(())
}

/// The listing of `hash` that entitles agency `requester` to fetch the file, with the
/// agency whose node keeps it (`None`: not entitled, or no such file on the ledger).
pub fn entitled(state: &dyn StateRead, requester: &str, hash: &Hash) -> Option<Listing> {
    listings(state, hash).into_iter().find(|l| {
        l.keeper == requester
            || l.co_holders.iter().any(|h| h == requester)
            || crate::access::granted(state, requester, &l.record, "files")
    })
}
