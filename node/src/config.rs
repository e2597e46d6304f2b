//! Node-local limits, loaded from `node.toml` (issue 8 item 3, "limits everywhere, as
//! named constants in config").
//!
//! Two kinds of bound exist, and only one of them is here:
//!
//! - **Protocol-wide** bounds every validator must agree on — `MAX_MESSAGE_BYTES`,
//!   `MAX_TX_BYTES`, `MAX_BLOCK_TXS`, `MAX_BLOCK_BYTES`, `MAX_BATCH_TXS` and the other
//!   constants of [`safeledger_core::limits`] — decide whether a block is valid or a
//!   message decodes. A node configured differently from its peers would refuse their
//!   blocks or send what they refuse, so they stay constants in `core` and are not
//!   configurable per node (the consensus timeouts and `max_block_bytes` live in the
//!   genesis for the same reason).
//! - **Node-local** bounds protect one node's resources — its mempool, its gRPC clients,
//!   what each peer may send it, how much it serves per sync request. Nodes may differ
//!   without disagreeing about the ledger. They are [`NodeLimits`], defaulting to the
//!   named constants where they are used, and an operator may change them in
//!   `<home>/<agency>/node.toml` (`safeledger node start --config FILE` names another file).
//!
//! A loaded file is validated before the node starts ([`NodeLimits::validate`]); errors
//! name the field. Unknown keys are refused (a misspelt limit must not silently keep its
//! default).

use std::path::Path;
use std::time::Duration;

use safeledger_core::limits::{MAX_GOSSIP_BYTES, MAX_MESSAGE_BYTES};
use safeledger_network::NetLimits;
use serde::{Deserialize, Serialize};

use crate::mempool::{MempoolLimits, MAX_MEMPOOL_BYTES, MAX_MEMPOOL_TXS};
use crate::ratelimit::{GRPC_BURST_PER_CLIENT, GRPC_RATE_PER_CLIENT, MAX_RATE_CLIENTS};
use crate::wire::{MAX_SYNC_BLOCKS, MAX_SYNC_BYTES};

/// Most requests served at once on one client connection (further ones wait).
/// (Default of `NodeLimits::grpc_max_concurrent_requests_per_connection`.)
pub const MAX_CONCURRENT_REQUESTS_PER_CONNECTION: usize = 64;
/// Most concurrent HTTP/2 streams a client may open on one connection.
/// (Default of `NodeLimits::grpc_max_streams_per_connection`.)
pub const MAX_GRPC_STREAMS_PER_CONNECTION: u32 = 128;

/// Name of the limits file in an agency's directory.
pub const NODE_CONFIG_FILE: &str = "node.toml";

