//! What a node offers of a snapshot, and how a syncing node checks it against genesis
//! before it takes a single chunk (issue 22 item 3).
//!
//! Everything the synced node adopts is under certified roots or recomputed from what is
//! (CometBFT's ASA-2024-009 adopted an unverified value and split its chain): header h+1 is
//! certified by the set the validator path leads to from genesis; block h's header is the
//! one h+1 names in `prev_hash`; the chunk summaries join to h+1's `state_root`; the ledger
//! peaks to h's `ledger_root`; the validator sets hash to h+1's `validators_hash` and
//! `next_validators_hash`; the results root and the transaction count are read from those
//! headers. The tip [`verify`] returns is built from nothing else.

use crate::store::{Store, Tip};
use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::to_canonical;
use safeledger_core::genesis::{Genesis, ValidatorSet};
use safeledger_core::hash::{Domain, Hash};
use safeledger_core::lightclient::{follow_path, LightError, PathError, SetChange};
use safeledger_core::merkle::CompactRange;
use safeledger_core::state_chunks::{verify_summaries, ChunkError, ChunkSummary};
use safeledger_core::Header;
use serde::{Deserialize, Serialize};

/// A snapshot as written to `meta`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The state is the state after this height.
    pub height: u64,
    /// Key-path prefix bits the map is cut by.
    pub bits: u32,
    /// One summary per chunk.
    pub chunks: Vec<ChunkSummary>,
    /// The ledger tree through `height`.
    pub ledger: CompactRange,
    /// The validator set of `height + 1`.
    pub validators: ValidatorSet,
    /// The validator set of `height + 2`.
    pub next_validators: ValidatorSet,
    /// State keys.
    pub keys: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
}

/// One snapshot in a peer's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The state is the state after this height.
    pub height: u64,
    /// Chunks in it.
    pub chunks: u32,
    /// [`summaries_hash`] of its chunk summaries: two peers' snapshots with the same
    /// height and hash serve the same chunks.
    pub hash: Hash,
}

impl SnapshotInfo {
    /// The list entry of `meta`.
    pub fn of(meta: &SnapshotMeta) -> SnapshotInfo {
        SnapshotInfo {
            height: meta.height,
            chunks: meta.chunks.len() as u32,
            hash: summaries_hash(meta.bits, &meta.chunks),
        }
    }
}

/// The hash naming a snapshot's cut: `H_StateSnapshot(canonical (bits, summaries))`.
pub fn summaries_hash(bits: u32, chunks: &[ChunkSummary]) -> Hash {
    Domain::StateSnapshot.hash(&to_canonical(&(bits, chunks)))
}

/// A snapshot's offer: its metadata and the certified headers that prove it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotOffer {
    /// The snapshot's metadata (chunk summaries, ledger peaks, validator sets).
    pub meta: SnapshotMeta,
    /// Block `height`'s header.
    pub header: Header,
    /// Block `height + 1`'s header: its `state_root` is the state after `height`.
    pub next_header: Header,
    /// The commit certificate of `next_header`.
    pub certificate: CommitCertificate,
    /// The validator-set changes from genesis to `next_header`'s set.
    pub validator_path: Vec<SetChange>,
}

impl SnapshotOffer {
    /// The offer of `meta`: block h's header, and the checkpoint of h+1 (its header,
    /// certificate and validator path, [`crate::audit::checkpoint`]) read from `store`.
    ///
    /// # Errors
    /// Header h+1 not committed yet, or a read failed (as text for the peer).
    pub fn build(store: &Store, meta: SnapshotMeta) -> Result<SnapshotOffer, String> {
        let h = meta.height;
        let header = store
            .block(h)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("block {h} is not here"))?
            .header;
        let next = crate::audit::checkpoint(store, h + 1).map_err(|e| e.to_string())?;
        Ok(SnapshotOffer {
            meta,
            header,
            next_header: next.header,
            certificate: next.certificate,
            validator_path: next.validator_path,
        })
    }
}

/// Why an offer is refused.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// The validator path from genesis fails.
    #[error("validator path: {0}")]
    Path(#[from] PathError),
    /// Header h+1 is not certified by the set the path leads to.
    #[error("header {height}: {error}")]
    Header {
        /// Its height.
        height: u64,
        /// What failed.
        error: LightError,
    },
    /// A header or set does not match what the certified header names.
    #[error("{0}")]
    Mismatch(String),
    /// The chunk summaries do not join to the certified state root.
    #[error("chunk summaries: {0}")]
    Chunks(#[from] ChunkError),
    /// The offer is not the one the peer listed.
    #[error("the offer is not the snapshot the peer listed")]
    NotListed,
}

fn mismatch(why: String) -> Result<Tip, OfferError> {
    Err(OfferError::Mismatch(why))
}

/// Checks `offer` against `genesis` (and `listed`, the peer's list entry) and returns
/// the tip after the snapshot's height, every field certified (module docs).
///
/// # Errors
/// The first failing check, as an [`OfferError`].
pub fn verify(
    genesis: &Genesis,
    offer: &SnapshotOffer,
    listed: &SnapshotInfo,
) -> Result<Tip, OfferError> {
    let m = &offer.meta;
    if SnapshotInfo::of(m) != *listed {
        return Err(OfferError::NotListed);
    }
    let h = m.height;
    let next = &offer.next_header;
    let trusted = follow_path(genesis, &offer.validator_path)?;
    trusted
        .verify_header(next, &offer.certificate)
        .map_err(|error| OfferError::Header {
            height: next.height,
            error,
        })?;
    if next.height != h.saturating_add(1) || h == 0 {
        return mismatch(format!("header {} does not follow height {h}", next.height));
    }
    let header = &offer.header;
    if header.height != h || header.hash() != next.prev_hash {
        return mismatch(format!(
            "block {h}'s header is not the one header {} names",
            h + 1
        ));
    }
    if m.validators.hash() != next.validators_hash
        || m.next_validators.hash() != next.next_validators_hash
    {
        return mismatch("the validator sets are not the ones the header names".into());
    }
    check_ledger(&m.ledger, header)?;
    verify_summaries(m.bits, &m.chunks, &next.state_root)?;
    Ok(Tip {
        height: h,
        block_hash: next.prev_hash,
        block_time: header.time,
        state_root: next.state_root,
        results_root: next.results_root,
        ledger: m.ledger.clone(),
        committed_txs: header.ledger_size,
        validators: m.validators.clone(),
        next_validators: m.next_validators.clone(),
    })
}

/// The ledger peaks must be as many as the size's 1-bits and join to `header`'s root.
fn check_ledger(ledger: &CompactRange, header: &Header) -> Result<(), OfferError> {
    if ledger.size != header.ledger_size
        || ledger.peaks.len() != ledger.size.count_ones() as usize
        || ledger.root() != header.ledger_root
    {
        return Err(OfferError::Mismatch(format!(
            "the ledger peaks do not give block {}'s ledger root",
            header.height
        )));
    }
    Ok(())
}
