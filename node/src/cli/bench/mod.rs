//! `safeledger bench`: final throughput and latency of a four-validator network on loopback
//! under open-loop load, against this machine's ed25519 verification ceiling (issue 7).
//!
//! One run: a fresh network directory, four `safeledger node start` processes (sled
//! stores), pre-signed transactions from the real records of `data/` (enterprise records,
//! licence decisions, inspections, penalties, accident reports — cycled, re-signed with new
//! sequences, when the run needs more than the data holds; repeats are then refused by the
//! duplicate rule, which still executes and commits them). Every `batch_ms` the load
//! generator hands the next `rate × batch_ms / 1000` transactions to each signing agency's
//! own node (one ordered lane per agency, so each signer's sequences arrive in order),
//! whether or not earlier ones committed (open loop: a slow network queues, and the
//! queueing shows as latency). A watcher follows node 0's blocks and stamps each
//! transaction's commit.
//!
//! Reported: final tx/s (transactions committed / time from the first submission to the
//! last commit, at least the load window), the
//! fraction of the ceiling, submit-to-commit latency p50/p90/p99 (ms), blocks/s, CPU
//! seconds and CPU µs per committed transaction per node (`/proc/<pid>/stat`), peak RSS per
//! node (`VmHWM`). The ceiling: `cores / (validators × µs of one batch-verified signature)`
//! — every node verifies every transaction once. Results go to `<out>/bench.json` and
//! `<out>/bench-<rate>.png` (throughput and latency over time, `plotters`). `--sweep`
//! runs several rates, a fresh network each, and names the rate where latency bends.

mod report;

use super::demo::{sign_items, wait_ready, Supervisor};
use super::home;
use anyhow::{bail, Context};
use report::{plot, print_run};
use safeledger_client::import::{plan_import_limited, ImportItem};
use safeledger_client::rpc::LedgerClient;
use safeledger_core::{SecretKey, Transaction, TxId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of `safeledger bench`.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Offered load, transactions per second.
    pub rate: u64,
    /// Several offered loads, one run each (overrides `rate`).
    pub sweep: Vec<u64>,
    /// Length of the load window, seconds.
    pub seconds: u64,
    /// Interval between load batches, milliseconds.
    pub batch_ms: u64,
    /// The data folder.
    pub data: PathBuf,
    /// At most this many rows of each data file.
    pub limit: Option<usize>,
    /// Where results go.
    pub out: PathBuf,
}

/// The machine's signature-verification ceiling.
#[derive(Clone, Debug, Serialize)]
pub struct Ceiling {
    /// Cores available to this process.
    pub cores: usize,
    /// µs per signature, `PublicKey::verify` (the ledger's rule) one at a time.
    pub single_us: f64,
    /// µs per signature in batches of 64 (`safeledger_core::keys::verify_batch`).
    pub batch_us: f64,
    /// Validators verifying every transaction.
    pub validators: usize,
    /// `cores / (validators × batch_us)`, transactions per second.
    pub ceiling_tps: f64,
}

/// One node's resource use over the load window.
#[derive(Clone, Debug, Serialize)]
pub struct NodeUse {
    /// Agency id.
    pub agency: String,
    /// CPU seconds (user + system) during the load window.
    pub cpu_seconds: f64,
    /// CPU µs per committed transaction.
    pub cpu_us_per_tx: f64,
    /// CPU seconds from the start of the load to the end of the drain.
    pub cpu_seconds_run: f64,
    /// CPU µs per committed transaction over the whole run (load and drain, every
    /// committed transaction): the repeatable figure on a busy machine, where the window's
    /// commits undercount.
    pub cpu_us_per_tx_run: f64,
    /// Peak resident set size, MiB.
    pub peak_rss_mib: f64,
    /// Bytes its data directory occupies at the end of the run (issue 22 item 6).
    pub disk_bytes: u64,
    /// Of which its sled store.
    pub store_bytes: u64,
    /// `disk_bytes` per committed transaction, KiB.
    pub disk_kib_per_tx: f64,
}

/// One second of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Second {
    /// Seconds since the load started.
    pub t: u64,
    /// Transactions whose commit was observed in this second.
    pub committed: u64,
    /// Median latency of those, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of those, ms.
    pub p99_ms: f64,
}

/// The result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Offered load, tx/s.
    pub rate_offered: u64,
    /// Load window, s.
    pub seconds: u64,
    /// Transactions handed to nodes.
    pub submitted: u64,
    /// Refused at admission (by reason).
    pub not_admitted: BTreeMap<String, u64>,
    /// Committed within the load window.
    pub committed_in_window: u64,
    /// Committed by the end of the drain.
    pub committed_total: u64,
    /// Committed transactions over the time from the first submission to the last commit
    /// (at least the window).
    pub final_tps: f64,
    /// `final_tps / ceiling_tps`.
    pub fraction_of_ceiling: f64,
    /// Submit-to-commit latency percentiles, ms.
    pub latency_ms: BTreeMap<String, f64>,
    /// Blocks per second in the window.
    pub blocks_per_s: f64,
    /// Resource use per node.
    pub nodes: Vec<NodeUse>,
    /// Per-second timeline.
    pub timeline: Vec<Second>,
}

