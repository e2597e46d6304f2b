//! The swarm task's loop: turns commands into libp2p calls and libp2p events into
//! [`NetEvent`]s, keeping every queue bounded and every member within its rates
//! ([`crate::NetLimits`], see `ratelimit.rs`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, InboundRequestId, OutboundFailure};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, SwarmEvent};
use libp2p::{PeerId, Swarm};
use safeledger_core::PublicKey;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::MissedTickBehavior;

use crate::codec::FrameTooLarge;
use crate::handle::{Command, Counters, Reply, ReplyHandle};
use crate::ratelimit::{remaining, PeerGuard, Traffic, Verdict};
use crate::swarm::{Behaviour, BehaviourEvent, Member};
use crate::{
    peer_id_of, NetError, NetEvent, NetLimits, Topic, MAX_PENDING_OUTBOUND_REQUESTS,
    MAX_PENDING_PEER_EVENTS, REDIAL_INTERVAL, SYNC_PROTOCOL,
};

/// Owns the swarm and all bookkeeping; lives in the spawned task.
pub(crate) struct Driver {
    pub(crate) swarm: Swarm<Behaviour>,
    pub(crate) members: HashMap<PeerId, Member>,
    /// Rate state, one per member (same keys as `members`).
    pub(crate) guards: HashMap<PeerId, PeerGuard>,
    pub(crate) limits: NetLimits,
    /// Topic hashes, indexed as [`Topic::Transactions`], [`Topic::Consensus`].
    pub(crate) topics: [gossipsub::TopicHash; 2],
    pub(crate) max_message_bytes: usize,
    pub(crate) max_gossip_bytes: usize,
    pub(crate) events: mpsc::Sender<NetEvent>,
    /// Peer events that found the event channel full (bounded by
    /// [`MAX_PENDING_PEER_EVENTS`]).
    pub(crate) pending_peer_events: VecDeque<NetEvent>,
    /// Outbound requests awaiting a response (bounded by [`MAX_PENDING_OUTBOUND_REQUESTS`]).
    pub(crate) outbound: HashMap<request_response::OutboundRequestId, RequestDone>,
    /// Inbound requests handed to the node per peer, until libp2p reports them answered or
    /// failed (bounded by [`NetLimits::max_pending_inbound_requests_per_peer`]).
    pub(crate) inbound: HashMap<PeerId, HashSet<InboundRequestId>>,
    /// One permit per live [`ReplyHandle`] (or reply in flight).
    pub(crate) inbound_permits: Arc<Semaphore>,
    pub(crate) reply_tx: mpsc::Sender<Reply>,
    pub(crate) counters: Arc<Counters>,
    /// Messages published within gossipsub's duplicate window (not published again).
    pub(crate) published: crate::published::Published,
}

pub(crate) type RequestDone = oneshot::Sender<Result<Vec<u8>, NetError>>;

