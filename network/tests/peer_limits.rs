//! Per-peer rate limits between validators on 127.0.0.1 (every listener binds port 0;
//! peers learn each other's bound address through `add_peer`): traffic under the rates is
//! untouched, traffic over them is dropped and counted, and a peer that keeps exceeding is
//! disconnected, refused, and reconnected once its ban expires.

mod common;

use std::time::Duration;

use common::{key, wait_until, with_deadline};

use futures::future::join_all;
use safeledger_core::{PublicKey, SecretKey};
use safeledger_network::{
    start, NetEvent, NetLimits, NetStats, NetworkConfig, NetworkHandle, PeerInfo, Topic,
};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

const MAX_MESSAGE_BYTES: usize = 64 * 1024;
const TEST_DEADLINE: Duration = Duration::from_secs(30);
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts one network per (key, limits) on port 0, then admits each to the others at
/// their bound addresses.
async fn start_pair(
    nodes: &[(SecretKey, NetLimits)],
    chain_id: &str,
) -> Vec<(NetworkHandle, mpsc::Receiver<NetEvent>)> {
    let mut started = Vec::new();
    for (k, limits) in nodes {
        let config = NetworkConfig {
            node_key: k.clone(),
            listen_addr: "/ip4/127.0.0.1/tcp/0".into(),
            peers: vec![],
            chain_id: chain_id.into(),
            max_message_bytes: MAX_MESSAGE_BYTES,
            max_gossip_bytes: MAX_MESSAGE_BYTES,
            request_timeout: Duration::from_secs(2),
            limits: *limits,
        };
        started.push(start(config).await.expect("network starts on port 0"));
    }
    let mut addrs = Vec::new();
    for (net, _) in &started {
        let bound = net.listen_addrs().await;
        addrs.push(bound.into_iter().next().expect("a bound address"));
    }
    for (i, (net, _)) in started.iter().enumerate() {
        for (j, (k, _)) in nodes.iter().enumerate() {
            if i != j {
                net.add_peer(PeerInfo {
                    key: k.public(),
                    addr: addrs[j].clone(),
                })
                .expect("add peer");
            }
        }
    }
    started
}

async fn wait_gossip_ready(a: &NetworkHandle, b: &NetworkHandle) {
    wait_until(READY_TIMEOUT, "gossip mesh", || async {
        a.gossip_peers(Topic::Consensus).await.len() == 1
            && b.gossip_peers(Topic::Consensus).await.len() == 1
    })
    .await;
}

/// Gossip payloads received within `quiet` of the previous one (or of the call).
async fn drain_gossip(
    events: &mut mpsc::Receiver<NetEvent>,
    quiet: Duration,
) -> Vec<(PublicKey, Vec<u8>)> {
    let mut got = Vec::new();
    while let Ok(Some(event)) = timeout(quiet, events.recv()).await {
        if let NetEvent::Gossip { source, data, .. } = event {
            got.push((source, data));
        }
    }
    got
}

