//! `safeledger audit draw export | verify`: a double-random draw checked offline
//! (issue 20 item 2; `safeledger_core::draw_audit`).

use crate::cli::audit::{load_checkpoint, load_genesis};
use crate::cli::target::Target;
use anyhow::{bail, Context};
use clap::Subcommand;
use safeledger_client::audit::AuditClient;
use safeledger_core::draw::DrawPool;
use safeledger_core::draw_audit::{DrawAudit, DrawOutcome, DRAW_AUDIT_FORMAT, DRAW_AUDIT_VERSION};
use safeledger_core::records::TxKind;
use safeledger_core::view::{decode, encode, field_names, Verifier};
use safeledger_core::Hash;
use std::path::{Path, PathBuf};

/// Largest draw audit file read, bytes (a view's bound: the file is decoded like one).
const MAX_DRAW_AUDIT_BYTES: u64 = safeledger_core::view::MAX_VIEW_BYTES as u64;

/// `safeledger audit draw`.
#[derive(Subcommand)]
pub enum DrawAuditCmd {
    /// Write a complete draw's audit file: views of its opening and of every beacon step
    /// (every field revealed; they are public), the pool its dealers attested and the
    /// outcome the chain computed.
    Export {
        /// The draw's opening transaction id (hex).
        draw: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        target: Target,
    },
    /// Recompute a draw offline from its audit file: exit 0 when the selection, the
    /// assignment and the withholdings follow from the certified records, else exit 1
    /// naming the first element that failed.
    Verify {
        /// The audit file.
        file: PathBuf,
        /// The genesis file, the only thing trusted.
        #[arg(long)]
        genesis: PathBuf,
        /// A checkpoint to trust as well (verified from genesis first).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
}

/// `safeledger audit draw`.
pub async fn run(cmd: DrawAuditCmd) -> anyhow::Result<()> {
    match cmd {
        DrawAuditCmd::Export { draw, out, target } => export(&draw, &out, target).await,
        DrawAuditCmd::Verify {
            file,
            genesis,
            checkpoint,
        } => verify(&file, &genesis, checkpoint.as_deref()),
    }
}

fn all_fields(kind: TxKind) -> Vec<String> {
    field_names(kind)
        .iter()
        .filter(|f| **f != "type")
        .map(|f| f.to_string())
        .collect()
}

/// The view of `tx` with every field revealed; waits up to 30 s while its result is not
/// certified yet (the draw's last step is certified by the next block).
async fn view_of(
    client: &AuditClient,
    tx: Hash,
    kind: TxKind,
) -> anyhow::Result<safeledger_core::view::View> {
    let t = std::time::Instant::now();
    loop {
        match client.view(tx, &all_fields(kind), None).await {
            Err(safeledger_client::audit::AuditClientError::Status(s))
                if s.code() == tonic::Code::FailedPrecondition
                    && t.elapsed() < std::time::Duration::from_secs(30) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            r => return Ok(r?),
        }
    }
}

async fn export(draw: &str, out: &Path, target: Target) -> anyhow::Result<()> {
    let id = Hash::from_hex(draw.trim()).context("the draw is named by its transaction id")?;
    let v = target.client().await?.query("draw", "", draw, 1).await?;
    let d = &v["draw"];
    if v["phase"] != "complete" {
        bail!(
            "draw {id} is in its {} phase: only a complete draw has an outcome to audit",
            v["phase"].as_str().unwrap_or("?")
        );
    }
    let pool: DrawPool = serde_json::from_value(v["pool"].clone()).context("the pool")?;
    let steps: Vec<Hash> = serde_json::from_value(d["steps"].clone()).context("the steps")?;
    let outcome = DrawOutcome {
        randomness: serde_json::from_value(d["result"]["randomness"].clone())?,
        assignments: serde_json::from_value(d["result"]["assignments"].clone())?,
        withheld: serde_json::from_value(d["withheld"].clone())?,
    };
    let (eps, h) = target.endpoints()?;
    let mut client = AuditClient::new(eps.clone());
    if let Some(s) = target.signer(&eps, h.as_ref(), true).await? {
        client = client.signed_by(s);
    }
    let mut views = vec![view_of(&client, id, TxKind::DrawOpen).await?];
    for s in &steps {
        views.push(view_of(&client, *s, TxKind::DrawBeacon).await?);
    }
    let audit = DrawAudit {
        format: DRAW_AUDIT_FORMAT.into(),
        version: DRAW_AUDIT_VERSION,
        draw: id,
        pool,
        views,
        outcome,
    };
    if let Some(home) = &h {
        safeledger_core::draw_audit::verify(&Verifier::new(&home.genesis), &audit)
            .map_err(|e| anyhow::anyhow!("the node's draw does not verify: {e}"))?;
    }
    std::fs::write(out, encode(&audit) + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote draw {id} ({} steps, pool of {}) to {}",
        steps.len(),
        audit.pool.enterprises.len(),
        out.display()
    );
    Ok(())
}

fn verify(file: &Path, genesis: &Path, checkpoint: Option<&Path>) -> anyhow::Result<()> {
    let g = load_genesis(genesis)?;
    let mut verifier = Verifier::new(&g);
    if let Some(cp) = checkpoint {
        verifier
            .trust_checkpoint(&load_checkpoint(cp)?)
            .map_err(|e| anyhow::anyhow!("INVALID checkpoint: {e}"))?;
    }
    let len = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if len > MAX_DRAW_AUDIT_BYTES {
        bail!(
            "INVALID {}: {len} bytes exceed {MAX_DRAW_AUDIT_BYTES}",
            file.display()
        );
    }
    let bytes = crate::cli::audit::read(file)?;
    let audit: DrawAudit =
        decode(&bytes).map_err(|e| anyhow::anyhow!("INVALID {}: {e}", file.display()))?;
    match safeledger_core::draw_audit::verify(&verifier, &audit) {
        Ok(v) => {
            println!(
                "VALID draw {} of {} for {}: {} dealers ({} withheld, recovered: {}), pool of {}, {} selected",
                v.open.draw_id,
                audit.draw,
                v.open.month,
                v.dealers.len(),
                v.outcome.withheld.len(),
                if v.outcome.withheld.is_empty() { "none".to_string() } else { v.outcome.withheld.join(", ") },
                v.pool_size,
                v.outcome.assignments.len()
            );
            println!("randomness {}", v.outcome.randomness);
            Ok(())
        }
        Err(e) => bail!("INVALID {}: {e}", file.display()),
    }
}
