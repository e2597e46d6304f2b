//! Per-client request-rate limiting of the gRPC API (issue 8 item 3, "per-client request
//! rates").
//!
//! Each client IP address has a token bucket of [`GRPC_BURST_PER_CLIENT`] requests refilled
//! at [`GRPC_RATE_PER_CLIENT`] per second; a request finding it empty is refused with
//! `RESOURCE_EXHAUSTED` before the service sees it. At most [`MAX_RATE_CLIENTS`] buckets
//! are kept: when full, buckets that have refilled completely (idle clients) are dropped,
//! and if none has, the new client shares one overflow bucket — the map never grows
//! without bound. The three are defaults: a node takes its values from
//! [`crate::config::NodeLimits`] (`grpc_rate_per_client`, `grpc_burst_per_client`,
//! `grpc_max_clients`, settable in `node.toml`). Applied as a tonic interceptor (`tonic::service::Interceptor`), which
//! sees the peer address of every request.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tonic::{Request, Status};

/// Requests per second each client IP may sustain.
pub const GRPC_RATE_PER_CLIENT: u32 = 2_000;
/// Requests each client IP may send at once (bucket size).
pub const GRPC_BURST_PER_CLIENT: u32 = 4_000;
/// Most client buckets kept.
pub const MAX_RATE_CLIENTS: usize = 4_096;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by client address.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    max_clients: usize,
    buckets: Arc<Mutex<BTreeMap<IpAddr, Bucket>>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(GRPC_RATE_PER_CLIENT, GRPC_BURST_PER_CLIENT)
    }
}

/// The key of clients that find the bucket map full.
const OVERFLOW: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl RateLimiter {
    /// A limiter of `rate` requests per second with bursts of `burst`, keeping at most
    /// [`MAX_RATE_CLIENTS`] buckets.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter::with_max_clients(rate, burst, MAX_RATE_CLIENTS)
    }

    /// A limiter of `rate` requests per second with bursts of `burst`, keeping at most
    /// `max_clients` buckets (the node's `grpc_*` limits, [`crate::config::NodeLimits`]).
    pub fn with_max_clients(rate: u32, burst: u32, max_clients: usize) -> RateLimiter {
        RateLimiter {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            max_clients: max_clients.max(1),
            buckets: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// A limiter of `per_hour` requests an hour per client, in bursts of as many, keeping
    /// at most `max_clients` buckets (public tip-offs: [`crate::config::NodeLimits`]
    /// `tips_per_hour_per_source`).
    pub fn per_hour(per_hour: u32, max_clients: usize) -> RateLimiter {
        RateLimiter {
            rate: f64::from(per_hour.max(1)) / 3600.0,
            burst: f64::from(per_hour.max(1)),
            max_clients: max_clients.max(1),
            buckets: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Takes one token of `client`'s bucket at `now`; false when it is empty.
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let refill = |b: &Bucket| {
            let secs = now.saturating_duration_since(b.at).as_secs_f64();
            (b.tokens + secs * self.rate).min(self.burst)
        };
        let mut key = client;
        if !map.contains_key(&client) && map.len() >= self.max_clients {
            let burst = self.burst;
            map.retain(|k, b| *k == OVERFLOW || refill(b) < burst);
            if map.len() >= self.max_clients {
                key = OVERFLOW;
            }
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        b.tokens = refill(b);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl tonic::service::Interceptor for RateLimiter {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let ip = req
            .remote_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        if self.allow(ip, Instant::now()) {
            Ok(req)
        } else {
            Err(Status::resource_exhausted(format!(
                "rate limit: more than {} requests per second from {ip}; slow down",
                self.rate
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_client_over_its_rate_is_refused_and_others_are_not() {
        let l = RateLimiter::new(10, 5);
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        assert!((0..5).all(|_| l.allow(a, t)));
        assert!(!l.allow(a, t), "burst exhausted");
        assert!(l.allow(b, t), "another client has its own bucket");
        assert!(l.allow(a, t + Duration::from_millis(150)), "refilled");
    }

    #[test]
    fn the_bucket_map_stays_bounded() {
        let l = RateLimiter::new(1, 1);
        let t = Instant::now();
        for i in 0..(MAX_RATE_CLIENTS as u32 + 100) {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            let _ = l.allow(ip, t);
        }
        let n = l.buckets.lock().map(|m| m.len()).unwrap_or(0);
        assert!(n <= MAX_RATE_CLIENTS + 1, "{n} buckets");
    }
}
