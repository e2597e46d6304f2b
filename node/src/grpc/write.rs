//! Handlers that change what a node holds: transaction admission (`SubmitBatch`), commit
//! waits (`AwaitCommit`), and the recording agency's private values (`StorePrivate`,
//! `ErasePrivate`).

use super::{hash_arg, internal, LedgerService, MAX_AWAIT, MAX_AWAIT_IDS};
use crate::app::StoreView;
use crate::mempool::AdmitError;
use safeledger_client::auth::method;
use safeledger_client::proto;
use safeledger_core::encoding::{from_canonical_bounded, to_canonical};
use safeledger_core::limits::{MAX_BATCH_TXS, MAX_RECORD_FIELDS, MAX_TX_BYTES};
use safeledger_core::{Hash, Transaction};
use std::time::Duration;
use tonic::{Request, Response, Status};

pub(super) async fn store_private(
    svc: &LedgerService,
    req: Request<proto::StorePrivateRequest>,
) -> Result<Response<proto::StorePrivateReply>, Status> {
    svc.own_officer(&req, method::STORE_PRIVATE, "store private values")?;
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
    let shared = svc.shared.clone();
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
            let agency = shared
                .registry
                .officer(&view, &submitter)
                .ok()
                .map(|o| o.agency);
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

pub(super) async fn erase_private(
    svc: &LedgerService,
    req: Request<proto::ErasePrivateRequest>,
) -> Result<Response<proto::ErasePrivateReply>, Status> {
    svc.own_officer(&req, method::ERASE_PRIVATE, "erase private values")?;
    let req = req.into_inner();
    let id = hash_arg(&req.tx_id, "tx_id")?;
    if req.fields.len() > MAX_RECORD_FIELDS {
        return Err(Status::invalid_argument(format!(
            "at most {MAX_RECORD_FIELDS} fields to erase"
        )));
    }
    let shared = svc.shared.clone();
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

pub(super) async fn submit_batch(
    svc: &LedgerService,
    req: Request<proto::SubmitBatchRequest>,
) -> Result<Response<proto::SubmitBatchReply>, Status> {
    // Monitoring gateways and enterprises hold no officer key: their alerts and
    // acknowledgements come unsigned (admission checks each one's monitoring key).
    let caller = svc.caller(&req, method::SUBMIT_BATCH)?;
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
    if !txs.iter().all(|t| t.payload.body.is_monitor_signed()) {
        crate::auth::require_officer(&caller, "submitting transactions")?;
    }
    let shared = svc.shared.clone();
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
            reason: admission_reason(&r) as i32,
            error: r.err().map(|e| e.to_string()).unwrap_or_default(),
        })
        .collect();
    Ok(Response::new(proto::SubmitBatchReply { admissions }))
}

pub(super) async fn await_commit(
    svc: &LedgerService,
    req: Request<proto::AwaitCommitRequest>,
) -> Result<Response<proto::AwaitCommitReply>, Status> {
    // Public too: a monitoring gateway waits for its alerts (an id is known only to
    // whoever submitted or saw the transaction).
    let caller = svc.caller(&req, method::AWAIT_COMMIT)?;
    if let crate::auth::Caller::Auditor { .. } = caller {
        crate::auth::require_officer(&caller, "awaiting commits")?;
    }
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
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(req.timeout_ms as u64).min(MAX_AWAIT);
    let mut status = svc.shared.status.clone();
    let store = &svc.shared.store;
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

/// The typed reason of an admission answer (`proto::AdmissionReason`; `Unspecified` when
/// admitted).
fn admission_reason<T>(r: &Result<T, AdmitError>) -> proto::AdmissionReason {
    use proto::AdmissionReason as R;
    match r {
        Ok(_) => R::Unspecified,
        Err(AdmitError::Invalid(_)) => R::Invalid,
        Err(AdmitError::UnknownSigner(_)) => R::UnknownSigner,
        Err(AdmitError::StaleSequence { .. }) => R::StaleSequence,
        Err(AdmitError::Committed) => R::AlreadyCommitted,
        Err(AdmitError::Full(..)) => R::MempoolFull,
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
