//! Block sync: every tick the machine polls its peers' heights, and when one is ahead it
//! asks it for the next blocks; each synced block is checked against the tip's validator
//! set (`CommitCertificate::verify`) and `valid(v)` before it is committed. A peer that
//! serves a bad block or certificate, fails or stalls, or claims a height and serves
//! nothing, is skipped for [`SYNC_BAN_MS`].

use super::{Action, NodeMachine, Purpose};
use crate::app::App;
use crate::config::NodeLimits;
use crate::wire::{SyncRequest, SyncResponse};
use anyhow::Context as _;
use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::to_canonical;
use safeledger_core::{Block, PublicKey, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// How long a sync peer that served bad data or stalled is skipped, ms.
pub const SYNC_BAN_MS: u64 = 10_000;

/// The block-sync state.
pub(super) struct BlockSync {
    /// Its sync batch bounds (`sync_batch_blocks`, `sync_batch_bytes`).
    limits: NodeLimits,
    /// The highest committed height each peer reported (or implied by a signed message).
    peer_heights: BTreeMap<PublicKey, u64>,
    /// A block request is outstanding.
    syncing: bool,
    /// Peers skipped until the given time.
    banned: BTreeMap<PublicKey, Timestamp>,
}

impl BlockSync {
    pub(super) fn new(limits: NodeLimits) -> BlockSync {
        BlockSync {
            limits,
            peer_heights: BTreeMap::new(),
            syncing: false,
            banned: BTreeMap::new(),
        }
    }

    /// `peer` reported committed height `h`.
    pub(super) fn note_status(&mut self, peer: PublicKey, h: u64) {
        self.peer_heights.insert(peer, h);
    }

    /// A validly signed message of `signer` implies it committed at least `h`.
    pub(super) fn note_ahead(&mut self, signer: PublicKey, h: u64) {
        let e = self.peer_heights.entry(signer).or_default();
        *e = (*e).max(h);
    }

    /// The outstanding block request ended.
    pub(super) fn done(&mut self) {
        self.syncing = false;
    }

    /// Skips `peer` until `now` + [`SYNC_BAN_MS`] and forgets its height.
    pub(super) fn ban(&mut self, now: Timestamp, peer: PublicKey) {
        self.peer_heights.remove(&peer);
        self.banned.insert(peer, Timestamp(now.0 + SYNC_BAN_MS));
    }

    /// The tick: status polls to `peers`, and a block request to the highest peer ahead
    /// of `tip` that is neither banned nor `cut`, unless one is outstanding.
    pub(super) fn tick(
        &mut self,
        now: Timestamp,
        tip: u64,
        peers: &[PublicKey],
        cut: &BTreeSet<PublicKey>,
        out: &mut Vec<Action>,
    ) {
        self.banned.retain(|_, until| *until > now);
        out.extend(peers.iter().map(|p| Action::Request {
            peer: *p,
            request: SyncRequest::Status,
            purpose: Purpose::Status,
        }));
        if self.syncing {
            return;
        }
        let ahead = self
            .peer_heights
            .iter()
            .filter(|(p, h)| **h > tip && !self.banned.contains_key(p) && !cut.contains(p))
            .max_by_key(|(_, h)| **h)
            .map(|(p, _)| *p);
        if let Some(peer) = ahead {
            self.syncing = true;
            out.push(Action::Request {
                peer,
                request: SyncRequest::Blocks {
                    from: tip + 1,
                    max: self.limits.sync_batch_blocks,
                },
                purpose: Purpose::Blocks,
            });
        }
    }

    /// Committed blocks from `from`, at most `max` and the node's batch limits (at least
    /// one block when there is one).
    pub(super) fn serve(&self, app: &App, from: u64, max: u32) -> SyncResponse {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let last = app.tip.height;
        let max = max.min(self.limits.sync_batch_blocks) as u64;
        let mut h = from.max(1);
        while h <= last && (out.len() as u64) < max {
            let (Ok(Some(b)), Ok(Some(c))) = (app.store.block(h), app.store.certificate(h)) else {
                break;
            };
            let size = to_canonical(&b).len();
            if !out.is_empty() && bytes + size > self.limits.sync_batch_bytes {
                break;
            }
            bytes += size;
            out.push((b, c));
            h += 1;
        }
        SyncResponse::Blocks(out)
    }
}

impl NodeMachine {
    /// Skips `peer` for a while (block sync), saying why.
    pub(super) fn ban(&mut self, now: Timestamp, peer: PublicKey, why: &str) {
        tracing::warn!(peer = %peer.to_hex()[..8].to_string(), why, "sync peer skipped for a while");
        self.ctx.metrics.sync_bans.inc();
        self.sync.ban(now, peer);
    }

    /// Checks and commits the blocks `peer` served, in order, from the tip on; bans the
    /// peer at the first bad certificate or invalid block, or when it claimed a higher
    /// height and served none.
    pub(super) fn apply_synced(
        &mut self,
        now: Timestamp,
        peer: PublicKey,
        blocks: Vec<(Block, CommitCertificate)>,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        self.sync.done();
        let claimed = self.sync.peer_heights.get(&peer).copied().unwrap_or(0);
        if blocks.is_empty() && claimed > self.app.tip.height {
            self.ban(now, peer, "claimed a higher height but served no blocks");
        }
        let mut applied = 0;
        for (block, cert) in blocks {
            let h = block.header.height;
            if h != self.app.tip.height + 1 {
                continue;
            }
            self.app.check_supported(h)?;
            let hash = block.hash();
            let vals = self.app.tip.validators.clone();
            if let Err(e) = cert.verify(&self.app.genesis.chain_id, h, &hash, &vals) {
                self.ban(now, peer, &format!("bad certificate at height {h}: {e}"));
                break;
            }
            if let Err(e) = self.app.valid_with_reason(&block) {
                self.ban(now, peer, &format!("invalid block: {e}"));
                break;
            }
            let results = self
                .app
                .commit(&block, &cert)
                .with_context(|| format!("committing synced block {h}"))?;
            self.count_results(&results);
            self.private_after_commit(&block, &results);
            self.ctx
                .snapshots
                .after_commit(&self.ctx.store, &self.app.tip);
            self.admit_new_validators(out);
            self.ctx.metrics.blocks_synced.inc();
            applied += 1;
        }
        if applied > 0 {
            tracing::info!(height = self.app.tip.height, blocks = applied, "synced");
            self.publish_status(out);
            if self.core.height() <= self.app.tip.height {
                self.next_height_at = None;
                out.push(Action::NextHeightIn(None));
                self.start_next_height(now, out)?;
            }
        }
        Ok(())
    }
}
