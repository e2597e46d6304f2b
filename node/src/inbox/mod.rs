//! One inbox per agency (issue 19 item 2): every open task, sorted by due time, a page at a
//! time.
//!
//! The tasks are derived from committed state by
//! [`safeledger_contracts::query::tasks::tasks_of`], object by object, and kept in a
//! node-local sled tree (`inbox`, beside the ledger, in no root) that a thread brings up to
//! the tip each poll ([`InboxIndex::catch_up`]): for each new height it re-derives the
//! objects whose keys the height wrote (the store's `sk/<height>` list), plus the R3
//! review tasks about an enterprise the height wrote (they close on its licence
//! decisions). An object's tasks are replaced whole, so a task leaves the inbox in the
//! pass after the record that closes it commits. Each pass is one sled batch with the
//! height it reflects; an inbox without a height is rebuilt from every followed key.
//!
//! Tree layout: `t` ‖ agency length (u16 BE) ‖ agency ‖ due (u64 BE ms; `u64::MAX` when no
//! time limit is tracked) ‖ object key length (u16 BE) ‖ object key ‖ n (u16 BE) → the
//! task (JSON); `o` ‖ object key → its task keys (canonical); `c` ‖ agency length ‖ agency
//! ‖ kind → open tasks of that kind (u64 BE); `e` ‖ enterprise id ‖ 0 ‖ review key → ()
//! (the R3 reviews about an enterprise); `h` → the height reflected (u64 BE); `v` → the
//! layout version.
//!
//! Paging: the cursor is the hex of the last task key shown (after the agency's prefix);
//! the next page starts after it, so a page never repeats a task and never skips one that
//! stayed open. Licence ends are shown only within the window the reader asks for (they
//! are counted whatever their date).

pub mod synthetic;
#[cfg(test)]
mod tests;

use crate::app::StoreView;
use crate::store::{Store, StoreError};
use safeledger_contracts::query::tasks::{tasks_of, Task, TaskKind, TASK_PREFIXES};
use safeledger_contracts::Registry;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;

/// Layout version of the tree; another version is rebuilt.
pub const LAYOUT_VERSION: u64 = 1;
/// Most tasks a page.
pub const MAX_PAGE: usize = 200;
/// Tasks a page when the request names none.
pub const DEFAULT_PAGE: usize = 50;
/// Most tasks one page examines (licence ends outside the window are skipped).
pub const MAX_EXAMINED: usize = 20_000;
/// Licence ends shown when the request names no window, days.
pub const DEFAULT_EXPIRY_DAYS: u64 = 60;
const DAY_MS: u64 = 86_400_000;
const NO_DUE: u64 = u64::MAX;

/// Errors of the inbox.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// sled failed.
    #[error("inbox: {0}")]
    Sled(#[from] sled::Error),
    /// A request out of bounds (gRPC `INVALID_ARGUMENT`).
    #[error("{0}")]
    Invalid(String),
}

/// Where a task stands at the reader's block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Past its due time.
    Overdue,
    /// Due later.
    Due,
    /// No time limit is tracked.
    Open,
}

/// One page of an inbox.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InboxPage {
    /// The agency.
    pub agency: String,
    /// The block time statuses are judged at (ms).
    pub as_of: Timestamp,
    /// The height the inbox reflects.
    pub indexed_height: Option<u64>,
    /// Open tasks by kind (licence ends: those within the window), on the first page only
    /// (`None` on the others).
    pub counts: Option<BTreeMap<TaskKind, u64>>,
    /// The licence ends within the window were counted only to [`MAX_EXAMINED`].
    pub counts_capped: bool,
    /// Tasks past their due time (licence ends aside), on the first page only, counted to
    /// at most [`MAX_EXAMINED`].
    pub overdue: Option<u64>,
    /// This page's tasks, by due time (none last), with their status.
    pub tasks: Vec<(Task, TaskStatus)>,
    /// Where the next page starts (`None`: the inbox ends here).
    pub next_cursor: Option<String>,
}

fn agency_prefix(tag: u8, agency: &str) -> Vec<u8> {
    let mut k = vec![tag];
    k.extend_from_slice(&(agency.len() as u16).to_be_bytes());
    k.extend_from_slice(agency.as_bytes());
    k
}

/// The tag of a task's key: `x` for licence ends (read only within a window of dates),
/// `t` for the rest.
fn tag(kind: TaskKind) -> u8 {
    if kind == TaskKind::LicenceExpiry {
        b'x'
    } else {
        b't'
    }
}

