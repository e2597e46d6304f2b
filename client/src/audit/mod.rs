//! What auditors use (DESIGN §4, issue 5): fetching views, checkpoints and consistency
//! proofs from any node, and verifying them offline against the genesis file.
//!
//! Verification itself is `safeledger_core::view` (views, checkpoints),
//! `safeledger_core::ledger_tree` (RFC 9162 §2.1.4 consistency) and
//! `safeledger_core::lightclient`; this module adds the network calls. The commands
//! (`safeledger audit ...`) are `safeledger_node::cli::audit`, with the other commands.

use crate::auth::{method, Signer};
use crate::proto;
use crate::proto::ledger_client::LedgerClient as Raw;
use crate::rpc;
use safeledger_core::ledger_tree::verify_consistency;
use safeledger_core::merkle::Blake3Tree;
use safeledger_core::proof::ProofError;
use safeledger_core::view::{decode, Checkpoint, LedgerInclusion, StateProofDoc, View, ViewError};
use safeledger_core::{Hash, TxId};
use tonic::transport::Channel;

/// Largest gRPC reply accepted (bytes).
pub const MAX_AUDIT_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// Why an audit call failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditClientError {
    /// No endpoint answered.
    #[error("no node reachable (tried {0})")]
    Unreachable(String),
    /// The node refused the request.
    #[error("node error: {0}")]
    Status(#[from] tonic::Status),
    /// The node's document does not decode.
    #[error("the node sent a malformed document: {0}")]
    Document(#[from] ViewError),
    /// A proof hash is not 32 bytes.
    #[error("the node sent a malformed proof")]
    Malformed,
}

/// Fetches audit documents from the first reachable of `endpoints`.
pub struct AuditClient {
    endpoints: Vec<String>,
    signer: Option<Signer>,
}

fn hashes(raw: &[Vec<u8>]) -> Result<Vec<Hash>, AuditClientError> {
    raw.iter()
        .map(|b| {
            <[u8; 32]>::try_from(b.as_slice())
                .map(Hash)
                .map_err(|_| AuditClientError::Malformed)
        })
        .collect()
}

impl AuditClient {
    /// A client over `endpoints` (`http://host:port`).
    pub fn new(endpoints: Vec<String>) -> AuditClient {
        AuditClient {
            endpoints,
            signer: None,
        }
    }

    /// The same client signing its requests as `signer` (an auditor's or officer's key;
    /// see [`crate::auth`]). Views and ledger inclusion proofs need one; checkpoints and
    /// consistency proofs are public.
    pub fn signed_by(mut self, signer: Signer) -> AuditClient {
        self.signer = Some(signer);
        self
    }

    /// Runs `f` on each endpoint in turn until one answers: transport errors, a connection
    /// (TCP and TLS) slower than [`rpc::CONNECT_TIMEOUT`] and a request slower than
    /// [`rpc::REQUEST_TIMEOUT`] move on to the next (a hung node does not hang an audit).
    async fn call<M, T, F, Fut>(
        &self,
        method: &'static str,
        msg: M,
        f: F,
    ) -> Result<T, AuditClientError>
    where
        M: prost::Message + Clone,
        F: Fn(Raw<Channel>, tonic::Request<M>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        for url in &self.endpoints {
            let Ok(Some(ch)) = rpc::connect(url, rpc::CONNECT_TIMEOUT).await else {
                continue;
            };
            let raw = Raw::new(ch).max_decoding_message_size(MAX_AUDIT_REPLY_BYTES);
            let req = crate::auth::request(self.signer.as_ref(), method, msg.clone());
            match rpc::send_within(rpc::REQUEST_TIMEOUT, url, req, |r| f(raw, r)).await {
                Ok(v) => return Ok(v),
                Err(s) if rpc::is_transport(&s) => continue,
                Err(s) => return Err(s.into()),
            }
        }
        Err(AuditClientError::Unreachable(self.endpoints.join(", ")))
    }

    /// The view of `tx` revealing `reveal`, anchored in the ledger tree of `anchor` leaves
    /// when given. The document is decoded, not verified.
    pub async fn view(
        &self,
        tx: TxId,
        reveal: &[String],
        anchor: Option<u64>,
    ) -> Result<View, AuditClientError> {
        self.view_declared(tx, reveal, anchor, None).await
    }

    /// [`AuditClient::view`] naming the caller's accepted read declaration (a committed
    /// `private_read` transaction), which a node needs before it discloses private values
    /// (issue 8 item 2).
    pub async fn view_declared(
        &self,
        tx: TxId,
        reveal: &[String],
        anchor: Option<u64>,
        declaration: Option<TxId>,
    ) -> Result<View, AuditClientError> {
        let req = proto::GetViewRequest {
            tx_id: tx.0.to_vec(),
            reveal: reveal.to_vec(),
            anchor_tree_size: anchor.unwrap_or(0),
            read_declaration: declaration.map(|d| d.0.to_vec()).unwrap_or_default(),
        };
        let r = self
            .call(method::GET_VIEW, req, |mut c, r| async move {
                c.get_view(r).await
            })
            .await?;
        Ok(decode(r.into_inner().json.as_bytes())?)
    }

    /// The checkpoint of `height` (0: the latest). Decoded, not verified.
    pub async fn checkpoint(&self, height: u64) -> Result<Checkpoint, AuditClientError> {
        let r = self
            .call(
                method::GET_CHECKPOINT,
                proto::GetCheckpointRequest { height },
                |mut c, r| async move { c.get_checkpoint(r).await },
            )
            .await?;
        Ok(decode(r.into_inner().json.as_bytes())?)
    }

    /// The state proof of `enterprises`' state after `height` (0: the latest provable).
    /// Decoded, not verified. Needs a signer (an auditor or officer).
    pub async fn state_proof(
        &self,
        enterprises: &[String],
        height: u64,
    ) -> Result<StateProofDoc, AuditClientError> {
        let r = self
            .call(
                method::GET_STATE_PROOF,
                proto::GetStateProofRequest {
                    enterprises: enterprises.to_vec(),
                    height,
                },
                |mut c, r| async move { c.get_state_proof(r).await },
            )
            .await?;
        Ok(decode(r.into_inner().json.as_bytes())?)
    }

    /// The consistency proof between ledger sizes `first` and `second`.
    pub async fn consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, AuditClientError> {
        let r = self
            .call(
                method::GET_CONSISTENCY_PROOF,
                proto::GetConsistencyProofRequest {
                    first_size: first,
                    second_size: second,
                },
                |mut c, r| async move { c.get_consistency_proof(r).await },
            )
            .await?;
        hashes(&r.into_inner().hashes)
    }
}

impl AuditClient {
    /// The RFC 9162 §2.1.3 inclusion proof of transaction `tx` in the ledger tree of
    /// `tree_size` leaves (check it with
    /// `safeledger_core::ledger_tree::verify_inclusion` against a certified `ledger_root`).
    pub async fn ledger_inclusion(
        &self,
        tx: TxId,
        tree_size: u64,
    ) -> Result<LedgerInclusion, AuditClientError> {
        let r = self
            .call(
                method::GET_LEDGER_INCLUSION,
                proto::GetLedgerInclusionRequest {
                    tx_id: tx.0.to_vec(),
                    tree_size,
                },
                |mut c, r| async move { c.get_ledger_inclusion(r).await },
            )
            .await?
            .into_inner();
        Ok(LedgerInclusion {
            tree_size: r.tree_size,
            index: r.index,
            proof: hashes(&r.hashes)?,
        })
    }
}

/// Checks that the ledger of checkpoint `old` is a prefix of the ledger of `new` with an
/// RFC 9162 §2.1.4 consistency proof (sizes and roots from the certified headers).
pub fn check_consistency(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), ProofError> {
    verify_consistency::<Blake3Tree>(
        old.header.ledger_size,
        new.header.ledger_size,
        &old.header.ledger_root,
        &new.header.ledger_root,
        proof,
    )
}
