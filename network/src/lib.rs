//! Bytes-level libp2p transport for safeledger validators (DESIGN.md §2–3).
//!
//! Bird's-eye view: the node hands this crate opaque byte strings and gets byte strings
//! back. It never decodes them; encoding, signatures over contents and validity are the
//! node's business. What this crate guarantees:
//!
//! - **Membership.** Only peers whose libp2p `PeerId` derives from a key in
//!   [`NetworkConfig::peers`] (the genesis validators) may hold a connection
//!   (`allow_block_list::Behaviour<AllowedPeers>`); gossip authored by, or requests
//!   coming from, any other peer are dropped and counted.
//! - **Gossip** (gossipsub, author without a gossipsub signature): two topics,
//!   `safeledger/<chain_id>/txs` and `safeledger/<chain_id>/consensus`. Every validator is
//!   an explicit peer and publishing floods to all of them. The message id is a BLAKE3 hash
//!   of the topic and data, so re-publishing identical bytes within the duplicate-cache
//!   window (1 minute) is suppressed — periodic re-sends must go over request-response.
//!   Consensus messages are relayed (one broken link does not cut a proposal or vote off);
//!   transactions are not, since their author already sent them to every member, and
//!   relaying would only deliver each member duplicates (issue 7).
//!   Messages are not signed again by gossipsub (`MessageAuthenticity::Author`,
//!   `ValidationMode::Permissive`, issue 7): their contents carry their own signatures
//!   (transactions, proposals, votes), and the relaying peer is authenticated by the noise
//!   connection and must be a member. The author field is the publisher's claim, checked
//!   to be a member but not proven: it serves only as a hint (where to fetch a proposal's
//!   block, the test-only partition filter, logs), never for validity.
//! - **Request-response** on `/safeledger/sync/1`: one request, one response, each a
//!   length-prefixed frame of at most [`NetworkConfig::max_message_bytes`].
//! - **Upkeep.** Every validator is dialled at start and re-dialled every
//!   [`REDIAL_INTERVAL`] while disconnected, so a restarted peer is found again on its
//!   configured address.
//! - **Per-peer rates** ([`NetLimits`]). Each member validator has token buckets for the
//!   gossip it relays to us (messages and bytes per second, charged to the gossipsub
//!   `propagation_source`) and for the requests it sends. Over a rate the message is
//!   dropped — gossip validated `Ignore`, a request refused — counted in
//!   [`NetStats::rate_limited`], and the peer gets a strike; a peer with
//!   [`NetLimits::peer_violations_before_ban`] strikes within
//!   [`NetLimits::peer_violation_window`] is disconnected and refused (taken off the
//!   allow-list) for [`NetLimits::peer_ban`], counted in [`NetStats::peer_bans`]. It is a
//!   validator, so the ban expires and the re-dial reconnects it.
//!
//! Everything is bounded: command, reply and event channels have fixed capacities (the
//! constants below); when the node does not drain events fast enough, gossip and inbound
//! requests are dropped and counted in [`NetStats`] rather than stalling the swarm.
//!
//! Invariant: nothing read from the network can panic this crate.

mod codec;
mod driver;
mod handle;
mod published;
mod ratelimit;
mod swarm;

use std::time::Duration;

pub use handle::{NetworkHandle, ReplyHandle};
pub use ratelimit::TokenBucket;
pub use swarm::start;

use safeledger_core::{PublicKey, SecretKey};