fn task_key(t: &Task, object: &[u8], n: u16) -> Vec<u8> {
    let mut k = agency_prefix(tag(t.kind), &t.agency);
    k.extend_from_slice(&t.due.map_or(NO_DUE, |d| d.0).to_be_bytes());
    k.extend_from_slice(&(object.len() as u16).to_be_bytes());
    k.extend_from_slice(object);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

fn count_key(agency: &str, kind: TaskKind) -> Vec<u8> {
    let mut k = agency_prefix(b'c', agency);
    k.extend_from_slice(serde_json::to_string(&kind).unwrap_or_default().as_bytes());
    k
}

fn object_key(object: &[u8]) -> Vec<u8> {
    let mut k = b"o".to_vec();
    k.extend_from_slice(object);
    k
}

fn reviews_of(enterprise: &[u8]) -> Vec<u8> {
    let mut k = b"e".to_vec();
    k.extend_from_slice(enterprise);
    k.push(0);
    k
}

fn be(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

fn read_u64(v: Option<sled::IVec>) -> Option<u64> {
    v.and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
        .map(u64::from_be_bytes)
}

/// The inbox tree and what it needs to derive tasks.
pub struct InboxIndex {
    tree: sled::Tree,
    store: Store,
    registry: Registry,
}

/// Writes of one pass, applied as one batch.
struct Pass {
    batch: sled::Batch,
    counts: BTreeMap<Vec<u8>, i64>,
    /// The rule parameters in force, read once per pass.
    params: safeledger_contracts::RuleParams,
}

impl InboxIndex {
    /// The inbox of `store`, with the registry whose active agencies vote on proposals.
    pub fn open(store: &Store, registry: Registry) -> Result<InboxIndex, InboxError> {
        Ok(InboxIndex {
            tree: store.local_tree("inbox")?,
            store: store.clone(),
            registry,
        })
    }

    /// The height the inbox reflects (`None`: not built yet).
    pub fn height(&self) -> Option<u64> {
        if read_u64(self.tree.get(b"v").ok().flatten()) != Some(LAYOUT_VERSION) {
            return None;
        }
        read_u64(self.tree.get(b"h").ok().flatten())
    }

    /// An empty pass over the rule parameters in force.
    fn pass(&self) -> Pass {
        let params = safeledger_contracts::RuleParams::load(
            &StoreView(&self.store),
            &safeledger_contracts::RuleParams::default(),
        );
        Pass {
            batch: sled::Batch::default(),
            counts: BTreeMap::new(),
            params,
        }
    }

    /// Replaces the tasks of `object` (a state key) by those state gives it now.
    fn rederive(
        &self,
        pass: &mut Pass,
        object: &[u8],
        voters: &[String],
    ) -> Result<(), InboxError> {
        let ok = object_key(object);
        if let Some(old) = self.tree.get(&ok)? {
            let old: Vec<Vec<u8>> = from_canonical(&old).unwrap_or_default();
            for k in old {
                if let Some(v) = self.tree.get(&k)? {
                    if let Ok(t) = serde_json::from_slice::<Task>(&v) {
                        *pass.counts.entry(count_key(&t.agency, t.kind)).or_default() -= 1;
                    }
                }
                pass.batch.remove(k);
            }
        }
        let view = StoreView(&self.store);
        let tasks = tasks_of(&view, object, voters, &pass.params);
        let mut keys = Vec::with_capacity(tasks.len());
        for (n, t) in tasks.iter().enumerate() {
            let k = task_key(t, object, n as u16);
            pass.batch.insert(
                k.clone(),
                serde_json::to_vec(t).map_err(|e| InboxError::Invalid(e.to_string()))?,
            );
            *pass.counts.entry(count_key(&t.agency, t.kind)).or_default() += 1;
            if t.kind == TaskKind::LicenceReview {
                if let Some(e) = &t.enterprise {
                    let mut ek = reviews_of(e.as_bytes());
                    ek.extend_from_slice(object);
                    pass.batch.insert(ek, b"".to_vec());
                }
            }
            keys.push(k);
        }
        if keys.is_empty() {
            pass.batch.remove(ok);
        } else {
            pass.batch.insert(ok, to_canonical(&keys));
        }
        Ok(())
    }

    fn apply(&self, pass: Pass, height: u64) -> Result<(), InboxError> {
        let mut batch = pass.batch;
        for (k, delta) in pass.counts {
            let now = read_u64(self.tree.get(&k)?).unwrap_or(0) as i64;
            batch.insert(k, be((now + delta).max(0) as u64).to_vec());
        }
        batch.insert(b"h".to_vec(), be(height).to_vec());
        batch.insert(b"v".to_vec(), be(LAYOUT_VERSION).to_vec());
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Rebuilds every task from committed state, as of the tip read first. `None` when
    /// `stop` was raised (nothing written).
    pub fn rebuild(&self, stop: &AtomicBool) -> Result<Option<u64>, InboxError> {
        let height = self.store.tip()?.map(|t| t.height).unwrap_or(0);
        self.tree.clear()?;
        let voters = self.registry.active_agencies(&StoreView(&self.store));
        let mut pass = self.pass();
        for prefix in TASK_PREFIXES {
            for kv in self.store.state_scan(prefix) {
                if stop.load(Ordering::Acquire) {
                    return Ok(None);
                }
                let (key, _) = kv?;
                self.rederive(&mut pass, &key, &voters)?;
            }
        }
        // Counts start from zero after the clear: the pass's deltas are the counts.
        self.apply(pass, height)?;
        Ok(Some(height))
    }

    /// One pass: from the inbox's height to the tip (at most
    /// [`crate::search::follow::MAX_HEIGHTS_PER_PASS`] heights).
    pub fn catch_up(&self, stop: &AtomicBool) -> Result<(), InboxError> {
        let Some(from) = self.height() else {
            self.rebuild(stop)?;
            return Ok(());
        };
        let (to, keys) = crate::search::follow::changed_since(&self.store, from)?;
        if to <= from {
            return Ok(());
        }
        let mut objects: BTreeSet<Vec<u8>> = BTreeSet::new();
        for key in keys {
            if let Some(id) = key.strip_prefix(safeledger_contracts::keys::ENTERPRISE_PREFIX) {
                for r in self.tree.scan_prefix(reviews_of(id)).keys() {
                    let r = r?;
                    objects.insert(r[1 + id.len() + 1..].to_vec());
                }
            }
            objects.insert(key);
        }
        let voters = self.registry.active_agencies(&StoreView(&self.store));
        let mut pass = self.pass();
        for o in &objects {
            self.rederive(&mut pass, o, &voters)?;
        }
        self.apply(pass, to)
    }

    /// The page of `agency`'s inbox after `cursor` (empty: the first), at most `limit`
    /// tasks (0: [`DEFAULT_PAGE`]), statuses at block time `now`, licence ends shown within
    /// `expiry_days` (0: [`DEFAULT_EXPIRY_DAYS`]).
    pub fn page(
        &self,
        agency: &str,
        cursor: &str,
        limit: usize,
        expiry_days: u64,
        now: Timestamp,
    ) -> Result<InboxPage, InboxError> {
        self.page_of(agency, cursor, limit, expiry_days, now, &|_| true)
    }

    /// [`InboxIndex::page`] holding only the tasks `keep` accepts (one officer's: issue 19
    /// item 2); the counts stay the agency's. A page examines at most [`MAX_EXAMINED`]
    /// tasks, so it may hold fewer than `limit` and still give a cursor.
    pub fn page_of(
        &self,
        agency: &str,
        cursor: &str,
        limit: usize,
        expiry_days: u64,
        now: Timestamp,
        keep: &dyn Fn(&Task) -> bool,
    ) -> Result<InboxPage, InboxError> {
        let limit = match limit {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(InboxError::Invalid(format!(
                    "limit {n} is over the most tasks a page, {MAX_PAGE}"
                )))
            }
            n => n,
        };
        let expiry_days = if expiry_days == 0 {
            DEFAULT_EXPIRY_DAYS
        } else {
            expiry_days
        };
        let horizon = now.0.saturating_add(expiry_days.saturating_mul(DAY_MS));
        let after = hex::decode(cursor).map_err(|_| {
            InboxError::Invalid(format!(
                "cursor {cursor:?} is not one this inbox gave (give the next_cursor of the last \
                 page)"
            ))
        })?;
        // Two streams in the same (due, object, n) order, merged: the tasks, and the
        // licence ends from now to the horizon. Both start after the cursor.
        let tasks = self.stream(b't', agency, &after, None);
        let mut from_now = now.0.to_be_bytes().to_vec();
        if after.as_slice() > from_now.as_slice() {
            from_now.clone_from(&after);
        }
        let ends = self.stream(b'x', agency, &from_now, Some(horizon));
        let mut page = InboxPage {
            agency: agency.to_string(),
            as_of: now,
            indexed_height: self.height(),
            counts: None,
            counts_capped: false,
            overdue: None,
            tasks: Vec::new(),
            next_cursor: None,
        };
        if after.is_empty() {
            let counts = self.counts(agency, now, horizon)?;
            page.counts_capped =
                counts.get(&TaskKind::LicenceExpiry) == Some(&(MAX_EXAMINED as u64));
            page.counts = Some(counts);
            let overdue = self
                .stream(b't', agency, &[], Some(now.0.saturating_sub(1)))
                .take(MAX_EXAMINED)
                .count();
            page.overdue = Some(overdue as u64);
        }
        let mut merged = Merge {
            a: tasks.peekable(),
            b: ends.peekable(),
        };
        let mut examined = 0;
        loop {
            let Some(item) = merged.next() else { break };
            let (suffix, v) = item?;
            examined += 1;
            if let Some(t) = serde_json::from_slice::<Task>(&v).ok().filter(|t| keep(t)) {
                let status = match t.due {
                    None => TaskStatus::Open,
                    Some(d) if d < now => TaskStatus::Overdue,
                    Some(_) => TaskStatus::Due,
                };
                page.tasks.push((t, status));
            }
            if page.tasks.len() == limit || examined >= MAX_EXAMINED {
                if merged.a.peek().is_some() || merged.b.peek().is_some() {
                    page.next_cursor = Some(hex::encode(&suffix));
                }
                break;
            }
        }
        Ok(page)
    }

    /// The keys under `tag` ‖ `agency` after `after` (a key suffix; inclusive when it is a
    /// bare due time, as the licence-end stream's start is), as (suffix, value), stopping
    /// past due time `until`.
    fn stream(&self, tag: u8, agency: &str, after: &[u8], until: Option<u64>) -> Entries<'_> {
        let prefix = agency_prefix(tag, agency);
        let mut start = prefix.clone();
        start.extend_from_slice(after);
        if after.len() > 8 {
            // A whole key suffix: start strictly after it.
            start.push(0);
        }
        Box::new(
            self.tree
                .range(start..)
                .map(|kv| kv.map_err(InboxError::from))
                .take_while(move |kv| match kv {
                    Ok((k, _)) => {
                        k.starts_with(&prefix)
                            && until.is_none_or(|u| {
                                k.get(prefix.len()..prefix.len() + 8)
                                    .and_then(|d| <[u8; 8]>::try_from(d).ok())
                                    .is_some_and(|d| u64::from_be_bytes(d) <= u)
                            })
                    }
                    Err(_) => true,
                })
                .map(move |kv| kv.map(|(k, v)| (k[prefix_len(&k)..].to_vec(), v))),
        )
    }

    /// Open tasks of `agency` by kind: licence ends counted from `now` to `horizon` (at
    /// most [`MAX_EXAMINED`]), the rest from the kept counts.
    pub fn counts(
        &self,
        agency: &str,
        now: Timestamp,
        horizon: u64,
    ) -> Result<BTreeMap<TaskKind, u64>, InboxError> {
        let prefix = agency_prefix(b'c', agency);
        let mut out = BTreeMap::new();
        let ends = self
            .stream(b'x', agency, &now.0.to_be_bytes(), Some(horizon))
            .take(MAX_EXAMINED)
            .count() as u64;
        if ends > 0 {
            out.insert(TaskKind::LicenceExpiry, ends);
        }
        for kv in self.tree.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let Ok(kind) = serde_json::from_slice::<TaskKind>(&k[prefix.len()..]) else {
                continue;
            };
            if kind == TaskKind::LicenceExpiry {
                continue;
            }
            let n = read_u64(Some(v)).unwrap_or(0);
            if n > 0 {
                out.insert(kind, n);
            }
        }
        Ok(out)
    }
}

