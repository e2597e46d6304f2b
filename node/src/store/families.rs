//! Where a store's bytes go (issue 22 item 6): every key of every sled tree grouped by its
//! family — the key's prefix up to and including its first `/` (`b/` blocks, `r/` results,
//! `s/…` state, …), or its first byte where no `/` comes within 16 bytes — with the count
//! and the key and value bytes. `safeledger node disk` prints it for a stopped node.

use super::{Store, StoreError};
use std::collections::BTreeMap;

/// One family of keys in one tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Family {
    /// The sled tree (`default` for the ledger's own).
    pub tree: String,
    /// The key prefix, printable (non-ASCII bytes as `\xNN`).
    pub prefix: String,
    /// Keys.
    pub keys: u64,
    /// Bytes of the keys.
    pub key_bytes: u64,
    /// Bytes of the values.
    pub value_bytes: u64,
}

/// The family a key belongs to: up to and including its first `/` within 16 bytes, else
/// its first byte.
fn family_of(key: &[u8]) -> &[u8] {
    match key.iter().take(16).position(|b| *b == b'/') {
        Some(i) => &key[..=i],
        None => &key[..key.len().min(1)],
    }
}

fn printable(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_graphic() {
                (c as char).to_string()
            } else {
                format!("\\x{c:02x}")
            }
        })
        .collect()
}

impl Store {
    /// Every tree's keys grouped by family, largest first. Reads the whole store once.
    ///
    /// # Errors
    /// sled failed reading.
    pub fn families(&self) -> Result<Vec<Family>, StoreError> {
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let tree_name = if &*name == b"__sled__default" {
                "default".to_string()
            } else {
                printable(&name)
            };
            let mut by: BTreeMap<Vec<u8>, Family> = BTreeMap::new();
            for kv in tree.iter() {
                let (k, v) = kv?;
                let f = by.entry(family_of(&k).to_vec()).or_default();
                f.keys += 1;
                f.key_bytes += k.len() as u64;
                f.value_bytes += v.len() as u64;
            }
            for (prefix, mut f) in by {
                f.tree.clone_from(&tree_name);
                f.prefix = printable(&prefix);
                out.push(f);
            }
        }
        out.sort_by_key(|f| std::cmp::Reverse(f.key_bytes + f.value_bytes));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fall_into_their_prefix_families() {
        assert_eq!(family_of(b"b/\x00\x01"), b"b/");
        assert_eq!(family_of(b"s/ent/x"), b"s/");
        assert_eq!(family_of(b"\x07abc"), b"\x07");
        assert_eq!(family_of(b""), b"");
        assert_eq!(printable(b"b/\x00"), "b/\\x00");
    }

    #[test]
    fn a_store_is_counted_by_family() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.db.insert(b"b/1", vec![0u8; 100]).unwrap();
        s.db.insert(b"b/2", vec![0u8; 50]).unwrap();
        s.db.insert(b"r/1", vec![0u8; 10]).unwrap();
        let f = s.families().unwrap();
        let b = f
            .iter()
            .find(|f| f.prefix == "b/" && f.tree == "default")
            .unwrap();
        assert_eq!((b.keys, b.key_bytes, b.value_bytes), (2, 6, 150));
        assert_eq!(f[0].prefix, "b/", "largest first");
    }
}
