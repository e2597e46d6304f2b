//! Acting as an officer (issue 19 item 4): who signs a record — the agency's first officer,
//! or one of its officers registered from this directory (`--officer NAME`, key file
//! `HOME/AGENCY/officers/NAME.key` written by `officer register`) — and whether the record
//! is only tried against the rules (`--dry-run`: the node's `CheckTransaction`, nothing
//! submitted) or submitted and waited for. Every record verb flattens [`Acting`].

use crate::cli::args::Output;
use crate::cli::exit::{self, Exit};
use crate::cli::home::{read_key, Home};
use crate::cli::records::{outcome_text, print_committed, print_json};
use crate::cli::{submit, when};
use clap::Args;
use safeledger_core::{Outcome, SecretKey, Timestamp, TxBody};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Who signs, when the act happened, and whether to submit.
#[derive(Args, Clone, Debug)]
pub struct Acting {
    /// The network directory.
    #[arg(long)]
    pub home: PathBuf,
    /// The agency you act for.
    #[arg(long)]
    pub agency: String,
    /// Sign as this officer of the agency, registered from this directory with `officer
    /// register` (its key is HOME/AGENCY/officers/NAME.key); the agency's first officer
    /// (HOME/AGENCY/officer.key) by default.
    #[arg(long, value_name = "NAME")]
    pub officer: Option<String>,
    /// When the act happened: YYYY-MM-DD, or an RFC 3339 date-time such as
    /// 2024-05-01T14:30:00+08:00; not before 1970, not in the future; now by default.
    #[arg(long)]
    pub effective_at: Option<String>,
    /// Print the signed record and the rules' verdict on the current state (the node's
    /// pre-check), and submit nothing: exit 0 when it would be accepted, 3 when a rule
    /// would refuse it.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for the transaction to commit before giving up (exit 5, with its id:
    /// it may still commit); 1 to 3600.
    #[arg(long, default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

/// True for an officer's name as a file name: `[A-Za-z0-9._-]`, 1 to 64 characters, not
/// starting with a dot.
pub fn is_badge(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Where `officer register` keeps officer `name`'s key for `agency`.
pub fn officer_key_path(home: &Home, agency: &str, name: &str) -> anyhow::Result<PathBuf> {
    if !is_badge(name) {
        return Err(exit::usage(format!(
            "officer name {name:?}: an officer's name here is its badge, [A-Za-z0-9._-], 1 to \
             64 characters"
        )));
    }
    Ok(home
        .agency_dir(agency)
        .join("officers")
        .join(format!("{name}.key")))
}

impl Acting {
    /// The network directory.
    pub fn load_home(&self) -> anyhow::Result<Home> {
        let home = Home::load(&self.home)?;
        home.known_agency(&self.agency)?;
        Ok(home)
    }

    /// The signing key: `--officer`'s, or the agency's first officer's.
    pub fn key(&self, home: &Home) -> anyhow::Result<SecretKey> {
        match &self.officer {
            None => home.officer_key(&self.agency),
            Some(name) => {
                let path = officer_key_path(home, &self.agency, name)?;
                if !Path::new(&path).exists() {
                    return Err(exit::usage(format!(
                        "no key for officer {name} of {} in {} (register it with `safeledger \
                         officer register --name {name}`)",
                        self.agency,
                        path.display()
                    )));
                }
                read_key(&path)
            }
        }
    }

    /// `--effective-at`, or now.
    pub fn effective_at(&self) -> anyhow::Result<Timestamp> {
        when::effective_or_now(self.effective_at.as_deref(), when::now())
    }

    /// Signs `body` and either tries it (`--dry-run`) or submits it and waits, printing the
    /// result; the exit status says which (README "Exit codes").
    pub async fn act(&self, body: TxBody) -> anyhow::Result<()> {
        let home = self.load_home()?;
        let key = self.key(&home)?;
        let eff = self.effective_at()?;
        if self.dry_run {
            return self.dry_run(&home, &key, body, eff).await;
        }
        let deadline = Duration::from_secs(self.timeout);
        let r =
            submit::submit_signed_by(&home, &self.agency, &key, body, eff, &[], deadline).await?;
        print_committed(&r, self.output)
    }

    async fn dry_run(
        &self,
        home: &Home,
        key: &SecretKey,
        body: TxBody,
        eff: Timestamp,
    ) -> anyhow::Result<()> {
        let (tx, verdict, outcome) = verdict(home, key, body, eff).await?;
        if self.output == Output::Json {
            print_json(&serde_json::json!({
                "dry_run": true,
                "tx_id": tx.id(),
                "signer": key.public().to_hex(),
                "sequence": tx.payload.sequence,
                "effective_at": tx.payload.effective_at,
                "record": tx.payload.body,
                "height": verdict["height"],
                "outcome": outcome,
            }))?;
        } else {
            println!(
                "dry run, nothing submitted: {} signed by {} (sequence {})",
                tx.payload.body.kind().name(),
                key.public(),
                tx.payload.sequence
            );
            println!("{}", serde_json::to_string_pretty(&tx.payload.body)?);
            println!(
                "verdict on the state before height {}: {}",
                verdict["height"],
                outcome_text(&outcome)
            );
        }
        match outcome {
            Outcome::Accepted => Ok(()),
            Outcome::Refused { rule, .. } => Err(exit::fail(
                Exit::RefusedByRule,
                format!("dry run: rule {rule} would refuse it; nothing was submitted"),
            )),
        }
    }
}

/// Signs `body` with `key` at its next sequence and asks a node for the rules' verdict on it
/// at the next height (`CheckTransaction`; nothing is submitted): the signed transaction,
/// the node's verdict (JSON, with its `height`) and the outcome.
///
/// # Errors
/// Those of [`submit::sign_next`]; no node answering; a verdict that does not decode.
pub async fn verdict(
    home: &Home,
    key: &SecretKey,
    body: TxBody,
    eff: Timestamp,
) -> anyhow::Result<(safeledger_core::Transaction, serde_json::Value, Outcome)> {
    let (tx, mut client) = submit::sign_next(home, key, body, eff).await?;
    let verdict = client.check_transaction(&tx).await?;
    let outcome: Outcome = serde_json::from_value(verdict["outcome"].clone())
        .map_err(|e| anyhow::anyhow!("the node's verdict did not decode: {e}"))?;
    Ok((tx, verdict, outcome))
}
