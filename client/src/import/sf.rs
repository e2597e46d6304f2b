//! San Francisco DPH: food businesses, their inspections and the violations found
//! (`data/sf-restaurant-inspections/SOURCE.md`). All records are by `sf-dph` on
//! enterprise `us-sf-dph:<business_id>`.
//!
//! `businesses_plus.csv` is Latin-1; it is decoded as Windows-1252 (see
//! `csvfile::Encoding`). Each business → one enterprise record: name, address
//! `address, city, postal_code`, linked id `us-sf-ttx:<business_certificate>` when
//! present. It is effective at `application_date` (MM/DD/YYYY) when that is a usable date;
//! a blank, unparseable, placeholder (12/30/1899) or pre-1970 application date falls back
//! to the business's first inspection date, and with no inspection either the row is
//! rejected with the application date's problem (`MissingDate`, `UnparseableDate`,
//! `PlaceholderDate`, `DateOutOfRange`). A row repeating a `business_id` is a duplicate:
//! its certificate is merged as a further linked id, its application date if earlier.
//!
//! A `Reinspection/Followup` (or `Complaint Reinspection/Followup`) inspection follows up
//! (`follow_up_of`) the latest inspection of the same business on an earlier date, if
//! any: it closes that inspection's hazards it does not find again.
//!
//! `inspections_plus.csv`: each row → an inspection record effective at `date`
//! (YYYYMMDD), type `type`, score `Score` when present (0..=100, else the row is
//! malformed), outcome no-verdict (SF scores, it does not pass or fail; a high-risk
//! violation is recorded as such, not turned into a verdict). Its id is
//! `<business_id>-<date>-<type>`, suffixed `-2`, `-3`, … for later rows with the same
//! three values. An inspection whose business is not imported still is, on that id,
//! and the business gets an enterprise record named `unknown (SF DPH business <id>)` on
//! first sight.
//!
//! `violations_plus.csv`: each row joins the inspection on the same (`business_id`,
//! `date`): code `ViolationTypeID`; severity Low Risk → low, Moderate Risk → moderate,
//! High Risk → high (a major hazard), N/A → low (17 rows with no risk assessed; low is
//! the least claim); the description; no rectification deadline. When several inspections
//! share a business and date (a routine visit and a complaint visit the same day), the
//! violations go to the first scored one, else the first in file order, so that each is
//! counted once. `violation_counts` counts every joined violation; at most
//! `MAX_LIST_ITEMS` are itemised. A violation with no imported inspection on its business
//! and date is rejected as `Unmatched`.

use super::csvfile::{clip, join_address, read_table, required, Encoding, Table};
use super::dates::date_field;
use super::plan::{namespaced, Builder, Origin, SOURCES};
use super::{ImportError, RejectReason, SF_DPH};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::limits::MAX_LIST_ITEMS;
use safeledger_core::records::{InspectionOutcome, InspectionRecord, Severity, TxBody, Violation};
use safeledger_core::Timestamp;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The folder, under the data folder.
pub(super) const FOLDER: &str = "sf-restaurant-inspections";
const BUSINESSES_SRC: usize = 2;
const INSPECTIONS_SRC: usize = 3;
const VIOLATIONS_SRC: usize = 4;

const BUSINESS_COLS: &[&str] = &[
    "business_id",
    "name",
    "address",
    "city",
    "postal_code",
    "business_certificate",
    "application_date",
];
const INSPECTION_COLS: &[&str] = &["business_id", "Score", "date", "type"];
const VIOLATION_COLS: &[&str] = &[
    "business_id",
    "date",
    "ViolationTypeID",
    "risk_category",
    "description",
];

struct Business {
    origin: Origin,
    id: EnterpriseId,
    name: String,
    address: String,
    links: BTreeSet<String>,
    applied: Result<Timestamp, RejectReason>,
}

struct Inspection {
    origin: Origin,
    business_id: String,
    at: Timestamp,
    scored: bool,
    record: InspectionRecord,
}

