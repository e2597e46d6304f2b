//! Authenticated API requests (issue 8, item 1).
//!
//! Every gRPC request that is not public carries four metadata entries:
//!
//! | key            | value                                              |
//! |----------------|----------------------------------------------------|
//! | `sl-signer`    | the caller's ed25519 public key, 64 hex characters |
//! | `sl-timestamp` | the caller's clock, milliseconds since the epoch   |
//! | `sl-nonce`     | 16 random bytes, 32 hex characters                 |
//! | `sl-signature` | ed25519 signature, 128 hex characters              |
//!
//! The signature is over [`request_digest`]: the [`Domain::ApiRequest`] BLAKE3 hash of the
//! chain id, the full gRPC method path (`/safeledger.v1.Ledger/SubmitBatch`), the BLAKE3 hash
//! of the request message's protobuf encoding, the timestamp and the nonce, each
//! length-prefixed. The node recomputes the body hash from the message it decoded (prost
//! encodes a message deterministically), so a signature covers exactly what is served.
//!
//! Why signed requests rather than mutual TLS with keys pinned in genesis: officers and
//! auditors already hold ed25519 keys registered in genesis and on chain, and officer
//! revocation by transaction must take effect at once — a signature is checked against the
//! registry as it stands at each request, while a TLS session would outlive a revocation and
//! would need a certificate per officer. A signature also names the caller in the request
//! itself, so a node can log exactly who read what. Replays are refused by the node: a
//! timestamp outside its skew window, or a `(signer, nonce)` seen inside that window.

use safeledger_core::hash::Domain;
use safeledger_core::{Hash, PublicKey, SecretKey, Signature};
use tonic::metadata::MetadataMap;
use tonic::Request;

/// Metadata key of the caller's public key.
pub const SIGNER: &str = "sl-signer";
/// Metadata key of the request timestamp (ms since the epoch).
pub const TIMESTAMP: &str = "sl-timestamp";
/// Metadata key of the request nonce.
pub const NONCE: &str = "sl-nonce";
/// Metadata key of the request signature.
pub const SIGNATURE: &str = "sl-signature";

/// Full gRPC method paths of the `Ledger` service, as signed.
pub mod method {
    /// `Status`.
    pub const STATUS: &str = "/safeledger.v1.Ledger/Status";
    /// `SubmitBatch`.
    pub const SUBMIT_BATCH: &str = "/safeledger.v1.Ledger/SubmitBatch";
    /// `AwaitCommit`.
    pub const AWAIT_COMMIT: &str = "/safeledger.v1.Ledger/AwaitCommit";
    /// `GetBlock`.
    pub const GET_BLOCK: &str = "/safeledger.v1.Ledger/GetBlock";
    /// `ListBlockHeaders`.
    pub const LIST_BLOCK_HEADERS: &str = "/safeledger.v1.Ledger/ListBlockHeaders";
    /// `GetTransaction`.
    pub const GET_TRANSACTION: &str = "/safeledger.v1.Ledger/GetTransaction";
    /// `GetEnterprise`.
    pub const GET_ENTERPRISE: &str = "/safeledger.v1.Ledger/GetEnterprise";
    /// `PutEvidence` (the signature covers the first message).
    pub const PUT_EVIDENCE: &str = "/safeledger.v1.Ledger/PutEvidence";
    /// `GetEvidence`.
    pub const GET_EVIDENCE: &str = "/safeledger.v1.Ledger/GetEvidence";
    /// `SubmitTip` (public).
    pub const SUBMIT_TIP: &str = "/safeledger.v1.Ledger/SubmitTip";
    /// `GetTipStatus` (public).
    pub const GET_TIP_STATUS: &str = "/safeledger.v1.Ledger/GetTipStatus";
    /// `GetSequence`.
    pub const GET_SEQUENCE: &str = "/safeledger.v1.Ledger/GetSequence";
    /// `GetView`.
    pub const GET_VIEW: &str = "/safeledger.v1.Ledger/GetView";
    /// `GetCheckpoint`.
    pub const GET_CHECKPOINT: &str = "/safeledger.v1.Ledger/GetCheckpoint";
    /// `GetStateProof`.
    pub const GET_STATE_PROOF: &str = "/safeledger.v1.Ledger/GetStateProof";
    /// `GetConsistencyProof`.
    pub const GET_CONSISTENCY_PROOF: &str = "/safeledger.v1.Ledger/GetConsistencyProof";
    /// `GetLedgerInclusion`.
    pub const GET_LEDGER_INCLUSION: &str = "/safeledger.v1.Ledger/GetLedgerInclusion";
    /// `Query`.
    pub const QUERY: &str = "/safeledger.v1.Ledger/Query";
    /// `StorePrivate`.
    pub const STORE_PRIVATE: &str = "/safeledger.v1.Ledger/StorePrivate";
    /// `ErasePrivate`.
    pub const ERASE_PRIVATE: &str = "/safeledger.v1.Ledger/ErasePrivate";
    /// `FindRecords`.
    pub const FIND_RECORDS: &str = "/safeledger.v1.Ledger/FindRecords";
    /// `SearchEnterprises`.
    pub const SEARCH_ENTERPRISES: &str = "/safeledger.v1.Ledger/SearchEnterprises";
    /// `ListEnterprises`.
    pub const LIST_ENTERPRISES: &str = "/safeledger.v1.Ledger/ListEnterprises";
    /// `GetInbox`.
    pub const GET_INBOX: &str = "/safeledger.v1.Ledger/GetInbox";
    /// `GetOfficerRecords`.
    pub const GET_OFFICER_RECORDS: &str = "/safeledger.v1.Ledger/GetOfficerRecords";
    /// `CheckTransaction`.
    pub const CHECK_TRANSACTION: &str = "/safeledger.v1.Ledger/CheckTransaction";
}

