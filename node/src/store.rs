//! The node's sled store: blocks, commit certificates, results, transaction index, contract
//! state and the tip, in one sled tree under key prefixes so that a height is committed by
//! one atomic batch (a crash leaves either all of a height or none of it).
//!
//! Keys: `b/<height BE>` block, `c/<height BE>` certificate, `r/<height BE>` results,
//! `t/<tx id>` → (height, index), `s/<contract key>` → contract state value, `m/tip` →
//! [`Tip`], `l/<level u8><index BE>` → the 32-byte root of a completed perfect subtree of the
//! ledger tree (level 0: the leaf hash of ledger index `index`), for RFC 9162 inclusion and
//! consistency proofs. Values are canonical encodings (core::encoding), tree nodes raw.

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
    /// Validator set of the next height.
    pub validators: ValidatorSet,
}

/// The node's store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
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
        Ok(Store { db })
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.db.get(key)? {
            Some(v) => Ok(Some(decode(key, &v)?)),
            None => Ok(None),
        }
    }

    /// The tip, if any block (or the genesis tip) was stored.
    pub fn tip(&self) -> Result<Option<Tip>, StoreError> {
        self.get(b"m/tip")
    }

    /// Stores the genesis tip (height 0) if the store is new.
    pub fn init_tip(&self, tip: &Tip) -> Result<(), StoreError> {
        self.db
            .compare_and_swap(b"m/tip", None as Option<&[u8]>, Some(to_canonical(tip)))?
            .ok();
        self.db.flush()?;
        Ok(())
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

    /// Commits one height atomically: block, certificate, results, transaction index, state
    /// writes and the new tip; then flushes.
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
        self.db.apply_batch(batch)?;
        self.db.flush()?;
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