/// Plans the three SF files.
pub(super) fn import(dir: &Path, limit: Option<usize>, b: &mut Builder) -> Result<(), ImportError> {
    let open =
        |src: usize, enc, cols| read_table(&dir.join(SOURCES[src]), src, enc, cols, &[], limit);
    let businesses = open(BUSINESSES_SRC, Encoding::Windows1252, BUSINESS_COLS)?;
    let inspections = open(INSPECTIONS_SRC, Encoding::Utf8, INSPECTION_COLS)?;
    let violations = open(VIOLATIONS_SRC, Encoding::Utf8, VIOLATION_COLS)?;
    b.read_rows(businesses.rows.len() + inspections.rows.len() + violations.rows.len());

    let businesses = parse_businesses(&businesses, b);
    let mut inspections = parse_inspections(&inspections, b);
    join_violations(&violations, &mut inspections, b);
    link_follow_ups(&mut inspections);

    let mut first_inspection: HashMap<&str, Timestamp> = HashMap::new();
    for i in &inspections {
        let e = first_inspection.entry(&i.business_id).or_insert(i.at);
        *e = (*e).min(i.at);
    }
    for (business_id, biz) in &businesses {
        let first = first_inspection.get(business_id.as_str()).copied();
        let at = match (&biz.applied, first) {
            (Ok(t), _) => *t,
            (Err(_), Some(t)) => t,
            (Err(reason), None) => {
                b.reject(biz.origin, reason.clone());
                continue;
            }
        };
        b.offer_enterprise(&biz.id, SF_DPH, biz.origin, at, &biz.name, &biz.address);
        for l in &biz.links {
            b.link(&biz.id, l.clone());
        }
    }
    for i in inspections {
        let id = &i.record.enterprise;
        if !b.knows(id) {
            let name = format!("unknown (SF DPH business {})", i.business_id);
            b.offer_enterprise(id, SF_DPH, i.origin, i.at, &name, "");
        }
        b.push(
            i.origin,
            0,
            SF_DPH,
            i.at,
            TxBody::InspectionRecord(i.record),
        );
    }
    Ok(())
}

/// Valid business rows by `business_id`, in file order of their first row.
fn parse_businesses(t: &Table, b: &mut Builder) -> Vec<(String, Business)> {
    let mut out: Vec<(String, Business)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in &t.rows {
        let parsed = row
            .cells
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|cells| parse_business(t, cells, row.origin));
        let (business_id, biz) = match parsed {
            Ok(p) => p,
            Err(reason) => {
                b.reject(row.origin, reason);
                continue;
            }
        };
        match index.get(&business_id) {
            Some(&k) => {
                let first = &mut out[k].1;
                first.links.extend(biz.links);
                if let Ok(t) = biz.applied {
                    first.applied = Ok(first.applied.clone().map_or(t, |f| f.min(t)));
                }
                b.duplicate();
            }
            None => {
                index.insert(business_id.clone(), out.len());
                out.push((business_id, biz));
            }
        }
    }
    out
}

fn parse_business(
    t: &Table,
    cells: &[String],
    origin: Origin,
) -> Result<(String, Business), RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let business_id = required(get("business_id"), "business_id")?;
    let id = namespaced("us-sf-dph", business_id)?;
    let mut links = BTreeSet::new();
    let certificate = get("business_certificate");
    if !certificate.is_empty() {
        links.insert(namespaced("us-sf-ttx", certificate)?.to_string());
    }
    let name = match get("name") {
        "" => format!("unknown (SF DPH business {business_id})"),
        n => n.to_string(),
    };
    Ok((
        business_id.to_string(),
        Business {
            origin,
            id,
            name,
            address: join_address(get("address"), get("city"), "", get("postal_code")),
            links,
            applied: date_field(get("application_date"), "application_date"),
        },
    ))
}

fn parse_inspections(t: &Table, b: &mut Builder) -> Vec<Inspection> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for row in &t.rows {
        let parsed = row
            .cells
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|cells| parse_inspection(t, cells, row.origin));
        match parsed {
            Ok(mut i) => {
                let n = seen.entry(i.record.inspection_id.clone()).or_insert(0);
                *n += 1;
                if *n > 1 {
                    i.record.inspection_id = clip(&format!("{}-{n}", i.record.inspection_id));
                }
                out.push(i);
            }
            Err(reason) => b.reject(row.origin, reason),
        }
    }
    out
}

