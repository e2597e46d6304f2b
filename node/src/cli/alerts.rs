//! `safeledger monitor register`, `alerts ingest|ack` and `keys device` (issue 20 item 6):
//! an agency registers an enterprise's monitoring gateway and the enterprise's key; the
//! gateway turns a file of readings into alerts — only the crossings of a threshold —
//! signed with its key and sent in batches; the enterprise acknowledges with its key.
//! Gateways and enterprises hold no officer key: their requests go unsigned, and the
//! node admits their transactions by the keys registered on chain.

use crate::cli::act::Acting;
use crate::cli::args::Output;
use crate::cli::exit::{self, Exit};
use crate::cli::home::{read_key, write_secret};
use crate::cli::records::{print_committed, print_json};
use crate::cli::target::Target;
use crate::cli::verbs::{enterprise_arg, tx_id_arg};
use crate::cli::when;
use anyhow::Context;
use clap::Subcommand;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{AlertAck, MonitorRegistration, SensorAlert};
use safeledger_core::{PublicKey, SecretKey, Transaction, TxBody, TxPayload};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most readings one `alerts ingest` reads.
pub const MAX_READINGS: usize = 1_000_000;
/// Alerts per submitted batch.
const BATCH: usize = 200;

/// `safeledger monitor`.
#[derive(Subcommand)]
pub enum MonitorCmd {
    /// Register (or replace) the keys of an enterprise's monitoring gateway and the
    /// enterprise's own key; your agency then supervises the gateway's alerts.
    Register {
        /// The enterprise.
        #[arg(long)]
        enterprise: String,
        /// The gateway's id (its serial number).
        #[arg(long)]
        gateway_id: String,
        /// The gateway's public key: 64 hex digits, or a key file from `keys device`.
        #[arg(long)]
        gateway_key: String,
        /// The enterprise's public key: 64 hex digits, or a key file from `keys device`.
        #[arg(long)]
        enterprise_key: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger alerts`.
#[derive(Subcommand)]
pub enum AlertsCmd {
    /// Read a gateway's readings (CSV: time,device,measure,value), apply the thresholds
    /// locally and send each crossing — a reading reaching a higher level than the
    /// previous reading of that device and measure — as an alert signed with the gateway
    /// key, in batches; readings that cross nothing are not sent.
    Ingest {
        /// The readings (CSV with a header: time,device,measure,value; time as
        /// YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        file: PathBuf,
        /// The thresholds (TOML: one table per measure, `levels = [l1, l2, l3]`, each
        /// level's threshold, rising; one to three levels).
        #[arg(long)]
        thresholds: PathBuf,
        /// The gateway's key file (from `keys device`).
        #[arg(long)]
        gateway_key: PathBuf,
        /// The monitored enterprise.
        #[arg(long)]
        enterprise: String,
        /// The gateway's registered id.
        #[arg(long)]
        gateway_id: String,
        /// Print the alerts that would be sent, send nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Acknowledge an alert, signed with the enterprise's key (within the governed
    /// alert_ack_seconds, 300 by default, or it escalates).
    Ack {
        /// The alert's transaction id.
        #[arg(long)]
        alert: String,
        /// The enterprise.
        #[arg(long)]
        enterprise: String,
        /// The enterprise's key file (from `keys device`).
        #[arg(long)]
        enterprise_key: PathBuf,
        /// What was done.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        target: Target,
    },
}

/// A public key given as hex or as a key file.
fn public_key_arg(flag: &str, s: &str) -> anyhow::Result<PublicKey> {
    if let Ok(k) = PublicKey::from_hex(s.trim()) {
        return Ok(k);
    }
    let path = Path::new(s);
    if path.is_file() {
        return Ok(read_key(path)?.public());
    }
    Err(exit::usage(format!(
        "{flag} {s:?} is neither a public key (64 hex digits) nor a key file"
    )))
}

/// `safeledger keys device --out FILE`: a gateway's or an enterprise's key (mode 0600);
/// prints its public key.
///
/// # Errors
/// `FILE` exists or cannot be written.
pub fn device_key(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        return Err(exit::usage(format!(
            "{} exists: a key file is never overwritten",
            out.display()
        )));
    }
    let key = SecretKey::generate(&mut rand::rngs::OsRng);
    write_secret(out, &key)?;
    println!("{}", key.public());
    Ok(())
}

/// `safeledger monitor`.
pub async fn monitor(cmd: MonitorCmd) -> anyhow::Result<()> {
    match cmd {
        MonitorCmd::Register {
            enterprise,
            gateway_id,
            gateway_key,
            enterprise_key,
            acting,
        } => {
            let body = TxBody::MonitorRegistration(MonitorRegistration {
                enterprise: enterprise_arg(&enterprise)?,
                gateway_id,
                gateway_key: public_key_arg("--gateway-key", &gateway_key)?,
                enterprise_key: public_key_arg("--enterprise-key", &enterprise_key)?,
            });
            body.check_bounds()
                .map_err(|e| exit::usage(format!("monitor register: {e}")))?;
            acting.act(body).await
        }
    }
}

/// One measure's thresholds, rising.
type Levels = Vec<(f64, String)>;

fn thresholds(path: &Path) -> anyhow::Result<BTreeMap<String, Levels>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| exit::usage(format!("{}: {e}", path.display())))?;
    if doc.is_empty() {
        return Err(exit::usage(format!(
            "{}: no thresholds (one table per measure: [measure] levels = [l1, l2, l3])",
            path.display()
        )));
    }
    let mut out = BTreeMap::new();
    for (measure, v) in doc {
        let bad = |why: String| exit::usage(format!("{}: [{measure}] {why}", path.display()));
        if let Some(k) = v
            .as_table()
            .and_then(|t| t.keys().find(|k| k.as_str() != "levels"))
        {
            return Err(bad(format!("unknown key {k:?} (only levels)")));
        }
        let Some(levels) = v.get("levels").and_then(|l| l.as_array()) else {
            return Err(bad("needs levels = [l1, l2, l3]".into()));
        };
        if levels.is_empty() || levels.len() > 3 {
            return Err(bad(format!("{} levels: one to three", levels.len())));
        }
        let mut parsed: Levels = Vec::new();
        for l in levels {
            let text = match l {
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::String(s) => s.clone(),
                other => return Err(bad(format!("{other} is not a number"))),
            };
            let value: f64 = text
                .parse()
                .ok()
                .filter(|_| safeledger_core::records::monitoring::is_decimal(&text))
                .ok_or_else(|| bad(format!("{text:?} is not a decimal number")))?;
            if parsed.last().is_some_and(|(p, _)| *p >= value) {
                return Err(bad("levels must rise".into()));
            }
            parsed.push((value, text));
        }
        out.insert(measure, parsed);
    }
    Ok(out)
}

/// The crossings in the readings at `file`: alerts in file order.
fn crossings(
    file: &Path,
    levels: &BTreeMap<String, Levels>,
    enterprise: &EnterpriseId,
    gateway_id: &str,
) -> anyhow::Result<(usize, Vec<SensorAlert>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("reading {}", file.display()))?;
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    if header != ["time", "device", "measure", "value"] {
        return Err(exit::usage(format!(
            "{}: the header must be time,device,measure,value (got {})",
            file.display(),
            header.join(",")
        )));
    }
    let mut last: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out = Vec::new();
    let mut n = 0;
    for (i, row) in rdr.records().enumerate() {
        n += 1;
        if n > MAX_READINGS {
            return Err(exit::usage(format!(
                "{}: more than {MAX_READINGS} readings; split the file",
                file.display()
            )));
        }
        let row = row.map_err(|e| exit::usage(format!("{} row {}: {e}", file.display(), i + 2)))?;
        let bad = |why: String| exit::usage(format!("{} row {}: {why}", file.display(), i + 2));
        let (time, device, measure, value) = (&row[0], &row[1], &row[2], &row[3]);
        let Some(ls) = levels.get(measure) else {
            return Err(bad(format!("no thresholds for measure {measure:?}")));
        };
        let v: f64 = value
            .parse()
            .ok()
            .filter(|_| safeledger_core::records::monitoring::is_decimal(value))
            .ok_or_else(|| bad(format!("value {value:?} is not a decimal number")))?;
        let at = when::parse_time(time).map_err(|e| bad(format!("time: {e:#}")))?;
        if at.0 > when::now().0 + safeledger_contracts::monitoring::CLOCK_SKEW_MS {
            return Err(bad(format!("time {time} is in the future")));
        }
        let level = ls.iter().filter(|(t, _)| v >= *t).count();
        let prev = last.insert((device.to_string(), measure.to_string()), level);
        if level > prev.unwrap_or(0) {
            out.push(SensorAlert {
                enterprise: enterprise.clone(),
                gateway_id: gateway_id.to_string(),
                alert_id: format!("{device}/{measure}/{}", at.0),
                device: device.to_string(),
                measure: measure.to_string(),
                value: value.to_string(),
                threshold: ls[level - 1].1.clone(),
                level: level as u8,
                observed_at: at,
            });
        }
    }
    Ok((n, out))
}

/// An unsigned client over the target's nodes and the chain id.
async fn public_client(target: &Target) -> anyhow::Result<(LedgerClient, String)> {
    let (eps, home) = target.endpoints()?;
    let mut c = LedgerClient::new(eps);
    let chain = match home {
        Some(h) => h.genesis.chain_id,
        None => c.status().await?.chain_id,
    };
    Ok((c, chain))
}

/// Signs `bodies` with `key` at its next sequences and sends them, waiting for commits;
/// prints each result. Exit 3 when a rule refused any.
async fn send(
    target: &Target,
    key: &SecretKey,
    bodies: Vec<TxBody>,
) -> anyhow::Result<Vec<safeledger_client::rpc::Committed>> {
    let (mut c, chain) = public_client(target).await?;
    let mut seq = c.sequence(&key.public()).await?;
    let mut all = Vec::new();
    for batch in bodies.chunks(BATCH) {
        let txs: Vec<Transaction> = batch
            .iter()
            .map(|b| {
                seq += 1;
                let p = TxPayload::new(&chain, seq, when::now(), b.clone(), &mut rand::rngs::OsRng);
                Transaction::sign(p, &[key])
            })
            .collect();
        let out = c
            .submit_and_wait_detailed(&txs, Duration::from_secs(60))
            .await?;
        if let Some((id, why)) = out.refused.first() {
            return Err(exit::fail(
                Exit::Rejected,
                format!("transaction {id} rejected at admission: {why}; it was not committed"),
            ));
        }
        all.extend(out.committed);
    }
    Ok(all)
}

/// `safeledger alerts`.
pub async fn alerts(cmd: AlertsCmd) -> anyhow::Result<()> {
    match cmd {
        AlertsCmd::Ingest {
            file,
            thresholds: tpath,
            gateway_key,
            enterprise,
            gateway_id,
            dry_run,
            target,
        } => {
            let enterprise = enterprise_arg(&enterprise)?;
            let levels = thresholds(&tpath)?;
            let (readings, found) = crossings(&file, &levels, &enterprise, &gateway_id)?;
            let bodies: Vec<TxBody> = found.into_iter().map(TxBody::SensorAlert).collect();
            for b in &bodies {
                b.check_bounds()
                    .map_err(|e| exit::usage(format!("alert out of bounds: {e}")))?;
            }
            if dry_run {
                if target.output == Output::Json {
                    return print_json(&bodies);
                }
                for b in &bodies {
                    if let TxBody::SensorAlert(a) = b {
                        println!(
                            "  {}  {} {} {} >= {} (level {})",
                            a.alert_id, a.device, a.measure, a.value, a.threshold, a.level
                        );
                    }
                }
                println!(
                    "{readings} readings, {} crossings; nothing sent",
                    bodies.len()
                );
                return Ok(());
            }
            let key = read_key(&gateway_key)?;
            let committed = send(&target, &key, bodies).await?;
            let refused = committed
                .iter()
                .filter(|c| c.result.outcome != safeledger_core::Outcome::Accepted)
                .count();
            if target.output == Output::Json {
                print_json(&serde_json::json!({
                    "readings": readings,
                    "alerts": committed.iter().map(|c| serde_json::json!({
                        "tx_id": c.tx_id, "height": c.height, "outcome": c.result.outcome,
                    })).collect::<Vec<_>>(),
                }))?;
            } else {
                println!(
                    "{readings} readings, {} alerts sent ({} accepted, {refused} refused)",
                    committed.len(),
                    committed.len() - refused
                );
                for c in &committed {
                    println!(
                        "  {}  {}",
                        c.tx_id,
                        crate::cli::records::outcome_text(&c.result.outcome)
                    );
                }
            }
            if refused > 0 {
                return Err(exit::fail(
                    Exit::RefusedByRule,
                    format!("{refused} alerts refused by a rule"),
                ));
            }
            Ok(())
        }
        AlertsCmd::Ack {
            alert,
            enterprise,
            enterprise_key,
            note,
            target,
        } => {
            let body = TxBody::AlertAck(AlertAck {
                enterprise: enterprise_arg(&enterprise)?,
                alert: tx_id_arg("--alert", &alert)?,
                note,
            });
            body.check_bounds()
                .map_err(|e| exit::usage(format!("alerts ack: {e}")))?;
            let key = read_key(&enterprise_key)?;
            let c = send(&target, &key, vec![body]).await?;
            let r = c.first().context("the node returned no result")?;
            print_committed(r, target.output)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rising_crossings_become_alerts() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t.toml");
        std::fs::write(&t, "[methane_pct]\nlevels = [0.5, 1, \"1.5\"]\n").unwrap();
        let r = d.path().join("r.csv");
        std::fs::write(
            &r,
            "time,device,measure,value\n\
             2026-12-01T08:00:00Z,CH4-1,methane_pct,0.2\n\
             2026-12-01T08:01:00Z,CH4-1,methane_pct,0.7\n\
             2026-12-01T08:02:00Z,CH4-1,methane_pct,0.8\n\
             2026-12-01T08:03:00Z,CH4-2,methane_pct,1.6\n\
             2026-12-01T08:04:00Z,CH4-1,methane_pct,0.1\n\
             2026-12-01T08:05:00Z,CH4-1,methane_pct,1.2\n",
        )
        .unwrap();
        let levels = thresholds(&t).unwrap();
        let e = EnterpriseId::parse("test:1").unwrap();
        let (n, a) = crossings(&r, &levels, &e, "GW-1").unwrap();
        assert_eq!(n, 6);
        let got: Vec<(&str, u8, &str)> = a
            .iter()
            .map(|x| (x.device.as_str(), x.level, x.threshold.as_str()))
            .collect();
        assert_eq!(
            got,
            [("CH4-1", 1, "0.5"), ("CH4-2", 3, "1.5"), ("CH4-1", 2, "1")]
        );
        assert!(a
            .iter()
            .all(|x| TxBody::SensorAlert(x.clone()).check_bounds().is_ok()));
        std::fs::write(&t, "[methane_pct]\nlevels = [1, 0.5]\n").unwrap();
        assert!(thresholds(&t).is_err());
    }
}