/// Length of the `tag ‖ agency length ‖ agency` prefix of a task key.
fn prefix_len(k: &[u8]) -> usize {
    let n = k
        .get(1..3)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map_or(0, u16::from_be_bytes) as usize;
    (3 + n).min(k.len())
}

/// (key suffix, value) of the tasks under one tag and agency, in key order.
type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, sled::IVec), InboxError>> + 'a>;
type Stream<'a> = std::iter::Peekable<Entries<'a>>;

/// Two streams of (suffix, value) in suffix order, merged.
struct Merge<'a> {
    a: Stream<'a>,
    b: Stream<'a>,
}

impl Iterator for Merge<'_> {
    type Item = Result<(Vec<u8>, sled::IVec), InboxError>;
    fn next(&mut self) -> Option<Self::Item> {
        let take_a = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(Err(_)), _) => true,
            (_, Some(Err(_))) => false,
            (Some(Ok((x, _))), Some(Ok((y, _)))) => x <= y,
        };
        if take_a {
            self.a.next()
        } else {
            self.b.next()
        }
    }
}

/// The node's inbox: the tree and the thread following the ledger.
pub struct Inbox {
    index: std::sync::Arc<InboxIndex>,
    follower: crate::search::follow::Running,
}

impl Inbox {
    /// Opens the inbox of `store` and starts following committed state (an inbox without
    /// a height is rebuilt by the first pass).
    pub fn start(store: &Store, registry: Registry) -> Result<Inbox, InboxError> {
        let index = std::sync::Arc::new(InboxIndex::open(store, registry)?);
        let ix = index.clone();
        let follower = crate::search::follow::Follower::spawn("inbox", move |stop| {
            ix.catch_up(stop).map_err(|e| e.to_string())
        });
        Ok(Inbox {
            index,
            follower: crate::search::follow::Running::new(follower),
        })
    }

    /// The tree and its pages.
    pub fn index(&self) -> &InboxIndex {
        &self.index
    }

    /// Stops following (idempotent).
    pub fn stop(&self) {
        self.follower.stop();
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.stop();
    }
}
