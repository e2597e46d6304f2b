//! The write-ahead log of consensus messages of the current height (TENDERMINT.md
//! "Persist before send": "after a restart the core is rebuilt from the stored state and
//! the write-ahead log of received messages of the current height").
//!
//! One file per height, `wal/<height>.log`: records of `u32 LE length ‖ canonical
//! Gossip`. Appends go to the OS without fsync: the log speeds recovery (a restarted node
//! regains the quorums it had seen), it is not what keeps it safe — the fsync'd signing
//! state is. A torn last record is ignored on read. At most [`MAX_WAL_BYTES`] per height.

use crate::wire::Gossip;
use safeledger_core::encoding::{from_canonical, to_canonical};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Most bytes logged for one height; later messages are not logged.
pub const MAX_WAL_BYTES: u64 = 64 * 1024 * 1024;

/// The log.
pub struct Wal {
    dir: PathBuf,
    height: u64,
    file: Option<std::io::BufWriter<std::fs::File>>,
    bytes: u64,
}

fn path(dir: &Path, height: u64) -> PathBuf {
    dir.join(format!("{height:020}.log"))
}

impl Wal {
    /// A log in `dir` (created if missing).
    pub fn open(dir: &Path) -> std::io::Result<Wal> {
        std::fs::create_dir_all(dir)?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            height: 0,
            file: None,
            bytes: 0,
        })
    }

    /// Starts logging `height`: removes the logs of lower heights.
    pub fn start_height(&mut self, height: u64) -> std::io::Result<()> {
        if self.height == height && self.file.is_some() {
            return Ok(());
        }
        self.file = None;
        for e in std::fs::read_dir(&self.dir)?.flatten() {
            let name = e.file_name();
            let h = name
                .to_str()
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<u64>().ok());
            if h.is_some_and(|h| h < height) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let p = path(&self.dir, height);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)?;
        self.bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(std::io::BufWriter::new(f));
        self.height = height;
        Ok(())
    }

    /// Appends a message of the current height.
    pub fn append(&mut self, msg: &Gossip) -> std::io::Result<()> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let bytes = to_canonical(msg);
        if self.bytes + bytes.len() as u64 + 4 > MAX_WAL_BYTES {
            return Ok(());
        }
        f.write_all(&(bytes.len() as u32).to_le_bytes())?;
        f.write_all(&bytes)?;
        f.flush()?;
        self.bytes += bytes.len() as u64 + 4;
        Ok(())
    }

    /// The messages logged for `height`, in order (a torn or undecodable tail is dropped).
    pub fn read(dir: &Path, height: u64) -> Vec<Gossip> {
        let Ok(data) = std::fs::read(path(dir, height)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut rest = &data[..];
        while rest.len() >= 4 {
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() < 4 + len {
                break;
            }
            match from_canonical::<Gossip>(&rest[4..4 + len]) {
                Ok(m) => out.push(m),
                Err(_) => break,
            }
            rest = &rest[4 + len..];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeledger_core::{SecretKey, Vote, VoteType};

    #[test]
    fn logged_messages_read_back_and_a_torn_tail_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path()).unwrap();
        w.start_height(5).unwrap();
        let k = SecretKey::from_bytes(&[1; 32]);
        let v = Vote::new("c", &k, 5, 0, VoteType::Prevote, None);
        w.append(&Gossip::Vote(v.clone())).unwrap();
        w.append(&Gossip::Vote(v.clone())).unwrap();
        let p = path(d.path(), 5);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(&[9, 0, 0, 0, 1]);
        std::fs::write(&p, bytes).unwrap();
        let back = Wal::read(d.path(), 5);
        assert_eq!(back.len(), 2);
        w.start_height(6).unwrap();
        assert!(!p.exists(), "old height's log removed");
    }
}
