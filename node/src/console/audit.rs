//! The console's Audit page: a transaction's view downloaded with the fields chosen; a
//! view file verified offline from genesis by the same verifier as `safeledger audit
//! verify`, naming the first failing element; two checkpoint files verified and proven
//! consistent as `safeledger audit consistency` does; the access and read logs. Uploads
//! are POSTs carrying the console's CSRF token; anything else is refused before a file is
//! read.

use super::i18n::Lang;
use super::pages::{error, lang, page};
use super::Console;
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use safeledger_client::audit::AuditClient;
use safeledger_core::view::{Checkpoint, Verifier};
use serde::Deserialize;
use std::sync::Arc;

/// Largest view file the console verifies (a view is a few KiB; a ledger proof adds little).
pub const MAX_VIEW_BYTES: usize = 4 << 20;

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    csrf: &'a str,
    verdict: String,
    valid: bool,
    detail: String,
    /// The transaction the download form starts with (from `?tx=`).
    tx: String,
    /// The access requests and their answers, newest first.
    access_log: Vec<String>,
    /// The declared reads of private fields, newest first.
    read_log: Vec<String>,
}

/// Entries each log shows.
const LOG_ROWS: u32 = 50;

async fn audit_page(
    c: &Console,
    lang: Lang,
    verdict: String,
    valid: bool,
    detail: String,
) -> Response {
    audit_page_for(c, lang, verdict, valid, detail, String::new()).await
}

async fn audit_page_for(
    c: &Console,
    lang: Lang,
    verdict: String,
    valid: bool,
    detail: String,
    tx: String,
) -> Response {
    let mut client = c.client.lock().await;
    let log = |v: Result<serde_json::Value, _>| -> Vec<String> {
        match v {
            Ok(serde_json::Value::Array(a)) => a.iter().rev().map(|e| e.to_string()).collect(),
            Ok(other) => vec![other.to_string()],
            Err(e) => vec![format!("{}: {e}", lang.t("error"))],
        }
    };
    let access_log = log(client.query("access_log", "", "", LOG_ROWS).await);
    let read_log = log(client.query("read_log", "", "", LOG_ROWS).await);
    page(AuditPage {
        lang,
        identity: &c.identity,
        csrf: &c.csrf,
        verdict,
        valid,
        detail,
        tx,
        access_log,
        read_log,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    tx: Option<String>,
}

/// `GET /audit[?tx=…]`.
pub(super) async fn audit(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Response {
    let tx = q.tx.unwrap_or_default().chars().take(64).collect();
    audit_page_for(&c, lang(&h), String::new(), false, String::new(), tx).await
}

/// Reads the multipart form: the CSRF token first, then the files named in `wanted` (each
/// at most [`MAX_VIEW_BYTES`]), in `wanted`'s order. `Err`: the response to send instead.
async fn read_form(
    c: &Console,
    lang: Lang,
    mut form: Multipart,
    wanted: &[&str],
) -> Result<Vec<Vec<u8>>, Box<Response>> {
    let bad = |status, msg: String| Err(Box::new(error(c, lang, status, msg)));
    let mut token_ok = false;
    let mut files: Vec<Option<Vec<u8>>> = vec![None; wanted.len()];
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let what = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    lang.t("too_large")
                } else {
                    lang.t("malformed_upload")
                };
                return bad(e.status(), format!("{what}: {e}"));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "csrf" {
            let t = field.text().await.unwrap_or_default();
            token_ok = super::constant_time_eq(t.as_bytes(), c.csrf.as_bytes());
            continue;
        }
        let Some(slot) = wanted.iter().position(|w| *w == name) else {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("the form has no field {name:?}"),
            );
        };
        if !token_ok {
            break;
        }
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_VIEW_BYTES {
                        return bad(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("{} ({MAX_VIEW_BYTES} bytes)", lang.t("too_large")),
                        );
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return bad(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("{} ({MAX_VIEW_BYTES} bytes): {e}", lang.t("too_large")),
                    )
                }
            }
        }
        files[slot] = Some(bytes);
    }
    if !token_ok {
        return bad(StatusCode::FORBIDDEN, lang.t("forged").to_string());
    }
    match files.into_iter().collect::<Option<Vec<_>>>() {
        Some(f) => Ok(f),
        None => bad(
            StatusCode::BAD_REQUEST,
            format!("the form needs the files {}", wanted.join(", ")),
        ),
    }
}

/// `POST /audit/verify`: a view file verified offline from genesis.
pub(super) async fn verify(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    form: Multipart,
) -> Response {
    let lang = lang(&h);
    let bytes = match read_form(&c, lang, form, &["view"]).await {
        Ok(mut b) => b.remove(0),
        Err(r) => return *r,
    };
    match crate::cli::audit::verify_bytes(&c.home.genesis, &bytes) {
        Ok(text) => audit_page(&c, lang, lang.t("valid").to_string(), true, text).await,
        Err(why) => audit_page(&c, lang, lang.t("invalid").to_string(), false, why).await,
    }
}

/// `POST /audit/consistency`: two checkpoint files verified from genesis, and the ledger
/// of the older proven a prefix of the newer's (the consistency proof fetched from the
/// network, checked here).
pub(super) async fn consistency(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    form: Multipart,
) -> Response {
    let lang = lang(&h);
    let files = match read_form(&c, lang, form, &["old", "new"]).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let decode = |b: &[u8], name: &str| {
        safeledger_core::view::decode::<Checkpoint>(b).map_err(|e| format!("INVALID {name}: {e}"))
    };
    let result = match (decode(&files[0], "old"), decode(&files[1], "new")) {
        (Ok(a), Ok(b)) => crate::cli::audit::consistency_of(
            c.home.endpoints(),
            Some(&c.home.genesis),
            &a,
            &b,
            ("old", "new"),
        )
        .await
        .map_err(|e| format!("{e:#}")),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok(text) => audit_page(&c, lang, lang.t("valid").to_string(), true, text).await,
        Err(why) => audit_page(&c, lang, lang.t("invalid").to_string(), false, why).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ViewQuery {
    tx: String,
    #[serde(default)]
    reveal: String,
}

/// `GET /audit/view?tx=…&reveal=a,b`: the view of a transaction revealing the named
/// public fields, verified here from genesis before it is offered, as a download
/// (`view-<first 16 hex>.json`, the bytes `safeledger audit view` writes).
pub(super) async fn view(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<ViewQuery>,
) -> Response {
    let lang = lang(&h);
    let id = match super::pages::tx_id_param(&c, lang, &q.tx) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let reveal: Vec<String> = q
        .reveal
        .split([',', ' '])
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let got = AuditClient::new(c.home.endpoints())
        .signed_by(c.signer.clone())
        .view(id, &reveal, None)
        .await;
    let v = match got {
        Ok(v) => v,
        Err(e) => {
            let text = e.to_string();
            return error(&c, lang, super::pages::status_of(&e.into()), text);
        }
    };
    if let Err(e) = Verifier::new(&c.home.genesis).verify(&v) {
        return error(
            &c,
            lang,
            StatusCode::BAD_GATEWAY,
            format!("the node's view does not verify against genesis: {e}"),
        );
    }
    let body = safeledger_core::view::encode(&v) + "\n";
    let name = format!("view-{}.json", &id.to_hex()[..16]);
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
