//! The lists an officer asks for (issue 19 item 3): enterprises at a risk level or credit
//! grade, blacklisted enterprises, licences expiring within N days, overdue
//! rectifications — each in enterprise-id order, a page at a time.
//!
//! The index narrows the candidates (its facts, [`super::index::Facts`]); each candidate
//! is then judged on committed state (the index may be a poll behind): blacklisting,
//! expiry and deadlines at block time `now`; risk level and credit grade as the stored
//! assessment has them, which R9 re-evaluates at each record's effective date and R5/R8
//! escalations update (the entry says the date it was assessed). Paging is by a cursor, the last enterprise id shown: the next page starts
//! after it, so a page never repeats an entry and never skips one that held throughout.
//! A page examines at most [`MAX_EXAMINED`] candidates; when it stops there it still
//! returns the cursor to go on from.

use super::index::{credit_rank, open_hazards, risk_rank, IndexError, SearchIndex};
use crate::app::StoreView;
use crate::store::Store;
use safeledger_contracts::model::{CreditGrade, EnterpriseState, LicenceStatusAt, RiskLevel};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::Timestamp;
use std::ops::Bound;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Order, Term};

/// Most entries a page.
pub const MAX_PAGE: usize = 200;
/// Entries a page when the request names none.
pub const DEFAULT_PAGE: usize = 50;
/// Most candidates one page examines.
pub const MAX_EXAMINED: usize = 5_000;
/// Longest look-ahead for expiring licences, days.
pub const MAX_EXPIRING_DAYS: u64 = 3_650;
/// Candidates read from the index at a time.
const BATCH: usize = 256;
const DAY_MS: u64 = 86_400_000;

/// Which list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// Enterprises at this risk level.
    Risk(RiskLevel),
    /// Enterprises with this credit grade.
    Credit(CreditGrade),
    /// Enterprises on a blacklist now.
    Blacklisted,
    /// Enterprises with an active licence whose term ends within this many days.
    Expiring(u64),
    /// Enterprises with a tracked hazard past its rectification deadline, not rectified.
    Overdue,
}

/// Why a list request was refused (gRPC `INVALID_ARGUMENT`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ListError {
    /// Unknown list or value.
    #[error("{0}")]
    Unknown(String),
    /// Page too large.
    #[error("limit {0} is over the most entries a page, {MAX_PAGE}")]
    Limit(usize),
    /// A cursor that is not an enterprise id.
    #[error("cursor {0:?} is not an enterprise id (give the next_cursor of the last page)")]
    Cursor(String),
}

impl ListKind {
    /// Parses a list name and its value: `risk green|yellow|orange|red`, `credit A|B|C|D`,
    /// `blacklisted`, `expiring` (with `days`, 1 to [`MAX_EXPIRING_DAYS`]), `overdue`.
    pub fn parse(list: &str, value: &str, days: u64) -> Result<ListKind, ListError> {
        let unknown = |what: String| Err(ListError::Unknown(what));
        match list {
            "risk" => match value {
                "green" => Ok(ListKind::Risk(RiskLevel::Green)),
                "yellow" => Ok(ListKind::Risk(RiskLevel::Yellow)),
                "orange" => Ok(ListKind::Risk(RiskLevel::Orange)),
                "red" => Ok(ListKind::Risk(RiskLevel::Red)),
                v => unknown(format!(
                    "risk level {v:?}: one of green, yellow, orange, red"
                )),
            },
            "credit" => match value {
                "A" | "a" => Ok(ListKind::Credit(CreditGrade::A)),
                "B" | "b" => Ok(ListKind::Credit(CreditGrade::B)),
                "C" | "c" => Ok(ListKind::Credit(CreditGrade::C)),
                "D" | "d" => Ok(ListKind::Credit(CreditGrade::D)),
                v => unknown(format!("credit grade {v:?}: one of A, B, C, D")),
            },
            "blacklisted" | "overdue" if !value.is_empty() => {
                unknown(format!("list {list} takes no value (got {value:?})"))
            }
            "blacklisted" => Ok(ListKind::Blacklisted),
            "overdue" => Ok(ListKind::Overdue),
            "expiring" if (1..=MAX_EXPIRING_DAYS).contains(&days) => Ok(ListKind::Expiring(days)),
            "expiring" => unknown(format!(
                "expiring needs days from 1 to {MAX_EXPIRING_DAYS} (got {days})"
            )),
            other => unknown(format!(
                "no list {other:?}: risk, credit, blacklisted, expiring, overdue"
            )),
        }
    }

