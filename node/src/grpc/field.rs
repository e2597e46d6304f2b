//! Handlers of the field's files and the public's tips (issue 20 items 4, 5):
//! `PutEvidence`, `GetEvidence` (evidence files kept by this node, outside the replicated
//! store: [`crate::evidence_store`]), `SubmitTip` and `GetTipStatus` (public).
//!
//! A tip is taken in here: the receipt code is drawn from the OS (128 bits), the tip id
//! derived from it one-way, the `tip_intake` signed with the node key at the next node-key
//! sequence (under [`crate::machine::Context::own_tx_lock`]), its description withheld as
//! a private field kept in this node's private store, and the transaction admitted and
//! gossiped like a client's. Nothing here logs or counts the code, the tip's text or the
//! caller's address; the per-source rate limit keeps addresses in memory only.

use super::{hash_arg, internal, LedgerService};
use crate::app::StoreView;
use crate::evidence_store::EvidenceError;
use safeledger_client::auth::method;
use safeledger_client::proto;
use safeledger_core::records::attachment::check_media_type;
use safeledger_core::records::tip::{tip_id_of_receipt, MAX_TIP_FILES};
use safeledger_core::records::{EvidenceFile, TipIntake, TxBody};
use safeledger_core::{Hash, Timestamp, Transaction, TxPayload};
use std::pin::Pin;
use tokio::io::AsyncReadExt;
use tonic::{Request, Response, Status, Streaming};

/// Most bytes of all the files of one tip.
pub const MAX_TIP_FILE_BYTES: usize = 4 << 20;
/// Bytes of file data per streamed message.
const CHUNK: usize = 1 << 20;

/// The stream `GetEvidence` answers.
pub type EvidenceStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::EvidenceChunk, Status>> + Send>>;

fn evidence_status(e: EvidenceError) -> Status {
    match e {
        EvidenceError::TooLarge(_) => Status::resource_exhausted(e.to_string()),
        EvidenceError::Mismatch { .. } => Status::invalid_argument(e.to_string()),
        EvidenceError::Io(_) => Status::internal(e.to_string()),
    }
}

pub(super) async fn put_evidence(
    svc: &LedgerService,
    req: Request<Streaming<proto::EvidenceChunk>>,
) -> Result<Response<proto::EvidenceStored>, Status> {
    let (md, ext, mut stream) = req.into_parts();
    let header = stream
        .message()
        .await?
        .ok_or_else(|| Status::invalid_argument("no header message"))?;
    if !header.data.is_empty() {
        return Err(Status::invalid_argument(
            "the first message names the file and carries no data",
        ));
    }
    // The signature covers the header: the declared hash binds every byte that follows.
    let signed = Request::from_parts(md, ext, header.clone());
    svc.own_officer(&signed, method::PUT_EVIDENCE, "keep evidence files")?;
    let hash = hash_arg(&header.hash, "hash")?;
    check_media_type(&header.media_type).map_err(Status::invalid_argument)?;
    let mut w = svc
        .shared
        .evidence
        .writer(hash, header.size)
        .map_err(evidence_status)?;
    while let Some(c) = stream.message().await? {
        w.write(&c.data).map_err(evidence_status)?;
    }
    let already_held = tokio::task::spawn_blocking(move || w.finish())
        .await
        .map_err(internal)?
        .map_err(evidence_status)?;
    tracing::info!(file = %hash, bytes = header.size, "evidence file kept");
    Ok(Response::new(proto::EvidenceStored {
        hash: hash.0.to_vec(),
        size: header.size,
        already_held,
    }))
}

pub(super) async fn get_evidence(
    svc: &LedgerService,
    req: Request<proto::GetEvidenceRequest>,
) -> Result<Response<EvidenceStream>, Status> {
    let c = svc.officer(&req, method::GET_EVIDENCE, "fetch evidence files")?;
    let hash = hash_arg(&req.get_ref().hash, "hash")?;
    let agency = c.agency().unwrap_or_default().to_string();
    let view = StoreView(&svc.shared.store);
    let listings = safeledger_contracts::attachments::listings(&view, &hash);
    if listings.is_empty() {
        return Err(Status::not_found(format!(
            "no record lists evidence file {hash}"
        )));
    }
    let Some(l) = safeledger_contracts::attachments::entitled(&view, &agency, &hash) else {
        return Err(Status::permission_denied(format!(
            "{agency} is not entitled to evidence file {hash}: it was recorded by {}; ask \
             for access to field files of record {} (access request) or a sharing \
             catalogue entry",
            listings[0].keeper, listings[0].record
        )));
    };
    if l.keeper != svc.shared.agency {
        return Err(Status::not_found(format!(
            "evidence file {hash} is kept by the node of {}, not here",
            l.keeper
        )));
    }
    if !svc.shared.evidence.has(&hash) {
        return Err(Status::not_found(format!(
            "evidence file {hash} is listed on the ledger but missing from this node's \
             evidence store (DATA/evidence): restore it from the agency's backup"
        )));
    }
    tracing::info!(file = %hash, reader = %agency, "evidence file read");
    let path = svc.shared.evidence.path(&hash);
    let header = proto::EvidenceChunk {
        hash: hash.0.to_vec(),
        size: l.file.bytes,
        media_type: l.file.media_type.clone(),
        name: l.file.name.clone(),
        data: Vec::new(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        if tx.send(Ok(header)).await.is_err() {
            return;
        }
        let mut f = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.send(Err(Status::internal(e.to_string()))).await;
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; CHUNK];
            match f.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    let chunk = proto::EvidenceChunk {
                        data: buf,
                        ..Default::default()
                    };
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(Status::internal(e.to_string()))).await;
                    return;
                }
            }
        }
    });
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    )))
}

