//! `safeledger`: run a node, the demo, and the officer commands.
//!
//! Commands reach a node with `--node <URL>` or, with `--home <DIR>`, any node of the
//! network directory that `init` or `demo --dir` created (failing over between them).

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use safeledger_client::import::plan_import_limited;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::{Hash, Outcome, Timestamp, Transaction, TxBody, TxPayload};
use safeledger_node::cli::{demo, home, submit};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "safeledger",
    version,
    about = "A BFT ledger for workplace-safety regulators"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

#[derive(Args, Clone)]
struct Target {
    /// A node's gRPC URL, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    node: Option<String>,
    /// A network directory (from `init` or `demo --dir`): any of its nodes.
    #[arg(long)]
    home: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
}

impl Target {
    fn client(&self) -> anyhow::Result<LedgerClient> {
        if let Some(n) = &self.node {
            return Ok(LedgerClient::new(vec![n.clone()]));
        }
        if let Some(h) = &self.home {
            return Ok(LedgerClient::new(home::Home::load(h)?.endpoints()));
        }
        bail!("say which node to ask: --node <URL> or --home <DIR>")
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a four-agency network directory on loopback (keys, genesis).
    Init {
        /// Directory to create.
        #[arg(long)]
        dir: PathBuf,
        /// Chain id.
        #[arg(long, default_value = home::DEFAULT_CHAIN_ID)]
        chain_id: String,
    },
    /// Run a node.
    Node {
        #[command(subcommand)]
        cmd: NodeCmd,
    },
    /// A node's status.
    Status(Target),
    /// Transactions.
    Tx {
        #[command(subcommand)]
        cmd: TxCmd,
    },
    /// Enterprises.
    Enterprise {
        #[command(subcommand)]
        cmd: EnterpriseCmd,
    },
    /// Blocks.
    Block {
        #[command(subcommand)]
        cmd: BlockCmd,
    },
    /// Import the public records of a data folder into a running network.
    Import {
        /// The network directory (its officer keys sign the records).
        #[arg(long)]
        home: PathBuf,
        /// The data folder.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// At most this many rows of each file.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// The main job: a four-agency network on loopback importing all of data/.
    Demo {
        /// Network directory to create (a fresh temporary directory by default).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The data folder.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// At most this many rows of each file (all by default).
        #[arg(long)]
        limit: Option<usize>,
        /// Leave the network running after the summary (until Ctrl-C).
        #[arg(long)]
        keep_running: bool,
    },
}

#[derive(Subcommand)]
enum NodeCmd {
    /// Start the node of one agency of a network directory.
    Start {
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// The agency whose node this is.
        #[arg(long)]
        agency: String,
    },
}

#[derive(Subcommand)]
enum TxCmd {
    /// Sign a record as an agency's officer, submit it and wait until it is committed.
    Submit {
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// The submitting agency (its officer key signs).
        #[arg(long)]
        agency: String,
        /// A JSON file with the record, e.g. {"penalty": {...}} (see core/src/records.rs).
        #[arg(long)]
        file: PathBuf,
        /// When the act happened (YYYY-MM-DD; today by default).
        #[arg(long)]
        effective_at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// A committed transaction with its result.
    Show {
        /// Transaction id (hex).
        id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum EnterpriseCmd {
    /// An enterprise's state and timeline.
    Show {
        /// Enterprise id, e.g. us-chi-bacp:1234.
        id: String,
        /// Most timeline entries.
        #[arg(long, default_value_t = 20)]
        timeline: u32,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum BlockCmd {
    /// A block with its certificate and results (latest by default).
    Show {
        /// Height (latest when omitted).
        height: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn parse_date(s: &str) -> anyhow::Result<Timestamp> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() == 3 {
        if let (Ok(y), Ok(m), Ok(d)) = (parts[0].parse(), parts[1].parse(), parts[2].parse()) {
            if let Some(t) = Timestamp::from_ymd(y, m, d) {
                return Ok(t);
            }
        }
    }
    bail!("{s:?} is not a date YYYY-MM-DD")
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Accepted => "accepted".into(),
        Outcome::Refused { rule, reason } => format!("refused by {rule}: {reason}"),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p_gossipsub=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Init { dir, chain_id } => {
            let h = home::init(&dir, &chain_id)?;
            println!(
                "created network {} in {}",
                h.genesis.chain_id,
                dir.display()
            );
            for a in &h.genesis.agencies {
                println!("  {:<14} grpc {}  p2p {}", a.id, a.grpc_addr, a.p2p_addr);
            }
            println!(
                "start each node with: safeledger node start --home {} --agency <id>",
                dir.display()
            );
        }
        Cmd::Node {
            cmd: NodeCmd::Start { home, agency },
        } => {
            init_tracing();
            let h = home::Home::load(&home)?;
            let a = h
                .genesis
                .agency(&agency)
                .with_context(|| format!("agency {agency} is not in the genesis"))?
                .clone();
            let grpc: std::net::SocketAddr = a
                .grpc_addr
                .trim_start_matches("http://")
                .parse()
                .with_context(|| format!("grpc_addr {} is not host:port", a.grpc_addr))?;
            let config = safeledger_node::node::NodeConfig {
                genesis: h.genesis.clone(),
                agency: agency.clone(),
                node_key: h.node_key(&agency)?,
                data_dir: h.agency_dir(&agency).join("data"),
                p2p_listen: a.p2p_addr.clone(),
                grpc_listen: grpc,
            };
            let mut node = safeledger_node::node::start(config).await?;
            tokio::select! {
                r = node.wait() => r?,
                _ = tokio::signal::ctrl_c() => {
                    tracing::info!("stopping");
                    node.stop().await?;
                }
            }
        }
        Cmd::Status(t) => {
            let s = t.client()?.status().await?;
            if t.output == Output::Json {
                print_json(&s)?;
            } else {
                println!(
                    "{} ({}) chain {} height {} round {} block {} state {} mempool {} peers {} committed txs {}",
                    s.endpoint, s.agency, s.chain_id, s.height, s.round,
                    s.last_block_hash.short(), s.state_root.short(), s.mempool_txs, s.peers, s.committed_txs
                );
            }
        }
        Cmd::Tx {
            cmd:
                TxCmd::Submit {
                    home,
                    agency,
                    file,
                    effective_at,
                    output,
                },
        } => {
            let h = home::Home::load(&home)?;
            let key = h.officer_key(&agency)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let body: TxBody = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a record", file.display()))?;
            let eff = match effective_at {
                Some(s) => parse_date(&s)?,
                None => Timestamp(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)?
                        .as_millis() as u64,
                ),
            };
            let mut c = LedgerClient::new(h.endpoints());
            let seq = c.sequence(&key.public()).await? + 1;
            let payload =
                TxPayload::new(&h.genesis.chain_id, seq, eff, body, &mut rand::rngs::OsRng);
            let tx = Transaction::sign(payload, &[&key]);
            let id = tx.id();
            let admissions = c.submit(std::slice::from_ref(&tx)).await?;
            if let Some(a) = admissions.first() {
                if !a.admitted && !a.already_committed {
                    bail!("the node refused the transaction: {}", a.error);
                }
            }
            let r = c
                .submit_and_wait(&[tx], std::time::Duration::from_secs(60))
                .await?;
            let Some(r) = r.first() else {
                bail!("no result")
            };
            if output == Output::Json {
                print_json(
                    &serde_json::json!({"tx_id": id, "height": r.height, "index": r.index, "result": r.result}),
                )?;
            } else {
                println!(
                    "{id} committed at height {} index {}: {}",
                    r.height,
                    r.index,
                    outcome_text(&r.result.outcome)
                );
            }
        }
        Cmd::Tx {
            cmd: TxCmd::Show { id, target },
        } => {
            let id = Hash::from_hex(&id)?;
            let (tx, h, i, r) = target.client()?.transaction(id).await?;
            if target.output == Output::Json {
                print_json(
                    &serde_json::json!({"tx_id": id, "height": h, "index": i, "tx": tx, "result": r}),
                )?;
            } else {
                println!("{id} at height {h} index {i}: {}", outcome_text(&r.outcome));
                println!("{}", serde_json::to_string_pretty(&tx.payload.body)?);
            }
        }
        Cmd::Enterprise {
            cmd:
                EnterpriseCmd::Show {
                    id,
                    timeline,
                    target,
                },
        } => {
            let v = target.client()?.enterprise(&id, timeline).await?;
            print_json(&v)?;
        }
        Cmd::Block {
            cmd: BlockCmd::Show { height, target },
        } => {
            let (b, cert, results) = target.client()?.block(height.unwrap_or(0)).await?;
            if target.output == Output::Json {
                print_json(
                    &serde_json::json!({"hash": b.hash(), "block": b, "certificate": cert, "results": results}),
                )?;
            } else {
                let hd = &b.header;
                println!("block {} hash {}", hd.height, b.hash());
                println!(
                    "  time {} proposer {}",
                    hd.time.0,
                    &hd.proposer.to_hex()[..16]
                );
                println!("  txs {} tx_root {}", hd.tx_count, hd.tx_root);
                println!(
                    "  ledger_size {} ledger_root {}",
                    hd.ledger_size, hd.ledger_root
                );
                println!(
                    "  state_root {} results_root {} (of block {})",
                    hd.state_root,
                    hd.results_root,
                    hd.height.saturating_sub(1)
                );
                println!(
                    "  certificate: round {} with {} precommits",
                    cert.round,
                    cert.signatures.len()
                );
                let refused = results
                    .iter()
                    .filter(|r| r.outcome != Outcome::Accepted)
                    .count();
                println!(
                    "  results: {} accepted, {refused} refused",
                    results.len() - refused
                );
            }
        }
        Cmd::Import { home, data, limit } => {
            let h = home::Home::load(&home)?;
            let plan = plan_import_limited(&data, limit.unwrap_or(usize::MAX))?;
            let mut first = BTreeMap::new();
            let mut c = LedgerClient::new(h.endpoints());
            for a in &h.genesis.agencies {
                let k = h.officer_key(&a.id)?;
                first.insert(a.id.clone(), c.sequence(&k.public()).await? + 1);
            }
            let (txs, resign) = demo::sign_items(&h, &plan.items, &first)?;
            let report = submit::submit_all(h.endpoints(), txs, true, Some(resign)).await?;
            let accepted = report
                .committed
                .values()
                .filter(|c| c.result.outcome == Outcome::Accepted)
                .count();
            println!(
                "rows read {}, committed {} (accepted {accepted}, refused {}), rejected rows {}",
                plan.rows_read,
                report.committed.len(),
                report.committed.len() - accepted,
                plan.rejected.len()
            );
        }
        Cmd::Demo {
            dir,
            data,
            limit,
            keep_running,
        } => {
            if !data.is_dir() {
                bail!(
                    "data folder {} not found: run from the repository root or pass --data",
                    data.display()
                );
            }
            demo::run(demo::DemoOptions {
                dir,
                data,
                limit,
                keep_running,
            })
            .await?;
        }
    }
    Ok(())
}
