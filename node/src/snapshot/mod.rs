//! State snapshots and state sync (issue 22 item 3; CometBFT's state sync, with every
//! chunk checked against the certified state root on arrival).
//!
//! **Taking snapshots.** Every `snapshot_interval` heights (node.toml; 0: never) a node
//! writes the state after that height to `<data>/snapshots/<height>/`, in a background
//! thread while it goes on committing (the store's capture keeps the read consistent at
//! the height, [`crate::store`] `synced`). The map is cut by key-path prefix into chunks of
//! about [`TARGET_CHUNK_BYTES`] ([`safeledger_core::state_chunks`]); the snapshot's file
//! `meta` holds the chunk summaries, the ledger tree's peaks and the validator sets of the
//! two heights after it — what `valid(v)` and commit need besides state. The thread checks
//! the summaries against the tip's `state_root` before the snapshot is published (the
//! directory renamed into place); the last [`KEEP_SNAPSHOTS`] are kept.
//!
//! **Serving.** Peers ask for the list ([`SnapshotInfo`], at most
//! [`MAX_OFFERS_PER_PEER`]), an offer ([`SnapshotOffer`]: the meta with block h's header,
//! header h+1 and its commit certificate, and the validator-set changes from genesis) and
//! chunks. A snapshot is offered once header h+1 is committed.
//!
//! **Syncing** ([`fetch`]): `safeledger node start --state-sync` on an empty data
//! directory verifies an offer ([`offer::verify`]) and fetches its chunks before the node
//! opens its ledger, then block-syncs from h+1 and joins consensus.

pub mod fetch;
pub mod offer;
#[cfg(test)]
mod tests;

pub use offer::{SnapshotInfo, SnapshotMeta, SnapshotOffer};

