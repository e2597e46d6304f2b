//! The importer against the real public data in `data/` and against small synthetic
//! copies. Expected counts were computed independently of this crate, with a Python
//! script reading the CSV files (csv module, Latin-1 for `businesses_plus.csv`) and
//! applying the mapping rules of `safeledger_client::import`.

use safeledger_client::import::{
    plan_import, plan_import_limited, ImportError, ImportPlan, RejectReason, AGENCIES,
};
use safeledger_core::records::{InspectionOutcome, LicenceDecisionKind, PenaltyGrade, TxBody};
use safeledger_core::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CHI: &str = "chicago-food-inspections-licenses";
const SF: &str = "sf-restaurant-inspections";
const OSHA: &str = "osha-fatality-reports";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

fn full_plan() -> &'static ImportPlan {
    static PLAN: OnceLock<ImportPlan> = OnceLock::new();
    PLAN.get_or_init(|| plan_import(&data_dir()).expect("the real data imports"))
}

fn ymd(y: i32, m: u32, d: u32) -> Timestamp {
    Timestamp::from_ymd(y, m, d).unwrap()
}

/// Items per "agency kind", e.g. "sf-dph inspection_record".
fn counts(plan: &ImportPlan) -> BTreeMap<String, u64> {
    plan.item_counts()
        .into_iter()
        .map(|((agency, kind), n)| (format!("{agency} {}", kind.name()), n))
        .collect()
}