/// Everything `bench.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The ceiling.
    pub ceiling: Ceiling,
    /// One entry per offered rate.
    pub runs: Vec<RunResult>,
    /// The highest rate whose final throughput kept up (≥ 90 % of offered) with p99 ≤ 1 s.
    pub knee_tps: Option<u64>,
}

/// Measures single and batch ed25519 verification under the ledger's acceptance rule
/// (`safeledger_core::keys`: `PublicKey::verify` and `verify_batch` of 64) on this machine
/// (about 2 s).
pub fn measure_ceiling(validators: usize) -> Ceiling {
    use safeledger_core::keys::{verify_batch, SignedMessage};
    let mut rng = rand::rngs::OsRng;
    let keys: Vec<SecretKey> = (0..64).map(|_| SecretKey::generate(&mut rng)).collect();
    let msgs: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 96]).collect();
    let sigs: Vec<safeledger_core::Signature> =
        keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let pks: Vec<safeledger_core::PublicKey> = keys.iter().map(|k| k.public()).collect();
    let items: Vec<SignedMessage<'_>> = (0..64)
        .map(|i| SignedMessage {
            key: &pks[i],
            message: &msgs[i],
            signature: &sigs[i],
        })
        .collect();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(800) {
        for i in 0..64 {
            let _ = pks[i].verify(&msgs[i], &sigs[i]);
        }
        n += 64;
    }
    let single_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    let mut n = 0u64;
    let mut trng = rand::thread_rng();
    while t.elapsed() < Duration::from_millis(800) {
        let _ = verify_batch(&items, &mut trng);
        n += 64;
    }
    let batch_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Ceiling {
        cores,
        single_us,
        batch_us,
        validators,
        ceiling_tps: cores as f64 * 1e6 / (validators as f64 * batch_us),
    }
}

/// CPU seconds (utime + stime) of a process, from `/proc/<pid>/stat` (clock ticks of
/// 1/100 s, the Linux `USER_HZ`).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak RSS of a process in MiB (`VmHWM` of `/proc/<pid>/status`).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `n` import items: the plan's, cycled.
fn cycled(items: &[ImportItem], n: usize) -> Vec<ImportItem> {
    items.iter().cycle().take(n).cloned().collect()
}

/// Runs the benchmark; prints a summary and writes `bench.json` and the plots.
pub async fn run(opts: BenchOptions) -> anyhow::Result<BenchReport> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    println!("measuring this machine's ed25519 verification ceiling ...");
    let ceiling = tokio::task::spawn_blocking(|| measure_ceiling(4)).await?;
    println!(
        "ceiling: {} cores, {:.1} µs/signature single, {:.1} µs batched → {:.0} tx/s for 4 validators",
        ceiling.cores, ceiling.single_us, ceiling.batch_us, ceiling.ceiling_tps
    );
    let data = opts.data.clone();
    let limit = opts.limit.unwrap_or(usize::MAX);
    let plan = tokio::task::spawn_blocking(move || plan_import_limited(&data, limit)).await??;
    if plan.items.is_empty() {
        bail!("no records in {}", opts.data.display());
    }
    let rates = if opts.sweep.is_empty() {
        vec![opts.rate]
    } else {
        opts.sweep.clone()
    };
    let mut runs = Vec::new();
    for rate in rates {
        let r = run_once(&opts, rate, &plan.items, &ceiling).await?;
        print_run(&r);
        plot(&opts.out.join(format!("bench-{rate}.png")), &r)?;
        runs.push(r);
    }
    let knee_tps = runs
        .iter()
        .filter(|r| {
            r.final_tps >= 0.9 * r.rate_offered as f64
                && r.latency_ms.get("p99").is_some_and(|p| *p <= 1_000.0)
        })
        .map(|r| r.rate_offered)
        .max();
    let report = BenchReport {
        ceiling,
        runs,
        knee_tps,
    };
    let path = opts.out.join("bench.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    if report.runs.len() > 1 {
        match knee_tps {
            Some(k) => println!(
                "latency bends above {k} tx/s offered (the highest rate kept up with p99 ≤ 1 s)"
            ),
            None => println!("no rate kept up with p99 ≤ 1 s"),
        }
    }
    println!("results: {}", path.display());
    Ok(report)
}
/// Commit observations: tx id → submit instant, and the (commit instant, latency) pairs.
#[derive(Default)]
struct Book {
    submitted: HashMap<TxId, Instant>,
    commits: Vec<(Instant, f64)>,
}

