//! The node's sled store: blocks, commit certificates, results, transaction index, contract
//! state and the tip, in one sled tree under key prefixes so that a height is committed by
//! one atomic batch (a crash leaves either all of a height or none of it).
//!
//! Keys: `b/<height BE>` block, `c/<height BE>` certificate, `r/<height BE>` results,
//! `t/<tx id>` → (height, index), `s/<contract key>` → contract state value, `m/tip` →
//! [`Tip`] (without its `next_validators`), `m/nextvals` → the tip's `next_validators`,
//! `v/<height BE>` → the validator set header `height` committed to in
//! `next_validators_hash` where that differs from its `validators_hash` (the validator-set
//! changes, for light-client paths), `l/<level u8><index BE>` → the 32-byte root of a completed perfect subtree of the
//! ledger tree (level 0: the leaf hash of ledger index `index`), for RFC 9162 inclusion and
//! consistency proofs. Values are canonical encodings (core::encoding), tree nodes raw.
//! `pv/` and `pk/` hold sealed private field values and their record keys, `pe/` the
//! tombstones of erased private fields ([`crate::private_store`]).

use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::genesis::ValidatorSet;
use safeledger_core::merkle::CompactRange;
use safeledger_core::{Block, Hash, Timestamp, TxId, TxResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// sled page-cache size per node (bytes). sled's 1 GiB default is too much for four nodes
/// on one machine.
pub const SLED_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// The durable sync after a commit failed (the height may not survive a power loss;
    /// the node stops rather than sign the next one).
    #[error("fsync of the store: {0}")]
    Sync(std::io::Error),
    /// A stored value did not decode: the data directory is corrupt.
    #[error("corrupt stored value under {key}: {why}")]
    Corrupt {
        /// Key.
        key: String,
        /// Decode error.
        why: String,
    },
}

/// What the node knows about the last committed block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    /// Last committed height (0: only genesis).
    pub height: u64,
    /// Its block hash (the genesis hash at height 0).
    pub block_hash: Hash,
    /// Its block time (genesis time at height 0).
    pub block_time: Timestamp,
    /// State root after executing it.
    pub state_root: Hash,
    /// Results root of its results.
    pub results_root: Hash,
    /// The ledger-wide tree through it.
    pub ledger: CompactRange,
    /// Transactions committed since genesis.
    pub committed_txs: u64,
    /// Validator set of the next height (height + 1).
    pub validators: ValidatorSet,
    /// Validator set of height + 2: `validators` with the changes governance passed in
    /// this block applied (stored under `m/nextvals`, so tips written before set changes
    /// existed still decode; absent means equal to `validators`).
    #[serde(skip)]
    pub next_validators: ValidatorSet,
}

/// The node's store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    durable: std::sync::Arc<Durable>,
}

/// What [`Store::commit`] fsyncs after sled's flush: sled writes its log with
/// `sync_file_range`, which neither flushes the device cache nor the file's metadata, and
/// never syncs blob files (sled issue 1452), so a power loss could drop a block the node
/// already acted on. An `fdatasync` of the log file and an `fsync` of every new blob file
/// and of the blob directory make a committed height durable before the next one starts.
struct Durable {
    dir: std::path::PathBuf,
    /// Blob files already synced.
    synced_blobs: std::sync::Mutex<std::collections::BTreeSet<std::ffi::OsString>>,
}

