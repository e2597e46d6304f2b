//! Building the swarm: keys, behaviours (allow-list, limits, gossipsub, request-response),
//! transport and listener; then [`start`] hands it to the [`Driver`] task.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    allow_block_list, connection_limits, identity, noise, tcp, yamux, Multiaddr, StreamProtocol,
    Swarm,
};
use safeledger_core::PublicKey;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::codec::SyncCodec;
use crate::driver::Driver;
use crate::handle::{Counters, NetworkHandle};
use crate::ratelimit::PeerGuard;
use crate::{
    peer_id_of, NetError, NetEvent, NetworkConfig, Topic, COMMAND_CHANNEL_CAPACITY,
    EVENT_CHANNEL_CAPACITY, GOSSIP_ENVELOPE_OVERHEAD, GOSSIP_HEARTBEAT, IDLE_CONNECTION_TIMEOUT,
    LISTEN_TIMEOUT, MAX_CONNECTIONS_PER_PEER, MAX_PENDING_INCOMING_CONNECTIONS, SYNC_PROTOCOL,
};

/// The composed behaviour. Order matters: the allow-list and limits judge a connection
/// before gossipsub or request-response see it.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) gossip: gossipsub::Behaviour,
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
}

/// A configured validator other than ourselves.
pub(crate) struct Member {
    pub(crate) key: PublicKey,
    pub(crate) addr: Multiaddr,
}

/// Starts the network: binds `listen_addr`, dials every validator in `peers`, and spawns
/// the swarm task on the current tokio runtime (so it must be called inside one).
///
/// Returns the handle and the receiver of [`NetEvent`]s (capacity
/// [`EVENT_CHANNEL_CAPACITY`]) once the listen address is bound, so
/// [`NetworkHandle::listen_addrs`] already reports it.
///
/// Errors: [`NetError::InvalidKey`] (node key or a peer key), [`NetError::InvalidAddress`],
/// [`NetError::Config`] (`max_message_bytes` 0 or over `u32::MAX`, zero
/// `request_timeout`, a [`crate::NetLimits`] value out of range, naming it), [`NetError::Transport`] (binding failed, e.g. port in use, or no
/// address within [`LISTEN_TIMEOUT`]).
pub async fn start(
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetEvent>), NetError> {
    validate(&config)?;
    let keypair = identity::Keypair::ed25519_from_bytes(config.node_key.to_bytes())
        .map_err(|_| NetError::InvalidKey)?;
    let local_key = config.node_key.public();
    let local_peer = keypair.public().to_peer_id();
    let listen: Multiaddr = parse_addr(&config.listen_addr)?;

    let mut members = HashMap::new();
    for info in &config.peers {
        let peer = peer_id_of(&info.key)?;
        if peer == local_peer {
            continue;
        }
        let addr = parse_addr(&info.addr)?;
        members.insert(
            peer,
            Member {
                key: info.key,
                addr,
            },
        );
    }

    let topics = [
        gossipsub::IdentTopic::new(Topic::Transactions.name(&config.chain_id)),
        gossipsub::IdentTopic::new(Topic::Consensus.name(&config.chain_id)),
    ];
    let behaviour = build_behaviour(&keypair, &config)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Transport(format!("noise setup: {e}")))?
        .with_behaviour(|_| behaviour)
        .unwrap_or_else(|never| match never {})
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    // Membership and topics are in place before the listener accepts anyone.
    let behaviour = swarm.behaviour_mut();
    for topic in &topics {
        behaviour
            .gossip
            .subscribe(topic)
            .map_err(|e| NetError::Transport(format!("subscribe {topic}: {e}")))?;
    }
    for peer in members.keys() {
        behaviour.allow.allow_peer(*peer);
        behaviour.gossip.add_explicit_peer(peer);
    }
    swarm
        .listen_on(listen.clone())
        .map_err(|e| NetError::Transport(format!("listen on {listen}: {e}")))?;
    let bound = wait_for_listener(&mut swarm).await?;
    tracing::info!(peer_id = %local_peer, address = %bound, validators = members.len(), "network listening");

    let (command_tx, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let (reply_tx, reply_rx) = mpsc::channel(config.limits.max_pending_inbound_requests);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (stopped_tx, stopped_rx) = watch::channel(false);
    let counters = Arc::new(Counters::default());

    let now = std::time::Instant::now();
    let guards = members
        .keys()
        .map(|peer| (*peer, PeerGuard::new(&config.limits, now)))
        .collect();
    let mut driver = Driver {
        published: Default::default(),
        swarm,
        members,
        guards,
        limits: config.limits,
        topics: [topics[0].hash(), topics[1].hash()],
        max_message_bytes: config.max_message_bytes,
        max_gossip_bytes: config.max_gossip_bytes,
        events: event_tx,
        pending_peer_events: VecDeque::new(),
        outbound: HashMap::new(),
        inbound: HashMap::new(),
        inbound_permits: Arc::new(Semaphore::new(config.limits.max_pending_inbound_requests)),
        reply_tx,
        counters: counters.clone(),
    };
    driver.redial();
    tokio::spawn(driver.run(command_rx, reply_rx, shutdown_rx, stopped_tx));

    let handle = NetworkHandle {
        commands: command_tx,
        local_key,
        max_message_bytes: config.max_message_bytes,
        max_gossip_bytes: config.max_gossip_bytes,
        request_timeout: config.request_timeout,
        shutdown: shutdown_tx,
        stopped: stopped_rx,
        counters,
    };
    Ok((handle, event_rx))
}

