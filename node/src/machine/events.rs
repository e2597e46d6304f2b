//! The machine's inputs ([`Event`]) and outputs ([`Action`]), and the status it
//! publishes.

use crate::consensus::{PrivState, Timeout};
use crate::wire::{Gossip, SyncRequest, SyncResponse};
use safeledger_core::{Hash, PublicKey, Timestamp};
use safeledger_network::{PeerInfo, Topic};
use std::collections::BTreeSet;

/// A snapshot of the node's progress, for the API.
#[derive(Clone, Debug, Default)]
pub struct NodeStatus {
    /// Last committed height.
    pub height: u64,
    /// Its block hash.
    pub block_hash: Hash,
    /// State root after it.
    pub state_root: Hash,
    /// Its time.
    pub block_time: Timestamp,
    /// Transactions committed since genesis.
    pub committed_txs: u64,
}

/// Why a request was made: its answer comes back as [`Event::Response`] with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A status poll (block sync, key settling).
    Status,
    /// A batch of committed blocks (block sync).
    Blocks,
    /// The block of a proposal of (height, round); `rest`: the peers to ask next.
    Proposal {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// Whom to ask when this peer fails.
        rest: Vec<PublicKey>,
    },
    /// Granted private values of `record`, held by `owner`'s node.
    Private {
        /// The recording agency.
        owner: String,
        /// The record.
        record: Hash,
    },
    /// A re-send of this height's messages (the answer is ignored).
    Push,
}

/// What the machine reacts to. Each comes with the time it is handled.
#[derive(Debug)]
pub enum Event {
    /// The node starts: `logged` are the consensus log's messages of the height it
    /// resumes ([`NodeMachine::height`]), replayed in order.
    Start {
        /// The write-ahead log of the current height.
        logged: Vec<Gossip>,
    },
    /// Gossip from a peer (`source`: who relayed it), undecoded.
    Gossip {
        /// The relaying peer.
        source: PublicKey,
        /// The message's bytes.
        data: Vec<u8>,
    },
    /// A request from a peer, undecoded: the actions hold exactly one [`Action::Reply`].
    Request {
        /// The asking peer.
        peer: PublicKey,
        /// The request's bytes.
        data: Vec<u8>,
    },
    /// The answer to an [`Action::Request`]; `None` when it failed or timed out.
    Response {
        /// The peer asked.
        peer: PublicKey,
        /// Why it was asked.
        purpose: Purpose,
        /// Its answer.
        response: Option<SyncResponse>,
    },
    /// A timeout the core scheduled expired.
    Timeout(Timeout),
    /// The periodic tick (status polls, sync, re-sends, private fetches). `cut`: peers
    /// the test-only partition filter cuts off (empty normally).
    Tick {
        /// Peers not to ask.
        cut: BTreeSet<PublicKey>,
    },
    /// The scheduled start of the next height ([`Action::NextHeightIn`]) is due.
    HeightDue,
    /// Transactions were admitted while the node waits to propose.
    TxsArrived,
}

/// What the shell must do, in order.
#[derive(Debug)]
pub enum Action {
    /// Make this signing state durable (write, fsync, rename) before performing any later
    /// action; failing, stop the node rather than risk a double-sign.
    Persist(Box<PrivState>),
    /// Start the consensus log of this height (dropping lower heights' logs).
    LogHeight(u64),
    /// Append a message to the consensus log.
    Log(Gossip),
    /// Gossip these bytes on `topic`.
    Publish(Topic, Vec<u8>),
    /// Ask `peer`; the answer comes back as [`Event::Response`] with `purpose`.
    Request {
        /// Whom to ask.
        peer: PublicKey,
        /// What.
        request: SyncRequest,
        /// Why.
        purpose: Purpose,
    },
    /// Answer the [`Event::Request`] being handled.
    Reply(SyncResponse),
    /// Feed back [`Event::Timeout`] after this many ms.
    ScheduleTimeout(Timeout, u64),
    /// Feed [`Event::HeightDue`] after this many ms (replacing an earlier schedule);
    /// `None`: nothing is scheduled.
    NextHeightIn(Option<u64>),
    /// Let this validator connect (a node added by governance).
    AddPeer(PeerInfo),
    /// The committed progress changed.
    Status(NodeStatus),
}