/// Protocol name of the request-response (block and vote sync) protocol.
pub const SYNC_PROTOCOL: &str = "/safeledger/sync/1";
/// Capacity of the command channel from [`NetworkHandle`]s to the swarm task.
pub const COMMAND_CHANNEL_CAPACITY: usize = 1024;
/// Capacity of the [`NetEvent`] channel from the swarm task to the node.
pub const EVENT_CHANNEL_CAPACITY: usize = 4096;
/// Peer connect/disconnect events waiting for room in a full event channel; beyond this the
/// oldest is dropped (and logged). These are never dropped while the channel has room.
pub const MAX_PENDING_PEER_EVENTS: usize = 1024;
/// Default of [`NetLimits::max_pending_inbound_requests`]: inbound requests handed to
/// the node and not yet answered, over all peers.
pub const MAX_PENDING_INBOUND_REQUESTS: usize = 256;
/// Default of [`NetLimits::max_pending_inbound_requests_per_peer`].
pub const MAX_PENDING_INBOUND_REQUESTS_PER_PEER: usize = 32;
/// Outbound requests awaiting a response, over all peers; beyond it
/// [`NetworkHandle::request`] fails with [`NetError::Busy`].
pub const MAX_PENDING_OUTBOUND_REQUESTS: usize = 1024;
/// Default of [`NetLimits::max_concurrent_streams`]: request-response streams per
/// connection (inbound plus outbound).
pub const MAX_CONCURRENT_STREAMS_PER_CONNECTION: usize = 64;
/// Default of [`NetLimits::peer_gossip_msgs_per_sec`]: gossip messages per second one
/// validator may relay to us. An honest node publishes one message per admitted client
/// batch (a single `Submit` makes a batch of one) plus a few consensus messages per round
/// (proposal or `ProposalRef`, prevote, precommit); even with every transaction of the
/// benchmark's highest sustained load submitted singly to one node (a few thousand per
/// second on the reference machine) it stays several times below this.
pub const PEER_GOSSIP_MSGS_PER_SEC: u64 = 10_000;
/// Default of [`NetLimits::peer_gossip_msgs_burst`] (two seconds at the rate).
pub const PEER_GOSSIP_MSGS_BURST: u64 = 20_000;
/// Default of [`NetLimits::peer_gossip_bytes_per_sec`] (64 MiB/s): transactions are at
/// most a few KiB each and blocks of at most 1 MiB are gossiped once per height, so honest
/// gossip at the benchmark's rates is a few MB/s per peer.
pub const PEER_GOSSIP_BYTES_PER_SEC: u64 = 64 * 1024 * 1024;
/// Default of [`NetLimits::peer_gossip_bytes_burst`] (128 MiB; at least the largest
/// gossip message).
pub const PEER_GOSSIP_BYTES_BURST: u64 = 128 * 1024 * 1024;
/// Default of [`NetLimits::peer_requests_per_sec`]. An honest node sends a status poll and
/// at most one block-sync request per 500 ms tick, vote re-sends (one request per proposal
/// when large), proposal-block fetches (at most 64 rounds per height) and private-value
/// fetches; the last are the largest honest burst (up to 1,024 per tick while grants are
/// pending), which this rate and the burst below still absorb.
pub const PEER_REQUESTS_PER_SEC: u64 = 2_500;
/// Default of [`NetLimits::peer_requests_burst`] (two seconds at the rate).
pub const PEER_REQUESTS_BURST: u64 = 5_000;
/// Default of [`NetLimits::peer_violations_before_ban`]: messages or requests over the
/// rate, within one [`PEER_VIOLATION_WINDOW`], that get a peer banned. An honest peer
/// briefly over a rate loses a few messages; a flooding one reaches this in well under a
/// second.
pub const PEER_VIOLATIONS_BEFORE_BAN: u32 = 1_000;
/// Default of [`NetLimits::peer_violation_window`].
pub const PEER_VIOLATION_WINDOW: Duration = Duration::from_secs(10);
/// Default of [`NetLimits::peer_ban`]: how long a banned validator is disconnected and
/// refused before the re-dial lets it back.
pub const PEER_BAN: Duration = Duration::from_secs(30);
/// Established connections allowed per peer (simultaneous dials and a restarted peer
/// overlapping with its half-closed predecessor can briefly need more than one).
pub const MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Incoming connections still in the handshake (before the allow-list can judge them).
pub const MAX_PENDING_INCOMING_CONNECTIONS: u32 = 64;
/// Bytes allowed for a gossipsub envelope (signature, public key, sequence number, topic,
/// protobuf framing) on top of [`NetworkConfig::max_message_bytes`] of data.
pub const GOSSIP_ENVELOPE_OVERHEAD: usize = 1024;
/// gossipsub heartbeat interval.
pub const GOSSIP_HEARTBEAT: Duration = Duration::from_millis(500);
/// How often disconnected validators are re-dialled.
pub const REDIAL_INTERVAL: Duration = Duration::from_secs(1);
/// Connections with no active stream are kept this long (validators stay connected).
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long [`start`] waits for the listener to report its bound address.
pub const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything [`start`] needs.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// This node's ed25519 key; its 32-byte seed becomes the libp2p keypair, so the
    /// node's `PeerId` is [`peer_id_of`]`(&node_key.public())`.
    pub node_key: SecretKey,
    /// Multiaddr to listen on, e.g. `/ip4/127.0.0.1/tcp/26656`; TCP port 0 picks a free
    /// port (see [`NetworkHandle::listen_addrs`]).
    pub listen_addr: String,
    /// Every validator from genesis with its dialable multiaddr. An entry with our own key
    /// is skipped. Only these peers may connect.
    pub peers: Vec<PeerInfo>,
    /// Chain id; topic names are `safeledger/<chain_id>/txs` and
    /// `safeledger/<chain_id>/consensus`.
    pub chain_id: String,
    /// Largest request or response, in bytes (1..=u32::MAX).
    pub max_message_bytes: usize,
    /// Largest gossip payload, in bytes (1..=`max_message_bytes`). Larger data (a big
    /// block) travels over request-response instead.
    pub max_gossip_bytes: usize,
    /// How long an outbound request waits for its response (and an inbound one for the
    /// node's reply) before failing with [`NetError::Timeout`]. Must be non-zero.
    pub request_timeout: Duration,
    /// Per-peer rates, the ban of a peer over them, and the request and stream bounds.
    pub limits: NetLimits,
}

