//! Enterprise search (issue 19 item 1): a tantivy index of committed state, kept by the node
//! beside its store, answering `SearchEnterprises` and `safeledger search`.
//!
//! Rooms: [`tokens`] (how text is cut: words, and CJK bigrams), [`index`] (the schema, the
//! one writer, commits carrying their height), [`follow`] (the thread that keeps the index
//! in step with each committed height, and the rebuild), [`query`] (the bounded query a
//! search text becomes). [`Search::answer`] turns hits into what an officer needs to pick
//! the enterprise: its names, ids, risk level, credit grade and licence statuses, read
//! from committed state at answer time (the index stores no values).
//!
//! Private values: the index holds the withheld names and addresses this node holds (its
//! agency's, and those granted to it) in a field searched only when the caller is an
//! officer of this node's agency; only such a caller sees them in a hit.

pub mod follow;
pub mod index;
pub mod lists;
pub mod query;
#[cfg(test)]
mod tests;
pub mod tokens;

use crate::app::StoreView;
use crate::private_store::PrivateStore;
use crate::store::Store;
use index::{IndexError, Opened, SearchIndex};
use query::{SearchError, SearchRequest};
use safeledger_contracts::model::EnterpriseState;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::Timestamp;
use std::path::Path;
use std::sync::Arc;

/// The node's search: the index and the thread following the ledger.
pub struct Search {
    index: Arc<SearchIndex>,
    follower: follow::Running,
}

impl Search {
    /// Opens (or creates) the index in `data_dir` and starts following committed state;
    /// an empty index is rebuilt by the follower's first pass.
    pub fn start(
        data_dir: &Path,
        store: &Store,
        private: &PrivateStore,
    ) -> Result<Search, IndexError> {
        let (index, opened) = SearchIndex::open(&data_dir.join(index::SEARCH_DIR))?;
        match opened {
            Opened::At(h) => tracing::info!(height = h, "search index opened"),
            Opened::Empty => tracing::info!("search index is empty: rebuilding from state"),
        }
        let index = Arc::new(index);
        let (ix, store, private) = (index.clone(), store.clone(), private.clone());
        let mut pending = follow::Pending::default();
        let follower = follow::Follower::spawn("search-index", move |stop| {
            follow::catch_up(&ix, &store, &private, stop, &mut pending).map_err(|e| e.to_string())
        });
        Ok(Search {
            index,
            follower: follow::Running::new(follower),
        })
    }

    /// Stops following and closes the writer (idempotent).
    pub fn stop(&self) {
        if self.follower.stop() {
            // Merges finish and the lock is released: the index can be opened again.
            self.index.close();
        }
    }

    /// Runs `req` and renders each hit from committed state at block time `now`, with the
    /// withheld values this node holds when `req.private` (JSON: `indexed_height`,
    /// `documents` — enterprises in the index —, `total`, `offset`, `hits`).
    pub fn answer(
        &self,
        store: &Store,
        private: &PrivateStore,
        req: &SearchRequest,
        now: Timestamp,
    ) -> Result<serde_json::Value, SearchError> {
        let found = query::run(&self.index, req)?;
        let view = StoreView(store);
        let mut hits = Vec::with_capacity(found.hits.len());
        for (score, id) in &found.hits {
            let Ok(eid) = EnterpriseId::parse(id) else {
                continue;
            };
            if let Some(state) = safeledger_contracts::enterprise(&view, &eid) {
                let held = req.private.then(|| follow::private_text(&state, private));
                hits.push(hit(&state, Some(*score), now, held));
            }
        }
        Ok(serde_json::json!({
            "indexed_height": self.index.height(),
            "documents": self.index.documents(),
            "total": found.total,
            "offset": req.offset,
            "hits": hits,
        }))
    }
}

impl Search {
    /// The page of list `kind` after `cursor` ([`lists::page`]) as JSON:
    /// `indexed_height`, `now` (ms), `entries` (each a hit with `why`, and the withheld
    /// values this node holds when `private`), `next_cursor` (null at the end),
    /// `examined`.
    #[allow(clippy::too_many_arguments)]
    pub fn list(
        &self,
        store: &Store,
        private: Option<&PrivateStore>,
        kind: lists::ListKind,
        cursor: &str,
        limit: usize,
        now: Timestamp,
    ) -> Result<serde_json::Value, lists::ListPageError> {
        let page = lists::page(&self.index, store, kind, cursor, limit, now)?;
        let entries: Vec<serde_json::Value> = page
            .entries
            .iter()
            .map(|(state, why)| {
                let held = private.map(|p| follow::private_text(state, p));
                let mut v = hit(state, None, now, held);
                v["why"] = serde_json::json!(why);
                v
            })
            .collect();
        Ok(serde_json::json!({
            "indexed_height": self.index.height(),
            "now": now.0,
            "entries": entries,
            "next_cursor": page.next_cursor,
            "examined": page.examined,
        }))
    }
}

impl Drop for Search {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One hit: the enterprise as an officer picks it from a list.
fn hit(
    state: &EnterpriseState,
    score: Option<f32>,
    now: Timestamp,
    private: Option<Vec<String>>,
) -> serde_json::Value {
    let name = if state.name.is_empty() {
        state
            .agencies
            .values()
            .map(|a| a.name.as_str())
            .find(|n| !n.is_empty())
            .unwrap_or("")
    } else {
        state.name.as_str()
    };
    let licences: Vec<serde_json::Value> = state
        .licences
        .iter()
        .map(|(number, l)| {
            serde_json::json!({
                "number": number,
                "type": l.licence_type,
                "agency": l.agency,
                "status": l.status_at(now),
                "valid_until": l.valid_until,
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "enterprise": state.id.as_str(),
        "name": name,
        "address": state.address,
        "linked_ids": state.linked_ids,
        "agencies": state.agencies.keys().collect::<Vec<_>>(),
        "risk": state.assessment.risk,
        "credit": state.assessment.credit,
        "assessed_at": state.assessment.at,
        "licences": licences,
    });
    if let Some(score) = score {
        v["score"] = serde_json::json!(score);
    }
    if let Some(p) = private {
        v["withheld_values_held_here"] = serde_json::json!(p);
    }
    v
}
