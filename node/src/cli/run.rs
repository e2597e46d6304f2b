//! Dispatch of a parsed command line to the command's handler.

use crate::cli::args::{Cli, Cmd, SimArgs};
use crate::cli::{assistance, audit, bench, demo, exit, records, setup, verbs};
use anyhow::bail;
use std::path::Path;

/// Runs the command `cli` names.
///
/// # Errors
/// The command's failure, with its context; the binary prints it and exits 1.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Init {
            dir,
            chain_id,
            hosts,
            p2p_port,
            grpc_port,
        } => setup::init(dir, chain_id, hosts, p2p_port, grpc_port),
        Cmd::Keys { cmd } => setup::keys(cmd),
        Cmd::Genesis { cmd } => setup::genesis(cmd),
        Cmd::Node { cmd } => setup::node(cmd).await,
        Cmd::Status(t) => records::status(t).await,
        Cmd::Tx { cmd } => records::tx(cmd).await,
        Cmd::Enterprise { cmd } => records::enterprise(cmd).await,
        Cmd::Search {
            text,
            limit,
            offset,
            target,
        } => crate::cli::search::search(text, limit, offset, target).await,
        Cmd::Plan {
            agency,
            month,
            limit,
            target,
        } => crate::cli::plan::run(agency, month, limit, target).await,
        Cmd::Inbox {
            agency,
            cursor,
            limit,
            expiring_days,
            mine,
            kinds,
            target,
        } => {
            crate::cli::inbox::run(
                agency,
                cursor,
                (limit, expiring_days),
                (mine, kinds),
                target,
            )
            .await
        }
        Cmd::List {
            list,
            value,
            days,
            cursor,
            limit,
            target,
        } => {
            crate::cli::search::list(
                safeledger_client::proto::ListEnterprisesRequest {
                    list,
                    value: value.unwrap_or_default(),
                    days,
                    cursor,
                    limit,
                },
                target,
            )
            .await
        }
        Cmd::Query {
            kind,
            subject,
            cursor,
            agency,
            enterprise,
            limit,
            target,
        } => {
            if kind == "officer" {
                let Some(officer) = subject else {
                    return Err(exit::usage(
                        "query officer needs the officer: a key or a name",
                    ));
                };
                records::officer(&officer, &cursor, limit, target).await
            } else if subject.is_some() {
                Err(exit::usage(format!(
                    "query {kind} takes no positional argument"
                )))
            } else {
                records::query(kind, agency, enterprise, limit, target).await
            }
        }
        Cmd::Officer { cmd } => verbs::officer(cmd).await,
        Cmd::Licence { cmd } => verbs::licence(cmd).await,
        Cmd::Decision { cmd } => verbs::decision(cmd).await,
        Cmd::Inspection { cmd } => verbs::inspection(cmd).await,
        Cmd::Rectification { cmd } => verbs::rectification(cmd).await,
        Cmd::Penalty { cmd } => verbs::penalty(cmd).await,
        Cmd::Blacklist { cmd } => verbs::blacklist(cmd).await,
        Cmd::Accident { cmd } => verbs::accident(cmd).await,
        Cmd::Correction { cmd } => verbs::correction(cmd).await,
        Cmd::Draw { cmd } => verbs::draw(cmd).await,
        Cmd::Console(args) => crate::console::run(args).await,
        Cmd::Monitor { cmd } => crate::cli::alerts::monitor(cmd).await,
        Cmd::Alerts { cmd } => crate::cli::alerts::alerts(cmd).await,
        Cmd::Tip { cmd } => crate::cli::tips::tip(cmd).await,
        Cmd::Evidence { cmd } => crate::cli::tips::evidence(cmd).await,
        Cmd::Governance { cmd } => verbs::governance(cmd).await,
        Cmd::Access { cmd } => verbs::access(cmd).await,
        Cmd::Assistance { cmd } => assistance::run(cmd).await,
        Cmd::Private { cmd } => records::private(cmd).await,
        Cmd::Block { cmd } => records::block(cmd).await,
        Cmd::Import {
            home,
            data,
            limit,
            rejects,
        } => {
            crate::cli::import::run(crate::cli::import::ImportArgs {
                home,
                data,
                limit,
                rejects,
            })
            .await
        }
        Cmd::Audit { cmd } => audit::run(cmd).await,
        Cmd::Demo {
            dir,
            data,
            limit,
            keep_running,
        } => {
            data_folder(&data)?;
            demo::run(demo::DemoOptions {
                dir,
                data,
                limit,
                keep_running,
            })
            .await
        }
        Cmd::Bench {
            rate,
            sweep,
            seconds,
            batch_ms,
            data,
            limit,
            out,
        } => {
            data_folder(&data)?;
            if rate == 0 || seconds == 0 || batch_ms == 0 || sweep.contains(&0) {
                bail!("--rate, --sweep rates, --seconds and --batch-ms must be positive");
            }
            bench::run(bench::BenchOptions {
                rate,
                sweep,
                seconds,
                batch_ms,
                data,
                limit,
                out,
            })
            .await
            .map(|_| ())
        }
        Cmd::Sim(a) => sim(a),
    }
}