impl Durable {
    fn sync(&self) -> std::io::Result<()> {
        std::fs::File::open(self.dir.join("db"))?.sync_data()?;
        let blobs = self.dir.join("blobs");
        let entries = match std::fs::read_dir(&blobs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut present = std::collections::BTreeSet::new();
        let mut new = false;
        for e in entries {
            let name = e?.file_name();
            if !synced.contains(&name) {
                match std::fs::File::open(blobs.join(&name)) {
                    Ok(f) => f.sync_all()?,
                    // sled removed it meanwhile (garbage collection).
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            std::fs::File::open(&blobs)?.sync_all()?;
        }
        *synced = present;
        Ok(())
    }
}

fn hkey(prefix: &[u8], h: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&h.to_be_bytes());
    k
}

fn lkey(level: u8, index: u64) -> Vec<u8> {
    let mut k = b"l/".to_vec();
    k.push(level);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], v: &[u8]) -> Result<T, StoreError> {
    from_canonical(v).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        why: e.to_string(),
    })
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(SLED_CACHE_BYTES)
            .flush_every_ms(Some(1_000))
            .open()?;
        let durable = std::sync::Arc::new(Durable {
            dir: dir.to_path_buf(),
            synced_blobs: Default::default(),
        });
        Ok(Store { db, durable })
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.db.get(key)? {
            Some(v) => Ok(Some(decode(key, &v)?)),
            None => Ok(None),
        }
    }

    /// The underlying sled database (for the private store's keys).
    pub fn db(&self) -> sled::Db {
        self.db.clone()
    }

    /// The tip, if any block (or the genesis tip) was stored.
    pub fn tip(&self) -> Result<Option<Tip>, StoreError> {
        let Some(mut tip) = self.get::<Tip>(b"m/tip")? else {
            return Ok(None);
        };
        tip.next_validators = self
            .get(b"m/nextvals")?
            .unwrap_or_else(|| tip.validators.clone());
        Ok(Some(tip))
    }

    /// Stores the genesis tip (height 0) if the store is new.
    pub fn init_tip(&self, tip: &Tip) -> Result<(), StoreError> {
        self.db
            .compare_and_swap(b"m/tip", None as Option<&[u8]>, Some(to_canonical(tip)))?
            .ok();
        self.db.flush()?;
        Ok(())
    }

    /// The validator set header `height` committed to in `next_validators_hash`, stored
    /// only where it differs from that header's own set (a set change).
    pub fn validator_change(&self, height: u64) -> Result<Option<ValidatorSet>, StoreError> {
        self.get(&hkey(b"v/", height))
    }

    /// Heights (ascending, at most `max`) of the headers that changed the validator set,
    /// up to and including `through`.
    pub fn validator_change_heights(
        &self,
        through: u64,
        max: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for kv in self.db.range(hkey(b"v/", 0)..=hkey(b"v/", through)) {
            let (k, _) = kv?;
            let h = k
                .get(2..10)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    why: "bad validator-change key".into(),
                })?;
            out.push(h);
            if out.len() >= max {
                break;
            }
        }
        Ok(out)
    }

    /// Block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.get(&hkey(b"b/", height))
    }

    /// Raw canonical bytes of the block at `height` (served without re-encoding).
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(hkey(b"b/", height))?.map(|v| v.to_vec()))
    }

    /// Commit certificate of `height`.
    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError> {
        self.get(&hkey(b"c/", height))
    }

    /// Execution results of `height`.
    pub fn results(&self, height: u64) -> Result<Option<Vec<TxResult>>, StoreError> {
        self.get(&hkey(b"r/", height))
    }

    /// Where a transaction was committed: (height, index).
    pub fn tx_location(&self, id: &TxId) -> Result<Option<(u64, u32)>, StoreError> {
        let mut k = b"t/".to_vec();
        k.extend_from_slice(&id.0);
        self.get(&k)
    }

    /// A stored node of the ledger tree (see the module docs), if stored.
    pub fn ledger_node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        let k = lkey(level, index);
        match self.db.get(&k)? {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_ref())
                .map(|a| Some(Hash(a)))
                .map_err(|_| StoreError::Corrupt {
                    key: format!("l/{level}/{index}"),
                    why: format!("{} bytes, not 32", v.len()),
                }),
        }
    }

    /// A contract state value.
    pub fn state_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut k = b"s/".to_vec();
        k.extend_from_slice(key);
        self.db.get(k).ok().flatten().map(|v| v.to_vec())
    }

    /// Flushes sled's buffers to the file system.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Flushes sled and makes what it wrote durable (fsync, see `Durable`): for writes
    /// outside a commit, such as the private store's.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.durable.sync().map_err(StoreError::Sync)
    }

    /// Commits one height atomically: block, certificate, results, transaction index, state
    /// writes, the new tip and (at a set change) the next validator set; then flushes and
    /// fsyncs (see `Durable`), so the height survives a power loss before the next starts.
    pub fn commit(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        results: &[TxResult],
        writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        tip: &Tip,
    ) -> Result<(), StoreError> {
        let h = block.header.height;
        let mut batch = sled::Batch::default();
        batch.insert(hkey(b"b/", h), to_canonical(block));
        batch.insert(hkey(b"c/", h), to_canonical(cert));
        batch.insert(hkey(b"r/", h), to_canonical(results));
        for (i, tx) in block.txs.iter().enumerate() {
            let mut k = b"t/".to_vec();
            k.extend_from_slice(&tx.id().0);
            batch.insert(k, to_canonical(&(h, i as u32)));
        }
        for (key, value) in writes {
            let mut k = b"s/".to_vec();
            k.extend_from_slice(key);
            match value {
                Some(v) => batch.insert(k, v.clone()),
                None => batch.remove(k),
            }
        }
        // Ledger-tree nodes completed by this block's leaves, from the previous tip's range.
        let mut range = self.tip()?.map(|t| t.ledger).unwrap_or_default();
        for leaf in safeledger_core::block::tx_leaves(&block.txs) {
            for n in range.append_nodes(leaf) {
                batch.insert(lkey(n.level, n.index), n.hash.0.to_vec());
            }
        }
        if range != tip.ledger {
            tracing::warn!(
                height = h,
                "ledger tree nodes do not continue the stored tip"
            );
        }
        batch.insert(b"m/tip".to_vec(), to_canonical(tip));
        batch.insert(b"m/nextvals".to_vec(), to_canonical(&tip.next_validators));
        if block.header.next_validators_hash != block.header.validators_hash {
            // Header h commits to the set of h + 1: the new tip's `validators`.
            batch.insert(hkey(b"v/", h), to_canonical(&tip.validators));
        }
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.durable.sync().map_err(StoreError::Sync)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` durably: a temporary file in the same directory, fsync, atomic
/// rename, fsync of the directory (sled's flush is not an fsync — sled issue 1452).
pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_write_replaces_atomically() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("priv_state");
        write_durable(&p, b"one").unwrap();
        write_durable(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert!(!p.with_extension("tmp").exists());
    }
}
