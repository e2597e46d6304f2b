//! State sync, the syncing side (`safeledger node start --state-sync`): before the node
//! opens its ledger, it asks its peers for their snapshots, takes the newest one whose
//! offer verifies against genesis ([`super::offer::verify`]), fetches its chunks from the
//! peers that offered the same snapshot (in waves of one chunk per peer, at most
//! [`CHUNKS_IN_FLIGHT`] at once), checks each against its summary before storing it, and
//! installs the certified tip. Then the node starts as usual and block-syncs from
//! the snapshot's height on.
//!
//! A peer whose offer or chunk fails a check is skipped for the rest of the sync (and
//! logged with the reason); a chunk is asked of the next peer. Bounds: at most
//! [`super::MAX_OFFERS_PER_PEER`] list entries read per peer, a snapshot of more than
//! `2^MAX_CHUNK_BITS` chunks is not considered, and every message is bounded by the
//! network's `max_message_bytes`, so a peer advertising a huge snapshot costs nothing but
//! its list entry.

use super::offer::{self, SnapshotInfo};
use super::MAX_OFFERS_PER_PEER;
use crate::store::{Store, Tip};
use crate::wire::{SyncRequest, SyncResponse};
use anyhow::{anyhow, bail, Context as _};
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::state_chunks::{verify_chunk, MAX_CHUNK_BITS};
use safeledger_core::{Genesis, Hash, PublicKey};
use safeledger_network::{NetEvent, NetworkHandle};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a node waits for a usable snapshot before it gives up (its peers may take
/// none: `snapshot_interval = 0`, or the chain is younger than one interval).
pub const STATE_SYNC_TIMEOUT: Duration = Duration::from_secs(600);
/// How long state sync first waits for every genesis validator to be connected.
const PEER_WAIT: Duration = Duration::from_secs(10);
/// Chunk requests in flight at once (one per source peer, at most this many).
const CHUNKS_IN_FLIGHT: usize = 4;
/// Failed requests (timeouts, refusals) for one chunk before the snapshot is abandoned.
const CHUNK_ATTEMPTS: usize = 8;

/// Runs state sync into `store` while answering inbound requests from `rx` with a refusal
/// (the node has no ledger to serve yet); returns the installed tip and the peers connected
/// at the end (from the connection events it took off `rx`, for the node's peer count).
///
/// # Errors
/// No usable snapshot within [`STATE_SYNC_TIMEOUT`], the network stopped, or the store
/// failed. The data directory is then marked as mid-sync: start with `--state-sync` again.
pub async fn run(
    net: &NetworkHandle,
    rx: &mut mpsc::Receiver<NetEvent>,
    genesis: &Genesis,
    store: &Store,
) -> anyhow::Result<(Tip, BTreeSet<PublicKey>)> {
    let sync = sync(net, genesis, store);
    tokio::pin!(sync);
    let mut connected = BTreeSet::new();
    loop {
        tokio::select! {
            r = &mut sync => return r.map(|tip| (tip, connected)),
            ev = rx.recv() => match ev {
                Some(NetEvent::Request { reply, .. }) => reply.send(to_canonical(
                    &SyncResponse::Error("state sync in progress".into()),
                )),
                Some(NetEvent::PeerConnected(p)) => {
                    connected.insert(p);
                }
                Some(NetEvent::PeerDisconnected(p)) => {
                    connected.remove(&p);
                }
                Some(NetEvent::Gossip { .. }) => {}
                None => bail!("the p2p network stopped during state sync"),
            },
        }
    }
}

async fn ask(
    net: &NetworkHandle,
    peer: PublicKey,
    req: &SyncRequest,
) -> anyhow::Result<SyncResponse> {
    let bytes = net.request(peer, to_canonical(req)).await?;
    Ok(from_canonical(&bytes)?)
}

fn short(p: &PublicKey) -> String {
    p.to_hex()[..8].to_string()
}

/// Peers skipped for serving bad data, with the genesis agencies' names for the log.
struct Skipped(BTreeSet<PublicKey>, BTreeMap<PublicKey, String>);

impl Skipped {
    fn skip(&mut self, p: PublicKey, why: &str) {
        let agency = self.1.get(&p).map_or("?", String::as_str);
        tracing::warn!(peer = %short(&p), agency, why, "state sync: peer skipped");
        self.0.insert(p);
    }
}

async fn sync(net: &NetworkHandle, genesis: &Genesis, store: &Store) -> anyhow::Result<Tip> {
    store.begin_state_sync()?;
    let started = Instant::now();
    // The genesis validators other than this node: wait a little for all of them, so
    // that the newest snapshot is seen and chunks are spread over every source.
    let others = genesis
        .agencies
        .iter()
        .filter(|a| a.power > 0 && a.node_key != net.local_key())
        .count();
    while net.connected_peers().await.len() < others && started.elapsed() < PEER_WAIT {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let names = genesis
        .agencies
        .iter()
        .map(|a| (a.node_key, a.id.clone()))
        .collect();
    let mut skipped = Skipped(BTreeSet::new(), names);
    loop {
        if started.elapsed() > STATE_SYNC_TIMEOUT {
            bail!(
                "no usable state snapshot from the peers within {} s (do they take snapshots? \
                 node.toml snapshot_interval); start again with --state-sync, or remove the \
                 data directory and start without it to replay every block",
                STATE_SYNC_TIMEOUT.as_secs()
            );
        }
        let connected = net.connected_peers().await;
        let peers: Vec<PublicKey> = connected
            .iter()
            .filter(|p| !skipped.0.contains(*p))
            .copied()
            .collect();
        if peers.is_empty() && !connected.is_empty() {
            // Every connected peer served bad data: give them another chance later (one
            // may have had a corrupt snapshot and taken a good one since).
            tracing::warn!(
                skipped = skipped.0.len(),
                "state sync: every connected peer was skipped for bad snapshot data; \
                 asking them again in 30 s"
            );
            tokio::time::sleep(Duration::from_secs(30)).await;
            skipped.0.clear();
            continue;
        }
        let mut offers: BTreeMap<(u64, Hash), (SnapshotInfo, Vec<PublicKey>)> = BTreeMap::new();
        for p in &peers {
            match ask(net, *p, &SyncRequest::Snapshots).await {
                Ok(SyncResponse::Snapshots(list)) => {
                    for info in list.into_iter().take(MAX_OFFERS_PER_PEER) {
                        if info.chunks as usize > 1 << MAX_CHUNK_BITS || info.height == 0 {
                            continue;
                        }
                        offers
                            .entry((info.height, info.hash))
                            .or_insert((info, Vec::new()))
                            .1
                            .push(*p);
                    }
                }
                Ok(other) => tracing::debug!(peer = %short(p), ?other, "state sync: no list"),
                Err(e) => tracing::debug!(peer = %short(p), error = %e, "state sync: no list"),
            }
        }
        if offers.is_empty() {
            tracing::info!(
                peers = peers.len(),
                "state sync: no snapshot offered yet (no peer connected, or none takes \
                 snapshots or has one whose next block is committed)"
            );
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        for (info, holders) in offers.values().rev() {
            match take(net, genesis, store, info, holders, &mut skipped).await {
                Ok(tip) => {
                    tracing::info!(
                        height = tip.height,
                        chunks = info.chunks,
                        ms = started.elapsed().as_millis() as u64,
                        "state sync: snapshot installed"
                    );
                    return Ok(tip);
                }
                Err(e) => tracing::warn!(
                    height = info.height,
                    error = %format!("{e:#}"),
                    "state sync: snapshot abandoned"
                ),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Verifies the offer of `info` from one of `holders` and fetches its chunks from them.
async fn take(
    net: &NetworkHandle,
    genesis: &Genesis,
    store: &Store,
    info: &SnapshotInfo,
    holders: &[PublicKey],
    skipped: &mut Skipped,
) -> anyhow::Result<Tip> {
    let h = info.height;
    let mut verified = None;
    for p in holders {
        if skipped.0.contains(p) {
            continue;
        }
        match ask(net, *p, &SyncRequest::SnapshotOffer { height: h }).await {
            Ok(SyncResponse::SnapshotOffer(o)) => match offer::verify(genesis, &o, info) {
                Ok(tip) => {
                    verified = Some((tip, o));
                    break;
                }
                Err(e) => skipped.skip(*p, &format!("offer of snapshot {h}: {e}")),
            },
            Ok(other) => tracing::debug!(peer = %short(p), ?other, "state sync: no offer"),
            Err(e) => tracing::debug!(peer = %short(p), error = %e, "state sync: no offer"),
        }
    }
    let (tip, offer) = verified.ok_or_else(|| anyhow!("no peer gave an offer that verifies"))?;
    tracing::info!(
        height = h,
        chunks = info.chunks,
        keys = offer.meta.keys,
        bytes = offer.meta.bytes,
        "state sync: offer verified against genesis; fetching chunks"
    );
    store.begin_state_sync()?;
    let meta = &offer.meta;
    let mut turn = 0usize;
    // Peers whose last request failed (a timeout, a refusal) are asked last: a frozen peer
    // costs one request timeout, not one per chunk.
    let mut slow: BTreeSet<PublicKey> = BTreeSet::new();
    let mut failures: BTreeMap<usize, usize> = BTreeMap::new();
    let mut pending: VecDeque<usize> = (0..meta.chunks.len()).collect();
    // In waves: one chunk from each usable peer at a time (at most CHUNKS_IN_FLIGHT),
    // each checked and stored as it comes; a failed one goes back in the queue.
    while !pending.is_empty() {
        let live: Vec<PublicKey> = holders
            .iter()
            .filter(|p| !skipped.0.contains(*p))
            .copied()
            .collect();
        if live.is_empty() {
            bail!("every peer offering it served bad data and was skipped");
        }
        let fast: Vec<PublicKey> = live
            .iter()
            .filter(|p| !slow.contains(*p))
            .copied()
            .collect();
        let usable = if fast.is_empty() {
            slow.clear();
            live
        } else {
            fast
        };
        let n = usable.len().min(CHUNKS_IN_FLIGHT).min(pending.len());
        let wave: Vec<(usize, PublicKey)> = pending
            .drain(..n)
            .enumerate()
            .map(|(k, index)| (index, usable[(turn + k) % usable.len()]))
            .collect();
        turn += n;
        let answers = futures::future::join_all(wave.iter().map(|(index, p)| {
            let req = SyncRequest::SnapshotChunk {
                height: h,
                index: *index as u32,
            };
            async move { ask(net, *p, &req).await }
        }))
        .await;
        for ((index, p), answer) in wave.into_iter().zip(answers) {
            let why = match answer {
                Ok(SyncResponse::SnapshotChunk(pairs)) => {
                    match verify_chunk(meta.bits, &meta.chunks, index, &pairs) {
                        Ok(()) => {
                            store
                                .put_state_chunk(&pairs)
                                .context("storing a state chunk")?;
                            continue;
                        }
                        Err(e) => {
                            skipped.skip(p, &format!("chunk {index} of snapshot {h}: {e}"));
                            pending.push_back(index);
                            continue;
                        }
                    }
                }
                Ok(SyncResponse::Error(e)) => e,
                Ok(_) => "an answer that is not a chunk".into(),
                Err(e) => e.to_string(),
            };
            slow.insert(p);
            let failed = failures.entry(index).or_default();
            *failed += 1;
            tracing::warn!(peer = %short(&p), index, why, "state sync: no chunk; asking another peer");
            if *failed >= CHUNK_ATTEMPTS {
                bail!("chunk {index}: {failed} requests failed (timeouts or refusals)");
            }
            pending.push_back(index);
        }
    }
    store
        .install_synced(&tip, &offer.validator_path)
        .context("installing the synced tip")?;
    Ok(tip)
}
