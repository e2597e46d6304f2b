//! `safeledger tip submit|status|follow-up` and `evidence add|get` (issue 20 items 4, 5).
//!
//! A tip goes to one agency's node without a key; the receipt code it answers is printed
//! once and kept nowhere else. Evidence files go to the recording agency's own node (the
//! officer's signed upload), then an `evidence_attachment` lists their hashes on the
//! record; `evidence get` asks the ledger which agency keeps a file, fetches it from that
//! agency's node and keeps it only when every byte matches the hash.

use crate::cli::act::Acting;
use crate::cli::args::Output;
use crate::cli::exit;
use crate::cli::records::{print_committed, print_json};
use crate::cli::submit;
use crate::cli::target::Target;
use crate::cli::verbs::{enterprise_arg, tx_id_arg};
use anyhow::Context;
use clap::Subcommand;
use safeledger_client::proto;
use safeledger_client::rpc::LedgerClient;
use safeledger_core::records::{EvidenceAttachment, EvidenceFile, TipFollowUp, TipStatus, TxBody};
use safeledger_core::Hash;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `safeledger tip`.
#[derive(Subcommand)]
pub enum TipCmd {
    /// Hand a tip-off to an agency, without any key: prints the receipt code, your only way
    /// back to the tip (keep it secret; it is shown once and stored nowhere).
    Submit {
        /// The agency receiving it (with --home: its node is asked).
        #[arg(long)]
        agency: Option<String>,
        /// The enterprise's id, when you know it.
        #[arg(long)]
        enterprise: Option<String>,
        /// The site's address (required without --enterprise).
        #[arg(long, default_value = "")]
        address: String,
        /// What you report.
        #[arg(long)]
        text: String,
        /// A photo, video or document to hand in (repeatable; at most 4, 4 MiB together).
        #[arg(long = "file")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
    /// Where your tip stands, by receipt code.
    Status {
        /// The receipt code `tip submit` printed.
        #[arg(long)]
        receipt: String,
        #[command(flatten)]
        target: Target,
    },
    /// Follow up a tip your agency received (the first follow-up triages it).
    FollowUp {
        /// The tip's id (in your inbox's tip_triage task).
        #[arg(long)]
        tip: String,
        /// under_investigation, verified, not_verified or reward_decided.
        #[arg(long)]
        status: String,
        /// What to tell the tipster.
        #[arg(long, default_value = "")]
        note: String,
        /// The reward in yuan, with reward_decided (at most 100,000).
        #[arg(long)]
        reward: Option<u32>,
        /// The reward claimant's real name: kept private at your agency's node.
        #[arg(long, default_value = "")]
        claimant: String,
        #[command(flatten)]
        acting: Acting,
    },
}

/// `safeledger evidence`.
#[derive(Subcommand)]
pub enum EvidenceCmd {
    /// Keep files at your agency's node and list them on one of its records (an
    /// inspection, a joint inspection it signed, an accident report).
    Add {
        /// The record's transaction id.
        #[arg(long)]
        record: String,
        /// The enterprise the record is about.
        #[arg(long)]
        enterprise: String,
        /// The media type of every file (by default from each file's extension).
        #[arg(long)]
        media_type: Option<String>,
        /// The files (at most 16).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Fetch an evidence file from the node of the agency keeping it, checked against
    /// its hash on the ledger (for an agency entitled to it).
    Get {
        /// The file's BLAKE3 hash (64 hex digits).
        hash: String,
        /// Where to write it (nothing is written when the bytes do not match).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

fn status_arg(s: &str) -> anyhow::Result<TipStatus> {
    serde_json::from_value(serde_json::Value::String(s.replace('-', "_"))).map_err(|_| {
        exit::usage(format!(
            "--status {s:?}: one of under_investigation, verified, not_verified, reward_decided"
        ))
    })
}

/// The media type of `path` by its extension.
fn media_type_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}

/// The client a tip goes through: the agency's node with --home and --agency, else the
/// target's nodes; unsigned.
fn tip_client(target: &Target, agency: Option<&str>) -> anyhow::Result<LedgerClient> {
    let (eps, home) = target.endpoints()?;
    if let (Some(_), None, None) = (&home, agency, &target.node) {
        return Err(exit::usage(
            "say which agency receives the tip: --agency (or --node with its URL)",
        ));
    }
    if let (Some(h), Some(a), None) = (&home, agency, &target.node) {
        let a = h
            .genesis
            .agency(a)
            .ok_or_else(|| exit::usage(format!("--agency {a}: no such agency in the genesis")))?;
        return Ok(LedgerClient::new(vec![a.grpc_addr.clone()]));
    }
    Ok(LedgerClient::new(eps))
}

/// `safeledger tip`.
pub async fn tip(cmd: TipCmd) -> anyhow::Result<()> {
    match cmd {
        TipCmd::Submit {
            agency,
            enterprise,
            address,
            text,
            files,
            target,
        } => {
            let mut c = tip_client(&target, agency.as_deref())?;
            let mut tip_files = Vec::new();
            for f in &files {
                let data = std::fs::read(f)
                    .map_err(|e| exit::usage(format!("--file {}: {e}", f.display())))?;
                tip_files.push(proto::TipFile {
                    media_type: media_type_of(f).into(),
                    name: file_name(f),
                    data,
                });
            }
            let r = c
                .submit_tip(proto::SubmitTipRequest {
                    enterprise: enterprise.unwrap_or_default(),
                    address,
                    description: text,
                    files: tip_files,
                })
                .await?;
            if target.output == Output::Json {
                return print_json(&serde_json::json!({
                    "receipt": r.receipt, "agency": r.agency,
                    "tx_id": hex::encode(&r.tx_id),
                }));
            }
            println!("tip handed to {}", r.agency);
            println!("receipt code: {}", r.receipt);
            println!(
                "keep the code secret: it is shown only now, and whoever holds it reads the \
                 tip's status (`safeledger tip status --receipt CODE`)"
            );
            Ok(())
        }
        TipCmd::Status { receipt, target } => {
            let (eps, _) = target.endpoints()?;
            let v = LedgerClient::new(eps).tip_status(&receipt).await?;
            if target.output == Output::Json {
                return print_json(&v);
            }
            println!(
                "tip received by {} on {}; triage due {}; status: {}",
                v["agency"].as_str().unwrap_or(""),
                v["received"].as_str().unwrap_or(""),
                v["triage_due"].as_str().unwrap_or(""),
                v["status"].as_str().unwrap_or("")
            );
            for f in v["follow_ups"].as_array().into_iter().flatten() {
                println!(
                    "  {}  {}  {}{}",
                    f["date"].as_str().unwrap_or(""),
                    f["status"].as_str().unwrap_or(""),
                    crate::cli::text::one_line(f["note"].as_str().unwrap_or("")),
                    f["reward_yuan"]
                        .as_u64()
                        .map(|y| format!("  reward {y} yuan"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        TipCmd::FollowUp {
            tip,
            status,
            note,
            reward,
            claimant,
            acting,
        } => {
            if status_arg(&status)? == TipStatus::RewardDecided && claimant.trim().is_empty() {
                return Err(exit::usage(
                    "a reward decision names its claimant: --claimant (kept private)",
                ));
            }
            let body = TxBody::TipFollowUp(TipFollowUp {
                tip_id: tip.trim().to_ascii_lowercase(),
                status: status_arg(&status)?,
                note,
                reward_yuan: reward,
                claimant_name: claimant.clone(),
            });
            body.check_bounds()
                .map_err(|e| exit::usage(format!("tip follow-up: {e}")))?;
            if claimant.is_empty() || acting.dry_run {
                return acting.act(body).await;
            }
            let home = acting.load_home()?;
            let key = acting.key(&home)?;
            let r = submit::submit_signed_by(
                &home,
                &acting.agency,
                &key,
                body,
                acting.effective_at()?,
                &["claimant_name"],
                Duration::from_secs(acting.timeout),
            )
            .await?;
            print_committed(&r, acting.output)
        }
    }
}

/// `safeledger evidence`.
pub async fn evidence(cmd: EvidenceCmd) -> anyhow::Result<()> {
    match cmd {
        EvidenceCmd::Add {
            record,
            enterprise,
            media_type,
            files,
            acting,
        } => {
            let record = tx_id_arg("--record", &record)?;
            let enterprise = enterprise_arg(&enterprise)?;
            let home = acting.load_home()?;
            let key = acting.key(&home)?;
            let own = home.genesis.agency(&acting.agency).ok_or_else(|| {
                exit::usage(format!("no agency {} in the genesis", acting.agency))
            })?;
            let mut listed = Vec::new();
            for f in &files {
                let mt = media_type
                    .clone()
                    .unwrap_or_else(|| media_type_of(f).into());
                let (hash, bytes) = safeledger_client::rpc::hash_file(f)
                    .await
                    .map_err(|e| exit::usage(format!("{}: {e}", f.display())))?;
                listed.push(EvidenceFile {
                    hash,
                    bytes,
                    media_type: mt,
                    name: file_name(f),
                });
            }
            let body = TxBody::EvidenceAttachment(EvidenceAttachment {
                enterprise,
                record,
                files: listed.clone(),
            });
            body.check_bounds()
                .map_err(|e| exit::usage(format!("evidence add: {e}")))?;
            // The rules' verdict first: nothing is uploaded for a record they would refuse.
            if !acting.dry_run {
                let eff = acting.effective_at()?;
                let (_, _, outcome) =
                    crate::cli::act::verdict(&home, &key, body.clone(), eff).await?;
                if let safeledger_core::Outcome::Refused { rule, reason } = outcome {
                    return Err(exit::fail(
                        exit::Exit::RefusedByRule,
                        format!("rule {rule} would refuse the attachment: {reason}; nothing was uploaded"),
                    ));
                }
                let mut c =
                    LedgerClient::new(vec![own.grpc_addr.clone()]).signed_by(home.signer_for(&key));
                for (f, l) in files.iter().zip(&listed) {
                    let kept = c
                        .put_evidence(f, &l.media_type, &l.name)
                        .await
                        .with_context(|| {
                            format!("keeping {} at {}'s node", f.display(), acting.agency)
                        })?;
                    if acting.output == Output::Text {
                        println!(
                            "kept {} ({} bytes) as {}{}",
                            f.display(),
                            kept.size,
                            l.hash,
                            if kept.already_held {
                                ", held already"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
            acting.act(body).await
        }
        EvidenceCmd::Get { hash, out, target } => {
            let hash = Hash::from_hex(hash.trim())
                .map_err(|e| exit::usage(format!("{hash:?} is not a file hash: {e}")))?;
            if std::fs::symlink_metadata(&out).is_ok() {
                return Err(exit::usage(format!(
                    "--out {}: something is there already; name a new file",
                    out.display()
                )));
            }
            let (eps, home) = target.endpoints()?;
            let mut c = target.client().await?;
            let listings = c.query("evidence_file", "", &hash.to_hex(), 16).await?;
            let Some(keeper) = listings
                .as_array()
                .and_then(|a| a.first())
                .and_then(|l| l["keeper"].as_str())
                .map(str::to_string)
            else {
                return Err(exit::fail(
                    exit::Exit::Denied,
                    format!("no record on the ledger lists file {hash}"),
                ));
            };
            // Ask the keeping agency's node (with --node, the node given).
            let mut from = match (&home, &target.node) {
                (Some(h), None) => {
                    let a = h.genesis.agency(&keeper).ok_or_else(|| {
                        anyhow::anyhow!("the keeping agency {keeper} is not in the genesis")
                    })?;
                    let signer = target.signer(&eps, Some(h), false).await?;
                    let c = LedgerClient::new(vec![a.grpc_addr.clone()]);
                    match signer {
                        Some(s) => c.signed_by(s),
                        None => c,
                    }
                }
                _ => c,
            };
            let got = from.get_evidence(&hash, &out).await?;
            if target.output == Output::Json {
                return print_json(&serde_json::json!({
                    "hash": got.hash, "bytes": got.size, "media_type": got.media_type,
                    "name": got.name, "kept_by": keeper, "out": out,
                }));
            }
            println!(
                "{} ({} bytes, {}, {:?} at {keeper}) checked against its hash and written to {}",
                got.hash,
                got.size,
                got.media_type,
                got.name,
                out.display()
            );
            Ok(())
        }
    }
}