/// Every node-local limit, with units; over a limit the node refuses with a typed error
/// (gRPC `RESOURCE_EXHAUSTED`, an admission error, a dropped peer message and a strike) —
/// it never queues without bound. Defaults are the named constants (see the module doc for
/// what is deliberately *not* here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeLimits {
    /// Largest gossip payload, in bytes (1..=`MAX_MESSAGE_BYTES`); larger proposals are
    /// gossiped without their block, which peers fetch. Default
    /// [`safeledger_core::limits::MAX_GOSSIP_BYTES`].
    pub max_gossip_bytes: usize,
    /// Most transactions in the mempool; over it, admission fails with `MempoolFull`.
    pub mempool_max_txs: usize,
    /// Most canonical bytes in the mempool; over it, admission fails with `MempoolFull`.
    pub mempool_max_bytes: usize,
    /// gRPC requests per second one client IP may sustain; over it, `RESOURCE_EXHAUSTED`.
    pub grpc_rate_per_client: u32,
    /// gRPC requests one client IP may send at once (token bucket size).
    pub grpc_burst_per_client: u32,
    /// Most client IPs with their own gRPC bucket; beyond it new clients share one.
    pub grpc_max_clients: usize,
    /// HTTP/2 streams per gRPC connection; the client is told to wait beyond it.
    pub grpc_max_streams_per_connection: u32,
    /// gRPC requests served concurrently per connection; further ones wait in HTTP/2 flow
    /// control (bounded by the stream limit).
    pub grpc_max_concurrent_requests_per_connection: usize,
    /// Gossip messages per second one validator may relay to this node; over it the
    /// message is dropped and the peer gets a strike.
    pub peer_gossip_msgs_per_sec: u64,
    /// Gossip messages one validator may relay at once (bucket size).
    pub peer_gossip_msgs_burst: u64,
    /// Gossip bytes per second one validator may relay to this node.
    pub peer_gossip_bytes_per_sec: u64,
    /// Gossip bytes one validator may relay at once (bucket size, ≥ `max_gossip_bytes`).
    pub peer_gossip_bytes_burst: u64,
    /// p2p requests (sync, re-sends, fetches) per second from one validator; over it the
    /// request is refused and the peer gets a strike.
    pub peer_requests_per_sec: u64,
    /// p2p requests one validator may send at once (bucket size).
    pub peer_requests_burst: u64,
    /// Strikes within `peer_violation_window_ms` that get a validator disconnected and
    /// refused for `peer_ban_ms`.
    pub peer_violations_before_ban: u32,
    /// The window strikes are counted in, in milliseconds.
    pub peer_violation_window_ms: u64,
    /// How long a banned validator is refused, in milliseconds; then it is re-dialled.
    pub peer_ban_ms: u64,
    /// Request-response streams per p2p connection (inbound plus outbound).
    pub p2p_max_concurrent_streams: usize,
    /// Inbound p2p requests waiting for this node's answer, over all peers; over it the
    /// request is refused.
    pub p2p_max_pending_inbound_requests: usize,
    /// Inbound p2p requests waiting for this node's answer, per peer.
    pub p2p_max_pending_inbound_requests_per_peer: usize,
    /// Most blocks this node asks for, and serves, in one block-sync request
    /// (1..=[`MAX_SYNC_BLOCKS`]).
    pub sync_batch_blocks: u32,
    /// Most block bytes this node serves in one sync response, at least one block always
    /// (1..=[`MAX_SYNC_BYTES`], so a response with its certificates fits
    /// `MAX_MESSAGE_BYTES`).
    pub sync_batch_bytes: usize,
    /// `/healthz` answers 503 when this node has committed no block for this long, in
    /// milliseconds (an idle network still commits an empty block about every second).
    pub health_stale_after_ms: u64,
    /// Largest evidence file this node keeps, in bytes (1..=256 MiB,
    /// `safeledger_core::records::attachment::MAX_FILE_BYTES`). Default
    /// [`MAX_EVIDENCE_BYTES`].
    pub max_evidence_bytes: u64,
    /// Public tip-offs taken in per source address per hour (in bursts of as many).
    /// Default [`TIPS_PER_HOUR_PER_SOURCE`].
    pub tips_per_hour_per_source: u32,
    /// Heights between the state snapshots this node takes for peers that state-sync
    /// (0: none). Default [`crate::snapshot::DEFAULT_SNAPSHOT_INTERVAL`].
    pub snapshot_interval: u64,
}

/// Default of [`NodeLimits::max_evidence_bytes`]: 64 MiB.
pub const MAX_EVIDENCE_BYTES: u64 = 64 << 20;
/// Default of [`NodeLimits::tips_per_hour_per_source`].
pub const TIPS_PER_HOUR_PER_SOURCE: u32 = 5;

/// Default of [`NodeLimits::health_stale_after_ms`]: 30 s.
pub const HEALTH_STALE_AFTER_MS: u64 = 30_000;

impl Default for NodeLimits {
    fn default() -> Self {
        let net = NetLimits::default();
        NodeLimits {
            max_gossip_bytes: MAX_GOSSIP_BYTES,
            mempool_max_txs: MAX_MEMPOOL_TXS,
            mempool_max_bytes: MAX_MEMPOOL_BYTES,
            grpc_rate_per_client: GRPC_RATE_PER_CLIENT,
            grpc_burst_per_client: GRPC_BURST_PER_CLIENT,
            grpc_max_clients: MAX_RATE_CLIENTS,
            grpc_max_streams_per_connection: MAX_GRPC_STREAMS_PER_CONNECTION,
            grpc_max_concurrent_requests_per_connection: MAX_CONCURRENT_REQUESTS_PER_CONNECTION,
            peer_gossip_msgs_per_sec: net.peer_gossip_msgs_per_sec,
            peer_gossip_msgs_burst: net.peer_gossip_msgs_burst,
            peer_gossip_bytes_per_sec: net.peer_gossip_bytes_per_sec,
            peer_gossip_bytes_burst: net.peer_gossip_bytes_burst,
            peer_requests_per_sec: net.peer_requests_per_sec,
            peer_requests_burst: net.peer_requests_burst,
            peer_violations_before_ban: net.peer_violations_before_ban,
            peer_violation_window_ms: net.peer_violation_window.as_millis() as u64,
            peer_ban_ms: net.peer_ban.as_millis() as u64,
            p2p_max_concurrent_streams: net.max_concurrent_streams,
            p2p_max_pending_inbound_requests: net.max_pending_inbound_requests,
            p2p_max_pending_inbound_requests_per_peer: net.max_pending_inbound_requests_per_peer,
            sync_batch_blocks: MAX_SYNC_BLOCKS,
            sync_batch_bytes: MAX_SYNC_BYTES,
            health_stale_after_ms: HEALTH_STALE_AFTER_MS,
            max_evidence_bytes: MAX_EVIDENCE_BYTES,
            tips_per_hour_per_source: TIPS_PER_HOUR_PER_SOURCE,
            snapshot_interval: crate::snapshot::DEFAULT_SNAPSHOT_INTERVAL,
        }
    }
}

