//! The properties checked on every step of a simulated run.
//!
//! - **Agreement**: no two nodes decide (or sync) different blocks at one height.
//! - **Validity**: a decided block was proposed, and the deciding node's application
//!   judges it valid just before committing it.
//! - **Certificates**: every commit certificate — of a decision or of a synced block —
//!   verifies (`CommitCertificate::verify`, or the same checks through the shared
//!   signature cache; see [`super::sigs`]).
//! - **No double-sign**: an honest validator never signs two different messages for one
//!   (height, round, step), across crashes — every signed message in a `Persist` or
//!   broadcast effect is compared with the first one seen for its slot.
//! - **Persist before send**: a node's own message leaves only when its persisted state has
//!   signed that (height, round, step) or a later one.
//! - **Locks only move forward**: within a height, a node's persisted lock round never
//!   decreases and the lock is never dropped.
//! - **Evidence**: every reported double-sign verifies and names a Byzantine validator.

use super::sigs::{SigCache, SigMode};
use crate::consensus::{PrivState, SignedMessage};
use safeledger_core::block::CommitCertificate;
use safeledger_core::evidence::DoubleSign;
use safeledger_core::genesis::ValidatorSet;
use safeledger_core::{Block, Hash, PublicKey};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// A broken property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property.
    pub property: &'static str,
    /// What happened.
    pub detail: String,
}

fn fail<T>(property: &'static str, detail: String) -> Result<T, Violation> {
    Err(Violation { property, detail })
}

/// What the checker has seen.
pub struct Checker {
    chain_id: String,
    vals: ValidatorSet,
    byzantine: BTreeSet<PublicKey>,
    mode: SigMode,
    cache: Arc<Mutex<SigCache>>,
    decided: BTreeMap<u64, Hash>,
    proposed: BTreeMap<u64, BTreeSet<Hash>>,
    signed: BTreeMap<(PublicKey, u64, u32, crate::consensus::Step), SignedMessage>,
    certified: BTreeSet<u64>,
    locks: BTreeMap<usize, (u64, u32)>,
    /// Evidence reports (all verified).
    pub evidence: u64,
    /// Distinct offenders reported.
    pub offenders: BTreeSet<PublicKey>,
    /// Synced blocks refused for a bad certificate or an invalid block.
    pub sync_refusals: u64,
}

impl Checker {
    /// A checker for one run.
    pub fn new(
        chain_id: &str,
        vals: ValidatorSet,
        byzantine: BTreeSet<PublicKey>,
        mode: SigMode,
        cache: Arc<Mutex<SigCache>>,
    ) -> Checker {
        Checker {
            chain_id: chain_id.to_string(),
            vals,
            byzantine,
            mode,
            cache,
            decided: BTreeMap::new(),
            proposed: BTreeMap::new(),
            signed: BTreeMap::new(),
            certified: BTreeSet::new(),
            locks: BTreeMap::new(),
            evidence: 0,
            offenders: BTreeSet::new(),
            sync_refusals: 0,
        }
    }

    /// The block decided at `height`, if any node decided it.
    pub fn decided_at(&self, height: u64) -> Option<Hash> {
        self.decided.get(&height).copied()
    }

    /// Heights decided so far.
    pub fn decided_heights(&self) -> u64 {
        self.decided.len() as u64
    }

    /// Records a proposed block (by an honest core or a Byzantine node).
    pub fn proposed(&mut self, height: u64, hash: Hash) {
        self.proposed.entry(height).or_default().insert(hash);
    }

    /// Forgets what is only needed for heights below `height`.
    pub fn prune_below(&mut self, height: u64) {
        self.proposed = self.proposed.split_off(&height);
        let keep: BTreeMap<_, _> = std::mem::take(&mut self.signed)
            .into_iter()
            .filter(|((_, h, _, _), _)| *h >= height)
            .collect();
        self.signed = keep;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .prune_below(height);
    }

    /// A message signed by `key` appeared in an effect (persisted or broadcast).
    pub fn signed(&mut self, key: PublicKey, m: &SignedMessage) -> Result<(), Violation> {
        {
            let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match m {
                SignedMessage::Proposal(p) => c.observed_proposal(p),
                SignedMessage::Vote(v) => c.observed_vote(v),
            }
        }
        if self.byzantine.contains(&key) {
            return Ok(());
        }
        let (h, r, s) = m.hrs();
        match self.signed.get(&(key, h, r, s)) {
            None => {
                self.signed.insert((key, h, r, s), m.clone());
                Ok(())
            }
            Some(first) if first == m => Ok(()),
            Some(first) => fail(
                "no double-sign",
                format!("honest {key:?} signed {first:?} and then {m:?}"),
            ),
        }
    }

