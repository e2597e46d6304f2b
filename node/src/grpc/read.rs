//! Handlers that read committed state: `Status`, `GetBlock`, `GetTransaction`,
//! `GetEnterprise`, `GetSequence` and the named queries of `Query`
//! ([`safeledger_contracts::query::route`]).

use super::{hash_arg, internal, LedgerService, MAX_TIMELINE};
use crate::app::StoreView;
use safeledger_client::auth::method;
use safeledger_client::proto;
use safeledger_core::encoding::to_canonical;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::PublicKey;
use std::sync::atomic::Ordering;
use tonic::{Request, Response, Status};

pub(super) async fn status(
    svc: &LedgerService,
    req: Request<proto::StatusRequest>,
) -> Result<Response<proto::StatusReply>, Status> {
    svc.caller(&req, method::STATUS)?;
    let s = svc.shared.status.borrow().clone();
    let pool = svc.shared.mempool.lock().map(|p| p.len()).unwrap_or(0);
    Ok(Response::new(proto::StatusReply {
        chain_id: svc.shared.genesis.chain_id.clone(),
        agency: svc.shared.agency.clone(),
        node_key: svc.shared.node_key.to_hex(),
        height: s.height,
        last_block_hash: s.block_hash.0.to_vec(),
        state_root: s.state_root.0.to_vec(),
        last_block_time_ms: s.block_time.0,
        round: svc.shared.round.load(Ordering::Relaxed),
        mempool_txs: pool as u32,
        peers: svc.shared.peers.load(Ordering::Relaxed),
        committed_txs: s.committed_txs,
    }))
}

pub(super) async fn get_block(
    svc: &LedgerService,
    req: Request<proto::GetBlockRequest>,
) -> Result<Response<proto::GetBlockReply>, Status> {
    svc.officer(&req, method::GET_BLOCK, "reading blocks")?;
    let mut h = req.into_inner().height;
    let store = &svc.shared.store;
    if h == 0 {
        h = svc.shared.status.borrow().height;
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

/// Most headers one `ListBlockHeaders` returns.
const MAX_HEADERS: u32 = 100;

pub(super) async fn list_block_headers(
    svc: &LedgerService,
    req: Request<proto::ListBlockHeadersRequest>,
) -> Result<Response<proto::ListBlockHeadersReply>, Status> {
    svc.officer(&req, method::LIST_BLOCK_HEADERS, "reading blocks")?;
    let r = req.into_inner();
    let latest = svc.shared.status.borrow().height;
    let top = if r.to_height == 0 {
        latest
    } else {
        r.to_height
    };
    if top > latest {
        return Err(Status::not_found(format!(
            "no block at height {top} (the latest is {latest})"
        )));
    }
    let limit = match r.limit {
        0 => 25,
        n => n.min(MAX_HEADERS),
    };
    let bottom = top.saturating_sub(u64::from(limit) - 1).max(1);
    let shared = svc.shared.clone();
    let headers = off_workers(move || {
        (bottom..=top)
            .rev()
            .map(|h| {
                let bytes = shared
                    .store
                    .block_bytes(h)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no block at height {h}"))?;
                let header: safeledger_core::Header =
                    safeledger_core::encoding::canonical_prefix(&bytes)
                        .map_err(|e| format!("block {h}: {e}"))?;
                Ok(safeledger_core::to_canonical(&header))
            })
            .collect::<Result<Vec<_>, String>>()
    })
    .await?
    .map_err(Status::internal)?;
    Ok(Response::new(proto::ListBlockHeadersReply { headers }))
}

pub(super) async fn get_transaction(
    svc: &LedgerService,
    req: Request<proto::GetTransactionRequest>,
) -> Result<Response<proto::GetTransactionReply>, Status> {
    svc.officer(&req, method::GET_TRANSACTION, "reading whole transactions")?;
    let id = hash_arg(&req.into_inner().tx_id, "tx_id")?;
    let store = &svc.shared.store;
    let (h, i) = store
        .tx_location(&id)
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(store.tx_missing(&id)))?;
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

pub(super) async fn get_enterprise(
    svc: &LedgerService,
    req: Request<proto::GetEnterpriseRequest>,
) -> Result<Response<proto::GetEnterpriseReply>, Status> {
    svc.officer(&req, method::GET_ENTERPRISE, "reading enterprise records")?;
    let req = req.into_inner();
    let id = EnterpriseId::parse(&req.enterprise_id)
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    let view = StoreView(&svc.shared.store);
    let state = safeledger_contracts::enterprise(&view, &id)
        .ok_or_else(|| Status::not_found(format!("no enterprise {id} on the ledger")))?;
    let limit = match req.timeline_limit as usize {
        0 => 100,
        n => n.min(MAX_TIMELINE),
    };
    let records = safeledger_contracts::enterprise_records(&view, &id, limit);
    let now = svc.shared.status.borrow().block_time;
    // Each licence application on the timeline with its steps as they stand: which are
    // overdue now, and whether it was decided late (issue 19 item 7).
    let mut timeline = Vec::with_capacity(records.len());
    for r in records {
        let app = (r.kind == safeledger_core::records::TxKind::LicenceApplication)
            .then(|| safeledger_contracts::rules::application::get(&view, &r.tx_id))
            .flatten();
        let mut v = serde_json::to_value(&r).map_err(internal)?;
        if let (Some(a), Some(o)) = (app, v.as_object_mut()) {
            o.insert("application".into(), a.as_of(now));
        }
        timeline.push(v);
    }
    let state = safeledger_contracts::query::enterprise_as_of(&state, now).map_err(internal)?;
    let json = serde_json::json!({ "state": state, "timeline": timeline });
    Ok(Response::new(proto::GetEnterpriseReply {
        json: json.to_string(),
    }))
}

/// The node's search, or `UNAVAILABLE` with why it has none.
fn search_of(shared: &crate::grpc::Shared) -> Result<&crate::search::Search, Status> {
    shared
        .search
        .as_ref()
        .map_err(|e| Status::unavailable(format!("this node has no search index: {e}")))
}

/// The node's inbox, or `UNAVAILABLE` with why it has none.
fn inbox_of(shared: &crate::grpc::Shared) -> Result<&crate::inbox::Inbox, Status> {
    shared
        .inbox
        .as_ref()
        .map_err(|e| Status::unavailable(format!("this node has no inbox: {e}")))
}

/// Runs `f` on the blocking pool: tantivy and sled block, so off the async workers.
async fn off_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f).await.map_err(internal)
}

