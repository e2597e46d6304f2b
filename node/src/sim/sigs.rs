//! Signature checking for the simulation: a cache shared by all simulated nodes in front of
//! the real ed25519 check, so that each distinct signed message costs one verification
//! instead of one per node.
//!
//! In [`SigMode::Production`] every node verifies every message itself with
//! [`crate::consensus::Ed25519`] and every commit certificate is checked with
//! `CommitCertificate::verify`, exactly as in the node. In [`SigMode::Cached`] the cache
//! holds (signer, signed bytes, signature) triples that either passed the real check or
//! were produced by real ed25519 signing in front of the simulator (an honest core's
//! effects); anything else is verified for real. A triple is never accepted unless real
//! ed25519 accepts it.

use crate::consensus::SignatureCheck;
use safeledger_core::block::CommitCertificate;
use safeledger_core::genesis::ValidatorSet;
use safeledger_core::{Hash, Proposal, PublicKey, Signature, Vote, VoteType};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// How signatures are checked in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigMode {
    /// Every node verifies every signature; certificates via `CommitCertificate::verify`.
    Production,
    /// A shared cache of real verifications and observed real signatures (see the module
    /// documentation); the first certificate of each height still goes through
    /// `CommitCertificate::verify`.
    Cached,
}

/// What a signature signs, without the chain id (fixed in a run) — cheaper than the
/// canonical signing bytes: (signer, kind 0 proposal / 1 prevote / 2 precommit, round,
/// value or block hash, valid round).
type Signed = (PublicKey, u8, u32, Option<Hash>, Option<u32>);
type Triple = (Signed, [u8; 64]);

fn of_vote(v: &Vote) -> Signed {
    let kind = match v.vote_type {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    };
    (v.validator, kind, v.round, v.value, None)
}

fn of_proposal(p: &Proposal) -> Signed {
    (p.proposer, 0, p.round, Some(p.block_hash), p.valid_round)
}

/// Known-good signatures by height (pruned as heights finish).
#[derive(Default)]
pub struct SigCache {
    good: BTreeMap<u64, BTreeSet<Triple>>,
    /// Real ed25519 verifications performed.
    pub verified: u64,
    /// Checks answered from the cache.
    pub hits: u64,
}

impl SigCache {
    /// True when `signed` at `height` with `sig` is known good, or `verify` (the real
    /// ed25519 check) accepts it.
    fn check(
        &mut self,
        height: u64,
        signed: Signed,
        sig: &Signature,
        verify: impl FnOnce() -> bool,
    ) -> bool {
        let t = (signed, sig.0);
        if self.good.get(&height).is_some_and(|s| s.contains(&t)) {
            self.hits += 1;
            return true;
        }
        self.verified += 1;
        if !verify() {
            return false;
        }
        self.good.entry(height).or_default().insert(t);
        true
    }

    /// Records a vote produced by real signing (the chain id is the run's).
    pub fn observed_vote(&mut self, v: &Vote) {
        let t = (of_vote(v), v.signature.0);
        self.good.entry(v.height).or_default().insert(t);
    }

    /// Records a proposal produced by real signing (the chain id is the run's).
    pub fn observed_proposal(&mut self, p: &Proposal) {
        let t = (of_proposal(p), p.signature.0);
        self.good.entry(p.height).or_default().insert(t);
    }

    /// Forgets heights below `height`.
    pub fn prune_below(&mut self, height: u64) {
        self.good = self.good.split_off(&height);
    }

    /// The checks of `CommitCertificate::verify`, with signatures through the cache.
    pub fn certificate_ok(
        &mut self,
        chain_id: &str,
        cert: &CommitCertificate,
        height: u64,
        vals: &ValidatorSet,
    ) -> bool {
        if cert.height != height {
            return false;
        }
        let msg = Vote::sign_bytes(
            chain_id,
            cert.height,
            cert.round,
            VoteType::Precommit,
            Some(cert.block_hash),
        );
        let mut seen = BTreeSet::new();
        let mut power = 0;
        for s in &cert.signatures {
            let p = vals.power_of(&s.validator);
            if p == 0 || !seen.insert(s.validator) {
                return false;
            }
            let signed = (s.validator, 2, cert.round, Some(cert.block_hash), None);
            let ok = self.check(height, signed, &s.signature, || {
                s.validator.verify(&msg, &s.signature).is_ok()
            });
            if !ok {
                return false;
            }
            power += p;
        }
        vals.is_quorum(power)
    }
}

/// The [`SignatureCheck`] of a simulated node in [`SigMode::Cached`].
pub struct CachedCheck(pub Arc<Mutex<SigCache>>);

impl SignatureCheck for CachedCheck {
    fn vote(&mut self, chain_id: &str, v: &Vote) -> bool {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.check(v.height, of_vote(v), &v.signature, || {
            v.verify(chain_id).is_ok()
        })
    }
    fn proposal(&mut self, chain_id: &str, p: &Proposal) -> bool {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.check(p.height, of_proposal(p), &p.signature, || {
            p.verify(chain_id).is_ok()
        })
    }
}
