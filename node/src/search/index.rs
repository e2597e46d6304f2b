//! The enterprise search index: one tantivy document per enterprise in committed state,
//! under `<data dir>/search/`.
//!
//! The index is derived data, never consensus: it is rebuilt from committed state when it
//! is missing, unreadable or of another layout ([`SearchIndex::open`] then reports
//! [`Opened::Empty`]), and follows the ledger block by block ([`super::follow`]). Each
//! tantivy commit carries the height it reflects in its payload (`{"v":1,"height":H}`);
//! a commit is atomic (tantivy writes `meta.json` last, by rename), so a kill -9 during a
//! commit or a merge leaves the previous commit with its height, from which the follower
//! catches up.
//!
//! Fields: `eid` (the enterprise id, exact, stored: the key of the upsert), `ids` (the id,
//! linked ids and licence numbers, tokenized), `ids_exact` (the same, whole and lowercased),
//! `name` and `address` (the enterprise's and every agency's, public values only), and
//! `private` (withheld names and addresses this node holds: searched only for callers
//! entitled to read them, see [`super::query`]). Text fields use [`super::tokens`].
//! The lists of [`super::lists`] filter on `risk` and `credit` (ranks, 0 best), `listed`
//! (1 with any blacklist listing not removed), `licence_until` (the end of each active
//! licence's term) and `hazard_due` (the deadline of each standing, unrectified hazard the
//! ledger tracks), and page by `eid` (also a fast field, for ordering).

use safeledger_contracts::model::{
    CreditGrade, EnterpriseState, Finding, FindingKind, Hazard, LicenceStatus, RiskLevel,
};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::tokens::{TermTokenizer, TOKENIZER};

/// Version of the index layout; an index of another version is rebuilt.
pub const LAYOUT_VERSION: u64 = 3;
/// Name of the index directory inside the data directory.
pub const SEARCH_DIR: &str = "search";
/// Memory the index writer buffers before it writes a segment, bytes (tantivy's minimum
/// is 15 MB per thread; one thread).
pub const WRITER_MEMORY_BYTES: usize = 24_000_000;
/// Height value stored in memory for "no commit yet".
const NO_HEIGHT: u64 = u64::MAX;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// tantivy failed (I/O, lock, corrupt files).
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The writer was closed (the node is stopping).
    #[error("search index: the writer is closed")]
    Closed,
    /// The index directory could not be removed or created.
    #[error("search index directory {path}: {error}")]
    Dir {
        /// The directory.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
}

/// How [`SearchIndex::open`] found the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// An index whose last commit reflects this height.
    At(u64),
    /// A new, empty index (none was there, or it was unreadable or of another layout and
    /// was removed): it must be rebuilt from state.
    Empty,
}

/// The fields of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// Enterprise id, exact and stored.
    pub eid: Field,
    /// Ids, tokenized.
    pub ids: Field,
    /// Ids, whole and lowercased.
    pub ids_exact: Field,
    /// Names (public).
    pub name: Field,
    /// Addresses (public).
    pub address: Field,
    /// Withheld names and addresses this node holds.
    pub private: Field,
    /// Risk level rank (green 0 … red 3).
    pub risk: Field,
    /// Credit grade rank (A 0 … D 3).
    pub credit: Field,
    /// 1 with a blacklist listing not removed, else 0.
    pub listed: Field,
    /// End of each active licence's term, ms.
    pub licence_until: Field,
    /// Deadline of each standing, unrectified, tracked hazard, ms.
    pub hazard_due: Field,
}

fn schema() -> (Schema, Fields) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let mut b = Schema::builder();
    let fields = Fields {
        eid: b.add_text_field("eid", STRING | STORED | FAST),
        ids: b.add_text_field("ids", text.clone()),
        ids_exact: b.add_text_field("ids_exact", STRING),
        name: b.add_text_field("name", text.clone()),
        address: b.add_text_field("address", text.clone()),
        private: b.add_text_field("private", text),
        risk: b.add_u64_field("risk", INDEXED),
        credit: b.add_u64_field("credit", INDEXED),
        listed: b.add_u64_field("listed", INDEXED),
        licence_until: b.add_u64_field("licence_until", INDEXED),
        hazard_due: b.add_u64_field("hazard_due", INDEXED),
    };
    (b.build(), fields)
}