pub(super) async fn search_enterprises(
    svc: &LedgerService,
    req: Request<proto::SearchEnterprisesRequest>,
) -> Result<Response<proto::SearchEnterprisesReply>, Status> {
    let caller = svc.officer(&req, method::SEARCH_ENTERPRISES, "searching enterprises")?;
    let r = req.into_inner();
    let request = crate::search::query::SearchRequest {
        text: r.text,
        limit: r.limit as usize,
        offset: r.offset as usize,
        // Withheld values at this node are its agency's or granted to it.
        private: caller.agency() == Some(svc.shared.agency.as_str()),
    };
    let now = svc.shared.status.borrow().block_time;
    let shared = svc.shared.clone();
    let answer = off_workers(move || {
        search_of(&shared).map(|s| s.answer(&shared.store, &shared.private, &request, now))
    })
    .await??;
    match answer {
        Ok(json) => Ok(Response::new(proto::SearchEnterprisesReply {
            json: json.to_string(),
        })),
        Err(crate::search::query::SearchError::Query(e)) => {
            Err(Status::invalid_argument(e.to_string()))
        }
        Err(e) => Err(Status::internal(e.to_string())),
    }
}

pub(super) async fn list_enterprises(
    svc: &LedgerService,
    req: Request<proto::ListEnterprisesRequest>,
) -> Result<Response<proto::ListEnterprisesReply>, Status> {
    use crate::search::lists::{ListKind, ListPageError};
    let caller = svc.officer(&req, method::LIST_ENTERPRISES, "listing enterprises")?;
    // Withheld values at this node are its agency's or granted to it.
    let own = caller.agency() == Some(svc.shared.agency.as_str());
    // Without an index, say so before judging the list asked for.
    search_of(&svc.shared)?;
    let r = req.into_inner();
    let kind = ListKind::parse(&r.list, &r.value, u64::from(r.days))
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    let now = svc.shared.status.borrow().block_time;
    let shared = svc.shared.clone();
    let answer = off_workers(move || {
        search_of(&shared).map(|s| {
            let private = own.then_some(&shared.private);
            let limit = r.limit as usize;
            s.list(&shared.store, private, kind, &r.cursor, limit, now)
        })
    })
    .await??;
    match answer {
        Ok(json) => Ok(Response::new(proto::ListEnterprisesReply {
            json: json.to_string(),
        })),
        Err(ListPageError::List(e)) => Err(Status::invalid_argument(e.to_string())),
        Err(e) => Err(Status::internal(e.to_string())),
    }
}

