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
//!
//! Everything is bounded: command, reply and event channels have fixed capacities (the
//! constants below); when the node does not drain events fast enough, gossip and inbound
//! requests are dropped and counted in [`NetStats`] rather than stalling the swarm.
//!
//! Invariant: nothing read from the network can panic this crate.

mod codec;
mod driver;
mod handle;
mod swarm;

use std::time::Duration;

pub use handle::{NetworkHandle, ReplyHandle};
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
/// Inbound requests handed to the node and not yet answered, over all peers. Also the
/// capacity of the internal reply channel, so [`ReplyHandle::send`] never finds it full.
pub const MAX_PENDING_INBOUND_REQUESTS: usize = 256;
/// Inbound requests from one peer handed to the node and not yet answered or failed.
pub const MAX_PENDING_INBOUND_REQUESTS_PER_PEER: usize = 32;
/// Outbound requests awaiting a response, over all peers; beyond it
/// [`NetworkHandle::request`] fails with [`NetError::Busy`].
pub const MAX_PENDING_OUTBOUND_REQUESTS: usize = 1024;
/// Concurrent request-response streams per connection (inbound plus outbound).
pub const MAX_CONCURRENT_STREAMS_PER_CONNECTION: usize = 64;
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