use crate::store::{Store, Tip};
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::state_chunks::{
    summarize, verify_chunk, verify_summaries, ChunkSummary, Pairs, MAX_CHUNK_BITS,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Snapshots listed per peer; a syncing node reads no more of one peer's list.
pub const MAX_OFFERS_PER_PEER: usize = 4;
/// Snapshots a node keeps on disk.
pub const KEEP_SNAPSHOTS: usize = 2;
/// The chunk size aimed at, bytes of canonical encoding.
pub const TARGET_CHUNK_BYTES: usize = 1 << 20;
/// The largest chunk a node writes or takes (a response must fit
/// `safeledger_core::limits::MAX_MESSAGE_BYTES`).
pub const MAX_CHUNK_BYTES: usize = 3 << 20;
/// Default `snapshot_interval` of node.toml, heights (an idle network commits about one
/// height a second: a snapshot every 17 minutes or so).
pub const DEFAULT_SNAPSHOT_INTERVAL: u64 = 1_000;
/// Test-only: a node started with this variable set serves every snapshot chunk with one
/// value byte changed (the lying peer of the state-sync test).
pub const LYING_SNAPSHOT_ENV: &str = "SAFELEDGER_TEST_LYING_SNAPSHOT";

/// A node's snapshots: where they are, how often to take one.
pub struct Snapshots {
    /// `<data>/snapshots`; `None`: this node takes and serves none.
    dir: Option<PathBuf>,
    /// Heights between snapshots (0: none).
    interval: u64,
    /// A snapshot is being written.
    building: Arc<AtomicBool>,
    /// Test-only lying ([`LYING_SNAPSHOT_ENV`]).
    lying: bool,
    /// The meta last read ([`Snapshots::meta`]).
    last_meta: Mutex<Option<Arc<SnapshotMeta>>>,
}

impl Snapshots {
    /// The snapshots under `data_dir`, taken every `interval` heights (0: never; those
    /// already on disk are still served). Removes a snapshot left half written.
    ///
    /// # Errors
    /// The directory cannot be created or read.
    pub fn open(data_dir: &Path, interval: u64) -> std::io::Result<Snapshots> {
        let dir = data_dir.join("snapshots");
        std::fs::create_dir_all(&dir)?;
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                std::fs::remove_dir_all(e.path())?;
            }
        }
        let lying = std::env::var_os(LYING_SNAPSHOT_ENV).is_some();
        if lying {
            tracing::warn!("test: serving state snapshot chunks with a changed byte");
        }
        Ok(Snapshots {
            dir: Some(dir),
            interval,
            building: Default::default(),
            lying,
            last_meta: Default::default(),
        })
    }

    /// No snapshots (the simulator).
    pub fn disabled() -> Snapshots {
        Snapshots {
            dir: None,
            interval: 0,
            building: Default::default(),
            lying: false,
            last_meta: Default::default(),
        }
    }

    /// Called right after each commit, before the next: at a multiple of the interval,
    /// starts writing the snapshot of the state after `tip` in the background (skipped,
    /// and logged, while the previous one is still being written).
    pub fn after_commit(&self, store: &Store, tip: &Tip) {
        let Some(dir) = self.dir.clone() else {
            return;
        };
        if self.interval == 0 || tip.height == 0 || !tip.height.is_multiple_of(self.interval) {
            return;
        }
        if self.building.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                height = tip.height,
                "state snapshot skipped: the previous one is still being written"
            );
            return;
        }
        store.begin_capture();
        let (store2, tip, building) = (store.clone(), tip.clone(), self.building.clone());
        let spawned = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match write(&store2, &tip, &dir) {
                    Ok(m) => tracing::info!(
                        height = m.height,
                        keys = m.keys,
                        bytes = m.bytes,
                        chunks = m.chunks.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "state snapshot written"
                    ),
                    Err(e) => {
                        store2.end_capture();
                        tracing::warn!(height = tip.height, error = %e, "state snapshot not written")
                    }
                }
                building.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            store.end_capture();
            self.building.store(false, Ordering::Release);
            tracing::warn!(error = %e, "state snapshot not started");
        }
    }

    /// Heights of the snapshots on disk, newest first.
    fn heights(&self) -> Vec<u64> {
        self.dir.as_deref().map(heights_in).unwrap_or_default()
    }

    /// The meta of the snapshot after `height`; the last one read is kept, since every
    /// chunk served is checked against it.
    fn meta(&self, height: u64) -> Result<Arc<SnapshotMeta>, String> {
        let mut last = self.last_meta.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = last.as_ref().filter(|m| m.height == height) {
            return Ok(m.clone());
        }
        let dir = self.dir.as_ref().ok_or("this node keeps no snapshots")?;
        let bytes = std::fs::read(dir.join(height.to_string()).join("meta"))
            .map_err(|e| format!("no snapshot after height {height} here: {e}"))?;
        let meta: Arc<SnapshotMeta> =
            Arc::new(from_canonical(&bytes).map_err(|e| format!("snapshot {height}: meta: {e}"))?);
        *last = Some(meta.clone());
        Ok(meta)
    }

    /// The snapshots this node offers, newest first (those whose header h+1 is committed),
    /// at most [`MAX_OFFERS_PER_PEER`].
    pub fn list(&self, tip_height: u64) -> Vec<SnapshotInfo> {
        self.heights()
            .into_iter()
            .filter(|h| *h < tip_height)
            .filter_map(|h| self.meta(h).ok())
            .take(MAX_OFFERS_PER_PEER)
            .map(|m| SnapshotInfo::of(&m))
            .collect()
    }

    /// The offer of the snapshot after `height`.
    ///
    /// # Errors
    /// No such snapshot, header h+1 not committed, or a store read failed (as text for
    /// the peer).
    pub fn offer(&self, store: &Store, height: u64) -> Result<SnapshotOffer, String> {
        let meta = self.meta(height)?;
        SnapshotOffer::build(store, (*meta).clone())
    }

    /// Chunk `index` of the snapshot after `height`, checked against the snapshot's own
    /// summary before it is served (a chunk damaged on disk is refused and logged, so the
    /// peer asks another node rather than blame this one for a lie).
    ///
    /// # Errors
    /// No such snapshot or chunk, or the file does not decode or match its summary (as
    /// text for the peer).
    pub fn chunk(&self, height: u64, index: u32) -> Result<Pairs, String> {
        let dir = self.dir.as_ref().ok_or("this node keeps no snapshots")?;
        let bytes = std::fs::read(dir.join(height.to_string()).join(format!("chunk-{index}")))
            .map_err(|e| format!("no chunk {index} of snapshot {height} here: {e}"))?;
        let mut pairs: Pairs = from_canonical(&bytes).map_err(|e| format!("chunk {index}: {e}"))?;
        let meta = self.meta(height)?;
        if let Err(e) = verify_chunk(meta.bits, &meta.chunks, index as usize, &pairs) {
            tracing::warn!(height, index, error = %e, "a snapshot chunk on disk is damaged: not served");
            return Err(format!(
                "chunk {index} of snapshot {height} is damaged here"
            ));
        }
        if self.lying {
            match pairs.first_mut().and_then(|p| p.1.last_mut()) {
                Some(b) => *b ^= 1,
                None => pairs.push((b"lie".to_vec(), b"lie".to_vec())),
            }
        }
        Ok(pairs)
    }
}

