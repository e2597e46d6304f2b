//! `safeledger console` (issue 21): a local web application for officers, auditors and
//! operators — server-rendered HTML (askama templates under `node/templates/console/`,
//! compiled into the binary with the stylesheet: no CDN, works offline), no JavaScript.
//! It talks to the network through the client library and signs with the local key; no
//! key reaches the browser.
//!
//! It listens on loopback by default. Another address needs `--allow-remote` and a
//! password from `--password-file` or `SAFELEDGER_CONSOLE_PASSWORD` (never the command
//! line, where `ps` shows it); the browser then logs in with HTTP Basic authentication,
//! compared in constant time. Every response carries a strict Content-Security-Policy
//! (nothing but this origin's stylesheet; no script, no frames), `nosniff` and no
//! referrer; every text from a record is escaped by the templates.
//!
//! It serves the Network, Blocks (list and block), Enterprises (search and enterprise
//! page), Inbox (tasks and the actions that close them), Submit (inspection,
//! rectification and penalty forms checked against the rules before signing) and Audit
//! (view download and verification, checkpoints, access and read logs) pages in English
//! and Simplified Chinese ([`i18n`]). Forms are POST only and carry the process's CSRF
//! token.

mod audit;
mod chain;
pub mod i18n;
mod inbox;
mod pages;
mod submit;

use crate::cli::exit;
use crate::cli::home::Home;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clap::Args;
use safeledger_client::rpc::LedgerClient;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The environment variable holding the remote login's password.
pub const PASSWORD_ENV: &str = "SAFELEDGER_CONSOLE_PASSWORD";

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `safeledger console`.
#[derive(Args)]
pub struct ConsoleArgs {
    /// The network directory (its genesis and this identity's key).
    #[arg(long)]
    pub home: PathBuf,
    /// Act as this agency's officer or this auditor (by id).
    #[arg(long = "as", value_name = "AGENCY|AUDITOR")]
    pub identity: String,
    /// The address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Allow an address other than loopback (needs a password).
    #[arg(long)]
    pub allow_remote: bool,
    /// A file holding the remote login's password (or set SAFELEDGER_CONSOLE_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// Who the console acts as: shown on every page, and which pages its menu offers.
pub struct Who {
    /// The agency's or auditor's id.
    id: String,
    /// An agency's officer (signs records, has an inbox), not an auditor.
    pub officer: bool,
}

impl Who {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

impl std::ops::Deref for Who {
    type Target = str;
    fn deref(&self) -> &str {
        &self.id
    }
}

/// What every page handler reads.
pub struct Console {
    home: Home,
    identity: Who,
    client: Mutex<LedgerClient>,
    /// The identity's request signer (the audit client's too).
    signer: safeledger_client::auth::Signer,
    /// The officer key records are signed with (`None` for an auditor, who records
    /// nothing).
    officer_key: Option<safeledger_core::SecretKey>,
    /// Each agency's own node, for the Network page.
    nodes: Vec<(String, String, Mutex<LedgerClient>)>,
    /// `Basic …` the browser must send, when the console listens beyond loopback.
    login: Option<String>,
    /// Held while a record is signed and submitted: one at a time, so two submissions at
    /// once (a double click, two tabs) do not take the same sequence number.
    signing: Mutex<()>,
    /// The token every form carries (128 random bits, this process's): a form posted from
    /// elsewhere cannot know it.
    csrf: String,
}

impl Console {
    /// The officer key a state-changing form signs with, once the form's CSRF token
    /// matched. `Err`: the refusal to send (403: a forged form, or an auditor's console).
    fn officer_post(
        &self,
        lang: i18n::Lang,
        csrf: &str,
    ) -> Result<&safeledger_core::SecretKey, Box<Response>> {
        let refuse = |why: &str| {
            Box::new(pages::error(
                self,
                lang,
                StatusCode::FORBIDDEN,
                lang.t(why).to_string(),
            ))
        };
        if !constant_time_eq(csrf.as_bytes(), self.csrf.as_bytes()) {
            return Err(refuse("forged"));
        }
        self.officer_key
            .as_ref()
            .ok_or_else(|| refuse("not_officer"))
    }
}

/// The password a remote console needs: from the file or the environment.
///
/// # Errors
/// Listening beyond loopback without `--allow-remote`, or without a password; an
/// unreadable or empty password file.
pub fn login_secret(args: &ConsoleArgs) -> anyhow::Result<Option<String>> {
    if args.listen.ip().is_loopback() {
        return Ok(None);
    }
    if !args.allow_remote {
        return Err(exit::usage(format!(
            "refusing to listen on {}: the console listens on loopback only unless \
             --allow-remote is given, with a password in --password-file or {PASSWORD_ENV}",
            args.listen
        )));
    }
    let secret = match &args.password_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| exit::usage(format!("--password-file {}: {e}", p.display())))?,
        None => std::env::var(PASSWORD_ENV).unwrap_or_default(),
    };
    let secret = secret.trim().to_string();
    if secret.len() < 12 {
        return Err(exit::usage(format!(
            "refusing to listen on {} without a password of at least 12 characters in \
             --password-file or {PASSWORD_ENV} (never on the command line)",
            args.listen
        )));
    }
    Ok(Some(format!(
        "Basic {}",
        base64(format!("officer:{secret}").as_bytes())
    )))
}