/// A caller's signing identity: its key and the chain it signs for.
#[derive(Clone, Debug)]
pub struct Signer {
    key: SecretKey,
    chain_id: String,
}

impl Signer {
    /// An identity signing for `chain_id` with `key` (an officer's or auditor's).
    pub fn new(key: SecretKey, chain_id: impl Into<String>) -> Signer {
        Signer {
            key,
            chain_id: chain_id.into(),
        }
    }

    /// The public key requests are signed with.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The chain id requests are signed for.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Signs a transaction payload with this identity's key as its only signer (for
    /// transactions an officer makes in passing, such as a read declaration).
    pub fn sign_transaction(
        &self,
        payload: safeledger_core::TxPayload,
    ) -> safeledger_core::Transaction {
        safeledger_core::Transaction::sign(payload, &[&self.key])
    }

    /// Adds the four authentication entries to `req` for `method`, with the given clock
    /// reading (ms since the epoch) and nonce.
    pub fn sign_at<T: prost::Message>(
        &self,
        req: &mut Request<T>,
        method: &str,
        timestamp_ms: u64,
        nonce: [u8; 16],
    ) {
        let body = body_hash(req.get_ref());
        let digest = request_digest(&self.chain_id, method, &body, timestamp_ms, &nonce);
        let sig = self.key.sign(&digest.0);
        let md = req.metadata_mut();
        // Hex and decimal strings are always valid ASCII metadata values.
        for (k, v) in [
            (SIGNER, self.public().to_hex()),
            (TIMESTAMP, timestamp_ms.to_string()),
            (NONCE, hex::encode(nonce)),
            (SIGNATURE, sig.to_hex()),
        ] {
            if let Ok(v) = v.parse() {
                md.insert(k, v);
            }
        }
    }

    /// Adds the authentication entries with the system clock and a fresh random nonce.
    pub fn sign<T: prost::Message>(&self, req: &mut Request<T>, method: &str) {
        let nonce: [u8; 16] = rand::random();
        self.sign_at(req, method, now_ms(), nonce);
    }
}