/// Node-local bounds of the network: per-peer rates and what happens over them, and the
/// request and stream bounds. Defaults are the named constants of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLimits {
    /// Gossip messages per second one validator may relay to us (as gossipsub
    /// `propagation_source`). Over it (or over the byte rate), the message is validated
    /// `Ignore` — not delivered, not forwarded — and counted in [`NetStats::rate_limited`],
    /// and the peer gets a strike. Must be > 0.
    pub peer_gossip_msgs_per_sec: u64,
    /// Gossip messages one validator may relay at once (bucket size). Must be > 0.
    pub peer_gossip_msgs_burst: u64,
    /// Gossip data bytes per second one validator may relay to us. Must be > 0.
    pub peer_gossip_bytes_per_sec: u64,
    /// Gossip data bytes one validator may relay at once; at least `max_gossip_bytes`, so
    /// the largest message fits.
    pub peer_gossip_bytes_burst: u64,
    /// Inbound requests per second from one validator. Over it the request is refused
    /// (its stream dropped, the requester sees a failure), counted in
    /// [`NetStats::rate_limited`], and the peer gets a strike. Must be > 0.
    pub peer_requests_per_sec: u64,
    /// Inbound requests one validator may send at once (bucket size). Must be > 0.
    pub peer_requests_burst: u64,
    /// Strikes (messages or requests over a rate) within [`NetLimits::peer_violation_window`]
    /// that get a validator disconnected and refused for [`NetLimits::peer_ban`]. Must be > 0.
    pub peer_violations_before_ban: u32,
    /// The window strikes are counted in (restarts at the first strike after it ends).
    /// Must be non-zero.
    pub peer_violation_window: Duration,
    /// How long a banned validator stays disconnected and refused; afterwards it is
    /// allowed again with full buckets and re-dialled. Must be non-zero.
    pub peer_ban: Duration,
    /// Request-response streams per connection (inbound plus outbound); libp2p refuses
    /// streams over it. Must be > 0.
    pub max_concurrent_streams: usize,
    /// Inbound requests handed to the node and not yet answered, over all peers; over it
    /// a request is refused and counted in [`NetStats::requests_dropped`]. Also the
    /// capacity of the internal reply channel, so [`ReplyHandle::send`] never finds it
    /// full. Must be > 0.
    pub max_pending_inbound_requests: usize,
    /// Inbound requests from one peer handed to the node and not yet answered or failed;
    /// over it, refused and counted like the above. Must be > 0.
    pub max_pending_inbound_requests_per_peer: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            peer_gossip_msgs_per_sec: PEER_GOSSIP_MSGS_PER_SEC,
            peer_gossip_msgs_burst: PEER_GOSSIP_MSGS_BURST,
            peer_gossip_bytes_per_sec: PEER_GOSSIP_BYTES_PER_SEC,
            peer_gossip_bytes_burst: PEER_GOSSIP_BYTES_BURST,
            peer_requests_per_sec: PEER_REQUESTS_PER_SEC,
            peer_requests_burst: PEER_REQUESTS_BURST,
            peer_violations_before_ban: PEER_VIOLATIONS_BEFORE_BAN,
            peer_violation_window: PEER_VIOLATION_WINDOW,
            peer_ban: PEER_BAN,
            max_concurrent_streams: MAX_CONCURRENT_STREAMS_PER_CONNECTION,
            max_pending_inbound_requests: MAX_PENDING_INBOUND_REQUESTS,
            max_pending_inbound_requests_per_peer: MAX_PENDING_INBOUND_REQUESTS_PER_PEER,
        }
    }
}

/// A validator the network may talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The validator's 32-byte ed25519 node key; its `PeerId` is [`peer_id_of`] of it.
    pub key: PublicKey,
    /// Multiaddr to dial, e.g. `/ip4/10.0.0.2/tcp/26656` (a trailing `/p2p/<id>` must
    /// match `key`).
    pub addr: String,
}

