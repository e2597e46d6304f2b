//! The node's side of the network: a cloneable command sender and the reply handle given
//! with each inbound request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libp2p::request_response::ResponseChannel;
use safeledger_core::PublicKey;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit};

use crate::{NetError, NetStats, PeerInfo, Topic};

/// Slack added to `request_timeout` for the handle's own deadline, so libp2p's timeout
/// (which reports [`NetError::Timeout`] too) normally fires first.
const HANDLE_TIMEOUT_SLACK: Duration = Duration::from_millis(500);

/// What a [`NetworkHandle`] asks of the swarm task.
pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
    },
    Request {
        peer: PublicKey,
        data: Vec<u8>,
        done: oneshot::Sender<Result<Vec<u8>, NetError>>,
    },
    ConnectedPeers(oneshot::Sender<Vec<PublicKey>>),
    GossipPeers(Topic, oneshot::Sender<Vec<PublicKey>>),
    ListenAddrs(oneshot::Sender<Vec<String>>),
    AddPeer(PeerInfo),
}

/// A response travelling from a [`ReplyHandle`] to the swarm task. The permit is the
/// request's slot in [`crate::NetLimits::max_pending_inbound_requests`], released once the swarm has
/// taken the reply.
pub(crate) struct Reply {
    pub(crate) channel: ResponseChannel<Vec<u8>>,
    pub(crate) data: Vec<u8>,
    pub(crate) peer: PublicKey,
    pub(crate) _permit: OwnedSemaphorePermit,
}

/// Counters shared between the swarm task and handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) gossip_dropped: AtomicU64,
    pub(crate) requests_dropped: AtomicU64,
    pub(crate) publish_failed: AtomicU64,
    pub(crate) non_member_messages: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) peer_bans: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn snapshot(&self) -> NetStats {
        NetStats {
            gossip_dropped: self.gossip_dropped.load(Ordering::Relaxed),
            requests_dropped: self.requests_dropped.load(Ordering::Relaxed),
            publish_failed: self.publish_failed.load(Ordering::Relaxed),
            non_member_messages: self.non_member_messages.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            peer_bans: self.peer_bans.load(Ordering::Relaxed),
        }
    }
}

/// The answer slot of one inbound request ([`crate::NetEvent::Request`]).
///
/// Holding it occupies one of [`crate::NetLimits::max_pending_inbound_requests`]; dropping it
/// without [`ReplyHandle::send`] makes the requester's request fail.
pub struct ReplyHandle {
    pub(crate) channel: ResponseChannel<Vec<u8>>,
    pub(crate) peer: PublicKey,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) replies: mpsc::Sender<Reply>,
}

impl std::fmt::Debug for ReplyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyHandle")
            .field("peer", &self.peer)
            .finish()
    }
}

impl ReplyHandle {
    /// The validator that sent the request.
    pub fn peer(&self) -> PublicKey {
        self.peer
    }

    /// Sends `data` (at most `max_message_bytes`) as the response. Best effort and never
    /// blocks or panics: if the request already timed out, the connection closed, the
    /// response is too large or the network stopped, the response is dropped (logged at
    /// debug/warn) and the requester sees an error.
    pub fn send(self, data: Vec<u8>) {
        let ReplyHandle {
            channel,
            peer,
            permit,
            replies,
        } = self;
        let reply = Reply {
            channel,
            data,
            peer,
            _permit: permit,
        };
        // The reply channel's capacity equals the number of permits, so it is never full.
        if let Err(e) = replies.try_send(reply) {
            tracing::debug!(%peer, error = %e, "response dropped: network stopped");
        }
    }
}

/// Cloneable handle to a running network; all methods are cheap and never panic.
///
/// The swarm task stops on [`NetworkHandle::shutdown`], or once every `NetworkHandle` has
/// been dropped.
#[derive(Clone)]
pub struct NetworkHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) local_key: PublicKey,
    pub(crate) max_message_bytes: usize,
    pub(crate) max_gossip_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) stopped: watch::Receiver<bool>,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for NetworkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandle")
            .field("local_key", &self.local_key)
            .finish()
    }
}