/// A limit out of range; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A count, rate or duration that must be positive is 0.
    #[error("{field} must be greater than 0")]
    Zero {
        /// The field.
        field: &'static str,
    },
    /// A value above its ceiling.
    #[error("{field} = {value} exceeds its maximum {max} ({why})")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The largest allowed.
        max: u64,
        /// Why the ceiling exists.
        why: &'static str,
    },
    /// A value below its floor.
    #[error("{field} = {value} is below its minimum {min} ({why})")]
    TooSmall {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The smallest allowed.
        min: u64,
        /// Why the floor exists.
        why: &'static str,
    },
}

/// Why a limits file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error (in the message, so not also a `source`).
        error: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type (the message names the key
    /// and line).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A value out of range.
    #[error("{path}: {error}")]
    Invalid {
        /// The file.
        path: String,
        /// Which field and why (in the message, so not also a `source`).
        error: LimitError,
    },
}

impl NodeLimits {
    /// Checks every field's range; the first failure names its field.
    pub fn validate(&self) -> Result<(), LimitError> {
        if self.max_evidence_bytes > safeledger_core::records::attachment::MAX_FILE_BYTES {
            return Err(LimitError::TooLarge {
                field: "max_evidence_bytes",
                value: self.max_evidence_bytes,
                max: safeledger_core::records::attachment::MAX_FILE_BYTES,
                why: "the largest evidence file a record may list",
            });
        }
        let positive: [(&'static str, u64); 24] = [
            ("health_stale_after_ms", self.health_stale_after_ms),
            ("max_evidence_bytes", self.max_evidence_bytes),
            (
                "tips_per_hour_per_source",
                u64::from(self.tips_per_hour_per_source),
            ),
            ("max_gossip_bytes", self.max_gossip_bytes as u64),
            ("mempool_max_txs", self.mempool_max_txs as u64),
            ("mempool_max_bytes", self.mempool_max_bytes as u64),
            ("grpc_rate_per_client", u64::from(self.grpc_rate_per_client)),
            (
                "grpc_burst_per_client",
                u64::from(self.grpc_burst_per_client),
            ),
            ("grpc_max_clients", self.grpc_max_clients as u64),
            (
                "grpc_max_streams_per_connection",
                u64::from(self.grpc_max_streams_per_connection),
            ),
            (
                "grpc_max_concurrent_requests_per_connection",
                self.grpc_max_concurrent_requests_per_connection as u64,
            ),
            ("peer_gossip_msgs_per_sec", self.peer_gossip_msgs_per_sec),
            ("peer_gossip_msgs_burst", self.peer_gossip_msgs_burst),
            ("peer_gossip_bytes_per_sec", self.peer_gossip_bytes_per_sec),
            ("peer_gossip_bytes_burst", self.peer_gossip_bytes_burst),
            ("peer_requests_per_sec", self.peer_requests_per_sec),
            ("peer_requests_burst", self.peer_requests_burst),
            (
                "peer_violations_before_ban",
                u64::from(self.peer_violations_before_ban),
            ),
            ("peer_violation_window_ms", self.peer_violation_window_ms),
            ("peer_ban_ms", self.peer_ban_ms),
            (
                "p2p_max_concurrent_streams",
                self.p2p_max_concurrent_streams as u64,
            ),
            (
                "p2p_max_pending_inbound_requests",
                self.p2p_max_pending_inbound_requests as u64,
            ),
            (
                "p2p_max_pending_inbound_requests_per_peer",
                self.p2p_max_pending_inbound_requests_per_peer as u64,
            ),
            ("sync_batch_blocks", u64::from(self.sync_batch_blocks)),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(LimitError::Zero { field });
        }
        if self.sync_batch_bytes == 0 {
            return Err(LimitError::Zero {
                field: "sync_batch_bytes",
            });
        }
        let ceilings: [(&'static str, u64, u64, &'static str); 4] = [
            (
                "max_gossip_bytes",
                self.max_gossip_bytes as u64,
                MAX_MESSAGE_BYTES as u64,
                "MAX_MESSAGE_BYTES, the protocol's message bound",
            ),
            (
                "sync_batch_blocks",
                u64::from(self.sync_batch_blocks),
                u64::from(MAX_SYNC_BLOCKS),
                "a response with its certificates must fit MAX_MESSAGE_BYTES",
            ),
            (
                "sync_batch_bytes",
                self.sync_batch_bytes as u64,
                MAX_SYNC_BYTES as u64,
                "a response with its certificates must fit MAX_MESSAGE_BYTES",
            ),
            (
                "p2p_max_pending_inbound_requests_per_peer",
                self.p2p_max_pending_inbound_requests_per_peer as u64,
                self.p2p_max_pending_inbound_requests as u64,
                "p2p_max_pending_inbound_requests, the bound over all peers",
            ),
        ];
        if let Some((field, value, max, why)) = ceilings.into_iter().find(|(_, v, m, _)| v > m) {
            return Err(LimitError::TooLarge {
                field,
                value,
                max,
                why,
            });
        }
        if self.peer_gossip_bytes_burst < self.max_gossip_bytes as u64 {
            return Err(LimitError::TooSmall {
                field: "peer_gossip_bytes_burst",
                value: self.peer_gossip_bytes_burst,
                min: self.max_gossip_bytes as u64,
                why: "max_gossip_bytes: the largest gossip message must fit the bucket",
            });
        }
        Ok(())
    }

    /// Reads and validates a limits file. Keys not in the file keep their defaults.
    pub fn load(path: &Path) -> Result<NodeLimits, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: shown.clone(),
            error,
        })?;
        NodeLimits::parse(&text).map_err(|e| match e {
            ParseError::Toml(message) => ConfigError::Parse {
                path: shown,
                message,
            },
            ParseError::Invalid(error) => ConfigError::Invalid { path: shown, error },
        })
    }

    /// Parses and validates limits from TOML text.
    fn parse(text: &str) -> Result<NodeLimits, ParseError> {
        let limits: NodeLimits =
            toml::from_str(text).map_err(|e| ParseError::Toml(e.to_string()))?;
        limits.validate().map_err(ParseError::Invalid)?;
        Ok(limits)
    }

    /// The limits file `safeledger init` writes: every limit at its default, each with a
    /// comment saying its unit and what happens over it.
    pub fn default_file() -> String {
        let d = NodeLimits::default();
        let mut out = String::from(
            "# Node-local limits of this agency's node (safeledger node start reads this file).\n\
             # Every key is optional: a missing one keeps the default written here; an unknown\n\
             # key or an out-of-range value stops the node with an error naming it.\n\
             # Protocol-wide bounds (MAX_MESSAGE_BYTES, MAX_TX_BYTES, MAX_BLOCK_TXS,\n\
             # MAX_BLOCK_BYTES, MAX_BATCH_TXS) are the same on every validator and are not set\n\
             # here. See node/src/config.rs.\n",
        );
        // (key, comment, value); an empty comment marks a section heading.
        let entries: Vec<(&str, &str, u64)> = vec![
            ("\n# Gossip", "", 0),
            (
                "max_gossip_bytes",
                "largest gossip payload, bytes (at most MAX_MESSAGE_BYTES = 4 MiB); larger proposals travel without their block",
                d.max_gossip_bytes as u64,
            ),
            ("\n# Mempool: over either bound, admission fails (MempoolFull)", "", 0),
            ("mempool_max_txs", "transactions held", d.mempool_max_txs as u64),
            ("mempool_max_bytes", "canonical bytes held", d.mempool_max_bytes as u64),
            ("\n# gRPC API: over the rate, RESOURCE_EXHAUSTED", "", 0),
            ("grpc_rate_per_client", "requests per second per client IP", u64::from(d.grpc_rate_per_client)),
            ("grpc_burst_per_client", "requests at once per client IP (bucket size)", u64::from(d.grpc_burst_per_client)),
            ("grpc_max_clients", "client IPs with their own bucket (then one shared bucket)", d.grpc_max_clients as u64),
            ("grpc_max_streams_per_connection", "HTTP/2 streams per connection", u64::from(d.grpc_max_streams_per_connection)),
            ("grpc_max_concurrent_requests_per_connection", "requests served at once per connection", d.grpc_max_concurrent_requests_per_connection as u64),
            ("\n# Per validator peer: over a rate the message or request is dropped and the peer\n# gets a strike; peer_violations_before_ban strikes within the window ban it for\n# peer_ban_ms (disconnected and refused, then re-dialled)", "", 0),
            ("peer_gossip_msgs_per_sec", "gossip messages per second", d.peer_gossip_msgs_per_sec),
            ("peer_gossip_msgs_burst", "gossip messages at once (bucket size)", d.peer_gossip_msgs_burst),
            ("peer_gossip_bytes_per_sec", "gossip bytes per second", d.peer_gossip_bytes_per_sec),
            ("peer_gossip_bytes_burst", "gossip bytes at once (at least max_gossip_bytes)", d.peer_gossip_bytes_burst),
            ("peer_requests_per_sec", "requests per second", d.peer_requests_per_sec),
            ("peer_requests_burst", "requests at once (bucket size)", d.peer_requests_burst),
            ("peer_violations_before_ban", "strikes within the window that ban the peer", u64::from(d.peer_violations_before_ban)),
            ("peer_violation_window_ms", "the strike window, milliseconds", d.peer_violation_window_ms),
            ("peer_ban_ms", "ban duration, milliseconds", d.peer_ban_ms),
            ("\n# p2p requests and block sync", "", 0),
            ("p2p_max_concurrent_streams", "request streams per connection", d.p2p_max_concurrent_streams as u64),
            ("p2p_max_pending_inbound_requests", "requests awaiting this node's answer, all peers (over it: refused)", d.p2p_max_pending_inbound_requests as u64),
            ("p2p_max_pending_inbound_requests_per_peer", "the same, per peer", d.p2p_max_pending_inbound_requests_per_peer as u64),
            ("sync_batch_blocks", "blocks asked for and served per sync request (at most 32)", u64::from(d.sync_batch_blocks)),
            ("sync_batch_bytes", "block bytes served per sync response (at most 3 MiB; one block always)", d.sync_batch_bytes as u64),
            ("\n# Health", "", 0),
            ("health_stale_after_ms", "/healthz answers 503 after this long without a commit, milliseconds", d.health_stale_after_ms),
            ("\n# Evidence files and public tip-offs", "", 0),
            ("max_evidence_bytes", "largest evidence file kept, bytes (at most 256 MiB)", d.max_evidence_bytes),
            ("tips_per_hour_per_source", "public tip-offs per source address per hour", u64::from(d.tips_per_hour_per_source)),
            ("\n# State snapshots, for peers that join by state sync", "", 0),
            ("snapshot_interval", "heights between snapshots (0: none)", d.snapshot_interval),
        ];
        for (key, doc, value) in entries {
            if doc.is_empty() {
                out.push_str(key);
                out.push('\n');
            } else {
                out.push_str(&format!("# {doc}\n{key} = {value}\n"));
            }
        }
        out
    }

    /// The mempool's bounds.
    pub fn mempool(&self) -> MempoolLimits {
        MempoolLimits {
            max_txs: self.mempool_max_txs,
            max_bytes: self.mempool_max_bytes,
        }
    }

    /// The network's bounds.
    pub fn network(&self) -> NetLimits {
        NetLimits {
            peer_gossip_msgs_per_sec: self.peer_gossip_msgs_per_sec,
            peer_gossip_msgs_burst: self.peer_gossip_msgs_burst,
            peer_gossip_bytes_per_sec: self.peer_gossip_bytes_per_sec,
            peer_gossip_bytes_burst: self.peer_gossip_bytes_burst,
            peer_requests_per_sec: self.peer_requests_per_sec,
            peer_requests_burst: self.peer_requests_burst,
            peer_violations_before_ban: self.peer_violations_before_ban,
            peer_violation_window: Duration::from_millis(self.peer_violation_window_ms),
            peer_ban: Duration::from_millis(self.peer_ban_ms),
            max_concurrent_streams: self.p2p_max_concurrent_streams,
            max_pending_inbound_requests: self.p2p_max_pending_inbound_requests,
            max_pending_inbound_requests_per_peer: self.p2p_max_pending_inbound_requests_per_peer,
        }
    }
}

