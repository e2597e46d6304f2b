//! The tonic gRPC service of `client/proto/safeledger.proto`.
//!
//! Every request is authenticated and authorized first ([`crate::auth`]: signed by an
//! officer or auditor, or public), then bounded: at most [`MAX_BATCH_TXS`] transactions per batch, messages of
//! at most [`MAX_GRPC_MESSAGE_BYTES`], waits of at most [`MAX_AWAIT`]. Malformed input gets
//! `INVALID_ARGUMENT` with the reason; a full mempool `RESOURCE_EXHAUSTED`, as does a
//! client over its request rate ([`crate::ratelimit`]).

use crate::auth::{require_officer, require_reader, Authenticator, Caller};
use crate::ledger::StoreView;
use crate::mempool::AdmitError;
use crate::node::Shared;
use safeledger_client::auth::method;
use safeledger_client::proto::{self, ledger_server};
use safeledger_core::encoding::{from_canonical_bounded, to_canonical};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::limits::{MAX_BATCH_TXS, MAX_RECORD_FIELDS, MAX_TX_BYTES};
use safeledger_core::{Hash, PublicKey, Timestamp, Transaction, TxId};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
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
/// Most requests served at once on one client connection (further ones wait).
/// (Default of `NodeLimits::grpc_max_concurrent_requests_per_connection`.)
pub const MAX_CONCURRENT_REQUESTS_PER_CONNECTION: usize = 64;
/// Most concurrent HTTP/2 streams a client may open on one connection.
/// (Default of `NodeLimits::grpc_max_streams_per_connection`.)
pub const MAX_GRPC_STREAMS_PER_CONNECTION: u32 = 128;

/// The service.
pub struct LedgerService {
    shared: Arc<Shared>,
    auth: Authenticator,
}