impl NetworkHandle {
    /// Queues `data` (at most `max_gossip_bytes`) for gossip on `topic` without waiting.
    ///
    /// `Ok` means queued, not delivered: gossip is best effort. If no validator is
    /// connected and subscribed yet, the message reaches nobody (counted in
    /// [`NetStats::publish_failed`], logged at debug); publishing bytes identical to a
    /// message seen in the last minute is silently suppressed.
    ///
    /// Errors: [`NetError::TooLarge`], [`NetError::Busy`] (command queue full),
    /// [`NetError::Closed`].
    pub fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetError> {
        if data.len() > self.max_gossip_bytes {
            return Err(NetError::TooLarge {
                len: data.len(),
                max: self.max_gossip_bytes,
            });
        }
        self.commands
            .try_send(Command::Publish { topic, data })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => NetError::Busy,
                mpsc::error::TrySendError::Closed(_) => NetError::Closed,
            })
    }

    /// Sends `data` (at most `max_message_bytes`) to the connected validator `peer` over
    /// `/safeledger/sync/1` and waits at most about `request_timeout` for its response.
    ///
    /// Fails fast, without dialling, with [`NetError::UnknownPeer`] (not a validator, or
    /// ourselves) or [`NetError::NotConnected`]. Later failures: [`NetError::Timeout`],
    /// [`NetError::NotConnected`] (connection closed first), [`NetError::TooLarge`]
    /// (our request, or the peer's response, exceeds the limit), [`NetError::Busy`] (too
    /// many outstanding requests), [`NetError::Transport`] (peer dropped the request or
    /// the stream failed), [`NetError::Closed`].
    pub async fn request(&self, peer: PublicKey, data: Vec<u8>) -> Result<Vec<u8>, NetError> {
        self.check_size(data.len())?;
        let (done, result) = oneshot::channel();
        let deadline = self.request_timeout + HANDLE_TIMEOUT_SLACK;
        let exchange = async {
            self.commands
                .send(Command::Request { peer, data, done })
                .await
                .map_err(|_| NetError::Closed)?;
            result.await.map_err(|_| NetError::Closed)?
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| NetError::Timeout)?
    }

    /// Validators with at least one established connection now (empty once stopped).
    pub async fn connected_peers(&self) -> Vec<PublicKey> {
        self.query(Command::ConnectedPeers).await
    }

    /// Connected validators that have told us they subscribe to `topic`: those a
    /// [`NetworkHandle::publish`] on it will reach directly (empty once stopped).
    pub async fn gossip_peers(&self, topic: Topic) -> Vec<PublicKey> {
        self.query(|tx| Command::GossipPeers(topic, tx)).await
    }

    /// Our own node public key.
    pub fn local_key(&self) -> PublicKey {
        self.local_key
    }

    /// The multiaddrs we listen on, with port 0 resolved to the bound port (empty once
    /// stopped).
    pub async fn listen_addrs(&self) -> Vec<String> {
        self.query(Command::ListenAddrs).await
    }

    /// Counters of dropped and refused traffic since start.
    pub fn stats(&self) -> NetStats {
        self.counters.snapshot()
    }

    /// Asks the swarm task to stop: connections and the listener close and all pending
    /// requests fail with [`NetError::Closed`]. Returns at once; see
    /// [`NetworkHandle::stopped`]. Idempotent.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once the swarm task has stopped and released its sockets (so the listen
    /// port can be bound again).
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        // An error means the task is gone, which is what we wait for.
        let _ = stopped.wait_for(|s| *s).await;
    }

    /// Admits one more validator at run time — a validator-set change passed by
    /// governance (a new agency's node, or a rotated node key): it joins the allow-list and
    /// the explicit gossip peers and is dialled like the genesis ones. Adding a known key
    /// changes nothing.
    ///
    /// Errors: [`NetError::InvalidAddress`] or [`NetError::InvalidKey`] for `peer`;
    /// [`NetError::Busy`], [`NetError::Closed`].
    pub fn add_peer(&self, peer: PeerInfo) -> Result<(), NetError> {
        crate::peer_id_of(&peer.key)?;
        peer.addr
            .parse::<libp2p::Multiaddr>()
            .map_err(|_| NetError::InvalidAddress(peer.addr.clone()))?;
        self.commands
            .try_send(Command::AddPeer(peer))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => NetError::Busy,
                mpsc::error::TrySendError::Closed(_) => NetError::Closed,
            })
    }

    /// Largest payload [`NetworkHandle::publish`] takes, in bytes.
    pub fn max_gossip_bytes(&self) -> usize {
        self.max_gossip_bytes
    }

    fn check_size(&self, len: usize) -> Result<(), NetError> {
        if len > self.max_message_bytes {
            return Err(NetError::TooLarge {
                len,
                max: self.max_message_bytes,
            });
        }
        Ok(())
    }

    async fn query<T: Default>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> T {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(make(tx)).await.is_err() {
            return T::default();
        }
        rx.await.unwrap_or_default()
    }
}
