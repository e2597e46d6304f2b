//! State sync, the syncing side (`safeledger node start --state-sync`): before the node
//! opens its ledger, it asks its peers for their snapshots, takes the newest one whose
//! offer verifies against genesis ([`super::offer::verify`]), fetches its chunks from the
//! peers that offered the same snapshot, checks each against its summary before storing
//! it, and installs the certified tip. Then the node starts as usual and block-syncs from
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
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a node waits for a usable snapshot before it gives up (its peers may take
/// none: `snapshot_interval = 0`, or the chain is younger than one interval).
pub const STATE_SYNC_TIMEOUT: Duration = Duration::from_secs(600);
/// How long state sync first waits for every genesis validator to be connected.
const PEER_WAIT: Duration = Duration::from_secs(10);
/// Failed requests (timeouts, refusals) for one chunk before the snapshot is abandoned.
const CHUNK_ATTEMPTS: usize = 8;

/// Runs state sync into `store` while answering inbound requests from `rx` with a refusal
/// (the node has no ledger to serve yet); returns the installed tip.
///
/// # Errors
/// No usable snapshot within [`STATE_SYNC_TIMEOUT`], the network stopped, or the store
/// failed. The data directory is then marked as mid-sync: start with `--state-sync` again.
pub async fn run(
    net: &NetworkHandle,
    rx: &mut mpsc::Receiver<NetEvent>,
    genesis: &Genesis,
    store: &Store,
) -> anyhow::Result<Tip> {
    let sync = sync(net, genesis, store);
    tokio::pin!(sync);
    loop {
        tokio::select! {
            r = &mut sync => return r,
            ev = rx.recv() => match ev {
                Some(NetEvent::Request { reply, .. }) => reply.send(to_canonical(
                    &SyncResponse::Error("state sync in progress".into()),
                )),
                Some(_) => {}
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

/// Peers skipped for the rest of the sync.
struct Skipped(BTreeSet<PublicKey>);

impl Skipped {
    fn skip(&mut self, p: PublicKey, why: &str) {
        tracing::warn!(peer = %short(&p), why, "state sync: peer skipped");
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
    let mut skipped = Skipped(BTreeSet::new());
    loop {
        if started.elapsed() > STATE_SYNC_TIMEOUT {
            bail!(
                "no usable state snapshot from the peers within {} s (do they take snapshots? \
                 node.toml snapshot_interval); start again with --state-sync, or without it \
                 on an empty data directory to replay every block",
                STATE_SYNC_TIMEOUT.as_secs()
            );
        }
        let peers: Vec<PublicKey> = net
            .connected_peers()
            .await
            .into_iter()
            .filter(|p| !skipped.0.contains(p))
            .collect();
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
            tracing::info!(peers = peers.len(), "state sync: no snapshot offered yet");
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
    for index in 0..meta.chunks.len() {
        let mut failures = 0;
        loop {
            let usable: Vec<PublicKey> = holders
                .iter()
                .filter(|p| !skipped.0.contains(*p))
                .copied()
                .collect();
            if usable.is_empty() {
                bail!("every peer offering it was skipped");
            }
            if failures >= CHUNK_ATTEMPTS {
                bail!("chunk {index}: {failures} requests failed");
            }
            let p = usable[turn % usable.len()];
            turn += 1;
            let req = SyncRequest::SnapshotChunk {
                height: h,
                index: index as u32,
            };
            match ask(net, p, &req).await {
                Ok(SyncResponse::SnapshotChunk(pairs)) => {
                    match verify_chunk(meta.bits, &meta.chunks, index, &pairs) {
                        Ok(()) => {
                            store
                                .put_state_chunk(&pairs)
                                .context("storing a state chunk")?;
                            break;
                        }
                        Err(e) => skipped.skip(p, &format!("chunk {index} of snapshot {h}: {e}")),
                    }
                }
                Ok(other) => {
                    failures += 1;
                    tracing::debug!(peer = %short(&p), ?other, "state sync: no chunk");
                }
                Err(e) => {
                    failures += 1;
                    tracing::debug!(peer = %short(&p), error = %e, "state sync: no chunk");
                }
            }
        }
    }
    store
        .install_synced(&tip, &offer.validator_path)
        .context("installing the synced tip")?;
    Ok(tip)
}
