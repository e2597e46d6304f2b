//! The console's pages: routes, the data each template shows, and the handlers that ask the
//! network for it. Templates escape every value (askama's HTML escaper); nothing here
//! builds HTML by hand.

use super::i18n::Lang;
use super::Console;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use safeledger_core::Hash;
use serde::Deserialize;
use std::sync::Arc;

/// Timeline entries an enterprise page shows.
const TIMELINE: u32 = 100;
/// Search hits shown.
const HITS: u32 = 50;

/// The routes of the console.
pub fn router(c: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(network))
        .route("/blocks", get(super::chain::blocks))
        .route("/block/{height}", get(super::chain::block))
        .route("/tx/{id}", get(super::chain::transaction))
        .route("/enterprises", get(enterprises))
        .route("/enterprise/{id}", get(enterprise))
        .route("/inbox", get(super::inbox::inbox))
        .route("/inbox/act", axum::routing::post(super::inbox::act))
        .route(
            "/submit",
            get(super::submit::form).post(super::submit::post),
        )
        .route("/audit", get(super::audit::audit))
        .route(
            "/audit/verify",
            axum::routing::post(super::audit::verify).layer(axum::extract::DefaultBodyLimit::max(
                super::audit::MAX_VIEW_BYTES + 64 * 1024,
            )),
        )
        .route("/audit/view", get(super::audit::view))
        .route(
            "/audit/consistency",
            axum::routing::post(super::audit::consistency).layer(
                axum::extract::DefaultBodyLimit::max(2 * super::audit::MAX_VIEW_BYTES + 64 * 1024),
            ),
        )
        .route("/lang/{code}", get(set_lang))
        .route("/static/console.css", get(stylesheet))
        .route("/favicon.ico", get(favicon))
        .with_state(c)
}

/// The language of a request (cookie `lang`, else `Accept-Language`).
pub(super) fn lang(h: &HeaderMap) -> Lang {
    let cookie = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("lang="));
    let accept = h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::of(cookie, accept)
}

/// The HTTP status for a failure of the network or of the client library: the node's own
/// verdict where it gave one (404 not found, 403 not permitted, 400 a bad request or a
/// transaction refused at admission), 502 when no node answered as it should.
pub(super) fn status_of(e: &anyhow::Error) -> StatusCode {
    use safeledger_client::rpc::ClientError;
    for cause in e.chain() {
        if cause
            .downcast_ref::<crate::cli::exit::Failure>()
            .is_some_and(|f| f.exit == crate::cli::exit::Exit::Usage)
        {
            return StatusCode::BAD_REQUEST;
        }
        match cause.downcast_ref::<ClientError>() {
            Some(ClientError::Status(s)) => return status_of_code(s.code()),
            Some(ClientError::Refused(..)) => return StatusCode::BAD_REQUEST,
            Some(_) => return StatusCode::BAD_GATEWAY,
            None => {}
        }
        match cause.downcast_ref::<safeledger_client::audit::AuditClientError>() {
            Some(safeledger_client::audit::AuditClientError::Status(s)) => {
                return status_of_code(s.code())
            }
            Some(_) => return StatusCode::BAD_GATEWAY,
            None => {}
        }
    }
    StatusCode::BAD_GATEWAY
}

