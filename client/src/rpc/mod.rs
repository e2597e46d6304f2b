//! gRPC client of the node API with fail-over between nodes.
//!
//! Submission semantics (DESIGN §3): a transaction is acknowledged only when a node reports
//! it committed, with its height and result. Until then [`LedgerClient::submit_and_wait`]
//! resubmits to the next node; the per-signer sequence makes resubmission idempotent.

use crate::auth::{self, method, Signer};
use crate::proto::{self, ledger_client::LedgerClient as Raw};
use safeledger_core::block::CommitCertificate;
use safeledger_core::encoding::from_canonical;
use safeledger_core::{Block, Hash, PublicKey, Transaction, TxId, TxResult};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;

mod field;
mod submit;

pub use field::{hash_file, FetchedEvidence, EVIDENCE_CHUNK};

pub use submit::{Held, SubmitOutcome, AWAIT_ROUND, STALL_BEFORE_REOFFER};

/// Largest gRPC message the client accepts or sends (bytes).
pub const MAX_GRPC_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No endpoint answered.
    #[error("no node reachable (tried {0})")]
    Unreachable(String),
    /// The node answered with an error status (shown as its code and message once; the
    /// status is not chained as a source, which would print the message twice).
    #[error("node error ({}): {}", .0.code(), .0.message())]
    Status(tonic::Status),
    /// A reply did not decode.
    #[error("malformed reply: {0}")]
    Decode(String),
    /// Transactions not committed before the deadline.
    #[error("{0} transactions not committed before the deadline")]
    Timeout(usize),
    /// A node refused a transaction for good (its reason).
    #[error("transaction {0} refused: {1}")]
    Refused(TxId, Refusal),
    /// Endpoint URL invalid.
    #[error("endpoint: {0}")]
    Endpoint(String),
}

impl From<tonic::Status> for ClientError {
    fn from(s: tonic::Status) -> ClientError {
        ClientError::Status(s)
    }
}

/// A transaction's commitment as reported by a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Transaction id.
    pub tx_id: TxId,
    /// Height of the block holding it.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Execution result.
    pub result: TxResult,
}

pub use proto::AdmissionReason;

/// A node's refusal of a transaction at admission: the typed reason, which callers act
/// on, and the node's message, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Why (never `Unspecified`, which means admitted).
    pub reason: AdmissionReason,
    /// The node's explanation.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Refusal {
    /// The refusal an admission answer carries: `None` when the transaction was admitted,
    /// is already committed, or met a full mempool (transient: wait, or try another node).
    pub fn of(a: &proto::Admission) -> Option<Refusal> {
        let reason = a.reason();
        let transient = reason == AdmissionReason::MempoolFull;
        (!a.admitted && !a.already_committed && !transient).then(|| Refusal {
            reason,
            message: a.error.clone(),
        })
    }
}

/// Node status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    /// Endpoint that answered.
    pub endpoint: String,
    /// Chain id.
    pub chain_id: String,
    /// Agency running the node.
    pub agency: String,
    /// Node key (hex).
    pub node_key: String,
    /// Last committed height.
    pub height: u64,
    /// Last block hash.
    pub last_block_hash: Hash,
    /// State root after the last block.
    pub state_root: Hash,
    /// Last block time, ms since the epoch.
    pub last_block_time_ms: u64,
    /// Current consensus round.
    pub round: u32,
    /// Transactions in the mempool.
    pub mempool_txs: u32,
    /// Connected peers.
    pub peers: u32,
    /// Transactions committed since genesis.
    pub committed_txs: u64,
}

fn hash_of(b: &[u8]) -> Result<Hash, ClientError> {
    let arr: [u8; 32] = b
        .try_into()
        .map_err(|_| ClientError::Decode(format!("hash of {} bytes", b.len())))?;
    Ok(Hash(arr))
}

/// A client over one or more node endpoints (`http://host:port`), failing over in order.
pub struct LedgerClient {
    endpoints: Vec<String>,
    current: usize,
    raw: Option<Raw<Channel>>,
    connect_timeout: Duration,
    request_timeout: Duration,
    signer: Option<Arc<Signer>>,
}

