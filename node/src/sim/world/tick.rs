//! What the driver does on every tick (`shell::TICK`): block sync from the highest
//! reachable peer that is ahead (each certificate checked with
//! `CommitCertificate::verify`, a peer serving bad data banned for `machine::SYNC_BAN_MS`), and
//! vote sync — re-sending `Consensus::resend_set()` once a height is slow.

use super::{byz, Ev, Msg, World, RESEND_AFTER_MS, SIM_CHAIN_ID, SYNC_BAN_MS, SYNC_BLOCKS};
use crate::sim::check::Violation;
use crate::sim::scenario::Byzantine;
use rand::Rng;
use safeledger_core::block::CommitCertificate;
use safeledger_core::Block;

impl World {
    pub(super) fn tick(&mut self, i: usize) -> Result<(), Violation> {
        // Block sync: ask the highest reachable peer that is ahead.
        let mine = self.nodes[i].app.height();
        let now = self.now;
        self.nodes[i].banned.retain(|_, until| *until > now);
        if !self.nodes[i].syncing {
            let mut best: Option<(u64, usize)> = None;
            for j in 0..self.nodes.len() {
                let lost = !self.stable
                    && (!self.reachable(i, j)
                        || self.rng.gen_range(0..1_000_000) < self.sc.net.drop_ppm);
                let banned = self.nodes[i].banned.contains_key(&j);
                if j == i || self.nodes[j].core.is_none() || lost || banned {
                    continue;
                }
                let h = self.nodes[j].app.height();
                if h > mine && best.is_none_or(|(bh, _)| h > bh) {
                    best = Some((h, j));
                }
            }
            if let Some((theirs, j)) = best {
                let mut blocks: Vec<_> = (mine + 1..=theirs.min(mine + SYNC_BLOCKS))
                    .filter_map(|h| self.nodes[j].app.committed(h))
                    .collect();
                if self.nodes[j].byz == Some(Byzantine::LyingSync) {
                    byz::lie(self, j, &mut blocks);
                }
                self.nodes[i].syncing = true;
                let (lo, hi) = self.delay_range();
                let at = self.now + 2 * self.rng.gen_range(lo..=hi);
                let inc = self.nodes[i].inc;
                self.push(
                    at,
                    Ev::SyncReply {
                        node: i,
                        inc,
                        from: j,
                        blocks,
                    },
                );
            }
        }
        // Vote sync: re-send the current round's messages once the height is slow.
        let slow = self.now.saturating_sub(self.nodes[i].height_started) > RESEND_AFTER_MS;
        if self.sc.resend && slow {
            if let Some(core) = self.nodes[i].core.as_ref().filter(|c| !c.decided()) {
                let (props, votes) = core.resend_set();
                for (p, b) in props {
                    self.broadcast(i, Msg::Proposal(p, Box::new(b)));
                }
                for v in votes {
                    self.broadcast(i, Msg::Vote(v));
                }
            }
        }
        Ok(())
    }

    fn delay_range(&self) -> (u64, u64) {
        if self.stable {
            self.sc.net.gst_delay_ms
        } else {
            self.sc.net.delay_ms
        }
    }

    pub(super) fn sync_reply(
        &mut self,
        i: usize,
        from: usize,
        blocks: Vec<(Block, CommitCertificate)>,
    ) -> Result<(), Violation> {
        self.nodes[i].syncing = false;
        let mut applied = 0;
        for (block, cert) in blocks {
            let h = block.header.height;
            if h != self.nodes[i].app.height() + 1 {
                continue;
            }
            let hash = block.hash();
            if cert.verify(SIM_CHAIN_ID, h, &hash, &self.vals).is_err()
                || !self.nodes[i].app.valid(&block)
            {
                self.check.sync_refusals += 1;
                self.nodes[i].banned.insert(from, self.now + SYNC_BAN_MS);
                break;
            }
            self.check.synced(i, &block, &cert)?;
            self.nodes[i].app.commit(&block, &cert);
            self.stats.synced_blocks += 1;
            applied += 1;
        }
        let behind = self.nodes[i]
            .core
            .as_ref()
            .is_some_and(|c| c.height() <= self.nodes[i].app.height());
        if applied > 0 && behind {
            self.maybe_prune();
            self.start_next(i)?;
        }
        Ok(())
    }
}
