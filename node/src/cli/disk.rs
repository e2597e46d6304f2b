//! Bytes on disk per node (issue 22 item 6): what each agency's node directory occupies —
//! the blocks of the filesystem its files hold (`st_blocks × 512`, so sparse and
//! preallocated space count as the disk sees them), the sled store (blocks, results, state,
//! indexes, inbox) apart from the rest (search index, sealed private values, evidence
//! files, WAL) — and that per committed record. Reported by `demo` and `bench`.

use crate::cli::home::Home;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What one node's data directory occupies, in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeDisk {
    /// The agency.
    pub agency: String,
    /// The whole data directory.
    pub total: u64,
    /// Its sled store (`data/store`).
    pub store: u64,
}

/// Bytes the files below `path` occupy on disk (0 for a missing path; symbolic links are
/// not followed; unreadable entries are skipped, so the figure is a floor).
pub fn allocated_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.blocks() * 512;
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| allocated_bytes(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

impl NodeDisk {
    /// `agency`'s node data directory in `home`.
    pub fn of(home: &Home, agency: &str) -> NodeDisk {
        let data = home.agency_dir(agency).join("data");
        NodeDisk {
            agency: agency.to_string(),
            total: allocated_bytes(&data),
            store: allocated_bytes(&data.join("store")),
        }
    }
}

/// Every agency's node data directory in `home`, in genesis order.
pub fn per_node(home: &Home) -> Vec<NodeDisk> {
    home.genesis
        .agencies
        .iter()
        .map(|a| NodeDisk::of(home, &a.id))
        .collect()
}

/// Prints one line per node: MiB in all and in the store, and KiB per committed record
/// (`records`: committed transactions).
pub fn print(nodes: &[NodeDisk], records: u64) {
    let per = |b: u64| b as f64 / 1024.0 / records.max(1) as f64;
    for n in nodes {
        println!(
            "disk {:<19} {:.1} MiB ({:.2} KiB per committed record), of which store {:.1} MiB ({:.2} KiB)",
            n.agency,
            n.total as f64 / 1048576.0,
            per(n.total),
            n.store as f64 / 1048576.0,
            per(n.store)
        );
    }
}

/// `safeledger node disk`: a stopped node's data directory and its store by key family.
///
/// # Errors
/// An unknown agency; the store held by a running node (stop it first: `demo` and `bench`
/// report the totals while nodes run); sled failing to read.
pub fn node_disk(home: &Path, agency: &str) -> anyhow::Result<()> {
    let h = Home::load(home)?;
    h.known_agency(agency)?;
    let NodeDisk {
        total,
        store: on_disk,
        ..
    } = NodeDisk::of(&h, agency);
    let store = crate::store::Store::open(&h.agency_dir(agency).join("data").join("store"))?;
    let families = store.families()?;
    let live: u64 = families.iter().map(|f| f.key_bytes + f.value_bytes).sum();
    println!(
        "{agency}: data directory {:.1} MiB, of which the sled store {:.1} MiB on disk \
         holding {:.1} MiB of keys and values",
        total as f64 / 1048576.0,
        on_disk as f64 / 1048576.0,
        live as f64 / 1048576.0
    );
    println!(
        "{:<28} {:<12} {:>10} {:>12} {:>12} {:>6}",
        "tree", "family", "keys", "key MiB", "value MiB", "share"
    );
    for f in &families {
        let bytes = f.key_bytes + f.value_bytes;
        println!(
            "{:<28} {:<12} {:>10} {:>12.2} {:>12.2} {:>5.1}%",
            f.tree,
            f.prefix,
            f.keys,
            f.key_bytes as f64 / 1048576.0,
            f.value_bytes as f64 / 1048576.0,
            bytes as f64 * 100.0 / live.max(1) as f64
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_files_below_a_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("a/b/f"), vec![1u8; 10_000]).unwrap();
        std::fs::write(d.path().join("g"), b"x").unwrap();
        let n = allocated_bytes(d.path());
        // At least the bytes written, in whole filesystem blocks.
        assert!(n >= 10_001, "{n}");
        assert_eq!(allocated_bytes(&d.path().join("missing")), 0);
    }
}
