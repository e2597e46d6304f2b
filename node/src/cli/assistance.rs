//! `safeledger assistance request | respond | list` (issue 4 item 5; DESIGN §5 R1, R7):
//! client commands for assistance requests between agencies, on the ordinary submission
//! path ([`crate::cli::submit::submit_one`], as `tx submit`: the agency's officer key in
//! the network directory signs, the transaction is submitted and waited for) and the `Query` RPC.
//!
//! - [`request`] signs an [`AssistanceRequest`] from one agency to another about an
//!   enterprise, due `due_hours` after the block that commits it (the governed default,
//!   24 h, when not given).
//! - [`respond`] finds the request by its transaction id among those open or overdue for
//!   the responding agency (the `assistance_open` / `assistance_overdue` queries) and
//!   signs the [`AssistanceResponse`]; only the addressed agency can (R1, refused
//!   otherwise by the contracts with `R1-assistance-response`).
//! - [`list`] lists the unanswered requests addressed to an agency: open, overdue, or both
//!   (overdue is derived from block time by the contracts, R7).

use crate::cli::args::{AssistanceCmd, Output};
use crate::cli::exit::usage;
use crate::cli::home::Home;
use crate::cli::submit::submit_one as submit;
use crate::cli::{records, when};
use anyhow::{bail, Context};
use safeledger_client::rpc::{Committed, LedgerClient};
use safeledger_contracts::assistance::{AssistanceState, AssistanceStatus};
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{AssistanceRequest, AssistanceResponse};
use safeledger_core::{Timestamp, TxBody, TxId};
use std::time::Duration;

/// Most requests [`list`] asks the node for per status.
pub const LIST_LIMIT: u32 = 1_000;

/// What `safeledger assistance request` asks.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// The requesting agency (its officer signs).
    pub from: String,
    /// The addressed agency.
    pub to: String,
    /// The enterprise concerned (`namespace:local` or a unified social credit code).
    pub enterprise: String,
    /// What is asked.
    pub subject: String,
    /// Hours until due, counted from the committing block; `None`: the governed default.
    pub due_hours: Option<u32>,
    /// The requesting agency's id for the request; a fresh random one when `None`.
    pub request_id: Option<String>,
    /// When the request was made (the transaction's `effective_at`).
    pub effective_at: Timestamp,
    /// How long to wait for the request to commit.
    pub timeout: Duration,
}

/// Submits an assistance request (see the module docs).
///
/// # Errors
/// A malformed enterprise id or a zero `due_hours` (before anything is sent), and those of
/// [`crate::cli::submit::submit_one`].
pub async fn request(home: &Home, r: &NewRequest) -> anyhow::Result<Committed> {
    let enterprise = EnterpriseId::parse(&r.enterprise)
        .map_err(|e| usage(format!("--enterprise {:?}: {e}", r.enterprise)))?;
    if r.due_hours == Some(0) {
        return Err(usage("--due-hours must be at least 1"));
    }
    home.known_agency(&r.to)?;
    let request_id = match &r.request_id {
        Some(id) => id.clone(),
        None => format!("req-{:016x}", rand::random::<u64>()),
    };
    let body = TxBody::AssistanceRequest(AssistanceRequest {
        request_id,
        to_agency: r.to.clone(),
        enterprise,
        subject: r.subject.clone(),
        due_in_hours: r.due_hours,
    });
    submit(home, &r.from, body, r.effective_at, r.timeout).await
}

/// Answers the request committed as transaction `request` on behalf of `agency` (see the
/// module docs).
///
/// # Errors
/// No unanswered request with that transaction id is addressed to `agency` (answered
/// already, never committed, or addressed to another agency), and those of [`crate::cli::submit::submit_one`].
pub async fn respond(
    home: &Home,
    agency: &str,
    request: TxId,
    answer: &str,
    effective_at: Timestamp,
    timeout: Duration,
) -> anyhow::Result<Committed> {
    let mut c = home.officer_client(agency)?;
    let pending = unanswered(&mut c, agency, true, true).await?;
    let Some((r, _)) = pending.into_iter().find(|(r, _)| r.tx_id == request) else {
        bail!(
            "no unanswered assistance request {request} is addressed to agency {agency}: \
             see `safeledger assistance list --agency {agency}`"
        );
    };
    let body = TxBody::AssistanceResponse(AssistanceResponse {
        from_agency: r.from_agency,
        request_id: r.request_id,
        enterprise: r.enterprise,
        answer: answer.to_string(),
    });
    submit(home, agency, body, effective_at, timeout).await
}

/// The unanswered requests addressed to `agency` with their status (open and/or overdue,
/// as the node derives them from block time), oldest first within each status.
///
/// # Errors
/// No node reachable, or a reply that is not a list of requests.
pub async fn list(
    home: &Home,
    agency: &str,
    open: bool,
    overdue: bool,
) -> anyhow::Result<Vec<(AssistanceState, AssistanceStatus)>> {
    let mut c = home.officer_client(agency)?;
    unanswered(&mut c, agency, open, overdue).await
}

