//! Proposal transport (DESIGN.md §3, `crate::wire`): a proposal with transactions is
//! gossiped as its header and transaction ids, since every validator holds the bodies
//! already; a peer rebuilds the block from its mempool, checked against the header's
//! `tx_count` and `tx_root`, and fetches the whole block — from the peer that sent it, the
//! proposer, then the other validators — when a body is missing or differs, or when the
//! proposal came bare ([`Gossip::ProposalRef`]) because even its ids exceed the gossip
//! limit.

use super::{Action, NodeMachine, Purpose};
use crate::consensus::Input;
use crate::wire::{Gossip, SyncRequest};
use safeledger_core::encoding::to_canonical;
use safeledger_core::{Block, Header, Proposal, PublicKey, Timestamp, Transaction, TxId};
use std::collections::BTreeSet;

/// Most rounds of one height whose large proposal's block a node fetches.
pub const MAX_PROPOSAL_FETCHES: usize = 64;

/// The gossip bytes of a proposal (DESIGN.md §3): with no transactions, the proposal and
/// its block; otherwise its header and transaction ids ([`Gossip::ProposalTxIds`]), since
/// every validator holds the bodies already; and when even those exceed `limit` bytes,
/// the bare proposal ([`Gossip::ProposalRef`]), whose block peers fetch.
pub fn proposal_gossip(p: &Proposal, b: &Block, limit: usize) -> Vec<u8> {
    let msg = if b.txs.is_empty() {
        Gossip::Proposal(p.clone(), Box::new(b.clone()))
    } else {
        let ids = b.txs.iter().map(Transaction::id).collect();
        Gossip::ProposalTxIds(p.clone(), Box::new(b.header.clone()), ids)
    };
    let bytes = to_canonical(&msg);
    if bytes.len() <= limit {
        return bytes;
    }
    tracing::debug!(
        height = p.height,
        round = p.round,
        bytes = bytes.len(),
        "proposal gossiped without its block"
    );
    to_canonical(&Gossip::ProposalRef(p.clone()))
}

/// The rounds of the current height whose block is being fetched.
#[derive(Default)]
pub(super) struct Fetches {
    height: u64,
    rounds: BTreeSet<u32>,
}

impl NodeMachine {
    /// A proposal gossiped as its header and transaction ids ([`Gossip::ProposalTxIds`]):
    /// rebuilds the block from the mempool and feeds it to the core. When a body is not
    /// held here, or the bodies held do not match the header's `tx_count` and `tx_root`,
    /// it fetches the whole block instead (for the current height). Proposals of other
    /// heights than the current and the next are not rebuilt (the core would not take
    /// them); one further ahead still tells which height its proposer reached.
    pub(super) fn rebuild_proposal(
        &mut self,
        now: Timestamp,
        source: PublicKey,
        p: Proposal,
        header: Header,
        ids: Vec<TxId>,
        out: &mut Vec<Action>,
    ) -> anyhow::Result<()> {
        let current = self.core.height();
        let rebuilt = if (current..=current + 1).contains(&p.height)
            && ids.len() == header.tx_count as usize
            && header.hash() == p.block_hash
        {
            self.ctx
                .mempool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .assemble(&ids)
                .filter(|txs| safeledger_core::block::tx_root(txs) == header.tx_root)
        } else {
            None
        };
        if let Some(txs) = rebuilt {
            self.ctx.metrics.proposals_rebuilt.inc();
            let block = Block { header, txs };
            return self.feed(now, Input::Proposal(p, Box::new(block)), out);
        }
        if p.height > self.app.tip.height + 1 {
            let chain = &self.app.genesis.chain_id;
            let signer = p.verify(chain).is_ok().then_some(p.proposer);
            self.note_ahead(p.height, signer);
        }
        tracing::debug!(
            height = p.height,
            round = p.round,
            "proposal not rebuilt from the mempool: fetching its block"
        );
        // Fetched only for the current height (`fetch_proposal` checks).
        self.fetch_proposal(source, p, out);
        Ok(())
    }