    /// The index query narrowing the candidates at `now`.
    fn candidates(self, index: &SearchIndex, now: Timestamp) -> Box<dyn Query> {
        let f = index.fields();
        let term = |field, v: u64| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_u64(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let range = |field, lo: Bound<u64>, hi: Bound<u64>| -> Box<dyn Query> {
            Box::new(RangeQuery::new(
                lo.map(|v| Term::from_field_u64(field, v)),
                hi.map(|v| Term::from_field_u64(field, v)),
            ))
        };
        match self {
            ListKind::Risk(r) => term(f.risk, risk_rank(r)),
            ListKind::Credit(c) => term(f.credit, credit_rank(c)),
            ListKind::Blacklisted => term(f.listed, 1),
            ListKind::Expiring(days) => range(
                f.licence_until,
                Bound::Included(now.0),
                Bound::Included(now.0.saturating_add(days.saturating_mul(DAY_MS))),
            ),
            ListKind::Overdue => range(f.hazard_due, Bound::Unbounded, Bound::Excluded(now.0)),
        }
    }

    /// Whether `state` belongs on the list at `now`, and why (for the entry).
    pub fn holds(self, state: &EnterpriseState, now: Timestamp) -> Option<String> {
        match self {
            // The stored assessment: R9 re-evaluates it at each record's effective date (and
            // R5/R8 escalations), so it is as of that date, which the entry says.
            ListKind::Risk(r) => (state.assessment.risk == r).then(|| {
                format!(
                    "{} (assessed {})",
                    state.assessment.risk_reason,
                    state.assessment.at.date_string()
                )
            }),
            ListKind::Credit(c) => (state.assessment.credit == c).then(|| {
                format!(
                    "{} (assessed {})",
                    state.assessment.credit_reason,
                    state.assessment.at.date_string()
                )
            }),
            ListKind::Blacklisted => state.listings.iter().find(|l| l.active_at(now)).map(|l| {
                format!(
                    "listed by {} until {}: {}",
                    l.agency,
                    l.until.date_string(),
                    l.reason
                )
            }),
            ListKind::Expiring(days) => {
                let end = now.0.saturating_add(days.saturating_mul(DAY_MS));
                let expiring: Vec<String> = state
                    .licences
                    .iter()
                    .filter(|(_, l)| l.status_at(now) == LicenceStatusAt::Active)
                    .filter_map(|(n, l)| {
                        l.valid_until
                            .filter(|u| u.0 <= end)
                            .map(|u| format!("licence {n} ends {}", u.date_string()))
                    })
                    .collect();
                (!expiring.is_empty()).then(|| expiring.join("; "))
            }
            ListKind::Overdue => {
                let overdue: Vec<String> = open_hazards(state)
                    .filter_map(|(f, h)| {
                        h.rectify_by.filter(|d| *d < now).map(|d| {
                            format!(
                                "hazard {} recorded by {} due {} (inspection {})",
                                h.code,
                                f.agency,
                                d.date_string(),
                                f.tx_id
                            )
                        })
                    })
                    .collect();
                (!overdue.is_empty()).then(|| overdue.join("; "))
            }
        }
    }
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page {
    /// (enterprise, why it is on the list), in id order.
    pub entries: Vec<(EnterpriseState, String)>,
    /// Where the next page starts (`None`: the list ends here).
    pub next_cursor: Option<String>,
    /// Candidates examined.
    pub examined: usize,
}

/// The page of `kind` after `cursor` (ids greater than it), at most `limit` entries
/// (0: [`DEFAULT_PAGE`]), judged on `store` at `now`.
pub fn page(
    index: &SearchIndex,
    store: &Store,
    kind: ListKind,
    cursor: &str,
    limit: usize,
    now: Timestamp,
) -> Result<Page, ListPageError> {
    let limit = match limit {
        0 => DEFAULT_PAGE,
        n if n > MAX_PAGE => return Err(ListError::Limit(n).into()),
        n => n,
    };
    if !cursor.is_empty() && EnterpriseId::parse(cursor).is_err() {
        return Err(ListError::Cursor(cursor.to_string()).into());
    }
    let f = index.fields();
    let searcher = index.searcher();
    let view = StoreView(store);
    let mut after = cursor.to_string();
    let mut out = Page {
        entries: Vec::new(),
        next_cursor: None,
        examined: 0,
    };
    loop {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, kind.candidates(index, now))];
        if !after.is_empty() {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Excluded(Term::from_field_text(f.eid, &after)),
                    Bound::Unbounded,
                )),
            ));
        }
        let batch = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(BATCH).order_by_string_fast_field("eid", Order::Asc),
            )
            .map_err(IndexError::from)?;
        let exhausted = batch.len() < BATCH;
        for (eid, _) in batch {
            let Some(eid) = eid else { continue };
            out.examined += 1;
            after = eid;
            let Ok(id) = EnterpriseId::parse(&after) else {
                continue;
            };
            let Some(state) = safeledger_contracts::enterprise(&view, &id) else {
                continue;
            };
            if let Some(why) = kind.holds(&state, now) {
                out.entries.push((state, why));
                if out.entries.len() == limit {
                    out.next_cursor = Some(after);
                    return Ok(out);
                }
            }
            if out.examined >= MAX_EXAMINED {
                out.next_cursor = Some(after);
                return Ok(out);
            }
        }
        if exhausted {
            return Ok(out);
        }
    }
}

/// Failure of a list page.
#[derive(Debug, thiserror::Error)]
pub enum ListPageError {
    /// The request was refused.
    #[error(transparent)]
    List(#[from] ListError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
}
