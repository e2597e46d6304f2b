//! Setting a network up and running a node: `init`, the key ceremony (`keys`,
//! `genesis`) and `node start`.

use crate::cli::args::{GenesisCmd, KeysCmd, NodeCmd};
use crate::cli::{ceremony, home};
use anyhow::Context;
use safeledger_core::Timestamp;
use std::path::PathBuf;

/// `safeledger init`: a four-agency network directory on loopback (or on `hosts`).
pub fn init(
    dir: PathBuf,
    chain_id: String,
    hosts: Option<Vec<String>>,
    p2p_port: u16,
    grpc_port: u16,
) -> anyhow::Result<()> {
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
    Ok(())
}

/// `safeledger keys generate | auditor`.
pub fn keys(cmd: KeysCmd) -> anyhow::Result<()> {
    match cmd {
        KeysCmd::Device { out } => crate::cli::alerts::device_key(&out),
        KeysCmd::Generate {
            out,
            agency,
            name,
            role,
            p2p_addr,
            grpc_addr,
            power,
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
            Ok(())
        }
        KeysCmd::Auditor { out, id, name } => {
            let a = ceremony::generate_auditor(&out, &id, &name)?;
            println!("{}", serde_json::to_string_pretty(&a)?);
            eprintln!(
                "secret in {} (keep it there); send {} to the genesis assembler",
                out.join(format!("{id}.key")).display(),
                out.join(format!("{id}{}", ceremony::AUDITOR_FILE_SUFFIX))
                    .display()
            );
            Ok(())
        }
    }
}

/// `safeledger genesis assemble`.
pub fn genesis(cmd: GenesisCmd) -> anyhow::Result<()> {
    let GenesisCmd::Assemble {
        chain_id,
        agency_files,
        auditor_files,
        roles,
        genesis_time_ms,
        out,
    } = cmd;
    let roles = match roles {
        Some(p) => Some(crate::cli::files::read_json(&p, "a role table", 1 << 20)?),
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
    Ok(())
}

/// `safeledger node start`: runs the node until it fails or Ctrl-C stops it.
pub async fn node(cmd: NodeCmd) -> anyhow::Result<()> {
    let (home, agency, config, metrics_addr, log_level, state_sync) = match cmd {
        NodeCmd::Start {
            home,
            agency,
            config,
            metrics_addr,
            log_level,
            state_sync,
        } => (home, agency, config, metrics_addr, log_level, state_sync),
        NodeCmd::Reindex { home, agency } => return crate::cli::search::reindex(home, agency),
        NodeCmd::Disk { home, agency } => return crate::cli::disk::node_disk(&home, &agency),
    };
    init_tracing(log_level.as_deref());
    let h = home::Home::load(&home)?;
    let a = h.node_agency(&agency)?;
    let grpc: std::net::SocketAddr = a
        .grpc_addr
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .parse()
        .with_context(|| format!("grpc_addr {} is not host:port", a.grpc_addr))?;
    let limits = node_limits(&h, &agency, config.as_deref())?;
    let config = crate::shell::NodeConfig {
        genesis: h.genesis.clone(),
        agency: agency.clone(),
        node_key: h.node_key(&agency)?,
        data_dir: h.agency_dir(&agency).join("data"),
        p2p_listen: a.p2p_addr.clone(),
        grpc_listen: grpc,
        grpc_tls: h.tls_identity_of(&a)?,
        metrics_listen: metrics_addr,
        limits,
        state_sync,
    };
    let mut node = crate::shell::start(config).await?;
    // Ctrl-C and SIGTERM stop the node cleanly (exit 0: a supervisor such as the demo's
    // leaves it stopped); SIGKILL is a crash.
    tokio::select! {
        r = node.wait() => r?,
        r = crate::cli::demo::stop_signal() => {
            r?;
            tracing::info!("stopping");
            node.stop().await?;
        }
    }
    Ok(())
}

/// The node's limits: `--config FILE`, else `<home>/<agency>/node.toml` when present,
/// else the defaults. A file that does not parse or holds a value out of range stops the
/// node with an error naming the file and the field.
fn node_limits(
    h: &home::Home,
    agency: &str,
    config: Option<&std::path::Path>,
) -> anyhow::Result<crate::config::NodeLimits> {
    use crate::config::{NodeLimits, NODE_CONFIG_FILE};
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

/// Logs to stderr, filtered by `level`, else `RUST_LOG`, else `info`.
fn init_tracing(level: Option<&str>) {
    let filter = level
        .and_then(|l| tracing_subscriber::EnvFilter::try_new(l).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info,libp2p_gossipsub=error"));
    // Colour only on a terminal: a log file (the demo's node.log) gets plain text.
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
