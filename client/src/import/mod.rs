//! Importer of the public data in `data/`: turns the three source folders into one list of
//! records to submit, in order of effective date across all sources (DESIGN §5, "Two
//! clocks": an import of historical records submits them in the order they happened).
//!
//! Bird's-eye view: each source module (`chicago`, `sf`, `osha`) reads its files
//! through `csvfile` (decoding, trimming, bounds), parses dates through `dates`, and
//! hands records and rejections to the `plan` builder, which adds one enterprise record
//! per enterprise and orders everything. The module does file I/O only; it signs and
//! submits nothing.
//!
//! | folder | file | agency | records |
//! |---|---|---|---|
//! | `chicago-food-inspections-licenses` | `business_licenses_at_inspection.csv` | `chicago-bacp` | licence decisions, enterprises |
//! | `chicago-food-inspections-licenses` | `food_inspections.csv` | `chicago-cdph` | inspections |
//! | `sf-restaurant-inspections` | `businesses_plus.csv`, `inspections_plus.csv`, `violations_plus.csv` | `sf-dph` | enterprises, inspections |
//! | `osha-fatality-reports` | the three `fat*.csv` files | `us-osha` | accident reports, penalties |
//!
//! Before the records, a plan holds three governance items (line 0 of
//! `policies/inspection_blocks_renewal.rego`) that deploy the demo's Rego policy
//! ([`policy`]); they read no row.
//!
//! Invariants of a plan:
//! - every data row read yields at least one item (governance items come from no row) (an SF violation row: is itemised in,
//!   or at least counted by, one inspection record), or exactly one [`RejectedRow`], or
//!   is counted in [`ImportPlan::duplicates_skipped`] (a row repeating a record already
//!   planned from an earlier row of the same file);
//! - every enterprise a record is about has one enterprise record, ordered before all
//!   other records about it: its effective date is the earliest of its own date and the
//!   dates of those records, and enterprise records come first among equal dates;
//! - items are sorted by effective date; ties keep source order (`plan::SOURCES`:
//!   Chicago, then SF, then OSHA), then line, then the order of the records a row yields;
//! - text fields are trimmed and cut to [`MAX_TEXT_BYTES`], lists to [`MAX_LIST_ITEMS`];
//!   no row content can make the importer panic or abort: only a missing file or folder,
//!   an I/O error, an empty file or a header without a required column do.
//!
//! [`MAX_TEXT_BYTES`]: safeledger_core::limits::MAX_TEXT_BYTES
//! [`MAX_LIST_ITEMS`]: safeledger_core::limits::MAX_LIST_ITEMS

mod chicago;
mod csvfile;
mod dates;
mod osha;
mod plan;
pub mod policy;
mod sf;

use safeledger_core::records::{TxBody, TxKind};
use safeledger_core::Timestamp;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Agency id of the Chicago Dept. of Business Affairs and Consumer Protection.
pub const CHICAGO_BACP: &str = "chicago-bacp";
/// Agency id of the Chicago Dept. of Public Health.
pub const CHICAGO_CDPH: &str = "chicago-cdph";
/// Agency id of the San Francisco Dept. of Public Health.
pub const SF_DPH: &str = "sf-dph";
/// Agency id of the US Occupational Safety and Health Administration.
pub const US_OSHA: &str = "us-osha";

/// The four agencies of the public-data demo: (id, name, role).
pub const AGENCIES: [(&str, &str, &str); 4] = [
    (
        CHICAGO_BACP,
        "Chicago Dept. of Business Affairs and Consumer Protection",
        "licensing",
    ),
    (CHICAGO_CDPH, "Chicago Dept. of Public Health", "inspection"),
    (SF_DPH, "San Francisco Dept. of Public Health", "inspection"),
    (
        US_OSHA,
        "US Occupational Safety and Health Administration",
        "accident_investigation",
    ),
];

