//! Chicago: BACP business licences and CDPH food inspections, linked by licence number
//! (`data/chicago-food-inspections-licenses/SOURCE.md`).
//!
//! `business_licenses_at_inspection.csv` (BACP) has one row per inspection, so a licence
//! term (column `ID`) repeats once per inspection under it. Per distinct term, by
//! `chicago-bacp`, on enterprise `us-chi-bacp:<ACCOUNT_NUMBER>`, effective at the term
//! start:
//! - one licence decision from `APPLICATION_TYPE`: `ISSUE` → grant; `RENEW` → renew;
//!   `C_LOC` (change of location) and `C_EXPA` (expansion) → renew, since both continue
//!   an existing licence for a new term rather than license a new business;
//!   `valid_from`/`valid_until` = term start/expiration, licence number and type
//!   (`LICENSE_DESCRIPTION`) as given, no industry;
//! - when `LICENSE_STATUS` is `REV` (revoked), `REA` (revocation appealed) or `AAC`
//!   (cancelled during term), a second decision, revoke, whose reason says which. A
//!   cancellation is recorded as a revocation because it is the only decision that ends a
//!   licence before its term; the reason marks it as a cancellation, not an enforcement
//!   revocation. The data gives no revocation date: the revoke is effective at the latest
//!   CDPH inspection date under that term (the last day the licence is known in use),
//!   bounded to the term, else at the term start. For `REA` a third record follows, the
//!   appeal against that revocation (appeal id `REA-<term>`, target the licence's latest
//!   decision, by `chicago-bacp`); its outcome is not published;
//! - no decision shows an application date (`applied_at` is `None`): the data has none.
//!
//! Repeated rows of an already planned term count as duplicates. Rows with blank BACP
//! columns (no licence matched to the inspection) are rejected as `MissingId("ID")`.
//! Each distinct `ACCOUNT_NUMBER` gets one enterprise record by `chicago-bacp`: name
//! `LEGAL_NAME`, address `ADDRESS, CITY, STATE ZIP` from the row of its earliest term,
//! linked ids `us-chi-license:<LICENSE_NUMBER>` for each of its licences.
//!
//! `food_inspections.csv` (CDPH): each row → an inspection record by `chicago-cdph`,
//! effective at `Inspection_Date`: id `Inspection_ID`, type "canvass", outcome from
//! `Results` (Pass, Pass w/ Conditions, Fail), counts `[minorCount, seriousCount,
//! criticalCount]` as `[low, moderate, high]`, no itemised violations, no score. The
//! enterprise is the BACP account holding `License` (from the BACP rows that yielded a
//! decision), else `us-chi-license:<License>`, which gets an enterprise record by
//! `chicago-cdph` (name `DBA_Name`, address `Address, City, State Zip`) on first sight.

use super::csvfile::{join_address, read_table, required, Encoding, Table};
use super::dates::date_field as date;
use super::plan::{namespaced, Builder, Origin, SOURCES};
use super::{ImportError, RejectReason, CHICAGO_BACP, CHICAGO_CDPH};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{
    Appeal, AppealTarget, InspectionOutcome, InspectionRecord, LicenceDecision,
    LicenceDecisionKind, TxBody,
};
use safeledger_core::Timestamp;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The folder, under the data folder.
pub(super) const FOLDER: &str = "chicago-food-inspections-licenses";
const BACP_SRC: usize = 0;
const CDPH_SRC: usize = 1;

const BACP_COLS: &[&str] = &[
    "Inspection_ID",
    "ID",
    "ACCOUNT_NUMBER",
    "LEGAL_NAME",
    "ADDRESS",
    "CITY",
    "STATE",
    "ZIP_CODE",
    "LICENSE_DESCRIPTION",
    "LICENSE_NUMBER",
    "APPLICATION_TYPE",
    "LICENSE_TERM_START_DATE",
    "LICENSE_TERM_EXPIRATION_DATE",
    "LICENSE_STATUS",
];
const CDPH_COLS: &[&str] = &[
    "Inspection_ID",
    "DBA_Name",
    "License",
    "Address",
    "City",
    "State",
    "Zip",
    "Inspection_Date",
    "Results",
    "criticalCount",
    "seriousCount",
    "minorCount",
];

/// A CDPH row that parsed.
struct Inspection {
    origin: Origin,
    at: Timestamp,
    licence: String,
    record: InspectionRecord,
    name: String,
    address: String,
}

