//! `LedgerClient::submit_and_wait_detailed` gives each node a transaction once (issue 17
//! item 5): it resubmits only to another node, after a wait without progress, and acts on
//! the typed admission reason, never on the error text. Against fake nodes that count the
//! `SubmitBatch` calls they get.

use safeledger_client::proto::{self, ledger_server};
use safeledger_client::rpc::{AdmissionReason, LedgerClient};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{EnterpriseRecord, TxBody};
use safeledger_core::{
    to_canonical, Outcome, SecretKey, Timestamp, Transaction, TxPayload, TxResult,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// How a fake node answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Admits and never commits.
    Stalled,
    /// Admits and reports every awaited transaction committed.
    Commits,
    /// Refuses every transaction with this reason (its message does not say why).
    Refuses(AdmissionReason),
}

struct Fake {
    behaviour: Behaviour,
    submits: Arc<AtomicUsize>,
}

fn no<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in this fake"))
}

#[tonic::async_trait]
impl ledger_server::Ledger for Fake {
    async fn submit_batch(
        &self,
        req: Request<proto::SubmitBatchRequest>,
    ) -> Result<Response<proto::SubmitBatchReply>, Status> {
        self.submits.fetch_add(1, Ordering::SeqCst);
        let admissions = req
            .into_inner()
            .txs
            .iter()
            .map(|b| {
                let tx: Transaction = safeledger_core::from_canonical(b).expect("a transaction");
                let mut a = proto::Admission {
                    tx_id: tx.id().0.to_vec(),
                    admitted: true,
                    ..Default::default()
                };
                if let Behaviour::Refuses(r) = self.behaviour {
                    a.admitted = false;
                    a.reason = r as i32;
                    a.error = "no".into();
                }
                a
            })
            .collect();
        Ok(Response::new(proto::SubmitBatchReply { admissions }))
    }

    async fn await_commit(
        &self,
        req: Request<proto::AwaitCommitRequest>,
    ) -> Result<Response<proto::AwaitCommitReply>, Status> {
        let committed = req
            .into_inner()
            .tx_ids
            .into_iter()
            .map(|id| {
                let done = matches!(self.behaviour, Behaviour::Commits);
                let tx_id = safeledger_core::Hash(id.as_slice().try_into().expect("32 bytes"));
                proto::Committed {
                    tx_id: id,
                    committed: done,
                    height: 1,
                    index: 0,
                    result: to_canonical(&TxResult {
                        tx_id,
                        outcome: Outcome::Accepted,
                    }),
                }
            })
            .collect();
        Ok(Response::new(proto::AwaitCommitReply { committed }))
    }

    async fn status(
        &self,
        _: Request<proto::StatusRequest>,
    ) -> Result<Response<proto::StatusReply>, Status> {
        no()
    }
    async fn get_block(
        &self,
        _: Request<proto::GetBlockRequest>,
    ) -> Result<Response<proto::GetBlockReply>, Status> {
        no()
    }
    async fn get_transaction(
        &self,
        _: Request<proto::GetTransactionRequest>,
    ) -> Result<Response<proto::GetTransactionReply>, Status> {
        no()
    }
    async fn get_enterprise(
        &self,
        _: Request<proto::GetEnterpriseRequest>,
    ) -> Result<Response<proto::GetEnterpriseReply>, Status> {
        no()
    }
    async fn get_sequence(
        &self,
        _: Request<proto::GetSequenceRequest>,
    ) -> Result<Response<proto::GetSequenceReply>, Status> {
        no()
    }
    async fn get_view(
        &self,
        _: Request<proto::GetViewRequest>,
    ) -> Result<Response<proto::GetViewReply>, Status> {
        no()
    }
    async fn get_checkpoint(
        &self,
        _: Request<proto::GetCheckpointRequest>,
    ) -> Result<Response<proto::GetCheckpointReply>, Status> {
        no()
    }
    async fn get_state_proof(
        &self,
        _: Request<proto::GetStateProofRequest>,
    ) -> Result<Response<proto::GetStateProofReply>, Status> {
        no()
    }
    async fn get_consistency_proof(
        &self,
        _: Request<proto::GetConsistencyProofRequest>,
    ) -> Result<Response<proto::GetConsistencyProofReply>, Status> {
        no()
    }
    async fn get_ledger_inclusion(
        &self,
        _: Request<proto::GetLedgerInclusionRequest>,
    ) -> Result<Response<proto::GetLedgerInclusionReply>, Status> {
        no()
    }
    async fn query(
        &self,
        _: Request<proto::QueryRequest>,
    ) -> Result<Response<proto::QueryReply>, Status> {
        no()
    }
    async fn store_private(
        &self,
        _: Request<proto::StorePrivateRequest>,
    ) -> Result<Response<proto::StorePrivateReply>, Status> {
        no()
    }
    async fn erase_private(
        &self,
        _: Request<proto::ErasePrivateRequest>,
    ) -> Result<Response<proto::ErasePrivateReply>, Status> {
        no()
    }
    async fn find_records(
        &self,
        _: Request<proto::FindRecordsRequest>,
    ) -> Result<Response<proto::FindRecordsReply>, Status> {
        no()
    }
    async fn search_enterprises(
        &self,
        _: Request<proto::SearchEnterprisesRequest>,
    ) -> Result<Response<proto::SearchEnterprisesReply>, Status> {
        no()
    }
    async fn list_enterprises(
        &self,
        _: Request<proto::ListEnterprisesRequest>,
    ) -> Result<Response<proto::ListEnterprisesReply>, Status> {
        no()
    }
    async fn get_inbox(
        &self,
        _: Request<proto::GetInboxRequest>,
    ) -> Result<Response<proto::GetInboxReply>, Status> {
        no()
    }
    async fn get_officer_records(
        &self,
        _: Request<proto::GetOfficerRecordsRequest>,
    ) -> Result<Response<proto::GetOfficerRecordsReply>, Status> {
        no()
    }
    async fn check_transaction(
        &self,
        _: Request<proto::CheckTransactionRequest>,
    ) -> Result<Response<proto::CheckTransactionReply>, Status> {
        no()
    }
    async fn put_evidence(
        &self,
        _: Request<tonic::Streaming<proto::EvidenceChunk>>,
    ) -> Result<Response<proto::EvidenceStored>, Status> {
        no()
    }
    type GetEvidenceStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<proto::EvidenceChunk, Status>> + Send>,
    >;
    async fn get_evidence(
        &self,
        _: Request<proto::GetEvidenceRequest>,
    ) -> Result<Response<Self::GetEvidenceStream>, Status> {
        no()
    }
    async fn submit_tip(
        &self,
        _: Request<proto::SubmitTipRequest>,
    ) -> Result<Response<proto::SubmitTipReply>, Status> {
        no()
    }
    async fn get_tip_status(
        &self,
        _: Request<proto::GetTipStatusRequest>,
    ) -> Result<Response<proto::GetTipStatusReply>, Status> {
        no()
    }
    async fn list_block_headers(
        &self,
        _: Request<proto::ListBlockHeadersRequest>,
    ) -> Result<Response<proto::ListBlockHeadersReply>, Status> {
        no()
    }
}

