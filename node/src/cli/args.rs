//! The command line of `safeledger`: every command, subcommand and argument, as clap
//! types. `main.rs` parses them and [`crate::cli::run`] dispatches.

use crate::cli::home;
pub use crate::cli::target::Target;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The `safeledger` command line.
#[derive(Parser)]
#[command(
    name = "safeledger",
    version,
    about = "A BFT ledger for workplace-safety regulators",
    after_help = crate::cli::exit::TABLE
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// How a command prints its answer.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// For people.
    Text,
    /// For programs (pretty-printed JSON).
    Json,
}

/// Every `safeledger` command.
#[derive(Subcommand)]
pub enum Cmd {
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
    /// Find enterprises by the words of their name or address, or their starts (Chinese by any two
    /// characters or more), an id, a linked id, a licence number or a unified social
    /// credit code: best first, with risk level, credit grade and licence statuses.
    Search {
        /// What to look for (several words: all must match).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// Hits per page, 1 to 100.
        #[arg(long, default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
        /// Hits to skip (the next page: the offset the last page printed), at most 1000.
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=1000))]
        offset: u32,
        #[command(flatten)]
        target: Target,
    },
    /// Your agency's open tasks, by due time: assistance and access requests to answer,
    /// applications to decide, proposals to vote on, licence reviews, hazards awaiting
    /// rectification or re-inspection, licences whose term ends soon.
    Inbox {
        /// The agency (default: the one you sign for; only your own).
        #[arg(long)]
        agency: Option<String>,
        /// Where to go on from: the `--cursor` the last page printed.
        #[arg(long, default_value = "")]
        cursor: String,
        /// Tasks per page, 1 to 200.
        #[arg(long, default_value_t = 50,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// Show licences whose term ends within this many days, 1 to 3650.
        #[arg(long, default_value_t = 60,
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        expiring_days: u32,
        /// Only your own tasks: those your posts may close, without the collective
        /// decisions you have signed (sign as yourself with --officer NAME).
        #[arg(long)]
        mine: bool,
        /// Only tasks of this kind, repeatable (assistance_request, access_request,
        /// licence_application, application_acceptance, application_resupply,
        /// proposal_vote, licence_review, hazard_rectification, hazard_reinspection,
        /// licence_expiry, decision_signature, routine_inspection, tip_triage,
        /// alert_follow_up).
        #[arg(long = "kind", value_name = "KIND")]
        kinds: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// An agency's routine inspection plan: the licensed enterprises it inspects, each
    /// due again after 365 / (inspections a year at its risk level) days — overdue first;
    /// with --month, those due by that month's end.
    Plan {
        /// The inspecting agency.
        #[arg(long)]
        agency: String,
        /// Only what is due by the end of this month, YYYY-MM.
        #[arg(long)]
        month: Option<String>,
        /// Most entries asked of the node (earliest due first), 1 to 1000.
        #[arg(long, default_value_t = 1000,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[command(flatten)]
        target: Target,
    },
    /// Lists an officer asks for, in enterprise-id order, as they stand now: `risk LEVEL`
    /// (green, yellow, orange, red), `credit GRADE` (A-D), `blacklisted`, `expiring`
    /// (licences ending within --days), `overdue` (hazards past their rectification
    /// deadline).
    List {
        /// Which list.
        #[arg(value_parser = ["risk", "credit", "blacklisted", "expiring", "overdue"])]
        list: String,
        /// The risk level or credit grade (risk and credit lists).
        value: Option<String>,
        /// Days ahead (expiring), 1 to 3650.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Where to go on from: the `--cursor` the last page printed.
        #[arg(long, default_value = "")]
        cursor: String,
        /// Entries per page, 1 to 200.
        #[arg(long, default_value_t = 50,
              value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        #[command(flatten)]
        target: Target,
    },
    /// Rule-contract queries: officer NAME-OR-KEY (every record the officer signed or
    /// co-signed, for ever); inbox (every open task of --agency: assistance requests to
    /// answer, licence reviews) / assistance_open / assistance_overdue / assistance_sent
    /// (requests --agency made, with their answers) (--agency),
    /// decisions / timeline / assessment (--enterprise); evidence (recorded double-signs);
    /// validators (the sets of the next two heights and changes passed lately); access_log
    /// (private-field access requests and their answers); read_log (declared reads of
    /// private fields).
    Query {
        /// What to ask.
        #[arg(value_parser = query_kinds())]
        kind: String,
        /// For `officer`: the officer, by public key (hex) or registered name — every
        /// record it signed or co-signed, with height and result, also after its
        /// revocation.
        subject: Option<String>,
        /// For `officer`: where to go on from (the `--cursor` the last page printed).
        #[arg(long, default_value = "")]
        cursor: String,
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
    /// Your agency's officers and their posts: register, roles, revoke.
    Officer {
        #[command(subcommand)]
        cmd: crate::cli::verbs::OfficerCmd,
    },
    /// Licences: apply, accept, notify-missing, resupplied (each step within its time
    /// limit in working days), decide (grant, deny, renew, suspend, revoke).
    Licence {
        #[command(subcommand)]
        cmd: crate::cli::verbs::LicenceCmd,
    },
    /// Collective decisions co-signed over time: propose, sign.
    Decision {
        #[command(subcommand)]
        cmd: crate::cli::verbs::DecisionCmd,
    },
    /// Inspections: record (with hazards and rectify-by dates).
    Inspection {
        #[command(subcommand)]
        cmd: crate::cli::verbs::InspectionCmd,
    },
    /// Rectification of hazards: report.
    Rectification {
        #[command(subcommand)]
        cmd: crate::cli::verbs::RectificationCmd,
    },
    /// Administrative penalties: record.
    Penalty {
        #[command(subcommand)]
        cmd: crate::cli::verbs::PenaltyCmd,
    },
    /// The blacklist of seriously dishonest enterprises (R2, R4): enter, remove.
    Blacklist {
        #[command(subcommand)]
        cmd: crate::cli::verbs::BlacklistCmd,
    },
    /// Work accidents: report (with the level of Order 493).
    Accident {
        #[command(subcommand)]
        cmd: crate::cli::verbs::AccidentCmd,
    },
    /// Corrections of your agency's earlier records: withdraw, amend.
    Correction {
        #[command(subcommand)]
        cmd: crate::cli::verbs::CorrectionCmd,
    },
    /// The web console for officers, auditors and operators (loopback by default).
    Console(crate::console::ConsoleArgs),
    /// Monitoring gateways of high-risk sites: register (your agency supervises them).
    Monitor {
        #[command(subcommand)]
        cmd: crate::cli::alerts::MonitorCmd,
    },
    /// Sensor alerts: ingest a gateway's readings (crossings only), ack as the enterprise.
    Alerts {
        #[command(subcommand)]
        cmd: crate::cli::alerts::AlertsCmd,
    },
    /// Public tip-offs: submit (no key needed), status by receipt code, follow-up.
    Tip {
        #[command(subcommand)]
        cmd: crate::cli::tips::TipCmd,
    },
    /// Evidence files on records: add (kept at your node), get (checked against its hash).
    Evidence {
        #[command(subcommand)]
        cmd: crate::cli::tips::EvidenceCmd,
    },
    /// "Double random" inspection draws: open, show, list.
    Draw {
        #[command(subcommand)]
        cmd: crate::cli::verbs::DrawCmd,
    },
    /// Governance among agencies: add-agency, remove-agency, set-param, set-validator, vote.
    Governance {
        #[command(subcommand)]
        cmd: crate::cli::verbs::GovernanceCmd,
    },
    /// Another agency's withheld fields: request; your own agency's answer: grant.
    Access {
        #[command(subcommand)]
        cmd: crate::cli::verbs::AccessCmd,
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
        /// Write every rejected row (file, line, reason) to this CSV file.
        #[arg(long, value_name = "FILE")]
        rejects: Option<PathBuf>,
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
    /// Run the deterministic simulations (many seeds): the consensus core's, and the node
    /// machine's over the real ledger; exits non-zero on any violated property, printing
    /// SEED=<n> for each.
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

/// The kinds `safeledger query` answers: the rule contracts' and `officer`.
fn query_kinds() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        safeledger_contracts::query::QUERY_KINDS
            .iter()
            .copied()
            .chain(std::iter::once("officer")),
    )
}

/// Arguments of `safeledger sim`.
#[derive(Args)]
pub struct SimArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// Validators in every run (by default each seed chooses 4 to 7).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub validators: Option<u16>,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub start_seed: u64,
    /// Also run the machine scenario (the node's machine over the real ledger: crashes
    /// after persisting, wiped data directories, a lying sync peer, nodes lacking proposal
    /// bodies, a private value granted on chain) of every N-th seed; 0: none.
    #[arg(long, default_value_t = 1)]
    pub machine_every: u64,
}

