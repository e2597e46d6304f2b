//! The node's sled store: blocks, commit certificates, results, transaction index, contract
//! state and the tip, in one sled tree under key prefixes so that a height is committed by
//! one atomic batch (a crash leaves either all of a height or none of it).
//!
//! Keys: `b/<height BE>` block, `c/<height BE>` certificate, `r/<height BE>` results,
//! `t/<tx id>` → (height, index), `s/<contract key>` → contract state value, `m/tip` →
//! [`Tip`] (without its `next_validators`), `m/nextvals` → the tip's `next_validators`,
//! `v/<height BE>` → the validator set header `height` committed to in
//! `next_validators_hash` where that differs from its `validators_hash` (the validator-set
//! changes, for light-client paths). The ledger tree's nodes, for RFC 9162 inclusion and
//! consistency proofs, are kept per block: `lb/<height BE>` → every node the block's
//! leaves completed (roots of perfect subtrees; level 0 is a leaf hash), each as
//! `level u8 ‖ index BE u64 ‖ hash 32 bytes`, in append order; `ls/<ledger size BE>` →
//! the height (BE) of the block that brought the ledger to that size (blocks with
//! transactions only), so the block that completed a node is one range lookup away. One
//! key per block instead of about two per transaction (issue 7: sled's cost is per key).
//! Stores written before that keep one `l/<level u8><index BE>` key per node; they are
//! still read. Values are canonical encodings (core::encoding), tree nodes raw.
//! `sk/<height BE>` → the state keys the height wrote of the objects that give search
//! documents or inbox tasks (canonical `Vec<Vec<u8>>` in key order, keys under
//! [`safeledger_contracts::query::tasks::TASK_PREFIXES`]; absent when none): what the
//! search index and the inbox re-read ([`crate::search`], [`crate::inbox`]); node-local,
//! not part of any root.
//! `g/<signer key><height BE>` → the positions of the transactions the key signed in that
//! block ([`signers`]: lifetime accountability; node-local).
//! `pv/` and `pk/` hold sealed private field values and their record keys, `pe/` the
//! tombstones of erased private fields ([`crate::private_store`]).
//! `m/statesync` marks a state sync in progress, and `vc/<height BE>` holds the
//! validator-set changes a state-synced node followed from genesis ([`synced`]).

use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::genesis::ValidatorSet;
use safeledger_core::merkle::CompactRange;
use safeledger_core::{Block, Hash, Timestamp, TxId, TxResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod families;
mod signers;
pub mod state_map;
mod synced;

pub use families::Family;

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
    /// Another process holds the store (a node of this agency already runs on it).
    #[error("{0} is in use by another process: is this agency's node already running?")]
    Locked(String),
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
    state: std::sync::Arc<state_map::Versions>,
    /// A snapshot's capture in progress ([`synced`]).
    capture: std::sync::Arc<std::sync::Mutex<Option<synced::Captured>>>,
}

/// What [`Store::commit`] fsyncs after sled's flush: sled writes its log with
/// `sync_file_range`, which neither flushes the device cache nor the file's metadata, and
/// never syncs blob files (sled issue 1452), so a power loss could drop a block the node
/// already acted on. An `fdatasync` of the log file and an `fsync` of every new blob file
/// and of the blob directory make a committed height durable before the next one starts.
struct Durable {
    dir: std::path::PathBuf,
    /// Fault injection for tests ([`FSYNC_FAULT_ENV`]): while this file exists, every
    /// sync fails as an fsync error would.
    fault: Option<std::path::PathBuf>,
    /// Blob files already synced.
    synced_blobs: std::sync::Mutex<std::collections::BTreeSet<std::ffi::OsString>>,
}

/// Environment variable naming a file whose existence makes every durable sync of the
/// store fail with an injected I/O error (fault tests: the node must stop without
/// corrupting what it stored, and resume when restarted without it).
pub const FSYNC_FAULT_ENV: &str = "SAFELEDGER_TEST_FSYNC_FAIL_FILE";

impl Durable {
    fn sync(&self) -> std::io::Result<()> {
        if let Some(f) = self.fault.as_ref().filter(|f| f.exists()) {
            return Err(std::io::Error::other(format!(
                "injected fsync failure ({} exists)",
                f.display()
            )));
        }
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

/// Bytes of one stored ledger-tree node in an `lb/` value: level, index, hash.
const NODE_BYTES: usize = 1 + 8 + 32;

/// Appends `n` to an `lb/` value: level, index (BE), hash ([`NODE_BYTES`]).
fn push_node(out: &mut Vec<u8>, n: &safeledger_core::merkle::TreeNode) {
    out.push(n.level);
    out.extend_from_slice(&n.index.to_be_bytes());
    out.extend_from_slice(&n.hash.0);
}

/// The key of a node in the one-key-per-node layout of earlier stores (read only).
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
            .open()
            .map_err(|e| match &e {
                // sled words a held lock as an I/O error "could not acquire lock".
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    StoreError::Locked(dir.display().to_string())
                }
                _ => StoreError::Sled(e),
            })?;
        let durable = std::sync::Arc::new(Durable {
            dir: dir.to_path_buf(),
            fault: std::env::var_os(FSYNC_FAULT_ENV).map(std::path::PathBuf::from),
            synced_blobs: Default::default(),
        });
        Ok(Store {
            db,
            durable,
            state: Default::default(),
            capture: Default::default(),
        })
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