impl LedgerService {
    /// The caller of `req` (see [`Authenticator::caller`]).
    fn caller<T: prost::Message>(&self, req: &Request<T>, method: &str) -> Result<Caller, Status> {
        self.auth.caller(&self.shared, req, method)
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

/// Binds `addr` and serves until the task is aborted, over TLS 1.3 with `tls`
/// (certificate and private key, PEM) when given. Returns the bound address.
pub async fn serve(
    shared: Arc<Shared>,
    addr: SocketAddr,
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
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding gRPC on {addr}: {e}"))?;
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
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
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
        self.caller(&req, method::STATUS)?;
        let s = self.shared.status.borrow().clone();
        let pool = self.shared.mempool.lock().map(|p| p.len()).unwrap_or(0);
        Ok(Response::new(proto::StatusReply {
            chain_id: self.shared.genesis.chain_id.clone(),
            agency: self.shared.agency.clone(),
            node_key: self.shared.node_key.to_hex(),
            height: s.height,
            last_block_hash: s.block_hash.0.to_vec(),
            state_root: s.state_root.0.to_vec(),
            last_block_time_ms: s.block_time.0,
            round: self.shared.round.load(Ordering::Relaxed),
            mempool_txs: pool as u32,
            peers: self.shared.peers.load(Ordering::Relaxed),
            committed_txs: s.committed_txs,
        }))
    }

    async fn store_private(
        &self,
        req: Request<proto::StorePrivateRequest>,
    ) -> Result<Response<proto::StorePrivateReply>, Status> {
        self.own_officer(&req, method::STORE_PRIVATE, "store private values")?;
        let req = req.into_inner();
        if req.txs.len() != req.values.len() {
            return Err(Status::invalid_argument(format!(
                "{} transactions but {} value lists",
                req.txs.len(),
                req.values.len()
            )));
        }
        if req.txs.len() > MAX_BATCH_TXS {
            return Err(Status::invalid_argument(format!(
                "batch of {} transactions exceeds the limit of {MAX_BATCH_TXS}",
                req.txs.len()
            )));
        }
        let shared = self.shared.clone();
        let kept = tokio::task::spawn_blocking(move || -> Result<u32, Status> {
            let view = StoreView(&shared.store);
            let mut checked = Vec::with_capacity(req.txs.len());
            for (i, (t, v)) in req.txs.iter().zip(&req.values).enumerate() {
                let tx: Transaction = from_canonical_bounded(t, MAX_TX_BYTES).map_err(|e| {
                    Status::invalid_argument(format!("transaction {i} does not decode: {e}"))
                })?;
                tx.check_stateless(&shared.genesis.chain_id)
                    .map_err(|e| Status::invalid_argument(format!("transaction {i}: {e}")))?;
                let values: Vec<safeledger_core::private::PrivateValue> =
                    from_canonical_bounded(v, MAX_TX_BYTES).map_err(|e| {
                        Status::invalid_argument(format!("values {i} do not decode: {e}"))
                    })?;
                let submitter = tx.submitter().copied().ok_or_else(|| {
                    Status::invalid_argument(format!("transaction {i} has no signature"))
                })?;
                let agency = shared.registry.officer_agency(&view, &submitter).ok();
                if agency.as_deref() != Some(shared.agency.as_str()) {
                    return Err(Status::permission_denied(format!(
                        "transaction {i} was recorded by {}, not by this node's agency {}: \
                         private values stay with the recording agency",
                        agency.unwrap_or_else(|| "an unknown officer".into()),
                        shared.agency
                    )));
                }
                for val in &values {
                    tx.payload
                        .check_private(val)
                        .map_err(|e| Status::invalid_argument(format!("transaction {i}: {e}")))?;
                }
                checked.push((tx.id(), values));
            }
            for (id, values) in &checked {
                shared.private.put(id, values).map_err(internal)?;
            }
            Ok(checked.iter().map(|(_, v)| v.len() as u32).sum())
        })
        .await
        .map_err(internal)??;
        Ok(Response::new(proto::StorePrivateReply { kept }))
    }

    async fn erase_private(
        &self,
        req: Request<proto::ErasePrivateRequest>,
    ) -> Result<Response<proto::ErasePrivateReply>, Status> {
        self.own_officer(&req, method::ERASE_PRIVATE, "erase private values")?;
        let req = req.into_inner();
        let id = hash_arg(&req.tx_id, "tx_id")?;
        if req.fields.len() > MAX_RECORD_FIELDS {
            return Err(Status::invalid_argument(format!(
                "at most {MAX_RECORD_FIELDS} fields to erase"
            )));
        }
        let shared = self.shared.clone();
        let erased = tokio::task::spawn_blocking(move || {
            use crate::private_erase::{erase, now};
            erase(&shared.store, &shared.private, &id, &req.fields, now())
        })
        .await
        .map_err(internal)?
        .map_err(erase_status)?;
        for e in erased.iter().filter(|e| e.now) {
            tracing::info!(tx = %id, field = %e.erasure.name, "private value erased");
        }
        let erased = erased
            .into_iter()
            .map(|e| proto::ErasedField {
                name: e.erasure.name,
                index: e.erasure.index.into(),
                erased_at_ms: e.erasure.erased_at.0,
                newly_erased: e.now,
            })
            .collect();
        Ok(Response::new(proto::ErasePrivateReply { erased }))
    }

    async fn submit_batch(
        &self,
        req: Request<proto::SubmitBatchRequest>,
    ) -> Result<Response<proto::SubmitBatchReply>, Status> {
        self.officer(&req, method::SUBMIT_BATCH, "submitting transactions")?;
        let raw = req.into_inner().txs;
        if raw.is_empty() {
            return Err(Status::invalid_argument("empty batch"));
        }
        if raw.len() > MAX_BATCH_TXS {
            return Err(Status::invalid_argument(format!(
                "batch of {} transactions exceeds the limit of {MAX_BATCH_TXS}",
                raw.len()
            )));
        }
        let mut txs = Vec::with_capacity(raw.len());
        for (i, b) in raw.iter().enumerate() {
            let tx: Transaction = from_canonical_bounded(b, MAX_TX_BYTES).map_err(|e| {
                Status::invalid_argument(format!("transaction {i} does not decode: {e}"))
            })?;
            txs.push(tx);
        }
        let shared = self.shared.clone();
        let results = tokio::task::spawn_blocking(move || shared.admit(txs, true))
            .await
            .map_err(internal)?;
        if results
            .iter()
            .all(|(_, r)| matches!(r, Err(AdmitError::Full(..))))
        {
            return Err(Status::resource_exhausted(
                "mempool full: retry after some blocks commit",
            ));
        }
        let admissions = results
            .into_iter()
            .map(|(id, r)| proto::Admission {
                tx_id: id.0.to_vec(),
                admitted: r.is_ok(),
                already_committed: matches!(r, Err(AdmitError::Committed)),
                error: r.err().map(|e| e.to_string()).unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(proto::SubmitBatchReply { admissions }))
    }

    async fn await_commit(
        &self,
        req: Request<proto::AwaitCommitRequest>,
    ) -> Result<Response<proto::AwaitCommitReply>, Status> {
        self.officer(&req, method::AWAIT_COMMIT, "awaiting commits")?;
        let req = req.into_inner();
        if req.tx_ids.len() > MAX_AWAIT_IDS {
            return Err(Status::invalid_argument(format!(
                "at most {MAX_AWAIT_IDS} ids per request"
            )));
        }
        let ids: Vec<Hash> = req
            .tx_ids
            .iter()
            .map(|b| hash_arg(b, "tx_id"))
            .collect::<Result<_, _>>()?;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(req.timeout_ms as u64).min(MAX_AWAIT);
        let mut status = self.shared.status.clone();
        let store = &self.shared.store;
        let mut found: Vec<Option<(u64, u32)>> = vec![None; ids.len()];
        loop {
            for (i, id) in ids.iter().enumerate() {
                if found[i].is_none() {
                    found[i] = store.tx_location(id).map_err(internal)?;
                }
            }
            if found.iter().all(Option::is_some) {
                break;
            }
            match tokio::time::timeout_at(deadline, status.changed()).await {
                Ok(Ok(())) => continue,
                _ => break,
            }
        }
        let mut committed = Vec::with_capacity(ids.len());
        for (id, loc) in ids.iter().zip(found) {
            let mut c = proto::Committed {
                tx_id: id.0.to_vec(),
                ..Default::default()
            };
            if let Some((h, i)) = loc {
                let results = store.results(h).map_err(internal)?.unwrap_or_default();
                if let Some(r) = results.get(i as usize) {
                    c.committed = true;
                    c.height = h;
                    c.index = i;
                    c.result = to_canonical(r);
                }
            }
            committed.push(c);
        }
        Ok(Response::new(proto::AwaitCommitReply { committed }))
    }

    async fn get_block(
        &self,
        req: Request<proto::GetBlockRequest>,
    ) -> Result<Response<proto::GetBlockReply>, Status> {
        self.officer(&req, method::GET_BLOCK, "reading blocks")?;
        let mut h = req.into_inner().height;
        let store = &self.shared.store;
        if h == 0 {
            h = self.shared.status.borrow().height;
        }
        let block = store
            .block_bytes(h)
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("no block at height {h}")))?;
        let cert = store
            .certificate(h)
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("no certificate at height {h}")))?;
        let results = store.results(h).map_err(internal)?.unwrap_or_default();
        Ok(Response::new(proto::GetBlockReply {
            block,
            certificate: to_canonical(&cert),
            results: to_canonical(&results),
        }))
    }

    async fn get_transaction(
        &self,
        req: Request<proto::GetTransactionRequest>,
    ) -> Result<Response<proto::GetTransactionReply>, Status> {
        self.officer(&req, method::GET_TRANSACTION, "reading whole transactions")?;
        let id = hash_arg(&req.into_inner().tx_id, "tx_id")?;
        let store = &self.shared.store;
        let (h, i) = store
            .tx_location(&id)
            .map_err(internal)?
            .ok_or_else(|| Status::not_found(format!("transaction {id} is not committed")))?;
        let block = store
            .block(h)
            .map_err(internal)?
            .ok_or_else(|| Status::internal("indexed block missing"))?;
        let tx = block
            .txs
            .get(i as usize)
            .ok_or_else(|| Status::internal("index out of range"))?;
        let results = store.results(h).map_err(internal)?.unwrap_or_default();
        let result = results
            .get(i as usize)
            .ok_or_else(|| Status::internal("result missing"))?;
        Ok(Response::new(proto::GetTransactionReply {
            tx: to_canonical(tx),
            height: h,
            index: i,
            result: to_canonical(result),
        }))
    }

    async fn get_enterprise(
        &self,
        req: Request<proto::GetEnterpriseRequest>,
    ) -> Result<Response<proto::GetEnterpriseReply>, Status> {
        self.officer(&req, method::GET_ENTERPRISE, "reading enterprise records")?;
        let req = req.into_inner();
        let id = EnterpriseId::parse(&req.enterprise_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let view = StoreView(&self.shared.store);
        let state = safeledger_contracts::enterprise(&view, &id)
            .ok_or_else(|| Status::not_found(format!("no enterprise {id} on the ledger")))?;
        let limit = match req.timeline_limit as usize {
            0 => 100,
            n => n.min(MAX_TIMELINE),
        };
        let timeline = safeledger_contracts::enterprise_records(&view, &id, limit);
        let json = serde_json::json!({ "state": state, "timeline": timeline });
        Ok(Response::new(proto::GetEnterpriseReply {
            json: json.to_string(),
        }))
    }

    async fn get_sequence(
        &self,
        req: Request<proto::GetSequenceRequest>,
    ) -> Result<Response<proto::GetSequenceReply>, Status> {
        self.officer(&req, method::GET_SEQUENCE, "reading sequences")?;
        let b = req.into_inner().signer;
        let k: [u8; 32] = b
            .as_slice()
            .try_into()
            .map_err(|_| Status::invalid_argument("signer must be 32 bytes"))?;
        let view = StoreView(&self.shared.store);
        let sequence = safeledger_contracts::last_sequence(&view, &PublicKey(k));
        Ok(Response::new(proto::GetSequenceReply { sequence }))
    }

    async fn get_view(
        &self,
        req: Request<proto::GetViewRequest>,
    ) -> Result<Response<proto::GetViewReply>, Status> {
        let caller = self.caller(&req, method::GET_VIEW)?;
        require_reader(&caller, "a view")?;
        let req = req.into_inner();
        let id = hash_arg(&req.tx_id, "tx_id")?;
        if req.reveal.len() > MAX_RECORD_FIELDS {
            return Err(Status::invalid_argument(format!(
                "at most {MAX_RECORD_FIELDS} fields to reveal"
            )));
        }
        let anchor = (req.anchor_tree_size > 0).then_some(req.anchor_tree_size);
        let declaration = if req.read_declaration.is_empty() {
            None
        } else {
            Some(hash_arg(&req.read_declaration, "read_declaration")?)
        };
        let shared = self.shared.clone();
        let who = caller.describe();
        let view = tokio::task::spawn_blocking(move || {
            let erased = crate::private_erase::erased_names(&shared.private, &id)
                .map_err(|e| crate::audit::AuditError::Invalid(e.to_string()))?;
            // Private values are disclosed only by a node to officers of its own agency
            // (the values it holds are its agency's, or were granted to it on chain).
            let private = match caller.agency() {
                Some(a) if a == shared.agency => match shared.private.get(&id) {
                    Ok(v) => v,
                    Err(crate::private_store::PrivateStoreError::Erased(_)) => Vec::new(),
                    Err(e) => return Err(crate::audit::AuditError::Invalid(e.to_string())),
                },
                _ => Vec::new(),
            };
            let disclosed: Vec<&str> = private
                .iter()
                .filter(|v| req.reveal.contains(&v.name))
                .map(|v| v.name.as_str())
                .collect();
            if !disclosed.is_empty() {
                let now = shared.status.borrow().block_time;
                let d = check_read_declaration(&shared, &caller, &id, &disclosed, declaration, now)
                    .map_err(crate::audit::AuditError::Undeclared)?;
                tracing::info!(target: "safeledger::access", caller = %caller.describe(), tx = %id,
                    fields = ?disclosed, declaration = %d.tx, purpose = %d.purpose,
                    "private fields disclosed in a view");
            }
            crate::audit::view(&shared.store, &id, &req.reveal, anchor, private, &erased)
        })
        .await
        .map_err(internal)?
        .map_err(|e| match e {
            crate::audit::AuditError::Private(field) => Status::permission_denied(format!(
                "{who} may not read private field {field}: private values are disclosed only \
                 to officers of the agency holding them, at that agency's node (others ask \
                 with an access request)"
            )),
            crate::audit::AuditError::Undeclared(why) => {
                Status::permission_denied(format!("{who}: {why}"))
            }
            e => audit_status(e),
        })?;
        Ok(Response::new(proto::GetViewReply {
            json: safeledger_core::view::encode(&view),
        }))
    }

    async fn get_checkpoint(
        &self,
        req: Request<proto::GetCheckpointRequest>,
    ) -> Result<Response<proto::GetCheckpointReply>, Status> {
        self.caller(&req, method::GET_CHECKPOINT)?;
        let height = req.into_inner().height;
        let cp = crate::audit::checkpoint(&self.shared.store, height).map_err(audit_status)?;
        Ok(Response::new(proto::GetCheckpointReply {
            json: safeledger_core::view::encode(&cp),
        }))
    }

    async fn get_consistency_proof(
        &self,
        req: Request<proto::GetConsistencyProofRequest>,
    ) -> Result<Response<proto::GetConsistencyProofReply>, Status> {
        self.caller(&req, method::GET_CONSISTENCY_PROOF)?;
        let req = req.into_inner();
        let proof = crate::audit::consistency(&self.shared.store, req.first_size, req.second_size)
            .map_err(audit_status)?;
        Ok(Response::new(proto::GetConsistencyProofReply {
            hashes: proof.iter().map(|h| h.0.to_vec()).collect(),
        }))
    }

    async fn get_ledger_inclusion(
        &self,
        req: Request<proto::GetLedgerInclusionRequest>,
    ) -> Result<Response<proto::GetLedgerInclusionReply>, Status> {
        let caller = self.caller(&req, method::GET_LEDGER_INCLUSION)?;
        require_reader(&caller, "an inclusion proof")?;
        let req = req.into_inner();
        let id = hash_arg(&req.tx_id, "tx_id")?;
        let l = crate::audit::ledger_inclusion(&self.shared.store, &id, req.tree_size)
            .map_err(audit_status)?;
        Ok(Response::new(proto::GetLedgerInclusionReply {
            index: l.index,
            tree_size: l.tree_size,
            hashes: l.proof.iter().map(|h| h.0.to_vec()).collect(),
        }))
    }

    async fn query(
        &self,
        req: Request<proto::QueryRequest>,
    ) -> Result<Response<proto::QueryReply>, Status> {
        use safeledger_contracts::{assistance, query};
        self.officer(&req, method::QUERY, "rule-contract queries")?;
        let req = req.into_inner();
        let view = StoreView(&self.shared.store);
        let now = self.shared.status.borrow().block_time;
        let limit = match req.limit as usize {
            0 => 100,
            n => n.min(MAX_TIMELINE),
        };
        let enterprise = || {
            EnterpriseId::parse(&req.enterprise_id)
                .map_err(|e| Status::invalid_argument(e.to_string()))
        };
        let agency = || {
            if self.shared.genesis.agency(&req.agency).is_none() {
                return Err(Status::invalid_argument(format!(
                    "agency {:?} is not in the genesis",
                    req.agency
                )));
            }
            Ok(req.agency.as_str())
        };
        let json = match req.kind.as_str() {
            "assistance_open" => {
                serde_json::to_value(assistance::open_requests(&view, agency()?, now))
            }
            "assistance_overdue" => {
                serde_json::to_value(assistance::overdue_requests(&view, agency()?, now))
            }
            "inbox" => serde_json::to_value(query::inbox(&view, agency()?, 0, limit)),
            "decisions" => {
                serde_json::to_value(query::decisions(&view, &enterprise()?, &[], limit))
            }
            "timeline" => {
                serde_json::to_value(query::cross_agency_timeline(&view, &enterprise()?, limit))
            }
            "assessment" => {
                let params = safeledger_contracts::RuleParams::load(&view, &Default::default());
                serde_json::to_value(query::assessment_at(&view, &enterprise()?, now, &params))
            }
            "access_log" => serde_json::to_value(safeledger_contracts::access::log(&view, limit)),
            "read_log" => serde_json::to_value(safeledger_contracts::access::reads(&view, limit)),
            "evidence" => {
                let all = safeledger_contracts::evidence::recorded(&view);
                let skip = all.len().saturating_sub(limit);
                serde_json::to_value(&all[skip..])
            }
            "validators" => match self.shared.store.tip() {
                Ok(Some(t)) => Ok(serde_json::json!({
                    "height": t.height + 1,
                    "validators": t.validators,
                    "next_validators": t.next_validators,
                    "pending_changes": safeledger_contracts::governance::validator_changes(&view)
                        .into_iter()
                        .filter(|c| c.height >= t.height.saturating_sub(1))
                        .collect::<Vec<_>>(),
                })),
                Ok(None) => Ok(serde_json::Value::Null),
                Err(e) => return Err(Status::internal(e.to_string())),
            },
            other => {
                return Err(Status::invalid_argument(format!(
                    "unknown query {other:?}: assistance_open, assistance_overdue, inbox, \
                     decisions, timeline, assessment, evidence, validators, access_log, read_log"
                )))
            }
        }
        .map_err(internal)?;
        Ok(Response::new(proto::QueryReply {
            json: json.to_string(),
        }))
    }
}

