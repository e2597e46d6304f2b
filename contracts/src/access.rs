//! Access to private fields (DESIGN §4 "Private fields"; issue 5 item 7): an agency asks
//! the recording agency for the withheld fields of one record; the recording agency (and
//! only it, R1) approves or refuses; on approval the requesting agency's node fetches the
//! values from the recording agency's node over request-response and checks them against
//! the committed leaves. Request and answer are on chain, so every access is logged and
//! listable ([`log`]).
//!
//! Reads are declared on chain too ([`declare_read`], issue 8 item 2): before a node
//! discloses a private value to an officer, the officer commits a [`PrivateRead`] naming
//! the record, the fields and the purpose; the node checks it ([`declaration`]) and the
//! declarations are listable ([`reads`]).
//!
//! Refusals: R0-reference (no such record or request, or answered already), R0-duplicate
//! (a request id used twice by one agency), R0-access (fields that cannot be private for
//! the record's kind, or an agency asking itself), R1-access-grant (an answer by an agency
//! other than the recording one); for a read declaration, R0-reference (no such record) and
//! R0-access (fields that cannot be private, or an agency that neither recorded the record
//! nor holds an approved request for the field).

use crate::keys;
use crate::model::RecordRef;
use crate::rules::{RecordContext, Refusal, R0_DUPLICATE, R0_REFERENCE};
use crate::state::{read, Overlay, StateRead};
use safeledger_core::private::withholdable;
use safeledger_core::records::{AccessGrant, AccessRequest, PrivateRead, TxKind};
use safeledger_core::time::Timestamp;
use safeledger_core::PublicKey;
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
    pub requested_height: u64,
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

/// True when `requester` may read field `field` of `record`: the sharing catalogue lists
/// it for the recording agency's records of that kind
/// ([`crate::RuleParams::sharing_catalogue`]),
/// or it holds an approved access request for that field.
pub fn granted(state: &dyn StateRead, requester: &str, record: &TxId, field: &str) -> bool {
    catalogued(state, requester, record, field) || requested(state, requester, record, field)
}

/// The sharing catalogue's part of [`granted`].
pub fn catalogued(state: &dyn StateRead, requester: &str, record: &TxId, field: &str) -> bool {
    let Some(rec) = self::record(state, record) else {
        return false;
    };
    let params = crate::RuleParams::load(state, &crate::RuleParams::default());
    params
        .shared_with(&rec.agency, rec.kind, field)
        .is_some_and(|readers| readers.contains(requester))
}

/// The access requests' part of [`granted`].
fn requested(state: &dyn StateRead, requester: &str, record: &TxId, field: &str) -> bool {
    log(state, usize::MAX).iter().any(|a| {
        a.requester == requester
            && a.record == *record
            && matches!(a.status, AccessStatus::Granted(..))
            && a.fields.iter().any(|f| f == field)
    })
}

/// The timeline entry of the record `tx`, if it is an accepted record about an enterprise,
/// or the reference of a tip intake or follow-up ([`crate::tips::record`]).
fn record(state: &dyn StateRead, tx: &TxId) -> Option<RecordRef> {
    match crate::query::record_location(state, tx) {
        Some(loc) => read(state, &keys::record(&loc.enterprise, loc.index)),
        None => crate::tips::record(state, tx),
    }
}

/// R0-access unless every one of `fields` can be private in `rec`'s kind.
fn private_capable(rec: &RecordRef, fields: &[String]) -> Result<(), Refusal> {
    let allowed = withholdable(rec.kind);
    // An attachment's files are fetched from the keeping node by entitled agencies
    // (crate::attachments): requestable like a private field.
    let files = rec.kind == TxKind::EvidenceAttachment;
    match fields
        .iter()
        .find(|f| !(allowed.contains(&f.as_str()) || files && *f == "files"))
    {
        None => Ok(()),
        Some(f) => Err(Refusal::new(
            R0_ACCESS,
            format!(
                "field fields: {f:?} cannot be private in a {} (private-capable: {})",
                rec.kind.name(),
                allowed.join(",")
            ),
        )),
    }
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
    private_capable(&rec, &r.fields)?;
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
            requested_height: rc.height,
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

/// Key of the number of read declarations accepted so far (a `u64`).
pub const READ_COUNT: &[u8] = b"read-n";

/// An accepted read declaration ([`PrivateRead`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadDeclaration {
    /// The declaring transaction.
    pub tx: TxId,
    /// Height of its block.
    pub height: u64,
    /// Its block's time: the declaration lets its officer read until this time plus
    /// [`safeledger_core::limits::READ_DECLARATION_VALIDITY_MS`].
    pub block_time: Timestamp,
    /// The reading officer's agency.
    pub agency: String,
    /// The reading officer (the transaction's submitter).
    pub officer: PublicKey,
    /// The record read.
    pub record: TxId,
    /// The fields read.
    pub fields: Vec<String>,
    /// Why.
    pub purpose: String,
}