/// A gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Transactions (in batches): `safeledger/<chain_id>/txs`.
    Transactions,
    /// Proposals and votes: `safeledger/<chain_id>/consensus`.
    Consensus,
}

impl Topic {
    /// The gossipsub topic name for `chain_id`.
    pub fn name(self, chain_id: &str) -> String {
        match self {
            Topic::Transactions => format!("safeledger/{chain_id}/txs"),
            Topic::Consensus => format!("safeledger/{chain_id}/consensus"),
        }
    }
}

/// What the network tells the node, in arrival order (peer events may trail gossip when
/// the channel was full).
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message whose publisher claims to be validator `source` (a member; the
    /// claim is not signed at the gossipsub layer — trust only the payload's own
    /// signatures), possibly relayed by another validator. `data` is at most
    /// `max_message_bytes` long. Never delivered for our own publications.
    Gossip {
        /// Topic it was published on.
        topic: Topic,
        /// The validator the publisher claims to be (a hint, not proven).
        source: PublicKey,
        /// The payload, as published.
        data: Vec<u8>,
    },
    /// A request from validator `peer`; answer with [`ReplyHandle::send`] within
    /// `request_timeout`. Dropping `reply` makes the requester fail.
    Request {
        /// The requesting validator.
        peer: PublicKey,
        /// The request bytes (at most `max_message_bytes`).
        data: Vec<u8>,
        /// Where the response goes.
        reply: ReplyHandle,
    },
    /// The first connection to this validator was established.
    PeerConnected(PublicKey),
    /// The last connection to this validator closed.
    PeerDisconnected(PublicKey),
}

/// Counters of what the network dropped or refused since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Gossip messages accepted but not delivered because the event channel was full.
    pub gossip_dropped: u64,
    /// Inbound requests refused: event channel full or a pending-request bound reached.
    pub requests_dropped: u64,
    /// Publications that reached no peer (no peer subscribed yet, queues full) or failed;
    /// duplicates are not counted.
    pub publish_failed: u64,
    /// Gossip or requests from peers outside the validator set, dropped.
    pub non_member_messages: u64,
    /// Gossip messages and inbound requests of member validators dropped because the
    /// peer was over its rate ([`NetLimits`]).
    pub rate_limited: u64,
    /// Validators disconnected and refused for [`NetLimits::peer_ban`] after too many
    /// messages or requests over their rates.
    pub peer_bans: u64,
}

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The command channel to the swarm is full; retry later or drop the message.
    #[error("network command queue is full")]
    Busy,
    /// The swarm task has stopped (after [`NetworkHandle::shutdown`] or a fatal error).
    #[error("network task has stopped")]
    Closed,
    /// No response arrived within `request_timeout`.
    #[error("request timed out")]
    Timeout,
    /// A message, request or response is larger than `max_message_bytes`.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its size in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The key is not one of the configured validators (or is our own).
    #[error("peer is not a configured validator")]
    UnknownPeer,
    /// The validator is not connected right now (or the connection closed before a
    /// response came); try another peer or later.
    #[error("peer is not connected")]
    NotConnected,
    /// The bytes are not a valid ed25519 public key or secret seed.
    #[error("invalid ed25519 key")]
    InvalidKey,
    /// A multiaddr did not parse; carries the offending string.
    #[error("invalid multiaddr {0:?}")]
    InvalidAddress(String),
    /// A configuration value is out of range; says which.
    #[error("invalid network configuration: {0}")]
    Config(String),
    /// A transport or protocol failure (bind failed, peer sent garbage, stream reset...).
    #[error("transport error: {0}")]
    Transport(String),
}

/// The libp2p `PeerId` of a validator's 32-byte ed25519 public key (identity multihash of
/// the protobuf-encoded key). Fails with [`NetError::InvalidKey`] if the bytes are not a
/// valid ed25519 point.
pub fn peer_id_of(key: &PublicKey) -> Result<libp2p::PeerId, NetError> {
    let ed = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes())
        .map_err(|_| NetError::InvalidKey)?;
    Ok(libp2p::identity::PublicKey::from(ed).to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_matches_libp2p_keypair_from_same_seed() {
        let sk = SecretKey::from_bytes(&[9u8; 32]);
        let kp = libp2p::identity::Keypair::ed25519_from_bytes(sk.to_bytes()).unwrap();
        assert_eq!(peer_id_of(&sk.public()).unwrap(), kp.public().to_peer_id());
    }

    #[test]
    fn topic_names_include_chain_id() {
        assert_eq!(Topic::Transactions.name("c1"), "safeledger/c1/txs");
        assert_eq!(Topic::Consensus.name("c1"), "safeledger/c1/consensus");
    }
}
