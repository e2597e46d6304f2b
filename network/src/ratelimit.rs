//! Per-peer rate limits (issue 8 item 3, "per-peer request rates"): token buckets for the
//! gossip a validator relays to us and the requests it sends, strikes for traffic over
//! them, and a temporary ban for a peer that keeps exceeding.
//!
//! One [`PeerGuard`] per member validator, created when the member is configured or
//! admitted (so the state is bounded by the validator set); nothing is kept for other
//! peers, whose traffic the allow-list already refuses.

use std::time::{Duration, Instant};

use crate::NetLimits;

/// A token bucket: holds at most `burst` tokens, refilled at `rate` tokens per second,
/// starting full. Taking more than it holds fails and takes nothing.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `rate` per second (each at least 1).
    pub fn new(rate: u64, burst: u64, now: Instant) -> TokenBucket {
        let burst = burst.max(1) as f64;
        TokenBucket {
            rate: rate.max(1) as f64,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// The tokens held at `now` (refilled since the last call; a `now` earlier than the
    /// last one refills nothing).
    pub fn available(&mut self, now: Instant) -> f64 {
        let secs = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + secs * self.rate).min(self.burst);
        self.at = self.at.max(now);
        self.tokens
    }

    /// Takes `n` tokens at `now`; false (and nothing taken) when fewer are held.
    pub fn try_take(&mut self, n: u64, now: Instant) -> bool {
        if self.available(now) >= n as f64 {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }

    /// Refills the bucket completely.
    pub fn refill(&mut self, now: Instant) {
        self.tokens = self.burst;
        self.at = now;
    }
}

/// What kind of traffic a peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traffic {
    /// A gossip message of this many data bytes, with the peer as propagation source.
    Gossip(usize),
    /// One inbound request.
    Request,
}

/// The guard's decision on one message or request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Under the rate: deliver it.
    Allow,
    /// Over the rate: drop it (a strike). `burst_started` is true for the first drop after
    /// the peer was last under its rate, so the caller logs once per burst.
    Drop { burst_started: bool },
    /// Over the rate, and the strike reached the violation threshold: drop it and ban the
    /// peer until `until`.
    Ban { until: Instant },
}

/// Rate state of one member validator.
#[derive(Debug, Clone)]
pub(crate) struct PeerGuard {
    gossip_msgs: TokenBucket,
    gossip_bytes: TokenBucket,
    requests: TokenBucket,
    /// Start of the current violation window and the strikes counted in it.
    window_start: Instant,
    strikes: u32,
    /// Drops since the peer was last under its rate (0: not in a burst).
    burst_drops: u64,
    /// Set while the peer is banned.
    pub(crate) banned_until: Option<Instant>,
}

impl PeerGuard {
    pub(crate) fn new(limits: &NetLimits, now: Instant) -> PeerGuard {
        PeerGuard {
            gossip_msgs: TokenBucket::new(
                limits.peer_gossip_msgs_per_sec,
                limits.peer_gossip_msgs_burst,
                now,
            ),
            gossip_bytes: TokenBucket::new(
                limits.peer_gossip_bytes_per_sec,
                limits.peer_gossip_bytes_burst,
                now,
            ),
            requests: TokenBucket::new(
                limits.peer_requests_per_sec,
                limits.peer_requests_burst,
                now,
            ),
            window_start: now,
            strikes: 0,
            burst_drops: 0,
            banned_until: None,
        }
    }

    /// Charges `traffic` at `now`. Returns the verdict and, when a burst of drops just
    /// ended (this message is under the rate again), how many the burst dropped.
    pub(crate) fn check(
        &mut self,
        traffic: Traffic,
        limits: &NetLimits,
        now: Instant,
    ) -> (Verdict, Option<u64>) {
        if let Some(until) = self.banned_until {
            // Traffic still in flight from a peer being disconnected.
            return (Verdict::Ban { until }, None);
        }
        let allowed = match traffic {
            Traffic::Gossip(len) => {
                let len = len as u64;
                if self.gossip_msgs.available(now) >= 1.0
                    && self.gossip_bytes.available(now) >= len as f64
                {
                    self.gossip_msgs.try_take(1, now) && self.gossip_bytes.try_take(len, now)
                } else {
                    false
                }
            }
            Traffic::Request => self.requests.try_take(1, now),
        };
        if allowed {
            let ended = (self.burst_drops > 0).then_some(self.burst_drops);
            self.burst_drops = 0;
            return (Verdict::Allow, ended);
        }
        if now.saturating_duration_since(self.window_start) > limits.peer_violation_window {
            self.window_start = now;
            self.strikes = 0;
        }
        self.strikes = self.strikes.saturating_add(1);
        self.burst_drops += 1;
        if self.strikes >= limits.peer_violations_before_ban {
            let until = now + limits.peer_ban;
            self.banned_until = Some(until);
            return (Verdict::Ban { until }, None);
        }
        (
            Verdict::Drop {
                burst_started: self.burst_drops == 1,
            },
            None,
        )
    }

