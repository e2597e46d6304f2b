//! `safeledger import` (issue 18, point 3): plans the records of a data folder, reports
//! every rejected row (a summary by reason on screen, all of them with `--rejects FILE`),
//! asks the ledger which records are already committed (the one rule of
//! [`safeledger_core::records::identity`]) and submits only the others — so a rerun,
//! whole or after an interruption, commits nothing twice — and stops cleanly on Ctrl-C,
//! saying how to resume.

use crate::cli::exit::{self, Exit};
use crate::cli::{demo, home, submit};
use anyhow::Context;
use safeledger_client::import::{plan_import_limited, ImportItem, ImportPlan, RejectedRow};
use safeledger_client::rpc::LedgerClient;
use safeledger_core::limits::MAX_BATCH_TXS;
use safeledger_core::private::blanked;
use safeledger_core::records::identity::natural_key;
use safeledger_core::Outcome;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `safeledger import` was asked.
pub struct ImportArgs {
    /// The network directory.
    pub home: PathBuf,
    /// The data folder.
    pub data: PathBuf,
    /// At most this many rows of each file.
    pub limit: Option<usize>,
    /// Where to write every rejected row as CSV.
    pub rejects: Option<PathBuf>,
}

/// `safeledger import`.
///
/// # Errors
/// The plan cannot be made (a missing file or column); no node reachable (exit 5);
/// interrupted (exit 130, after saying how to resume).
pub async fn run(a: ImportArgs) -> anyhow::Result<()> {
    tokio::select! {
        r = import(&a) => r,
        _ = tokio::signal::ctrl_c() => Err(exit::fail(
            Exit::Interrupted,
            format!(
                "interrupted; records a node admitted may still commit. To resume, run the \
                 same command again — records already on the ledger are skipped: {}",
                a.command_line()
            ),
        )),
    }
}

impl ImportArgs {
    /// The command that runs this import again.
    pub fn command_line(&self) -> String {
        let mut line = format!(
            "safeledger import --home {} --data {}",
            self.home.display(),
            self.data.display()
        );
        if let Some(n) = self.limit {
            line.push_str(&format!(" --limit {n}"));
        }
        if let Some(r) = &self.rejects {
            line.push_str(&format!(" --rejects {}", r.display()));
        }
        line
    }
}

async fn import(a: &ImportArgs) -> anyhow::Result<()> {
    let h = home::Home::load(&a.home)?;
    let (data, limit) = (a.data.clone(), a.limit.unwrap_or(usize::MAX));
    // Off the async threads, so that Ctrl-C is heard while planning.
    let plan = tokio::task::spawn_blocking(move || plan_import_limited(&data, limit)).await??;
    print_rejections(&plan);
    if let Some(path) = &a.rejects {
        write_rejects(path, &plan.rejected)?;
        println!(
            "wrote {} rejected rows to {}",
            plan.rejected.len(),
            path.display()
        );
    }
    let mut c = LedgerClient::new(h.endpoints()).signed_by(h.default_signer(false)?);
    let (todo, already) = not_yet_committed(&mut c, &plan.items).await?;
    if already > 0 {
        println!(
            "{already} of {} records are already on the ledger (an earlier import): not \
             submitted again",
            plan.items.len()
        );
    }
    let mut first = BTreeMap::new();
    for ag in &h.genesis.agencies {
        let k = h.officer_key(&ag.id)?;
        first.insert(ag.id.clone(), c.sequence(&k.public()).await? + 1);
    }
    let (txs, resign) = demo::sign_items(&h, &todo, &first)?;
    // The same fields stay private as in the demo (licensees' legal names, accident
    // descriptions): sealed at the recording agency's node, never replicated.
    let (txs, kept) = demo::withhold_private(&h, txs).await?;
    if kept > 0 {
        println!("private fields withheld {kept} (sealed at their recording agencies' nodes)");
    }
    let signer = h.default_signer(false)?;
    let report = submit::submit_all(h.endpoints(), signer, txs, true, Some(resign)).await?;
    let accepted = report
        .committed
        .values()
        .filter(|c| c.result.outcome == Outcome::Accepted)
        .count();
    println!(
        "rows read {}, records planned {} (already on the ledger {already}), committed {} \
         (accepted {accepted}, refused by rule {}), rejected rows {}",
        plan.rows_read,
        plan.items.len(),
        report.committed.len(),
        report.committed.len() - accepted,
        plan.rejected.len()
    );
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for c in report.committed.values() {
        if let Outcome::Refused { rule, .. } = &c.result.outcome {
            *by_rule.entry(rule.as_str()).or_default() += 1;
        }
    }
    for (rule, n) in by_rule {
        println!("  refused by {rule:<24} {n}");
    }
    let not_admitted: u64 = report.not_admitted.values().sum();
    if not_admitted > 0 {
        for (why, n) in &report.not_admitted {
            println!("  not admitted: {n} × {why}");
        }
        return Err(exit::fail(
            Exit::Rejected,
            format!("{not_admitted} records were rejected at admission and not committed"),
        ));
    }
    Ok(())
}

/// The items not yet on the ledger, and how many are.
///
/// # Errors
/// No node answered a lookup.
pub async fn not_yet_committed(
    c: &mut LedgerClient,
    items: &[ImportItem],
) -> anyhow::Result<(Vec<ImportItem>, usize)> {
    // Ask per agency, in batches; remember which items were found.
    let mut by_agency: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    // Keyed as the ledger will hold them: with the fields the import withholds blanked.
    let keys: Vec<_> = items
        .iter()
        .map(|it| {
            let private = demo::demo_private_fields(&it.agency, it.body.kind());
            natural_key(&blanked(&it.body, private), it.effective_at)
        })
        .collect();
    for (i, it) in items.iter().enumerate() {
        if keys[i].is_some() {
            by_agency.entry(it.agency.as_str()).or_default().push(i);
        }
    }
    let mut found = vec![false; items.len()];
    for (agency, idx) in by_agency {
        for chunk in idx.chunks(MAX_BATCH_TXS) {
            let ks: Vec<_> = chunk.iter().filter_map(|i| keys[*i].clone()).collect();
            let answers = c
                .find_records(agency, &ks)
                .await
                .context("asking the ledger which records it already holds")?;
            for (i, a) in chunk.iter().zip(answers) {
                found[*i] = a.is_some();
            }
        }
    }
    let already = found.iter().filter(|f| **f).count();
    let todo = items
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(it, _)| it.clone())
        .collect();
    Ok((todo, already))
}

/// Prints the rejected rows by reason, with the first file and line of each.
pub fn print_rejections(plan: &ImportPlan) {
    if plan.rejected.is_empty() {
        return;
    }
    println!("rejected rows: {}", plan.rejected.len());
    let mut first: BTreeMap<&str, (&RejectedRow, u64)> = BTreeMap::new();
    for r in &plan.rejected {
        first.entry(r.reason.key()).or_insert((r, 0)).1 += 1;
    }
    for (key, (r, n)) in first {
        println!("  {key:<18} {n:>6}   first: {r}");
    }
}

/// Writes `rows` as CSV: `source,line,reason,detail`.
///
/// # Errors
/// The file cannot be written.
pub fn write_rejects(path: &Path, rows: &[RejectedRow]) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    w.write_record(["source", "line", "reason", "detail"])?;
    for r in rows {
        w.write_record([
            r.source.as_str(),
            &r.line.to_string(),
            r.reason.key(),
            &r.reason.to_string(),
        ])?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
