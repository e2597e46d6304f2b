//! The recording agency's private field values (DESIGN §4 "Private fields"; issue 5
//! item 7), encrypted at rest in the node's sled store.
//!
//! Each record's values are sealed with a fresh 256-bit record key (ChaCha20-Poly1305,
//! random 96-bit nonce, the transaction id as associated data) under `pv/<tx id>`; the
//! record key itself is sealed with the node's master key (`private.key` in the data
//! directory, 0600, created on first start) under `pk/<tx id>`. Values received under an
//! access grant are kept the same way.
//!
//! # Erasure
//!
//! [`PrivateStore::erase`] destroys the values of some or all private fields of one record
//! and leaves a tombstone ([`Erasure`], under `pe/<tx id>`: field index, name and the time
//! of erasure; no value) so the node can tell "erased" from "never held". The on-chain
//! commitment stays: a view shows the field as its digest, marked erased.
//!
//! Deleting a sled key does not remove its bytes from disk (sled is log-structured: old
//! segments keep them until they are reused), and the master key that opens a stale copy of
//! the record key sits in the same data directory. So erasure also **rotates the master
//! key**: a fresh master key is written to `private.key.next` (fsync'd), every other
//! record's key is re-sealed under it together with the erasure in one sled batch
//! (fsync'd), then `private.key` is overwritten in place with the new key (fsync) and
//! `private.key.next` removed. Afterwards no key that this node still has opens the erased
//! record key, so neither the live store nor an image of the disk yields the value. A crash
//! at any step is finished by [`PrivateStore::open`] (record keys open under either key
//! while `private.key.next` exists; an erasure whose batch was not written did not happen
//! and can be repeated). The limit is the file system and the device: on copy-on-write file
//! systems (btrfs, ZFS) or with SSD wear levelling the old bytes of `private.key` may
//! survive the overwrite; such deployments should keep the data directory on a volume whose
//! key they control.
//!
//! Erasing only some fields of a record re-seals the remaining ones under a fresh record
//! key (the old record key was sealed only under the retired master key). Erasure is
//! idempotent: erasing an erased field changes nothing and reports its first erasure time.
//! A value is never kept again for an erased field ([`PrivateStoreError::ErasedField`]).
//! Erasure is local: copies already disclosed to granted agencies are theirs to erase.

use crate::store::{write_durable, Store, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::private::PrivateValue;
use safeledger_core::{Hash, Timestamp, TxId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most transactions [`PrivateStore::take_changed`] remembers between two takes; past it,
/// the taker is told to re-read everything.
pub const MAX_CHANGED: usize = 10_000;

/// The transactions whose held values changed since the last take (for the search index).
#[derive(Default)]
struct Changed {
    txs: BTreeSet<TxId>,
    overflowed: bool,
}

/// Name of the master-key file in the data directory.
pub const MASTER_KEY_FILE: &str = "private.key";
/// Name of the next master key's file while an erasure rotates the master key.
pub const NEXT_MASTER_KEY_FILE: &str = "private.key.next";

const VALUES: &[u8] = b"pv/";
const KEYS: &[u8] = b"pk/";
const TOMBSTONES: &[u8] = b"pe/";

/// Errors of the private store.
#[derive(Debug, thiserror::Error)]
pub enum PrivateStoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// The durable sync failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A master key file could not be read, written or created.
    #[error("master key {path}: {why}")]
    MasterKey {
        /// Its path.
        path: String,
        /// What failed.
        why: String,
    },
    /// A sealed value did not open (wrong key, or tampered data).
    #[error("sealed private data of {0} does not open")]
    Unseal(TxId),
    /// The record's key is gone without a tombstone (erased by an earlier version).
    #[error("the private values of {0} were erased")]
    Erased(TxId),
    /// A value offered for a field this node erased.
    #[error("field {name:?} of {tx} was erased here: its value is not kept again")]
    ErasedField {
        /// The record.
        tx: TxId,
        /// The field.
        name: String,
    },
    /// A field to erase whose value this node never held.
    #[error("this node never held the value of field {index} of {tx}")]
    NotHeld {
        /// The record.
        tx: TxId,
        /// The field's index.
        index: u16,
    },
    /// Nothing to erase: this node neither holds nor erased a value of the record.
    #[error("this node holds no private value of {0}")]
    NothingHeld(TxId),
    /// The tombstones of a record do not decode.
    #[error("the erasure record of {0} does not decode")]
    Corrupt(TxId),
}

/// The tombstone of an erased private field: what was erased and when, never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Index of the field in `body.fields()`.
    pub index: u16,
    /// The field's name.
    pub name: String,
    /// When this node erased it (its wall clock).
    pub erased_at: Timestamp,
}

