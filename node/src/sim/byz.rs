//! Byzantine behaviours layered on a Byzantine node's real core (see
//! [`super::scenario::Byzantine`]).

use super::app::{toy_tx, POISON_SEQUENCE};
use super::world::{Msg, World, SIM_CHAIN_ID};
use rand::Rng;
use safeledger_core::block::{tx_root, CommitCertificate};
use safeledger_core::{Block, Hash, Proposal, SecretKey, Vote, VoteType};

/// Sends `p` to a random half of the peers and a second, different proposal for the same
/// (height, round) to the others (a third of the peers also get the other one, as gossip
/// relays it). The second block carries an extra transaction — a
/// poison one half of the time, making it invalid — or, over the real ledger, a later
/// time.
pub fn equivocate(w: &mut World, i: usize, p: Proposal, b: Block) {
    let key = w.nodes[i].key.clone();
    let mut alt = b.clone();
    if w.sc.ledger {
        alt.header.time.0 += 1;
    } else {
        let poison = w.rng().gen_ratio(1, 2);
        let seq = if poison {
            POISON_SEQUENCE
        } else {
            w.rng().gen_range(1 << 40..1 << 41)
        };
        alt.txs
            .push(toy_tx(SIM_CHAIN_ID, 1_000 + i, seq, alt.header.time));
        alt.header.tx_count = alt.txs.len() as u32;
        alt.header.tx_root = tx_root(&alt.txs);
    }
    let p2 = Proposal::new(
        SIM_CHAIN_ID,
        &key,
        p.height,
        p.round,
        p.valid_round,
        alt.hash(),
    );
    w.check.proposed(p2.height, p2.block_hash);
    let _ = w.check.signed(
        key.public(),
        &crate::consensus::SignedMessage::Proposal(p2.clone()),
    );
    let first = Msg::Proposal(p.clone(), Box::new(b.clone()));
    let second = Msg::Proposal(p2.clone(), Box::new(alt.clone()));
    for to in 0..w.nodes.len() {
        if to == i {
            continue;
        }
        let (m, other) = if w.rng().gen_ratio(1, 2) {
            (first.clone(), second.clone())
        } else {
            (second.clone(), first.clone())
        };
        w.send(i, to, m);
        // Gossip peers relay what they receive: sometimes the other one arrives too.
        if w.rng().gen_ratio(1, 3) {
            w.send(i, to, other);
        }
    }
}

fn random_hash(w: &mut World) -> Hash {
    let mut h = [0u8; 32];
    w.rng().fill(&mut h);
    Hash(h)
}

fn to_random_peer(w: &mut World, i: usize, m: Msg) {
    let n = w.nodes.len();
    let to = (i + w.rng().gen_range(1..n)) % n;
    w.send(i, to, m);
}

/// Alongside each real vote `v` of node `i`, sometimes sends junk (see
/// [`super::scenario::Byzantine::Spam`]).
pub fn spam(w: &mut World, i: usize, v: &Vote) {
    if !w.rng().gen_ratio(1, 2) {
        return;
    }
    let key = w.nodes[i].key.clone();
    let c = SIM_CHAIN_ID;
    let (h, r, t) = (v.height, v.round, v.vote_type);
    match w.rng().gen_range(0..8) {
        0 => {
            // Invalid signature.
            let mut bad = v.clone();
            bad.signature.0[w.rng().gen_range(0..64)] ^= 1;
            to_random_peer(w, i, Msg::Vote(bad));
        }
        1 => {
            // A second vote, for an unknown block: double-signing.
            let x = Vote::new(c, &key, h, r, t, Some(random_hash(w)));
            observe(w, &key, &x);
            w.broadcast(i, Msg::Vote(x));
        }
        2 => {
            // Far-future heights.
            let dh = w.rng().gen_range(2..1_000);
            let x = Vote::new(c, &key, h + dh, r, t, Some(random_hash(w)));
            w.broadcast(i, Msg::Vote(x));
        }
        3 => {
            // Far-future rounds, at this height and the next.
            let dr = w.rng().gen_range(17..10_000);
            let x = Vote::new(c, &key, h, r + dr, t, None);
            w.broadcast(i, Msg::Vote(x));
            let y = Vote::new(c, &key, h + 1, r + dr, VoteType::Precommit, None);
            w.broadcast(i, Msg::Vote(y));
        }
        4 => {
            // A vote forged in an honest validator's name.
            let n = w.vals.validators.len();
            let pick = w.rng().gen_range(0..n);
            let victim = w.vals.validators[pick].key;
            let mut x = Vote::new(c, &key, h, r, t, Some(random_hash(w)));
            x.validator = victim;
            w.broadcast(i, Msg::Vote(x));
        }
        5 => {
            // A vote of a non-validator.
            let outsider = SecretKey::from_bytes(&[0xee; 32]);
            let x = Vote::new(c, &outsider, h, r, t, v.value);
            w.broadcast(i, Msg::Vote(x));
        }
        6 => {
            // Next-height votes for every round it may buffer, twice over (conflicting).
            for round in 0..20 {
                let x = Vote::new(c, &key, h + 1, round, VoteType::Prevote, None);
                let y = Vote::new(
                    c,
                    &key,
                    h + 1,
                    round,
                    VoteType::Prevote,
                    Some(random_hash(w)),
                );
                observe(w, &key, &x);
                observe(w, &key, &y);
                to_random_peer(w, i, Msg::Vote(x));
                to_random_peer(w, i, Msg::Vote(y));
            }
        }
        _ => {
            // A proposal from a node that is not the round's proposer, or with a block
            // that does not match it.
            let block = Block {
                header: safeledger_core::block::Header {
                    version: 0,
                    chain_id: c.to_string(),
                    height: h,
                    time: safeledger_core::Timestamp(0),
                    prev_hash: Hash::ZERO,
                    tx_root: Hash::ZERO,
                    tx_count: 0,
                    ledger_root: Hash::ZERO,
                    ledger_size: 0,
                    state_root: Hash::ZERO,
                    results_root: Hash::ZERO,
                    validators_hash: Hash::ZERO,
                    next_validators_hash: Hash::ZERO,
                    proposer: key.public(),
                },
                txs: Vec::new(),
            };
            let x = Proposal::new(c, &key, h, r + 1, None, random_hash(w));
            w.broadcast(i, Msg::Proposal(x, Box::new(block)));
        }
    }
}

fn observe(w: &mut World, key: &SecretKey, v: &Vote) {
    let _ = w.check.signed(
        key.public(),
        &crate::consensus::SignedMessage::Vote(v.clone()),
    );
}

/// A lying sync peer `j`: forges the first block or its certificate.
pub fn lie(w: &mut World, j: usize, blocks: &mut [(Block, CommitCertificate)]) {
    let _ = j;
    let Some((b, c)) = blocks.first_mut() else {
        return;
    };
    match w.rng().gen_range(0..3) {
        0 => b.header.time.0 += 1,
        1 => c.signatures.truncate(1),
        _ => {
            if let Some(s) = c.signatures.first_mut() {
                s.signature.0[0] ^= 1;
            }
        }
    }
}