/// The demo's role table (R1): which transaction kinds each role of [`AGENCIES`] may
/// submit. Every role manages its own officers, corrects its own records, decides appeals
/// against them, exchanges assistance requests and takes part in governance.
pub fn demo_roles() -> BTreeMap<String, Vec<TxKind>> {
    let common = [
        TxKind::EnterpriseRecord,
        TxKind::Correction,
        TxKind::AppealOutcome,
        TxKind::OfficerAction,
        TxKind::AssistanceRequest,
        TxKind::AssistanceResponse,
        TxKind::GovernanceProposal,
        TxKind::GovernanceVote,
        TxKind::AccessRequest,
        TxKind::AccessGrant,
        TxKind::PrivateRead,
        TxKind::DrawOpen,
        TxKind::AssessorAction,
        TxKind::AssessmentReport,
        TxKind::MonitorRegistration,
        TxKind::EvidenceAttachment,
        TxKind::TipFollowUp,
    ];
    let with = |extra: &[TxKind]| {
        let mut v = common.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let mut r = BTreeMap::new();
    r.insert(
        "licensing".to_string(),
        with(&[
            TxKind::LicenceDecision,
            TxKind::LicenceApplication,
            TxKind::ApplicationStep,
            TxKind::Appeal,
            TxKind::BlacklistAction,
        ]),
    );
    r.insert(
        "inspection".to_string(),
        with(&[
            TxKind::InspectionRecord,
            TxKind::Penalty,
            TxKind::RectificationReport,
            TxKind::PenaltyClearance,
        ]),
    );
    r.insert(
        "accident_investigation".to_string(),
        with(&[
            TxKind::AccidentReport,
            TxKind::InspectionRecord,
            TxKind::RectificationReport,
            TxKind::Penalty,
            TxKind::PenaltyClearance,
            TxKind::BlacklistAction,
        ]),
    );
    r
}

/// One record to submit, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportItem {
    /// File name the record comes from (e.g. `food_inspections.csv`).
    pub source: String,
    /// 1-based line in that file where the row starts (the header is line 1). For an
    /// enterprise record: the row its name and address were taken from.
    pub line: u64,
    /// Id of the submitting agency (one of [`AGENCIES`]).
    pub agency: String,
    /// When the act happened.
    pub effective_at: Timestamp,
    /// The record.
    pub body: TxBody,
}

/// A data row that yields no record, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRow {
    /// File name.
    pub source: String,
    /// 1-based line where the row starts (the header is line 1).
    pub line: u64,
    /// Why it was rejected.
    pub reason: RejectReason,
}

impl fmt::Display for RejectedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.source, self.line, self.reason)
    }
}

/// Why a data row was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// A date that is not in any of the accepted formats (`YYYY-MM-DD[ HH:MM:SS]`,
    /// `YYYYMMDD`, `M/D/YYYY`, `M/D/YY`) or not a calendar date.
    #[error("unparseable date {0:?}")]
    UnparseableDate(String),
    /// A known "no date" placeholder: 1969-12-31 (a zero Unix time shown in a US time
    /// zone) or 1899-12-30 (a zero spreadsheet date).
    #[error("placeholder date {0:?} (the real date is unknown)")]
    PlaceholderDate(String),
    /// A real date before 1970-01-01, which a [`Timestamp`] cannot hold.
    #[error("date {0:?} is before 1970")]
    DateOutOfRange(String),
    /// The date column (named) is blank and no other date is available.
    #[error("no date: column {0} is blank")]
    MissingDate(&'static str),
    /// The id column (named) is blank.
    #[error("no id: column {0} is blank")]
    MissingId(&'static str),
    /// An id that cannot be made a valid enterprise id or linked id.
    #[error("invalid id: {0}")]
    InvalidId(String),
    /// A field is not valid text in the file's encoding (UTF-8, or Windows-1252 for the
    /// Latin-1 file `businesses_plus.csv`).
    #[error("text cannot be decoded in the file's encoding")]
    UndecodableText,
    /// A row that does not fit the file's layout (field count, an unknown code, a number
    /// out of range); the text says what.
    #[error("malformed row: {0}")]
    Malformed(String),
    /// A row that should join a record of another file and matches none (an SF violation
    /// with no imported inspection on its business and date).
    #[error("unmatched: {0}")]
    Unmatched(String),
}

impl RejectReason {
    /// Short stable category name, for summaries.
    pub fn key(&self) -> &'static str {
        match self {
            RejectReason::UnparseableDate(_) => "unparseable_date",
            RejectReason::PlaceholderDate(_) => "placeholder_date",
            RejectReason::DateOutOfRange(_) => "date_out_of_range",
            RejectReason::MissingDate(_) => "missing_date",
            RejectReason::MissingId(_) => "missing_id",
            RejectReason::InvalidId(_) => "invalid_id",
            RejectReason::UndecodableText => "undecodable_text",
            RejectReason::Malformed(_) => "malformed",
            RejectReason::Unmatched(_) => "unmatched",
        }
    }
}