/// One enterprise as the index keeps it: its text and the facts lists filter on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnterpriseDoc {
    /// Facts for lists.
    pub facts: Facts,
    /// Id, linked ids, licence numbers.
    pub ids: Vec<String>,
    /// Public names.
    pub names: Vec<String>,
    /// Public addresses.
    pub addresses: Vec<String>,
    /// Withheld values this node holds.
    pub private: Vec<String>,
}

/// What the lists of [`super::lists`] filter on (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Risk level rank.
    pub risk: u64,
    /// Credit grade rank.
    pub credit: u64,
    /// A listing not removed.
    pub listed: bool,
    /// Ends of active licences' terms, ms.
    pub licence_until: Vec<u64>,
    /// Deadlines of open tracked hazards, ms.
    pub hazard_due: Vec<u64>,
}

/// Rank of a risk level (green 0 … red 3).
pub fn risk_rank(r: RiskLevel) -> u64 {
    match r {
        RiskLevel::Green => 0,
        RiskLevel::Yellow => 1,
        RiskLevel::Orange => 2,
        RiskLevel::Red => 3,
    }
}

/// Rank of a credit grade (A 0 … D 3).
pub fn credit_rank(c: CreditGrade) -> u64 {
    match c {
        CreditGrade::A => 0,
        CreditGrade::B => 1,
        CreditGrade::C => 2,
        CreditGrade::D => 3,
    }
}

/// The open, tracked hazards of `state`: standing inspections' hazards with a deadline
/// set after the inspection was committed (`live`), not rectified. (finding, hazard).
pub fn open_hazards(state: &EnterpriseState) -> impl Iterator<Item = (&Finding, &Hazard)> {
    state
        .findings
        .iter()
        .filter(|f| f.standing())
        .flat_map(|f| {
            let hazards: &[Hazard] = match &f.what {
                FindingKind::Inspection { hazards, .. } => hazards,
                _ => &[],
            };
            hazards
                .iter()
                .filter(|h| h.live && h.rectified.is_none() && h.rectify_by.is_some())
                .map(move |h| (f, h))
        })
}

impl Facts {
    /// The facts of `state`.
    pub fn of(state: &EnterpriseState) -> Facts {
        Facts {
            risk: risk_rank(state.assessment.risk),
            credit: credit_rank(state.assessment.credit),
            listed: state.listings.iter().any(|l| l.removed.is_none()),
            licence_until: state
                .licences
                .values()
                .filter(|l| l.status == LicenceStatus::Active)
                .filter_map(|l| l.valid_until.map(|t| t.0))
                .collect(),
            hazard_due: open_hazards(state)
                .filter_map(|(_, h)| h.rectify_by.map(|t| t.0))
                .collect(),
        }
    }
}

impl EnterpriseDoc {
    /// The public text of `state` (the enterprise's name and address and each agency's,
    /// blank withheld values left out) with `private`, the withheld values this node holds.
    pub fn of(state: &EnterpriseState, private: Vec<String>) -> EnterpriseDoc {
        let mut t = EnterpriseDoc {
            private,
            facts: Facts::of(state),
            ..EnterpriseDoc::default()
        };
        t.ids.push(state.id.as_str().to_string());
        t.ids.extend(state.linked_ids.iter().cloned());
        t.ids.extend(state.licences.keys().cloned());
        let push = |v: &mut Vec<String>, s: &str| {
            if !s.is_empty() && !v.iter().any(|x| x == s) {
                v.push(s.to_string());
            }
        };
        push(&mut t.names, &state.name);
        push(&mut t.addresses, &state.address);
        for a in state.agencies.values() {
            push(&mut t.names, &a.name);
            push(&mut t.addresses, &a.address);
        }
        t
    }
}

/// The index's reader and its one writer.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    height: AtomicU64,
}

fn dir_error(path: &Path, error: std::io::Error) -> IndexError {
    IndexError::Dir {
        path: path.display().to_string(),
        error,
    }
}

/// The height in a commit payload of this layout.
fn payload_height(payload: Option<&str>) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(payload?).ok()?;
    if v.get("v")?.as_u64()? != LAYOUT_VERSION {
        return None;
    }
    v.get("height")?.as_u64()
}

