//! `safeledger demo`: the main job. Initialises a four-agency network, starts four node
//! processes on loopback with sled stores under `--dir`, imports the real data, waits
//! until every transaction is committed, checks that all four nodes agree on height, block
//! hash and state root, and prints a summary. A node process that dies during the run
//! (killed by an operator, say) is restarted and catches up.

use super::home::{self, Home};
use super::submit;
use anyhow::{bail, Context};
use safeledger_client::import::plan_import_limited;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::{Outcome, PublicKey, SecretKey, Transaction, TxPayload};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Options of the demo.
pub struct DemoOptions {
    /// Network directory; a fresh temporary one when `None`.
    pub dir: Option<PathBuf>,
    /// The data folder.
    pub data: PathBuf,
    /// At most this many rows of each file (all when `None`).
    pub limit: Option<usize>,
    /// Leave the network up after the summary, until Ctrl-C.
    pub keep_running: bool,
}

/// Node processes of a network directory. A node that crashes (killed by a signal other
/// than SIGTERM or SIGINT, or exiting with an error) is restarted, with the end of its log
/// printed; one stopped on purpose (SIGTERM, Ctrl-C: exit 0) stays stopped, so an
/// operator can take it down for maintenance; one that crashes [`MAX_RESTARTS`] times
/// within [`RESTART_WINDOW`] is given up on, saying so.
pub struct Supervisor {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    pids: Arc<std::sync::Mutex<BTreeMap<String, u32>>>,
    metrics: BTreeMap<String, std::net::SocketAddr>,
}

/// Crashes within [`RESTART_WINDOW`] after which a node is no longer restarted.
pub const MAX_RESTARTS: usize = 5;
/// See [`MAX_RESTARTS`].
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// The log file of `agency`'s node in a network directory.
pub fn node_log(dir: &Path, agency: &str) -> PathBuf {
    dir.join(agency).join("node.log")
}

fn spawn_node(
    exe: &Path,
    dir: &Path,
    agency: &str,
    metrics: Option<std::net::SocketAddr>,
) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_log(dir, agency))?;
    let mut cmd = Command::new(exe);
    cmd.args(["node", "start", "--home"])
        .arg(dir)
        .args(["--agency", agency])
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        // One metrics address per node, chosen here: an inherited one would be bound by
        // the first node and refused to the others.
        .env_remove("SAFELEDGER_METRICS_ADDR");
    if let Some(m) = metrics {
        cmd.arg("--metrics-addr").arg(m.to_string());
    }
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting the node of {agency}"))?;
    Ok(child)
}

/// A free loopback address ([`home::free_port`]; the node binds it a moment later).
fn free_loopback() -> Option<std::net::SocketAddr> {
    home::free_port()
        .ok()
        .map(|p| std::net::SocketAddr::from(([127, 0, 0, 1], p)))
}

/// Whether an exit was asked for (SIGTERM, SIGINT, or a clean exit after one) rather than
/// a crash.
fn stopped_on_purpose(status: std::process::ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if matches!(status.signal(), Some(2) | Some(15)) {
            return true;
        }
    }
    status.success()
}

