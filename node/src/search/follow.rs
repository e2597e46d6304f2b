//! Keeping the search index in step with committed state.
//!
//! One thread ([`Follower::spawn`]) per node: it rebuilds an empty index from every
//! `ent/` key in state ([`rebuild`]), then, each time the tip moves, re-indexes the
//! enterprises each new height wrote (the store's per-height list of written keys, `sk/<height>`, written
//! in the commit batch) and those whose withheld values this node gained or erased
//! ([`crate::private_store::PrivateStore::take_changed`]), and commits with the tip's
//! height. Reading state that is already past that height is harmless: a document is
//! replaced by the enterprise's current state, and later heights re-index it again.
//! Indexing errors are logged and retried on the next pass; they never touch the ledger.

use super::index::{EnterpriseDoc, IndexError, SearchIndex};
use crate::app::StoreView;
use crate::private_store::PrivateStore;
use crate::store::Store;
use safeledger_contracts::model::EnterpriseState;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::TxId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the follower looks at the tip.
pub const POLL: Duration = Duration::from_millis(250);
/// Most heights one pass of a follower reads before it writes (a node far behind writes as
/// it goes).
pub const MAX_HEIGHTS_PER_PASS: u64 = 1_000;

/// The withheld values this node holds for `state`: the name and address of each
/// agency's latest enterprise record, where this node holds them.
pub fn private_text(state: &EnterpriseState, private: &PrivateStore) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in state.agencies.values() {
        let Ok(values) = private.get(&a.last_record) else {
            continue;
        };
        for v in values {
            if v.name != "name" && v.name != "address" {
                continue;
            }
            if let Ok(s) = safeledger_core::from_canonical::<String>(&v.value) {
                if !s.is_empty() && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// Re-indexes `id` from committed state (removes nothing: enterprises are never deleted).
fn reindex_one(
    index: &SearchIndex,
    store: &Store,
    private: &PrivateStore,
    id: &EnterpriseId,
) -> Result<(), IndexError> {
    if let Some(state) = safeledger_contracts::enterprise(&StoreView(store), id) {
        index.upsert(
            id.as_str(),
            &EnterpriseDoc::of(&state, private_text(&state, private)),
        )?;
    }
    Ok(())
}

/// Rebuilds the whole index from committed state and commits it at the tip height read
/// before the scan. Returns (documents, height), or `None` when `stop` was raised first
/// (nothing committed). A value that does not decode is logged and left out.
pub fn rebuild(
    index: &SearchIndex,
    store: &Store,
    private: &PrivateStore,
    stop: &AtomicBool,
) -> Result<Option<(u64, u64)>, IndexError> {
    let height = store.tip().ok().flatten().map(|t| t.height).unwrap_or(0);
    index.clear()?;
    let mut n = 0;
    for state in store.enterprises() {
        if stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        let state = match state {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "search index: an enterprise left out");
                continue;
            }
        };
        index.upsert(
            state.id.as_str(),
            &EnterpriseDoc::of(&state, private_text(&state, private)),
        )?;
        n += 1;
    }
    index.commit(height)?;
    Ok(Some((n, height)))
}

/// Transactions whose private values changed before the record was committed (the CLI
/// hands them to the node first): kept and retried until the record commits, for at most
/// [`PENDING_FOR`] and [`MAX_PENDING`] of them.
#[derive(Default)]
pub struct Pending(BTreeMap<TxId, Instant>);

/// How long a private change waits for its record to commit.
pub const PENDING_FOR: Duration = Duration::from_secs(600);
/// Most private changes waiting.
pub const MAX_PENDING: usize = 10_000;

/// What the heights after `from` wrote, for one pass of a follower (the search index's or
/// the inbox's): the last height read — the tip, or `from` + [`MAX_HEIGHTS_PER_PASS`] when
/// the tip is further — and the state keys those heights wrote under the followed
/// prefixes (the store's `sk/` lists), in key order, each once.
pub fn changed_since(
    store: &Store,
    from: u64,
) -> Result<(u64, BTreeSet<Vec<u8>>), crate::store::StoreError> {
    let tip = store.tip()?.map_or(0, |t| t.height);
    let to = tip.clamp(from, from.saturating_add(MAX_HEIGHTS_PER_PASS));
    let mut keys = BTreeSet::new();
    for h in from + 1..=to {
        keys.extend(store.changed_keys(h)?);
    }
    Ok((to, keys))
}

/// One pass: from the index's height to the tip.
pub fn catch_up(
    index: &SearchIndex,
    store: &Store,
    private: &PrivateStore,
    stop: &AtomicBool,
    pending: &mut Pending,
) -> Result<(), IndexError> {
    let Some(from) = index.height() else {
        let started = Instant::now();
        if let Some((n, h)) = rebuild(index, store, private, stop)? {
            tracing::info!(
                documents = n,
                height = h,
                ms = started.elapsed().as_millis() as u64,
                "search index rebuilt"
            );
        }
        return Ok(());
    };
    let (to, keys) = changed_since(store, from)?;
    let mut ids: BTreeSet<EnterpriseId> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(safeledger_contracts::keys::ENTERPRISE_PREFIX))
        .filter_map(|id| std::str::from_utf8(id).ok())
        .filter_map(|id| EnterpriseId::parse(id).ok())
        .collect();
    let (txs, overflowed) = private.take_changed();
    if overflowed {
        pending.0.clear();
        rebuild(index, store, private, stop)?;
        return Ok(());
    }
    let now = Instant::now();
    for tx in txs {
        if pending.0.len() < MAX_PENDING {
            pending.0.insert(tx, now);
        }
    }
    let view = StoreView(store);
    pending.0.retain(
        |tx, since| match safeledger_contracts::query::record_location(&view, tx) {
            Some(loc) => {
                ids.insert(loc.enterprise);
                false
            }
            None => now.duration_since(*since) < PENDING_FOR,
        },
    );
    if ids.is_empty() {
        // Empty blocks: nothing to write, so no tantivy commit (and no fsync) for them.
        index.advance(to);
        return Ok(());
    }
    for id in &ids {
        reindex_one(index, store, private, id)?;
    }
    index.commit(to)
}

/// A thread that calls a step every [`POLL`] until stopped: the search index's and the
/// inbox's way of following the ledger. A failing step is logged once per run of failures
/// and retried.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Follower {
    /// Starts the thread `name` running `step` (given the stop flag, which a long step
    /// should watch).
    pub fn spawn(
        name: &str,
        mut step: impl FnMut(&AtomicBool) -> Result<(), String> + Send + 'static,
    ) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let what = name.to_string();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut failing = false;
                while !flag.load(Ordering::Acquire) {
                    match step(&flag) {
                        Ok(()) => failing = false,
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!(error = %e, "{what}: will retry");
                        }
                        Err(_) => {}
                    }
                    // Woken early by `stop`, so a stopping node does not wait out the poll.
                    std::thread::park_timeout(POLL);
                }
            })
            .ok();
        Follower { stop, thread }
    }

    /// Stops the thread (waking it from its poll) and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// A follower that can be stopped once from a shared reference (what [`super::Search`]
/// and [`crate::inbox::Inbox`] hold).
pub struct Running(std::sync::Mutex<Option<Follower>>);

impl Running {
    /// Holds `f`.
    pub fn new(f: Follower) -> Running {
        Running(std::sync::Mutex::new(Some(f)))
    }

    /// Stops the follower; true when this call stopped it (false: it was stopped before).
    pub fn stop(&self) -> bool {
        let f = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        match f {
            Some(f) => {
                f.stop();
                true
            }
            None => false,
        }
    }
}
