//! US OSHA fatality and catastrophe reports, 2009–2023
//! (`data/osha-fatality-reports/SOURCE.md`). All records are by `us-osha`.
//!
//! Each row → one accident report, effective at the incident date:
//! - category from the file's category column: any mention of a fatality → "fatality"
//!   with that many deaths ("Fatality (2)", "2 Fatalities"; else 1), plus one serious
//!   injury if a catastrophe is mentioned too; catastrophe alone → "catastrophe" with no
//!   death and one serious injury (a catastrophe is an in-patient hospitalisation; the
//!   number hospitalised is not published, one is the least claim). The 2009–2015
//!   file's older layout has no category column: its rows are OSHA's weekly list of
//!   reported fatalities and count as "fatality", one death. An unknown category is
//!   malformed. The 2017–2023 file lists fatality inspections only: "fatality", one death.
//! - `report_id` = the inspection number as the file gives it (a float artefact `.0` is
//!   dropped; the 2016–2017 office suffix such as `.015` is kept), else `<file>:<line>`;
//!   a report id already used by an earlier row is suffixed `-2`, `-3`, … so that ids
//!   stay unique (some rows share an inspection number).
//! - level: State Council Order 493 art. 3 of the deaths and serious injuries (no loss
//!   figure is published); never found concealed (the data says nothing of it).
//! - location: the employer text after its first comma (city, state, ZIP or street), or
//!   `City, ST` in the 2017–2023 file.
//!
//! Enterprise: where the file has employer text, `us-osha-employer:<normalized>`, where
//! the employer is the text before the first comma, ASCII-uppercased with every run of
//! other characters collapsed to `_`, cut so that the id is at most 128 bytes; it gets an
//! enterprise record (name = that text, address = the rest) with linked ids
//! `us-osha-insp:<inspection number without office suffix>` of its inspections. Else (the
//! 2017–2023 file has no employer) `us-osha-insp:<Inspection Number>`, named
//! `unknown employer (OSHA inspection <n>)`.
//!
//! In the 2009–2015 file, 1,094 older-layout rows are shifted by one column: `Company`
//! and `Unnamed: 4` hold the same description and `Preliminary Description of Incident`
//! holds "Employer, City, ST ZIP". Such rows (`Unnamed: 4` non-blank and equal to
//! `Company`) take the employer from `Preliminary Description of Incident` and the
//! description from `Unnamed: 4`; any other non-blank `Unnamed: 4` is appended to the
//! description.
//!
//! "Citation Issued Related to Fatality" = Yes (2017–2023 file) → also a penalty by
//! `us-osha`, same date, ordered after its accident: kind "citation", no amount, case id
//! = the inspection number, grade severe. Every row of that file is a fatality, and a
//! citation related to a fatality is a serious violation, so the penalty is severe (R3,
//! R9 apply); a citation for a non-fatal catastrophe would be minor, but the file has none.

use super::csvfile::{clip, read_table, required, Encoding, Table};
use super::dates::date_field;
use super::plan::{namespaced, Builder, Origin, SOURCES};
use super::{ImportError, RejectReason, US_OSHA};
use safeledger_core::ids::{EnterpriseId, MAX_ENTERPRISE_ID_BYTES};
use safeledger_core::records::{AccidentLevel, AccidentReport, Penalty, PenaltyGrade, TxBody};
use safeledger_core::Timestamp;
use std::collections::HashMap;
use std::path::Path;

/// The folder, under the data folder.
pub(super) const FOLDER: &str = "osha-fatality-reports";
const SUMMARIES_SRC: usize = 5;
const REPORTS_SRC: usize = 6;
const INSPECTIONS_SRC: usize = 7;

const EMPLOYER_NS: &str = "us-osha-employer";
const INSPECTION_NS: &str = "us-osha-insp";

const SUMMARY_COLS: &[&str] = &[
    "Company",
    "Company, City, State, ZIP",
    "Fatality or Catastrophe",
    "Inspection #",
    "Preliminary Description of Incident",
    "date",
];
const REPORT_COLS: &[&str] = &["date", "description", "employer", "fatcat", "inspection"];
const INSPECTION_COLS: &[&str] = &[
    "Date of Incident",
    "City",
    "Select State",
    "Hazard Description",
    "Inspection Number",
    "Federal or State Plan",
    "Citation Issued Related to Fatality",
];

/// One accident as read from any of the three files.
struct Accident {
    origin: Origin,
    at: Timestamp,
    /// "Employer, place" text, or "" when the file has none.
    employer: String,
    /// Column holding the employer (for `MissingId`).
    employer_column: &'static str,
    /// Inspection number, or "".
    inspection: String,
    category: &'static str,
    deaths: u32,
    serious_injuries: u32,
    /// Location when there is no employer text.
    place: String,
    description: String,
    /// `Some(reason)` when a citation related to the accident was issued.
    citation: Option<String>,
}