fn expected(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn rejected(plan: &ImportPlan) -> BTreeMap<String, u64> {
    plan.rejected_counts()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Rows that yield items (distinct source lines) + SF violation rows joined into an
/// inspection + rejected rows + duplicates must be every row read.
fn assert_every_row_accounted_for(plan: &ImportPlan) {
    let lines: BTreeSet<(&str, u64)> = plan
        .items
        .iter()
        .filter(|i| i.line > 0)
        .map(|i| (i.source.as_str(), i.line))
        .collect();
    let joined_violations: u64 = plan
        .items
        .iter()
        .filter_map(|i| match &i.body {
            TxBody::InspectionRecord(r) if i.agency == "sf-dph" => Some(
                r.violation_counts
                    .iter()
                    .map(|&c| u64::from(c))
                    .sum::<u64>(),
            ),
            _ => None,
        })
        .sum();
    let rejected_lines: BTreeSet<(&str, u64)> = plan
        .rejected
        .iter()
        .map(|r| (r.source.as_str(), r.line))
        .collect();
    assert_eq!(
        rejected_lines.len(),
        plan.rejected.len(),
        "one rejection per row"
    );
    assert!(
        lines.is_disjoint(&rejected_lines),
        "a row both yields and is rejected"
    );
    assert_eq!(
        lines.len() as u64
            + joined_violations
            + plan.rejected.len() as u64
            + plan.duplicates_skipped,
        plan.rows_read
    );
}

/// Sorted by date; enterprise records first among equal dates and before every record
/// about their enterprise; one enterprise record per enterprise; bounds hold.
fn assert_well_ordered(plan: &ImportPlan) {
    let agencies: BTreeSet<&str> = AGENCIES.iter().map(|a| a.0).collect();
    let mut introduced = BTreeSet::new();
    for (k, it) in plan.items.iter().enumerate() {
        assert!(agencies.contains(it.agency.as_str()), "{}", it.agency);
        it.body.check_bounds().expect("bounds hold");
        if k > 0 {
            let prev = &plan.items[k - 1];
            assert!(
                prev.effective_at <= it.effective_at,
                "item {k} out of date order"
            );
            if prev.effective_at == it.effective_at
                && matches!(it.body, TxBody::EnterpriseRecord(_))
            {
                assert!(
                    matches!(prev.body, TxBody::EnterpriseRecord(_)) || prev.line == 0,
                    "item {k}"
                );
            }
        }
        let Some(id) = it.body.enterprise().cloned() else {
            assert_eq!(
                it.line, 0,
                "only the governance items are about no enterprise"
            );
            continue;
        };
        if matches!(it.body, TxBody::EnterpriseRecord(_)) {
            assert!(
                introduced.insert(id),
                "second enterprise record at item {k}"
            );
        } else {
            assert!(
                introduced.contains(&id),
                "item {k} before its enterprise {id}"
            );
        }
    }
}

#[test]
fn first_500_rows_per_file_give_the_independently_counted_records() {
    let plan = plan_import_limited(&data_dir(), 500).unwrap();
    assert_eq!(plan.rows_read, 8 * 500);
    assert_eq!(plan.duplicates_skipped, 6);
    assert_eq!(
        counts(&plan),
        expected(&[
            ("chicago-bacp enterprise_record", 382),
            ("chicago-bacp governance_proposal", 1),
            ("chicago-bacp licence_decision", 435),
            ("chicago-cdph enterprise_record", 80),
            ("chicago-cdph governance_vote", 1),
            ("chicago-cdph inspection_record", 500),
            ("sf-dph enterprise_record", 260),
            ("sf-dph governance_vote", 1),
            ("sf-dph inspection_record", 500),
            ("us-osha enterprise_record", 1494),
            ("us-osha accident_report", 1500),
            ("us-osha penalty", 300),
        ])
    );
    assert_eq!(
        rejected(&plan),
        expected(&[
            ("date_out_of_range", 2),
            ("missing_date", 238),
            ("missing_id", 82)
        ])
    );
    assert_every_row_accounted_for(&plan);
    assert_well_ordered(&plan);
}

#[test]
fn full_data_reads_every_row_of_the_eight_files_and_accounts_for_each() {
    let plan = full_plan();
    // Data rows per SOURCE.md: 27,600 + 27,600 (Chicago), 7,644 + 28,146 + 40,317 (SF),
    // 7,352 + 573 + 7,063 (OSHA).
    assert_eq!(plan.rows_read, 146_295);
    // 24,754 matched BACP rows over 17,430 terms; 18 repeated SF business ids.
    assert_eq!(plan.duplicates_skipped, 7_324 + 18);
    assert_eq!(
        counts(plan),
        expected(&[
            // The REA revocation's appeal (issue 4: appeals with their outcome).
            ("chicago-bacp appeal", 1),
            ("chicago-bacp enterprise_record", 9_365),
            // The demo's Rego policy: a proposal and two votes, before every record.
            ("chicago-bacp governance_proposal", 1),
            // 17,430 terms + 1,181 AAC + 60 REV + 1 REA.
            ("chicago-bacp licence_decision", 18_672),
            ("chicago-cdph enterprise_record", 961),
            ("chicago-cdph governance_vote", 1),
            ("chicago-cdph inspection_record", 27_600),
            ("sf-dph enterprise_record", 7_081),
            ("sf-dph governance_vote", 1),
            ("sf-dph inspection_record", 28_146),
            ("us-osha enterprise_record", 14_621),
            ("us-osha accident_report", 14_873),
            ("us-osha penalty", 3_872),
        ])
    );
    assert_eq!(
        rejected(plan),
        expected(&[
            ("date_out_of_range", 1),
            ("missing_date", 572),
            ("missing_id", 2_846),
            ("placeholder_date", 113),
            ("unmatched", 51),
        ])
    );
    assert_every_row_accounted_for(plan);
}

#[test]
fn full_data_items_are_in_effective_date_order_with_enterprises_first() {
    assert_well_ordered(full_plan());
}

#[test]
fn latin1_business_names_are_decoded() {
    let plan = full_plan();
    let name_at = |line: u64| {
        plan.items
            .iter()
            .find_map(|i| match &i.body {
                TxBody::EnterpriseRecord(r)
                    if i.source == "businesses_plus.csv" && i.line == line =>
                {
                    Some((r.enterprise.to_string(), r.name.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no enterprise from line {line}"))
    };
    // Bytes 0xEA and 0xE8 in the file.
    assert_eq!(
        name_at(4653),
        ("us-sf-dph:68091".into(), "Kiên Thanh".into())
    );
    assert_eq!(
        name_at(4115),
        ("us-sf-dph:64333".into(), "The Crème Brulee Cart".into())
    );
}

#[test]
fn osha_1969_placeholder_dates_are_rejected() {
    let plan = full_plan();
    let placeholders: Vec<_> = plan
        .rejected
        .iter()
        .filter(|r| r.reason.key() == "placeholder_date")
        .collect();
    assert_eq!(placeholders.len(), 113);
    assert!(placeholders
        .iter()
        .all(|r| r.source == "fatality_inspections_2017_2023.csv"
            && r.reason == RejectReason::PlaceholderDate("12/31/1969".into())));
    assert!(placeholders.iter().any(|r| r.line == 6952));
}

#[test]
fn osha_mixed_date_formats_parse() {
    let plan = full_plan();
    let accident_at = |line: u64| {
        plan.items
            .iter()
            .find(|i| {
                i.source == "fatcat_summaries_2009_2015.csv"
                    && i.line == line
                    && matches!(i.body, TxBody::AccidentReport(_))
            })
            .map(|i| i.effective_at)
    };
    assert_eq!(accident_at(2), Some(ymd(2009, 6, 23))); // 6/23/2009
    assert_eq!(accident_at(202), Some(ymd(2009, 9, 20))); // 09/20/09
    assert_eq!(accident_at(3620), Some(ymd(2013, 9, 30))); // 2013-09-30 00:00:00
}

#[test]
fn osha_shifted_rows_take_the_employer_from_the_description_column() {
    let plan = full_plan();
    let accident = plan
        .items
        .iter()
        .find_map(|i| match &i.body {
            TxBody::AccidentReport(r)
                if i.source == "fatcat_summaries_2009_2015.csv" && i.line == 2526 =>
            {
                Some(r)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        accident.enterprise.as_str(),
        "us-osha-employer:VIKING_COCA_COLA_BOTTLING_COMPANY"
    );
    assert_eq!(accident.location, "St. Cloud, MN 56303");
    assert!(accident
        .description
        .starts_with("Worker at a soda bottling company"));
}

/// Copies the real data into a temporary folder, keeping the first `keep` lines of each
/// file (all of them are single-line records there).
fn copy_head(keep: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for folder in [CHI, SF, OSHA] {
        fs::create_dir(tmp.path().join(folder)).unwrap();
        for entry in fs::read_dir(data_dir().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                let bytes = fs::read(&path).unwrap();
                let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
                lines.truncate(keep);
                fs::write(
                    tmp.path().join(folder).join(path.file_name().unwrap()),
                    lines.concat(),
                )
                .unwrap();
            }
        }
    }
    tmp
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(String) -> String) {
    let text = fs::read_to_string(dir.join(file)).unwrap();
    fs::write(dir.join(file), f(text)).unwrap();
}

#[test]
fn a_bad_date_in_a_copy_is_rejected_with_its_line() {
    let tmp = copy_head(11);
    let file = format!("{CHI}/food_inspections.csv");
    // Line 4 is LITTLE QUIAPO RESTAURANT's inspection of 2011-10-18; make it February 30.
    edit(tmp.path(), &file, |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        let cells: Vec<&str> = lines[3].split(',').collect();
        let date = cells[10].to_string();
        lines[3] = lines[3].replacen(&date, "2013-02-30", 1);
        lines.join("\n") + "\n"
    });
    let plan = plan_import(tmp.path()).unwrap();
    let bad: Vec<_> = plan
        .rejected
        .iter()
        .filter(|r| r.source == "food_inspections.csv")
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 4);
    assert_eq!(
        bad[0].reason,
        RejectReason::UnparseableDate("2013-02-30".into())
    );
    assert_eq!(
        bad[0].to_string(),
        "food_inspections.csv line 4: unparseable date \"2013-02-30\""
    );
    let cdph = plan
        .items
        .iter()
        .filter(|i| matches!(i.body, TxBody::InspectionRecord(_)) && i.agency == "chicago-cdph")
        .count();
    assert_eq!(cdph, 9);
    assert_eq!(plan.rows_read, 8 * 10);
}

/// A small synthetic data folder: every file with its required columns and a few rows.
fn synthetic() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, bytes: &[u8]| {
        let path = tmp.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    };
    write(
        &format!("{CHI}/business_licenses_at_inspection.csv"),
        b"Inspection_ID,ID,ACCOUNT_NUMBER,LEGAL_NAME,ADDRESS,CITY,STATE,ZIP_CODE,LICENSE_DESCRIPTION,\
LICENSE_NUMBER,APPLICATION_TYPE,LICENSE_TERM_START_DATE,LICENSE_TERM_EXPIRATION_DATE,LICENSE_STATUS\n\
1,100-20120101,7,ACME FOODS,1 MAIN ST,CHICAGO,IL,60601,Retail Food Establishment,100,ISSUE,2012-01-01,2014-01-01,REV\n\
2,100-20120101,7,ACME FOODS,1 MAIN ST,CHICAGO,IL,60601,Retail Food Establishment,100,ISSUE,2012-01-01,2014-01-01,REV\n\
3,,,,,,,,,,,,,\n",
    );
    write(
        &format!("{CHI}/food_inspections.csv"),
        b"Inspection_ID,DBA_Name,License,Address,City,State,Zip,Inspection_Date,Results,criticalCount,seriousCount,minorCount\n\
1,\"ACME\nFOODS\",100,1 MAIN ST,CHICAGO,IL,60601,2012-06-01,Fail,1,2,3\n\
2,ACME,100,1 MAIN ST,CHICAGO,IL,60601,2013-03-01,Pass,0,0,0\n\
3,CORNER CAFE,555,2 ELM ST,CHICAGO,IL,60602,2012-02-01,Pass w/ Conditions,0,1,0\n",
    );
    write(
        &format!("{SF}/businesses_plus.csv"),
        b"business_id,name,address,city,postal_code,business_certificate,application_date\n\
10,Caf\xe9 Un,1 Market St,SF,94103,555,01/02/2013\n\
11,Bad \x81 Byte,2 Market St,SF,94103,,01/02/2013\n\
12,No Date,3 Market St,SF,94103,,\n",
    );
    write(
        &format!("{SF}/inspections_plus.csv"),
        b"\"business_id\",\"Score\",\"date\",\"type\"\n\
10,90,\"20130301\",\"Routine - Unscheduled\"\n\
10,,\"20130301\",\"Complaint\"\n\
99,,\"20130302\",\"Complaint\"\n\
10,101,\"20130401\",\"Routine - Unscheduled\"\n",
    );
    write(
        &format!("{SF}/violations_plus.csv"),
        b"\"business_id\",\"date\",\"ViolationTypeID\",\"risk_category\",\"description\"\n\
10,\"20130301\",103154,\"High Risk\",\"Vermin\"\n\
10,\"20130301\",103145,\"N/A\",\"Other\"\n\
10,\"20130501\",103145,\"Low Risk\",\"Unmatched\"\n\
10,\"20130301\",1,\"Low Risk\"\n",
    );
    write(
        &format!("{OSHA}/fatcat_summaries_2009_2015.csv"),
        b",Company,\"Company, City, State, ZIP\",Fatality or Catastrophe,Inspection #,\
Preliminary Description of Incident,Summary Report Date,Unnamed: 4,date,place\n\
0,\"L.B. Thompson Inc., Tampa, FL 33610\",,,,Victim fell.,7/24/2009,,6/23/2009,x\n\
1,\"OZ Technology, Inc., Rathdrum, ID 83858\",,,,Decedent died.,7/24/2009,,09/20/09,x\n\
2,,\"CAM Contractors Inc., Huntington Beach, CA 92649\",Catastrophes,997653.0,Three hospitalized.,,,2013-09-30 00:00:00,x\n",
    );
    write(
        &format!("{OSHA}/fatcat_reports_2016_2017.csv"),
        b",date,description,employer,fatcat,inspection\n\
0,2017-04-28,A worker died.,\"PROWLER RECOVERY, INC., 8100 W. Broward Blvd. PLANTATION  FL 33324\",Fatality,1229035.015\n",
    );
    write(
        &format!("{OSHA}/fatality_inspections_2017_2023.csv"),
        b"\xef\xbb\xbfDate of Incident,City,Select State,Hazard Description,Inspection Number,\
Federal or State Plan,Citation Issued Related to Fatality\n\
4/28/2017,Plantation,FL,Worker (40) crushed.,1229035,Federal,Yes\n\
12/31/1969,Anderson,IN,Worker fatally struck by log.,1477251,State,Yes\n",
    );
    tmp
}

#[test]
fn synthetic_folder_maps_every_source_as_documented() {
    let tmp = synthetic();
    let plan = plan_import(tmp.path()).unwrap();
    assert_eq!(plan.rows_read, 3 + 3 + 3 + 4 + 4 + 3 + 1 + 2);
    assert_eq!(plan.duplicates_skipped, 1);
    let reasons: Vec<(String, u64, &str)> = plan
        .rejected
        .iter()
        .map(|r| (r.source.clone(), r.line, r.reason.key()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "business_licenses_at_inspection.csv".into(),
                4,
                "missing_id"
            ),
            ("businesses_plus.csv".into(), 3, "undecodable_text"),
            ("businesses_plus.csv".into(), 4, "missing_date"),
            ("inspections_plus.csv".into(), 5, "malformed"),
            ("violations_plus.csv".into(), 4, "unmatched"),
            ("violations_plus.csv".into(), 5, "malformed"),
            (
                "fatality_inspections_2017_2023.csv".into(),
                3,
                "placeholder_date"
            ),
        ]
    );
    assert_every_row_accounted_for(&plan);
    assert_well_ordered(&plan);

    let find = |source: &str, line: u64, seq: usize| {
        plan.items
            .iter()
            .filter(|i| i.source == source && i.line == line)
            .filter(|i| !matches!(i.body, TxBody::EnterpriseRecord(_)))
            .nth(seq)
            .unwrap_or_else(|| panic!("{source}:{line} #{seq}"))
    };
    // BACP: grant at term start, then revoke at the last inspection under the term.
    let grant = find("business_licenses_at_inspection.csv", 2, 0);
    let revoke = find("business_licenses_at_inspection.csv", 2, 1);
    match (&grant.body, &revoke.body) {
        (TxBody::LicenceDecision(g), TxBody::LicenceDecision(r)) => {
            assert_eq!(g.kind, LicenceDecisionKind::Grant);
            assert_eq!(g.enterprise.as_str(), "us-chi-bacp:7");
            assert_eq!(
                (g.valid_from, g.valid_until),
                (Some(ymd(2012, 1, 1)), Some(ymd(2014, 1, 1)))
            );
            assert_eq!(r.kind, LicenceDecisionKind::Revoke);
            assert_eq!(revoke.effective_at, ymd(2013, 3, 1));
        }
        other => panic!("{other:?}"),
    }
    // CDPH: the embedded newline makes the second inspection start on line 4.
    let second = find("food_inspections.csv", 4, 0);
    assert_eq!(second.effective_at, ymd(2013, 3, 1));
    match &find("food_inspections.csv", 2, 0).body {
        TxBody::InspectionRecord(r) => {
            assert_eq!(r.enterprise.as_str(), "us-chi-bacp:7");
            assert_eq!(r.outcome, InspectionOutcome::Fail);
            assert_eq!(r.violation_counts, [3, 2, 1]);
        }
        other => panic!("{other:?}"),
    }
    match &find("food_inspections.csv", 5, 0).body {
        TxBody::InspectionRecord(r) => assert_eq!(r.enterprise.as_str(), "us-chi-license:555"),
        other => panic!("{other:?}"),
    }
    // SF: violations go to the scored inspection of that day; Latin-1 name decoded.
    match &find("inspections_plus.csv", 2, 0).body {
        TxBody::InspectionRecord(r) => {
            assert_eq!(r.inspection_id, "10-20130301-Routine - Unscheduled");
            assert_eq!(r.score, Some(90));
            assert_eq!(r.violation_counts, [1, 0, 1]);
            assert_eq!(r.violations.len(), 2);
            assert_eq!(r.outcome, InspectionOutcome::NoVerdict);
        }
        other => panic!("{other:?}"),
    }
    let enterprise = |id: &str| {
        plan.items
            .iter()
            .find_map(|i| match &i.body {
                TxBody::EnterpriseRecord(r) if r.enterprise.as_str() == id => Some((i, r)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no enterprise record for {id}"))
    };
    let (item, cafe) = enterprise("us-sf-dph:10");
    assert_eq!(cafe.name, "Café Un");
    assert_eq!(cafe.linked_ids, vec!["us-sf-ttx:555".to_string()]);
    assert_eq!(item.effective_at, ymd(2013, 1, 2));
    assert_eq!(
        enterprise("us-sf-dph:99").1.name,
        "unknown (SF DPH business 99)"
    );
    let (acme_item, acme) = enterprise("us-chi-bacp:7");
    assert_eq!(acme_item.effective_at, ymd(2012, 1, 1));
    assert_eq!(acme.linked_ids, vec!["us-chi-license:100".to_string()]);
    // OSHA: three date formats, catastrophe, employer ids and links, penalty after accident.
    let summaries = "fatcat_summaries_2009_2015.csv";
    assert_eq!(find(summaries, 2, 0).effective_at, ymd(2009, 6, 23));
    assert_eq!(find(summaries, 3, 0).effective_at, ymd(2009, 9, 20));
    match &find(summaries, 4, 0).body {
        TxBody::AccidentReport(r) => {
            assert_eq!(
                r.enterprise.as_str(),
                "us-osha-employer:CAM_CONTRACTORS_INC"
            );
            assert_eq!(
                (r.category.as_str(), r.deaths, r.serious_injuries),
                ("catastrophe", 0, 1)
            );
            assert_eq!(r.report_id, "997653");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        enterprise("us-osha-employer:PROWLER_RECOVERY").1.linked_ids,
        vec!["us-osha-insp:1229035".to_string()]
    );
    let accident = find("fatality_inspections_2017_2023.csv", 2, 0);
    let penalty = find("fatality_inspections_2017_2023.csv", 2, 1);
    match &penalty.body {
        TxBody::Penalty(p) => {
            assert_eq!(p.enterprise.as_str(), "us-osha-insp:1229035");
            assert_eq!(p.grade, PenaltyGrade::Severe);
            assert_eq!(
                (p.kind.as_str(), p.case_id.as_str(), p.amount_minor),
                ("citation", "1229035", None)
            );
        }
        other => panic!("{other:?}"),
    }
    let pos = |x| plan.items.iter().position(|i| std::ptr::eq(i, x)).unwrap();
    assert_eq!(pos(penalty), pos(accident) + 1);
}

#[test]
fn a_header_without_a_required_column_names_the_file_and_column() {
    let tmp = synthetic();
    edit(tmp.path(), &format!("{SF}/inspections_plus.csv"), |t| {
        t.replacen("\"Score\"", "\"Points\"", 1)
    });
    match plan_import(tmp.path()) {
        Err(e @ ImportError::MissingColumn { .. }) => {
            assert_eq!(
                e.to_string(),
                "inspections_plus.csv: the header has no column \"Score\""
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_files_and_folders_are_errors() {
    let tmp = synthetic();
    fs::remove_file(tmp.path().join(OSHA).join("fatcat_reports_2016_2017.csv")).unwrap();
    assert!(
        matches!(plan_import(tmp.path()), Err(ImportError::MissingFile(p)) if p.ends_with("fatcat_reports_2016_2017.csv"))
    );
    assert!(matches!(
        plan_import(&tmp.path().join("nowhere")),
        Err(ImportError::MissingDir(_))
    ));
}

#[test]
fn a_row_with_the_wrong_field_count_or_bad_utf8_is_rejected_not_fatal() {
    let tmp = synthetic();
    let path = tmp.path().join(OSHA).join("fatcat_reports_2016_2017.csv");
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(b"1,2017-04-27,Too few fields\n");
    bytes.extend_from_slice(b"2,2017-04-26,Bad \xff byte,\"X Co, Town\",Fatality,1\n");
    bytes.extend_from_slice(b"3,2017-04-25,Fine.,\"Y Co, Town\",Fatality,2\n");
    fs::write(&path, bytes).unwrap();
    let plan = plan_import(tmp.path()).unwrap();
    let rejected: Vec<(u64, &str)> = plan
        .rejected
        .iter()
        .filter(|r| r.source == "fatcat_reports_2016_2017.csv")
        .map(|r| (r.line, r.reason.key()))
        .collect();
    assert_eq!(rejected, vec![(3, "malformed"), (4, "undecodable_text")]);
    assert!(plan
        .items
        .iter()
        .any(|i| i.source == "fatcat_reports_2016_2017.csv" && i.line == 5));
}

#[test]
fn issue_4_mappings_follow_ups_levels_appeal_and_the_policy_deployment() {
    use safeledger_core::records::{AccidentLevel, AppealTarget, GovernanceAction};
    let plan = full_plan();
    let follow_ups = plan
        .items
        .iter()
        .filter(|i| matches!(&i.body, TxBody::InspectionRecord(r) if r.follow_up_of.is_some()))
        .count();
    let mut levels: BTreeMap<AccidentLevel, u64> = BTreeMap::new();
    for i in &plan.items {
        if let TxBody::AccidentReport(r) = &i.body {
            *levels.entry(r.level).or_default() += 1;
            assert!(!r.concealed);
        }
    }
    let appeals: Vec<_> = plan
        .items
        .iter()
        .filter_map(|i| match &i.body {
            TxBody::Appeal(a) => Some(a),
            _ => None,
        })
        .collect();
    // Of 5,655 Reinspection/Followup and the complaint follow-ups, those with an earlier
    // inspection of the same business.
    assert_eq!(follow_ups, 5_566);
    assert_eq!(
        levels.into_iter().collect::<Vec<_>>(),
        vec![(AccidentLevel::General, 14_872), (AccidentLevel::Larger, 1)]
    );
    assert_eq!(appeals.len(), 1);
    assert!(matches!(&appeals[0].target, AppealTarget::Licence(_)));
    match &plan.items[0].body {
        TxBody::GovernanceProposal(p) => {
            assert!(
                matches!(&p.action, GovernanceAction::DeployPolicy(s) if s.name == "inspection-blocks-renewal")
            )
        }
        other => panic!("{other:?}"),
    }
}