/// `read/` ‖ declaring transaction id.
pub fn read_key(tx: &TxId) -> Vec<u8> {
    let mut k = b"read/".to_vec();
    k.extend_from_slice(&tx.0);
    k
}

/// `read-i/` ‖ big-endian position: the declaring transaction ids in commit order.
fn read_index_key(n: u64) -> Vec<u8> {
    let mut k = b"read-i/".to_vec();
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The accepted declaration committed by transaction `tx`, if any.
pub fn declaration(state: &dyn StateRead, tx: &TxId) -> Option<ReadDeclaration> {
    read(state, &read_key(tx))
}

/// The read declaration `tx` as it covers a read by `officer` of the private `fields` of
/// `record` at block time `now` (issue 8 item 2: a read of private data is on chain before
/// the value leaves the node).
///
/// # Errors
/// A reason, for `PERMISSION_DENIED`: no declaration accepted under that id, one by
/// another officer or about another record, one not naming every field, or one older than
/// [`safeledger_core::limits::READ_DECLARATION_VALIDITY_MS`] of block time at `now`.
pub fn covering_declaration(
    state: &dyn StateRead,
    tx: TxId,
    officer: &PublicKey,
    record: &TxId,
    fields: &[&str],
    now: Timestamp,
) -> Result<ReadDeclaration, String> {
    judge_read_declaration(declaration(state, &tx), tx, officer, record, fields, now)
}

/// The judgement of [`covering_declaration`]: `found` is what the state holds under the
/// declaration id `tx`.
fn judge_read_declaration(
    found: Option<ReadDeclaration>,
    tx: TxId,
    officer: &PublicKey,
    record: &TxId,
    fields: &[&str],
    now: Timestamp,
) -> Result<ReadDeclaration, String> {
    use safeledger_core::limits::READ_DECLARATION_VALIDITY_MS;
    let Some(d) = found else {
        return Err(format!(
            "{tx} is not an accepted read declaration (not committed yet, refused, or not a \
             private_read)"
        ));
    };
    if d.officer != *officer {
        return Err(format!(
            "read declaration {tx} was made by officer {}",
            d.officer
        ));
    }
    if d.record != *record {
        return Err(format!(
            "read declaration {tx} is about record {}",
            d.record
        ));
    }
    let missing: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| !d.fields.iter().any(|g| g == f))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "read declaration {tx} does not name field(s) {}",
            missing.join(",")
        ));
    }
    if now.0.saturating_sub(d.block_time.0) > READ_DECLARATION_VALIDITY_MS {
        return Err(format!(
            "read declaration {tx} of {} has expired ({} min of block time); declare again",
            d.block_time.date_string(),
            READ_DECLARATION_VALIDITY_MS / 60_000
        ));
    }
    Ok(d)
}

/// The latest `limit` read declarations, in commit order (reads only those).
pub fn reads(state: &dyn StateRead, limit: usize) -> Vec<ReadDeclaration> {
    let n: u64 = read(state, READ_COUNT).unwrap_or(0);
    let first = n.saturating_sub(limit as u64);
    (first..n)
        .filter_map(|i| read::<TxId>(state, &read_index_key(i)))
        .filter_map(|tx| declaration(state, &tx))
        .collect()
}