enum ParseError {
    Toml(String),
    Invalid(LimitError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeLimits, String> {
        NodeLimits::parse(text).map_err(|e| match e {
            ParseError::Toml(m) => m,
            ParseError::Invalid(e) => e.to_string(),
        })
    }

    #[test]
    fn defaults_are_the_named_constants_and_valid() {
        let d = NodeLimits::default();
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(d.max_gossip_bytes, MAX_GOSSIP_BYTES);
        assert_eq!(d.mempool(), MempoolLimits::default());
        assert_eq!(d.network(), NetLimits::default());
        assert_eq!(d.sync_batch_blocks, MAX_SYNC_BLOCKS);
        assert_eq!(d.grpc_rate_per_client, GRPC_RATE_PER_CLIENT);
    }

    #[test]
    fn the_default_file_round_trips_and_names_every_limit() {
        let text = NodeLimits::default_file();
        assert_eq!(parse(&text), Ok(NodeLimits::default()));
        // Every field of the struct is written (and, by deny_unknown_fields, no other).
        let table: toml::Table = toml::from_str(&text).expect("toml");
        let fields: toml::Table =
            toml::from_str(&toml::to_string(&NodeLimits::default()).expect("serialize"))
                .expect("toml");
        let mut written: Vec<_> = table.keys().collect();
        let mut all: Vec<_> = fields.keys().collect();
        written.sort();
        all.sort();
        assert_eq!(written, all);
        // Serialize and deserialize agree too.
        let custom = NodeLimits {
            peer_ban_ms: 1_234,
            mempool_max_txs: 7,
            ..NodeLimits::default()
        };
        let back = toml::to_string(&custom).expect("serialize");
        assert_eq!(parse(&back), Ok(custom));
    }

    #[test]
    fn missing_keys_keep_their_defaults() {
        assert_eq!(parse(""), Ok(NodeLimits::default()));
        let l = parse("mempool_max_txs = 10\n").expect("valid");
        assert_eq!(l.mempool_max_txs, 10);
        assert_eq!(l.mempool_max_bytes, MAX_MEMPOOL_BYTES);
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let e = parse("mempool_max_tx = 10\n").expect_err("misspelt key");
        assert!(e.contains("mempool_max_tx"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_field() {
        let e = parse("peer_requests_per_sec = 0\n").expect_err("zero rate");
        assert_eq!(e, "peer_requests_per_sec must be greater than 0");
        let e = parse(&format!("max_gossip_bytes = {}\n", MAX_MESSAGE_BYTES + 1))
            .expect_err("over the message bound");
        assert!(
            e.starts_with("max_gossip_bytes = 4194305 exceeds its maximum 4194304"),
            "{e}"
        );
        let e = parse("sync_batch_blocks = 33\n").expect_err("over the sync ceiling");
        assert!(e.starts_with("sync_batch_blocks = 33 exceeds"), "{e}");
        let e = parse("peer_gossip_bytes_burst = 1000\n").expect_err("smaller than a message");
        assert!(
            e.starts_with("peer_gossip_bytes_burst = 1000 is below its minimum"),
            "{e}"
        );
        let e = parse("grpc_rate_per_client = -1\n").expect_err("negative");
        assert!(e.contains("grpc_rate_per_client"), "{e}");
        let e = parse("peer_ban_ms = \"30s\"\n").expect_err("wrong type");
        assert!(e.contains("peer_ban_ms"), "{e}");
    }

    #[test]
    fn init_writes_a_default_limits_file_per_agency() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = crate::cli::home::init(&dir.path().join("net"), "limits-test").expect("init");
        for a in &h.genesis.agencies {
            let path = h.agency_dir(&a.id).join(NODE_CONFIG_FILE);
            assert_eq!(
                NodeLimits::load(&path).expect("loads"),
                NodeLimits::default()
            );
        }
    }

    #[test]
    fn load_names_the_file_and_reads_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(NODE_CONFIG_FILE);
        let e = NodeLimits::load(&path).expect_err("missing file");
        assert!(matches!(e, ConfigError::Read { .. }), "{e}");
        std::fs::write(&path, "peer_violations_before_ban = 0\n").expect("write");
        let e = NodeLimits::load(&path).expect_err("invalid");
        let shown = e.to_string();
        assert!(shown.contains(NODE_CONFIG_FILE), "{shown}");
        assert!(shown.contains("peer_violations_before_ban"), "{shown}");
        std::fs::write(&path, NodeLimits::default_file()).expect("write");
        assert_eq!(
            NodeLimits::load(&path).expect("valid"),
            NodeLimits::default()
        );
    }
}