/// Standard base64 with padding (RFC 4648 §4), for the Basic authentication header.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The host name of a `Host` header or `Origin` value, without scheme and port.
fn host_of(v: &str) -> &str {
    let v = v.split("://").last().unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    if v.starts_with('[') {
        return v.split(']').next().map_or(v, |h| &v[..h.len() + 1]);
    }
    v.split(':').next().unwrap_or(v)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Security headers on every response; the login check beyond loopback.
async fn guard(
    axum::extract::State(c): axum::extract::State<Arc<Console>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &c.login {
        let got = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or(b"");
        if !constant_time_eq(got, expected.as_bytes()) {
            let mut r = (StatusCode::UNAUTHORIZED, "log in").into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"safeledger console\", charset=\"UTF-8\""),
            );
            return r;
        }
    }
    // On loopback there is no login: a page is served only to a request that names this
    // machine, so a site whose name an attacker points at 127.0.0.1 (DNS rebinding)
    // reads nothing, and a form posted from another origin is refused.
    if c.login.is_none() {
        let named_here = |v: Option<&HeaderValue>| {
            v.and_then(|v| v.to_str().ok())
                .map(host_of)
                .is_some_and(|h| matches!(h, "127.0.0.1" | "localhost" | "[::1]"))
        };
        let origin = req.headers().get(header::ORIGIN);
        if !named_here(req.headers().get(header::HOST)) || (origin.is_some() && !named_here(origin))
        {
            return (
                StatusCode::FORBIDDEN,
                "refused: this console answers only requests addressed to 127.0.0.1 or \
                 localhost (a page from another site may not use it)",
            )
                .into_response();
        }
    }
    let started = std::time::Instant::now();
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    // The server's time for the page (W3C Server Timing), which the render-time figures
    // are read from.
    if let Ok(v) = format!("app;dur={:.1}", started.elapsed().as_secs_f64() * 1e3).parse() {
        h.insert("server-timing", v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// How long a client may take to send a request's headers before its connection is
/// closed (a client that trickles headers cannot hold a connection for ever).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connections served at once; more wait in the listener's backlog.
pub const MAX_CONNECTIONS: usize = 256;

/// Serves `app` on `listener` over HTTP/1.1 until Ctrl-C: at most [`MAX_CONNECTIONS`]
/// connections at once, each closed when its request headers take longer than
/// [`HEADER_READ_TIMEOUT`] (axum's own `serve` has no such bound).
async fn serve(listener: tokio::net::TcpListener, app: axum::Router) -> anyhow::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s?,
            _ = &mut stop => return Ok(()),
        };
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                // A failed accept (out of descriptors, a reset) ends that connection only.
                Err(_) => continue,
            },
            _ = &mut stop => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let _ = http
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

/// Runs the console until Ctrl-C.
///
/// # Errors
/// The listening policy refuses (exit 2), the identity has no key in the directory, the
/// address cannot be bound.
pub async fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let login = login_secret(&args)?;
    let home = Home::load(&args.home)?;
    let signer = home.signer(&args.identity)?;
    let officer_key = match home.genesis.agency(&args.identity) {
        Some(_) => Some(home.officer_key(&args.identity)?),
        None => None,
    };
    let client = LedgerClient::new(home.endpoints()).signed_by(signer.clone());
    let nodes = home
        .genesis
        .agencies
        .iter()
        .map(|a| {
            let c = LedgerClient::new(vec![a.grpc_addr.clone()])
                .with_request_timeout(std::time::Duration::from_secs(2));
            (a.id.clone(), a.grpc_addr.clone(), Mutex::new(c))
        })
        .collect();
    let console = Arc::new(Console {
        home,
        identity: Who {
            id: args.identity.clone(),
            officer: officer_key.is_some(),
        },
        client: Mutex::new(client),
        signer,
        officer_key,
        nodes,
        login,
        csrf: hex::encode(rand::random::<[u8; 16]>()),
        signing: Mutex::new(()),
    });
    let app =
        pages::router(console.clone()).layer(axum::middleware::from_fn_with_state(console, guard));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("binding the console on {}: {e}", args.listen))?;
    let bound = listener.local_addr()?;
    println!(
        "console listening on http://{bound} as {}; Ctrl-C stops it",
        args.identity
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_read_without_scheme_or_port() {
        assert_eq!(host_of("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("localhost"), "localhost");
        assert_eq!(host_of("[::1]:8080"), "[::1]");
        assert_eq!(host_of("http://evil.example:8080"), "evil.example");
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(
            host_of("http://127.0.0.1.evil.example"),
            "127.0.0.1.evil.example"
        );
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn every_task_kind_has_its_names() {
        use safeledger_contracts::query::tasks::TaskKind;
        let kinds = [
            TaskKind::AssistanceRequest,
            TaskKind::AccessRequest,
            TaskKind::LicenceApplication,
            TaskKind::ApplicationAcceptance,
            TaskKind::ApplicationResupply,
            TaskKind::ProposalVote,
            TaskKind::LicenceReview,
            TaskKind::HazardRectification,
            TaskKind::HazardReinspection,
            TaskKind::LicenceExpiry,
            TaskKind::DecisionSignature,
            TaskKind::RoutineInspection,
            TaskKind::TipTriage,
            TaskKind::AlertFollowUp,
        ];
        assert_eq!(kinds.len(), i18n::TASK_KINDS.len());
        for k in kinds {
            let name = serde_json::to_value(k).unwrap();
            let name = name.as_str().unwrap();
            assert!(
                i18n::TASK_KINDS.iter().any(|(n, _, _)| *n == name),
                "task kind {name} has no names"
            );
        }
    }

    #[test]
    fn every_label_is_translated_once() {
        let mut keys: Vec<&str> = i18n::LABELS.iter().map(|(k, _, _)| *k).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "a label key twice");
        assert!(i18n::LABELS
            .iter()
            .all(|(_, en, zh)| !en.is_empty() && !zh.is_empty()));
    }
}
