//! The console's Inbox and Audit pages: the agency's open tasks, and a view file verified
//! offline from genesis by the same verifier as `safeledger audit verify`. The upload is a
//! POST carrying the console's CSRF token; anything else is refused before it is read.

use super::i18n::Lang;
use super::pages::{error, lang, page};
use super::Console;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::sync::Arc;

/// Largest view file the console verifies (a view is a few KiB; a ledger proof adds little).
pub const MAX_VIEW_BYTES: usize = 4 << 20;

struct TaskRow {
    due: String,
    overdue: bool,
    kind: String,
    enterprise: String,
    what: String,
    closed_by: String,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage<'a> {
    lang: Lang,
    identity: &'a str,
    agency: &'a str,
    tasks: Vec<TaskRow>,
    error: String,
}

pub(super) async fn inbox(State(c): State<Arc<Console>>, h: HeaderMap) -> Response {
    let lang = lang(&h);
    let req = safeledger_client::proto::GetInboxRequest {
        agency: c.identity.clone(),
        limit: 200,
        ..Default::default()
    };
    let got = c.client.lock().await.inbox(req).await;
    let (tasks, err) = match got {
        Ok(v) => {
            let now = safeledger_client::auth::now_ms();
            let rows = v["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let t = &p[0];
                    let due = t["due"].as_u64();
                    TaskRow {
                        due: due.map_or_else(|| lang.t("no_due").to_string(), |d| lang.time(d)),
                        overdue: due.is_some_and(|d| d < now),
                        kind: t["kind"].as_str().unwrap_or("").to_string(),
                        enterprise: t["enterprise"].as_str().unwrap_or("").to_string(),
                        what: t["what"].as_str().unwrap_or("").to_string(),
                        closed_by: t["closed_by"].as_str().unwrap_or("").to_string(),
                    }
                })
                .collect();
            (rows, String::new())
        }
        Err(e) => (Vec::new(), e.to_string()),
    };
    page(InboxPage {
        lang,
        identity: &c.identity,
        agency: &c.identity,
        tasks,
        error: err,
    })
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    lang: Lang,
    identity: &'a str,
    csrf: &'a str,
    verdict: String,
    valid: bool,
    detail: String,
}

fn audit_page(c: &Console, lang: Lang, verdict: String, valid: bool, detail: String) -> Response {
    page(AuditPage {
        lang,
        identity: &c.identity,
        csrf: &c.csrf,
        verdict,
        valid,
        detail,
    })
}

pub(super) async fn audit(State(c): State<Arc<Console>>, h: HeaderMap) -> Response {
    audit_page(&c, lang(&h), String::new(), false, String::new())
}

/// Reads the multipart form: the CSRF token first, then the view (at most
/// [`MAX_VIEW_BYTES`]). `Err`: the response to send instead.
async fn read_form(c: &Console, lang: Lang, mut form: Multipart) -> Result<Vec<u8>, Box<Response>> {
    let bad = |status, msg: String| Err(Box::new(error(c, lang, status, msg)));
    let mut token_ok = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return bad(e.status(), format!("{}: {e}", lang.t("too_large"))),
        };
        match field.name() {
            Some("csrf") => {
                let t = field.text().await.unwrap_or_default();
                token_ok = super::constant_time_eq(t.as_bytes(), c.csrf.as_bytes());
            }
            Some("view") if token_ok => {
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
                        Ok(None) => return Ok(bytes),
                        Err(e) => {
                            return bad(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                format!("{} ({MAX_VIEW_BYTES} bytes): {e}", lang.t("too_large")),
                            )
                        }
                    }
                }
            }
            _ => break,
        }
    }
    if token_ok {
        bad(
            StatusCode::BAD_REQUEST,
            "the form holds no view file".into(),
        )
    } else {
        bad(StatusCode::FORBIDDEN, lang.t("forged").to_string())
    }
}

pub(super) async fn verify(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    form: Multipart,
) -> Response {
    let lang = lang(&h);
    let bytes = match read_form(&c, lang, form).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    match crate::cli::audit::verify_bytes(&c.home.genesis, &bytes) {
        Ok(text) => audit_page(&c, lang, lang.t("valid").to_string(), true, text),
        Err(why) => audit_page(&c, lang, lang.t("invalid").to_string(), false, why),
    }
}