    /// A stored node of the ledger tree (see the module docs), if stored: the root of the
    /// perfect subtree at `level` (0 = leaves) and position `index` of that level. Errors:
    /// sled, or a corrupt `lb/` or `ls/` value.
    pub fn ledger_node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        let corrupt = |key: String, why: String| StoreError::Corrupt { key, why };
        // The node's last leaf; the block that appended it completed the node.
        let Some(last) = index
            .checked_add(1)
            .and_then(|n| n.checked_mul(1u64.checked_shl(u32::from(level))?))
            .map(|n| n - 1)
        else {
            return Ok(None);
        };
        let from = hkey(b"ls/", last + 1);
        if let Some(entry) = self.db.range(from..hkey(b"ls/", u64::MAX)).next() {
            let (_, h) = entry?;
            let h = <[u8; 8]>::try_from(h.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| corrupt("ls/".into(), format!("{} bytes, not 8", h.len())))?;
            let Some(nodes) = self.db.get(hkey(b"lb/", h))? else {
                return Err(corrupt(
                    format!("lb/{h}"),
                    "missing for an ls/ entry".into(),
                ));
            };
            if nodes.len() % NODE_BYTES != 0 {
                return Err(corrupt(
                    format!("lb/{h}"),
                    format!("{} bytes, not a multiple of {NODE_BYTES}", nodes.len()),
                ));
            }
            for n in nodes.chunks_exact(NODE_BYTES) {
                let (l, rest) = n.split_at(1);
                let (i, hash) = rest.split_at(8);
                if l[0] == level && i == index.to_be_bytes() {
                    let mut out = [0u8; 32];
                    out.copy_from_slice(hash);
                    return Ok(Some(Hash(out)));
                }
            }
        }
        // A store written before the per-block layout.
        let k = lkey(level, index);
        match self.db.get(&k)? {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_ref())
                .map(|a| Some(Hash(a)))
                .map_err(|_| {
                    corrupt(
                        format!("l/{level}/{index}"),
                        format!("{} bytes, not 32", v.len()),
                    )
                }),
        }
    }

    /// A contract state value.
    pub fn state_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut k = b"s/".to_vec();
        k.extend_from_slice(key);
        self.db.get(k).ok().flatten().map(|v| v.to_vec())
    }

    /// The state keys height `height` wrote under the followed prefixes (`sk/`; empty
    /// when none, or for heights committed before the store kept the list).
    pub fn changed_keys(&self, height: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let key = hkey(b"sk/", height);
        match self.db.get(&key)? {
            None => Ok(Vec::new()),
            Some(v) => from_canonical(&v).map_err(|e| StoreError::Corrupt {
                key: format!("sk/{height}"),
                why: e.to_string(),
            }),
        }
    }

    /// Every state key under `prefix` with its value, in key order (the `s/` namespace
    /// stripped).
    pub fn state_scan(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + '_ {
        let mut p = b"s/".to_vec();
        p.extend_from_slice(prefix);
        self.db.scan_prefix(p).map(|kv| {
            let (k, v) = kv?;
            Ok((k[2..].to_vec(), v.to_vec()))
        })
    }

    /// A node-local sled tree beside the ledger (not part of any root): `name` must not be
    /// the default tree's.
    pub fn local_tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Every enterprise in committed state, in id order (a value that does not decode is an
    /// error item; the scan goes on).
    pub fn enterprises(
        &self,
    ) -> impl Iterator<Item = Result<safeledger_contracts::model::EnterpriseState, StoreError>> + '_
    {
        self.state_scan(safeledger_contracts::keys::ENTERPRISE_PREFIX)
            .map(|kv| {
                let (k, v) = kv?;
                from_canonical(&v).map_err(|e| StoreError::Corrupt {
                    key: format!("s/{}", String::from_utf8_lossy(&k)),
                    why: e.to_string(),
                })
            })
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
        let leaves = safeledger_core::block::tx_leaves(&block.txs);
        let state = state_map::StateStep::new(&self.state_tree()?, writes.clone());
        self.apply_commit(block, cert, results, tip, &leaves, &state)?;
        self.sync()
    }

    /// [`Store::commit`] with the block's transaction leaves
    /// (`safeledger_core::block::tx_leaves`) already computed by the caller, and without
    /// the flush and fsync: the height is written as
    /// one atomic batch and every read sees it at once, but it is durable only after
    /// [`Store::sync`] (which the caller must finish before acting on the height beyond
    /// reading it: signing at the next height, removing its consensus log).
    pub fn apply_commit(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        results: &[TxResult],
        tip: &Tip,
        leaves: &[Hash],
        state: &state_map::StateStep,
    ) -> Result<(), StoreError> {
        let h = block.header.height;
        let writes = &*state.writes;
        let mut batch = sled::Batch::default();
        batch.insert(hkey(b"b/", h), to_canonical(block));
        batch.insert(hkey(b"c/", h), to_canonical(cert));
        batch.insert(hkey(b"r/", h), to_canonical(results));
        for (i, tx) in block.txs.iter().enumerate() {
            let mut k = b"t/".to_vec();
            k.extend_from_slice(&tx.id().0);
            batch.insert(k, to_canonical(&(h, i as u32)));
        }
        signers::index_block(&mut batch, block);
        let touched = followed_keys(writes);
        if !touched.is_empty() {
            batch.insert(hkey(b"sk/", h), to_canonical(&touched));
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
        let mut nodes = Vec::with_capacity(block.txs.len() * 2 * NODE_BYTES);
        for leaf in leaves {
            range.append_with::<safeledger_core::merkle::Blake3Tree>(*leaf, |n| {
                push_node(&mut nodes, &n)
            });
        }
        if !block.txs.is_empty() {
            batch.insert(hkey(b"lb/", h), nodes);
            batch.insert(hkey(b"ls/", range.size), h.to_be_bytes().to_vec());
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
        self.capture_before(writes.keys());
        self.db.apply_batch(batch)?;
        self.push_state_version(h, state.clone());
        Ok(())
    }
}

/// The keys a height's writes touch under the prefixes the search index and the inbox
/// follow, in key order.
fn followed_keys(writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for prefix in safeledger_contracts::query::tasks::TASK_PREFIXES {
        out.extend(
            writes
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, _)| k.as_slice()),
        );
    }
    out.sort();
    out
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

    fn block_of(height: u64, txs: Vec<safeledger_core::Transaction>) -> Block {
        use safeledger_core::block::Header;
        let zero = Hash::ZERO;
        Block {
            header: Header {
                version: 1,
                chain_id: "t".into(),
                height,
                time: Timestamp(height),
                prev_hash: zero,
                tx_root: zero,
                tx_count: txs.len() as u32,
                ledger_root: zero,
                ledger_size: 0,
                state_root: zero,
                results_root: zero,
                validators_hash: zero,
                next_validators_hash: zero,
                proposer: safeledger_core::PublicKey([0; 32]),
            },
            txs,
        }
    }

    /// Every perfect subtree of the ledger tree, stored per block, is found again by
    /// (level, index) and equals the Merkle tree hash of its leaves; nodes not yet complete
    /// are absent. Blocks of 0, 1, 2, 3, 5, 8 and 13 transactions cross subtree bounds.
    #[test]
    fn ledger_nodes_stored_per_block_are_found_by_level_and_index() {
        use safeledger_core::records::{EnterpriseRecord, TxBody};
        use safeledger_core::{SecretKey, Transaction, TxPayload};
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let key = SecretKey::from_bytes(&[7; 32]);
        let mut tip_range = CompactRange::default();
        let mut leaves = Vec::new();
        let mut seq = 0;
        for (h, n) in [0usize, 1, 2, 3, 5, 8, 13].into_iter().enumerate() {
            let txs: Vec<Transaction> = (0..n)
                .map(|_| {
                    seq += 1;
                    let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                        enterprise: safeledger_core::ids::EnterpriseId::namespaced(
                            "t",
                            &format!("e{seq}"),
                        )
                        .unwrap(),
                        name: "E".into(),
                        address: "A".into(),
                        linked_ids: vec![],
                    });
                    let p = TxPayload::new(
                        "t",
                        seq,
                        Timestamp(1),
                        body,
                        &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seq),
                    );
                    Transaction::sign(p, &[&key])
                })
                .collect();
            let block = block_of(h as u64 + 1, txs);
            let new_leaves = safeledger_core::block::tx_leaves(&block.txs);
            for l in &new_leaves {
                tip_range.append(*l);
            }
            leaves.extend(new_leaves);
            let tip = Tip {
                height: h as u64 + 1,
                block_hash: block.hash(),
                block_time: block.header.time,
                state_root: Hash::ZERO,
                results_root: Hash::ZERO,
                ledger: tip_range.clone(),
                committed_txs: leaves.len() as u64,
                validators: ValidatorSet::default(),
                next_validators: ValidatorSet::default(),
            };
            let cert = CommitCertificate {
                height: h as u64 + 1,
                round: 0,
                block_hash: block.hash(),
                signatures: vec![],
            };
            store
                .commit(&block, &cert, &[], &BTreeMap::new(), &tip)
                .unwrap();
        }
        assert_eq!(leaves.len(), 32);
        for level in 0..7u8 {
            let width = 1usize << level;
            for index in 0..(64 >> level) as u64 {
                let start = index as usize * width;
                let got = store.ledger_node(level, index).unwrap();
                if start + width <= leaves.len() {
                    let want = safeledger_core::merkle::root(&leaves[start..start + width]);
                    assert_eq!(got, Some(want), "level {level} index {index}");
                } else {
                    assert_eq!(got, None, "level {level} index {index}");
                }
            }
        }
        assert_eq!(store.ledger_node(63, u64::MAX).unwrap(), None);
    }
}