/// How long a connection (TCP and TLS handshake) may take before the next node is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one request may take (beyond the wait it asks for, for `AwaitCommit`) before
/// the node is taken as hung and the next one is tried: a node that is alive but does not
/// answer (stopped with SIGSTOP, overloaded) must not hang the client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl LedgerClient {
    /// A client over `endpoints`; connects lazily.
    pub fn new(endpoints: Vec<String>) -> LedgerClient {
        LedgerClient {
            endpoints,
            current: 0,
            raw: None,
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            signer: None,
        }
    }

    /// The same client signing every request as `signer` (an officer or auditor; see
    /// [`crate::auth`]). Without a signer only public requests succeed (status, checkpoints,
    /// consistency proofs); others are refused `UNAUTHENTICATED`.
    pub fn signed_by(mut self, signer: Signer) -> LedgerClient {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// The same client with another per-request deadline (default [`REQUEST_TIMEOUT`]).
    pub fn with_request_timeout(mut self, timeout: Duration) -> LedgerClient {
        self.request_timeout = timeout;
        self
    }

    /// The key requests are signed with, if any.
    pub fn signer(&self) -> Option<PublicKey> {
        self.signer.as_ref().map(|s| s.public())
    }

    /// The endpoint in use.
    pub fn endpoint(&self) -> &str {
        self.endpoints
            .get(self.current)
            .map(String::as_str)
            .unwrap_or("")
    }

    async fn raw(&mut self) -> Result<Raw<Channel>, ClientError> {
        if let Some(r) = &self.raw {
            return Ok(r.clone());
        }
        let n = self.endpoints.len();
        for k in 0..n {
            let i = (self.current + k) % n;
            let url = self.endpoints[i].clone();
            let connected = connect(&url, self.connect_timeout)
                .await
                .map_err(|e| ClientError::Endpoint(e.to_string()))?;
            if let Some(ch) = connected {
                let raw = Raw::new(ch)
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES);
                self.current = i;
                self.raw = Some(raw.clone());
                return Ok(raw);
            }
        }
        Err(ClientError::Unreachable(self.endpoints.join(", ")))
    }

    /// Drops the current connection and moves to the next endpoint.
    pub fn fail_over(&mut self) {
        self.raw = None;
        if !self.endpoints.is_empty() {
            self.current = (self.current + 1) % self.endpoints.len();
        }
    }

    /// Runs `f` against the current node, failing over on transport errors and on
    /// requests that take longer than the request timeout (each endpoint tried once).
    async fn call<M, T, F, Fut>(
        &mut self,
        method: &'static str,
        msg: M,
        f: F,
    ) -> Result<T, ClientError>
    where
        M: prost::Message + Clone,
        F: Fn(Raw<Channel>, tonic::Request<M>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        self.call_waiting(method, msg, Duration::ZERO, f).await
    }

    /// [`LedgerClient::call`] for a request that asks the node to wait up to `wait`
    /// before answering: its deadline is `wait` plus the request timeout.
    async fn call_waiting<M, T, F, Fut>(
        &mut self,
        method: &'static str,
        msg: M,
        wait: Duration,
        f: F,
    ) -> Result<T, ClientError>
    where
        M: prost::Message + Clone,
        F: Fn(Raw<Channel>, tonic::Request<M>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let deadline = wait + self.request_timeout;
        let tries = self.endpoints.len().max(1);
        let mut last = None;
        for _ in 0..tries {
            let raw = match self.raw().await {
                Ok(r) => r,
                Err(e) => return Err(e),
            };
            let req = auth::request(self.signer.as_deref(), method, msg.clone());
            match send_within(deadline, self.endpoint(), req, |r| f(raw, r)).await {
                Ok(v) => return Ok(v),
                Err(s) if is_transport(&s) => {
                    last = Some(s);
                    self.fail_over();
                }
                Err(s) => return Err(ClientError::Status(s)),
            }
        }
        Err(last
            .map(ClientError::Status)
            .unwrap_or_else(|| ClientError::Unreachable(self.endpoints.join(", "))))
    }

    /// The node's status.
    pub async fn status(&mut self) -> Result<Status, ClientError> {
        let r = self
            .call(
                method::STATUS,
                proto::StatusRequest {},
                |mut c, r| async move { c.status(r).await },
            )
            .await?
            .into_inner();
        Ok(Status {
            endpoint: self.endpoint().to_string(),
            chain_id: r.chain_id,
            agency: r.agency,
            node_key: r.node_key,
            height: r.height,
            last_block_hash: hash_of(&r.last_block_hash)?,
            state_root: hash_of(&r.state_root)?,
            last_block_time_ms: r.last_block_time_ms,
            round: r.round,
            mempool_txs: r.mempool_txs,
            peers: r.peers,
            committed_txs: r.committed_txs,
        })
    }

    /// Admits `txs` at the current node (in order). Returns per-transaction admission.
    pub async fn submit(
        &mut self,
        txs: &[Transaction],
    ) -> Result<Vec<proto::Admission>, ClientError> {
        let encoded: Vec<Vec<u8>> = txs.iter().map(safeledger_core::to_canonical).collect();
        let r = self
            .call(
                method::SUBMIT_BATCH,
                proto::SubmitBatchRequest { txs: encoded },
                |mut c, r| async move { c.submit_batch(r).await },
            )
            .await?
            .into_inner();
        Ok(r.admissions)
    }

    /// Hands the private values of withheld transactions (`(tx, values)` pairs) to the
    /// current node, which must be the recording agency's; returns how many were kept.
    pub async fn store_private(
        &mut self,
        items: &[(Transaction, Vec<safeledger_core::private::PrivateValue>)],
    ) -> Result<u32, ClientError> {
        let txs: Vec<Vec<u8>> = items
            .iter()
            .map(|(t, _)| safeledger_core::to_canonical(t))
            .collect();
        let values: Vec<Vec<u8>> = items
            .iter()
            .map(|(_, v)| safeledger_core::to_canonical(v))
            .collect();
        let r = self
            .call(
                method::STORE_PRIVATE,
                proto::StorePrivateRequest { txs, values },
                |mut c, r| async move { c.store_private(r).await },
            )
            .await?
            .into_inner();
        Ok(r.kept)
    }

    /// Waits at the current node until `ids` are committed or `timeout` passes; returns the
    /// committed ones.
    pub async fn await_commit(
        &mut self,
        ids: &[TxId],
        timeout: Duration,
    ) -> Result<Vec<Committed>, ClientError> {
        let tx_ids: Vec<Vec<u8>> = ids.iter().map(|h| h.0.to_vec()).collect();
        let timeout_ms = timeout.as_millis().min(u32::MAX as u128) as u32;
        let r = self
            .call_waiting(
                method::AWAIT_COMMIT,
                proto::AwaitCommitRequest { tx_ids, timeout_ms },
                timeout,
                |mut c, r| async move { c.await_commit(r).await },
            )
            .await?
            .into_inner();
        r.committed
            .into_iter()
            .filter(|c| c.committed)
            .map(|c| {
                Ok(Committed {
                    tx_id: hash_of(&c.tx_id)?,
                    height: c.height,
                    index: c.index,
                    result: from_canonical(&c.result)
                        .map_err(|e| ClientError::Decode(e.to_string()))?,
                })
            })
            .collect()
    }

    /// For each natural key of `agency`'s records, the committed record it would duplicate
    /// (`FindRecords`; at most 1,000 keys per call).
    pub async fn find_records(
        &mut self,
        agency: &str,
        keys: &[safeledger_core::records::identity::NaturalKey],
    ) -> Result<Vec<Option<TxId>>, ClientError> {
        let msg = proto::FindRecordsRequest {
            agency: agency.to_string(),
            keys: keys
                .iter()
                .map(|k| proto::RecordKey {
                    kind: k.kind.name().to_string(),
                    enterprise_id: k
                        .enterprise
                        .as_ref()
                        .map(|e| e.to_string())
                        .unwrap_or_default(),
                    key: k.key.clone(),
                })
                .collect(),
        };
        let r = self
            .call(method::FIND_RECORDS, msg, |mut c, r| async move {
                c.find_records(r).await
            })
            .await?
            .into_inner();
        if r.tx_ids.len() != keys.len() {
            return Err(ClientError::Decode(format!(
                "{} answers for {} keys",
                r.tx_ids.len(),
                keys.len()
            )));
        }
        r.tx_ids
            .iter()
            .map(|b| {
                if b.is_empty() {
                    Ok(None)
                } else {
                    hash_of(b).map(Some)
                }
            })
            .collect()
    }

    /// A block (0 = latest) with its certificate and results.
    pub async fn block(
        &mut self,
        height: u64,
    ) -> Result<(Block, CommitCertificate, Vec<TxResult>), ClientError> {
        let r = self
            .call(
                method::GET_BLOCK,
                proto::GetBlockRequest { height },
                |mut c, r| async move { c.get_block(r).await },
            )
            .await?
            .into_inner();
        let dec = |e: safeledger_core::DecodeError| ClientError::Decode(e.to_string());
        Ok((
            from_canonical(&r.block).map_err(dec)?,
            from_canonical(&r.certificate).map_err(dec)?,
            from_canonical(&r.results).map_err(dec)?,
        ))
    }

    /// The headers of up to `limit` (1 to 100) consecutive blocks from `to_height` (0 =
    /// latest) down, newest first.
    ///
    /// # Errors
    /// No node answers, the caller may not read blocks, no block at `to_height`, a header
    /// that does not decode.
    pub async fn block_headers(
        &mut self,
        to_height: u64,
        limit: u32,
    ) -> Result<Vec<safeledger_core::Header>, ClientError> {
        let r = self
            .call(
                method::LIST_BLOCK_HEADERS,
                proto::ListBlockHeadersRequest { to_height, limit },
                |mut c, r| async move { c.list_block_headers(r).await },
            )
            .await?
            .into_inner();
        r.headers
            .iter()
            .map(|h| from_canonical(h).map_err(|e| ClientError::Decode(e.to_string())))
            .collect()
    }

    /// A committed transaction with (height, index) and result.
    pub async fn transaction(
        &mut self,
        id: TxId,
    ) -> Result<(Transaction, u64, u32, TxResult), ClientError> {
        let r = self
            .call(
                method::GET_TRANSACTION,
                proto::GetTransactionRequest {
                    tx_id: id.0.to_vec(),
                },
                |mut c, r| async move { c.get_transaction(r).await },
            )
            .await?
            .into_inner();
        let dec = |e: safeledger_core::DecodeError| ClientError::Decode(e.to_string());
        Ok((
            from_canonical(&r.tx).map_err(dec)?,
            r.height,
            r.index,
            from_canonical(&r.result).map_err(dec)?,
        ))
    }

    /// An enterprise's state and timeline as JSON.
    pub async fn enterprise(
        &mut self,
        id: &str,
        timeline_limit: u32,
    ) -> Result<serde_json::Value, ClientError> {
        let r = self
            .call(
                method::GET_ENTERPRISE,
                proto::GetEnterpriseRequest {
                    enterprise_id: id.to_string(),
                    timeline_limit,
                },
                |mut c, r| async move { c.get_enterprise(r).await },
            )
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Enterprises matching `text` (see the proto's `SearchEnterprises`): JSON.
    pub async fn search_enterprises(
        &mut self,
        text: &str,
        limit: u32,
        offset: u32,
    ) -> Result<serde_json::Value, ClientError> {
        let r = self
            .call(
                method::SEARCH_ENTERPRISES,
                proto::SearchEnterprisesRequest {
                    text: text.to_string(),
                    limit,
                    offset,
                },
                |mut c, r| async move { c.search_enterprises(r).await },
            )
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A page of an officer's list (see the proto's `ListEnterprises`): JSON.
    pub async fn list_enterprises(
        &mut self,
        request: proto::ListEnterprisesRequest,
    ) -> Result<serde_json::Value, ClientError> {
        let r = self
            .call(method::LIST_ENTERPRISES, request, |mut c, r| async move {
                c.list_enterprises(r).await
            })
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A page of an agency's inbox (see the proto's `GetInbox`): JSON.
    pub async fn inbox(
        &mut self,
        request: proto::GetInboxRequest,
    ) -> Result<serde_json::Value, ClientError> {
        let r = self
            .call(method::GET_INBOX, request, |mut c, r| async move {
                c.get_inbox(r).await
            })
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A page of the records an officer signed (see the proto's `GetOfficerRecords`): JSON.
    pub async fn officer_records(
        &mut self,
        request: proto::GetOfficerRecordsRequest,
    ) -> Result<serde_json::Value, ClientError> {
        let r = self
            .call(
                method::GET_OFFICER_RECORDS,
                request,
                |mut c, r| async move { c.get_officer_records(r).await },
            )
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The rules' verdict on `tx` over the node's committed state, nothing submitted (see
    /// the proto's `CheckTransaction`): JSON.
    pub async fn check_transaction(
        &mut self,
        tx: &safeledger_core::Transaction,
    ) -> Result<serde_json::Value, ClientError> {
        let request = proto::CheckTransactionRequest {
            tx: safeledger_core::to_canonical(tx),
        };
        let r = self
            .call(method::CHECK_TRANSACTION, request, |mut c, r| async move {
                c.check_transaction(r).await
            })
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A rule-contract query (see the proto's `Query`): JSON.
    pub async fn query(
        &mut self,
        kind: &str,
        agency: &str,
        enterprise_id: &str,
        limit: u32,
    ) -> Result<serde_json::Value, ClientError> {
        let req = proto::QueryRequest {
            kind: kind.to_string(),
            agency: agency.to_string(),
            enterprise_id: enterprise_id.to_string(),
            limit,
        };
        let r = self
            .call(
                method::QUERY,
                req,
                |mut c, r| async move { c.query(r).await },
            )
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The last committed sequence of `signer`.
    pub async fn sequence(&mut self, signer: &PublicKey) -> Result<u64, ClientError> {
        let r = self
            .call(
                method::GET_SEQUENCE,
                proto::GetSequenceRequest {
                    signer: signer.0.to_vec(),
                },
                |mut c, r| async move { c.get_sequence(r).await },
            )
            .await?
            .into_inner();
        Ok(r.sequence)
    }

    /// Erases at the current node (which should be the one agency's node holding the
    /// values: build the client with that endpoint only) the private values of `tx`: the
    /// fields named, or all of them when `fields` is empty. Returns the erased fields.
    pub async fn erase_private(
        &mut self,
        tx: &TxId,
        fields: &[String],
    ) -> Result<Vec<proto::ErasedField>, ClientError> {
        let req = proto::ErasePrivateRequest {
            tx_id: tx.0.to_vec(),
            fields: fields.to_vec(),
        };
        let r = self
            .call(method::ERASE_PRIVATE, req, |mut c, r| async move {
                c.erase_private(r).await
            })
            .await?
            .into_inner();
        Ok(r.erased)
    }
}

/// A channel to `url` (`http://` or a pinned `https://`), connected within `timeout`:
/// the timeout bounds TCP and the TLS handshake alike, since a stopped process accepts TCP
/// connections (the kernel's backlog) but never shakes hands. `Ok(None)`: not connected in
/// time.
///
/// # Errors
/// The URL or its TLS settings are not usable ([`crate::tls::TlsError`]).
pub(crate) async fn connect(
    url: &str,
    timeout: Duration,
) -> Result<Option<Channel>, crate::tls::TlsError> {
    let ep = crate::tls::endpoint(url, timeout)?;
    Ok(match tokio::time::timeout(timeout, ep.connect()).await {
        Ok(Ok(ch)) => Some(ch),
        _ => None,
    })
}

/// Sends `req` with `send`, telling the node the deadline (`grpc-timeout`) and giving up
/// at it: a node that does not answer in time (`endpoint`, for the message) answers
/// `DEADLINE_EXCEEDED`, which [`is_transport`] counts as a failed transport.
pub(crate) async fn send_within<M, T, Fut>(
    deadline: Duration,
    endpoint: &str,
    mut req: tonic::Request<M>,
    send: impl FnOnce(tonic::Request<M>) -> Fut,
) -> Result<T, tonic::Status>
where
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    req.set_timeout(deadline);
    match tokio::time::timeout(deadline, send(req)).await {
        Ok(answer) => answer,
        Err(_) => Err(tonic::Status::deadline_exceeded(format!(
            "{endpoint} did not answer within {} s",
            deadline.as_secs()
        ))),
    }
}

/// Whether a status means the node could not be reached or did not answer (so another node
/// is tried), rather than an answer.
pub(crate) fn is_transport(s: &tonic::Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded
    )
}
