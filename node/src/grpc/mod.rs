//! The tonic gRPC service of `client/proto/safeledger.proto`: this module authenticates
//! and serves; the handlers live by what they do — [`write`] (admission, commit waits,
//! private values), [`read`] (status, blocks, transactions, enterprises, named queries)
//! and [`audit`] (views, checkpoints, ledger proofs).
//!
//! Every request is authenticated and authorized first ([`crate::auth`]: signed by an
//! officer or auditor, or public), then bounded: at most [`safeledger_core::limits::MAX_BATCH_TXS`] transactions per batch, messages of
//! at most [`MAX_GRPC_MESSAGE_BYTES`], waits of at most [`MAX_AWAIT`]. Malformed input gets
//! `INVALID_ARGUMENT` with the reason; a full mempool `RESOURCE_EXHAUSTED`, as does a
//! client over its request rate ([`crate::ratelimit`]).

mod audit;
mod field;
mod officer;
mod read;
mod shared;
mod write;

pub use shared::Shared;

use crate::auth::{require_officer, Authenticator, Caller};
use safeledger_client::proto::{self, ledger_server};
use safeledger_core::Hash;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// Largest gRPC message accepted or sent (bytes).
pub const MAX_GRPC_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Longest AwaitCommit wait.
pub const MAX_AWAIT: Duration = Duration::from_secs(30);
/// Most ids in one AwaitCommit.
pub const MAX_AWAIT_IDS: usize = 10_000;
/// Most timeline entries returned with an enterprise.
pub const MAX_TIMELINE: usize = 1_000;
pub use crate::config::{MAX_CONCURRENT_REQUESTS_PER_CONNECTION, MAX_GRPC_STREAMS_PER_CONNECTION};

/// The service.
pub struct LedgerService {
    shared: Arc<Shared>,
    auth: Authenticator,
}

impl LedgerService {
    /// The caller of `req` (see [`Authenticator::caller`]).
    fn caller<T: prost::Message>(&self, req: &Request<T>, method: &str) -> Result<Caller, Status> {
        self.auth.caller(&self.shared.ctx, req, method)
    }

    /// The caller of `req`, which must be an officer.
    fn officer<T: prost::Message>(
        &self,
        req: &Request<T>,
        method: &str,
        what: &str,
    ) -> Result<Caller, Status> {
        let c = self.caller(req, method)?;
        require_officer(&c, what)?;
        Ok(c)
    }

    /// The caller of `req`, which must be an officer of this node's own agency (`what`: the
    /// action, for the refusal, e.g. "store private values").
    fn own_officer<T: prost::Message>(
        &self,
        req: &Request<T>,
        method: &str,
        what: &str,
    ) -> Result<Caller, Status> {
        let c = self.officer(req, method, what)?;
        if c.agency() != Some(self.shared.agency.as_str()) {
            return Err(Status::permission_denied(format!(
                "{} may not {what} at the node of {}",
                c.describe(),
                self.shared.agency
            )));
        }
        Ok(c)
    }
}

fn hash_arg(b: &[u8], what: &str) -> Result<Hash, Status> {
    let a: [u8; 32] = b
        .try_into()
        .map_err(|_| Status::invalid_argument(format!("{what} must be 32 bytes")))?;
    Ok(Hash(a))
}

fn internal<E: std::fmt::Display>(e: E) -> Status {
    Status::internal(e.to_string())
}

/// Binds the gRPC listener on `addr` (a node binds it before it opens its store, so that
/// a port in use fails the start before anything holds the store).
///
/// # Errors
/// The address cannot be bound.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding gRPC on {addr}: {e}"))
}

/// Serves on `listener` until the task is aborted, over TLS 1.3 with `tls` (certificate
/// and private key, PEM) when given. Returns the bound address.
pub async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    tls: Option<(String, String)>,
    limits: &crate::config::NodeLimits,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = tls {
        builder = builder
            .tls_config(
                tonic::transport::ServerTlsConfig::new()
                    .identity(tonic::transport::Identity::from_pem(cert, key)),
            )
            .map_err(|e| anyhow::anyhow!("gRPC TLS identity: {e}"))?;
    }
    let bound = listener.local_addr()?;
    let svc = ledger_server::LedgerServer::new(LedgerService {
        shared,
        auth: Authenticator::default(),
    })
    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
    .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES);
    let svc = tonic::service::interceptor::InterceptedService::new(
        svc,
        crate::ratelimit::RateLimiter::with_max_clients(
            limits.grpc_rate_per_client,
            limits.grpc_burst_per_client,
            limits.grpc_max_clients,
        ),
    );
    // Nagle off on every accepted connection: with it on, a reply written in more than one
    // piece waited for the client's delayed ACK, and every signed request took 40 ms on
    // loopback (`serve_with_incoming` does not apply the builder's `tcp_nodelay`).
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |conn| {
            if let Ok(s) = &conn {
                let _ = s.set_nodelay(true);
            }
            conn
        },
    );
    let (health, health_svc) = tonic_health::server::health_reporter();
    health
        .set_serving::<ledger_server::LedgerServer<LedgerService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| anyhow::anyhow!("gRPC reflection: {e}"))?;
    let (concurrency, streams) = (
        limits.grpc_max_concurrent_requests_per_connection,
        limits.grpc_max_streams_per_connection,
    );
    let task = tokio::spawn(async move {
        if let Err(e) = builder
            .concurrency_limit_per_connection(concurrency)
            .max_concurrent_streams(Some(streams))
            .add_service(health_svc)
            .add_service(reflection)
            .add_service(svc)
            .serve_with_incoming(incoming)
            .await
        {
            tracing::error!(error = %e, "gRPC server stopped");
        }
    });
    Ok((bound, task))
}