/// The latest [`LIST_LIMIT`] requests `agency` made, newest first, with their status and
/// the text of each answer (read from the response transaction).
///
/// # Errors
/// Unknown agency, no node reachable, or a reply that is not a list of requests.
pub async fn sent(
    home: &Home,
    agency: &str,
) -> anyhow::Result<Vec<(AssistanceState, AssistanceStatus, Option<String>)>> {
    let mut c = home.officer_client(agency)?;
    let v = c.query("assistance_sent", agency, "", LIST_LIMIT).await?;
    #[derive(serde::Deserialize)]
    struct Row {
        status: AssistanceStatus,
        request: AssistanceState,
    }
    let rows: Vec<Row> = serde_json::from_value(v)
        .context("the node's assistance_sent reply is not a list of requests")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let answer = match r.request.answered {
            Some((tx, _)) => match c.transaction(tx).await?.0.payload.body {
                TxBody::AssistanceResponse(a) => Some(a.answer),
                _ => None,
            },
            None => None,
        };
        out.push((r.request, r.status, answer));
    }
    Ok(out)
}

async fn unanswered(
    c: &mut LedgerClient,
    agency: &str,
    open: bool,
    overdue: bool,
) -> anyhow::Result<Vec<(AssistanceState, AssistanceStatus)>> {
    let mut out = Vec::new();
    let kinds = [
        (overdue, "assistance_overdue", AssistanceStatus::Overdue),
        (open, "assistance_open", AssistanceStatus::Open),
    ];
    for (wanted, kind, status) in kinds {
        if !wanted {
            continue;
        }
        let v = c.query(kind, agency, "", LIST_LIMIT).await?;
        let states: Vec<AssistanceState> = serde_json::from_value(v)
            .with_context(|| format!("the node's {kind} reply is not a list of requests"))?;
        out.extend(states.into_iter().map(|s| (s, status)));
    }
    Ok(out)
}

/// `safeledger assistance request | respond | list`.
pub async fn run(cmd: AssistanceCmd) -> anyhow::Result<()> {
    match cmd {
        AssistanceCmd::Request {
            home,
            agency,
            to,
            enterprise,
            subject,
            due_hours,
            id,
            effective_at,
            timeout,
            output,
        } => {
            let h = Home::load(&home)?;
            let r = request(
                &h,
                &NewRequest {
                    from: agency,
                    to,
                    enterprise,
                    subject,
                    due_hours,
                    request_id: id,
                    effective_at: when::effective_or_now(effective_at.as_deref(), when::now())?,
                    timeout: Duration::from_secs(timeout),
                },
            )
            .await?;
            records::print_committed(&r, output)
        }
        AssistanceCmd::Respond {
            home,
            agency,
            request,
            answer,
            effective_at,
            timeout,
            output,
        } => {
            let h = Home::load(&home)?;
            let request = safeledger_core::Hash::from_hex(&request).map_err(|e| {
                usage(format!(
                    "--request {request:?} is not a transaction id (64 hex digits, as \
                     `assistance request` and `list` print it): {e}"
                ))
            })?;
            let eff = when::effective_or_now(effective_at.as_deref(), when::now())?;
            let r = respond(
                &h,
                &agency,
                request,
                &answer,
                eff,
                Duration::from_secs(timeout),
            )
            .await?;
            records::print_committed(&r, output)
        }
        AssistanceCmd::List {
            agency,
            sent: true,
            home,
            output,
            ..
        } => {
            let h = Home::load(&home)?;
            let rows = sent(&h, &agency).await?;
            if output == Output::Json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(r, s, a)| serde_json::json!({"status": s, "request": r, "answer": a}))
                    .collect();
                return records::print_json(&v);
            }
            if rows.is_empty() {
                println!("{agency} has made no assistance requests");
            }
            for (r, s, answer) in rows {
                println!(
                    "{:<8} {} to {} ({}) about {} due {}: {}",
                    format!("{s:?}").to_lowercase(),
                    r.tx_id,
                    r.to_agency,
                    r.request_id,
                    r.enterprise,
                    when::show(r.due_at),
                    r.subject
                );
                if let (Some((tx, at)), Some(a)) = (r.answered, answer) {
                    println!("         answered {} by {tx}: {a}", when::show(at));
                }
            }
            Ok(())
        }
        AssistanceCmd::List {
            agency,
            open,
            overdue,
            sent: false,
            home,
            output,
        } => {
            let h = Home::load(&home)?;
            let both = !open && !overdue;
            let rows = list(&h, &agency, open || both, overdue || both).await?;
            if output == Output::Json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(r, s)| serde_json::json!({"status": s, "request": r}))
                    .collect();
                return records::print_json(&v);
            }
            if rows.is_empty() {
                println!("no unanswered assistance requests addressed to {agency}");
            }
            for (r, s) in rows {
                println!(
                    "{:<8} {} from {} ({}) about {} due {}: {}",
                    format!("{s:?}").to_lowercase(),
                    r.tx_id,
                    r.from_agency,
                    r.request_id,
                    r.enterprise,
                    when::show(r.due_at),
                    r.subject
                );
            }
            Ok(())
        }
    }
}