fn validate(config: &NetworkConfig) -> Result<(), NetError> {
    if config.max_message_bytes == 0 || u32::try_from(config.max_message_bytes).is_err() {
        return Err(NetError::Config(format!(
            "max_message_bytes must be in 1..={}, got {}",
            u32::MAX,
            config.max_message_bytes
        )));
    }
    if config.max_gossip_bytes == 0 || config.max_gossip_bytes > config.max_message_bytes {
        return Err(NetError::Config(format!(
            "max_gossip_bytes must be in 1..={}, got {}",
            config.max_message_bytes, config.max_gossip_bytes
        )));
    }
    if config.request_timeout.is_zero() {
        return Err(NetError::Config("request_timeout must be non-zero".into()));
    }
    let l = &config.limits;
    let positive = [
        ("peer_gossip_msgs_per_sec", l.peer_gossip_msgs_per_sec),
        ("peer_gossip_msgs_burst", l.peer_gossip_msgs_burst),
        ("peer_gossip_bytes_per_sec", l.peer_gossip_bytes_per_sec),
        ("peer_requests_per_sec", l.peer_requests_per_sec),
        ("peer_requests_burst", l.peer_requests_burst),
        (
            "peer_violations_before_ban",
            u64::from(l.peer_violations_before_ban),
        ),
        ("max_concurrent_streams", l.max_concurrent_streams as u64),
        (
            "max_pending_inbound_requests",
            l.max_pending_inbound_requests as u64,
        ),
        (
            "max_pending_inbound_requests_per_peer",
            l.max_pending_inbound_requests_per_peer as u64,
        ),
    ];
    if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(NetError::Config(format!("{name} must be > 0")));
    }
    if l.peer_gossip_bytes_burst < config.max_gossip_bytes as u64 {
        return Err(NetError::Config(format!(
            "peer_gossip_bytes_burst must be at least max_gossip_bytes ({}), got {}",
            config.max_gossip_bytes, l.peer_gossip_bytes_burst
        )));
    }
    if l.peer_violation_window.is_zero() || l.peer_ban.is_zero() {
        return Err(NetError::Config(
            "peer_violation_window and peer_ban must be non-zero".into(),
        ));
    }
    Ok(())
}

fn parse_addr(s: &str) -> Result<Multiaddr, NetError> {
    s.parse()
        .map_err(|_| NetError::InvalidAddress(s.to_string()))
}

fn build_behaviour(
    keypair: &identity::Keypair,
    config: &NetworkConfig,
) -> Result<Behaviour, NetError> {
    // No gossipsub signature (issue 7): every payload is already signed by its author
    // (transactions by officers, proposals and votes by validators) and verified by the
    // node, and only members connect (noise-authenticated, allow-listed), so signing and
    // verifying each message again only cost CPU. `Author` keeps the publisher's peer id
    // in the message (an unproven claim, used as a hint: see the crate documentation);
    // `Permissive` accepts messages without signatures and still checks any present.
    let gossip_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(GOSSIP_HEARTBEAT)
        .validation_mode(ValidationMode::Permissive)
        .validate_messages()
        .flood_publish(true)
        .max_transmit_size(
            config
                .max_gossip_bytes
                .saturating_add(GOSSIP_ENVELOPE_OVERHEAD),
        )
        .message_id_fn(message_id)
        .duplicate_cache_time(crate::published::DUPLICATE_WINDOW)
        .build()
        .map_err(|e| NetError::Config(format!("gossipsub: {e}")))?;
    let author = keypair.public().to_peer_id();
    let gossip = gossipsub::Behaviour::new(MessageAuthenticity::Author(author), gossip_config)
        .map_err(|e| NetError::Config(format!("gossipsub: {e}")))?;

    let sync = request_response::Behaviour::with_codec(
        SyncCodec::new(config.max_message_bytes),
        [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout)
            .with_max_concurrent_streams(config.limits.max_concurrent_streams),
    );

    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_pending_incoming(Some(MAX_PENDING_INCOMING_CONNECTIONS))
            .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER)),
    );

    Ok(Behaviour {
        allow: allow_block_list::Behaviour::default(),
        limits,
        gossip,
        sync,
    })
}

/// Gossip message id: BLAKE3 over the length-prefixed topic and the data, so identical
/// bytes are one message per topic whoever publishes them.
fn message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    id_of(&message.topic, &message.data)
}

/// The gossipsub message id of `data` on `topic`: BLAKE3 of the topic (length-prefixed)
/// and the data, so a repeat of the same bytes has the same id.
pub(crate) fn id_of(topic: &gossipsub::TopicHash, data: &[u8]) -> gossipsub::MessageId {
    let topic = topic.as_str().as_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(topic.len() as u64).to_be_bytes());
    hasher.update(topic);
    hasher.update(data);
    gossipsub::MessageId::from(hasher.finalize().as_bytes().to_vec())
}

async fn wait_for_listener(swarm: &mut Swarm<Behaviour>) -> Result<Multiaddr, NetError> {
    let wait = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                SwarmEvent::ListenerClosed { reason, .. } => {
                    return Err(NetError::Transport(format!("listener closed: {reason:?}")))
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NetError::Transport(format!("listener failed: {error}")))
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(LISTEN_TIMEOUT, wait)
        .await
        .map_err(|_| NetError::Transport("listener reported no address".into()))?
}