async fn run_once(
    opts: &BenchOptions,
    rate: u64,
    items: &[ImportItem],
    ceiling: &Ceiling,
) -> anyhow::Result<RunResult> {
    let tmp = tempfile::Builder::new()
        .prefix("safeledger-bench-")
        .tempdir()?;
    let home = home::init(tmp.path(), home::DEFAULT_CHAIN_ID)?;
    let sup = Supervisor::start(&home)?;
    let endpoints = home.endpoints();
    let signer = home.default_signer(false)?;
    let result = async {
        wait_ready(&endpoints, Duration::from_secs(30)).await?;
        let n = (rate * opts.seconds) as usize;
        println!(
            "\nsigning {n} transactions for {rate} tx/s over {} s ...",
            opts.seconds
        );
        let work = cycled(items, n);
        let h2 = home.clone();
        let (txs, _) =
            tokio::task::spawn_blocking(move || sign_items(&h2, &work, &BTreeMap::new())).await??;
        let signer_lane: BTreeMap<safeledger_core::PublicKey, usize> = home
            .genesis
            .agencies
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.officer_keys.iter().map(move |k| (*k, i)))
            .collect();
        let book = Arc::new(Mutex::new(Book::default()));
        let not_admitted: Arc<Mutex<BTreeMap<String, u64>>> = Default::default();
        // One ordered lane per agency node.
        let mut lanes = Vec::new();
        let mut lane_tasks = Vec::new();
        for e in &endpoints {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<Transaction>>();
            lanes.push(tx);
            let mut client = LedgerClient::new(vec![e.clone()]).signed_by(signer.clone());
            let na = not_admitted.clone();
            lane_tasks.push(tokio::spawn(async move {
                while let Some(mut batch) = rx.recv().await {
                    // Whatever queued while the last call was in flight goes in this one
                    // (up to the batch limit): one call in flight per lane, no backlog.
                    while batch.len() < safeledger_core::limits::MAX_BATCH_TXS {
                        match rx.try_recv() {
                            Ok(more) => batch.extend(more),
                            Err(_) => break,
                        }
                    }
                    for chunk in batch.chunks(safeledger_core::limits::MAX_BATCH_TXS) {
                        match client.submit(chunk).await {
                            Ok(adm) => {
                                for a in adm.iter().filter(|a| !a.error.is_empty()) {
                                    if let Ok(mut m) = na.lock() {
                                        let key: String = a.error.chars().take(60).collect();
                                        *m.entry(key).or_default() += 1;
                                    }
                                }
                            }
                            Err(e) => {
                                if let Ok(mut m) = na.lock() {
                                    *m.entry(format!("batch failed: {e}")).or_default() +=
                                        chunk.len() as u64;
                                }
                            }
                        }
                    }
                }
            }));
        }
        // The watcher follows node 0's blocks.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watch = {
            let book = book.clone();
            let stop = stop.clone();
            let mut client =
                LedgerClient::new(vec![endpoints[0].clone()]).signed_by(signer.clone());
            tokio::spawn(async move {
                let mut seen = client.status().await.map(|s| s.height).unwrap_or(0);
                let mut blocks: Vec<(Instant, u64)> = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let h = client.status().await.map(|s| s.height).unwrap_or(seen);
                    while seen < h {
                        seen += 1;
                        let Ok((b, _, _)) = client.block(seen).await else {
                            seen -= 1;
                            break;
                        };
                        let now = Instant::now();
                        blocks.push((now, seen));
                        if let Ok(mut bk) = book.lock() {
                            for tx in &b.txs {
                                if let Some(t0) = bk.submitted.get(&tx.id()).copied() {
                                    let ms = now.duration_since(t0).as_secs_f64() * 1e3;
                                    bk.commits.push((now, ms));
                                }
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                blocks
            })
        };
        let pids = sup.pids();
        let cpu0: BTreeMap<String, f64> = pids
            .iter()
            .filter_map(|(a, p)| cpu_seconds(*p).map(|c| (a.clone(), c)))
            .collect();
        // Open-loop load.
        let per_tick = ((rate * opts.batch_ms) as f64 / 1_000.0).max(1.0);
        let start = Instant::now();
        let mut next = 0usize;
        let mut owed = 0.0f64;
        let mut tick = tokio::time::interval(Duration::from_millis(opts.batch_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        while next < txs.len() {
            tick.tick().await;
            owed += per_tick;
            let k = (owed.floor() as usize).min(txs.len() - next);
            owed -= k as f64;
            let now = Instant::now();
            let mut parts: Vec<Vec<Transaction>> = vec![Vec::new(); lanes.len()];
            if let Ok(mut bk) = book.lock() {
                for tx in &txs[next..next + k] {
                    bk.submitted.insert(tx.id(), now);
                    let lane = tx
                        .submitter()
                        .and_then(|s| signer_lane.get(s))
                        .copied()
                        .unwrap_or(0);
                    parts[lane].push(tx.clone());
                }
            }
            next += k;
            for (lane, part) in lanes.iter().zip(parts) {
                if !part.is_empty() {
                    let _ = lane.send(part);
                }
            }
        }
        let window = start.elapsed();
        let window_end = Instant::now();
        let cpu1: BTreeMap<String, f64> = pids
            .iter()
            .filter_map(|(a, p)| cpu_seconds(*p).map(|c| (a.clone(), c)))
            .collect();
        // Drain: up to 20 s for the rest to commit.
        let drain_until = Instant::now() + Duration::from_secs(20);
        loop {
            let done = book.lock().map(|b| b.commits.len()).unwrap_or(0);
            if done >= txs.len() || Instant::now() > drain_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(lanes);
        for t in lane_tasks {
            let _ = t.await;
        }
        let cpu2: BTreeMap<String, f64> = pids
            .iter()
            .filter_map(|(a, p)| cpu_seconds(*p).map(|c| (a.clone(), c)))
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let blocks = watch.await.unwrap_or_default();
        let bk = book.lock().map_err(|_| anyhow::anyhow!("book poisoned"))?;
        let in_window: Vec<f64> = bk
            .commits
            .iter()
            .filter(|(t, _)| *t <= window_end)
            .map(|(_, ms)| *ms)
            .collect();
        let mut all: Vec<f64> = bk.commits.iter().map(|(_, ms)| *ms).collect();
        all.sort_by(|a, b| a.total_cmp(b));
        let secs = window.as_secs_f64().max(0.001);
        let committed_in_window = in_window.len() as u64;
        // Sustained rate: everything committed, over the time from the first submission to
        // the last commit (a window shorter than the latency would undercount).
        let last_commit = bk
            .commits
            .iter()
            .map(|(t, _)| *t)
            .max()
            .unwrap_or(window_end);
        let span = last_commit.duration_since(start).as_secs_f64().max(secs);
        let final_tps = bk.commits.len() as f64 / span;
        let mut latency_ms = BTreeMap::new();
        for (name, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            latency_ms.insert(name.to_string(), percentile(&all, p));
        }
        let blocks_in_window = blocks
            .iter()
            .filter(|(t, _)| *t >= start && *t <= window_end)
            .count();
        let mut timeline: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for (t, ms) in &bk.commits {
            timeline
                .entry(t.duration_since(start).as_secs())
                .or_default()
                .push(*ms);
        }
        let last_second = timeline.keys().next_back().copied().unwrap_or(0);
        for t in 0..=last_second {
            timeline.entry(t).or_default();
        }
        let timeline = timeline
            .into_iter()
            .map(|(t, mut v)| {
                v.sort_by(|a, b| a.total_cmp(b));
                Second {
                    t,
                    committed: v.len() as u64,
                    p50_ms: percentile(&v, 0.5),
                    p99_ms: percentile(&v, 0.99),
                }
            })
            .collect();
        let disk = crate::cli::disk::per_node(&home);
        let committed_total = bk.commits.len() as u64;
        let nodes = pids
            .iter()
            .map(|(a, p)| {
                let d = disk
                    .iter()
                    .find(|d| &d.agency == a)
                    .cloned()
                    .unwrap_or_default();
                let c0 = cpu0.get(a).copied().unwrap_or(0.0);
                let cpu = cpu1.get(a).copied().unwrap_or(0.0) - c0;
                let run = cpu2.get(a).copied().unwrap_or(0.0) - c0;
                NodeUse {
                    agency: a.clone(),
                    cpu_seconds: cpu,
                    cpu_us_per_tx: cpu * 1e6 / (committed_in_window.max(1) as f64),
                    cpu_seconds_run: run,
                    cpu_us_per_tx_run: run * 1e6 / (bk.commits.len().max(1) as f64),
                    peak_rss_mib: peak_rss_mib(*p).unwrap_or(0.0),
                    disk_bytes: d.total,
                    store_bytes: d.store,
                    disk_kib_per_tx: d.total as f64 / 1024.0 / committed_total.max(1) as f64,
                }
            })
            .collect();
        let not_admitted = not_admitted.lock().map(|m| m.clone()).unwrap_or_default();
        Ok(RunResult {
            rate_offered: rate,
            seconds: opts.seconds,
            submitted: txs.len() as u64,
            not_admitted,
            committed_in_window,
            committed_total,
            final_tps,
            fraction_of_ceiling: final_tps / ceiling.ceiling_tps.max(1.0),
            latency_ms,
            blocks_per_s: blocks_in_window as f64 / secs,
            nodes,
            timeline,
        })
    }
    .await;
    sup.stop().await;
    result
}