pub(super) async fn get_inbox(
    svc: &LedgerService,
    req: Request<proto::GetInboxRequest>,
) -> Result<Response<proto::GetInboxReply>, Status> {
    let caller = svc.officer(&req, method::GET_INBOX, "reading an inbox")?;
    let r = req.into_inner();
    let own = caller.agency().unwrap_or_default().to_string();
    let agency = if r.agency.is_empty() {
        own.clone()
    } else {
        r.agency
    };
    if agency != own {
        return Err(Status::permission_denied(format!(
            "{} may read only the inbox of its own agency {own}, not {agency}'s",
            caller.describe()
        )));
    }
    let now = svc.shared.status.borrow().block_time;
    let shared = svc.shared.clone();
    let me = match (&caller, r.mine) {
        (crate::auth::Caller::Officer { key, .. }, true) => Some(*key),
        _ => None,
    };
    use safeledger_contracts::query::tasks::TaskKind;
    let kinds = r
        .kinds
        .iter()
        .map(|k| {
            serde_json::from_value::<TaskKind>(serde_json::Value::String(k.clone()))
                .map_err(|_| Status::invalid_argument(format!("{k:?} is not a task kind")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let answer = off_workers(move || {
        inbox_of(&shared).map(|i| {
            let days = u64::from(r.expiring_within_days);
            let view = StoreView(&shared.store);
            let of_kind = |t: &safeledger_contracts::query::tasks::Task| {
                kinds.is_empty() || kinds.contains(&t.kind)
            };
            let Some(key) = me else {
                return i
                    .index()
                    .page_of(&agency, &r.cursor, r.limit as usize, days, now, &of_kind)
                    .map(|p| (p, None));
            };
            // The officer's posts as committed, judged as R1-role judges them.
            let posts = shared
                .registry
                .officer(&view, &key)
                .map(|o| o.roles)
                .unwrap_or_default();
            let params = safeledger_contracts::RuleParams::load(&view, &Default::default());
            let keep = |t: &safeledger_contracts::query::tasks::Task| {
                of_kind(t)
                    && safeledger_contracts::query::tasks::open_to_officer(
                        &view, t, &key, &posts, &params,
                    )
            };
            i.index()
                .page_of(&agency, &r.cursor, r.limit as usize, days, now, &keep)
                .map(|p| (p, Some(serde_json::json!({"key": key, "posts": posts}))))
        })
    })
    .await??;
    match answer {
        Ok((page, officer)) => {
            let mut v = serde_json::to_value(&page).map_err(internal)?;
            v["officer"] = officer.unwrap_or(serde_json::Value::Null);
            Ok(Response::new(proto::GetInboxReply {
                json: v.to_string(),
            }))
        }
        Err(crate::inbox::InboxError::Invalid(e)) => Err(Status::invalid_argument(e)),
        Err(e) => Err(Status::internal(e.to_string())),
    }
}

pub(super) async fn get_sequence(
    svc: &LedgerService,
    req: Request<proto::GetSequenceRequest>,
) -> Result<Response<proto::GetSequenceReply>, Status> {
    let caller = svc.caller(&req, method::GET_SEQUENCE)?;
    let b = req.into_inner().signer;
    let k: [u8; 32] = b
        .as_slice()
        .try_into()
        .map_err(|_| Status::invalid_argument("signer must be 32 bytes"))?;
    let view = StoreView(&svc.shared.store);
    // Only an officer's sequence needs an officer's request: a monitoring gateway or an
    // enterprise signs no requests, and a key nobody registered has sequence 0.
    if svc.shared.registry.officer(&view, &PublicKey(k)).is_ok() {
        crate::auth::require_officer(&caller, "reading sequences")?;
    }
    let sequence = safeledger_contracts::last_sequence(&view, &PublicKey(k));
    Ok(Response::new(proto::GetSequenceReply { sequence }))
}

pub(super) async fn find_records(
    svc: &LedgerService,
    req: Request<proto::FindRecordsRequest>,
) -> Result<Response<proto::FindRecordsReply>, Status> {
    use safeledger_core::records::identity::NaturalKey;
    use safeledger_core::records::TxKind;
    svc.officer(&req, method::FIND_RECORDS, "looking records up")?;
    let req = req.into_inner();
    if req.keys.len() > safeledger_core::limits::MAX_BATCH_TXS {
        return Err(Status::invalid_argument(format!(
            "{} keys exceed the limit of {}",
            req.keys.len(),
            safeledger_core::limits::MAX_BATCH_TXS
        )));
    }
    if svc.shared.genesis.agency(&req.agency).is_none() {
        return Err(Status::invalid_argument(format!(
            "agency {:?} is not in the genesis",
            req.agency
        )));
    }
    let view = StoreView(&svc.shared.store);
    let mut tx_ids = Vec::with_capacity(req.keys.len());
    for k in req.keys {
        let kind = TxKind::from_name(&k.kind)
            .ok_or_else(|| Status::invalid_argument(format!("unknown kind {:?}", k.kind)))?;
        let enterprise = match k.enterprise_id.as_str() {
            "" => None,
            id => {
                Some(EnterpriseId::parse(id).map_err(|e| Status::invalid_argument(e.to_string()))?)
            }
        };
        let key = NaturalKey {
            kind,
            enterprise,
            key: k.key,
        };
        let found = safeledger_contracts::rules::duplicate::find(&view, &req.agency, &key);
        tx_ids.push(found.map(|t| t.0.to_vec()).unwrap_or_default());
    }
    Ok(Response::new(proto::FindRecordsReply { tx_ids }))
}

pub(super) async fn query(
    svc: &LedgerService,
    req: Request<proto::QueryRequest>,
) -> Result<Response<proto::QueryReply>, Status> {
    use safeledger_contracts::query::{self, QueryArgs, QueryError};
    // "Double random, one public" (issue 20 item 2): the draws and their outcomes are
    // answered to anyone, auditors and unsigned callers included; every other query needs
    // an officer.
    let kind = req.get_ref().kind.as_str();
    if query::PUBLIC_QUERY_KINDS.contains(&kind) {
        svc.caller(&req, method::QUERY)?;
    } else if query::AUDIT_QUERY_KINDS.contains(&kind) {
        // The access and read logs: auditors read them too.
        if let crate::auth::Caller::Public = svc.caller(&req, method::QUERY)? {
            return Err(Status::unauthenticated(
                "the access and read logs are for officers and auditors: sign the request",
            ));
        }
    } else {
        svc.officer(&req, method::QUERY, "rule-contract queries")?;
    }
    let req = req.into_inner();
    let view = StoreView(&svc.shared.store);
    // Only `validators` reads the tip (a store error fails that query alone).
    let tip = match req.kind.as_str() {
        "validators" => svc.shared.store.tip().map_err(internal)?,
        _ => None,
    };
    let args = QueryArgs {
        agency: &req.agency,
        enterprise: &req.enterprise_id,
        limit: match req.limit as usize {
            0 => 100,
            n => n.min(MAX_TIMELINE),
        },
        now: svc.shared.status.borrow().block_time,
        validators: tip
            .as_ref()
            .map(|t| (t.height, &t.validators, &t.next_validators)),
    };
    let genesis = &svc.shared.genesis;
    let json = query::route(&view, &req.kind, &args, |a| genesis.agency(a).is_some()).map_err(
        |e| match e {
            QueryError::Encoding(_) => internal(e),
            _ => Status::invalid_argument(e.to_string()),
        },
    )?;
    Ok(Response::new(proto::QueryReply {
        json: json.to_string(),
    }))
}
