//! Access to private fields (DESIGN §4 "Private fields"; issue 5 item 7): an agency asks
//! the recording agency for the withheld fields of one record; the recording agency (and
//! only it, R1) approves or refuses; on approval the requesting agency's node fetches the
//! values from the recording agency's node over request-response and checks them against
//! the committed leaves. Request and answer are on chain, so every access is logged and
//! listable ([`log`]).
//!
//! Refusals: R0-reference (no such record or request, or answered already), R0-duplicate
//! (a request id used twice by one agency), R0-access (fields that cannot be private for
//! the record's kind, or an agency asking itself), R1-access-grant (an answer by an agency
//! other than the recording one).

use crate::keys;
use crate::model::RecordRef;
use crate::rules::{RecordContext, Refusal, R0_DUPLICATE, R0_REFERENCE};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::private::withholdable;
use safeledger_core::records::{AccessGrant, AccessRequest};
use safeledger_core::{to_canonical, TxId};
use serde::{Deserialize, Serialize};

/// Fields that cannot be private for the record's kind, or an agency asking itself.
pub const R0_ACCESS: &str = "R0-access";
/// An access answer by an agency other than the one that recorded the record (R1).
pub const R1_ACCESS_GRANT: &str = "R1-access-grant";
/// Key of the access log.
pub const ACCESS_LOG: &[u8] = b"acc-log";

/// Where an access request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessStatus {
    /// Waiting for the recording agency.
    Open,
    /// Approved by this transaction at this height.
    Granted(TxId, u64),
    /// Refused by this transaction at this height, with the reason.
    Refused(TxId, u64, String),
}

/// An access request and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessState {
    /// The request transaction.
    pub request_tx: TxId,
    /// Height of the request.
    pub requested_at: u64,
    /// The requesting agency.
    pub requester: String,
    /// Its request id.
    pub request_id: String,
    /// The record asked about.
    pub record: TxId,
    /// The agency that recorded it (the only one that may answer).
    pub owner: String,
    /// The fields asked for.
    pub fields: Vec<String>,
    /// Why.
    pub purpose: String,
    /// Where it stands.
    pub status: AccessStatus,
}

/// `acc/` ‖ canonical (requester, request id).
pub fn key(requester: &str, request_id: &str) -> Vec<u8> {
    let mut k = b"acc/".to_vec();
    k.extend_from_slice(&to_canonical(&(requester, request_id)));
    k
}

/// The request `request_id` of `requester`.
pub fn get(state: &dyn StateRead, requester: &str, request_id: &str) -> Option<AccessState> {
    read(state, &key(requester, request_id))
}

/// Every access request with its answer, in commit order (the latest `limit`).
pub fn log(state: &dyn StateRead, limit: usize) -> Vec<AccessState> {
    let all: Vec<(String, String)> = read(state, ACCESS_LOG).unwrap_or_default();
    let skip = all.len().saturating_sub(limit);
    all[skip..]
        .iter()
        .filter_map(|(a, r)| get(state, a, r))
        .collect()
}

/// True when `requester` holds an approved request for field `field` of `record`.
pub fn granted(state: &dyn StateRead, requester: &str, record: &TxId, field: &str) -> bool {
    log(state, usize::MAX).iter().any(|a| {
        a.requester == requester
            && a.record == *record
            && matches!(a.status, AccessStatus::Granted(..))
            && a.fields.iter().any(|f| f == field)
    })
}

/// The timeline entry of the record `tx`, if it is an accepted record about an enterprise.
fn record(state: &dyn StateRead, tx: &TxId) -> Option<RecordRef> {
    let loc = crate::query::record_location(state, tx)?;
    read(state, &keys::record(&loc.enterprise, loc.index))
}

/// An access request.
pub fn request(
    view: &mut Overlay<'_>,
    r: &AccessRequest,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let Some(rec) = record(view, &r.record) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!("field record: no accepted record {}", r.record),
        ));
    };
    if rec.agency == rc.agency {
        return Err(Refusal::new(
            R0_ACCESS,
            format!("field record: {} recorded it itself", rc.agency),
        ));
    }
    let allowed = withholdable(rec.kind);
    if let Some(f) = r.fields.iter().find(|f| !allowed.contains(&f.as_str())) {
        return Err(Refusal::new(
            R0_ACCESS,
            format!(
                "field fields: {f:?} cannot be private in a {} (private-capable: {})",
                rec.kind.name(),
                allowed.join(",")
            ),
        ));
    }
    let k = key(rc.agency, &r.request_id);
    if let Some(first) = read::<AccessState>(view, &k) {
        return Err(Refusal::new(
            R0_DUPLICATE,
            format!(
                "field request_id: {} used {:?} already in {}",
                rc.agency, r.request_id, first.request_tx
            ),
        ));
    }
    view.put(
        k,
        &AccessState {
            request_tx: rc.tx_id,
            requested_at: rc.height,
            requester: rc.agency.to_string(),
            request_id: r.request_id.clone(),
            record: r.record,
            owner: rec.agency,
            fields: r.fields.clone(),
            purpose: r.purpose.clone(),
            status: AccessStatus::Open,
        },
    );
    let mut all: Vec<(String, String)> = read(view, ACCESS_LOG).unwrap_or_default();
    all.push((rc.agency.to_string(), r.request_id.clone()));
    view.put(ACCESS_LOG.to_vec(), &all);
    Ok(())
}

/// The recording agency's answer to a request.
pub fn grant(
    view: &mut Overlay<'_>,
    g: &AccessGrant,
    rc: &RecordContext<'_>,
) -> Result<(), Refusal> {
    let k = key(&g.requester, &g.request_id);
    let Some(mut st) = read::<AccessState>(view, &k) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!(
                "field request_id: no access request {:?} of {}",
                g.request_id, g.requester
            ),
        ));
    };
    if st.owner != rc.agency {
        return Err(Refusal::new(
            R1_ACCESS_GRANT,
            format!(
                "{} recorded {}; {} may not answer for it",
                st.owner, st.record, rc.agency
            ),
        ));
    }
    if st.status != AccessStatus::Open {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!("field request_id: {:?} was answered already", g.request_id),
        ));
    }
    st.status = if g.approve {
        AccessStatus::Granted(rc.tx_id, rc.height)
    } else {
        AccessStatus::Refused(rc.tx_id, rc.height, g.reason.clone())
    };
    view.put(k, &st);
    Ok(())
}
