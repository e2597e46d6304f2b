//! What state sync needs of the store (issue 22 item 3): a consistent read of the state
//! after one height while commits go on (the capture), and installing a verified snapshot
//! as a node's starting point.
//!
//! **Capture.** A snapshot of the state after height h is read from the `s/` keys by a
//! background thread while later heights commit. From [`Store::begin_capture`] (called
//! right after h's batch, before the next) until [`Store::end_capture`], each commit first
//! records the value every key it writes held before it, once per key: the value after h.
//! A key the scan read may be newer than h only if a commit wrote it after the capture
//! began, and then the capture holds its value after h; so the scan with the capture laid
//! over it is exactly the state after h ([`Store::state_after_capture`]).
//!
//! **Install.** A node that synced state writes the verified chunks under `s/`
//! ([`Store::put_state_chunk`]), then the tip of the snapshot height in one batch
//! ([`Store::install_synced`]): the tip and the next validator set, the ledger tree's
//! peaks (`lb/<h>` with `ls/<size>`, so inclusion and consistency proofs of later leaves
//! find them), and the validator-set changes it followed from genesis (`v/<h>` and the
//! certified header under `vc/<h>`, so it can serve light-client paths without the blocks
//! before its snapshot). `m/statesync` marks a sync in progress: a node that stopped in
//! the middle must sync again (or be wiped), never run on partial state.

use super::{decode, hkey, push_node, Store, StoreError, Tip, NODE_BYTES};
use safeledger_core::encoding::to_canonical;
use safeledger_core::lightclient::SetChange;
use safeledger_core::merkle::TreeNode;
use safeledger_core::state_chunks::Pairs;
use std::collections::BTreeMap;

/// The key marking a state sync in progress.
const SYNCING: &[u8] = b"m/statesync";
/// The height a state-synced node installed (BE u64): it holds no block at or below it.
const BASE: &[u8] = b"m/base";

