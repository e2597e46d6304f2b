//! Who is calling the gRPC API, and what they may do (issue 8, items 1–2).
//!
//! A request is authenticated by an ed25519 signature of its caller over the chain id, the
//! method, the body, a timestamp and a nonce (`safeledger_client::auth`). Here the node
//! checks the timestamp against its clock (at most [`MAX_REQUEST_SKEW`] apart), refuses a
//! `(signer, nonce)` seen before inside that window ([`ReplayCache`], bounded by
//! [`MAX_REMEMBERED_NONCES`]), and resolves the signer to a role:
//!
//! | role    | who                                            | may                                           |
//! |---------|------------------------------------------------|-----------------------------------------------|
//! | public  | no authentication                              | `Status`, `GetCheckpoint`, `GetConsistencyProof` |
//! | auditor | a key in genesis `auditors`                    | the above, `GetView` (public fields only), `GetLedgerInclusion`, `GetStateProof` |
//! | officer | a current officer in the on-chain registry     | everything; private fields its agency holds or was granted; `StorePrivate` at its own agency's node |
//!
//! The registry is read at each request, so a revocation committed at height h refuses
//! the officer's next request after h. Refusals: `UNAUTHENTICATED` (no, bad, stale or
//! replayed authentication; an unknown key) or `PERMISSION_DENIED` (a known caller without
//! the right: revoked officer, auditor asking for blocks or private fields), each with the
//! reason.

use crate::app::StoreView;
use crate::machine::Context;
use safeledger_client::auth::{self, Credentials};
use safeledger_core::PublicKey;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tonic::{Request, Status};

/// Largest difference between a request's timestamp and the node's clock.
pub const MAX_REQUEST_SKEW: Duration = Duration::from_secs(60);
/// Most `(signer, nonce)` pairs remembered; past it, requests are refused
/// `RESOURCE_EXHAUSTED` until old ones leave the skew window.
pub const MAX_REMEMBERED_NONCES: usize = 500_000;

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// No authentication.
    Public,
    /// An auditor of the genesis.
    Auditor {
        /// Its id.
        id: String,
        /// Its key.
        key: PublicKey,
    },
    /// A current officer.
    Officer {
        /// Its agency.
        agency: String,
        /// Its key.
        key: PublicKey,
    },
}

impl Caller {
    /// A short description for refusals and logs.
    pub fn describe(&self) -> String {
        match self {
            Caller::Public => "an unauthenticated caller".into(),
            Caller::Auditor { id, .. } => format!("auditor {id}"),
            Caller::Officer { agency, key } => format!("officer {key} of {agency}"),
        }
    }

    /// The officer's agency, when the caller is one.
    pub fn agency(&self) -> Option<&str> {
        match self {
            Caller::Officer { agency, .. } => Some(agency),
            _ => None,
        }
    }
}

/// Nonces seen inside the skew window, oldest first; bounded.
#[derive(Default)]
pub struct ReplayCache {
    seen: HashSet<[u8; 48]>,
    order: VecDeque<(u64, [u8; 48])>,
}

/// Why a nonce was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum NonceError {
    /// Seen before inside the window.
    Replayed,
    /// The cache is full of nonces still inside the window.
    Full,
}

impl ReplayCache {
    /// Records `(signer, nonce)` sent at `timestamp_ms`, first forgetting pairs older than
    /// `now_ms - window_ms` (which the timestamp check refuses anyway).
    pub fn insert(
        &mut self,
        c: &Credentials,
        now_ms: u64,
        window_ms: u64,
    ) -> Result<(), NonceError> {
        let horizon = now_ms.saturating_sub(window_ms);
        while let Some((t, k)) = self.order.front().copied() {
            if t >= horizon {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&k);
        }
        let mut k = [0u8; 48];
        k[..32].copy_from_slice(&c.signer.0);
        k[32..].copy_from_slice(&c.nonce);
        if self.seen.contains(&k) {
            return Err(NonceError::Replayed);
        }
        if self.seen.len() >= MAX_REMEMBERED_NONCES {
            return Err(NonceError::Full);
        }
        self.seen.insert(k);
        // Expire by the later of the two clocks so a request stamped in the past is not
        // forgotten before its timestamp leaves the window.
        self.order.push_back((c.timestamp_ms.max(now_ms), k));
        Ok(())
    }