/// Plans the three OSHA files.
pub(super) fn import(dir: &Path, limit: Option<usize>, b: &mut Builder) -> Result<(), ImportError> {
    let open = |src: usize, cols, optional| {
        read_table(
            &dir.join(SOURCES[src]),
            src,
            Encoding::Utf8,
            cols,
            optional,
            limit,
        )
    };
    let files = [
        (
            open(SUMMARIES_SRC, SUMMARY_COLS, &["Unnamed: 4"])?,
            summary as Parser,
        ),
        (open(REPORTS_SRC, REPORT_COLS, &[])?, report as Parser),
        (
            open(INSPECTIONS_SRC, INSPECTION_COLS, &[])?,
            inspection as Parser,
        ),
    ];
    let mut report_ids: HashMap<String, u32> = HashMap::new();
    for (t, parse) in &files {
        b.read_rows(t.rows.len());
        for row in &t.rows {
            let planned = row
                .cells
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|cells| parse(t, cells, row.origin))
                .and_then(|a| plan_accident(a, &mut report_ids, b));
            if let Err(reason) = planned {
                b.reject(row.origin, reason);
            }
        }
    }
    Ok(())
}

type Parser = fn(&Table, &[String], Origin) -> Result<Accident, RejectReason>;

/// `fatcat_summaries_2009_2015.csv`.
fn summary(t: &Table, cells: &[String], origin: Origin) -> Result<Accident, RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let company = match get("Company") {
        "" => get("Company, City, State, ZIP"),
        c => c,
    };
    let prelim = get("Preliminary Description of Incident");
    let extra = get("Unnamed: 4");
    let (employer, description) = if extra.is_empty() {
        (company, prelim.to_string())
    } else if extra == get("Company") {
        (prelim, extra.to_string())
    } else {
        (company, clip(&format!("{prelim} {extra}")))
    };
    let (category, deaths, serious_injuries) = category(get("Fatality or Catastrophe"), true)?;
    Ok(Accident {
        origin,
        at: date_field(get("date"), "date")?,
        employer: employer.to_string(),
        employer_column: "Company",
        inspection: inspection_number(get("Inspection #")),
        category,
        deaths,
        serious_injuries,
        place: String::new(),
        description,
        citation: None,
    })
}

/// `fatcat_reports_2016_2017.csv`.
fn report(t: &Table, cells: &[String], origin: Origin) -> Result<Accident, RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let (category, deaths, serious_injuries) = category(get("fatcat"), false)?;
    Ok(Accident {
        origin,
        at: date_field(get("date"), "date")?,
        employer: get("employer").to_string(),
        employer_column: "employer",
        inspection: inspection_number(get("inspection")),
        category,
        deaths,
        serious_injuries,
        place: String::new(),
        description: get("description").to_string(),
        citation: None,
    })
}

/// `fatality_inspections_2017_2023.csv`.
fn inspection(t: &Table, cells: &[String], origin: Origin) -> Result<Accident, RejectReason> {
    let get = |c: &str| t.get(cells, c);
    let at = date_field(get("Date of Incident"), "Date of Incident")?;
    let number = required(get("Inspection Number"), "Inspection Number")?;
    let citation = match get("Citation Issued Related to Fatality")
        .to_ascii_lowercase()
        .as_str()
    {
        "yes" => {
            let plan = get("Federal or State Plan").to_ascii_lowercase();
            let plan = plan.trim_end_matches(" plan");
            Some(if plan.is_empty() {
                "citation issued related to the fatality".to_string()
            } else {
                format!("citation issued related to the fatality ({plan} plan)")
            })
        }
        "no" => None,
        other => {
            return Err(RejectReason::Malformed(format!(
                "Citation Issued Related to Fatality is {other:?}, not Yes or No"
            )))
        }
    };
    let place: Vec<&str> = [get("City"), get("Select State")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Accident {
        origin,
        at,
        employer: String::new(),
        employer_column: "Inspection Number",
        inspection: inspection_number(number),
        category: "fatality",
        deaths: 1,
        serious_injuries: 0,
        place: place.join(", "),
        description: get("Hazard Description").to_string(),
        citation,
    })
}

