//! The network model: loss, duplication, delays (which also reorder), partitions, and
//! the named scenarios' message filter — before GST; after GST only bounded delays.

use super::{Ev, Msg, World};
use rand::Rng;

impl World {
    pub(super) fn reachable(&self, a: usize, b: usize) -> bool {
        self.partition.as_ref().is_none_or(|g| g[a] == g[b])
    }

    /// Sends `msg` from `from` to every other node.
    pub fn broadcast(&mut self, from: usize, msg: Msg) {
        for to in 0..self.nodes.len() {
            if to != from {
                self.send(from, to, msg.clone());
            }
        }
    }

    /// Sends one message through the network model.
    pub fn send(&mut self, from: usize, to: usize, msg: Msg) {
        if !self.stable {
            if !self.reachable(from, to)
                || (self.drop_proposals && matches!(msg, Msg::Proposal(..)))
                || self.rng.gen_range(0..1_000_000) < self.sc.net.drop_ppm
            {
                self.stats.dropped += 1;
                return;
            }
            if let Some(f) = self.filter.as_mut() {
                if !f(self.now, from, to, &msg) {
                    self.stats.dropped += 1;
                    return;
                }
            }
        }
        let (lo, hi) = if self.stable {
            self.sc.net.gst_delay_ms
        } else {
            self.sc.net.delay_ms
        };
        let copies = if self.rng.gen_range(0..1_000_000) < self.sc.net.dup_ppm {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = self.now + self.rng.gen_range(lo..=hi);
            self.push(
                at,
                Ev::Deliver {
                    to,
                    msg: msg.clone(),
                },
            );
        }
    }
}
