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
use serde::Deserialize;
use std::sync::Arc;

/// Blocks a page of the block list shows.
const BLOCKS_PAGE: u64 = 25;
/// Timeline entries an enterprise page shows.
const TIMELINE: u32 = 100;
/// Search hits shown.
const HITS: u32 = 50;

/// The routes of the console.
pub fn router(c: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(network))
        .route("/blocks", get(blocks))
        .route("/block/{height}", get(block))
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
    identity: &'a str,
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

async fn set_lang(Path(code): Path<String>) -> Response {
    let l = Lang::parse(&code).unwrap_or(Lang::En);
    let mut r = Redirect::to("/").into_response();
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
    identity: &'a str,
    chain_id: &'a str,
    nodes: Vec<NodeRow>,
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
    page(NetworkPage {
        lang,
        identity: &c.identity,
        chain_id: &c.home.genesis.chain_id,
        nodes,
    })
}

struct BlockRow {
    height: u64,
    time: String,
    txs: usize,
    hash: String,
}

#[derive(Template)]
#[template(path = "console/blocks.html")]
struct BlocksPage<'a> {
    lang: Lang,
    identity: &'a str,
    blocks: Vec<BlockRow>,
    older: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlocksQuery {
    from: Option<u64>,
}

async fn blocks(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<BlocksQuery>,
) -> Response {
    let lang = lang(&h);
    let mut client = c.client.lock().await;
    let top = match q.from {
        Some(f) => f,
        None => match client.status().await {
            Ok(s) => s.height,
            Err(e) => return error(&c, lang, StatusCode::BAD_GATEWAY, e.to_string()),
        },
    };
    let mut rows = Vec::new();
    let bottom = top.saturating_sub(BLOCKS_PAGE - 1).max(1);
    for height in (bottom..=top).rev() {
        match client.block(height).await {
            Ok((b, _, _)) => rows.push(BlockRow {
                height,
                time: lang.time(b.header.time.0),
                txs: b.txs.len(),
                hash: b.hash().to_hex(),
            }),
            Err(e) => return error(&c, lang, StatusCode::NOT_FOUND, e.to_string()),
        }
    }
    page(BlocksPage {
        lang,
        identity: &c.identity,
        blocks: rows,
        older: bottom.saturating_sub(1),
    })
}

struct TxRow {
    id: String,
    kind: String,
    rule: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/block.html")]
struct BlockPage<'a> {
    lang: Lang,
    identity: &'a str,
    height: u64,
    hash: String,
    time: String,
    proposer: String,
    signers: Vec<String>,
    txs: Vec<TxRow>,
}

async fn block(State(c): State<Arc<Console>>, h: HeaderMap, Path(height): Path<u64>) -> Response {
    let lang = lang(&h);
    let got = c.client.lock().await.block(height).await;
    let (b, cert, results) = match got {
        Ok(x) => x,
        Err(e) => return error(&c, lang, StatusCode::NOT_FOUND, e.to_string()),
    };
    let txs = b
        .txs
        .iter()
        .zip(&results)
        .map(|(t, r)| {
            let (rule, reason) = match &r.outcome {
                safeledger_core::Outcome::Accepted => (String::new(), String::new()),
                safeledger_core::Outcome::Refused { rule, reason } => {
                    (rule.clone(), reason.clone())
                }
            };
            TxRow {
                id: t.id().to_hex(),
                kind: t.payload.body.kind().name().to_string(),
                rule,
                reason,
            }
        })
        .collect();
    page(BlockPage {
        lang,
        identity: &c.identity,
        height,
        hash: b.hash().to_hex(),
        time: lang.time(b.header.time.0),
        proposer: b.header.proposer.to_hex(),
        signers: cert
            .signatures
            .iter()
            .map(|s| s.validator.to_hex())
            .collect(),
        txs,
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
    identity: &'a str,
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
    identity: &'a str,
    id: String,
    name: String,
    address: String,
    risk: String,
    risk_reason: String,
    credit: String,
    credit_reason: String,
    licences: Vec<LicenceRow>,
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
        Err(e) => return error(&c, lang, StatusCode::NOT_FOUND, e.to_string()),
    };
    let st = &v["state"];
    let a = &st["assessment"];
    let day = |x: &serde_json::Value| {
        x.as_u64()
            .map(|ms| safeledger_core::Timestamp(ms).date_string())
            .unwrap_or_default()
    };
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
        licences,
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