/// The gRPC status of an erasure error.
fn erase_status(e: crate::private_erase::EraseError) -> Status {
    use crate::private_erase::EraseError as E;
    match e {
        E::NotFound(_) => Status::not_found(e.to_string()),
        E::UnknownField { .. } => Status::invalid_argument(e.to_string()),
        E::NotPrivate { .. } | E::NotHeld { .. } | E::NothingHeld(_) => {
            Status::failed_precondition(e.to_string())
        }
        E::Store(_) | E::Private(_) => Status::internal(e.to_string()),
    }
}

/// The gRPC status of an audit error.
fn audit_status(e: crate::audit::AuditError) -> Status {
    use crate::audit::AuditError as E;
    match e {
        E::NotFound(m) => Status::not_found(m),
        E::NotYet(m) => Status::failed_precondition(m),
        E::Unsupported(m) => Status::unimplemented(m),
        E::Invalid(m) => Status::invalid_argument(m),
        E::Private(f) => Status::permission_denied(format!("field {f} is private")),
        E::Undeclared(why) => Status::permission_denied(why),
        E::Store(e) => Status::internal(e.to_string()),
    }
}

/// The read declaration that lets `caller` read the private fields `fields` of `record`
/// (issue 8 item 2: a read of private data is on chain before the value leaves the node).
///
/// # Errors
/// A reason, for `PERMISSION_DENIED`: no declaration given, none accepted under that id,
/// one by another officer or about another record, one not naming every field, or one
/// older than [`safeledger_core::limits::READ_DECLARATION_VALIDITY_MS`] of block time at
/// `now` (the node's latest block time).
fn check_read_declaration(
    shared: &Shared,
    caller: &Caller,
    record: &TxId,
    fields: &[&str],
    declaration: Option<TxId>,
    now: Timestamp,
) -> Result<safeledger_contracts::access::ReadDeclaration, String> {
    let Caller::Officer { key, .. } = caller else {
        return Err("only officers declare reads".into());
    };
    let Some(tx) = declaration else {
        return Err(format!(
            "reading private field(s) {} of {record} must first be declared on chain: commit \
             a private_read transaction naming the record, the fields and the purpose, and \
             pass its id as read_declaration (the CLI does both with `audit view --purpose`)",
            fields.join(",")
        ));
    };
    let found = safeledger_contracts::access::declaration(&StoreView(&shared.store), &tx);
    judge_read_declaration(found, tx, key, record, fields, now)
}