/// Plans both Chicago files.
pub(super) fn import(dir: &Path, limit: Option<usize>, b: &mut Builder) -> Result<(), ImportError> {
    let bacp = read_table(
        &dir.join(SOURCES[BACP_SRC]),
        BACP_SRC,
        Encoding::Utf8,
        BACP_COLS,
        &[],
        limit,
    )?;
    let cdph = read_table(
        &dir.join(SOURCES[CDPH_SRC]),
        CDPH_SRC,
        Encoding::Utf8,
        CDPH_COLS,
        &[],
        limit,
    )?;
    b.read_rows(bacp.rows.len() + cdph.rows.len());
    let inspections: Vec<Result<Inspection, (Origin, RejectReason)>> = cdph
        .rows
        .iter()
        .map(|row| match &row.cells {
            Ok(cells) => parse_inspection(&cdph, cells, row.origin).map_err(|r| (row.origin, r)),
            Err(r) => Err((row.origin, r.clone())),
        })
        .collect();
    let inspection_dates: HashMap<&str, Timestamp> = cdph
        .rows
        .iter()
        .zip(&inspections)
        .filter_map(|(row, i)| {
            let cells = row.cells.as_ref().ok()?;
            Some((cdph.get(cells, "Inspection_ID"), i.as_ref().ok()?.at))
        })
        .collect();
    let accounts = plan_licences(&bacp, &inspection_dates, b);
    for i in inspections {
        match i {
            Ok(i) => plan_inspection(i, &accounts, b),
            Err((origin, reason)) => b.reject(origin, reason),
        }
    }
    Ok(())
}

