//! Operations: Prometheus metrics and an HTTP endpoint with `/healthz` and `/metrics`.
//!
//! Metrics are named `safeledger_*` (CONVENTIONS.md). The HTTP endpoint is optional
//! (`safeledger node start --metrics-addr`), plain HTTP/1.1 via axum; the gRPC port also
//! serves the standard gRPC health service (`grpc.health.v1`) and server reflection.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use safeledger_network::NetStats;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Last committed height.
    pub height: IntGauge,
    /// Current consensus round.
    pub round: IntGauge,
    /// Seconds from the start of a height to its commit.
    pub commit_latency: Histogram,
    /// Transactions committed since start.
    pub txs_committed: IntCounter,
    /// Transactions in the mempool.
    pub mempool_txs: IntGauge,
    /// Bytes in the mempool.
    pub mempool_bytes: IntGauge,
    /// Connected validator peers.
    pub peers: IntGauge,
    /// Blocks committed through block sync (not decided locally).
    pub blocks_synced: IntCounter,
    /// Transactions refused, by reason: admission errors (`admission_*`) and rule
    /// refusals at execution (`rule_<name>`).
    pub txs_rejected: IntCounterVec,
    /// Double-sign evidence this node detected (two signed messages of one validator for
    /// one height, round and step).
    pub evidence: IntCounter,
    /// Blocks of proposals fetched over request-response: too large to gossip, or
    /// gossiped as transaction ids this node could not all match in its mempool.
    pub proposal_fetches: IntCounter,
    /// Blocks of proposals gossiped as transaction ids and rebuilt from the mempool.
    pub proposals_rebuilt: IntCounter,
    /// Blocks committed with the execution started when they were built or judged valid
    /// (optimistic execution; the others executed at commit).
    pub blocks_preexecuted: IntCounter,
    /// Sync peers skipped for a while after serving bad data, no data, or stalling.
    pub sync_bans: IntCounter,
    /// Consensus messages (proposals, votes) the core ignored: bad signature, not a
    /// validator, wrong proposer, invalid block, or a height it does not buffer; and
    /// gossip that did not decode.
    pub consensus_ignored: IntCounter,
    /// Requests of a granted peer for private values refused because this node erased
    /// them.
    pub private_erased_refusals: IntCounter,
    /// The network's counters of dropped and refused traffic ([`NetStats`]), copied on
    /// every driver tick: `safeledger_net_<counter>_total`.
    pub net: NetCounters,
    /// False once the driver stopped (health turns 503).
    pub driver_alive: AtomicBool,
}

/// Prometheus mirrors of the network's [`NetStats`].
pub struct NetCounters {
    /// Gossip dropped because the node's event queue was full.
    pub gossip_dropped: IntCounter,
    /// Inbound requests refused: event queue full or a pending-request bound reached.
    pub requests_dropped: IntCounter,
    /// Publications that reached no peer.
    pub publish_failed: IntCounter,
    /// Gossip or requests from peers outside the validator set.
    pub non_member_messages: IntCounter,
    /// Gossip and requests of validators over their per-peer rates, dropped.
    pub rate_limited: IntCounter,
    /// Validators disconnected and refused for a while after exceeding their rates.
    pub peer_bans: IntCounter,
}

impl NetCounters {
    /// Brings the counters up to `stats` (which only grow).
    pub fn record(&self, stats: NetStats) {
        for (c, v) in [
            (&self.gossip_dropped, stats.gossip_dropped),
            (&self.requests_dropped, stats.requests_dropped),
            (&self.publish_failed, stats.publish_failed),
            (&self.non_member_messages, stats.non_member_messages),
            (&self.rate_limited, stats.rate_limited),
            (&self.peer_bans, stats.peer_bans),
        ] {
            c.inc_by(v.saturating_sub(c.get()));
        }
    }
}

