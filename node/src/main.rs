//! `safeledger`: run a node, the demo, and the officer commands.
//!
//! Commands reach a node with `--node <URL>` or, with `--home <DIR>`, any node of the
//! network directory that `init` or `demo --dir` created (failing over between them).

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use safeledger_client::import::plan_import_limited;
use safeledger_client::rpc::{Committed, LedgerClient};
use safeledger_core::{Hash, Outcome, Timestamp, TxBody};
use safeledger_node::cli::{assistance, bench, ceremony, demo, home, private, submit};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// mimalloc instead of the system allocator: a node allocates and frees many small
/// buffers per transaction (decoding, encoding, state values), which glibc malloc served
/// with a quarter of a node's CPU time (issue 7 profile). It builds from source (C, `cc`)
/// and links into the static binary of `docker/build-image.sh`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Sign requests as this agency's officer or this auditor, by id (with --home; by
    /// default the first agency whose officer key the directory holds; an auditor for
    /// `audit` commands).
    #[arg(long = "as", value_name = "AGENCY|AUDITOR")]
    identity: Option<String>,
    /// Sign requests with this key file (an officer's or auditor's seed, 64 hex digits)
    /// instead; the chain id is the genesis's with --home, else the node's.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The TLS certificate (PEM) to trust for the --node URL, when no --home pins it.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
}

impl Target {
    /// The endpoints to ask, in order, and the genesis when --home names it.
    fn endpoints(&self) -> anyhow::Result<(Vec<String>, Option<home::Home>)> {
        if let (Some(n), Some(cert)) = (&self.node, &self.tls_cert) {
            let pem = std::fs::read_to_string(cert)
                .with_context(|| format!("reading {}", cert.display()))?;
            safeledger_client::tls::pin(n, &pem);
        }
        match (&self.node, &self.home) {
            (Some(n), h) => Ok((
                vec![n.clone()],
                h.as_deref().map(home::Home::load).transpose()?,
            )),
            (None, Some(h)) => {
                let h = home::Home::load(h)?;
                Ok((h.endpoints(), Some(h)))
            }
            (None, None) => bail!("say which node to ask: --node <URL> or --home <DIR>"),
        }
    }

    /// The identity requests are signed with (see [`Target::identity`]); `auditor`: prefer
    /// an auditor's key when none is named. `None`: public requests only.
    async fn signer(
        &self,
        endpoints: &[String],
        home: Option<&home::Home>,
        auditor: bool,
    ) -> anyhow::Result<Option<safeledger_client::auth::Signer>> {
        use safeledger_client::auth::Signer;
        if let Some(path) = &self.key {
            let key = home::read_key(path)?;
            let chain_id = match home {
                Some(h) => h.genesis.chain_id.clone(),
                None => {
                    LedgerClient::new(endpoints.to_vec())
                        .status()
                        .await?
                        .chain_id
                }
            };
            return Ok(Some(Signer::new(key, chain_id)));
        }
        match (home, &self.identity) {
            (Some(h), Some(name)) => Ok(Some(h.signer(name)?)),
            (Some(h), None) => Ok(h.default_signer(auditor).ok()),
            (None, Some(_)) => bail!("--as needs --home (the directory holding the keys)"),
            (None, None) => Ok(None),
        }
    }

