//! The recording agency's private field values (DESIGN §4 "Private fields"; issue 5
//! item 7), encrypted at rest in the node's sled store.
//!
//! Each record's values are sealed with a fresh 256-bit record key (ChaCha20-Poly1305,
//! random 96-bit nonce, the transaction id as associated data) under `pv/<tx id>`; the
//! record key itself is sealed with the node's master key (`private.key` in the data
//! directory, 0600, created on first start) under `pk/<tx id>`. Erasing a record deletes
//! its record key: the ciphertext stays but can no longer be opened, and the on-chain
//! commitment stays (a view shows the field as a digest). Values received under an access
//! grant are kept the same way.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::private::PrivateValue;
use safeledger_core::TxId;
use std::path::Path;

/// Name of the master-key file in the data directory.
pub const MASTER_KEY_FILE: &str = "private.key";

/// Errors of the private store.
#[derive(Debug, thiserror::Error)]
pub enum PrivateStoreError {
    /// sled failed.
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// The master key file could not be read or created.
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
    /// The record's key was erased.
    #[error("the private values of {0} were erased")]
    Erased(TxId),
}

/// Sealed private values keyed by transaction id.
#[derive(Clone)]
pub struct PrivateStore {
    db: sled::Db,
    master: [u8; 32],
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

impl PrivateStore {
    /// Opens the private values in `db`, with the master key of `data_dir` (created, 0600,
    /// when missing).
    pub fn open(db: sled::Db, data_dir: &Path) -> Result<PrivateStore, PrivateStoreError> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let err = |why: String| PrivateStoreError::MasterKey {
            path: path.display().to_string(),
            why,
        };
        let master = match std::fs::read(&path) {
            Ok(b) => <[u8; 32]>::try_from(b.as_slice())
                .map_err(|_| err(format!("{} bytes, not 32", b.len())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut k);
                crate::store::write_durable(&path, &k).map_err(|e| err(e.to_string()))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| err(e.to_string()))?;
                }
                k
            }
            Err(e) => return Err(err(e.to_string())),
        };
        Ok(PrivateStore { db, master })
    }

    /// Keeps `values` of transaction `tx` (replacing any kept before), sealed under a fresh
    /// record key.
    pub fn put(&self, tx: &TxId, values: &[PrivateValue]) -> Result<(), PrivateStoreError> {
        let mut mine = self.get(tx).unwrap_or_default();
        for v in values {
            mine.retain(|m| m.index != v.index);
            mine.push(v.clone());
        }
        mine.sort_by_key(|v| v.index);
        let mut record_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut record_key);
        let mut batch = sled::Batch::default();
        batch.insert(
            key(b"pv/", tx),
            seal(&record_key, &tx.0, &to_canonical(&mine)),
        );
        batch.insert(key(b"pk/", tx), seal(&self.master, &tx.0, &record_key));
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// The values kept for `tx` (empty when none).
    pub fn get(&self, tx: &TxId) -> Result<Vec<PrivateValue>, PrivateStoreError> {
        let Some(sealed) = self.db.get(key(b"pv/", tx))? else {
            return Ok(Vec::new());
        };
        let Some(wrapped) = self.db.get(key(b"pk/", tx))? else {
            return Err(PrivateStoreError::Erased(*tx));
        };
        let record_key: [u8; 32] = open(&self.master, &tx.0, &wrapped)
            .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
            .ok_or(PrivateStoreError::Unseal(*tx))?;
        let plain = open(&record_key, &tx.0, &sealed).ok_or(PrivateStoreError::Unseal(*tx))?;
        from_canonical(&plain).map_err(|_| PrivateStoreError::Unseal(*tx))
    }

    /// Erases the values of `tx` by destroying its record key.
    pub fn erase(&self, tx: &TxId) -> Result<bool, PrivateStoreError> {
        let had = self.db.remove(key(b"pk/", tx))?.is_some();
        self.db.flush()?;
        Ok(had)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeledger_core::Hash;

    #[test]
    fn values_round_trip_sealed_and_erasure_destroys_them() {
        let d = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let s = PrivateStore::open(db.clone(), d.path()).unwrap();
        let tx = Hash([3; 32]);
        let v = PrivateValue {
            index: 8,
            name: "description".into(),
            salt: [1; 16],
            value: to_canonical(&"J. Doe fell".to_string()),
        };
        s.put(&tx, std::slice::from_ref(&v)).unwrap();
        assert_eq!(s.get(&tx).unwrap(), vec![v.clone()]);
        // Nothing readable at rest.
        for kv in db.iter() {
            let (_, val) = kv.unwrap();
            assert!(!val.windows(11).any(|w| w == b"J. Doe fell"));
        }
        // Another node's master key opens nothing.
        let d2 = tempfile::tempdir().unwrap();
        let other = PrivateStore::open(db.clone(), d2.path()).unwrap();
        assert!(matches!(other.get(&tx), Err(PrivateStoreError::Unseal(_))));
        assert!(s.erase(&tx).unwrap());
        assert!(matches!(s.get(&tx), Err(PrivateStoreError::Erased(_))));
        assert_eq!(s.get(&Hash([4; 32])).unwrap(), vec![]);
    }
}