/// `safeledger keys`: the key ceremony's first step.
#[derive(Subcommand)]
pub enum KeysCmd {
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
        /// gRPC URL (default: https://127.0.0.1 with a free port; an https:// URL gets a TLS
        /// key and a pinned certificate).
        #[arg(long)]
        grpc_addr: Option<String>,
        /// Voting power (0: not a validator).
        #[arg(long, default_value_t = 1)]
        power: u64,
    },
    /// Write a monitoring gateway's or an enterprise's key to FILE (mode 0600) and print
    /// its public key (for `monitor register`).
    Device {
        /// The key file (must not exist).
        #[arg(long)]
        out: PathBuf,
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

/// `safeledger genesis`.
#[derive(Subcommand)]
pub enum GenesisCmd {
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

/// `safeledger node`.
#[derive(Subcommand)]
pub enum NodeCmd {
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
        /// Join by state sync: on an empty data directory, take the newest state snapshot
        /// the peers offer (verified against genesis, chunk by chunk) instead of replaying
        /// every block, then block-sync from its height. Ignored when the node holds blocks.
        #[arg(long)]
        state_sync: bool,
    },
    /// Where a stopped node's disk goes: its data directory's bytes (the sled store
    /// apart), and every key family of the store with its count and bytes, largest first.
    Disk {
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// The agency whose node this is.
        #[arg(long)]
        agency: String,
    },
    /// Rebuild a stopped node's enterprise search index from its committed state (a
    /// running node rebuilds a missing or unreadable index by itself).
    Reindex {
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// The agency whose node this is.
        #[arg(long)]
        agency: String,
    },
}

/// `safeledger tx`.
#[derive(Subcommand)]
pub enum TxCmd {
    /// Sign a record as an agency's officer, submit it and wait until it is committed
    /// (or, with --dry-run, only ask the rules' verdict).
    Submit {
        /// A JSON file with the record, e.g. {"penalty": {...}} (see core/src/records.rs).
        #[arg(long)]
        file: PathBuf,
        /// Fields to keep private (comma-separated, e.g. description): only their
        /// commitments are replicated; the values stay sealed at this agency's node.
        #[arg(long, value_delimiter = ',')]
        private: Vec<String>,
        #[command(flatten)]
        acting: crate::cli::act::Acting,
    },
    /// Add your officer's signature to a transaction file another agency signed (a joint
    /// inspection's sections are signed by an officer of each agency).
    Cosign {
        /// The transaction file (`inspection joint --out`); rewritten with the signature.
        file: PathBuf,
        #[command(flatten)]
        acting: crate::cli::act::Acting,
    },
    /// Submit a transaction file signed by all its signers and wait until it is committed.
    Send {
        /// The transaction file.
        file: PathBuf,
        #[command(flatten)]
        acting: crate::cli::act::Acting,
    },
    /// A committed transaction with its result.
    Show {
        /// Transaction id (hex).
        id: String,
        #[command(flatten)]
        target: Target,
    },
}

/// `safeledger assistance`.
#[derive(Subcommand)]
pub enum AssistanceCmd {
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
        /// When the request was made: YYYY-MM-DD or an RFC 3339 date-time; not before 1970, not
        /// in the future; now by default.
        #[arg(long)]
        effective_at: Option<String>,
        /// Seconds to wait for the transaction to commit before giving up (exit 5, with
        /// its id: it may still commit); 1 to 3600.
        #[arg(long, default_value_t = 30, value_name = "SECS",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
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
        /// When the answer was given: YYYY-MM-DD or an RFC 3339 date-time; not before 1970, not
        /// in the future; now by default.
        #[arg(long)]
        effective_at: Option<String>,
        /// Seconds to wait for the transaction to commit before giving up (exit 5, with
        /// its id: it may still commit); 1 to 3600.
        #[arg(long, default_value_t = 30, value_name = "SECS",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Unanswered requests addressed to an agency (open and overdue unless one is chosen),
    /// or with --sent the requests it made, with their answers.
    List {
        /// The addressed agency (with --sent: the requesting agency).
        #[arg(long)]
        agency: String,
        /// Only those not yet due.
        #[arg(long, conflicts_with_all = ["overdue", "sent"])]
        open: bool,
        /// Only those past their due time (R7).
        #[arg(long, conflicts_with = "sent")]
        overdue: bool,
        /// The requests --agency made (newest first), answered or not, with each answer.
        #[arg(long)]
        sent: bool,
        /// The network directory.
        #[arg(long)]
        home: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

/// `safeledger private`.
#[derive(Subcommand)]
pub enum PrivateCmd {
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

/// `safeledger enterprise`.
#[derive(Subcommand)]
pub enum EnterpriseCmd {
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

/// `safeledger block`.
#[derive(Subcommand)]
pub enum BlockCmd {
    /// A block with its certificate and results (latest by default).
    Show {
        /// Height (latest when omitted).
        height: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
}

/// `safeledger audit`: the auditor's commands.
#[derive(Subcommand)]
pub enum AuditCmd {
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
    /// Prove an enterprise's licences, blacklist listings, risk level and credit grade
    /// after a height against a certified header (a state proof; absent enterprises are
    /// proven absent). Verified against genesis before writing when --home is given.
    State {
        /// Enterprise id (repeat or comma-separate for several, at most 64).
        #[arg(long, value_delimiter = ',', required = true)]
        enterprise: Vec<String>,
        /// A licence number to report on, held or not.
        #[arg(long)]
        licence: Option<String>,
        /// The height whose resulting state is proven (the latest provable when omitted or
        /// 0; the node keeps its last 16 heights).
        #[arg(long)]
        height: Option<u64>,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        target: Target,
    },
    /// Verify a view or a state proof offline against a genesis file: exit 0 when valid,
    /// otherwise exit 1 naming the first element that failed.
    Verify {
        /// The view or state proof file.
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
    /// Double-random draws checked offline: export a complete draw, verify its file.
    Draw {
        #[command(subcommand)]
        cmd: crate::cli::audit_draw::DrawAuditCmd,
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