/// The HTTP status for a node's gRPC status code.
fn status_of_code(code: tonic::Code) -> StatusCode {
    match code {
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => StatusCode::FORBIDDEN,
        tonic::Code::InvalidArgument
        | tonic::Code::OutOfRange
        | tonic::Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// A transaction id given in a path, query or form (64 hex digits); `Err`: the 400 page.
pub(super) fn tx_id_param(c: &Console, lang: Lang, s: &str) -> Result<Hash, Box<Response>> {
    Hash::from_hex(s.trim()).map_err(|_| {
        Box::new(error(
            c,
            lang,
            StatusCode::BAD_REQUEST,
            format!("{s:?} is not a transaction id (64 hex digits)"),
        ))
    })
}

/// The error page for a failed request to the network, with [`status_of`]'s status.
pub(super) fn failed(c: &Console, lang: Lang, e: safeledger_client::rpc::ClientError) -> Response {
    let text = e.to_string();
    error(c, lang, status_of(&anyhow::Error::new(e)), text)
}

pub(super) fn page(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    message: String,
}

pub(super) fn error(c: &Console, lang: Lang, status: StatusCode, message: String) -> Response {
    let mut r = page(ErrorPage {
        lang,
        identity: &c.identity,
        message,
    });
    *r.status_mut() = status;
    r
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console.css"),
    )
}

/// The tab's icon (served so that the browser's request for it finds something).
async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
         <rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#0f3d5e\"/>\
         <path d=\"M4 8l3 3 5-6\" stroke=\"#fff\" stroke-width=\"2\" fill=\"none\"/></svg>",
    )
}

/// `/lang/{code}`: sets the language and goes back to the page the switch was on (its
/// `Referer`, sent only within this origin), else to the Network page.
async fn set_lang(Path(code): Path<String>, h: HeaderMap) -> Response {
    let l = Lang::parse(&code).unwrap_or(Lang::En);
    let back = h
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            let host = h.get(header::HOST)?.to_str().ok()?;
            r.strip_prefix("http://")?
                .strip_prefix(host)
                .map(str::to_string)
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/lang/"))
        // A page that answered a POST goes back to the page its form was on.
        .map(|p| match p.as_str() {
            "/audit/verify" | "/audit/consistency" => "/audit".to_string(),
            "/inbox/act" => "/inbox".to_string(),
            _ => p,
        })
        .unwrap_or_else(|| "/".into());
    let mut r = Redirect::to(&back).into_response();
    if let Ok(v) = format!("lang={}; Path=/; SameSite=Strict; HttpOnly", l.code()).parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

struct NodeRow {
    agency: String,
    endpoint: String,
    height: u64,
    round: u32,
    peers: u32,
    mempool: u32,
    committed: u64,
    time: String,
    error: String,
}

#[derive(Template)]
#[template(path = "console/network.html")]
struct NetworkPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    chain_id: &'a str,
    nodes: Vec<NodeRow>,
    /// Committed transactions per second over the recent blocks (`-` when unknown).
    tps: String,
    /// The mean time between those blocks, in ms: how long a transaction waits for its
    /// commit, give or take a block.
    interval_ms: String,
    /// How many recent blocks the two figures are taken over.
    recent: usize,
    /// (agency, node key, voting power) of the current validator set.
    validators: Vec<(String, String, u64)>,
    /// Recorded double-signs, each as JSON.
    evidence: Vec<String>,
}

/// Blocks the Network page's throughput and block interval are taken over.
const RECENT_BLOCKS: u32 = 50;

/// Throughput and mean block interval over `headers` (newest first).
fn pace(headers: &[safeledger_core::Header]) -> (String, String) {
    let (Some(new), Some(old)) = (headers.first(), headers.last()) else {
        return ("-".into(), "-".into());
    };
    let span = new.time.0.saturating_sub(old.time.0);
    if headers.len() < 2 || span == 0 {
        return ("-".into(), "-".into());
    }
    // The oldest block's transactions were committed before the span began.
    let txs: u64 = headers[..headers.len() - 1]
        .iter()
        .map(|h| u64::from(h.tx_count))
        .sum();
    let tps = txs as f64 * 1000.0 / span as f64;
    let interval = span as f64 / (headers.len() - 1) as f64;
    (format!("{tps:.1}"), format!("{interval:.0}"))
}