impl Driver {
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut replies: mpsc::Receiver<Reply>,
        mut shutdown: watch::Receiver<bool>,
        stopped: watch::Sender<bool>,
    ) {
        let mut redial = tokio::time::interval(REDIAL_INTERVAL);
        redial.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // A second sender, so a reserved permit does not borrow `self`.
        let events = self.events.clone();
        loop {
            // Unbiased: a busy command queue must not starve the swarm, nor the reverse.
            tokio::select! {
                // Err: every handle (and so every shutdown sender) is gone.
                _ = shutdown.wait_for(|stop| *stop) => break,
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                Some(reply) = replies.recv() => self.on_reply(reply),
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                permit = events.reserve(), if !self.pending_peer_events.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.pending_peer_events.pop_front() {
                                permit.send(event);
                            }
                        }
                        Err(_) => self.pending_peer_events.clear(),
                    }
                }
                _ = redial.tick() => self.redial(),
            }
        }
        tracing::info!(peer_id = %self.swarm.local_peer_id(), "network stopping");
        drop(events);
        // Close the listener and connections before reporting that we stopped, so the
        // port can be bound again. Pending requests fail with `Closed`.
        drop(self);
        stopped.send_replace(true);
    }

    fn member_key(&self, peer: &PeerId) -> Option<PublicKey> {
        self.members.get(peer).map(|m| m.key)
    }

    fn topic_hash(&self, topic: Topic) -> &gossipsub::TopicHash {
        match topic {
            Topic::Transactions => &self.topics[0],
            Topic::Consensus => &self.topics[1],
        }
    }

    fn topic_of(&self, hash: &gossipsub::TopicHash) -> Option<Topic> {
        [Topic::Transactions, Topic::Consensus]
            .into_iter()
            .find(|t| self.topic_hash(*t) == hash)
    }

    /// Lifts expired bans (the peer is allowed again), then dials every member that is
    /// neither connected nor banned.
    pub(crate) fn redial(&mut self) {
        let now = Instant::now();
        let lifted: Vec<PeerId> = self
            .guards
            .iter_mut()
            .filter_map(|(peer, guard)| guard.lift_expired_ban(now).then_some(*peer))
            .collect();
        for peer in lifted {
            if let Some(key) = self.member_key(&peer) {
                tracing::info!(peer = %key, "validator ban expired: allowed and re-dialled");
            }
            self.swarm.behaviour_mut().allow.allow_peer(peer);
        }
        let targets: Vec<DialOpts> = self
            .members
            .iter()
            .filter(|(peer, _)| !self.swarm.is_connected(peer))
            .filter(|(peer, _)| !self.guards.get(peer).is_some_and(PeerGuard::is_banned))
            .map(|(peer, member)| {
                // A fresh source port: dialling from the listen port would give both sides
                // of a simultaneous dial the same TCP 4-tuple.
                DialOpts::peer_id(*peer)
                    .addresses(vec![member.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .allocate_new_port()
                    .build()
            })
            .collect();
        for opts in targets {
            let peer = opts.get_peer_id();
            match self.swarm.dial(opts) {
                Ok(()) | Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(e) => tracing::debug!(peer = ?peer, error = %e, "dial failed"),
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data } => self.publish(topic, data),
            Command::Request { peer, data, done } => self.send_request(peer, data, done),
            Command::ConnectedPeers(tx) => {
                let peers = self
                    .members
                    .iter()
                    .filter(|(peer, _)| self.swarm.is_connected(peer))
                    .map(|(_, m)| m.key)
                    .collect();
                let _ = tx.send(peers);
            }
            Command::GossipPeers(topic, tx) => {
                let hash = self.topic_hash(topic);
                let peers = self
                    .swarm
                    .behaviour()
                    .gossip
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&hash))
                    .filter_map(|(peer, _)| self.member_key(peer))
                    .collect();
                let _ = tx.send(peers);
            }
            Command::ListenAddrs(tx) => {
                let addrs = self.swarm.listeners().map(|a| a.to_string()).collect();
                let _ = tx.send(addrs);
            }
            Command::AddPeer(info) => {
                let (Ok(peer), Ok(addr)) = (
                    crate::peer_id_of(&info.key),
                    info.addr.parse::<libp2p::Multiaddr>(),
                ) else {
                    return;
                };
                if peer == *self.swarm.local_peer_id() || self.members.contains_key(&peer) {
                    return;
                }
                tracing::info!(%peer, addr = %info.addr, "validator admitted to the network");
                self.members.insert(
                    peer,
                    Member {
                        key: info.key,
                        addr,
                    },
                );
                self.guards
                    .insert(peer, PeerGuard::new(&self.limits, Instant::now()));
                let b = self.swarm.behaviour_mut();
                b.allow.allow_peer(peer);
                b.gossip.add_explicit_peer(&peer);
                self.redial();
            }
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) {
        let hash = self.topic_hash(topic).clone();
        let len = data.len();
        let id = crate::swarm::id_of(&hash, &data);
        if !self.published.first_time(id, Instant::now()) {
            tracing::trace!(?topic, len, "not published again: gossipsub still holds it");
            return;
        }
        match self.swarm.behaviour_mut().gossip.publish(hash, data) {
            Ok(id) => tracing::trace!(?topic, len, message_id = %id, "published"),
            Err(gossipsub::PublishError::Duplicate) => {
                tracing::debug!(?topic, len, "publish suppressed: duplicate message id");
            }
            Err(e) => {
                let failed = Counters::bump(&self.counters.publish_failed);
                tracing::debug!(?topic, len, error = %e, failed, "publish reached no peer");
            }
        }
    }

    fn send_request(&mut self, peer: PublicKey, data: Vec<u8>, done: RequestDone) {
        let peer_id = match peer_id_of(&peer) {
            Ok(id) if self.members.contains_key(&id) => id,
            Ok(_) => {
                let _ = done.send(Err(NetError::UnknownPeer));
                return;
            }
            Err(e) => {
                let _ = done.send(Err(e));
                return;
            }
        };
        if !self.swarm.is_connected(&peer_id) {
            let _ = done.send(Err(NetError::NotConnected));
            return;
        }
        if self.outbound.len() >= MAX_PENDING_OUTBOUND_REQUESTS {
            let _ = done.send(Err(NetError::Busy));
            return;
        }
        let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, data);
        self.outbound.insert(id, done);
    }

    fn on_reply(&mut self, reply: Reply) {
        let Reply {
            channel,
            data,
            peer,
            _permit,
        } = reply;
        if data.len() > self.max_message_bytes {
            tracing::warn!(%peer, len = data.len(), max = self.max_message_bytes, "response too large: dropped");
            return;
        }
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, data)
            .is_err()
        {
            tracing::debug!(%peer, "response dropped: request timed out or connection closed");
        }
    }

    /// Queues a connect/disconnect event; these wait for room instead of being dropped.
    fn push_peer_event(&mut self, event: NetEvent) {
        if self.pending_peer_events.is_empty() {
            match self.events.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.pending_peer_events.push_back(event)
                }
            }
        } else {
            self.pending_peer_events.push_back(event);
        }
        if self.pending_peer_events.len() > MAX_PENDING_PEER_EVENTS {
            let lost = self.pending_peer_events.pop_front();
            tracing::error!(
                ?lost,
                "peer event queue overflow: oldest peer event dropped"
            );
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Allow(never)) => match never {},
            SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                tracing::debug!(peer = %peer_id, remote = %endpoint.get_remote_address(), connections = num_established.get(), "connection established");
                if let (1, Some(key)) = (num_established.get(), self.member_key(&peer_id)) {
                    tracing::info!(peer = %key, "validator connected");
                    self.push_peer_event(NetEvent::PeerConnected(key));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(peer = %peer_id, connections = num_established, cause = ?cause, "connection closed");
                if let (0, Some(key)) = (num_established, self.member_key(&peer_id)) {
                    tracing::info!(peer = %key, "validator disconnected");
                    self.push_peer_event(NetEvent::PeerDisconnected(key));
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                peer_id,
                error,
                ..
            } => {
                tracing::debug!(remote = %send_back_addr, peer = ?peer_id, error = %error, "incoming connection refused or failed");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, error = %error, "outgoing connection failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                tracing::error!(?addresses, ?reason, "listener closed");
            }
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!(%error, "listener error");
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                // gossipsub now holds this id too: publishing the same bytes would be refused.
                self.published
                    .first_time(message_id.clone(), Instant::now());
                let source = message.source.and_then(|p| self.member_key(&p));
                let relayed_by_member = self.members.contains_key(&propagation_source);
                let topic = self.topic_of(&message.topic);
                let accepted = match (source, topic) {
                    (Some(source), Some(topic))
                        if relayed_by_member && message.data.len() <= self.max_gossip_bytes =>
                    {
                        Some((source, topic))
                    }
                    _ => None,
                };
                // Over the relay's rate: Ignore, not Reject. The message is not invalid (it
                // may be an honest author's, relayed by a flooding peer), and with peer
                // scoring enabled Reject would also penalise (P4) every peer that sent us
                // a copy. Scoring is off here, so both only drop it from the cache
                // unforwarded; the penalty is the strike this counts.
                let within_rate = accepted.is_none()
                    || self.admit(propagation_source, Traffic::Gossip(message.data.len()));
                // Transactions are not relayed (issue 7): their author published them
                // straight to every member (explicit peers, flood publish), so relaying
                // would only send each member two more copies to decrypt, hash and drop.
                // `Ignore` still delivers them here. Consensus messages are relayed, so a
                // proposal or vote crosses one broken link.
                let acceptance = match (accepted, topic) {
                    (Some(_), _) if !within_rate => MessageAcceptance::Ignore,
                    (Some(_), Some(Topic::Transactions)) => MessageAcceptance::Ignore,
                    (Some(_), _) => MessageAcceptance::Accept,
                    (None, None) => MessageAcceptance::Ignore,
                    (None, Some(_)) => MessageAcceptance::Reject,
                };
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
                if !within_rate {
                    return;
                }
                let Some((source, topic)) = accepted else {
                    let dropped = Counters::bump(&self.counters.non_member_messages);
                    tracing::warn!(
                        author = ?message.source,
                        relay = %propagation_source,
                        topic = %message.topic,
                        len = message.data.len(),
                        dropped,
                        "gossip from outside the validator set, on an unknown topic or oversized: dropped"
                    );
                    return;
                };
                let event = NetEvent::Gossip {
                    topic,
                    source,
                    data: message.data,
                };
                if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
                    let dropped = Counters::bump(&self.counters.gossip_dropped);
                    tracing::warn!(?topic, %source, dropped, "event queue full: gossip dropped");
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "peer subscribed");
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "peer unsubscribed");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::warn!(peer = %peer_id, "peer does not speak gossipsub");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                tracing::warn!(peer = %peer_id, ?failed_messages, "slow gossip peer");
            }
        }
    }

    fn on_sync(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request_id,
                    request,
                    channel,
                } => self.on_inbound_request(peer, request_id, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(done) = self.outbound.remove(&request_id) {
                        let _ = done.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %request_id, %error, "outbound request failed");
                if let Some(done) = self.outbound.remove(&request_id) {
                    let _ = done.send(Err(outbound_error(error)));
                }
            }
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %request_id, %error, "inbound request failed");
                self.finish_inbound(&peer, request_id);
            }
            request_response::Event::ResponseSent {
                peer, request_id, ..
            } => self.finish_inbound(&peer, request_id),
        }
    }

    fn on_inbound_request(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        request: Vec<u8>,
        channel: request_response::ResponseChannel<Vec<u8>>,
    ) {
        // Dropping `channel` refuses the request; libp2p then reports an InboundFailure.
        let Some(key) = self.member_key(&peer) else {
            let dropped = Counters::bump(&self.counters.non_member_messages);
            tracing::warn!(%peer, dropped, "request from outside the validator set: dropped");
            return;
        };
        if !self.admit(peer, Traffic::Request) {
            return;
        }
        let in_flight = self.inbound.entry(peer).or_default();
        if in_flight.len() >= self.limits.max_pending_inbound_requests_per_peer {
            let dropped = Counters::bump(&self.counters.requests_dropped);
            tracing::warn!(peer = %key, dropped, "too many pending requests from peer: dropped");
            return;
        }
        let Ok(permit) = self.inbound_permits.clone().try_acquire_owned() else {
            let dropped = Counters::bump(&self.counters.requests_dropped);
            tracing::warn!(peer = %key, dropped, "too many pending requests: dropped");
            return;
        };
        in_flight.insert(request_id);
        let reply = ReplyHandle {
            channel,
            peer: key,
            permit,
            replies: self.reply_tx.clone(),
        };
        let event = NetEvent::Request {
            peer: key,
            data: request,
            reply,
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
            let dropped = Counters::bump(&self.counters.requests_dropped);
            tracing::warn!(peer = %key, dropped, "event queue full: request dropped");
        }
    }

    /// Charges `traffic` to member `peer`'s buckets. False when it is over its rate: the
    /// caller drops the message (counted here), and a peer reaching the violation
    /// threshold is banned. Logs one warning per burst of drops, not one per message.
    fn admit(&mut self, peer: PeerId, traffic: Traffic) -> bool {
        let now = Instant::now();
        let Some(guard) = self.guards.get_mut(&peer) else {
            // Members always have a guard; anything else was refused before.
            return false;
        };
        let (verdict, ended) = guard.check(traffic, &self.limits, now);
        // Formatted only when logged: this runs for every gossip message.
        let key = || match self.members.get(&peer) {
            Some(m) => m.key.to_string(),
            None => peer.to_string(),
        };
        match verdict {
            Verdict::Allow => {
                if let Some(dropped) = ended {
                    tracing::info!(peer = %key(), dropped, "peer back under its rate limits");
                }
                true
            }
            Verdict::Drop { burst_started } => {
                let total = Counters::bump(&self.counters.rate_limited);
                if burst_started {
                    tracing::warn!(peer = %key(), ?traffic, total, "peer over its rate limit: dropping its traffic until it slows down");
                }
                false
            }
            Verdict::Ban { until } => {
                Counters::bump(&self.counters.rate_limited);
                if self.swarm.behaviour_mut().allow.disallow_peer(peer) {
                    let bans = Counters::bump(&self.counters.peer_bans);
                    tracing::warn!(
                        peer = %key(),
                        dropped = guard.burst_drops(),
                        ban_secs = remaining(until, now).as_secs(),
                        bans,
                        "peer kept exceeding its rate limits: disconnected and refused until the ban expires"
                    );
                }
                false
            }
        }
    }

    fn finish_inbound(&mut self, peer: &PeerId, request_id: InboundRequestId) {
        if let Some(in_flight) = self.inbound.get_mut(peer) {
            in_flight.remove(&request_id);
            if in_flight.is_empty() {
                self.inbound.remove(peer);
            }
        }
    }
}

fn outbound_error(error: OutboundFailure) -> NetError {
    match error {
        OutboundFailure::Timeout => NetError::Timeout,
        OutboundFailure::DialFailure | OutboundFailure::ConnectionClosed => NetError::NotConnected,
        OutboundFailure::UnsupportedProtocols => {
            NetError::Transport(format!("peer does not support {SYNC_PROTOCOL}"))
        }
        OutboundFailure::Io(e) => match FrameTooLarge::find(&e) {
            Some(f) => NetError::TooLarge {
                len: f.len,
                max: f.max,
            },
            None => NetError::Transport(e.to_string()),
        },
    }
}
