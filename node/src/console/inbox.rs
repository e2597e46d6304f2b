//! The console's Inbox (issue 21 item 2): the agency's open tasks with their due times,
//! and beside each task the action that closes it where one form can — answer an
//! assistance request, approve or refuse an access request, co-sign a licence decision,
//! vote on a governance proposal. Each action is a POST carrying the CSRF token; the
//! console builds the closing record from the task's source record (fetched from the
//! network, never from the form), signs it with its officer key, submits it and shows the
//! committed result, a rule's refusal included.

use super::i18n::Lang;
use super::pages::{error, lang, page};
use super::Console;
use crate::cli::{submit, when};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use safeledger_core::records::{AccessGrant, DecisionSignature, GovernanceVote};
use safeledger_core::{Hash, Outcome, TxBody};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Tasks the page lists.
const TASKS: u32 = 200;
/// How long an action waits for its commit.
const COMMIT_WAIT: Duration = Duration::from_secs(30);

struct TaskRow {
    due: String,
    overdue: bool,
    kind: String,
    /// The kind's name in the page's language.
    kind_name: String,
    enterprise: String,
    what: String,
    closed_by: String,
    /// The record that opened the task (hex), which the action answers.
    source: String,
    /// The form beside the task: `answer`, `grant`, `cosign`, `vote`, or none.
    action: &'static str,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage<'a> {
    lang: Lang,
    identity: &'a super::Who,
    csrf: &'a str,
    tasks: Vec<TaskRow>,
    error: String,
    /// The outcome of the action just taken.
    message: String,
    message_ok: bool,
    /// (kind, kind's name, open tasks) on the first page; the number overdue.
    counts: Vec<(String, String, u64)>,
    /// The kind shown (empty: every kind).
    kind: String,
    overdue: u64,
    /// The next page's cursor (empty at the end).
    next: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InboxQuery {
    cursor: Option<String>,
    /// Only tasks of this kind (empty: every kind).
    kind: Option<String>,
}

fn action_of(kind: &str) -> &'static str {
    match kind {
        "assistance_request" => "answer",
        "access_request" => "grant",
        "decision_signature" => "cosign",
        "proposal_vote" => "vote",
        _ => "",
    }
}

/// The inbox page. `after`: the height of a record just committed — the node's inbox index
/// follows the chain a moment behind the commit, so it is asked again (for up to 5 s) until
/// its `indexed_height` has reached that height.
async fn render(
    c: &Console,
    lang: Lang,
    message: String,
    message_ok: bool,
    after: Option<u64>,
    cursor: String,
    kind: String,
) -> Response {
    let req = safeledger_client::proto::GetInboxRequest {
        agency: c.identity.to_string(),
        limit: TASKS,
        cursor,
        kinds: if kind.is_empty() {
            Vec::new()
        } else {
            vec![kind.clone()]
        },
        ..Default::default()
    };
    let mut got = c.client.lock().await.inbox(req.clone()).await;
    if let Some(height) = after {
        for _ in 0..25 {
            let behind = got
                .as_ref()
                .is_ok_and(|v| v["indexed_height"].as_u64().unwrap_or(0) < height);
            if !behind {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            got = c.client.lock().await.inbox(req.clone()).await;
        }
    }
    let mut counts = Vec::new();
    let mut overdue = 0;
    let mut next = String::new();
    let (tasks, err) = match got {
        Ok(v) => {
            for (k, n) in v["counts"].as_object().into_iter().flatten() {
                counts.push((k.clone(), lang.task(k), n.as_u64().unwrap_or(0)));
            }
            overdue = v["overdue"].as_u64().unwrap_or(0);
            next = v["next_cursor"].as_str().unwrap_or("").to_string();
            let now = safeledger_client::auth::now_ms();
            let rows = v["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let t = &p[0];
                    let due = t["due"].as_u64();
                    let kind = t["kind"].as_str().unwrap_or("").to_string();
                    TaskRow {
                        due: due.map_or_else(|| lang.t("no_due").to_string(), |d| lang.time(d)),
                        overdue: due.is_some_and(|d| d < now),
                        action: action_of(&kind),
                        kind_name: lang.task(&kind),
                        kind,
                        enterprise: t["enterprise"].as_str().unwrap_or("").to_string(),
                        what: t["what"].as_str().unwrap_or("").to_string(),
                        closed_by: t["closed_by"].as_str().unwrap_or("").to_string(),
                        source: t["source"].as_str().unwrap_or("").to_string(),
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
        csrf: &c.csrf,
        tasks,
        error: err,
        message,
        message_ok,
        counts,
        kind,
        overdue,
        next,
    })
}

/// `GET /inbox[?cursor=…]`.
pub(super) async fn inbox(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    Query(q): Query<InboxQuery>,
) -> Response {
    let cursor = q.cursor.unwrap_or_default();
    let kind = q.kind.unwrap_or_default();
    render(&c, lang(&h), String::new(), false, None, cursor, kind).await
}

/// The form beside a task. Unknown fields are refused, not dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActForm {
    /// Missing: refused as forged, like a wrong one.
    #[serde(default)]
    csrf: String,
    /// The task's source record (hex).
    source: String,
    /// `answer`, `grant`, `cosign` or `vote`.
    action: String,
    /// The answer or the reason.
    #[serde(default)]
    text: String,
    /// `yes` or `no` (grant: approve or refuse; vote: for or against).
    #[serde(default)]
    decision: String,
}

/// The record that closes the task opened by `source`, built from the source record.
async fn closing_record(c: &Console, f: &ActForm, source: Hash) -> anyhow::Result<TxBody> {
    let yes = match f.decision.as_str() {
        "yes" => true,
        "no" => false,
        _ if matches!(f.action.as_str(), "grant" | "vote") => {
            anyhow::bail!("choose yes or no")
        }
        _ => false,
    };
    let (tx, ..) = c.client.lock().await.transaction(source).await?;
    let body = match (f.action.as_str(), tx.payload.body) {
        ("cosign", TxBody::DecisionProposal(p)) => TxBody::DecisionSignature(DecisionSignature {
            enterprise: p.decision.enterprise,
            proposal: source,
        }),
        ("vote", TxBody::GovernanceProposal(p)) => TxBody::GovernanceVote(GovernanceVote {
            proposal_id: p.proposal_id,
            approve: yes,
        }),
        ("grant", TxBody::AccessRequest(r)) => {
            // The requesting agency, as the access contract recorded it.
            let log = c
                .client
                .lock()
                .await
                .query("access_log", "", "", 1000)
                .await?;
            let requester = log
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["request_tx"].as_str() == Some(&source.to_hex()))
                .and_then(|a| a["requester"].as_str())
                .ok_or_else(|| anyhow::anyhow!("no open access request {source}"))?
                .to_string();
            if f.text.trim().is_empty() {
                anyhow::bail!("give the reason for the answer");
            }
            TxBody::AccessGrant(AccessGrant {
                requester,
                request_id: r.request_id,
                approve: yes,
                reason: f.text.trim().to_string(),
            })
        }
        (action, body) => anyhow::bail!("{action} does not answer a {} record", body.kind().name()),
    };
    Ok(body)
}

/// `POST /inbox/act`: take the action beside a task.
pub(super) async fn act(
    State(c): State<Arc<Console>>,
    h: HeaderMap,
    form: Result<Form<ActForm>, FormRejection>,
) -> Response {
    let lang = lang(&h);
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) => return error(&c, lang, StatusCode::BAD_REQUEST, e.body_text()),
    };
    let key = match c.officer_post(lang, &f.csrf) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let source = match super::pages::tx_id_param(&c, lang, &f.source) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    // One submission signs at a time (see `Console::signing`).
    let _signing = c.signing.lock().await;
    let done = if f.action == "answer" {
        if f.text.trim().is_empty() {
            Err(anyhow::anyhow!("write the answer"))
        } else {
            crate::cli::assistance::respond(
                &c.home,
                &c.identity,
                source,
                f.text.trim(),
                when::now(),
                COMMIT_WAIT,
            )
            .await
        }
    } else {
        match closing_record(&c, &f, source).await {
            Ok(body) => {
                submit::submit_signed_by(
                    &c.home,
                    &c.identity,
                    key,
                    body,
                    when::now(),
                    &[],
                    COMMIT_WAIT,
                )
                .await
            }
            Err(e) => Err(e),
        }
    };
    let after = done.as_ref().ok().map(|r| r.height);
    let (message, ok) = match done {
        Ok(r) => (
            format!(
                "{} {}: {} · {} {}",
                lang.t("committed_at"),
                r.height,
                super::submit::verdict_text(lang, &r.result.outcome),
                lang.t("transaction"),
                r.tx_id
            ),
            r.result.outcome == Outcome::Accepted,
        ),
        Err(e) => (format!("{}: {e:#}", lang.t("refused")), false),
    };
    render(&c, lang, message, ok, after, String::new(), String::new()).await
}