    /// Pairs remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when none are.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The request authenticator of one node.
#[derive(Default)]
pub struct Authenticator {
    replay: Mutex<ReplayCache>,
}

impl Authenticator {
    /// Authenticates `req` for `method` and resolves its caller.
    ///
    /// Errors: `UNAUTHENTICATED` for a malformed, incomplete, wrong, stale or replayed
    /// authentication, or a key that is neither an officer nor an auditor;
    /// `PERMISSION_DENIED` for a revoked officer (or one of a removed agency);
    /// `RESOURCE_EXHAUSTED` when the nonce cache is full.
    pub fn caller<T: prost::Message>(
        &self,
        shared: &Context,
        req: &Request<T>,
        method: &str,
    ) -> Result<Caller, Status> {
        let creds = match auth::verify(req, method, &shared.genesis.chain_id) {
            Ok(None) => return Ok(Caller::Public),
            Ok(Some(c)) => c,
            Err(e) => return Err(Status::unauthenticated(e.to_string())),
        };
        let now = auth::now_ms();
        let skew = MAX_REQUEST_SKEW.as_millis() as u64;
        if creds.timestamp_ms.abs_diff(now) > skew {
            return Err(Status::unauthenticated(format!(
                "stale request: its timestamp {} ms is {} ms from this node's clock {now} ms \
                 (at most {skew} ms allowed); check the caller's clock",
                creds.timestamp_ms,
                creds.timestamp_ms.abs_diff(now)
            )));
        }
        let caller = self.resolve(shared, &creds.signer)?;
        let inserted = match self.replay.lock() {
            Ok(mut cache) => cache.insert(&creds, now, 2 * skew),
            Err(_) => return Err(Status::internal("replay cache poisoned")),
        };
        match inserted {
            Ok(()) => Ok(caller),
            Err(NonceError::Replayed) => Err(Status::unauthenticated(format!(
                "replayed request: nonce {} of {} was already used",
                hex::encode(creds.nonce),
                creds.signer
            ))),
            Err(NonceError::Full) => Err(Status::resource_exhausted(
                "too many recent requests to remember their nonces: retry shortly",
            )),
        }
    }

    /// The role of a verified signer.
    fn resolve(&self, shared: &Context, key: &PublicKey) -> Result<Caller, Status> {
        if let Some(a) = shared.genesis.auditor(key) {
            return Ok(Caller::Auditor {
                id: a.id.clone(),
                key: *key,
            });
        }
        let view = StoreView(&shared.store);
        match shared.registry.officer(&view, key) {
            Ok(o) => Ok(Caller::Officer {
                agency: o.agency,
                key: *key,
            }),
            // A known officer who lost the right: revoked, or of a removed agency.
            Err(why) if why.was_registered() => Err(Status::permission_denied(why.to_string())),
            // Neither in genesis nor ever registered on chain: nobody we know.
            Err(why) => Err(Status::unauthenticated(why.to_string())),
        }
    }
}

/// `PERMISSION_DENIED` unless `caller` is an officer; `UNAUTHENTICATED` when it is public.
pub fn require_officer(caller: &Caller, what: &str) -> Result<(), Status> {
    match caller {
        Caller::Officer { .. } => Ok(()),
        Caller::Public => Err(Status::unauthenticated(format!(
            "{what} needs a signed request by an officer (see safeledger_client::auth)"
        ))),
        Caller::Auditor { id, .. } => Err(Status::permission_denied(format!(
            "auditor {id} may read views, checkpoints and proofs, not {what}"
        ))),
    }
}

/// `UNAUTHENTICATED` when `caller` is public (auditors and officers pass).
pub fn require_reader(caller: &Caller, what: &str) -> Result<(), Status> {
    match caller {
        Caller::Public => Err(Status::unauthenticated(format!(
            "{what} needs a signed request by an auditor or officer (see \
             safeledger_client::auth)"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(n: u8, t: u64) -> Credentials {
        Credentials {
            signer: PublicKey([1; 32]),
            timestamp_ms: t,
            nonce: [n; 16],
        }
    }

    #[test]
    fn a_nonce_is_refused_the_second_time_and_forgotten_after_the_window() {
        let mut c = ReplayCache::default();
        assert_eq!(c.insert(&creds(1, 1_000), 1_000, 100), Ok(()));
        assert_eq!(
            c.insert(&creds(1, 1_000), 1_050, 100),
            Err(NonceError::Replayed)
        );
        assert_eq!(c.insert(&creds(2, 1_000), 1_050, 100), Ok(()));
        // Past the window both are forgotten (the timestamp check refuses such requests).
        assert_eq!(c.insert(&creds(3, 1_200), 1_200, 100), Ok(()));
        assert_eq!(c.len(), 1);
        // Another signer may use the same nonce.
        let mut other = creds(3, 1_200);
        other.signer = PublicKey([2; 32]);
        assert_eq!(c.insert(&other, 1_200, 100), Ok(()));
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = ReplayCache::default();
        for i in 0..MAX_REMEMBERED_NONCES as u64 {
            let mut k = creds(0, 10);
            k.nonce[..8].copy_from_slice(&i.to_be_bytes());
            assert_eq!(c.insert(&k, 10, 100), Ok(()));
        }
        assert_eq!(c.insert(&creds(9, 10), 10, 100), Err(NonceError::Full));
        // Once the window passes, room is made.
        assert_eq!(c.insert(&creds(9, 200), 200, 100), Ok(()));
        assert_eq!(c.len(), 1);
    }
}