impl SearchIndex {
    /// Opens the index under `dir`, or creates an empty one there (removing whatever
    /// unreadable or other-layout index was there).
    pub fn open(dir: &Path) -> Result<(SearchIndex, Opened), IndexError> {
        let (schema, fields) = schema();
        let existing = Index::open_in_dir(dir).ok().and_then(|index| {
            let height = payload_height(index.load_metas().ok()?.payload.as_deref())?;
            (index.schema() == schema).then_some((index, height))
        });
        let (index, opened) = match existing {
            Some((index, h)) => (index, Opened::At(h)),
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(|e| dir_error(dir, e))?;
                }
                std::fs::create_dir_all(dir).map_err(|e| dir_error(dir, e))?;
                (Index::create_in_dir(dir, schema)?, Opened::Empty)
            }
        };
        index
            .tokenizers()
            .register(TOKENIZER, TextAnalyzer::from(TermTokenizer::default()));
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let height = match opened {
            Opened::At(h) => h,
            Opened::Empty => NO_HEIGHT,
        };
        Ok((
            SearchIndex {
                reader,
                writer: Mutex::new(Some(writer)),
                fields,
                height: AtomicU64::new(height),
            },
            opened,
        ))
    }

    /// The fields of the schema.
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// The height the last commit reflects (`None`: nothing committed yet).
    pub fn height(&self) -> Option<u64> {
        match self.height.load(Ordering::Acquire) {
            NO_HEIGHT => None,
            h => Some(h),
        }
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Option<IndexWriter>>, IndexError> {
        // A poisoned writer is still a writer: tantivy rolls back what a panic left.
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if w.is_none() {
            return Err(IndexError::Closed);
        }
        Ok(w)
    }

    /// Closes the writer: pending merges finish and the directory lock is released.
    /// Searching goes on; writing is refused ([`IndexError::Closed`]).
    pub fn close(&self) {
        let taken = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = taken {
            if let Err(e) = w.wait_merging_threads() {
                tracing::warn!(error = %e, "search index: closing the writer");
            }
        }
    }

    /// Replaces the document of enterprise `id` with `text` (uncommitted until
    /// [`SearchIndex::commit`]).
    pub fn upsert(&self, id: &str, text: &EnterpriseDoc) -> Result<(), IndexError> {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.eid, id);
        for s in &text.ids {
            doc.add_text(f.ids, s);
            doc.add_text(f.ids_exact, s.to_lowercase());
        }
        for s in &text.names {
            doc.add_text(f.name, s);
        }
        for s in &text.addresses {
            doc.add_text(f.address, s);
        }
        for s in &text.private {
            doc.add_text(f.private, s);
        }
        let facts = &text.facts;
        doc.add_u64(f.risk, facts.risk);
        doc.add_u64(f.credit, facts.credit);
        doc.add_u64(f.listed, u64::from(facts.listed));
        for &t in &facts.licence_until {
            doc.add_u64(f.licence_until, t);
        }
        for &t in &facts.hazard_due {
            doc.add_u64(f.hazard_due, t);
        }
        let w = self.writer()?;
        let w = w.as_ref().ok_or(IndexError::Closed)?;
        w.delete_term(Term::from_field_text(f.eid, id));
        w.add_document(doc)?;
        Ok(())
    }

    /// Removes every document (uncommitted until [`SearchIndex::commit`]): the start of a
    /// rebuild.
    pub fn clear(&self) -> Result<(), IndexError> {
        let w = self.writer()?;
        w.as_ref()
            .ok_or(IndexError::Closed)?
            .delete_all_documents()?;
        Ok(())
    }

    /// Commits what was added since the last commit as reflecting `height`, and makes it
    /// searchable.
    pub fn commit(&self, height: u64) -> Result<(), IndexError> {
        {
            let mut w = self.writer()?;
            let w = w.as_mut().ok_or(IndexError::Closed)?;
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(
                &serde_json::json!({ "v": LAYOUT_VERSION, "height": height }).to_string(),
            );
            prepared.commit()?;
        }
        self.reader.reload()?;
        self.height.store(height, Ordering::Release);
        Ok(())
    }

    /// Records that state through `height` changed nothing the index holds, without a
    /// commit: the next commit carries the height (a restart before it re-reads those
    /// heights' empty change lists).
    pub fn advance(&self, height: u64) {
        self.height.fetch_max(height, Ordering::AcqRel);
    }

    /// Documents in the last commit.
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// A searcher over the last commit.
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// The enterprise id stored in a document.
    pub fn enterprise_id(&self, doc: &TantivyDocument) -> Option<String> {
        doc.get_first(self.fields.eid)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}
