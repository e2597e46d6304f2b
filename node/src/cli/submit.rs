//! Submitting many signed transactions and waiting until each is committed (DESIGN §3
//! "Submission semantics"): batches are admitted in order over one connection, then
//! waited for concurrently; a node that stops answering is failed over, and unacknowledged
//! transactions are resubmitted (idempotent by id and sequence).

use indicatif::{ProgressBar, ProgressStyle};
use safeledger_client::rpc::{Committed, LedgerClient};
use safeledger_core::{Transaction, TxId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Transactions per submitted batch.
pub const BATCH: usize = 500;
/// Batches admitted but not yet acknowledged.
pub const WINDOW: usize = 8;
/// Give up on a batch after this long without it committing.
pub const BATCH_DEADLINE: Duration = Duration::from_secs(600);

/// What happened to the submitted transactions.
#[derive(Default)]
pub struct SubmitReport {
    /// Committed, with results, by id.
    pub committed: BTreeMap<TxId, Committed>,
    /// Refused at admission (never committed), by error text.
    pub not_admitted: BTreeMap<String, u64>,
}

async fn wait_batch(
    endpoints: Vec<String>,
    start_at: usize,
    txs: Vec<Transaction>,
) -> Result<Vec<Committed>, String> {
    let mut c = LedgerClient::new(endpoints);
    for _ in 0..start_at {
        c.fail_over();
    }
    c.submit_and_wait(&txs, BATCH_DEADLINE)
        .await
        .map_err(|e| e.to_string())
}

/// Submits `txs` in order to `endpoints` (failing over) and waits for all of them.
pub async fn submit_all(
    endpoints: Vec<String>,
    txs: Vec<Transaction>,
    show_progress: bool,
) -> anyhow::Result<SubmitReport> {
    let pb = if show_progress {
        let pb = ProgressBar::new(txs.len() as u64);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} committed {pos}/{len} [{bar:40}] {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut report = SubmitReport::default();
    let mut admit = LedgerClient::new(endpoints.clone());
    let mut waiting: JoinSet<Result<Vec<Committed>, String>> = JoinSet::new();
    let n_endpoints = endpoints.len().max(1);
    for batch in txs.chunks(BATCH) {
        let started = Instant::now();
        let admissions = loop {
            match admit.submit(batch).await {
                Ok(a) => break a,
                Err(e) => {
                    if started.elapsed() > Duration::from_secs(120) {
                        anyhow::bail!("no node admitted a batch for 120 s: {e}");
                    }
                    pb.set_message(format!("{}: {e}; failing over", admit.endpoint()));
                    admit.fail_over();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        };
        let mut pending = Vec::with_capacity(batch.len());
        for (tx, a) in batch.iter().zip(admissions) {
            if a.admitted || a.already_committed {
                pending.push(tx.clone());
            } else {
                *report.not_admitted.entry(a.error).or_default() += 1;
                pb.inc(1);
            }
        }
        let at = endpoints
            .iter()
            .position(|e| e == admit.endpoint())
            .unwrap_or(0)
            % n_endpoints;
        waiting.spawn(wait_batch(endpoints.clone(), at, pending));
        while waiting.len() >= WINDOW {
            collect(&mut waiting, &mut report, &pb).await?;
        }
    }
    while !waiting.is_empty() {
        collect(&mut waiting, &mut report, &pb).await?;
    }
    pb.finish_and_clear();
    Ok(report)
}

async fn collect(
    waiting: &mut JoinSet<Result<Vec<Committed>, String>>,
    report: &mut SubmitReport,
    pb: &ProgressBar,
) -> anyhow::Result<()> {
    if let Some(r) = waiting.join_next().await {
        let committed = r
            .map_err(|e| anyhow::anyhow!("waiter failed: {e}"))?
            .map_err(|e| anyhow::anyhow!("transactions not committed: {e}"))?;
        pb.inc(committed.len() as u64);
        for c in committed {
            report.committed.insert(c.tx_id, c);
        }
    }
    Ok(())
}
