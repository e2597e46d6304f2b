//! Validators on 127.0.0.1 talking over real TCP: connection, gossip, request-response,
//! membership and reconnection after a restart. Every test runs under a deadline.

mod common;

use std::time::Duration;

use common::{key, wait_until, with_deadline};

use safeledger_core::{PublicKey, SecretKey};
use safeledger_network::{
    start, NetError, NetEvent, NetworkConfig, NetworkHandle, PeerInfo, Topic,
};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

const MAX_MESSAGE_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const TEST_DEADLINE: Duration = Duration::from_secs(20);
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const GOSSIP_TIMEOUT: Duration = Duration::from_secs(5);
const SETUP_ATTEMPTS: usize = 5;

struct Node {
    config: NetworkConfig,
    net: NetworkHandle,
    events: mpsc::Receiver<NetEvent>,
}

/// Distinct free ports: all bound at once so they differ, then released.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

fn addr(port: u16) -> String {
    format!("/ip4/127.0.0.1/tcp/{port}")
}

/// Starts one node per key; the first `members` keys form the validator set that every
/// node (members and outsiders alike) is configured with. A port taken between choosing
/// and binding (tests run in parallel) makes the whole set start again on new ports.
async fn start_nodes(keys: &[SecretKey], members: usize, chain_id: &str) -> Vec<Node> {
    for attempt in 1..=SETUP_ATTEMPTS {
        let ports = free_ports(keys.len());
        let peers: Vec<PeerInfo> = keys[..members]
            .iter()
            .zip(&ports)
            .map(|(k, p)| PeerInfo {
                key: k.public(),
                addr: addr(*p),
            })
            .collect();
        let mut nodes = Vec::new();
        for (k, p) in keys.iter().zip(&ports) {
            let config = NetworkConfig {
                node_key: k.clone(),
                listen_addr: addr(*p),
                peers: peers.clone(),
                chain_id: chain_id.to_string(),
                max_message_bytes: MAX_MESSAGE_BYTES,
                max_gossip_bytes: MAX_MESSAGE_BYTES,
                request_timeout: REQUEST_TIMEOUT,
                limits: Default::default(),
            };
            match start(config.clone()).await {
                Ok((net, events)) => nodes.push(Node {
                    config,
                    net,
                    events,
                }),
                Err(e) => {
                    eprintln!("setup attempt {attempt}: {e}; retrying on new ports");
                    break;
                }
            }
        }
        if nodes.len() == keys.len() {
            return nodes;
        }
        for node in &nodes {
            node.net.shutdown();
            node.net.stopped().await;
        }
    }
    panic!("could not start nodes after {SETUP_ATTEMPTS} attempts");
}

/// Until every node sees each of `expected` other nodes subscribed to both topics.
async fn wait_gossip_ready(nets: &[&NetworkHandle], expected: usize) {
    wait_until(READY_TIMEOUT, "gossip mesh", || async {
        for net in nets {
            for topic in [Topic::Transactions, Topic::Consensus] {
                if net.gossip_peers(topic).await.len() != expected {
                    return false;
                }
            }
        }
        true
    })
    .await;
}