    /// Node `node` (key `key`) lost its signing state with its data directory while its
    /// peers had committed `floor`. What it signed above `floor` is forgotten: it may sign
    /// those slots again — the documented exposure of a wiped signing state
    /// (ARCHITECTURE.md "Wiped data directory": only heights its peers committed are
    /// protected, by `min_sign_height`). What it signed at or below `floor` is kept, so
    /// signing there again is still a double-sign.
    pub fn wiped(&mut self, node: usize, key: PublicKey, floor: u64) {
        self.signed
            .retain(|(k, h, _, _), _| *k != key || *h <= floor);
        self.locks.remove(&node);
    }

    /// Node `node` persists `state`: its lock must not move back within a height.
    pub fn persisted(&mut self, node: usize, state: &PrivState) -> Result<(), Violation> {
        let old = self.locks.get(&node).copied();
        let new = state.locked.map(|(h, r, _)| (h, r));
        match (old, new) {
            (Some((oh, or)), Some((nh, nr))) if nh == oh && nr < or => fail(
                "lock only moves forward",
                format!("node {node} moved its lock at height {nh} from round {or} to {nr}"),
            ),
            (Some((oh, _)), None) if state.round_at(oh).is_some() => fail(
                "lock only moves forward",
                format!("node {node} dropped its lock at height {oh}"),
            ),
            (_, Some(l)) => {
                self.locks.insert(node, l);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Node's own message `m` is being sent while `persisted` is its durable state.
    pub fn sent_own(&self, persisted: &PrivState, m: &SignedMessage) -> Result<(), Violation> {
        let ok = persisted
            .last_signed
            .as_ref()
            .is_some_and(|last| last.hrs() > m.hrs() || last == m);
        if ok {
            Ok(())
        } else {
            fail(
                "persist before send",
                format!(
                    "sent {m:?} with persisted last_signed {:?}",
                    persisted.last_signed
                ),
            )
        }
    }

    fn certificate(
        &mut self,
        cert: &CommitCertificate,
        h: u64,
        hash: Hash,
    ) -> Result<(), Violation> {
        if cert.block_hash != hash {
            return fail(
                "certificate",
                format!("certificate of {h} is for another block"),
            );
        }
        let full = self.mode == SigMode::Production || self.certified.insert(h);
        let ok = if full {
            cert.verify(&self.chain_id, h, &hash, &self.vals).is_ok()
        } else {
            self.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .certificate_ok(&self.chain_id, cert, h, &self.vals)
        };
        if ok {
            Ok(())
        } else {
            fail(
                "certificate",
                format!("certificate of height {h} does not verify"),
            )
        }
    }

    fn agree(&mut self, node: usize, h: u64, hash: Hash) -> Result<(), Violation> {
        match self.decided.get(&h) {
            Some(d) if *d != hash => fail(
                "agreement",
                format!("node {node} committed {hash:?} at height {h}, another node {d:?}"),
            ),
            Some(_) => Ok(()),
            None => {
                self.decided.insert(h, hash);
                Ok(())
            }
        }
    }

    /// Node `node` decided `block` (whose hash is `hash`) with `cert`; `valid` is its
    /// application's judgement.
    pub fn decided(
        &mut self,
        node: usize,
        block: &Block,
        hash: Hash,
        cert: &CommitCertificate,
        valid: bool,
    ) -> Result<(), Violation> {
        let h = block.header.height;
        if !self.proposed.get(&h).is_some_and(|s| s.contains(&hash)) {
            return fail(
                "validity",
                format!("node {node} decided an unproposed block at {h}"),
            );
        }
        if !valid {
            return fail(
                "validity",
                format!("node {node} decided an invalid block at {h}"),
            );
        }
        self.certificate(cert, h, hash)?;
        self.agree(node, h, hash)
    }

    /// Node `node` committed a synced block after checking it.
    pub fn synced(
        &mut self,
        node: usize,
        block: &Block,
        cert: &CommitCertificate,
    ) -> Result<(), Violation> {
        let (h, hash) = (block.header.height, block.hash());
        self.certificate(cert, h, hash)?;
        self.agree(node, h, hash)
    }

    /// Node `node` reported evidence.
    pub fn evidence(&mut self, node: usize, e: &DoubleSign) -> Result<(), Violation> {
        if let Err(err) = e.verify(&self.chain_id, &self.vals) {
            return fail(
                "evidence",
                format!("node {node} reported bad evidence: {err}"),
            );
        }
        let who = e.offender();
        if !self.byzantine.contains(&who) {
            return fail("evidence", format!("node {node} accused honest {who:?}"));
        }
        self.evidence += 1;
        self.offenders.insert(who);
        Ok(())
    }
}