/// Refuses a data folder that does not exist, saying where to run from.
fn data_folder(data: &Path) -> anyhow::Result<()> {
    if !data.is_dir() {
        bail!(
            "data folder {} not found: run from the repository root or pass --data",
            data.display()
        );
    }
    Ok(())
}

/// `safeledger sim`: runs the seeds — the consensus scenario of each, and the machine
/// scenario of every `--machine-every`-th — printing each failure with its replay command
/// and the share of machine seeds that hit each feature.
fn sim(a: SimArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (mut failed, mut heights, mut sim_ms) = (0u64, 0u64, 0u64);
    let (mut machine_runs, mut hit) = (0u64, std::collections::BTreeMap::new());
    let v = a.validators.map(|n| format!(" --validators {n}"));
    // Seeds from --start-seed on, as many as asked (up to u64::MAX, inclusive).
    let seeds: Vec<u64> = (0..a.seeds)
        .map_while(|k| a.start_seed.checked_add(k))
        .collect();
    for (k, &seed) in seeds.iter().enumerate() {
        let r = match a.validators {
            Some(n) => crate::sim::run_seed_with(seed, n.into()),
            None => crate::sim::run_seed(seed),
        };
        match r {
            Ok(r) => (heights, sim_ms) = (heights + r.heights, sim_ms + r.sim_ms),
            Err(f) => {
                failed += 1;
                println!("{f}");
                println!(
                    "  replay: safeledger sim --seeds 1 --start-seed {seed}{}",
                    v.clone().unwrap_or_default()
                );
            }
        }
        // The machine scenario of every N-th seed of this run, from its first.
        if a.machine_every == 0 || !(k as u64).is_multiple_of(a.machine_every) {
            continue;
        }
        machine_runs += 1;
        match crate::sim::machine::run_machine_seed(seed) {
            Ok(r) => {
                sim_ms += r.sim_ms;
                for f in r.hits.features() {
                    *hit.entry(f).or_insert(0u64) += 1;
                }
            }
            Err(f) => {
                failed += 1;
                println!("{f}");
                println!("  replay: safeledger sim --seeds 1 --start-seed {seed}");
            }
        }
    }
    let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    println!(
        "{} ({machine_runs} with the machine scenario), {failed} failed: {heights} \
         heights decided, {} s simulated, in {:.1} s",
        plural(seeds.len() as u64, "seed"),
        sim_ms / 1_000,
        started.elapsed().as_secs_f64()
    );
    for (f, k) in &hit {
        println!(
            "  {f}: {k} of {machine_runs} machine seeds ({:.0} %)",
            100.0 * *k as f64 / machine_runs.max(1) as f64
        );
    }
    if failed > 0 {
        bail!("{failed} seeds violated a property");
    }
    Ok(())
}