/// Values the keys held before the commits since a capture began (`None`: absent).
pub type Captured = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl Store {
    /// Starts recording, for each key a later commit writes, the value it held before
    /// (the state after the height just committed). Replaces a capture in progress.
    pub fn begin_capture(&self) {
        *self.capture.lock().unwrap_or_else(|e| e.into_inner()) = Some(Captured::new());
    }

    /// Ends the capture and returns what it recorded (empty when none was running).
    pub fn end_capture(&self) -> Captured {
        self.capture
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }

    /// Called by a commit before its batch: records the current values of `keys` not yet
    /// captured.
    pub(super) fn capture_before<'a>(&self, keys: impl Iterator<Item = &'a Vec<u8>>) {
        let mut c = self.capture.lock().unwrap_or_else(|e| e.into_inner());
        let Some(c) = c.as_mut() else {
            return;
        };
        for k in keys {
            if !c.contains_key(k) {
                let v = self.state_get(k);
                c.insert(k.clone(), v);
            }
        }
    }

    /// Every state (key, value) after the height whose capture is running, in no
    /// particular order: the `s/` scan with the captured values laid over it. Ends the
    /// capture.
    ///
    /// # Errors
    /// Reading the store failed (the capture is ended all the same).
    pub fn state_after_capture(&self) -> Result<Pairs, StoreError> {
        let scanned: Result<Pairs, StoreError> = self.state_scan(b"").collect();
        let captured = self.end_capture();
        let mut out = scanned?;
        out.retain(|(k, _)| !captured.contains_key(k));
        out.extend(captured.into_iter().filter_map(|(k, v)| Some((k, v?))));
        Ok(out)
    }

    /// True when a state sync began and did not finish.
    pub fn sync_in_progress(&self) -> Result<bool, StoreError> {
        Ok(self.db.contains_key(SYNCING)?)
    }

    /// Starts a state sync: marks it in progress and removes every state key (a previous
    /// attempt's, or genesis state the snapshot replaces).
    ///
    /// # Errors
    /// sled.
    pub fn begin_state_sync(&self) -> Result<(), StoreError> {
        self.db.insert(SYNCING, &[])?;
        let keys: Vec<sled::IVec> = self
            .db
            .scan_prefix(b"s/")
            .keys()
            .collect::<Result<_, _>>()?;
        for chunk in keys.chunks(10_000) {
            let mut b = sled::Batch::default();
            for k in chunk {
                b.remove(k.clone());
            }
            self.db.apply_batch(b)?;
        }
        self.sync()?;
        Ok(())
    }

    /// Writes one verified chunk's (key, value) pairs under `s/`.
    ///
    /// # Errors
    /// sled.
    pub fn put_state_chunk(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (k, v) in pairs {
            let mut key = b"s/".to_vec();
            key.extend_from_slice(k);
            b.insert(key, v.clone());
        }
        self.db.apply_batch(b)?;
        Ok(())
    }

    /// Finishes a state sync: writes `tip` (the snapshot height's, every field verified
    /// against certified headers), the ledger tree's peaks and the validator-set changes of
    /// `path`, clears the in-progress mark, and makes it durable.
    ///
    /// # Errors
    /// sled or the fsync.
    pub fn install_synced(&self, tip: &Tip, path: &[SetChange]) -> Result<(), StoreError> {
        let h = tip.height;
        let mut b = sled::Batch::default();
        b.insert(b"m/tip".to_vec(), to_canonical(tip));
        b.insert(b"m/nextvals".to_vec(), to_canonical(&tip.next_validators));
        if tip.ledger.size > 0 {
            let mut nodes = Vec::with_capacity(tip.ledger.peaks.len() * NODE_BYTES);
            let mut start = 0u64;
            for (level, peak) in (0..64u8)
                .rev()
                .filter(|b| tip.ledger.size >> b & 1 == 1)
                .zip(&tip.ledger.peaks)
            {
                let node = TreeNode {
                    level,
                    index: start >> level,
                    hash: *peak,
                };
                push_node(&mut nodes, &node);
                start += 1u64 << level;
            }
            b.insert(hkey(b"lb/", h), nodes);
            b.insert(hkey(b"ls/", tip.ledger.size), h.to_be_bytes().to_vec());
        }
        for step in path {
            let sh = step.header.height;
            b.insert(hkey(b"v/", sh), to_canonical(&step.next_validators));
            b.insert(hkey(b"vc/", sh), to_canonical(step));
        }
        b.remove(SYNCING);
        b.insert(BASE, h.to_be_bytes().to_vec());
        self.db.apply_batch(b)?;
        self.sync()
    }

    /// The snapshot height a state-synced node started from (it holds no blocks,
    /// results, transaction index or ledger-tree nodes of the heights up to it); `None`
    /// for a node that has every block. A read error counts as `None`.
    pub fn synced_from(&self) -> Option<u64> {
        let v = self.db.get(BASE).ok()??;
        <[u8; 8]>::try_from(v.as_ref()).ok().map(u64::from_be_bytes)
    }

    /// Why `id` is not in this node's transaction index, for an answer: not committed,
    /// or — on a state-synced node — perhaps committed before the node's snapshot.
    pub fn tx_missing(&self, id: &safeledger_core::TxId) -> String {
        match self.synced_from() {
            Some(h) => format!(
                "transaction {id} is not committed after height {h}; this node joined by \
                 state sync at height {h} and holds no transactions up to it: ask another node"
            ),
            None => format!("transaction {id} is not committed"),
        }
    }

    /// The validator-set change at `height` as a state-synced node received it (header,
    /// certificate, next set), for the changes before its snapshot.
    ///
    /// # Errors
    /// sled, or a value that does not decode.
    pub fn synced_set_change(&self, height: u64) -> Result<Option<SetChange>, StoreError> {
        let k = hkey(b"vc/", height);
        match self.db.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }
}