    /// A client over the target's nodes, signing as the target's identity.
    async fn client(&self) -> anyhow::Result<LedgerClient> {
        let (eps, home) = self.endpoints()?;
        let signer = self.signer(&eps, home.as_ref(), false).await?;
        let c = LedgerClient::new(eps);
        Ok(match signer {
            Some(s) => c.signed_by(s),
            None => c,
        })
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
        /// Fixed IP addresses of the four nodes, comma-separated (containers); by default
        /// 127.0.0.1 with free ports.
        #[arg(long, value_delimiter = ',')]
        hosts: Option<Vec<String>>,
        /// p2p port on each host (with --hosts).
        #[arg(long, default_value_t = 26656)]
        p2p_port: u16,
        /// gRPC port on each host (with --hosts).
        #[arg(long, default_value_t = 50051)]
        grpc_port: u16,
    },
    /// Key ceremony, step 1: an agency generates its own node and officer keys.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Key ceremony, step 2: a genesis assembled from the agencies' public keys only.
    Genesis {
        #[command(subcommand)]
        cmd: GenesisCmd,
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
    /// Rule-contract queries: assistance_open / assistance_overdue / inbox (--agency),
    /// decisions / timeline / assessment (--enterprise); evidence (recorded double-signs);
    /// validators (the sets of the next two heights and changes passed lately); access_log
    /// (private-field access requests and their answers); read_log (declared reads of
    /// private fields).
    Query {
        /// What to ask.
        #[arg(value_parser = ["assistance_open", "assistance_overdue", "inbox", "decisions", "timeline", "assessment", "evidence", "validators", "access_log", "read_log"])]
        kind: String,
        /// The agency (assistance and inbox queries).
        #[arg(long, default_value = "")]
        agency: String,
        /// The enterprise id (decisions, timeline, assessment).
        #[arg(long, default_value = "")]
        enterprise: String,
        /// Most entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        target: Target,
    },
    /// Assistance requests between agencies (R7): request, respond, list open/overdue.
    Assistance {
        #[command(subcommand)]
        cmd: AssistanceCmd,
    },
    /// Private field values held at an agency's node: erase.
    Private {
        #[command(subcommand)]
        cmd: PrivateCmd,
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
    /// Auditors: desensitized views, offline verification, checkpoints, consistency.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
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
    /// Run the deterministic consensus simulation (many seeds); exits non-zero on any
    /// violated property, printing SEED=<n> for each.
    Sim(SimArgs),
    /// Measure final throughput and latency of a four-validator network on loopback under
    /// open-loop load of pre-signed real records, against this machine's ed25519
    /// verification ceiling; writes <out>/bench.json and a plot per rate.
    Bench {
        /// Offered load, transactions per second.
        #[arg(long, default_value_t = 5_000)]
        rate: u64,
        /// Several offered loads, comma-separated (one fresh network each); reports where
        /// latency bends.
        #[arg(long, value_delimiter = ',')]
        sweep: Vec<u64>,
        /// Length of the load window, seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Interval between load batches, milliseconds.
        #[arg(long, default_value_t = 20)]
        batch_ms: u64,
        /// The data folder.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// At most this many rows of each data file.
        #[arg(long)]
        limit: Option<usize>,
        /// Where results go.
        #[arg(long, default_value = "bench-out")]
        out: PathBuf,
    },
}

/// Arguments of `safeledger sim`.
#[derive(Args)]
struct SimArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// Validators in every run (by default each seed chooses 4 to 7).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    validators: Option<u16>,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start_seed: u64,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Write node.key and officer.key (mode 0600), an empty data/ and the public
    /// agency.json into DIR, and print agency.json. DIR can be NET/<agency> of the
    /// network directory the node will run from.
    Generate {
        /// The agency's key directory (created; must not hold keys yet).
        #[arg(long)]
        out: PathBuf,
        /// The agency id.
        #[arg(long)]
        agency: String,
        /// Display name (the id by default).
        #[arg(long, default_value = "")]
        name: String,
        /// Role in the genesis role table (demo roles: licensing, inspection,
        /// accident_investigation).
        #[arg(long, default_value = "inspection")]
        role: String,
        /// libp2p listen multiaddr (default: 127.0.0.1 with a free port).
        #[arg(long)]
        p2p_addr: Option<String>,
        /// gRPC URL (default: http://127.0.0.1 with a free port).
        #[arg(long)]
        grpc_addr: Option<String>,
        /// Voting power (0: not a validator).
        #[arg(long, default_value_t = 1)]
        power: u64,
    },
    /// Write an auditor's request-signing key ID.key (mode 0600) and its public
    /// ID.auditor.json into DIR (NET/auditors of the network directory), and print it.
    Auditor {
        /// The directory (created).
        #[arg(long)]
        out: PathBuf,
        /// The auditor id (distinct from every agency id).
        #[arg(long)]
        id: String,
        /// Display name (the id by default).
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Subcommand)]
enum GenesisCmd {
    /// Assemble and validate a genesis from agency.json files (public keys only).
    Assemble {
        /// Chain id.
        #[arg(long)]
        chain_id: String,
        /// One agency's public file (from `keys generate`), once per agency, in order.
        #[arg(long = "agency-file", required = true)]
        agency_files: Vec<PathBuf>,
        /// An auditor's public file (from `keys auditor`), once per auditor.
        #[arg(long = "auditor-file")]
        auditor_files: Vec<PathBuf>,
        /// A JSON role table ({"role": ["tx_kind", ...]}); the demo's by default.
        #[arg(long)]
        roles: Option<PathBuf>,
        /// Genesis time in ms since the epoch (default: now).
        #[arg(long)]
        genesis_time_ms: Option<u64>,
        /// Where to write the genesis (must not exist).
        #[arg(long)]
        out: PathBuf,
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
        /// The node's limits file (TOML); by default `<home>/<agency>/node.toml` when it
        /// exists, else every limit at its default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Serve /healthz and Prometheus /metrics over HTTP here (e.g. 0.0.0.0:9100).
        #[arg(long, env = "SAFELEDGER_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Log filter (tracing EnvFilter syntax, e.g. `info` or `debug,libp2p=warn`);
        /// RUST_LOG is used when this is not given.
        #[arg(long, env = "SAFELEDGER_LOG")]
        log_level: Option<String>,
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
        /// Fields to keep private (comma-separated, e.g. description): only their
        /// commitments are replicated; the values stay sealed at this agency's node.
        #[arg(long, value_delimiter = ',')]
        private: Vec<String>,
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
enum AssistanceCmd {
    /// Ask another agency for assistance about an enterprise; prints the request's tx id.
    Request {
        /// The network directory (the requesting agency's officer key signs).
        #[arg(long)]
        home: PathBuf,
        /// The requesting agency.
        #[arg(long)]
        agency: String,
        /// The addressed agency.
        #[arg(long)]
        to: String,
        /// The enterprise id, e.g. us-chi-bacp:1234.
        #[arg(long)]
        enterprise: String,
        /// What is asked.
        #[arg(long)]
        subject: String,
        /// Hours until due, from the committing block (the governed default, 24, when
        /// omitted).
        #[arg(long)]
        due_hours: Option<u32>,
        /// Your id for the request (a random one when omitted).
        #[arg(long)]
        id: Option<String>,
        /// When the request was made (YYYY-MM-DD; now by default).
        #[arg(long)]
        effective_at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Answer a request addressed to your agency, named by its tx id.
    Respond {
        /// The network directory (the responding agency's officer key signs).
        #[arg(long)]
        home: PathBuf,
        /// The responding (addressed) agency.
        #[arg(long)]
        agency: String,
        /// The request's transaction id (hex), as `assistance request` or `list` print it.
        #[arg(long)]
        request: String,
        /// The answer.
        #[arg(long)]
        answer: String,
        /// When the answer was given (YYYY-MM-DD; now by default).
        #[arg(long)]
        effective_at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Unanswered requests addressed to an agency (open and overdue unless one is chosen).
    List {
        /// The addressed agency.
        #[arg(long)]
        agency: String,
        /// Only those not yet due.
        #[arg(long, conflicts_with = "overdue")]
        open: bool,
        /// Only those past their due time (R7).
        #[arg(long)]
        overdue: bool,
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

#[derive(Subcommand)]
enum PrivateCmd {
    /// Erase the private values of one committed transaction at the node of the agency
    /// holding them: the record key is destroyed, a tombstone records the time, the
    /// on-chain commitment stays and views show the fields as erased. Idempotent.
    Erase {
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// The agency whose node holds the values (the recording agency).
        #[arg(long)]
        agency: String,
        /// Transaction id (hex).
        #[arg(long)]
        tx: String,
        /// A private field to erase (repeatable); all of them when omitted.
        #[arg(long = "field")]
        fields: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
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

#[derive(Subcommand)]
enum AuditCmd {
    /// Fetch a view of a committed transaction revealing some fields; the others are shown
    /// as digests. Verified against genesis before writing when --home is given.
    View {
        /// Transaction id (hex).
        #[arg(long)]
        tx: String,
        /// Fields to reveal, comma-separated (the record type is always revealed).
        #[arg(long, value_delimiter = ',')]
        reveal: Vec<String>,
        /// Where to write the view.
        #[arg(long)]
        out: PathBuf,
        /// Also prove the transaction in the ledger tree of this checkpoint.
        #[arg(long)]
        anchor: Option<PathBuf>,
        /// Officers reading private fields: first declare the read on chain (a
        /// private_read transaction naming the record, the private fields among --reveal
        /// and this purpose); the node discloses private values only against it.
        #[arg(long)]
        purpose: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Verify a view offline against a genesis file: exit 0 when valid, otherwise exit 1
    /// naming the first element that failed.
    Verify {
        /// The view file.
        view: PathBuf,
        /// The genesis file, the only thing trusted.
        #[arg(long)]
        genesis: PathBuf,
        /// A checkpoint to trust as well (verified from genesis first).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Fetch a checkpoint: a certified header with its commit certificate.
    Checkpoint {
        /// Height (the latest when omitted).
        #[arg(long)]
        height: Option<u64>,
        /// Where to write it (printed when omitted).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
    /// Fetch and verify the consistency proof between two checkpoints' ledgers.
    Consistency {
        /// The older checkpoint file.
        old: PathBuf,
        /// The newer checkpoint file.
        new: PathBuf,
        /// Verify both checkpoints from this genesis file (the network directory's by
        /// default with --home).
        #[arg(long)]
        genesis: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
}

/// The node's limits: `--config FILE`, else `<home>/<agency>/node.toml` when present,
/// else the defaults. A file that does not parse or holds a value out of range stops the
/// node with an error naming the file and the field.
fn node_limits(
    h: &home::Home,
    agency: &str,
    config: Option<&std::path::Path>,
) -> anyhow::Result<safeledger_node::config::NodeLimits> {
    use safeledger_node::config::{NodeLimits, NODE_CONFIG_FILE};
    let path = match config {
        Some(p) => p.to_path_buf(),
        None => {
            let p = h.agency_dir(agency).join(NODE_CONFIG_FILE);
            if !p.exists() {
                tracing::info!(file = %p.display(), "no limits file: every limit at its default");
                return Ok(NodeLimits::default());
            }
            p
        }
    };
    let limits = NodeLimits::load(&path)
        .with_context(|| "the node's limits file is not usable; fix or remove it".to_string())?;
    tracing::info!(file = %path.display(), "node limits loaded");
    Ok(limits)
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

/// `--effective-at YYYY-MM-DD`, or now.
fn effective_or_now(s: Option<&str>) -> anyhow::Result<Timestamp> {
    Ok(match s {
        Some(s) => parse_date(s)?,
        None => Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as u64,
        ),
    })
}

fn print_committed(r: &Committed, output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        print_json(&serde_json::json!({
            "tx_id": r.tx_id, "height": r.height, "index": r.index, "result": r.result
        }))
    } else {
        println!(
            "{} committed at height {} index {}: {}",
            r.tx_id,
            r.height,
            r.index,
            outcome_text(&r.result.outcome)
        );
        Ok(())
    }
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Accepted => "accepted".into(),
        Outcome::Refused { rule, reason } => format!("refused by {rule}: {reason}"),
    }
}

fn init_tracing(level: Option<&str>) {
    let filter = level
        .and_then(|l| tracing_subscriber::EnvFilter::try_new(l).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info,libp2p_gossipsub=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Turns transparent huge pages off for this process (Linux; best effort). With THP set
/// to `always`, memory the allocator returned to the system came back as 2 MiB pages that
/// the kernel zeroes on first touch: at load, `clear_page_erms` took a sixth of a node's
/// CPU time (issue 7 profile). Memory use is unchanged or lower.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
        }
        const PR_SET_THP_DISABLE: std::ffi::c_int = 41;
        // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) only sets a flag of this process;
        // the arguments are plain integers and a failure (an old kernel) changes nothing.
        let _ = unsafe {
            prctl(
                PR_SET_THP_DISABLE,
                1 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
            )
        };
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    disable_transparent_huge_pages();
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
        Cmd::Init {
            dir,
            chain_id,
            hosts,
            p2p_port,
            grpc_port,
        } => {
            let h = home::init_with(
                &dir,
                &chain_id,
                &home::Addressing {
                    hosts,
                    p2p_port,
                    grpc_port,
                },
            )?;
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
        Cmd::Keys {
            cmd:
                KeysCmd::Generate {
                    out,
                    agency,
                    name,
                    role,
                    p2p_addr,
                    grpc_addr,
                    power,
                },
        } => {
            let spec = ceremony::AgencySpec {
                id: agency,
                name,
                role,
                p2p_addr,
                grpc_addr,
                power,
            };
            let a = ceremony::generate(&out, &spec)?;
            println!("{}", serde_json::to_string_pretty(&a)?);
            eprintln!(
                "secrets in {} (node.key, officer.key: keep them there); send {} to the \
                 genesis assembler",
                out.display(),
                out.join(ceremony::AGENCY_FILE).display()
            );
        }
        Cmd::Keys {
            cmd: KeysCmd::Auditor { out, id, name },
        } => {
            let a = ceremony::generate_auditor(&out, &id, &name)?;
            println!("{}", serde_json::to_string_pretty(&a)?);
            eprintln!(
                "secret in {} (keep it there); send {} to the genesis assembler",
                out.join(format!("{id}.key")).display(),
                out.join(format!("{id}{}", ceremony::AUDITOR_FILE_SUFFIX))
                    .display()
            );
        }
        Cmd::Genesis {
            cmd:
                GenesisCmd::Assemble {
                    chain_id,
                    agency_files,
                    auditor_files,
                    roles,
                    genesis_time_ms,
                    out,
                },
        } => {
            let roles = match roles {
                Some(p) => {
                    let text = std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    Some(
                        serde_json::from_str(&text)
                            .with_context(|| format!("{} is not a role table", p.display()))?,
                    )
                }
                None => None,
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let time = Timestamp(genesis_time_ms.unwrap_or(now.saturating_sub(1_000)));
            let g = ceremony::assemble(&chain_id, &agency_files, &auditor_files, roles, time)?;
            ceremony::write_genesis(&out, &g)?;
            println!(
                "genesis of {} with {} agencies written to {} (hash {})",
                g.chain_id,
                g.agencies.len(),
                out.display(),
                g.hash()
            );
        }
        Cmd::Node {
            cmd:
                NodeCmd::Start {
                    home,
                    agency,
                    config,
                    metrics_addr,
                    log_level,
                },
        } => {
            init_tracing(log_level.as_deref());
            let h = home::Home::load(&home)?;
            let a = h
                .genesis
                .agency(&agency)
                .with_context(|| format!("agency {agency} is not in the genesis"))?
                .clone();
            let grpc: std::net::SocketAddr = a
                .grpc_addr
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .parse()
                .with_context(|| format!("grpc_addr {} is not host:port", a.grpc_addr))?;
            let limits = node_limits(&h, &agency, config.as_deref())?;
            let config = safeledger_node::node::NodeConfig {
                genesis: h.genesis.clone(),
                agency: agency.clone(),
                node_key: h.node_key(&agency)?,
                data_dir: h.agency_dir(&agency).join("data"),
                p2p_listen: a.p2p_addr.clone(),
                grpc_listen: grpc,
                grpc_tls: h.tls_identity(&agency)?,
                metrics_listen: metrics_addr,
                limits,
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
            let s = t.client().await?.status().await?;
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
                    private,
                    output,
                },
        } => {
            let h = home::Home::load(&home)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let body: TxBody = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a record", file.display()))?;
            let eff = effective_or_now(effective_at.as_deref())?;
            let private: Vec<&str> = private.iter().map(String::as_str).collect();
            let r = submit::submit_one_private(&h, &agency, body, eff, &private).await?;
            print_committed(&r, output)?;
        }
        Cmd::Tx {
            cmd: TxCmd::Show { id, target },
        } => {
            let id = Hash::from_hex(&id)?;
            let (tx, h, i, r) = target.client().await?.transaction(id).await?;
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
            let v = target.client().await?.enterprise(&id, timeline).await?;
            print_json(&v)?;
        }
        Cmd::Query {
            kind,
            agency,
            enterprise,
            limit,
            target,
        } => {
            let v = target
                .client()
                .await?
                .query(&kind, &agency, &enterprise, limit)
                .await?;
            print_json(&v)?;
        }
        Cmd::Assistance { cmd } => run_assistance(cmd).await?,
        Cmd::Private {
            cmd:
                PrivateCmd::Erase {
                    home,
                    agency,
                    tx,
                    fields,
                    output,
                },
        } => {
            let h = home::Home::load(&home)?;
            let id = Hash::from_hex(&tx)
                .map_err(|e| anyhow::anyhow!("--tx {tx:?} is not a transaction id: {e}"))?;
            let erased = private::erase(&h, &agency, id, &fields).await?;
            if output == Output::Json {
                print_json(&private::to_json(&id, &agency, &erased))?;
            } else {
                print!("{}", private::render(&id, &agency, &erased));
            }
        }
        Cmd::Block {
            cmd: BlockCmd::Show { height, target },
        } => {
            let (b, cert, results) = target.client().await?.block(height.unwrap_or(0)).await?;
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
            let mut c = LedgerClient::new(h.endpoints()).signed_by(h.default_signer(false)?);
            for a in &h.genesis.agencies {
                let k = h.officer_key(&a.id)?;
                first.insert(a.id.clone(), c.sequence(&k.public()).await? + 1);
            }
            let (txs, resign) = demo::sign_items(&h, &plan.items, &first)?;
            let signer = h.default_signer(false)?;
            let report = submit::submit_all(h.endpoints(), signer, txs, true, Some(resign)).await?;
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
        Cmd::Audit { cmd } => {
            use safeledger_client::audit::cli as audit;
            let endpoints_of =
                |t: &Target| -> anyhow::Result<(Vec<String>, Option<safeledger_core::Genesis>)> {
                    let (eps, h) = t.endpoints()?;
                    Ok((eps, h.map(|h| h.genesis)))
                };
            match cmd {
                AuditCmd::View {
                    tx,
                    reveal,
                    out,
                    anchor,
                    purpose,
                    target,
                } => {
                    let (eps, h) = target.endpoints()?;
                    let signer = target.signer(&eps, h.as_ref(), true).await?;
                    let g = h.map(|h| h.genesis);
                    let req = audit::ViewRequest {
                        tx: &tx,
                        reveal: &reveal,
                        out: &out,
                        anchor: anchor.as_deref(),
                        purpose: purpose.as_deref(),
                    };
                    audit::view(eps, signer, g.as_ref(), req).await?;
                }
                AuditCmd::Verify {
                    view,
                    genesis,
                    checkpoint,
                } => {
                    audit::verify(&view, &genesis, checkpoint.as_deref())?;
                }
                AuditCmd::Checkpoint {
                    height,
                    out,
                    target,
                } => {
                    let (eps, g) = endpoints_of(&target)?;
                    audit::checkpoint(eps, g.as_ref(), height.unwrap_or(0), out.as_deref()).await?;
                }
                AuditCmd::Consistency {
                    old,
                    new,
                    genesis,
                    target,
                } => {
                    let (eps, g) = endpoints_of(&target)?;
                    let g = match genesis {
                        Some(p) => Some(audit::load_genesis(&p)?),
                        None => g,
                    };
                    audit::consistency(eps, g.as_ref(), &old, &new).await?;
                }
            }
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
        Cmd::Bench {
            rate,
            sweep,
            seconds,
            batch_ms,
            data,
            limit,
            out,
        } => {
            if !data.is_dir() {
                bail!(
                    "data folder {} not found: run from the repository root or pass --data",
                    data.display()
                );
            }
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
            .await?;
        }
        Cmd::Sim(a) => {
            let started = std::time::Instant::now();
            let (mut failed, mut heights, mut sim_ms) = (0u64, 0u64, 0u64);
            for seed in a.start_seed..a.start_seed.saturating_add(a.seeds) {
                let r = match a.validators {
                    Some(n) => safeledger_node::sim::run_seed_with(seed, n.into()),
                    None => safeledger_node::sim::run_seed(seed),
                };
                match r {
                    Ok(r) => (heights, sim_ms) = (heights + r.heights, sim_ms + r.sim_ms),
                    Err(f) => {
                        failed += 1;
                        let v = a.validators.map(|n| format!(" --validators {n}"));
                        println!("{f}");
                        println!(
                            "  replay: safeledger sim --seeds 1 --start-seed {seed}{}",
                            v.unwrap_or_default()
                        );
                    }
                }
            }
            println!(
                "{} seeds, {failed} failed: {heights} heights decided, {} s simulated, in {:.1} s",
                a.seeds,
                sim_ms / 1_000,
                started.elapsed().as_secs_f64()
            );
            if failed > 0 {
                bail!("{failed} seeds violated a property");
            }
        }
    }
    Ok(())
}

async fn run_assistance(cmd: AssistanceCmd) -> anyhow::Result<()> {
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
            output,
        } => {
            let h = home::Home::load(&home)?;
            let r = assistance::request(
                &h,
                &assistance::NewRequest {
                    from: agency,
                    to,
                    enterprise,
                    subject,
                    due_hours,
                    request_id: id,
                    effective_at: effective_or_now(effective_at.as_deref())?,
                },
            )
            .await?;
            print_committed(&r, output)
        }
        AssistanceCmd::Respond {
            home,
            agency,
            request,
            answer,
            effective_at,
            output,
        } => {
            let h = home::Home::load(&home)?;
            let request = Hash::from_hex(&request)
                .map_err(|e| anyhow::anyhow!("--request {request:?} is not a tx id: {e}"))?;
            let eff = effective_or_now(effective_at.as_deref())?;
            let r = assistance::respond(&h, &agency, request, &answer, eff).await?;
            print_committed(&r, output)
        }
        AssistanceCmd::List {
            agency,
            open,
            overdue,
            home,
            output,
        } => {
            let h = home::Home::load(&home)?;
            let both = !open && !overdue;
            let rows = assistance::list(&h, &agency, open || both, overdue || both).await?;
            if output == Output::Json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(r, s)| serde_json::json!({"status": s, "request": r}))
                    .collect();
                return print_json(&v);
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
                    r.due_at.date_string(),
                    r.subject
                );
            }
            Ok(())
        }
    }
}