/// Milliseconds since the Unix epoch by the system clock (0 if it is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `msg` wrapped in a request, signed by `signer` when there is one (a public request
/// otherwise).
pub fn request<T: prost::Message>(signer: Option<&Signer>, method: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    if let Some(s) = signer {
        s.sign(&mut req, method);
    }
    req
}

/// BLAKE3 of the protobuf encoding of `msg`.
pub fn body_hash<T: prost::Message>(msg: &T) -> Hash {
    Hash(*blake3::hash(&msg.encode_to_vec()).as_bytes())
}

/// The digest a request signature signs: [`Domain::ApiRequest`] over the length-prefixed
/// chain id and method, the body hash, the timestamp (u64 big-endian) and the nonce.
pub fn request_digest(
    chain_id: &str,
    method: &str,
    body: &Hash,
    timestamp_ms: u64,
    nonce: &[u8; 16],
) -> Hash {
    let cl = (chain_id.len() as u32).to_be_bytes();
    let ml = (method.len() as u32).to_be_bytes();
    Domain::ApiRequest.hash_parts(&[
        &cl,
        chain_id.as_bytes(),
        &ml,
        method.as_bytes(),
        &body.0,
        &timestamp_ms.to_be_bytes(),
        nonce,
    ])
}

/// The verified authentication of a request: who signed it, when and with which nonce.
/// Whether the signer is registered, the timestamp fresh and the nonce unused is for the
/// node to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The signer.
    pub signer: PublicKey,
    /// Its clock reading, ms since the epoch.
    pub timestamp_ms: u64,
    /// Its nonce.
    pub nonce: [u8; 16],
}

/// Why a request's authentication entries were refused (gRPC `UNAUTHENTICATED`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Some but not all of the four entries are present.
    #[error("incomplete authentication: {0} is missing")]
    Missing(&'static str),
    /// An entry is not well formed.
    #[error("malformed authentication entry {0}")]
    Malformed(&'static str),
    /// The key is not a valid ed25519 key.
    #[error("the signer is not a valid ed25519 public key")]
    BadKey,
    /// The signature does not verify (wrong chain, method, body, time, nonce or key).
    #[error("the request signature does not verify")]
    BadSignature,
}

fn entry<'m>(md: &'m MetadataMap, key: &'static str) -> Result<Option<&'m str>, AuthError> {
    match md.get(key) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| AuthError::Malformed(key)),
    }
}

