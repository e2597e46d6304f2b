//! The simulated network of a machine run: gossip and requests delivered with the
//! scenario's delays, lost before GST with its loss rate, cut by partitions; a request that
//! gets no answer times out as the network's would; a lying sync peer forges its answers.

use super::super::check::Violation;
use super::{Ev, MachineWorld, Role, REQUEST_TIMEOUT_MS};
use crate::consensus::SignedMessage;
use crate::machine::Purpose;
use crate::wire::{Gossip, SyncRequest, SyncResponse};
use rand::Rng;
use safeledger_core::encoding::{from_canonical, to_canonical};
use safeledger_core::PublicKey;
use safeledger_network::Topic;
use std::collections::BTreeSet;
use std::sync::Arc;

impl MachineWorld {
    /// A lying sync peer's answer to a block request: the blocks with a forged
    /// certificate (signatures of another height).
    pub(super) fn forge(&mut self, i: usize, resp: SyncResponse) -> SyncResponse {
        match (self.nodes[i].role, resp) {
            (Role::LyingSync, SyncResponse::Blocks(mut blocks)) if !blocks.is_empty() => {
                self.hits.lies_served += 1;
                for (_, cert) in blocks.iter_mut() {
                    cert.height += 1;
                }
                SyncResponse::Blocks(blocks)
            }
            (_, resp) => resp,
        }
    }

    pub(super) fn reachable(&self, a: usize, b: usize) -> bool {
        match &self.partition {
            Some(g) => g[a] == g[b],
            None => true,
        }
    }

    pub(super) fn delay(&mut self) -> u64 {
        let (lo, hi) = if self.stable {
            (1, self.sc.max_delay_ms.min(200))
        } else {
            (1, self.sc.max_delay_ms)
        };
        self.rng.gen_range(lo..=hi.max(lo))
    }

    pub(super) fn lost(&mut self) -> bool {
        !self.stable && self.sc.loss > 0.0 && self.rng.gen_bool(self.sc.loss)
    }

    pub(super) fn publish(
        &mut self,
        i: usize,
        topic: Topic,
        bytes: Vec<u8>,
    ) -> Result<(), Violation> {
        if topic == Topic::Consensus {
            let persisted = self.nodes[i].persisted.clone().unwrap_or_default();
            let signed = match from_canonical::<Gossip>(&bytes) {
                Ok(Gossip::Vote(v)) => Some(SignedMessage::Vote(v)),
                Ok(Gossip::Proposal(p, _))
                | Ok(Gossip::ProposalRef(p))
                | Ok(Gossip::ProposalTxIds(p, _, _)) => {
                    self.check.proposed(p.height, p.block_hash);
                    Some(SignedMessage::Proposal(p))
                }
                _ => None,
            };
            if let Some(m) = signed {
                self.check_signed(i, &m)?;
                self.check.sent_own(&persisted, &m)?;
            }
            if matches!(
                from_canonical::<Gossip>(&bytes),
                Ok(Gossip::ProposalTxIds(..))
            ) {
                self.hits.proposals_as_ids += 1;
            }
        }
        let from = self.nodes[i].key.public();
        let data = Arc::new(bytes);
        for to in 0..self.nodes.len() {
            if to == i || !self.reachable(i, to) || self.lost() {
                continue;
            }
            if topic == Topic::Transactions && self.sc.lacking == Some(to) && !self.stable {
                continue;
            }
            let at = self.now + self.delay();
            self.push(
                at,
                Ev::Gossip {
                    to,
                    from,
                    data: data.clone(),
                },
            );
        }
        Ok(())
    }

    pub(super) fn request(
        &mut self,
        i: usize,
        peer: PublicKey,
        request: SyncRequest,
        purpose: Purpose,
    ) {
        let inc = self.nodes[i].inc;
        let target = self.nodes.iter().position(|n| n.key.public() == peer);
        match target {
            Some(j) if self.reachable(i, j) && !self.lost() => {
                let at = self.now + self.delay();
                self.push(
                    at,
                    Ev::Request {
                        to: j,
                        from: i,
                        from_inc: inc,
                        data: to_canonical(&request),
                        purpose,
                    },
                );
            }
            _ => self.push(
                self.now + REQUEST_TIMEOUT_MS,
                Ev::Response {
                    to: i,
                    inc,
                    from: peer,
                    purpose,
                    response: None,
                },
            ),
        }
    }

    /// Peers node `i` cannot reach now (the partition), handed to it as the shell's
    /// partition filter would.
    pub(super) fn cut_for(&self, i: usize) -> BTreeSet<PublicKey> {
        (0..self.nodes.len())
            .filter(|j| !self.reachable(i, *j))
            .map(|j| self.nodes[j].key.public())
            .collect()
    }
}