/// The records to submit, in order, and the rows that yield none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportPlan {
    /// Records sorted by `effective_at` (stable; see the module docs for ties).
    pub items: Vec<ImportItem>,
    /// Rejected rows, by source file then line.
    pub rejected: Vec<RejectedRow>,
    /// Data rows read, over all files (headers not counted).
    pub rows_read: u64,
    /// Rows that repeat a record already planned from an earlier row of the same file:
    /// a Chicago BACP licence term repeated once per inspection, and an SF business row
    /// repeating a `business_id` (its certificate number, if new, is merged as a linked
    /// id). Read, but neither an item nor a rejection.
    pub duplicates_skipped: u64,
}

impl ImportPlan {
    /// Number of items per (agency, kind).
    pub fn item_counts(&self) -> BTreeMap<(String, TxKind), u64> {
        let mut m = BTreeMap::new();
        for it in &self.items {
            *m.entry((it.agency.clone(), it.body.kind())).or_insert(0) += 1;
        }
        m
    }

    /// Number of rejected rows per [`RejectReason::key`].
    pub fn rejected_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for r in &self.rejected {
            *m.entry(r.reason.key()).or_insert(0) += 1;
        }
        m
    }
}

/// Why an import could not be planned at all (row-level problems are [`RejectedRow`]s).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The data folder or one of its source folders does not exist.
    #[error("data folder {0} not found")]
    MissingDir(PathBuf),
    /// A source file does not exist.
    #[error("data file {0} not found")]
    MissingFile(PathBuf),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file has no header row.
    #[error("{file}: empty file, expected a header row")]
    NoHeader {
        /// File name.
        file: String,
    },
    /// A file's header lacks a column the importer needs.
    #[error("{file}: the header has no column {column:?}")]
    MissingColumn {
        /// File name.
        file: String,
        /// The missing column.
        column: &'static str,
    },
}

/// Plans the import of everything in `data_dir` (the folder holding
/// `chicago-food-inspections-licenses`, `sf-restaurant-inspections` and
/// `osha-fatality-reports`).
pub fn plan_import(data_dir: &Path) -> Result<ImportPlan, ImportError> {
    plan_with_limit(data_dir, None)
}

/// Like [`plan_import`], reading only the first `max_rows_per_file` data rows of each file
/// (for tests and quick demos). Joins and lookups across files (licence number to BACP
/// account, SF violations to inspections, first inspection dates) see only the rows read,
/// so the plan stays self-contained: every enterprise a record names has its record.
pub fn plan_import_limited(
    data_dir: &Path,
    max_rows_per_file: usize,
) -> Result<ImportPlan, ImportError> {
    plan_with_limit(data_dir, Some(max_rows_per_file))
}

fn plan_with_limit(data_dir: &Path, limit: Option<usize>) -> Result<ImportPlan, ImportError> {
    if !data_dir.is_dir() {
        return Err(ImportError::MissingDir(data_dir.to_path_buf()));
    }
    let mut b = plan::Builder::default();
    chicago::import(&data_dir.join(chicago::FOLDER), limit, &mut b)?;
    sf::import(&data_dir.join(sf::FOLDER), limit, &mut b)?;
    osha::import(&data_dir.join(osha::FOLDER), limit, &mut b)?;
    let mut plan = b.finish();
    if let Some(first) = plan.items.first().map(|i| i.effective_at) {
        let mut items = policy::governance_items(first);
        items.append(&mut plan.items);
        plan.items = items;
    }
    Ok(plan)
}