/// A field [`PrivateStore::erase`] reports: its tombstone, and whether this call erased it
/// (false: it was erased before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    /// The tombstone.
    pub erasure: Erasure,
    /// Erased by this call.
    pub now: bool,
}

/// Sealed private values keyed by transaction id.
#[derive(Clone)]
pub struct PrivateStore {
    store: Store,
    db: sled::Db,
    dir: PathBuf,
    /// The master key; held for every operation, so an erasure's rotation never races a
    /// read or a write.
    master: Arc<Mutex<[u8; 32]>>,
    /// Transactions whose held values changed since the last [`PrivateStore::take_changed`].
    changed: Arc<Mutex<Changed>>,
}

fn key(prefix: &[u8], tx: &TxId) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&tx.0);
    k
}

fn seal(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut out = nonce.to_vec();
    // Encryption with a 32-byte key and 12-byte nonce cannot fail for inputs this size.
    if let Ok(ct) = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad }) {
        out.extend_from_slice(&ct);
    }
    out
}

fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 12 {
        return None;
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let (nonce, ct) = sealed.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
}

fn open_key(master: &[u8; 32], tx: &TxId, wrapped: &[u8]) -> Option<[u8; 32]> {
    open(master, &tx.0, wrapped).and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
}

fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    k
}

