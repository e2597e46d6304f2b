//! What the shell would do with a machine's actions, done in simulated time and checked:
//! signing state and consensus log kept for the next incarnation, gossip and requests
//! handed to the simulated network, timers queued; every signed message, persisted state
//! and commit goes through the checker.

use super::{Asker, Ev, MachineWorld, Violation, REQUEST_TIMEOUT_MS};
use crate::consensus::SignedMessage;
use crate::machine::Action;
use crate::sim::world::mix;

impl MachineWorld {
    /// Checks the blocks node `i` committed above `before`.
    pub(super) fn check_commits(&mut self, i: usize, before: u64) -> Result<(), Violation> {
        let Some(m) = self.nodes[i].machine.as_ref() else {
            return Ok(());
        };
        let app = m.app();
        let after = app.tip.height;
        for h in before + 1..=after {
            let (Ok(Some(block)), Ok(Some(cert))) = (app.store.block(h), app.store.certificate(h))
            else {
                return Err(Violation {
                    property: "commit",
                    detail: format!("node {i} committed height {h} without its block"),
                });
            };
            let hash = block.hash();
            if !block.txs.is_empty() {
                self.hits.blocks_with_txs += 1;
            }
            self.check.decided(i, &block, hash, &cert, true)?;
            self.trace = mix(self.trace, hash.0[0] as u64 ^ (i as u64) << 8);
        }
        Ok(())
    }

    /// Checks a signed message the node publishes or persists.
    pub(super) fn check_signed(&mut self, i: usize, m: &SignedMessage) -> Result<(), Violation> {
        let key = self.nodes[i].key.public();
        self.check.signed(key, m)?;
        if let Some(&floor) = self.wiped_at.get(&i) {
            if m.hrs().0 <= floor {
                return Err(Violation {
                    property: "wiped key",
                    detail: format!(
                        "node {i}, wiped while others had committed {floor}, signed at height {}",
                        m.hrs().0
                    ),
                });
            }
        }
        Ok(())
    }

    pub(super) fn perform(
        &mut self,
        i: usize,
        action: Action,
        asker: &mut Option<Asker>,
    ) -> Result<(), Violation> {
        match action {
            Action::Persist(state) => {
                if let Some(m) = &state.last_signed {
                    self.check_signed(i, m)?;
                }
                self.check.persisted(i, &state)?;
                self.nodes[i].persisted = Some(*state);
                if self.nodes[i].crash_after_persist {
                    self.hits.crashes_after_persist += 1;
                    self.crash(i);
                }
            }
            Action::LogHeight(h) => {
                let wal = &mut self.nodes[i].wal;
                wal.retain(|k, _| *k >= h);
                wal.entry(h).or_default();
            }
            Action::Log(m) => {
                if let Some((_, log)) = self.nodes[i].wal.iter_mut().next_back() {
                    log.push(m);
                }
            }
            Action::Publish(topic, bytes) => self.publish(i, topic, bytes)?,
            Action::Request {
                peer,
                request,
                purpose,
            } => self.request(i, peer, request, purpose),
            Action::Reply(resp) => {
                if let Some(a) = asker.take() {
                    let resp = self.forge(i, resp);
                    let from = self.nodes[i].key.public();
                    let lost = !self.reachable(i, a.node);
                    let at = if lost {
                        self.now + REQUEST_TIMEOUT_MS
                    } else {
                        self.now + self.delay()
                    };
                    self.push(
                        at,
                        Ev::Response {
                            to: a.node,
                            inc: a.inc,
                            from,
                            purpose: a.purpose,
                            response: (!lost).then_some(resp),
                        },
                    );
                }
            }
            Action::ScheduleTimeout(t, ms) => {
                let inc = self.nodes[i].inc;
                self.push(self.now + ms, Ev::Timeout { node: i, inc, t });
            }
            Action::NextHeightIn(ms) => {
                let n = &mut self.nodes[i];
                n.height_gen += 1;
                let (inc, generation) = (n.inc, n.height_gen);
                if let Some(ms) = ms {
                    self.push(
                        self.now + ms,
                        Ev::HeightDue {
                            node: i,
                            inc,
                            generation,
                        },
                    );
                }
            }
            Action::AddPeer(_) | Action::Status(_) => {}
        }
        Ok(())
    }
}