/// The next gossip event within `limit`, skipping other events.
async fn next_gossip(
    events: &mut mpsc::Receiver<NetEvent>,
    limit: Duration,
) -> Option<(Topic, PublicKey, Vec<u8>)> {
    let end = Instant::now() + limit;
    loop {
        let left = end.checked_duration_since(Instant::now())?;
        match timeout(left, events.recv()).await {
            Ok(Some(NetEvent::Gossip {
                topic,
                source,
                data,
            })) => return Some((topic, source, data)),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn three_validators_connect_and_gossip_arrives_with_author_and_topic() {
    with_deadline(TEST_DEADLINE, async {
        let keys = [key(11), key(12), key(13)];
        let mut nodes = start_nodes(&keys, 3, "gossip-test").await;
        let nets: Vec<_> = nodes.iter().map(|n| n.net.clone()).collect();
        wait_gossip_ready(&nets.iter().collect::<Vec<_>>(), 2).await;

        let mut connected = nets[0].connected_peers().await;
        connected.sort();
        let mut expected = vec![keys[1].public(), keys[2].public()];
        expected.sort();
        assert_eq!(connected, expected);
        let bound = nets[0].listen_addrs().await;
        assert_eq!(bound, vec![nodes[0].config.listen_addr.clone()]);
        assert_eq!(nets[0].local_key(), keys[0].public());

        nets[0]
            .publish(Topic::Consensus, b"prevote h=1".to_vec())
            .unwrap();
        for node in &mut nodes[1..] {
            let got = next_gossip(&mut node.events, GOSSIP_TIMEOUT).await;
            assert_eq!(
                got,
                Some((Topic::Consensus, keys[0].public(), b"prevote h=1".to_vec()))
            );
        }

        nets[2]
            .publish(Topic::Transactions, b"tx batch 7".to_vec())
            .unwrap();
        for node in &mut nodes[..2] {
            let got = next_gossip(&mut node.events, GOSSIP_TIMEOUT).await;
            assert_eq!(
                got,
                Some((
                    Topic::Transactions,
                    keys[2].public(),
                    b"tx batch 7".to_vec()
                ))
            );
        }

        // A payload of exactly the limit fits in one gossip message with its envelope.
        let largest = vec![0xab; MAX_MESSAGE_BYTES];
        nets[1].publish(Topic::Consensus, largest.clone()).unwrap();
        for i in [0, 2] {
            let got = next_gossip(&mut nodes[i].events, GOSSIP_TIMEOUT).await;
            assert_eq!(
                got,
                Some((Topic::Consensus, keys[1].public(), largest.clone()))
            );
        }

        // The author never gets its own message back, and a duplicate publish is harmless.
        nets[2]
            .publish(Topic::Transactions, b"tx batch 7".to_vec())
            .unwrap();
        assert_eq!(
            next_gossip(&mut nodes[2].events, Duration::from_millis(300)).await,
            None
        );

        let too_big = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            nets[0].publish(Topic::Consensus, too_big),
            Err(NetError::TooLarge {
                len: MAX_MESSAGE_BYTES + 1,
                max: MAX_MESSAGE_BYTES
            })
        );
        for net in &nets {
            net.shutdown();
        }
    })
    .await;
}

#[tokio::test]
async fn request_response_round_trips_and_oversized_messages_are_refused() {
    with_deadline(TEST_DEADLINE, async {
        let keys = [key(21), key(22)];
        let mut nodes = start_nodes(&keys, 2, "sync-test").await;
        let client = nodes[0].net.clone();
        let Node {
            net: server_net,
            events: mut server_events,
            ..
        } = nodes.remove(1);
        let server = keys[1].public();

        // Server: echoes reversed bytes; answers "big" with an over-limit response.
        tokio::spawn(async move {
            while let Some(event) = server_events.recv().await {
                if let NetEvent::Request { data, reply, .. } = event {
                    if data == b"big" {
                        reply.send(vec![7u8; MAX_MESSAGE_BYTES + 1]);
                    } else {
                        reply.send(data.into_iter().rev().collect());
                    }
                }
            }
        });
        wait_until(READY_TIMEOUT, "connection", || async {
            client.connected_peers().await == vec![server]
        })
        .await;

        assert_eq!(
            client.request(server, b"block 5".to_vec()).await,
            Ok(b"5 kcolb".to_vec())
        );

        let too_big = vec![1u8; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            client.request(server, too_big).await,
            Err(NetError::TooLarge {
                len: MAX_MESSAGE_BYTES + 1,
                max: MAX_MESSAGE_BYTES
            })
        );

        let started = Instant::now();
        let refused = client.request(server, b"big".to_vec()).await;
        assert!(refused.is_err(), "oversized response must not arrive");
        assert!(started.elapsed() < REQUEST_TIMEOUT * 2);

        let stranger = key(29).public();
        assert_eq!(
            client.request(stranger, b"x".to_vec()).await,
            Err(NetError::UnknownPeer)
        );
        assert_eq!(
            client.request(client.local_key(), b"x".to_vec()).await,
            Err(NetError::UnknownPeer)
        );

        // Both sides are still healthy.
        assert_eq!(
            client.request(server, vec![1, 2, 3]).await,
            Ok(vec![3, 2, 1])
        );
        client.shutdown();
        server_net.shutdown();
    })
    .await;
}

#[tokio::test]
async fn node_outside_the_validator_set_cannot_connect_or_deliver_gossip() {
    with_deadline(TEST_DEADLINE, async {
        // Two validators; the third node knows them but is not in their genesis.
        let keys = [key(31), key(32), key(33)];
        let mut nodes = start_nodes(&keys, 2, "membership-test").await;
        let nets: Vec<_> = nodes.iter().map(|n| n.net.clone()).collect();
        wait_gossip_ready(&[&nets[0], &nets[1]], 1).await;

        // Give the outsider several redial rounds, publishing all the while.
        for i in 0..15u8 {
            let _ = nets[2].publish(Topic::Consensus, vec![b'o', i]);
            sleep(Duration::from_millis(100)).await;
        }
        assert!(nets[2].gossip_peers(Topic::Consensus).await.is_empty());
        assert!(nets[2].stats().publish_failed > 0);
        assert!(nets[2]
            .request(keys[0].public(), b"x".to_vec())
            .await
            .is_err());

        // A member's gossip still flows, and it is the only gossip the member sees.
        nets[1]
            .publish(Topic::Consensus, b"member vote".to_vec())
            .unwrap();
        let got = next_gossip(&mut nodes[0].events, GOSSIP_TIMEOUT).await;
        assert_eq!(
            got,
            Some((Topic::Consensus, keys[1].public(), b"member vote".to_vec()))
        );
        assert_eq!(
            next_gossip(&mut nodes[0].events, Duration::from_millis(300)).await,
            None
        );
        let mut seen = nets[0].connected_peers().await;
        seen.sort();
        assert_eq!(seen, vec![keys[1].public()]);
        for net in &nets {
            net.shutdown();
        }
    })
    .await;
}

#[tokio::test]
async fn restarted_validator_reconnects_on_same_port_and_receives_gossip_again() {
    with_deadline(TEST_DEADLINE, async {
        let keys = [key(41), key(42), key(43)];
        let mut nodes = start_nodes(&keys, 3, "restart-test").await;
        let nets: Vec<_> = nodes.iter().map(|n| n.net.clone()).collect();
        wait_gossip_ready(&nets.iter().collect::<Vec<_>>(), 2).await;

        let restarted = nodes.pop().expect("three nodes");
        restarted.net.shutdown();
        restarted.net.stopped().await;
        assert_eq!(restarted.net.connected_peers().await, vec![]);
        assert_eq!(
            restarted.net.publish(Topic::Consensus, vec![1]),
            Err(NetError::Closed)
        );
        let gone = keys[2].public();
        wait_until(READY_TIMEOUT, "disconnect", || async {
            !nets[0].connected_peers().await.contains(&gone)
        })
        .await;

        // Same key, same port. Binding is retried briefly in case the old socket lingers.
        let end = Instant::now() + Duration::from_secs(3);
        let (net, mut events) = loop {
            match start(restarted.config.clone()).await {
                Ok(started) => break started,
                Err(e) if Instant::now() < end => {
                    eprintln!("restart bind: {e}");
                    sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("restart failed: {e}"),
            }
        };
        wait_gossip_ready(&[&nets[0], &nets[1], &net], 2).await;

        nets[0]
            .publish(Topic::Consensus, b"precommit h=2".to_vec())
            .unwrap();
        assert_eq!(
            next_gossip(&mut events, GOSSIP_TIMEOUT).await,
            Some((
                Topic::Consensus,
                keys[0].public(),
                b"precommit h=2".to_vec()
            ))
        );
        net.publish(Topic::Transactions, b"after restart".to_vec())
            .unwrap();
        assert_eq!(
            next_gossip(&mut nodes[0].events, GOSSIP_TIMEOUT).await,
            Some((Topic::Transactions, gone, b"after restart".to_vec()))
        );
        net.shutdown();
        for net in &nets[..2] {
            net.shutdown();
        }
    })
    .await;
}