fn plan_accident(
    a: Accident,
    report_ids: &mut HashMap<String, u32>,
    b: &mut Builder,
) -> Result<(), RejectReason> {
    let (enterprise, name, address, location, by_employer) = match employer_parts(&a.employer) {
        Some((local, name, rest)) => {
            let location = if rest.is_empty() {
                a.employer.clone()
            } else {
                rest.clone()
            };
            (namespaced(EMPLOYER_NS, &local)?, name, rest, location, true)
        }
        None if !a.inspection.is_empty() => (
            namespaced(INSPECTION_NS, &a.inspection)?,
            format!("unknown employer (OSHA inspection {})", a.inspection),
            a.place.clone(),
            a.place.clone(),
            false,
        ),
        None => return Err(RejectReason::MissingId(a.employer_column)),
    };
    let base_id = if a.inspection.is_empty() {
        format!("{}:{}", SOURCES[a.origin.src], a.origin.line)
    } else {
        a.inspection.clone()
    };
    let n = report_ids.entry(base_id.clone()).or_insert(0);
    *n += 1;
    let report_id = if *n > 1 {
        format!("{base_id}-{n}")
    } else {
        base_id
    };
    b.offer_enterprise(&enterprise, US_OSHA, a.origin, a.at, &name, &address);
    if by_employer && !a.inspection.is_empty() {
        let number = a.inspection.split('.').next().unwrap_or_default();
        if let Ok(link) = EnterpriseId::namespaced(INSPECTION_NS, number) {
            b.link(&enterprise, link.to_string());
        }
    }
    let body = TxBody::AccidentReport(AccidentReport {
        enterprise: enterprise.clone(),
        report_id: clip(&report_id),
        category: a.category.to_string(),
        deaths: a.deaths,
        serious_injuries: a.serious_injuries,
        direct_loss_minor: None,
        currency: None,
        location: clip(&location),
        description: a.description,
        level: AccidentLevel::classify(a.deaths, a.serious_injuries, None, None),
        concealed: false,
    });
    b.push(a.origin, 0, US_OSHA, a.at, body);
    if let Some(reason) = a.citation {
        let penalty = TxBody::Penalty(Penalty {
            enterprise,
            case_id: a.inspection,
            grade: PenaltyGrade::Severe,
            kind: "citation".to_string(),
            amount_minor: None,
            currency: None,
            reason,
        });
        b.push(a.origin, 1, US_OSHA, a.at, penalty);
    }
    Ok(())
}

/// (normalized id local part, employer name, rest of the text) from "Employer, place"
/// text; `None` if no employer name is left.
fn employer_parts(text: &str) -> Option<(String, String, String)> {
    let (name, rest) = match text.split_once(',') {
        Some((n, r)) => (n.trim(), r.trim()),
        None => (text.trim(), ""),
    };
    let max = MAX_ENTERPRISE_ID_BYTES - EMPLOYER_NS.len() - 1;
    let mut local = String::new();
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !local.is_empty() {
                local.push('_');
            }
            gap = false;
            local.push(c.to_ascii_uppercase());
        } else {
            gap = true;
        }
        if local.len() >= max {
            break;
        }
    }
    local.truncate(max);
    let local = local.trim_end_matches('_').to_string();
    if local.is_empty() {
        None
    } else {
        Some((local, name.to_string(), rest.to_string()))
    }
}

/// The inspection number without a float artefact (`997653.0` → `997653`).
fn inspection_number(s: &str) -> String {
    match s.split_once('.') {
        Some((whole, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => {
            whole.to_string()
        }
        _ => s.to_string(),
    }
}

/// (category, deaths, serious injuries) from a category text; blank is "fatality" when
/// `blank_is_fatality` (the older layout has no category column).
fn category(text: &str, blank_is_fatality: bool) -> Result<(&'static str, u32, u32), RejectReason> {
    let lower = text.to_ascii_lowercase();
    if lower.is_empty() && blank_is_fatality {
        return Ok(("fatality", 1, 0));
    }
    let catastrophe = lower.contains("catastroph");
    if let Some(part) = lower.split(['/', ',']).find(|p| p.contains("fatal")) {
        let digits: String = part
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        let deaths = digits.parse::<u32>().ok().filter(|&n| n > 0).unwrap_or(1);
        Ok(("fatality", deaths, u32::from(catastrophe)))
    } else if catastrophe {
        Ok(("catastrophe", 0, 1))
    } else {
        Err(RejectReason::Malformed(format!(
            "unknown category {text:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employer_is_the_text_before_the_first_comma_normalized() {
        let (local, name, rest) = employer_parts("L.B. Thompson Inc., Tampa, FL 33610").unwrap();
        assert_eq!(local, "L_B_THOMPSON_INC");
        assert_eq!(name, "L.B. Thompson Inc.");
        assert_eq!(rest, "Tampa, FL 33610");
        assert!(employer_parts(" , Tampa").is_none());
        let long = "A ".repeat(200);
        let (local, _, _) = employer_parts(&long).unwrap();
        assert!(EMPLOYER_NS.len() + 1 + local.len() <= MAX_ENTERPRISE_ID_BYTES);
        assert!(!local.ends_with('_'));
    }

    #[test]
    fn category_variants_normalize() {
        assert_eq!(category("Fatality", false), Ok(("fatality", 1, 0)));
        assert_eq!(category("Fatality (2)", false), Ok(("fatality", 2, 0)));
        assert_eq!(category("2 Fatalities", false), Ok(("fatality", 2, 0)));
        assert_eq!(
            category("3 Fatalites/1 Catastrophe", false),
            Ok(("fatality", 3, 1))
        );
        assert_eq!(category("Catastrophes", false), Ok(("catastrophe", 0, 1)));
        assert_eq!(category("", true), Ok(("fatality", 1, 0)));
        assert!(category("", false).is_err());
        assert!(category("Near miss", false).is_err());
    }

    #[test]
    fn inspection_float_artefact_is_dropped_but_office_suffix_kept() {
        assert_eq!(inspection_number("997653.0"), "997653");
        assert_eq!(inspection_number("1229035.015"), "1229035.015");
        assert_eq!(inspection_number("1096107"), "1096107");
    }
}