#[tokio::test]
async fn gossip_over_a_peers_rate_is_dropped_and_a_persistent_flooder_is_banned_then_readmitted() {
    with_deadline(TEST_DEADLINE, async {
        let ban = Duration::from_secs(2);
        let strict = NetLimits {
            peer_gossip_msgs_per_sec: 20,
            peer_gossip_msgs_burst: 20,
            peer_violations_before_ban: 40,
            peer_violation_window: Duration::from_secs(10),
            peer_ban: ban,
            ..NetLimits::default()
        };
        let (receiver_key, flooder_key) = (key(51), key(52));
        let mut nets = start_pair(
            &[
                (receiver_key.clone(), strict),
                (flooder_key.clone(), NetLimits::default()),
            ],
            "peer-limits-gossip",
        )
        .await;
        let (flooder, _flooder_events) = nets.pop().expect("two");
        let (receiver, mut events) = nets.pop().expect("two");
        wait_gossip_ready(&receiver, &flooder).await;

        // Honest traffic, 10 messages per second: every one arrives, nothing is counted.
        for i in 0..10u8 {
            flooder
                .publish(Topic::Consensus, vec![b'h', i])
                .expect("publish");
            sleep(Duration::from_millis(100)).await;
        }
        let honest = drain_gossip(&mut events, Duration::from_millis(500)).await;
        assert_eq!(honest.len(), 10, "traffic under the rate is untouched");
        assert!(honest.iter().all(|(s, _)| *s == flooder_key.public()));
        assert_eq!(receiver.stats(), NetStats::default());

        // A burst of 30 (under the ban threshold): about the bucket gets through, the rest
        // is dropped and counted, and the peer stays connected.
        for i in 0..30u8 {
            flooder
                .publish(Topic::Consensus, vec![b'b', i])
                .expect("publish");
        }
        let burst = drain_gossip(&mut events, Duration::from_millis(500)).await;
        let stats = receiver.stats();
        // The bucket, plus what refilled while the burst was published (a starved test
        // thread may take a while over it).
        assert!(burst.len() >= 20, "{} of 30 delivered", burst.len());
        assert_eq!(stats.rate_limited, 30 - burst.len() as u64);
        assert_eq!(stats.peer_bans, 0);
        assert_eq!(receiver.connected_peers().await, vec![flooder_key.public()]);

        // A flood: the strikes reach the threshold, the flooder is disconnected and
        // refused while its ban lasts.
        for i in 0..200u8 {
            let _ = flooder.publish(Topic::Consensus, vec![b'f', i]);
        }
        wait_until(READY_TIMEOUT, "the flooder's ban", || async {
            receiver.stats().peer_bans == 1
        })
        .await;
        let banned_at = Instant::now();
        let flood = drain_gossip(&mut events, Duration::from_millis(300)).await;
        assert!(flood.len() < 60, "{} of the flood delivered", flood.len());
        assert!(receiver.stats().rate_limited >= 40);
        wait_until(READY_TIMEOUT, "disconnect", || async {
            receiver.connected_peers().await.is_empty()
        })
        .await;
        // The flooder re-dials every second; the ban refuses it until it expires.
        sleep(ban.saturating_sub(banned_at.elapsed()) / 2).await;
        if banned_at.elapsed() < ban {
            assert!(receiver.connected_peers().await.is_empty(), "still banned");
        }

        // After the ban: reconnected by the re-dial, and its gossip is delivered again.
        wait_until(READY_TIMEOUT, "reconnection after the ban", || async {
            receiver.connected_peers().await == vec![flooder_key.public()]
        })
        .await;
        assert!(
            banned_at.elapsed() >= ban,
            "reconnected before the ban expired"
        );
        wait_gossip_ready(&receiver, &flooder).await;
        flooder
            .publish(Topic::Consensus, b"after the ban".to_vec())
            .expect("publish");
        let after = drain_gossip(&mut events, Duration::from_millis(500)).await;
        assert!(
            after.iter().any(|(_, d)| d == b"after the ban"),
            "gossip flows again after the ban"
        );
        assert_eq!(receiver.stats().peer_bans, 1);
        receiver.shutdown();
        flooder.shutdown();
    })
    .await;
}

#[tokio::test]
async fn requests_over_a_peers_rate_are_refused_and_counted_and_later_ones_are_served() {
    with_deadline(TEST_DEADLINE, async {
        let strict = NetLimits {
            peer_requests_per_sec: 5,
            peer_requests_burst: 5,
            ..NetLimits::default()
        };
        let (server_key, client_key) = (key(61), key(62));
        let mut nets = start_pair(
            &[
                (server_key.clone(), strict),
                (client_key, NetLimits::default()),
            ],
            "peer-limits-requests",
        )
        .await;
        let (client, _client_events) = nets.pop().expect("two");
        let (server, mut server_events) = nets.pop().expect("two");
        tokio::spawn(async move {
            while let Some(event) = server_events.recv().await {
                if let NetEvent::Request { data, reply, .. } = event {
                    reply.send(data);
                }
            }
        });
        let server_pk = server_key.public();
        wait_until(READY_TIMEOUT, "connection", || async {
            client.connected_peers().await == vec![server_pk]
        })
        .await;

        // Under the rate: served.
        for i in 0..3u8 {
            assert_eq!(client.request(server_pk, vec![i]).await, Ok(vec![i]));
            sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(server.stats(), NetStats::default());

        // 20 at once: the bucket's worth is served, the rest refused and counted.
        let results = join_all((0..20u8).map(|i| client.request(server_pk, vec![i]))).await;
        let served = results.iter().filter(|r| r.is_ok()).count();
        assert!((5..=7).contains(&served), "{served} of 20 served");
        assert_eq!(server.stats().rate_limited, 20 - served as u64);
        assert_eq!(server.stats().peer_bans, 0);

        // Once the bucket refills, requests are served again.
        sleep(Duration::from_millis(500)).await;
        assert_eq!(
            client.request(server_pk, b"again".to_vec()).await,
            Ok(b"again".to_vec())
        );
        client.shutdown();
        server.shutdown();
    })
    .await;
}