/// A read declaration by `officer` of agency `rc.agency`: the record must be accepted, the
/// fields private-capable for its kind, and the agency the recording one or holding an
/// approved access request for each field.
pub fn declare_read(
    view: &mut Overlay<'_>,
    r: &PrivateRead,
    rc: &RecordContext<'_>,
    officer: PublicKey,
) -> Result<(), Refusal> {
    let Some(rec) = record(view, &r.record) else {
        return Err(Refusal::new(
            R0_REFERENCE,
            format!("field record: no accepted record {}", r.record),
        ));
    };
    private_capable(&rec, &r.fields)?;
    if rec.agency != rc.agency {
        if let Some(f) = r
            .fields
            .iter()
            .find(|f| !granted(view, rc.agency, &r.record, f))
        {
            return Err(Refusal::new(
                R0_ACCESS,
                format!(
                    "field fields: {} recorded {}; {} holds no approved access request for \
                     {f:?} and the sharing catalogue does not list it",
                    rec.agency, r.record, rc.agency
                ),
            ));
        }
    }
    view.put(
        read_key(&rc.tx_id),
        &ReadDeclaration {
            tx: rc.tx_id,
            height: rc.height,
            block_time: rc.block_time,
            agency: rc.agency.to_string(),
            officer,
            record: r.record,
            fields: r.fields.clone(),
            purpose: r.purpose.clone(),
        },
    );
    let n: u64 = read(view, READ_COUNT).unwrap_or(0);
    view.put(read_index_key(n), &rc.tx_id);
    view.put(READ_COUNT.to_vec(), &(n + 1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    use safeledger_core::records::{AccessGrant, AccessRequest, PrivateRead};
    use safeledger_core::TxBody;

    fn declare(record: TxId, fields: &[&str]) -> TxBody {
        TxBody::PrivateRead(PrivateRead {
            record,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            purpose: "case 12".into(),
        })
    }

    /// em (officer 0) records an enterprise and an accident report about it.
    fn chain_with_report() -> (Chain, TxId) {
        let mut c = Chain::new();
        c.ok(&[0], 1, enterprise_record(1, "Acme", &[]));
        let report = c.ok(&[0], 2, accident(1, "AR-1", 1, 0));
        (c, report.id())
    }

    #[test]
    fn the_recording_agency_declares_reads_and_they_are_listed() {
        let (mut c, report) = chain_with_report();
        let tx = c.ok(&[1], 3, declare(report, &["description", "location"]));
        let d = declaration(&c.state, &tx.id()).expect("recorded");
        assert_eq!(d.officer, officer(1).public());
        assert_eq!(d.agency, EM);
        assert_eq!(d.record, report);
        assert_eq!(d.fields, ["description", "location"]);
        assert_eq!(d.purpose, "case 12");
        assert_eq!(d.height, c.height);
        let second = c.ok(&[0], 3, declare(report, &["location"]));
        let all = reads(&c.state, 10);
        assert_eq!(
            all.iter().map(|d| d.tx).collect::<Vec<_>>(),
            [tx.id(), second.id()]
        );
        assert_eq!(reads(&c.state, 1)[0].tx, second.id(), "the latest one");
    }

    #[test]
    fn another_agency_declares_only_fields_granted_to_it() {
        let (mut c, report) = chain_with_report();
        let o = c.one(&[2], 3, declare(report, &["description"]));
        assert_eq!(rule_of(&o), Some(R0_ACCESS), "{o:?}");
        assert!(reason_of(&o).contains("holds no approved access request"));
        c.ok(
            &[2],
            3,
            TxBody::AccessRequest(AccessRequest {
                request_id: "R1".into(),
                record: report,
                fields: vec!["description".into()],
                purpose: "case".into(),
            }),
        );
        c.ok(
            &[0],
            3,
            TxBody::AccessGrant(AccessGrant {
                requester: FIRE.into(),
                request_id: "R1".into(),
                approve: true,
                reason: "ok".into(),
            }),
        );
        c.ok(&[2], 4, declare(report, &["description"]));
        let o = c.one(&[2], 4, declare(report, &["description", "location"]));
        assert_eq!(
            rule_of(&o),
            Some(R0_ACCESS),
            "location was not granted: {o:?}"
        );
        assert_eq!(reads(&c.state, 10).len(), 1, "refusals are not listed");
    }

    /// The sharing catalogue (issue 20 item 8): fire may read em's accident descriptions
    /// by default; their locations, and other agencies, still need a request and grant.
    #[test]
    fn the_sharing_catalogue_entitles_without_a_request() {
        let mut params = crate::RuleParams::default();
        params
            .set("sharing_catalogue.em.accident_report.description", "fire")
            .unwrap();
        let mut c = Chain::new();
        // As governance stores it.
        c.state.insert(
            crate::keys::PARAMS.to_vec(),
            safeledger_core::to_canonical(&params),
        );
        c.ok(&[0], 1, enterprise_record(1, "Acme", &[]));
        let report = c.ok(&[0], 2, accident(1, "AR-1", 1, 0)).id();
        assert!(catalogued(&c.state, FIRE, &report, "description"));
        assert!(granted(&c.state, FIRE, &report, "description"));
        assert!(!granted(&c.state, MARKET, &report, "description"));
        assert!(!granted(&c.state, FIRE, &report, "location"));
        c.ok(&[2], 3, declare(report, &["description"]));
        let o = c.one(&[2], 3, declare(report, &["description", "location"]));
        assert!(
            reason_of(&o).contains("sharing catalogue does not list it"),
            "{o:?}"
        );
        let o = c.one(&[3], 3, declare(report, &["description"]));
        assert_eq!(rule_of(&o), Some(R0_ACCESS), "{o:?}");
    }

    #[test]
    fn public_fields_and_unknown_records_are_refused() {
        let (mut c, report) = chain_with_report();
        let o = c.one(&[0], 3, declare(report, &["deaths"]));
        assert_eq!(rule_of(&o), Some(R0_ACCESS), "{o:?}");
        let o = c.one(&[0], 3, declare(tx_id_of(77), &["description"]));
        assert_eq!(rule_of(&o), Some(R0_REFERENCE), "{o:?}");
        assert!(reads(&c.state, 10).is_empty());
    }
}

#[cfg(test)]
mod read_declaration_tests {
    use super::*;
    use safeledger_core::limits::READ_DECLARATION_VALIDITY_MS;
    use safeledger_core::Hash;
    use safeledger_core::SecretKey;

    const AT: u64 = 1_800_000_000_000;

    fn officer(n: u8) -> PublicKey {
        SecretKey::from_bytes(&[n; 32]).public()
    }

    fn decl() -> ReadDeclaration {
        ReadDeclaration {
            tx: Hash([1; 32]),
            height: 9,
            block_time: Timestamp(AT),
            agency: "us-osha".into(),
            officer: officer(1),
            record: Hash([2; 32]),
            fields: vec!["description".into(), "location".into()],
            purpose: "case".into(),
        }
    }

    fn judge(
        found: Option<ReadDeclaration>,
        who: u8,
        record: u8,
        fields: &[&str],
        now: u64,
    ) -> Result<ReadDeclaration, String> {
        judge_read_declaration(
            found,
            Hash([1; 32]),
            &officer(who),
            &Hash([record; 32]),
            fields,
            Timestamp(now),
        )
    }

    #[test]
    fn a_matching_declaration_within_its_validity_allows_the_read() {
        let d = judge(Some(decl()), 1, 2, &["description"], AT + 1).expect("allowed");
        assert_eq!(d, decl());
        judge(
            Some(decl()),
            1,
            2,
            &["location", "description"],
            AT + READ_DECLARATION_VALIDITY_MS,
        )
        .expect("allowed at the last millisecond");
    }

    #[test]
    fn every_mismatch_is_refused_with_its_reason() {
        let e = judge(None, 1, 2, &["description"], AT).expect_err("none");
        assert!(e.contains("not an accepted read declaration"), "{e}");
        let e = judge(Some(decl()), 3, 2, &["description"], AT).expect_err("other officer");
        assert!(e.contains("was made by officer"), "{e}");
        let e = judge(Some(decl()), 1, 4, &["description"], AT).expect_err("other record");
        assert!(e.contains("is about record"), "{e}");
        let e = judge(Some(decl()), 1, 2, &["description", "name"], AT).expect_err("field");
        assert!(e.contains("does not name field(s) name"), "{e}");
        let e = judge(
            Some(decl()),
            1,
            2,
            &["description"],
            AT + READ_DECLARATION_VALIDITY_MS + 1,
        )
        .expect_err("expired");
        assert!(e.contains("has expired"), "{e}");
    }
}
