//! Block sync against a lying peer (issue 3, "a sync peer reports a lower height than
//! before, or a far higher one, or serves a block with a forged certificate: the syncing
//! node drops it and completes from another peer").
//!
//! Validator 3's key is taken over by a fake peer built on `safeledger-network` alone. To
//! status requests it answers in turn a height far above the tip, a height below its
//! previous answer, and the real tip; to block requests it serves real blocks with forged
//! certificates, or nothing. Node 2 was down while the others committed; it must reach the
//! tip through nodes 0 and 1, skip the fake, and then decide with them (0, 1 and 2 are the
//! only quorum left).

use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::Block;
use safeledger_core::PublicKey;
use safeledger_network::{NetEvent, NetworkConfig, PeerInfo};
use safeledger_node::wire::{SyncRequest, SyncResponse};
use safeledger_tests::Cluster;
use std::collections::BTreeMap;
use std::time::Duration;

async fn fake_validator(c: &Cluster, i: usize) -> safeledger_network::NetworkHandle {
    let peers: Vec<PeerInfo> = c
        .home
        .genesis
        .agencies
        .iter()
        .map(|a| PeerInfo {
            key: a.node_key,
            addr: a.p2p_addr.clone(),
        })
        .collect();
    let a = &c.home.genesis.agencies[i];
    let (net, mut events) = safeledger_network::start(NetworkConfig {
        node_key: c.home.node_key(&a.id).expect("node key"),
        listen_addr: a.p2p_addr.clone(),
        peers,
        chain_id: c.home.genesis.chain_id.clone(),
        max_message_bytes: safeledger_core::limits::MAX_MESSAGE_BYTES,
        max_gossip_bytes: safeledger_core::limits::MAX_GOSSIP_BYTES,
        request_timeout: Duration::from_secs(5),
        limits: Default::default(),
    })
    .await
    .expect("fake network");
    // Real blocks come from node 0's API; the fake forges their certificates.
    let mut api = c.node_client(0);
    // Each asking peer gets its own cycle of lies, starting with the far-higher claim, so
    // a syncing node meets every kind whatever the others ask.
    let mut turns: BTreeMap<PublicKey, u64> = BTreeMap::new();
    tokio::spawn(async move {
        let mut last_claim = 0u64;
        while let Some(ev) = events.recv().await {
            let NetEvent::Request { peer, data, reply } = ev else {
                continue;
            };
            let turn = turns.entry(peer).or_default();
            let k = *turn;
            *turn += 1;
            let resp = match from_canonical::<SyncRequest>(&data) {
                Ok(SyncRequest::Status) => {
                    let tip = api.status().await.map(|s| s.height).unwrap_or(0);
                    let height = match k % 3 {
                        0 => tip + 1_000,
                        1 => last_claim.saturating_sub(500).min(tip / 2),
                        _ => tip,
                    };
                    last_claim = height;
                    let block_hash = safeledger_core::Hash::ZERO;
                    SyncResponse::Status { height, block_hash }
                }
                Ok(SyncRequest::Blocks { from, max }) => {
                    let mut out: Vec<(Block, CommitCertificate)> = Vec::new();
                    if k.is_multiple_of(2) {
                        for h in from..from + u64::from(max.min(4)) {
                            let Ok((b, mut cert, _)) = api.block(h).await else {
                                break;
                            };
                            if let Some(s) = cert.signatures.first_mut() {
                                s.signature.0[0] ^= 1;
                            }
                            cert.signatures.truncate(2);
                            out.push((b, cert));
                        }
                    }
                    SyncResponse::Blocks(out)
                }
                _ => SyncResponse::Ack,
            };
            reply.send(to_canonical(&resp));
        }
    });
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_sync_skips_a_peer_that_lies_about_heights_and_certificates() {
    let mut c = Cluster::start().await;
    c.wait_height(2, Duration::from_secs(30)).await;
    c.stop_node(2).await;
    let h = c.wait_height(0, Duration::from_secs(1)).await;
    let start = h.iter().copied().max().unwrap_or(0);
    let behind = c.wait_height(start + 6, Duration::from_secs(60)).await;
    assert!(behind.iter().all(|x| *x >= start + 6), "{behind:?}");
    // Validator 3 is replaced by the liar: from now on only 0, 1 and 2 can decide.
    c.stop_node(3).await;
    let liar = fake_validator(&c, 3).await;
    let top = c.wait_height(0, Duration::from_secs(1)).await;
    let tip = top.iter().copied().max().unwrap_or(0);
    c.start_node(2).await;
    let after = c.wait_height(tip + 3, Duration::from_secs(120)).await;
    assert!(
        after.iter().all(|x| *x >= tip + 3),
        "node 2 did not catch up and decide past the liar: {after:?}"
    );
    let node2 = c.nodes[2].as_ref().expect("node 2");
    assert!(
        node2.shared.metrics.sync_bans.get() >= 1,
        "the liar was never skipped"
    );
    assert_eq!(c.hashes(2, tip + 3).await, c.hashes(0, tip + 3).await);
    liar.shutdown();
    c.stop_all().await;
}