fn parse_inspection(
    t: &Table,
    cells: &[String],
    origin: Origin,
) -> Result<Inspection, RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let business_id = required(get("business_id"), "business_id")?;
    let enterprise = namespaced("us-sf-dph", business_id)?;
    let date = get("date");
    let at = date_field(date, "date")?;
    let kind = required(get("type"), "type")?;
    let score = match get("Score") {
        "" => None,
        s => match s.parse::<u32>() {
            Ok(v) if v <= 100 => Some(v),
            _ => {
                return Err(RejectReason::Malformed(format!(
                    "Score {s:?} is not 0..=100"
                )))
            }
        },
    };
    Ok(Inspection {
        origin,
        business_id: business_id.to_string(),
        at,
        scored: score.is_some(),
        record: InspectionRecord {
            enterprise,
            inspection_id: clip(&format!("{business_id}-{date}-{kind}")),
            inspection_type: kind.to_string(),
            outcome: InspectionOutcome::NoVerdict,
            score,
            violation_counts: [0; 3],
            violations: Vec::new(),
            follow_up_of: None,
        },
    })
}

/// A re-inspection (`type` containing "Reinspection/Followup") follows up the latest
/// inspection of the same business on an earlier date.
fn link_follow_ups(inspections: &mut [Inspection]) {
    let mut by_business: HashMap<String, Vec<(Timestamp, String)>> = HashMap::new();
    for i in inspections.iter() {
        by_business
            .entry(i.business_id.clone())
            .or_default()
            .push((i.at, i.record.inspection_id.clone()));
    }
    for v in by_business.values_mut() {
        v.sort();
    }
    for i in inspections.iter_mut() {
        if !i.record.inspection_type.contains("Reinspection/Followup") {
            continue;
        }
        let earlier = by_business.get(&i.business_id).and_then(|v| {
            v.iter()
                .filter(|(at, _)| *at < i.at)
                .max_by_key(|(at, _)| *at)
                .map(|(_, id)| id.clone())
        });
        i.record.follow_up_of = earlier;
    }
}

fn join_violations(t: &Table, inspections: &mut [Inspection], b: &mut Builder) {
    let mut target: HashMap<(&str, Timestamp), usize> = HashMap::new();
    for (k, i) in inspections.iter().enumerate() {
        let slot = target.entry((i.business_id.as_str(), i.at)).or_insert(k);
        if !inspections[*slot].scored && i.scored {
            *slot = k;
        }
    }
    let mut joined: Vec<(usize, Violation)> = Vec::new();
    for row in &t.rows {
        let parsed = row.cells.as_ref().map_err(Clone::clone).and_then(|cells| {
            let get = |c: &str| t.get(cells, c);
            let business_id = required(get("business_id"), "business_id")?;
            let date = get("date");
            let at = date_field(date, "date")?;
            let code = required(get("ViolationTypeID"), "ViolationTypeID")?;
            let severity = match get("risk_category") {
                "Low Risk" | "N/A" => Severity::Low,
                "Moderate Risk" => Severity::Moderate,
                "High Risk" => Severity::High,
                other => {
                    return Err(RejectReason::Malformed(format!(
                        "unknown risk_category {other:?}"
                    )))
                }
            };
            let k = target.get(&(business_id, at)).copied().ok_or_else(|| {
                RejectReason::Unmatched(format!(
                    "no imported inspection of business {business_id} on {date}"
                ))
            })?;
            Ok((
                k,
                Violation {
                    code: code.to_string(),
                    severity,
                    description: get("description").to_string(),
                    rectify_by: None,
                },
            ))
        });
        match parsed {
            Ok(v) => joined.push(v),
            Err(reason) => b.reject(row.origin, reason),
        }
    }
    for (k, v) in joined {
        let r = &mut inspections[k].record;
        let slot = match v.severity {
            Severity::Low => &mut r.violation_counts[0],
            Severity::Moderate => &mut r.violation_counts[1],
            Severity::High => &mut r.violation_counts[2],
        };
        *slot = slot.saturating_add(1);
        if r.violations.len() < MAX_LIST_ITEMS {
            r.violations.push(v);
        }
    }
}