#[tonic::async_trait]
impl ledger_server::Ledger for LedgerService {
    async fn status(
        &self,
        req: Request<proto::StatusRequest>,
    ) -> Result<Response<proto::StatusReply>, Status> {
        read::status(self, req).await
    }

    async fn store_private(
        &self,
        req: Request<proto::StorePrivateRequest>,
    ) -> Result<Response<proto::StorePrivateReply>, Status> {
        write::store_private(self, req).await
    }

    async fn erase_private(
        &self,
        req: Request<proto::ErasePrivateRequest>,
    ) -> Result<Response<proto::ErasePrivateReply>, Status> {
        write::erase_private(self, req).await
    }

    async fn submit_batch(
        &self,
        req: Request<proto::SubmitBatchRequest>,
    ) -> Result<Response<proto::SubmitBatchReply>, Status> {
        write::submit_batch(self, req).await
    }

    async fn await_commit(
        &self,
        req: Request<proto::AwaitCommitRequest>,
    ) -> Result<Response<proto::AwaitCommitReply>, Status> {
        write::await_commit(self, req).await
    }

    async fn list_block_headers(
        &self,
        req: Request<proto::ListBlockHeadersRequest>,
    ) -> Result<Response<proto::ListBlockHeadersReply>, Status> {
        read::list_block_headers(self, req).await
    }

    async fn get_block(
        &self,
        req: Request<proto::GetBlockRequest>,
    ) -> Result<Response<proto::GetBlockReply>, Status> {
        read::get_block(self, req).await
    }

    async fn get_transaction(
        &self,
        req: Request<proto::GetTransactionRequest>,
    ) -> Result<Response<proto::GetTransactionReply>, Status> {
        read::get_transaction(self, req).await
    }

    async fn get_enterprise(
        &self,
        req: Request<proto::GetEnterpriseRequest>,
    ) -> Result<Response<proto::GetEnterpriseReply>, Status> {
        read::get_enterprise(self, req).await
    }

    async fn get_sequence(
        &self,
        req: Request<proto::GetSequenceRequest>,
    ) -> Result<Response<proto::GetSequenceReply>, Status> {
        read::get_sequence(self, req).await
    }

    async fn find_records(
        &self,
        req: Request<proto::FindRecordsRequest>,
    ) -> Result<Response<proto::FindRecordsReply>, Status> {
        read::find_records(self, req).await
    }

    async fn search_enterprises(
        &self,
        req: Request<proto::SearchEnterprisesRequest>,
    ) -> Result<Response<proto::SearchEnterprisesReply>, Status> {
        read::search_enterprises(self, req).await
    }

    async fn list_enterprises(
        &self,
        req: Request<proto::ListEnterprisesRequest>,
    ) -> Result<Response<proto::ListEnterprisesReply>, Status> {
        read::list_enterprises(self, req).await
    }

    async fn get_inbox(
        &self,
        req: Request<proto::GetInboxRequest>,
    ) -> Result<Response<proto::GetInboxReply>, Status> {
        read::get_inbox(self, req).await
    }

    async fn get_view(
        &self,
        req: Request<proto::GetViewRequest>,
    ) -> Result<Response<proto::GetViewReply>, Status> {
        audit::get_view(self, req).await
    }

    async fn get_checkpoint(
        &self,
        req: Request<proto::GetCheckpointRequest>,
    ) -> Result<Response<proto::GetCheckpointReply>, Status> {
        audit::get_checkpoint(self, req).await
    }

    async fn get_state_proof(
        &self,
        req: Request<proto::GetStateProofRequest>,
    ) -> Result<Response<proto::GetStateProofReply>, Status> {
        audit::get_state_proof(self, req).await
    }

    async fn get_consistency_proof(
        &self,
        req: Request<proto::GetConsistencyProofRequest>,
    ) -> Result<Response<proto::GetConsistencyProofReply>, Status> {
        audit::get_consistency_proof(self, req).await
    }

    async fn get_ledger_inclusion(
        &self,
        req: Request<proto::GetLedgerInclusionRequest>,
    ) -> Result<Response<proto::GetLedgerInclusionReply>, Status> {
        audit::get_ledger_inclusion(self, req).await
    }

    async fn query(
        &self,
        req: Request<proto::QueryRequest>,
    ) -> Result<Response<proto::QueryReply>, Status> {
        read::query(self, req).await
    }

    async fn get_officer_records(
        &self,
        req: Request<proto::GetOfficerRecordsRequest>,
    ) -> Result<Response<proto::GetOfficerRecordsReply>, Status> {
        officer::get_officer_records(self, req).await
    }

    async fn check_transaction(
        &self,
        req: Request<proto::CheckTransactionRequest>,
    ) -> Result<Response<proto::CheckTransactionReply>, Status> {
        officer::check_transaction(self, req).await
    }

    async fn put_evidence(
        &self,
        req: Request<tonic::Streaming<proto::EvidenceChunk>>,
    ) -> Result<Response<proto::EvidenceStored>, Status> {
        field::put_evidence(self, req).await
    }

    type GetEvidenceStream = field::EvidenceStream;

    async fn get_evidence(
        &self,
        req: Request<proto::GetEvidenceRequest>,
    ) -> Result<Response<Self::GetEvidenceStream>, Status> {
        field::get_evidence(self, req).await
    }

    async fn submit_tip(
        &self,
        req: Request<proto::SubmitTipRequest>,
    ) -> Result<Response<proto::SubmitTipReply>, Status> {
        field::submit_tip(self, req).await
    }

    async fn get_tip_status(
        &self,
        req: Request<proto::GetTipStatusRequest>,
    ) -> Result<Response<proto::GetTipStatusReply>, Status> {
        field::get_tip_status(self, req).await
    }
}