    /// A proposal too large to gossip came without its block: fetch the block from the
    /// peer that sent it, then from the proposer, then from the other validators (once per
    /// height and round; only for the current height). The core checks the pair as any
    /// other proposal.
    pub(super) fn fetch_proposal(&mut self, source: PublicKey, p: Proposal, out: &mut Vec<Action>) {
        if p.height != self.core.height() || self.core.decided() {
            return;
        }
        if self.proposals.height != p.height {
            self.proposals = Fetches {
                height: p.height,
                rounds: BTreeSet::new(),
            };
        }
        if self.proposals.rounds.len() >= MAX_PROPOSAL_FETCHES
            || !self.proposals.rounds.insert(p.round)
        {
            return;
        }
        // Any of them may hold it, and one link down must not leave this node without
        // the block.
        let me = self.ctx.node_key;
        let mut from = vec![source];
        for k in std::iter::once(p.proposer).chain(self.live_peers()) {
            if k != me && !from.contains(&k) {
                from.push(k);
            }
        }
        self.ask_next_for_proposal(p.height, p.round, from, out);
    }

    /// Asks the first of `from` for the block of the proposal of (height, round); the
    /// others are asked in turn while the answers fail.
    pub(super) fn ask_next_for_proposal(
        &mut self,
        height: u64,
        round: u32,
        mut from: Vec<PublicKey>,
        out: &mut Vec<Action>,
    ) {
        if from.is_empty() {
            return;
        }
        let peer = from.remove(0);
        out.push(Action::Request {
            peer,
            request: SyncRequest::Proposal { height, round },
            purpose: Purpose::Proposal {
                height,
                round,
                rest: from,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeledger_core::block::Header;
    use safeledger_core::encoding::from_canonical;
    use safeledger_core::ids::EnterpriseId;
    use safeledger_core::records::EnterpriseRecord;
    use safeledger_core::TxPayload;
    use safeledger_core::{Hash, SecretKey, TxBody};

    fn block(txs: Vec<Transaction>) -> Block {
        let proposer = SecretKey::from_bytes(&[7; 32]).public();
        Block {
            header: Header {
                version: 1,
                chain_id: "g".into(),
                height: 3,
                time: Timestamp(1),
                prev_hash: Hash::ZERO,
                tx_root: safeledger_core::block::tx_root(&txs),
                tx_count: txs.len() as u32,
                ledger_root: Hash::ZERO,
                ledger_size: 0,
                state_root: Hash::ZERO,
                results_root: Hash::ZERO,
                validators_hash: Hash::ZERO,
                next_validators_hash: Hash::ZERO,
                proposer,
            },
            txs,
        }
    }

    #[test]
    fn proposals_gossip_as_ids_with_transactions_whole_without_and_bare_over_the_limit() {
        let node = SecretKey::from_bytes(&[7; 32]);
        let officer = SecretKey::from_bytes(&[8; 32]);
        let txs: Vec<Transaction> = (1..=3u64)
            .map(|seq| {
                let body = TxBody::EnterpriseRecord(EnterpriseRecord {
                    enterprise: EnterpriseId::namespaced("g", &format!("e{seq}")).expect("id"),
                    name: "N".repeat(2_000),
                    address: "A".into(),
                    linked_ids: vec![],
                });
                let p = TxPayload::new(
                    "g",
                    seq,
                    Timestamp(1),
                    body,
                    &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seq),
                );
                Transaction::sign(p, &[&officer])
            })
            .collect();
        let full = block(txs.clone());
        let p = Proposal::new("g", &node, 3, 0, None, full.hash());
        let decode = |b: Vec<u8>| from_canonical::<Gossip>(&b).expect("decodes");

        // With transactions: the header and the ids, far smaller than the block.
        let bytes = proposal_gossip(&p, &full, 1 << 20);
        assert!(bytes.len() * 4 < to_canonical(&full).len());
        match decode(bytes) {
            Gossip::ProposalTxIds(q, h, ids) => {
                assert_eq!((q, *h), (p.clone(), full.header.clone()));
                assert_eq!(ids, txs.iter().map(Transaction::id).collect::<Vec<_>>());
            }
            other => panic!("expected ids, got {other:?}"),
        }
        // Without transactions: the whole block.
        let empty = block(vec![]);
        let q = Proposal::new("g", &node, 3, 0, None, empty.hash());
        match decode(proposal_gossip(&q, &empty, 1 << 20)) {
            Gossip::Proposal(r, b) => assert_eq!((r, *b), (q, empty)),
            other => panic!("expected the block, got {other:?}"),
        }
        // Over the limit: the bare proposal.
        match decode(proposal_gossip(&p, &full, 64)) {
            Gossip::ProposalRef(r) => assert_eq!(r, p),
            other => panic!("expected a bare proposal, got {other:?}"),
        }
    }
}