/// The last `n` lines of a file (empty when unreadable).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Supervisor {
    /// Starts one `safeledger node start` process per agency of `home`, running this
    /// binary, or the one `SAFELEDGER_NODE_BINARY` names (to compare builds under the same
    /// benchmark driver), each serving `/healthz` and `/metrics` on a free loopback port
    /// ([`Supervisor::metrics_addrs`]).
    pub fn start(home: &Home) -> anyhow::Result<Supervisor> {
        let exe = match std::env::var_os("SAFELEDGER_NODE_BINARY") {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe().context("locating the safeledger binary")?,
        };
        let dir = home.dir.clone();
        let agencies: Vec<String> = home.genesis.agencies.iter().map(|a| a.id.clone()).collect();
        let mut children = Vec::new();
        let pids: Arc<std::sync::Mutex<BTreeMap<String, u32>>> = Default::default();
        let mut metrics = BTreeMap::new();
        for a in &agencies {
            let m = free_loopback();
            if let Some(m) = m {
                metrics.insert(a.clone(), m);
            }
            let child = spawn_node(&exe, &dir, a, m)?;
            if let (Some(pid), Ok(mut map)) = (child.id(), pids.lock()) {
                map.insert(a.clone(), pid);
            }
            children.push((a.clone(), m, Some(child), Vec::<Instant>::new()));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let pids2 = pids.clone();
        let task = tokio::spawn(async move {
            loop {
                for (agency, m, slot, crashes) in children.iter_mut() {
                    if stop2.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(child) = slot else { continue };
                    let Ok(Some(status)) = child.try_wait() else {
                        continue;
                    };
                    let log = node_log(&dir, agency);
                    if stopped_on_purpose(status) {
                        let metrics = m
                            .map(|m| format!(" --metrics-addr {m}"))
                            .unwrap_or_default();
                        eprintln!(
                            "node {agency} stopped ({status}); left stopped. Start it again \
                             with `safeledger node start --home {} --agency {agency}{metrics}`",
                            dir.display()
                        );
                        *slot = None;
                        continue;
                    }
                    crashes.retain(|t| t.elapsed() < RESTART_WINDOW);
                    crashes.push(Instant::now());
                    if crashes.len() > MAX_RESTARTS {
                        eprintln!(
                            "node {agency} failed {} times within {} s; not restarting it. \
                             Its log: {}\n{}",
                            crashes.len(),
                            RESTART_WINDOW.as_secs(),
                            log.display(),
                            log_tail(&log, 5)
                        );
                        *slot = None;
                        continue;
                    }
                    eprintln!(
                        "node {agency} exited ({status}); restarting it. The end of {}:\n{}",
                        log.display(),
                        log_tail(&log, 3)
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    match spawn_node(&exe, &dir, agency, *m) {
                        Ok(c) => {
                            if let (Some(pid), Ok(mut map)) = (c.id(), pids2.lock()) {
                                map.insert(agency.clone(), pid);
                            }
                            *slot = Some(c);
                        }
                        Err(e) => eprintln!("could not restart {agency}: {e:#}"),
                    }
                }
                if stop2.load(Ordering::Relaxed) {
                    for child in children.iter_mut().filter_map(|c| c.2.as_mut()) {
                        let _ = child.start_kill();
                    }
                    for child in children.iter_mut().filter_map(|c| c.2.as_mut()) {
                        let _ = child.wait().await;
                    }
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Ok(Supervisor {
            stop,
            task,
            pids,
            metrics,
        })
    }

    /// The current process id of each agency's node.
    pub fn pids(&self) -> BTreeMap<String, u32> {
        self.pids.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Where each agency's node serves `/healthz` and `/metrics`.
    pub fn metrics_addrs(&self) -> &BTreeMap<String, std::net::SocketAddr> {
        &self.metrics
    }

    /// Stops every node process and waits for them.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
    }
}

/// Waits until every endpoint answers Status.
pub async fn wait_ready(endpoints: &[String], within: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    for e in endpoints {
        loop {
            let mut c = LedgerClient::new(vec![e.clone()]);
            if c.status().await.is_ok() {
                break;
            }
            if start.elapsed() > within {
                bail!("node at {e} did not answer within {within:?}; see its node.log");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// Compares the nodes: the same height, block hash and state root. Empty blocks keep
/// coming while idle, so statuses are polled until one snapshot agrees; failing that, the
/// headers at the lowest common height are compared.
pub async fn check_agreement(
    endpoints: &[String],
    signer: &safeledger_client::auth::Signer,
) -> anyhow::Result<(u64, String, String)> {
    let start = Instant::now();
    loop {
        let mut statuses = Vec::new();
        for e in endpoints {
            let mut c = LedgerClient::new(vec![e.clone()]);
            statuses.push(c.status().await.with_context(|| format!("status of {e}"))?);
        }
        let first = &statuses[0];
        if statuses.iter().all(|s| {
            s.height == first.height
                && s.last_block_hash == first.last_block_hash
                && s.state_root == first.state_root
        }) {
            return Ok((
                first.height,
                first.last_block_hash.to_hex(),
                first.state_root.to_hex(),
            ));
        }
        if start.elapsed() > Duration::from_secs(20) {
            let h = statuses.iter().map(|s| s.height).min().unwrap_or(0);
            let mut hashes = Vec::new();
            for e in endpoints {
                let mut c = LedgerClient::new(vec![e.clone()]).signed_by(signer.clone());
                let (b, _, _) = c.block(h).await?;
                hashes.push((b.hash(), b.header.state_root));
            }
            if hashes.iter().all(|x| *x == hashes[0]) {
                return Ok((h, hashes[0].0.to_hex(), hashes[0].1.to_hex()));
            }
            bail!("nodes disagree at height {h}: {hashes:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs import items with each agency's officer key, sequences from `first_seq`. Returns
/// the transactions and a re-signer that signs a dead transaction's record again with the
/// next unused sequence of its signer.
pub fn sign_items(
    home: &Home,
    items: &[safeledger_client::import::ImportItem],
    first_seq: &BTreeMap<String, u64>,
) -> anyhow::Result<(Vec<Transaction>, submit::Resigner)> {
    let mut keys: BTreeMap<String, SecretKey> = BTreeMap::new();
    for a in &home.genesis.agencies {
        keys.insert(a.id.clone(), home.officer_key(&a.id)?);
    }
    let mut seq: BTreeMap<String, u64> = first_seq.clone();
    let mut rng = rand::rngs::OsRng;
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let key = keys
            .get(&it.agency)
            .with_context(|| format!("no officer key for agency {}", it.agency))?;
        let s = seq.entry(it.agency.clone()).or_insert(1);
        let payload = TxPayload::new(
            &home.genesis.chain_id,
            *s,
            it.effective_at,
            it.body.clone(),
            &mut rng,
        );
        *s += 1;
        out.push(Transaction::sign(payload, &[key]));
    }
    let mut next: BTreeMap<PublicKey, (SecretKey, u64)> = BTreeMap::new();
    for (agency, key) in keys {
        let n = seq.get(&agency).copied().unwrap_or(1);
        next.insert(key.public(), (key, n));
    }
    let resign: submit::Resigner = Box::new(move |tx: &Transaction| {
        let Some(signer) = tx.submitter().copied() else {
            return tx.clone();
        };
        let Some((key, n)) = next.get_mut(&signer) else {
            return tx.clone();
        };
        let p = &tx.payload;
        let payload = TxPayload::new(
            &p.chain_id,
            *n,
            p.effective_at,
            p.body.clone(),
            &mut rand::rngs::OsRng,
        );
        *n += 1;
        Transaction::sign(payload, &[&*key])
    });
    Ok((out, resign))
}

/// The demo's private fields (DESIGN §4; issue 5 item 7): the fields each agency keeps to
/// itself — OSHA's accident descriptions (they name workers) and the Chicago licensing
/// agency's legal names of licensees.
pub fn demo_private_fields(
    agency: &str,
    kind: safeledger_core::records::TxKind,
) -> &'static [&'static str] {
    use safeledger_core::records::TxKind;
    match (agency, kind) {
        ("us-osha", TxKind::AccidentReport) => &["description"],
        ("chicago-bacp", TxKind::EnterpriseRecord) => &["name"],
        _ => &[],
    }
}

/// Withholds the demo's private fields of `txs` (after signing: ids and signatures stay)
/// and hands their values to the recording agencies' own nodes; returns the transactions
/// to submit and how many values were kept.
pub async fn withhold_private(
    home: &Home,
    txs: Vec<Transaction>,
) -> anyhow::Result<(Vec<Transaction>, u64)> {
    let mut by_agency: BTreeMap<
        String,
        Vec<(Transaction, Vec<safeledger_core::private::PrivateValue>)>,
    > = BTreeMap::new();
    let mut out = Vec::with_capacity(txs.len());
    for mut tx in txs {
        let agency = tx
            .submitter()
            .and_then(|k| home.genesis.agency_of_officer(k))
            .map(|a| a.id.clone());
        if let Some(agency) = agency {
            let fields = demo_private_fields(&agency, tx.payload.body.kind());
            if !fields.is_empty() {
                let values = tx.payload.withhold(fields)?;
                by_agency
                    .entry(agency)
                    .or_default()
                    .push((tx.clone(), values));
            }
        }
        out.push(tx);
    }
    let mut kept = 0u64;
    for (agency, items) in by_agency {
        let Some(a) = home.genesis.agency(&agency) else {
            continue;
        };
        let mut client =
            LedgerClient::new(vec![a.grpc_addr.clone()]).signed_by(home.signer(&agency)?);
        for chunk in items.chunks(safeledger_core::limits::MAX_BATCH_TXS) {
            kept += u64::from(
                client
                    .store_private(chunk)
                    .await
                    .with_context(|| format!("handing private values to {agency}'s node"))?,
            );
        }
    }
    Ok((out, kept))
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
pub async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Runs the demo; returns Ok when every transaction committed and all nodes agree.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let (dir, _tmp) = match &opts.dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("safeledger-demo-")
                .tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let home = home::init(&dir, home::DEFAULT_CHAIN_ID)?;
    println!("network directory: {}", dir.display());
    let sup = Supervisor::start(&home)?;
    let endpoints = home.endpoints();
    let result = async {
        wait_ready(&endpoints, Duration::from_secs(30)).await?;
        println!("4 agency nodes up: {}", endpoints.join(" "));
        for (agency, m) in sup.metrics_addrs() {
            println!("  {agency:<14} metrics http://{m}/metrics  health http://{m}/healthz");
        }
        let data = opts.data.clone();
        let limit = opts.limit.unwrap_or(usize::MAX);
        let plan = tokio::task::spawn_blocking(move || plan_import_limited(&data, limit)).await??;
        println!(
            "planned: {} rows read, {} records to submit, {} rows rejected, {} duplicate rows skipped",
            plan.rows_read,
            plan.items.len(),
            plan.rejected.len(),
            plan.duplicates_skipped
        );
        let (txs, resign) = sign_items(&home, &plan.items, &BTreeMap::new())?;
        let (txs, kept) = withhold_private(&home, txs).await?;
        println!("private fields withheld  {kept} (sealed at their recording agencies' nodes)");
        let t_submit = Instant::now();
        let signer = home.default_signer(false)?;
        let report =
            submit::submit_all(endpoints.clone(), signer.clone(), txs, true, Some(resign)).await?;
        let secs = t_submit.elapsed().as_secs_f64();
        let (height, hash, state_root) = check_agreement(&endpoints, &signer).await?;
        let accepted = report
            .committed
            .values()
            .filter(|c| c.result.outcome == Outcome::Accepted)
            .count();
        let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
        for c in report.committed.values() {
            if let Outcome::Refused { rule, .. } = &c.result.outcome {
                *by_rule.entry(rule.clone()).or_default() += 1;
            }
        }
        println!();
        println!("== safeledger demo summary ==");
        let counts = plan.item_counts();
        let of_kind = |k: safeledger_core::records::TxKind| -> u64 {
            counts
                .iter()
                .filter(|((_, kind), _)| *kind == k)
                .map(|(_, n)| n)
                .sum()
        };
        let enterprises = of_kind(safeledger_core::records::TxKind::EnterpriseRecord);
        let governance = of_kind(safeledger_core::records::TxKind::GovernanceProposal)
            + of_kind(safeledger_core::records::TxKind::GovernanceVote);
        println!("rows read                {}", plan.rows_read);
        println!("records submitted        {}", plan.items.len());
        println!(
            "  (records and rows differ: each enterprise gets an enterprise record of its own \
             ({enterprises}), the demo policy's deployment adds {governance} governance \
             records, an OSHA row can yield an accident report and a penalty, and rejected \
             and duplicate rows yield none)"
        );
        println!("committed                {}", report.committed.len());
        println!("  accepted               {accepted}");
        println!(
            "  refused by rule        {}",
            report.committed.len() - accepted
        );
        for (rule, n) in &by_rule {
            println!("    {rule:<22} {n}");
        }
        println!("rejected rows            {}", plan.rejected.len());
        for (reason, n) in plan.rejected_counts() {
            println!("    {reason:<22} {n}");
        }
        println!("duplicate rows skipped   {}", plan.duplicates_skipped);
        if report.resigned > 0 {
            println!(
                "re-signed                {} (their first signing died with a node)",
                report.resigned
            );
        }
        for (err, n) in &report.not_admitted {
            println!("not admitted             {n}: {err}");
        }
        println!("blocks                   {height}");
        println!(
            "seconds                  {secs:.1} (import), {:.1} (total)",
            t0.elapsed().as_secs_f64()
        );
        println!(
            "committed tx/s           {:.0}",
            report.committed.len() as f64 / secs.max(0.001)
        );
        println!("agreement                4/4 nodes at height {height}, block {hash}, state root {state_root}");
        crate::cli::disk::print(
            &crate::cli::disk::per_node(&home),
            report.committed.len() as u64,
        );
        if report.committed.len() + report.not_admitted.values().sum::<u64>() as usize
            != plan.items.len()
        {
            bail!("not every submitted record was committed");
        }
        crate::cli::demo_synthetic::run(&home).await
    };
    // SIGINT or SIGTERM mid-run still stops the node processes before the demo exits.
    let result = tokio::select! {
        r = result => r,
        s = stop_signal() => s.and_then(|()| Err(anyhow::anyhow!("interrupted"))),
    };
    if result.is_ok() && opts.keep_running {
        println!(
            "\nnetwork left running; query it with `safeledger status --home {}`; Ctrl-C stops it",
            dir.display()
        );
        let _ = stop_signal().await;
    }
    sup.stop().await;
    if opts.keep_running || result.is_err() {
        if let Some(t) = _tmp {
            let _ = t.keep();
        }
    }
    if result.is_err() {
        eprintln!(
            "the network directory is kept for a look: {}",
            dir.display()
        );
        for a in &home.genesis.agencies {
            eprintln!("  log of {}: {}", a.id, node_log(&dir, &a.id).display());
        }
    }
    result
}
