//! Messages between nodes, in canonical encoding (core::encoding), bounded by
//! [`safeledger_core::limits::MAX_MESSAGE_BYTES`].
//!
//! Gossip carries proposals with their blocks, votes, and transaction batches; the
//! request-response protocol carries status, block sync (blocks with their commit
//! certificates, in batches), the periodic re-send of consensus messages that gossipsub
//! would suppress as repeats (TENDERMINT.md "Message ids and re-sends"), and the blocks of
//! proposals a peer cannot rebuild.
//!
//! A proposal with transactions travels as [`Gossip::ProposalTxIds`]: the header and the
//! transaction ids, not the bodies (DESIGN.md §3, issue 7). Every validator already holds
//! the bodies, since each transaction was gossiped to all of them when admitted, so the
//! block's bytes cross the network once, not twice. A peer rebuilds the block from its
//! mempool and checks it against the header's `tx_count` and `tx_root` (which bind each
//! id and its exact signatures); when a body is missing or differs, it fetches the whole
//! block with [`SyncRequest::Proposal`] from the peer that sent it, then from the proposer,
//! then from the other validators. A proposal whose ids alone exceed the gossip limit is
//! gossiped as [`Gossip::ProposalRef`] and fetched the same way.

use safeledger_core::block::CommitCertificate;
use safeledger_core::{Block, Hash, Header, Proposal, Transaction, TxId, Vote};
use serde::{Deserialize, Serialize};

/// Most blocks in one sync response: the ceiling (and default) of
/// `NodeLimits::sync_batch_blocks`.
pub const MAX_SYNC_BLOCKS: u32 = 32;
/// Most bytes of blocks in one sync response (at least one block is always sent): the
/// ceiling (and default) of `NodeLimits::sync_batch_bytes`.
pub const MAX_SYNC_BYTES: usize = 3 * 1024 * 1024;
/// Most votes in one re-send.
pub const MAX_PUSH_VOTES: usize = 1_024;

/// A gossip message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Gossip {
    /// A proposal and its block.
    Proposal(Proposal, Box<Block>),
    /// A vote.
    Vote(Vote),
    /// A batch of transactions admitted by the sender.
    Txs(Vec<Transaction>),
    /// A proposal whose block exceeds the gossip limit: fetch the block with
    /// [`SyncRequest::Proposal`].
    ProposalRef(Proposal),
    /// A proposal with its block's header and transaction ids, in block order: rebuild
    /// the block from the mempool, or fetch it with [`SyncRequest::Proposal`].
    ProposalTxIds(Proposal, Box<Header>, Vec<TxId>),
}

/// A request to a peer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncRequest {
    /// The peer's committed height and hash.
    Status,
    /// Committed blocks from `from`, at most `max`.
    Blocks {
        /// First height wanted.
        from: u64,
        /// Most blocks wanted.
        max: u32,
    },
    /// Consensus messages the sender holds for its current height (vote sync).
    Push {
        /// Proposals with their blocks.
        proposals: Vec<(Proposal, Block)>,
        /// Votes.
        votes: Vec<Vote>,
    },
    /// The proposal the peer holds for (height, round), with its block.
    Proposal {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
    },
    /// The private values of `record` that the requesting node's agency was granted on
    /// chain (answered only by the recording agency's node).
    Private {
        /// The record (transaction id).
        record: Hash,
    },
    /// The state snapshots the peer offers, newest first (state sync, [`crate::snapshot`]).
    Snapshots,
    /// The offer of the peer's snapshot after `height`: its chunk summaries with the
    /// certified headers that prove them.
    SnapshotOffer {
        /// The snapshot's height.
        height: u64,
    },
    /// Chunk `index` of the peer's snapshot after `height`.
    SnapshotChunk {
        /// The snapshot's height.
        height: u64,
        /// The chunk.
        index: u32,
    },
}

/// A reply.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncResponse {
    /// Committed height and its block hash.
    Status {
        /// Height.
        height: u64,
        /// Block hash.
        block_hash: Hash,
    },
    /// Blocks with their certificates, in height order.
    Blocks(Vec<(Block, CommitCertificate)>),
    /// Request taken.
    Ack,
    /// Request refused.
    Error(String),
    /// A proposal with its block.
    Proposal(Proposal, Box<Block>),
    /// Private values of a record, each to be checked against its withheld leaf.
    Private(Vec<safeledger_core::private::PrivateValue>),
    /// The granted private fields of a record (named) were erased by the recording
    /// agency's node: they will never be served, and are not to be asked for again.
    PrivateErased(Vec<String>),
    /// The snapshots offered (at most [`crate::snapshot::MAX_OFFERS_PER_PEER`]).
    Snapshots(Vec<crate::snapshot::SnapshotInfo>),
    /// A snapshot's offer.
    SnapshotOffer(Box<crate::snapshot::SnapshotOffer>),
    /// A snapshot chunk's (key, value) pairs.
    SnapshotChunk(Vec<(Vec<u8>, Vec<u8>)>),
}