/// Plans the BACP decisions and returns the map licence number → account enterprise.
fn plan_licences(
    t: &Table,
    inspection_dates: &HashMap<&str, Timestamp>,
    b: &mut Builder,
) -> HashMap<String, EnterpriseId> {
    // Latest inspection date under each term, over all rows of the term.
    let mut last_use: HashMap<&str, Timestamp> = HashMap::new();
    for cells in t.rows.iter().filter_map(|r| r.cells.as_ref().ok()) {
        let term = t.get(cells, "ID");
        if let Some(&at) = inspection_dates.get(t.get(cells, "Inspection_ID")) {
            if !term.is_empty() {
                let e = last_use.entry(term).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut accounts = HashMap::new();
    for row in &t.rows {
        let cells = match &row.cells {
            Ok(c) => c,
            Err(r) => {
                b.reject(row.origin, r.clone());
                continue;
            }
        };
        let term = t.get(cells, "ID");
        if !term.is_empty() && seen.contains(term) {
            b.duplicate();
            continue;
        }
        match plan_term(t, cells, row.origin, last_use.get(term).copied(), b) {
            Ok((licence, account)) => {
                seen.insert(term);
                accounts.entry(licence).or_insert(account);
            }
            Err(reason) => b.reject(row.origin, reason),
        }
    }
    accounts
}

/// Plans one licence term; returns (licence number, account).
fn plan_term(
    t: &Table,
    cells: &[String],
    origin: Origin,
    last_use: Option<Timestamp>,
    b: &mut Builder,
) -> Result<(String, EnterpriseId), RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let term = required(get("ID"), "ID")?;
    let account = required(get("ACCOUNT_NUMBER"), "ACCOUNT_NUMBER")?;
    let licence = required(get("LICENSE_NUMBER"), "LICENSE_NUMBER")?;
    let start = date(get("LICENSE_TERM_START_DATE"), "LICENSE_TERM_START_DATE")?;
    let end = date(
        get("LICENSE_TERM_EXPIRATION_DATE"),
        "LICENSE_TERM_EXPIRATION_DATE",
    )?;
    if end < start {
        return Err(RejectReason::Malformed(format!(
            "term {term} expires before it starts"
        )));
    }
    let app = get("APPLICATION_TYPE");
    let (kind, why) = match app {
        "ISSUE" => (LicenceDecisionKind::Grant, "new licence (ISSUE)"),
        "RENEW" => (LicenceDecisionKind::Renew, "renewal (RENEW)"),
        "C_LOC" => (
            LicenceDecisionKind::Renew,
            "change of location (C_LOC), recorded as a renewal",
        ),
        "C_EXPA" => (
            LicenceDecisionKind::Renew,
            "expansion (C_EXPA), recorded as a renewal",
        ),
        other => {
            return Err(RejectReason::Malformed(format!(
                "unknown APPLICATION_TYPE {other:?}"
            )))
        }
    };
    let status = get("LICENSE_STATUS");
    let ended = match status {
        "AAI" => None,
        "REV" => Some("licence revoked (status REV)"),
        "REA" => Some("licence revoked, revocation appealed (status REA)"),
        "AAC" => Some("cancelled during term (AAC), not an enforcement revocation"),
        other => {
            return Err(RejectReason::Malformed(format!(
                "unknown LICENSE_STATUS {other:?}"
            )))
        }
    };
    let id = namespaced("us-chi-bacp", account)?;
    let link = namespaced("us-chi-license", licence)?;
    let decision = |kind, valid_from, valid_until, reason: String| {
        TxBody::LicenceDecision(LicenceDecision {
            enterprise: id.clone(),
            licence_number: licence.to_string(),
            licence_type: get("LICENSE_DESCRIPTION").to_string(),
            kind,
            valid_from,
            valid_until,
            industry: None,
            reason,
            applied_at: None,
            application: None,
        })
    };
    b.push(
        origin,
        0,
        CHICAGO_BACP,
        start,
        decision(
            kind,
            Some(start),
            Some(end),
            format!("BACP licence term {term}: {why}"),
        ),
    );
    if let Some(what) = ended {
        let at = last_use.map_or(start, |t| t.clamp(start, end));
        let reason = format!(
            "BACP licence term {term}: {what}; the date is not published, recorded at {} \
             (latest known inspection under the term, else its start)",
            at.date_string()
        );
        b.push(
            origin,
            1,
            CHICAGO_BACP,
            at,
            decision(LicenceDecisionKind::Revoke, None, None, reason),
        );
        if status == "REA" {
            let appeal = TxBody::Appeal(Appeal {
                enterprise: id.clone(),
                appeal_id: format!("REA-{term}"),
                target: AppealTarget::Licence(licence.to_string()),
                grounds: format!(
                    "BACP licence term {term}: revocation appealed (status REA); outcome not \
                     published"
                ),
            });
            b.push(origin, 2, CHICAGO_BACP, at, appeal);
        }
    }
    let address = join_address(get("ADDRESS"), get("CITY"), get("STATE"), get("ZIP_CODE"));
    b.offer_enterprise(
        &id,
        CHICAGO_BACP,
        origin,
        start,
        get("LEGAL_NAME"),
        &address,
    );
    b.link(&id, link.to_string());
    Ok((licence.to_string(), id))
}

fn parse_inspection(
    t: &Table,
    cells: &[String],
    origin: Origin,
) -> Result<Inspection, RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let inspection_id = required(get("Inspection_ID"), "Inspection_ID")?;
    let licence = required(get("License"), "License")?;
    let at = date(get("Inspection_Date"), "Inspection_Date")?;
    let outcome = match get("Results") {
        "Pass" => InspectionOutcome::Pass,
        "Pass w/ Conditions" => InspectionOutcome::PassWithConditions,
        "Fail" => InspectionOutcome::Fail,
        other => {
            return Err(RejectReason::Malformed(format!(
                "unknown Results {other:?}"
            )))
        }
    };
    let count = |c: &str| {
        let v = get(c);
        let whole = v.strip_suffix(".0").unwrap_or(v);
        whole
            .parse::<u32>()
            .map_err(|_| RejectReason::Malformed(format!("{c} {v:?} is not a count")))
    };
    let violation_counts = [
        count("minorCount")?,
        count("seriousCount")?,
        count("criticalCount")?,
    ];
    // The enterprise is resolved later; a placeholder id keeps the record whole meanwhile.
    let enterprise = namespaced("us-chi-license", licence)?;
    Ok(Inspection {
        origin,
        at,
        licence: licence.to_string(),
        record: InspectionRecord {
            enterprise,
            inspection_id: inspection_id.to_string(),
            inspection_type: "canvass".to_string(),
            outcome,
            score: None,
            violation_counts,
            violations: Vec::new(),
            follow_up_of: None,
        },
        name: get("DBA_Name").to_string(),
        address: join_address(get("Address"), get("City"), get("State"), get("Zip")),
    })
}

fn plan_inspection(mut i: Inspection, accounts: &HashMap<String, EnterpriseId>, b: &mut Builder) {
    match accounts.get(&i.licence) {
        Some(account) => i.record.enterprise = account.clone(),
        None => b.offer_enterprise(
            &i.record.enterprise,
            CHICAGO_CDPH,
            i.origin,
            i.at,
            &i.name,
            &i.address,
        ),
    }
    b.push(
        i.origin,
        0,
        CHICAGO_CDPH,
        i.at,
        TxBody::InspectionRecord(i.record),
    );
}
