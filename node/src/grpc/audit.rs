//! Handlers for auditors and the proofs they verify offline: `GetView` (with the read
//! declaration a private field needs), `GetCheckpoint`, `GetConsistencyProof` and
//! `GetLedgerInclusion`.

use super::Shared;
use super::{hash_arg, internal, LedgerService};
use crate::app::StoreView;
use crate::auth::{require_reader, Caller};
use safeledger_client::auth::method;
use safeledger_client::proto;
use safeledger_core::limits::MAX_RECORD_FIELDS;
use safeledger_core::{Timestamp, TxId};
use tonic::{Request, Response, Status};

pub(super) async fn get_view(
    svc: &LedgerService,
    req: Request<proto::GetViewRequest>,
) -> Result<Response<proto::GetViewReply>, Status> {
    let caller = svc.caller(&req, method::GET_VIEW)?;
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
    let shared = svc.shared.clone();
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

pub(super) async fn get_checkpoint(
    svc: &LedgerService,
    req: Request<proto::GetCheckpointRequest>,
) -> Result<Response<proto::GetCheckpointReply>, Status> {
    svc.caller(&req, method::GET_CHECKPOINT)?;
    let height = req.into_inner().height;
    let cp = crate::audit::checkpoint(&svc.shared.store, height).map_err(audit_status)?;
    Ok(Response::new(proto::GetCheckpointReply {
        json: safeledger_core::view::encode(&cp),
    }))
}

pub(super) async fn get_state_proof(
    svc: &LedgerService,
    req: Request<proto::GetStateProofRequest>,
) -> Result<Response<proto::GetStateProofReply>, Status> {
    let caller = svc.caller(&req, method::GET_STATE_PROOF)?;
    require_reader(&caller, "a state proof")?;
    let req = req.into_inner();
    let shared = svc.shared.clone();
    let doc = tokio::task::spawn_blocking(move || {
        crate::audit::state_proof(&shared.store, &req.enterprises, req.height)
    })
    .await
    .map_err(internal)?
    .map_err(audit_status)?;
    Ok(Response::new(proto::GetStateProofReply {
        json: safeledger_core::view::encode(&doc),
    }))
}

pub(super) async fn get_consistency_proof(
    svc: &LedgerService,
    req: Request<proto::GetConsistencyProofRequest>,
) -> Result<Response<proto::GetConsistencyProofReply>, Status> {
    svc.caller(&req, method::GET_CONSISTENCY_PROOF)?;
    let req = req.into_inner();
    let proof = crate::audit::consistency(&svc.shared.store, req.first_size, req.second_size)
        .map_err(audit_status)?;
    Ok(Response::new(proto::GetConsistencyProofReply {
        hashes: proof.iter().map(|h| h.0.to_vec()).collect(),
    }))
}

pub(super) async fn get_ledger_inclusion(
    svc: &LedgerService,
    req: Request<proto::GetLedgerInclusionRequest>,
) -> Result<Response<proto::GetLedgerInclusionReply>, Status> {
    let caller = svc.caller(&req, method::GET_LEDGER_INCLUSION)?;
    require_reader(&caller, "an inclusion proof")?;
    let req = req.into_inner();
    let id = hash_arg(&req.tx_id, "tx_id")?;
    let l = crate::audit::ledger_inclusion(&svc.shared.store, &id, req.tree_size)
        .map_err(audit_status)?;
    Ok(Response::new(proto::GetLedgerInclusionReply {
        index: l.index,
        tree_size: l.tree_size,
        hashes: l.proof.iter().map(|h| h.0.to_vec()).collect(),
    }))
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
    safeledger_contracts::access::covering_declaration(
        &StoreView(&shared.store),
        tx,
        key,
        record,
        fields,
        now,
    )
}
