//! `safeledger inspection joint`, `tx cosign` and `tx send`: one visit by several agencies
//! recorded once, signed by an officer of each (issue 20 item 3).
//!
//! Where the agencies' officers share a terminal (the visit's laptop, the loopback demo),
//! `inspection joint --cosign AGENCY[:NAME]` signs with each key at once. Otherwise the
//! lead writes the transaction with `--out visit.tx`, each other agency adds its officer's
//! signature with `tx cosign visit.tx`, and anyone sends it with `tx send visit.tx`. The
//! transaction carries the lead officer's next sequence: send it before that officer
//! signs anything else.

use crate::cli::act::{officer_key_path, Acting};
use crate::cli::exit;
use crate::cli::home::{read_key, Home};
use crate::cli::records::print_committed;
use crate::cli::submit;
use clap::Args;
use safeledger_core::{SecretKey, Transaction, TxBody};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most bytes of a transaction file.
const MAX_TX_FILE_BYTES: u64 = 4 << 20;

/// `safeledger inspection joint`.
#[derive(Args)]
pub struct JointArgs {
    /// The record file: {"joint_inspection": {"enterprise", "visit_id", "sections":
    /// [{"agency", "inspection": {...an inspection_record...}}, ...]}}.
    #[arg(long)]
    file: PathBuf,
    /// Co-sign here as this agency's officer (its officer.key, or officers/NAME.key with
    /// AGENCY:NAME); repeatable, one per other agency with a section.
    #[arg(long = "cosign", value_name = "AGENCY[:NAME]")]
    cosign: Vec<String>,
    /// Write the signed transaction here for the other agencies to co-sign (`tx cosign`)
    /// instead of submitting it.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    acting: Acting,
}

/// The key of `AGENCY[:NAME]` in `home`.
fn key_of(home: &Home, spec: &str) -> anyhow::Result<SecretKey> {
    match spec.split_once(':') {
        None => {
            home.known_agency(spec)?;
            home.officer_key(spec)
        }
        Some((agency, name)) => {
            home.known_agency(agency)?;
            let path = officer_key_path(home, agency, name)?;
            if !path.exists() {
                return Err(exit::usage(format!(
                    "no key for officer {name} of {agency} in {}",
                    path.display()
                )));
            }
            read_key(&path)
        }
    }
}

fn write_tx(path: &Path, tx: &Transaction) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(tx)? + "\n";
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
}

fn read_tx(path: &Path) -> anyhow::Result<Transaction> {
    crate::cli::files::read_json(path, "a signed transaction", MAX_TX_FILE_BYTES)
}

fn signers(tx: &Transaction) -> String {
    tx.signatures
        .iter()
        .map(|s| s.signer.to_hex())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `safeledger inspection joint`.
pub async fn joint(args: JointArgs) -> anyhow::Result<()> {
    let body = crate::cli::files::read_record(&args.file)?;
    if !matches!(body, TxBody::JointInspection(_)) {
        return Err(exit::usage(format!(
            "{} holds a {} record, not a joint_inspection",
            args.file.display(),
            body.kind().name()
        )));
    }
    let acting = &args.acting;
    let home = acting.load_home()?;
    let key = acting.key(&home)?;
    let (mut tx, c) = submit::sign_next(&home, &key, body, acting.effective_at()?).await?;
    for spec in &args.cosign {
        let k = key_of(&home, spec)?;
        if !tx.cosign(&k) {
            return Err(exit::usage(format!(
                "--cosign {spec}: that key signed already"
            )));
        }
    }
    if let Some(out) = &args.out {
        write_tx(out, &tx)?;
        println!(
            "wrote joint inspection {} signed by {} to {}; each other agency adds its \
             officer's signature with `safeledger tx cosign {}`, then `safeledger tx send {}`",
            tx.id(),
            signers(&tx),
            out.display(),
            out.display(),
            out.display()
        );
        return Ok(());
    }
    let r = submit::send_signed(&home, c, tx, Duration::from_secs(acting.timeout)).await?;
    print_committed(&r, acting.output)
}

/// `safeledger tx cosign FILE`: adds the acting officer's signature.
pub fn cosign(file: &Path, acting: &Acting) -> anyhow::Result<()> {
    let home = acting.load_home()?;
    let key = acting.key(&home)?;
    let mut tx = read_tx(file)?;
    if tx.payload.chain_id != home.genesis.chain_id {
        return Err(exit::usage(format!(
            "{} is for chain {}, not {}",
            file.display(),
            tx.payload.chain_id,
            home.genesis.chain_id
        )));
    }
    if !tx.cosign(&key) {
        return Err(exit::usage(format!(
            "{} signed {} already",
            key.public(),
            file.display()
        )));
    }
    write_tx(file, &tx)?;
    println!("{} now signed by {}", tx.id(), signers(&tx));
    Ok(())
}

/// `safeledger tx send FILE`: submits a transaction signed elsewhere and waits for it.
pub async fn send(file: &Path, acting: &Acting) -> anyhow::Result<()> {
    let home = acting.load_home()?;
    let key = acting.key(&home)?;
    let tx = read_tx(file)?;
    tx.check_stateless(&home.genesis.chain_id)
        .map_err(|e| exit::usage(format!("{}: {e}", file.display())))?;
    let r = submit::send_signed(
        &home,
        home.client_for(&key),
        tx,
        Duration::from_secs(acting.timeout),
    )
    .await?;
    print_committed(&r, acting.output)
}