async fn network(State(c): State<Arc<Console>>, h: HeaderMap) -> Response {
    let lang = lang(&h);
    // Every node at once: one that is down costs its timeout once, not once per node.
    let answers = futures::future::join_all(
        c.nodes
            .iter()
            .map(|(_, _, client)| async move { client.lock().await.status().await }),
    )
    .await;
    let mut nodes = Vec::new();
    for ((agency, endpoint, _), answer) in c.nodes.iter().zip(answers) {
        let mut row = NodeRow {
            agency: agency.clone(),
            endpoint: endpoint.clone(),
            height: 0,
            round: 0,
            peers: 0,
            mempool: 0,
            committed: 0,
            time: String::new(),
            error: String::new(),
        };
        match answer {
            Ok(s) => {
                row.height = s.height;
                row.round = s.round;
                row.peers = s.peers;
                row.mempool = s.mempool_txs;
                row.committed = s.committed_txs;
                row.time = lang.time(s.last_block_time_ms);
            }
            Err(e) => row.error = e.to_string(),
        }
        nodes.push(row);
    }
    let mut client = c.client.lock().await;
    let headers = client
        .block_headers(0, RECENT_BLOCKS)
        .await
        .unwrap_or_default();
    let (tps, interval_ms) = pace(&headers);
    let validators = match client.query("validators", "", "", 10).await {
        Ok(v) => v["validators"]["validators"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                (
                    s(v, "agency"),
                    s(v, "key"),
                    v["power"].as_u64().unwrap_or(0),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let evidence = match client.query("evidence", "", "", 20).await {
        Ok(serde_json::Value::Array(a)) => a.iter().map(|e| e.to_string()).collect(),
        _ => Vec::new(),
    };
    drop(client);
    page(NetworkPage {
        lang,
        identity: &c.identity,
        chain_id: &c.home.genesis.chain_id,
        nodes,
        tps,
        interval_ms,
        recent: headers.len(),
        validators,
        evidence,
    })
}

struct Hit {
    id: String,
    name: String,
    address: String,
    risk: String,
    credit: String,
}

#[derive(Template)]
#[template(path = "console/enterprises.html")]
struct EnterprisesPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    q: String,
    hits: Vec<Hit>,
    error: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: Option<String>,
}

fn s(v: &serde_json::Value, k: &str) -> String {
    match &v[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn enterprises(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    let lang = lang(&h);
    let q =
        q.q.unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>();
    let mut hits = Vec::new();
    let mut err = String::new();
    if !q.trim().is_empty() {
        let mut client = c.client.lock().await;
        match client.search_enterprises(q.trim(), HITS, 0).await {
            Ok(v) => {
                for x in v["hits"].as_array().into_iter().flatten() {
                    hits.push(Hit {
                        id: s(x, "enterprise"),
                        name: s(x, "name"),
                        address: s(x, "address"),
                        risk: s(x, "risk"),
                        credit: s(x, "credit"),
                    });
                }
            }
            // No index, or a text the search refuses: an exact id still opens.
            Err(e) => match client.enterprise(q.trim(), 0).await {
                Ok(_) => {
                    return Redirect::to(&format!("/enterprise/{}", urlencode(q.trim())))
                        .into_response()
                }
                Err(_) => err = e.to_string(),
            },
        }
    }
    page(EnterprisesPage {
        lang,
        identity: &c.identity,
        q,
        hits,
        error: err,
    })
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct LicenceRow {
    number: String,
    kind: String,
    agency: String,
    status: String,
    until: String,
}

struct HazardRow {
    code: String,
    major: bool,
    due: String,
    /// The rectifying record (hex), empty while open.
    rectified_by: String,
}

struct FindingRow {
    date: String,
    agency: String,
    /// `inspection`, `penalty` or `accident`.
    kind: String,
    /// The agency's id of it.
    id: String,
    /// Outcome, grade or level.
    detail: String,
    status: String,
    tx: String,
    hazards: Vec<HazardRow>,
}

/// A time in ms of a state JSON as its UTC day `YYYY-MM-DD` ("" when absent).
fn day(x: &serde_json::Value) -> String {
    x.as_u64()
        .map(|ms| safeledger_core::Timestamp(ms).date_string())
        .unwrap_or_default()
}

/// The findings of an enterprise's state JSON (`EnterpriseState::findings`), newest first.
fn findings(st: &serde_json::Value) -> Vec<FindingRow> {
    st["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .map(|f| {
            let (kind, w) = f["what"]
                .as_object()
                .and_then(|o| o.iter().next())
                .map_or((String::new(), serde_json::Value::Null), |(k, v)| {
                    (k.clone(), v.clone())
                });
            let (id, detail) = match kind.as_str() {
                "inspection" => (s(&w, "inspection_id"), s(&w, "outcome")),
                "penalty" => (s(&w, "case_id"), s(&w, "grade")),
                _ => (s(&w, "report_id"), s(&w, "level")),
            };
            let hazards = w["hazards"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| HazardRow {
                    code: s(h, "code"),
                    major: h["major"].as_bool().unwrap_or(false),
                    due: day(&h["rectify_by"]),
                    rectified_by: h["rectified"][0].as_str().unwrap_or("").to_string(),
                })
                .collect();
            FindingRow {
                date: s(f, "date"),
                agency: s(f, "agency"),
                kind,
                id,
                detail,
                status: match &f["status"] {
                    serde_json::Value::String(x) => x.clone(),
                    serde_json::Value::Object(o) => o.keys().next().cloned().unwrap_or_default(),
                    other => other.to_string(),
                },
                tx: s(f, "tx_id"),
                hazards,
            }
        })
        .collect()
}

struct TimelineRow {
    date: String,
    kind: String,
    agency: String,
    tx: String,
}

#[derive(Template)]
#[template(path = "console/enterprise.html")]
struct EnterprisePage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    id: String,
    name: String,
    address: String,
    risk: String,
    risk_reason: String,
    credit: String,
    credit_reason: String,
    linked_ids: Vec<String>,
    licences: Vec<LicenceRow>,
    findings: Vec<FindingRow>,
    timeline: Vec<TimelineRow>,
}

async fn enterprise(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = lang(&h);
    let got = c.client.lock().await.enterprise(&id, TIMELINE).await;
    let v = match got {
        Ok(v) => v,
        Err(e) => return failed(&c, lang, e),
    };
    let st = &v["state"];
    let a = &st["assessment"];
    let licences = st["licences"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(number, l)| LicenceRow {
            number: number.clone(),
            kind: s(l, "licence_type"),
            agency: s(l, "agency"),
            status: s(l, "status"),
            until: day(&l["valid_until"]),
        })
        .collect();
    let timeline = v["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .map(|r| TimelineRow {
            date: day(&r["effective_at"]),
            kind: s(r, "kind"),
            agency: s(r, "agency"),
            tx: s(r, "tx_id"),
        })
        .collect();
    page(EnterprisePage {
        lang,
        identity: &c.identity,
        id,
        name: s(st, "name"),
        address: s(st, "address"),
        risk: s(a, "risk"),
        risk_reason: s(a, "risk_reason"),
        credit: s(a, "credit"),
        credit_reason: s(a, "credit_reason"),
        linked_ids: st["linked_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        licences,
        findings: findings(st),
        timeline,
    })
}

#[cfg(test)]
mod tests {
    use super::super::i18n::LABELS;

    /// Every `lang.t("key")` of every template is a key of the label table.
    #[test]
    fn templates_use_only_known_labels() {
        let templates = [
            include_str!("../../templates/console/base.html"),
            include_str!("../../templates/console/network.html"),
            include_str!("../../templates/console/blocks.html"),
            include_str!("../../templates/console/block.html"),
            include_str!("../../templates/console/enterprises.html"),
            include_str!("../../templates/console/enterprise.html"),
            include_str!("../../templates/console/error.html"),
            include_str!("../../templates/console/inbox.html"),
            include_str!("../../templates/console/audit.html"),
            include_str!("../../templates/console/submit.html"),
            include_str!("../../templates/console/tx.html"),
        ];
        for t in templates {
            for part in t.split("lang.t(\"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                assert!(
                    LABELS.iter().any(|(k, _, _)| *k == key),
                    "label {key:?} is not in LABELS"
                );
            }
        }
    }

    #[test]
    fn ids_are_percent_encoded() {
        assert_eq!(super::urlencode("us-chi:1/2 x"), "us-chi%3A1%2F2%20x");
    }
}
