//! A test-only peer filter, for fault tests that split the network without network
//! namespaces: when the environment variable [`PARTITION_ENV`] names a file, the node
//! ignores every message from, and sends no request to, the node keys (hex, one per line)
//! listed in it. The file is re-read every driver tick, so a test can split and heal a
//! running network by rewriting it. Unset (the normal case), nothing is filtered.

use safeledger_core::PublicKey;
use std::collections::BTreeSet;

/// The environment variable naming the partition file.
pub const PARTITION_ENV: &str = "SAFELEDGER_TEST_PARTITION_FILE";

/// The current filter.
#[derive(Default)]
pub struct PeerFilter {
    file: Option<std::path::PathBuf>,
    blocked: BTreeSet<PublicKey>,
}

impl PeerFilter {
    /// The filter configured by the environment.
    pub fn from_env() -> PeerFilter {
        PeerFilter {
            file: std::env::var_os(PARTITION_ENV).map(Into::into),
            blocked: BTreeSet::new(),
        }
    }

    /// Re-reads the file (a missing or unreadable file blocks nobody).
    pub fn refresh(&mut self) {
        let Some(f) = &self.file else { return };
        self.blocked = std::fs::read_to_string(f)
            .map(|t| {
                t.lines()
                    .filter_map(|l| PublicKey::from_hex(l.trim()).ok())
                    .collect()
            })
            .unwrap_or_default();
    }

    /// The keys cut off now.
    pub fn blocked(&self) -> &BTreeSet<PublicKey> {
        &self.blocked
    }

    /// True when messages from / requests to `key` are cut.
    pub fn blocks(&self, key: &PublicKey) -> bool {
        self.blocked.contains(key)
    }
}