/// A receipt code: `TIP-` and 26 base32 characters (128 bits from the OS).
fn receipt_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 17] = rand::random();
    let mut out = String::from("TIP-");
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < 4 + 26 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    out
}

pub(super) async fn submit_tip(
    svc: &LedgerService,
    req: Request<proto::SubmitTipRequest>,
) -> Result<Response<proto::SubmitTipReply>, Status> {
    let source = req
        .remote_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let r = req.into_inner();
    if r.description.trim().is_empty() {
        return Err(Status::invalid_argument("field description: is blank"));
    }
    if r.files.len() > MAX_TIP_FILES {
        return Err(Status::invalid_argument(format!(
            "{} files: a tip carries at most {MAX_TIP_FILES}",
            r.files.len()
        )));
    }
    let total: usize = r.files.iter().map(|f| f.data.len()).sum();
    if total > MAX_TIP_FILE_BYTES {
        return Err(Status::invalid_argument(format!(
            "the files hold {total} bytes: a tip carries at most {MAX_TIP_FILE_BYTES}"
        )));
    }
    let enterprise = match r.enterprise.trim() {
        "" => None,
        e => Some(
            safeledger_core::ids::EnterpriseId::parse(e)
                .map_err(|e| Status::invalid_argument(format!("field enterprise: {e}")))?,
        ),
    };
    let shared = svc.shared.clone();
    let receipt = receipt_code();
    let tip = TipIntake {
        tip_id: tip_id_of_receipt(&receipt),
        agency: shared.agency.clone(),
        enterprise,
        address: r.address,
        description: r.description,
        evidence: r
            .files
            .iter()
            .map(|f| EvidenceFile {
                hash: Hash(*blake3::hash(&f.data).as_bytes()),
                bytes: f.data.len() as u64,
                media_type: f.media_type.clone(),
                name: f.name.clone(),
            })
            .collect(),
    };
    let body = TxBody::TipIntake(tip);
    body.check_bounds()
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    if let TxBody::TipIntake(t) = &body {
        if let Some(e) = &t.enterprise {
            if safeledger_contracts::query::enterprise(&StoreView(&shared.store), e).is_none() {
                return Err(Status::invalid_argument(format!(
                    "field enterprise: {e} is not on the ledger (give the address instead)"
                )));
            }
        }
    }
    // Only a tip that would be taken in counts against its source's hourly limit.
    if !shared.tip_limiter.allow(source, std::time::Instant::now()) {
        return Err(Status::resource_exhausted(
            "too many tips from your address: try again in an hour",
        ));
    }
    let agency = shared.agency.clone();
    let tx_id = tokio::task::spawn_blocking(move || -> Result<Hash, Status> {
        for f in &r.files {
            shared
                .evidence
                .put_bytes(&f.data)
                .map_err(evidence_status)?;
        }
        let _own = shared.own_tx_lock.lock().unwrap_or_else(|e| e.into_inner());
        let key = shared.node_secret.public();
        let sequence = crate::app::next_sequence(&shared.store, &shared.mempool, &key);
        let now = Timestamp(safeledger_client::auth::now_ms());
        let payload = TxPayload::new(
            &shared.genesis.chain_id,
            sequence,
            now,
            body,
            &mut rand::rngs::OsRng,
        );
        let mut tx = Transaction::sign(payload, &[&shared.node_secret]);
        let values = tx.payload.withhold(&["description"]).map_err(internal)?;
        let id = tx.id();
        shared.private.put(&id, &values).map_err(internal)?;
        let (_, admitted) = shared
            .admit(vec![tx], true)
            .pop()
            .ok_or_else(|| Status::internal("admission returned no result"))?;
        match admitted {
            Ok(_) => Ok(id),
            Err(e) => Err(Status::unavailable(format!(
                "the node could not take the tip in now ({e}); try again shortly"
            ))),
        }
    })
    .await
    .map_err(internal)??;
    Ok(Response::new(proto::SubmitTipReply {
        receipt,
        agency,
        tx_id: tx_id.0.to_vec(),
    }))
}

pub(super) async fn get_tip_status(
    svc: &LedgerService,
    req: Request<proto::GetTipStatusRequest>,
) -> Result<Response<proto::GetTipStatusReply>, Status> {
    let receipt = req.into_inner().receipt;
    if receipt.trim().is_empty() || receipt.len() > 64 {
        return Err(Status::invalid_argument("not a receipt code"));
    }
    let view = StoreView(&svc.shared.store);
    let Some(status) = safeledger_contracts::tips::public_status(&view, &receipt) else {
        return Err(Status::not_found(
            "no tip has this receipt code (a tip just handed in appears once its block \
             commits, within seconds)",
        ));
    };
    let json = serde_json::to_string(&status).map_err(internal)?;
    Ok(Response::new(proto::GetTipStatusReply { json }))
}