fn must<T>(r: prometheus::Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("metric definition is invalid: {e}"),
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let g = |name: &str, help: &str| {
            let m = must(IntGauge::new(name, help));
            must(registry.register(Box::new(m.clone())));
            m
        };
        let c = |name: &str, help: &str| {
            let m = must(IntCounter::new(name, help));
            must(registry.register(Box::new(m.clone())));
            m
        };
        let height = g("safeledger_height", "Last committed height");
        let round = g("safeledger_round", "Current consensus round");
        let mempool_txs = g("safeledger_mempool_txs", "Transactions in the mempool");
        let mempool_bytes = g("safeledger_mempool_bytes", "Bytes in the mempool");
        let peers = g("safeledger_peers", "Connected validator peers");
        let txs_committed = c("safeledger_txs_committed_total", "Transactions committed");
        let blocks_synced = c(
            "safeledger_blocks_synced_total",
            "Blocks committed through block sync",
        );
        let evidence = c(
            "safeledger_evidence_total",
            "Double-sign evidence detected (conflicting signed messages of one validator)",
        );
        let proposal_fetches = c(
            "safeledger_proposal_blocks_fetched_total",
            "Blocks of proposals fetched from a peer (too large to gossip, or not rebuilt)",
        );
        let proposals_rebuilt = c(
            "safeledger_proposals_rebuilt_total",
            "Blocks of proposals gossiped as transaction ids and rebuilt from the mempool",
        );
        let blocks_preexecuted = c(
            "safeledger_blocks_preexecuted_total",
            "Blocks committed with the execution started before their decision",
        );
        let sync_bans = c(
            "safeledger_sync_peer_bans_total",
            "Sync peers skipped after serving bad or no data or stalling",
        );
        let consensus_ignored = c(
            "safeledger_consensus_messages_ignored_total",
            "Consensus messages ignored (invalid, from a non-validator, or undecodable)",
        );
        let private_erased_refusals = c(
            "safeledger_private_erased_refusals_total",
            "Granted peers' requests for private values refused because this node erased them",
        );
        let net = NetCounters {
            gossip_dropped: c(
                "safeledger_net_gossip_dropped_total",
                "Gossip messages dropped because the node's event queue was full",
            ),
            requests_dropped: c(
                "safeledger_net_requests_dropped_total",
                "Inbound p2p requests refused: event queue full or a pending-request bound reached",
            ),
            publish_failed: c(
                "safeledger_net_publish_failed_total",
                "Gossip publications that reached no peer",
            ),
            non_member_messages: c(
                "safeledger_net_non_member_messages_total",
                "Gossip or requests from peers outside the validator set, dropped",
            ),
            rate_limited: c(
                "safeledger_net_rate_limited_total",
                "Gossip messages and requests of validators over their per-peer rates, dropped",
            ),
            peer_bans: c(
                "safeledger_net_peer_bans_total",
                "Validators disconnected and refused for a while after exceeding their rates",
            ),
        };
        let commit_latency = must(Histogram::with_opts(
            HistogramOpts::new(
                "safeledger_commit_latency_seconds",
                "Seconds from the start of a height to its commit",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0]),
        ));
        must(registry.register(Box::new(commit_latency.clone())));
        let txs_rejected = must(IntCounterVec::new(
            Opts::new(
                "safeledger_txs_rejected_total",
                "Transactions refused at admission or by a rule at execution",
            ),
            &["reason"],
        ));
        must(registry.register(Box::new(txs_rejected.clone())));
        Metrics {
            registry,
            height,
            round,
            commit_latency,
            txs_committed,
            mempool_txs,
            mempool_bytes,
            peers,
            blocks_synced,
            txs_rejected,
            evidence,
            sync_bans,
            proposal_fetches,
            proposals_rebuilt,
            blocks_preexecuted,
            consensus_ignored,
            private_erased_refusals,
            net,
            driver_alive: AtomicBool::new(true),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// A health check: `Ok`, or why the node is not healthy (one line).
pub type HealthCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What `/healthz` judges from (issue 18, point 4).
#[derive(Clone, Copy, Debug)]
pub struct HealthFacts {
    /// This machine's clock, ms since 1970.
    pub now_ms: u64,
    /// The last committed height (0: none yet).
    pub height: u64,
    /// The last committed block's time, ms since 1970.
    pub last_block_ms: u64,
    /// Validators this node is connected to (not counting itself).
    pub peers: u32,
    /// Validators in the set.
    pub validators: u32,
    /// Whether this node is one of them.
    pub is_validator: bool,
    /// How long without a commit is unhealthy, ms.
    pub stale_after_ms: u64,
}

/// Healthy when the node reaches a quorum of validators (more than 2/3 of them, itself
/// included; by count, which equals power on the equal-power networks `init` makes) and
/// committed a block within `stale_after_ms`; otherwise the reason.
pub fn judge_health(f: HealthFacts) -> Result<(), String> {
    let need = f.validators * 2 / 3 + 1;
    let have = f.peers + u32::from(f.is_validator);
    if have < need {
        return Err(format!(
            "no quorum: connected to {} of the {} other validators; {need} of {} are needed to commit",
            f.peers,
            f.validators.saturating_sub(u32::from(f.is_validator)),
            f.validators
        ));
    }
    let age = f.now_ms.saturating_sub(f.last_block_ms);
    if age > f.stale_after_ms {
        return Err(format!(
            "no commit for {} s (limit {} s); last committed height {}",
            age / 1000,
            f.stale_after_ms / 1000,
            f.height
        ));
    }
    Ok(())
}

/// Serves `/healthz` (200 `ok` while the driver runs and `health` passes, else 503 with
/// the reason) and `/metrics` on `addr`. Returns the bound address.
pub async fn serve_http(
    metrics: Arc<Metrics>,
    health: HealthCheck,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::{http::StatusCode, routing::get, Router};
    let m1 = metrics.clone();
    let m2 = metrics;
    let app = Router::new()
        .route(
            "/healthz",
            get(move || {
                let m = m1.clone();
                let health = health.clone();
                async move {
                    if !m.driver_alive.load(Ordering::Relaxed) {
                        return (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "driver stopped\n".to_string(),
                        );
                    }
                    match health() {
                        Ok(()) => (StatusCode::OK, "ok\n".to_string()),
                        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let m = m2.clone();
                async move { ([("content-type", "text/plain; version=0.0.4")], m.render()) }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding the metrics endpoint on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_counters_follow_the_network_stats_and_are_exposed() {
        let m = Metrics::new();
        let stats = NetStats {
            rate_limited: 7,
            peer_bans: 1,
            ..NetStats::default()
        };
        m.net.record(stats);
        m.net.record(stats);
        m.net.record(NetStats {
            rate_limited: 9,
            ..stats
        });
        assert_eq!(m.net.rate_limited.get(), 9);
        assert_eq!(m.net.peer_bans.get(), 1);
        let text = m.render();
        assert!(
            text.contains("safeledger_net_rate_limited_total 9"),
            "{text}"
        );
        assert!(text.contains("safeledger_net_peer_bans_total 1"), "{text}");
    }
}

#[cfg(test)]
mod health_tests {
    use super::*;

    fn facts() -> HealthFacts {
        HealthFacts {
            now_ms: 100_000,
            height: 7,
            last_block_ms: 99_000,
            peers: 3,
            validators: 4,
            is_validator: true,
            stale_after_ms: 30_000,
        }
    }

    #[test]
    fn a_live_network_is_healthy() {
        assert_eq!(judge_health(facts()), Ok(()));
        assert_eq!(
            judge_health(HealthFacts {
                peers: 2,
                ..facts()
            }),
            Ok(())
        );
    }

    #[test]
    fn two_of_four_down_is_no_quorum() {
        let e = judge_health(HealthFacts {
            peers: 1,
            ..facts()
        })
        .unwrap_err();
        assert!(e.starts_with("no quorum"), "{e}");
        assert!(e.contains("3 of 4"), "{e}");
    }

    #[test]
    fn a_stale_tip_is_reported_with_its_age() {
        let e = judge_health(HealthFacts {
            last_block_ms: 59_000,
            ..facts()
        })
        .unwrap_err();
        assert!(e.contains("no commit for 41 s"), "{e}");
    }
}