/// A fake node on a free loopback port: its URL and its `SubmitBatch` counter. The server
/// task ends with the test's runtime.
async fn fake(behaviour: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let submits = Arc::new(AtomicUsize::new(0));
    let svc = ledger_server::LedgerServer::new(Fake {
        behaviour,
        submits: submits.clone(),
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (url, submits)
}

fn tx() -> Transaction {
    let key = SecretKey::from_bytes(&[3; 32]);
    let body = TxBody::EnterpriseRecord(EnterpriseRecord {
        enterprise: EnterpriseId::namespaced("t", "1").expect("id"),
        name: "Fake Works".into(),
        address: String::new(),
        linked_ids: Vec::new(),
    });
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    Transaction::sign(
        TxPayload::new("c", 1, Timestamp(1), body, &mut rng),
        &[&key],
    )
}

#[tokio::test]
async fn a_stalled_node_gets_the_transaction_once_and_another_node_commits_it() {
    let (a, a_submits) = fake(Behaviour::Stalled).await;
    let (b, b_submits) = fake(Behaviour::Commits).await;
    let mut c = LedgerClient::new(vec![a, b]);
    let out = c
        .submit_and_wait_detailed(&[tx()], Duration::from_secs(60))
        .await
        .expect("committed through the second node");
    assert_eq!(out.committed.len(), 1);
    assert!(out.refused.is_empty());
    assert_eq!(
        a_submits.load(Ordering::SeqCst),
        1,
        "the stalled node got it once"
    );
    assert_eq!(
        b_submits.load(Ordering::SeqCst),
        1,
        "the other node got it once"
    );
}

#[tokio::test]
async fn one_node_is_given_the_transaction_once_while_it_may_still_hold_it() {
    let (a, a_submits) = fake(Behaviour::Stalled).await;
    let mut c = LedgerClient::new(vec![a]);
    let err = c
        .submit_and_wait_detailed(&[tx()], Duration::from_secs(6))
        .await
        .expect_err("never committed");
    assert!(
        err.to_string()
            .contains("not committed before the deadline"),
        "{err}"
    );
    assert_eq!(
        a_submits.load(Ordering::SeqCst),
        1,
        "never resubmitted to the same node"
    );
}

#[tokio::test]
async fn refusals_are_told_apart_by_their_typed_reason_not_their_text() {
    let (a, _) = fake(Behaviour::Refuses(AdmissionReason::StaleSequence)).await;
    let mut c = LedgerClient::new(vec![a]);
    let out = c
        .submit_and_wait_detailed(&[tx()], Duration::from_secs(10))
        .await
        .expect("answered");
    assert_eq!(out.refused.len(), 1);
    assert_eq!(out.refused[0].1.reason, AdmissionReason::StaleSequence);
    // A full mempool is not a refusal: the transaction is offered again after a wait.
    let (full, full_submits) = fake(Behaviour::Refuses(AdmissionReason::MempoolFull)).await;
    let mut c = LedgerClient::new(vec![full]);
    let err = c
        .submit_and_wait_detailed(&[tx()], Duration::from_secs(6))
        .await
        .expect_err("never admitted");
    assert!(
        err.to_string()
            .contains("not committed before the deadline"),
        "{err}"
    );
    assert!(
        full_submits.load(Ordering::SeqCst) >= 2,
        "offered again after a full mempool"
    );
}

#[tokio::test]
async fn a_node_that_holds_it_and_commits_nothing_is_offered_it_again_after_the_stall_bound() {
    use safeledger_client::rpc::STALL_BEFORE_REOFFER;
    let (a, a_submits) = fake(Behaviour::Stalled).await;
    let mut c = LedgerClient::new(vec![a]);
    let wait = STALL_BEFORE_REOFFER + Duration::from_secs(2);
    let err = c
        .submit_and_wait_detailed(&[tx()], wait)
        .await
        .expect_err("never committed");
    assert!(
        err.to_string()
            .contains("not committed before the deadline"),
        "{err}"
    );
    // It may have restarted unseen: offered once more, not on every round.
    assert_eq!(a_submits.load(Ordering::SeqCst), 2);
}
