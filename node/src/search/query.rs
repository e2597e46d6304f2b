//! Turning a user's search text into a bounded tantivy query, and running it.
//!
//! The text is cut as the index cuts it ([`super::tokens::units`]); every unit must match
//! (AND) in some field (OR over the fields): a word matches a word equal to it or, from
//! three characters on, beginning with it (a prefix, scored low); a CJK run matches as the
//! phrase of its bigrams, so any part of two characters or more is found. The whole text
//! equal to an id, linked id or licence number ranks that enterprise first. The `private`
//! field is searched only when the caller may read it ([`SearchRequest::private`]).
//!
//! Bounds: at most [`MAX_QUERY_CHARS`] characters and [`MAX_QUERY_UNITS`] units, at most
//! [`MAX_LIMIT`] hits a page and [`MAX_OFFSET`] skipped; anything else is a
//! [`QueryError`] (gRPC `INVALID_ARGUMENT`), never a panic or an unbounded search.

use super::index::{Fields, IndexError, SearchIndex};
use super::tokens::{bigrams, units, Unit};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{TantivyDocument, Term};

/// Longest search text, characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words and CJK runs in one search text.
pub const MAX_QUERY_UNITS: usize = 12;
/// Most hits in one page.
pub const MAX_LIMIT: usize = 100;
/// Hits per page when the request names none.
pub const DEFAULT_LIMIT: usize = 20;
/// Most hits skipped (the deepest page starts there).
pub const MAX_OFFSET: usize = 1_000;
/// Shortest word also matched as a prefix, characters.
pub const MIN_PREFIX_CHARS: usize = 3;
/// Score of a prefix match (a whole-word match scores by BM25, usually above it).
const PREFIX_SCORE: f32 = 0.5;
/// Boost of the text equal to an id.
const EXACT_ID_BOOST: f32 = 20.0;

/// Why a search text or page was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    /// Nothing to search for.
    #[error(
        "the search text is empty: give part of a name, an address, a licence number or an id"
    )]
    Empty,
    /// Only punctuation or symbols.
    #[error("the search text {0:?} has no letters or digits")]
    NoTerms(String),
    /// Too long.
    #[error("the search text has {0} characters; at most {MAX_QUERY_CHARS}")]
    TooLong(usize),
    /// Too many words.
    #[error("the search text has {0} words; at most {MAX_QUERY_UNITS}")]
    TooManyUnits(usize),
    /// A control character.
    #[error("the search text holds a control character")]
    Control,
    /// Page too large.
    #[error("limit {0} is over the most hits a page, {MAX_LIMIT}")]
    Limit(usize),
    /// Page too deep.
    #[error("offset {0} is over the deepest page start, {MAX_OFFSET}: narrow the search")]
    Offset(usize),
}

/// One search.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// The text.
    pub text: String,
    /// Hits wanted (0: [`DEFAULT_LIMIT`]).
    pub limit: usize,
    /// Hits skipped.
    pub offset: usize,
    /// Whether withheld values this node holds are searched: only for a caller entitled to
    /// read them.
    pub private: bool,
}

/// What a search found, best first.
#[derive(Clone, Debug)]
pub struct Found {
    /// Documents matching in all (not only this page).
    pub total: usize,
    /// This page: (score, enterprise id).
    pub hits: Vec<(f32, String)>,
}

/// Failure of a search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The request was refused.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(IndexError::Tantivy(e))
    }
}

/// The page bounds of `req`, checked: (limit, offset).
pub fn page(req: &SearchRequest) -> Result<(usize, usize), QueryError> {
    let limit = match req.limit {
        0 => DEFAULT_LIMIT,
        n if n > MAX_LIMIT => return Err(QueryError::Limit(n)),
        n => n,
    };
    if req.offset > MAX_OFFSET {
        return Err(QueryError::Offset(req.offset));
    }
    Ok((limit, req.offset))
}

fn term_in(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

/// Escapes every character that is not a letter or digit for tantivy's regex syntax.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if !c.is_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn prefix_in(field: Field, prefix: &str) -> Result<Box<dyn Query>, tantivy::TantivyError> {
    let q = RegexQuery::from_pattern(&format!("{}.*", regex_escape(prefix)), field)?;
    Ok(Box::new(ConstScoreQuery::new(Box::new(q), PREFIX_SCORE)))
}

/// The query of one unit in one field.
fn unit_in(field: Field, unit: &Unit) -> Result<Vec<Box<dyn Query>>, tantivy::TantivyError> {
    Ok(match unit {
        Unit::Word(w) => {
            let mut qs = vec![term_in(field, w)];
            if w.chars().count() >= MIN_PREFIX_CHARS {
                qs.push(prefix_in(field, w)?);
            }
            qs
        }
        Unit::Cjk(run) => {
            let grams = bigrams(run);
            if grams.len() == 1 {
                let mut qs = vec![term_in(field, &grams[0])];
                if run.chars().count() == 1 {
                    // One character: any bigram it starts.
                    qs.push(prefix_in(field, run)?);
                }
                qs
            } else {
                let terms = grams
                    .iter()
                    .map(|g| Term::from_field_text(field, g))
                    .collect();
                vec![Box::new(PhraseQuery::new(terms)) as Box<dyn Query>]
            }
        }
    })
}

/// The units of a search text, or why it is refused (empty, over [`MAX_QUERY_CHARS`]
/// characters, a control character, no letters or digits, over [`MAX_QUERY_UNITS`]
/// units): the node's check, which the CLI also makes before asking.
pub fn check_text(text: &str) -> Result<Vec<Unit>, QueryError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QueryError::Empty);
    }
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong(chars));
    }
    if text.chars().any(char::is_control) {
        return Err(QueryError::Control);
    }
    let us = units(text);
    if us.is_empty() {
        return Err(QueryError::NoTerms(text.to_string()));
    }
    if us.len() > MAX_QUERY_UNITS {
        return Err(QueryError::TooManyUnits(us.len()));
    }
    Ok(us)
}

/// Checks `text` and builds its query over `fields` (the `private` field only when
/// `private`).
pub fn build(fields: &Fields, text: &str, private: bool) -> Result<Box<dyn Query>, SearchError> {
    let us = check_text(text)?;
    let mut searched = vec![fields.name, fields.address, fields.ids];
    if private {
        searched.push(fields.private);
    }
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(us.len() + 1);
    for u in &us {
        let mut any = Vec::new();
        for &f in &searched {
            for q in unit_in(f, u)? {
                any.push((Occur::Should, q));
            }
        }
        must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
    }
    let exact = term_in(fields.ids_exact, &text.to_lowercase());
    must.push((
        Occur::Should,
        Box::new(BoostQuery::new(exact, EXACT_ID_BOOST)),
    ));
    Ok(Box::new(BooleanQuery::new(must)))
}

/// Runs `req` on the last commit of `index`.
pub fn run(index: &SearchIndex, req: &SearchRequest) -> Result<Found, SearchError> {
    let (limit, offset) = page(req)?;
    let query = build(&index.fields(), &req.text, req.private)?;
    let searcher = index.searcher();
    let (top, total) = searcher.search(
        &query,
        &(
            TopDocs::with_limit(limit)
                .and_offset(offset)
                .order_by_score(),
            Count,
        ),
    )?;
    let mut hits = Vec::with_capacity(top.len());
    for (score, addr) in top {
        let doc: TantivyDocument = searcher.doc(addr)?;
        if let Some(id) = index.enterprise_id(&doc) {
            hits.push((score, id));
        }
    }
    Ok(Found { total, hits })
}
