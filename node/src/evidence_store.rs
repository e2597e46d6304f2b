//! Evidence files this node keeps (issue 20 item 4): photos, videos and PDFs its agency's
//! records list, stored as plain files named by their BLAKE3 hash under
//! `DATA/evidence/`, outside the replicated store. A file is written to a temporary name
//! while it streams in, hashed as it goes, bounded by [`NodeLimits::max_evidence_bytes`]
//! (`crate::config`), synced, and renamed to its hash only when the bytes match the hash
//! and size declared for it; anything else is deleted. A half-written upload (a crash
//! mid-stream) leaves only a temporary file, removed at the next start.

use safeledger_core::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the directory under the data directory.
pub const EVIDENCE_DIR: &str = "evidence";

/// Why an upload was not kept.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Larger than the node keeps.
    #[error("the file exceeds this node's max_evidence_bytes = {0}")]
    TooLarge(u64),
    /// The bytes do not match what was declared.
    #[error("the bytes received ({size} bytes, BLAKE3 {got}) do not match the declared file ({declared_size} bytes, BLAKE3 {declared})")]
    Mismatch {
        /// Bytes received.
        size: u64,
        /// Their hash.
        got: Hash,
        /// Declared size.
        declared_size: u64,
        /// Declared hash.
        declared: Hash,
    },
    /// The file system failed.
    #[error("evidence store: {0}")]
    Io(#[from] std::io::Error),
}

/// The evidence directory of a node.
#[derive(Clone, Debug)]
pub struct EvidenceStore {
    dir: PathBuf,
    max_bytes: u64,
}

impl EvidenceStore {
    /// Opens (creating) `data_dir/evidence`, removing temporary files of uploads a crash
    /// interrupted.
    ///
    /// # Errors
    /// The directory cannot be created or read.
    pub fn open(data_dir: &Path, max_bytes: u64) -> Result<EvidenceStore, EvidenceError> {
        let dir = data_dir.join(EVIDENCE_DIR);
        std::fs::create_dir_all(&dir)?;
        for e in std::fs::read_dir(&dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "partial") {
                let _ = std::fs::remove_file(&p);
            }
        }
        Ok(EvidenceStore { dir, max_bytes })
    }

    /// The largest file kept, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The path of the file with hash `h`.
    pub fn path(&self, h: &Hash) -> PathBuf {
        self.dir.join(h.to_string())
    }

    /// True when the file with hash `h` is kept here.
    pub fn has(&self, h: &Hash) -> bool {
        self.path(h).is_file()
    }

    /// A writer for a file declared as `hash` of `size` bytes.
    ///
    /// # Errors
    /// `size` over the bound; the temporary file cannot be created.
    pub fn writer(&self, hash: Hash, size: u64) -> Result<EvidenceWriter, EvidenceError> {
        if size > self.max_bytes {
            return Err(EvidenceError::TooLarge(self.max_bytes));
        }
        let tmp = self
            .dir
            .join(format!("{hash}.{}.partial", rand::random::<u64>()));
        let file = std::fs::File::create(&tmp)?;
        Ok(EvidenceWriter {
            file: Some(file),
            tmp,
            target: self.path(&hash),
            hasher: blake3::Hasher::new(),
            size: 0,
            declared: (hash, size),
        })
    }

    /// Keeps `bytes` (a tip's file, already in memory) under its hash; returns the hash.
    ///
    /// # Errors
    /// Over the bound; the file system failed.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash, EvidenceError> {
        let hash = Hash(*blake3::hash(bytes).as_bytes());
        let mut w = self.writer(hash, bytes.len() as u64)?;
        w.write(bytes)?;
        w.finish()?;
        Ok(hash)
    }
}

/// An upload in progress: deleted on drop unless [`EvidenceWriter::finish`] kept it.
pub struct EvidenceWriter {
    file: Option<std::fs::File>,
    tmp: PathBuf,
    target: PathBuf,
    hasher: blake3::Hasher,
    size: u64,
    declared: (Hash, u64),
}

impl EvidenceWriter {
    /// Appends `data`.
    ///
    /// # Errors
    /// More bytes than declared (counted as a mismatch); the file system failed.
    pub fn write(&mut self, data: &[u8]) -> Result<(), EvidenceError> {
        self.size += data.len() as u64;
        if self.size > self.declared.1 {
            return Err(self.mismatch());
        }
        self.hasher.update(data);
        if let Some(f) = self.file.as_mut() {
            f.write_all(data)?;
        }
        Ok(())
    }

    fn mismatch(&self) -> EvidenceError {
        EvidenceError::Mismatch {
            size: self.size,
            got: Hash(*self.hasher.finalize().as_bytes()),
            declared_size: self.declared.1,
            declared: self.declared.0,
        }
    }

    /// Syncs and keeps the file under its hash when every byte matched; returns whether
    /// the same file was kept already.
    ///
    /// # Errors
    /// The bytes do not match the declaration; the file system failed.
    pub fn finish(mut self) -> Result<bool, EvidenceError> {
        let got = Hash(*self.hasher.finalize().as_bytes());
        if got != self.declared.0 || self.size != self.declared.1 {
            return Err(self.mismatch());
        }
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        let held = self.target.is_file();
        std::fs::rename(&self.tmp, &self.target)?;
        Ok(held)
    }
}

impl Drop for EvidenceWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_matching_bytes_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let s = EvidenceStore::open(d.path(), 100).unwrap();
        let bytes = b"site photo";
        let h = Hash(*blake3::hash(bytes).as_bytes());
        // Wrong bytes for the declared hash: nothing kept.
        let mut w = s.writer(h, bytes.len() as u64).unwrap();
        w.write(b"site phot0").unwrap();
        assert!(matches!(w.finish(), Err(EvidenceError::Mismatch { .. })));
        assert!(!s.has(&h));
        // More than declared.
        let mut w = s.writer(h, 3).unwrap();
        assert!(w.write(bytes).is_err());
        drop(w);
        // Over the node's bound.
        assert!(matches!(
            s.writer(h, 101),
            Err(EvidenceError::TooLarge(100))
        ));
        assert_eq!(s.put_bytes(bytes).unwrap(), h);
        assert_eq!(std::fs::read(s.path(&h)).unwrap(), bytes);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(d.path().join(EVIDENCE_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }
}