fn key_error(path: &Path, why: impl ToString) -> PrivateStoreError {
    PrivateStoreError::MasterKey {
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

fn read_key_file(path: &Path) -> Result<Option<[u8; 32]>, PrivateStoreError> {
    match std::fs::read(path) {
        Ok(b) => <[u8; 32]>::try_from(b.as_slice())
            .map(Some)
            .map_err(|_| key_error(path, format!("{} bytes, not 32", b.len()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(key_error(path, e)),
    }
}

/// Writes a new key file durably, readable by the owner only.
fn create_key_file(path: &Path, k: &[u8; 32]) -> Result<(), PrivateStoreError> {
    write_durable(path, k).map_err(|e| key_error(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| key_error(path, e))?;
    }
    Ok(())
}

/// Overwrites the key file's bytes in place (same file, same blocks on an update-in-place
/// file system) and fsyncs it, so the old key does not survive in a freed block as it
/// would with a write-and-rename.
fn overwrite_key_file(path: &Path, k: &[u8; 32]) -> Result<(), PrivateStoreError> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| key_error(path, e))?;
    f.seek(SeekFrom::Start(0))
        .and_then(|_| f.write_all(k))
        .and_then(|_| f.set_len(32))
        .and_then(|_| f.sync_all())
        .map_err(|e| key_error(path, e))
}

fn tx_of_key(k: &[u8]) -> Option<TxId> {
    k.get(KEYS.len()..)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Hash)
}

impl PrivateStore {
    /// Opens the private values in `store`, with the master key of `data_dir` (created,
    /// 0600, when missing), and finishes a master-key rotation a crash interrupted.
    pub fn open(store: &Store, data_dir: &Path) -> Result<PrivateStore, PrivateStoreError> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let master = match read_key_file(&path)? {
            Some(k) => k,
            None => {
                let k = random_key();
                create_key_file(&path, &k)?;
                k
            }
        };
        let s = PrivateStore {
            store: store.clone(),
            db: store.db(),
            dir: data_dir.to_path_buf(),
            master: Arc::new(Mutex::new(master)),
            changed: Arc::default(),
        };
        let next_path = data_dir.join(NEXT_MASTER_KEY_FILE);
        if let Some(next) = read_key_file(&next_path)? {
            let mut m = s.lock();
            let mut batch = sled::Batch::default();
            s.rewrap(&mut batch, &m, &next, None)?;
            s.db.apply_batch(batch)?;
            s.store.sync()?;
            *m = next;
            s.finish_rotation(&next)?;
            tracing::info!("finished a private master-key rotation interrupted by a crash");
        }
        Ok(s)
    }

    fn lock(&self) -> MutexGuard<'_, [u8; 32]> {
        // A poisoned lock still holds a whole key: the panicking holder wrote it last.
        self.master.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `values` of transaction `tx` (replacing any kept before for the same fields),
    /// all the record's values sealed under a fresh record key. Refuses a value of a field
    /// erased here.
    pub fn put(&self, tx: &TxId, values: &[PrivateValue]) -> Result<(), PrivateStoreError> {
        let master = self.lock();
        let erased = self.erased(tx)?;
        if let Some(v) = values
            .iter()
            .find(|v| erased.iter().any(|e| e.index == v.index))
        {
            return Err(PrivateStoreError::ErasedField {
                tx: *tx,
                name: v.name.clone(),
            });
        }
        let mut mine = self.values(&master, tx)?;
        for v in values {
            mine.retain(|m| m.index != v.index);
            mine.push(v.clone());
        }
        mine.sort_by_key(|v| v.index);
        let mut batch = sled::Batch::default();
        Self::seal_record(&mut batch, &master, tx, &mine);
        self.db.apply_batch(batch)?;
        self.store.sync()?;
        self.note_changed(tx);
        Ok(())
    }

    fn note_changed(&self, tx: &TxId) {
        let mut c = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        if c.txs.len() >= MAX_CHANGED {
            c.overflowed = true;
        } else {
            c.txs.insert(*tx);
        }
    }

    /// The transactions whose values were kept or erased here since the last call, and
    /// whether more changed than [`MAX_CHANGED`] (then every record may have changed).
    pub fn take_changed(&self) -> (BTreeSet<TxId>, bool) {
        let mut c = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        let taken = std::mem::take(&mut *c);
        (taken.txs, taken.overflowed)
    }

    fn seal_record(batch: &mut sled::Batch, master: &[u8; 32], tx: &TxId, v: &[PrivateValue]) {
        let record_key = random_key();
        batch.insert(key(VALUES, tx), seal(&record_key, &tx.0, &to_canonical(&v)));
        batch.insert(key(KEYS, tx), seal(master, &tx.0, &record_key));
    }

    /// The values kept for `tx` (empty when none; erased fields are not among them).
    pub fn get(&self, tx: &TxId) -> Result<Vec<PrivateValue>, PrivateStoreError> {
        let master = self.lock();
        self.values(&master, tx)
    }

    fn values(&self, master: &[u8; 32], tx: &TxId) -> Result<Vec<PrivateValue>, PrivateStoreError> {
        let Some(sealed) = self.db.get(key(VALUES, tx))? else {
            return Ok(Vec::new());
        };
        let Some(wrapped) = self.db.get(key(KEYS, tx))? else {
            return Err(PrivateStoreError::Erased(*tx));
        };
        let record_key = open_key(master, tx, &wrapped).ok_or(PrivateStoreError::Unseal(*tx))?;
        let plain = open(&record_key, &tx.0, &sealed).ok_or(PrivateStoreError::Unseal(*tx))?;
        from_canonical(&plain).map_err(|_| PrivateStoreError::Unseal(*tx))
    }

    /// The tombstones of the fields of `tx` this node erased, by index (empty when none).
    pub fn erased(&self, tx: &TxId) -> Result<Vec<Erasure>, PrivateStoreError> {
        match self.db.get(key(TOMBSTONES, tx))? {
            None => Ok(Vec::new()),
            Some(b) => from_canonical(&b).map_err(|_| PrivateStoreError::Corrupt(*tx)),
        }
    }

    /// Erases the values of the fields of `tx` at the indices `which` (None: every field
    /// whose value this node holds) at time `now`: destroys the record key by rotating
    /// the master key, re-seals the fields that stay under a fresh record key, and keeps a
    /// tombstone per erased field (module docs). Returns the tombstones of the fields asked
    /// for (None: of every field erased here), each marked when this call erased it.
    /// Fields erased before are reported, not erased again. Errors: a field asked for that
    /// this node neither holds nor erased ([`PrivateStoreError::NotHeld`]), or no value of
    /// the record at all ([`PrivateStoreError::NothingHeld`]).
    pub fn erase(
        &self,
        tx: &TxId,
        which: Option<&[u16]>,
        now: Timestamp,
    ) -> Result<Vec<Erased>, PrivateStoreError> {
        let mut master = self.lock();
        let held = self.values(&master, tx)?;
        let mut tombs = self.erased(tx)?;
        let known =
            |i: u16| held.iter().any(|v| v.index == i) || tombs.iter().any(|e| e.index == i);
        let wanted: BTreeSet<u16> = match which {
            None => held
                .iter()
                .map(|v| v.index)
                .chain(tombs.iter().map(|e| e.index))
                .collect(),
            Some(w) => {
                if let Some(&index) = w.iter().find(|&&i| !known(i)) {
                    return Err(PrivateStoreError::NotHeld { tx: *tx, index });
                }
                w.iter().copied().collect()
            }
        };
        if wanted.is_empty() {
            return Err(PrivateStoreError::NothingHeld(*tx));
        }
        let (gone, keep): (Vec<PrivateValue>, Vec<PrivateValue>) =
            held.into_iter().partition(|v| wanted.contains(&v.index));
        let fresh: BTreeSet<u16> = gone.iter().map(|v| v.index).collect();
        if !gone.is_empty() {
            tombs.extend(gone.into_iter().map(|v| Erasure {
                index: v.index,
                name: v.name,
                erased_at: now,
            }));
            tombs.sort_by_key(|e| e.index);
            self.rotate(&mut master, tx, &keep, &tombs)?;
            self.note_changed(tx);
        }
        Ok(tombs
            .into_iter()
            .filter(|e| wanted.contains(&e.index))
            .map(|e| Erased {
                now: fresh.contains(&e.index),
                erasure: e,
            })
            .collect())
    }

    /// One erasure: the record's remaining values re-sealed, its tombstones written and
    /// every other record key re-sealed under a new master key in one batch, then the
    /// master key replaced (module docs: the order and what a crash leaves).
    fn rotate(
        &self,
        master: &mut [u8; 32],
        tx: &TxId,
        keep: &[PrivateValue],
        tombs: &[Erasure],
    ) -> Result<(), PrivateStoreError> {
        let next = random_key();
        let next_path = self.dir.join(NEXT_MASTER_KEY_FILE);
        create_key_file(&next_path, &next)?;
        let written = (|| {
            let mut batch = sled::Batch::default();
            self.rewrap(&mut batch, master, &next, Some(tx))?;
            if keep.is_empty() {
                batch.remove(key(VALUES, tx));
                batch.remove(key(KEYS, tx));
            } else {
                Self::seal_record(&mut batch, &next, tx, keep);
            }
            batch.insert(key(TOMBSTONES, tx), to_canonical(&tombs.to_vec()));
            self.db.apply_batch(batch)?;
            self.store.sync()?;
            Ok::<(), PrivateStoreError>(())
        })();
        if let Err(e) = written {
            // Nothing was erased; the old master key still opens every record.
            let _ = std::fs::remove_file(&next_path);
            return Err(e);
        }
        // From here the records are sealed under `next`; a failure below is finished by
        // the next `open`.
        *master = next;
        self.finish_rotation(&next)
    }

    /// Replaces the master key file's bytes with `next` and removes the next-key file.
    fn finish_rotation(&self, next: &[u8; 32]) -> Result<(), PrivateStoreError> {
        let path = self.dir.join(MASTER_KEY_FILE);
        overwrite_key_file(&path, next)?;
        let next_path = self.dir.join(NEXT_MASTER_KEY_FILE);
        std::fs::remove_file(&next_path).map_err(|e| key_error(&next_path, e))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| key_error(&self.dir, e))
    }

    /// Re-seals every record key (except `skip`'s) from `from` to `to` into `batch`; a key
    /// that opens under `to` already is left as it is.
    fn rewrap(
        &self,
        batch: &mut sled::Batch,
        from: &[u8; 32],
        to: &[u8; 32],
        skip: Option<&TxId>,
    ) -> Result<(), PrivateStoreError> {
        for kv in self.db.scan_prefix(KEYS) {
            let (k, wrapped) = kv?;
            let Some(tx) = tx_of_key(&k) else {
                continue;
            };
            if Some(&tx) == skip || open_key(to, &tx, &wrapped).is_some() {
                continue;
            }
            let record_key = open_key(from, &tx, &wrapped).ok_or(PrivateStoreError::Unseal(tx))?;
            batch.insert(k.to_vec(), seal(to, &tx.0, &record_key));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