/// Checks the signature of a request for `method` on `chain_id`. `Ok(None)` when the request
/// carries no authentication at all (a public request).
///
/// Errors: [`AuthError`] when the entries are incomplete, malformed, or do not verify.
pub fn verify<T: prost::Message>(
    req: &Request<T>,
    method: &str,
    chain_id: &str,
) -> Result<Option<Credentials>, AuthError> {
    let md = req.metadata();
    let fields = [
        entry(md, SIGNER)?,
        entry(md, TIMESTAMP)?,
        entry(md, NONCE)?,
        entry(md, SIGNATURE)?,
    ];
    if fields.iter().all(Option::is_none) {
        return Ok(None);
    }
    let names = [SIGNER, TIMESTAMP, NONCE, SIGNATURE];
    let mut got = [""; 4];
    for (i, f) in fields.iter().enumerate() {
        got[i] = f.ok_or(AuthError::Missing(names[i]))?;
    }
    let signer = PublicKey::from_hex(got[0]).map_err(|_| AuthError::Malformed(SIGNER))?;
    if got[0].len() != 64 {
        return Err(AuthError::Malformed(SIGNER));
    }
    let timestamp_ms: u64 = got[1]
        .parse()
        .map_err(|_| AuthError::Malformed(TIMESTAMP))?;
    let mut nonce = [0u8; 16];
    hex::decode_to_slice(got[2], &mut nonce).map_err(|_| AuthError::Malformed(NONCE))?;
    if got[3].len() != 128 {
        return Err(AuthError::Malformed(SIGNATURE));
    }
    let sig = Signature::from_hex(got[3]).map_err(|_| AuthError::Malformed(SIGNATURE))?;
    signer.validate().map_err(|_| AuthError::BadKey)?;
    let digest = request_digest(
        chain_id,
        method,
        &body_hash(req.get_ref()),
        timestamp_ms,
        &nonce,
    );
    signer
        .verify(&digest.0, &sig)
        .map_err(|_| AuthError::BadSignature)?;
    Ok(Some(Credentials {
        signer,
        timestamp_ms,
        nonce,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    fn signer() -> Signer {
        Signer::new(SecretKey::from_bytes(&[7; 32]), "chain-a")
    }

    fn batch(n: u8) -> proto::SubmitBatchRequest {
        proto::SubmitBatchRequest {
            txs: vec![vec![n; 10]],
        }
    }

    #[test]
    fn a_signed_request_verifies_and_names_its_signer() {
        let s = signer();
        let mut req = Request::new(batch(1));
        s.sign_at(&mut req, method::SUBMIT_BATCH, 1_000, [3; 16]);
        let c = verify(&req, method::SUBMIT_BATCH, "chain-a")
            .expect("verifies")
            .expect("credentials");
        assert_eq!(c.signer, s.public());
        assert_eq!(c.timestamp_ms, 1_000);
        assert_eq!(c.nonce, [3; 16]);
    }

    #[test]
    fn no_entries_is_a_public_request() {
        let req = Request::new(batch(1));
        assert_eq!(verify(&req, method::SUBMIT_BATCH, "chain-a"), Ok(None));
    }

    #[test]
    fn a_signature_does_not_carry_to_another_body_method_chain_time_or_nonce() {
        let s = signer();
        let mut req = Request::new(batch(1));
        s.sign_at(&mut req, method::SUBMIT_BATCH, 1_000, [3; 16]);
        // Another body under the same entries.
        let mut other = Request::new(batch(2));
        *other.metadata_mut() = req.metadata().clone();
        assert_eq!(
            verify(&other, method::SUBMIT_BATCH, "chain-a"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&req, method::QUERY, "chain-a"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&req, method::SUBMIT_BATCH, "chain-b"),
            Err(AuthError::BadSignature)
        );
        for (k, v) in [
            (TIMESTAMP, "1001"),
            (NONCE, "04040404040404040404040404040404"),
        ] {
            let mut r = Request::new(batch(1));
            *r.metadata_mut() = req.metadata().clone();
            r.metadata_mut().insert(k, v.parse().expect("ascii"));
            assert_eq!(
                verify(&r, method::SUBMIT_BATCH, "chain-a"),
                Err(AuthError::BadSignature),
                "{k}"
            );
        }
    }

    #[test]
    fn incomplete_or_malformed_entries_are_refused() {
        let s = signer();
        let mut req = Request::new(batch(1));
        s.sign_at(&mut req, method::SUBMIT_BATCH, 1_000, [3; 16]);
        for k in [SIGNER, TIMESTAMP, NONCE, SIGNATURE] {
            let mut r = Request::new(batch(1));
            *r.metadata_mut() = req.metadata().clone();
            r.metadata_mut().remove(k);
            assert_eq!(
                verify(&r, method::SUBMIT_BATCH, "chain-a"),
                Err(AuthError::Missing(k))
            );
            let mut r = Request::new(batch(1));
            *r.metadata_mut() = req.metadata().clone();
            r.metadata_mut().insert(k, "zz".parse().expect("ascii"));
            assert_eq!(
                verify(&r, method::SUBMIT_BATCH, "chain-a"),
                Err(AuthError::Malformed(k))
            );
        }
        // A small-order key (the identity point) is refused before any signature check.
        let mut r = Request::new(batch(1));
        *r.metadata_mut() = req.metadata().clone();
        let mut id = [0u8; 32];
        id[0] = 1;
        r.metadata_mut()
            .insert(SIGNER, hex::encode(id).parse().expect("ascii"));
        assert_eq!(
            verify(&r, method::SUBMIT_BATCH, "chain-a"),
            Err(AuthError::BadKey)
        );
    }
}