/// Heights of the snapshots in `dir` (directories named by their height), newest first.
fn heights_in(dir: &Path) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out
}

/// The fewest prefix bits a snapshot is cut by (8 chunks, even for a small state: a
/// syncing node spreads them over its peers, so one that lies is met early).
pub const MIN_CHUNK_BITS: u32 = 3;

/// The smallest cut of at least [`MIN_CHUNK_BITS`] whose chunks all fit
/// [`MAX_CHUNK_BYTES`] and average at most [`TARGET_CHUNK_BYTES`]; `None` when even
/// [`MAX_CHUNK_BITS`] leaves a chunk too large.
fn cut(pairs: &[(&[u8], &[u8])], bytes: u64) -> Option<(u32, Vec<ChunkSummary>, Vec<usize>)> {
    let mut bits = MIN_CHUNK_BITS;
    while bits < MAX_CHUNK_BITS && bytes > (TARGET_CHUNK_BYTES as u64) << bits {
        bits += 1;
    }
    for bits in bits..=MAX_CHUNK_BITS {
        let (summaries, of) = summarize(bits, pairs);
        let mut size = vec![0usize; summaries.len()];
        for ((k, v), i) in pairs.iter().zip(&of) {
            size[*i] += k.len() + v.len() + 16;
        }
        if size.iter().all(|s| *s <= MAX_CHUNK_BYTES) {
            return Some((bits, summaries, of));
        }
    }
    None
}

/// Reads the state after `tip` (ending the capture), checks it against the tip's root,
/// and writes the snapshot to `dir/<height>` through a `.tmp` directory.
fn write(store: &Store, tip: &Tip, dir: &Path) -> Result<SnapshotMeta, String> {
    let pairs = store.state_after_capture().map_err(|e| e.to_string())?;
    let refs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let bytes: u64 = pairs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    let (bits, chunks, of) = cut(&refs, bytes).ok_or("a chunk exceeds the size limit")?;
    // The summaries join to the root of the state read: it must be the tip's.
    verify_summaries(bits, &chunks, &tip.state_root)
        .map_err(|e| format!("the state read is not the tip's: {e}"))?;
    let mut per: Vec<Vec<&(Vec<u8>, Vec<u8>)>> = vec![Vec::new(); chunks.len()];
    for (p, i) in pairs.iter().zip(of) {
        per[i].push(p);
    }
    let tmp = dir.join(format!("{}.tmp", tip.height));
    let io = |e: std::io::Error| format!("{}: {e}", tmp.display());
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io)?;
    }
    std::fs::create_dir_all(&tmp).map_err(io)?;
    for (i, c) in per.iter_mut().enumerate() {
        c.sort_by(|a, b| a.0.cmp(&b.0));
        std::fs::write(tmp.join(format!("chunk-{i}")), to_canonical(c)).map_err(io)?;
    }
    let meta = SnapshotMeta {
        height: tip.height,
        bits,
        chunks,
        ledger: tip.ledger.clone(),
        validators: tip.validators.clone(),
        next_validators: tip.next_validators.clone(),
        keys: pairs.len() as u64,
        bytes,
    };
    crate::store::write_durable(&tmp.join("meta"), &to_canonical(&meta)).map_err(io)?;
    let last = dir.join(tip.height.to_string());
    if last.exists() {
        std::fs::remove_dir_all(&last).map_err(io)?;
    }
    std::fs::rename(&tmp, &last).map_err(io)?;
    for old in heights_in(dir).into_iter().skip(KEEP_SNAPSHOTS) {
        let _ = std::fs::remove_dir_all(dir.join(old.to_string()));
    }
    Ok(meta)
}