    /// Drops over the rate in the current burst.
    pub(crate) fn burst_drops(&self) -> u64 {
        self.burst_drops
    }

    /// Ends the ban if it expired by `now`: buckets full, strikes cleared. True if it did.
    pub(crate) fn lift_expired_ban(&mut self, now: Instant) -> bool {
        match self.banned_until {
            Some(until) if until <= now => {
                self.banned_until = None;
                self.strikes = 0;
                self.burst_drops = 0;
                self.window_start = now;
                self.gossip_msgs.refill(now);
                self.gossip_bytes.refill(now);
                self.requests.refill(now);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn is_banned(&self) -> bool {
        self.banned_until.is_some()
    }
}

/// How long until `until`, for logs.
pub(crate) fn remaining(until: Instant, now: Instant) -> Duration {
    until.saturating_duration_since(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_allows_its_burst_then_refills_at_its_rate() {
        let t = Instant::now();
        let mut b = TokenBucket::new(10, 5, t);
        assert!((0..5).all(|_| b.try_take(1, t)));
        assert!(!b.try_take(1, t), "burst exhausted");
        assert!(!b.try_take(1, t + ms(50)), "half a token after 50 ms");
        assert!(b.try_take(1, t + ms(100)), "one token after 100 ms");
        // Refill is capped at the burst, however long the bucket stayed idle.
        let later = t + Duration::from_secs(3600);
        assert_eq!(b.available(later), 5.0);
        assert!(!b.try_take(6, later), "more than the burst never fits");
        assert_eq!(b.available(later), 5.0, "a failed take takes nothing");
    }

    #[test]
    fn bucket_ignores_a_clock_going_backwards() {
        let t = Instant::now() + Duration::from_secs(10);
        let mut b = TokenBucket::new(1, 1, t);
        assert!(b.try_take(1, t));
        assert!(!b.try_take(1, t - Duration::from_secs(5)));
        assert!(!b.try_take(1, t + ms(500)));
        assert!(b.try_take(1, t + ms(1000)));
    }

    fn tiny() -> NetLimits {
        NetLimits {
            peer_gossip_msgs_per_sec: 10,
            peer_gossip_msgs_burst: 2,
            peer_gossip_bytes_per_sec: 1_000,
            peer_gossip_bytes_burst: 100,
            peer_requests_per_sec: 1,
            peer_requests_burst: 1,
            peer_violations_before_ban: 3,
            peer_violation_window: Duration::from_secs(1),
            peer_ban: Duration::from_secs(5),
            ..NetLimits::default()
        }
    }

    #[test]
    fn guard_drops_over_either_gossip_bucket_and_reports_the_burst_once() {
        let l = tiny();
        let t = Instant::now();
        let mut g = PeerGuard::new(&l, t);
        assert_eq!(g.check(Traffic::Gossip(10), &l, t).0, Verdict::Allow);
        // Over the byte bucket (90 left) but not the message bucket: dropped, nothing taken.
        assert_eq!(
            g.check(Traffic::Gossip(95), &l, t).0,
            Verdict::Drop {
                burst_started: true
            }
        );
        assert_eq!(g.check(Traffic::Gossip(90), &l, t).0, Verdict::Allow);
        assert_eq!(
            g.check(Traffic::Gossip(0), &l, t).0,
            Verdict::Drop {
                burst_started: true
            },
            "message bucket empty: a new burst after the allowed message"
        );
        // Requests have their own bucket.
        assert_eq!(g.check(Traffic::Request, &l, t).0, Verdict::Allow);
        assert_eq!(
            g.check(Traffic::Request, &l, t).0,
            Verdict::Ban {
                until: t + l.peer_ban
            },
            "third strike within the window"
        );
        assert!(g.is_banned());
    }

    #[test]
    fn strikes_outside_the_window_do_not_add_up_and_a_ban_expires() {
        let l = tiny();
        let t = Instant::now();
        let mut g = PeerGuard::new(&l, t);
        assert_eq!(g.check(Traffic::Request, &l, t).0, Verdict::Allow);
        for i in 0..2 {
            let (v, _) = g.check(Traffic::Request, &l, t);
            assert_eq!(
                v,
                Verdict::Drop {
                    burst_started: i == 0
                }
            );
        }
        assert_eq!(g.burst_drops(), 2);
        // A new window: the count starts again.
        let t2 = t + ms(1_100);
        let (v, ended) = g.check(Traffic::Request, &l, t2);
        assert_eq!((v, ended), (Verdict::Allow, Some(2)), "burst of 2 ended");
        for _ in 0..2 {
            assert!(matches!(
                g.check(Traffic::Request, &l, t2).0,
                Verdict::Drop { .. }
            ));
        }
        let (v, _) = g.check(Traffic::Request, &l, t2);
        let until = t2 + l.peer_ban;
        assert_eq!(v, Verdict::Ban { until });
        assert!(!g.lift_expired_ban(until - ms(1)));
        assert!(g.lift_expired_ban(until));
        assert!(!g.is_banned());
        assert_eq!(g.check(Traffic::Request, &l, until).0, Verdict::Allow);
    }
}