/// The pure part of [`check_read_declaration`]: `found` is what the state holds under the
/// declaration id `tx`.
fn judge_read_declaration(
    found: Option<safeledger_contracts::access::ReadDeclaration>,
    tx: TxId,
    officer: &PublicKey,
    record: &TxId,
    fields: &[&str],
    now: Timestamp,
) -> Result<safeledger_contracts::access::ReadDeclaration, String> {
    use safeledger_core::limits::READ_DECLARATION_VALIDITY_MS;
    let Some(d) = found else {
        return Err(format!(
            "{tx} is not an accepted read declaration (not committed yet, refused, or not a \
             private_read)"
        ));
    };
    if d.officer != *officer {
        return Err(format!(
            "read declaration {tx} was made by officer {}",
            d.officer
        ));
    }
    if d.record != *record {
        return Err(format!(
            "read declaration {tx} is about record {}",
            d.record
        ));
    }
    let missing: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| !d.fields.iter().any(|g| g == f))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "read declaration {tx} does not name field(s) {}",
            missing.join(",")
        ));
    }
    if now.0.saturating_sub(d.block_time.0) > READ_DECLARATION_VALIDITY_MS {
        return Err(format!(
            "read declaration {tx} of {} has expired ({} min of block time); declare again",
            d.block_time.date_string(),
            READ_DECLARATION_VALIDITY_MS / 60_000
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod read_declaration_tests {
    use super::*;
    use safeledger_contracts::access::ReadDeclaration;
    use safeledger_core::limits::READ_DECLARATION_VALIDITY_MS;
    use safeledger_core::SecretKey;

    const AT: u64 = 1_800_000_000_000;

    fn officer(n: u8) -> PublicKey {
        SecretKey::from_bytes(&[n; 32]).public()
    }

    fn decl() -> ReadDeclaration {
        ReadDeclaration {
            tx: Hash([1; 32]),
            height: 9,
            block_time: Timestamp(AT),
            agency: "us-osha".into(),
            officer: officer(1),
            record: Hash([2; 32]),
            fields: vec!["description".into(), "location".into()],
            purpose: "case".into(),
        }
    }

    fn judge(
        found: Option<ReadDeclaration>,
        who: u8,
        record: u8,
        fields: &[&str],
        now: u64,
    ) -> Result<ReadDeclaration, String> {
        judge_read_declaration(
            found,
            Hash([1; 32]),
            &officer(who),
            &Hash([record; 32]),
            fields,
            Timestamp(now),
        )
    }

    #[test]
    fn a_matching_declaration_within_its_validity_allows_the_read() {
        let d = judge(Some(decl()), 1, 2, &["description"], AT + 1).expect("allowed");
        assert_eq!(d, decl());
        judge(
            Some(decl()),
            1,
            2,
            &["location", "description"],
            AT + READ_DECLARATION_VALIDITY_MS,
        )
        .expect("allowed at the last millisecond");
    }

    #[test]
    fn every_mismatch_is_refused_with_its_reason() {
        let e = judge(None, 1, 2, &["description"], AT).expect_err("none");
        assert!(e.contains("not an accepted read declaration"), "{e}");
        let e = judge(Some(decl()), 3, 2, &["description"], AT).expect_err("other officer");
        assert!(e.contains("was made by officer"), "{e}");
        let e = judge(Some(decl()), 1, 4, &["description"], AT).expect_err("other record");
        assert!(e.contains("is about record"), "{e}");
        let e = judge(Some(decl()), 1, 2, &["description", "name"], AT).expect_err("field");
        assert!(e.contains("does not name field(s) name"), "{e}");
        let e = judge(
            Some(decl()),
            1,
            2,
            &["description"],
            AT + READ_DECLARATION_VALIDITY_MS + 1,
        )
        .expect_err("expired");
        assert!(e.contains("has expired"), "{e}");
    }
}
