//! The auditor's commands, `safeledger audit view | verify | checkpoint | consistency`:
//! fetching desensitized views, checkpoints and consistency proofs, and verifying them
//! offline from the genesis alone.

use crate::cli::args::{AuditCmd, Target};
use anyhow::{bail, Context};
use safeledger_client::audit::{check_consistency, AuditClient};
use safeledger_core::view::{decode, encode, Checkpoint, StateProofDoc, Verified, Verifier, View};
use safeledger_core::{Genesis, Hash, Outcome};
use std::path::Path;

/// The bytes of `path`, without a byte-order mark.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(safeledger_client::input::strip_bom(&bytes).to_vec())
}

/// Reads and validates a genesis file.
pub fn load_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let g: Genesis =
        crate::cli::files::read_json(path, "a genesis document", crate::cli::home::GENESIS_LIMIT)?;
    g.validate()?;
    Ok(g)
}

/// Reads a checkpoint file (decoded, not verified).
pub fn load_checkpoint(path: &Path) -> anyhow::Result<Checkpoint> {
    decode(&read(path)?).with_context(|| format!("{} is not a checkpoint", path.display()))
}

/// A human summary of a verified view.
pub fn render(v: &Verified) -> String {
    let mut s = format!(
        "VALID: transaction {} ({}) at height {} index {} (ledger index {}), effective {}\n",
        v.tx_id,
        v.kind.name(),
        v.height,
        v.index,
        v.ledger_index,
        v.effective_at.date_string()
    );
    for (key, agency) in &v.signers {
        let who = agency
            .as_deref()
            .unwrap_or("an officer registered on chain");
        s.push_str(&format!("  signed by {} ({who})\n", key.to_hex()));
    }
    for (name, value) in &v.revealed {
        let shown = value
            .as_ref()
            .map(|j| j.to_string())
            .unwrap_or_else(|| "(not decodable by this version)".into());
        s.push_str(&format!("  {name} = {shown}\n"));
    }
    if !v.hidden.is_empty() {
        s.push_str(&format!("  hidden: {}\n", v.hidden.join(", ")));
    }
    if !v.erased.is_empty() {
        s.push_str(&format!(
            "  erased: {} (the serving node states it erased these private values; not \
             proven: their digests are)\n",
            v.erased.join(", ")
        ));
    }
    let outcome = match &v.outcome {
        Outcome::Accepted => "accepted".to_string(),
        Outcome::Refused { rule, reason } => format!("refused by {rule}: {reason}"),
    };
    s.push_str(&format!("  result: {outcome}\n"));
    s.push_str(&format!(
        "  certified by the commit certificate of header {}{}\n",
        v.certified_height,
        if v.from_checkpoint {
            " (a trusted checkpoint)"
        } else {
            " from genesis"
        }
    ));
    s
}

/// What `audit view` asks for.
pub struct ViewRequest<'a> {
    /// Transaction id, hex.
    pub tx: &'a str,
    /// Field names to reveal.
    pub reveal: &'a [String],
    /// Where to write the view.
    pub out: &'a Path,
    /// A checkpoint file to anchor the view in the ledger tree of.
    pub anchor: Option<&'a Path>,
    /// Declare the read of the private fields among `reveal` on chain first, with this
    /// purpose (officers only; see [`declare_read`]).
    pub purpose: Option<&'a str>,
}

/// `audit view`: fetch a view (signing the request as `signer`: an auditor, or an officer
/// for private fields its agency may see), verify it when the genesis is known, write it to
/// `out`.
pub async fn view(
    endpoints: Vec<String>,
    signer: Option<safeledger_client::auth::Signer>,
    genesis: Option<&Genesis>,
    req: ViewRequest<'_>,
) -> anyhow::Result<()> {
    let ViewRequest {
        tx,
        reveal,
        out,
        anchor,
        purpose,
    } = req;
    let id = Hash::from_hex(tx).context("--tx must be a transaction id (64 hex characters)")?;
    // A private read is served only by the reader's own agency's node (which holds the
    // value, recorded there or fetched under a grant): ask that node, and only once it is
    // known to answer, declare the read — a declaration whose view no node would serve
    // would stand in the read log for nothing (issue 18, point 10).
    let endpoints = match (purpose, &signer, genesis) {
        (Some(_), Some(s), Some(g)) if endpoints.len() > 1 => {
            match g.agency_of_officer(&s.public()) {
                Some(a) => vec![a.grpc_addr.clone()],
                None => endpoints,
            }
        }
        _ => endpoints,
    };
    if purpose.is_some() {
        let mut probe = safeledger_client::rpc::LedgerClient::new(endpoints.clone());
        probe.status().await.with_context(|| {
            format!(
                "the node that would serve the private read ({}) does not answer; nothing \
                 was declared",
                endpoints.join(", ")
            )
        })?;
    }
    let mut client = AuditClient::new(endpoints.clone());
    if let Some(s) = &signer {
        client = client.signed_by(s.clone());
    }
    let anchor_cp = anchor.map(load_checkpoint).transpose()?;
    let declaration = match purpose {
        None => None,
        Some(purpose) => {
            let signer = signer
                .as_ref()
                .context("--purpose needs an officer's key (--as AGENCY or --key FILE)")?;
            let declared = declare_read(endpoints, signer, id, reveal, purpose).await?;
            if let Some((d, fields)) = &declared {
                println!(
                    "declared the read of {} on chain: transaction {d}",
                    fields.join(",")
                );
            }
            declared.map(|(d, _)| d)
        }
    };
    let v = client
        .view_declared(
            id,
            reveal,
            anchor_cp.as_ref().map(|c| c.header.ledger_size),
            declaration,
        )
        .await?;
    if let Some(g) = genesis {
        let mut verifier = Verifier::new(g);
        if let Some(cp) = &anchor_cp {
            verifier
                .trust_checkpoint(cp)
                .context("the anchor checkpoint does not verify")?;
        }
        verifier
            .verify(&v)
            .context("the node's view does not verify against genesis")?;
    }
    std::fs::write(out, encode(&v) + "\n").with_context(|| format!("writing {}", out.display()))?;
    println!("wrote the view of {id} to {}", out.display());
    Ok(())
}

/// A view file's bytes verified offline from `genesis` alone: what it shows, or why it is
/// invalid, naming the first failing element (the console's Audit page).
///
/// # Errors
/// Not a view, or a view that does not verify.
pub fn verify_bytes(genesis: &Genesis, bytes: &[u8]) -> Result<String, String> {
    let v = decode::<View>(bytes).map_err(|e| e.to_string())?;
    Verifier::new(genesis)
        .verify(&v)
        .map(|ok| render(&ok))
        .map_err(|e| e.to_string())
}

/// Whether `bytes` is a JSON document whose `format` is a state proof's.
fn is_state_proof(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Format {
        format: String,
    }
    serde_json::from_slice::<Format>(bytes)
        .is_ok_and(|f| f.format == safeledger_core::view::STATE_PROOF_FORMAT)
}

/// `audit verify`: verify a view or state proof file offline; on success print what it
/// shows.
pub fn verify(view: &Path, genesis: &Path, checkpoint: Option<&Path>) -> anyhow::Result<()> {
    let g = load_genesis(genesis)?;
    let mut verifier = Verifier::new(&g);
    if let Some(cp) = checkpoint {
        let cp = load_checkpoint(cp)?;
        verifier
            .trust_checkpoint(&cp)
            .map_err(|e| anyhow::anyhow!("INVALID checkpoint: {e}"))?;
    }
    let bytes = read(view)?;
    if is_state_proof(&bytes) {
        let result = decode::<StateProofDoc>(&bytes).and_then(|d| {
            verifier.verify_state(&d)?;
            Ok(d)
        });
        return match result {
            Ok(d) => {
                print!("{}", crate::cli::audit_state::render(&d, None));
                Ok(())
            }
            Err(e) => bail!("INVALID {}: {e}", view.display()),
        };
    }
    let result = decode::<View>(&bytes).and_then(|v| verifier.verify(&v));
    match result {
        Ok(v) => {
            print!("{}", render(&v));
            Ok(())
        }
        Err(e) => bail!("INVALID {}: {e}", view.display()),
    }
}

/// `audit checkpoint`: fetch the checkpoint of `height` (0: latest), verify it when the
/// genesis is known, print or write it.
pub async fn checkpoint(
    endpoints: Vec<String>,
    genesis: Option<&Genesis>,
    height: u64,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let cp = AuditClient::new(endpoints).checkpoint(height).await?;
    if let Some(g) = genesis {
        Verifier::new(g)
            .verify_checkpoint(&cp)
            .context("the node's checkpoint does not verify against genesis")?;
    }
    let text = encode(&cp) + "\n";
    match out {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
            println!(
                "wrote the checkpoint of height {} (ledger size {}) to {}",
                cp.header.height,
                cp.header.ledger_size,
                p.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `audit consistency`: verify both checkpoints (when the genesis is known), fetch the
/// consistency proof between their ledger trees and verify it.
pub async fn consistency(
    endpoints: Vec<String>,
    genesis: Option<&Genesis>,
    old: &Path,
    new: &Path,
) -> anyhow::Result<()> {
    let (a, b) = (load_checkpoint(old)?, load_checkpoint(new)?);
    if genesis.is_none() {
        eprintln!("note: no genesis given; the checkpoints' certificates are not checked");
    }
    let names = (old.display().to_string(), new.display().to_string());
    println!(
        "{}",
        consistency_of(endpoints, genesis, &a, &b, (&names.0, &names.1)).await?
    );
    Ok(())
}

/// Checkpoints `a` (older) and `b` verified against `genesis` (when known) and the
/// consistency proof between their ledger trees fetched and verified: the sentence that
/// says so (`names`: how the two are called in messages; the console's Audit page and
/// `audit consistency`).
///
/// # Errors
/// `INVALID <name>: …` for a checkpoint that does not verify, a pair in the wrong order,
/// no node answering, `INCONSISTENT: …` for a proof that does not verify.
pub async fn consistency_of(
    endpoints: Vec<String>,
    genesis: Option<&Genesis>,
    a: &Checkpoint,
    b: &Checkpoint,
    names: (&str, &str),
) -> anyhow::Result<String> {
    if let Some(g) = genesis {
        let v = Verifier::new(g);
        v.verify_checkpoint(a)
            .map_err(|e| anyhow::anyhow!("INVALID {}: {e}", names.0))?;
        v.verify_checkpoint(b)
            .map_err(|e| anyhow::anyhow!("INVALID {}: {e}", names.1))?;
    }
    let (first, second) = (a.header.ledger_size, b.header.ledger_size);
    if first > second {
        bail!(
            "{} (ledger size {first}) is newer than {} ({second}): swap them",
            names.0,
            names.1
        );
    }
    let proof = AuditClient::new(endpoints)
        .consistency(first, second)
        .await?;
    check_consistency(a, b, &proof)
        .map_err(|e| anyhow::anyhow!("INCONSISTENT: ledger {first} → {second}: {e}"))?;
    Ok(format!(
        "CONSISTENT: the ledger of height {} ({first} transactions) is a prefix of the ledger of height {} ({second} transactions); proof of {} hashes",
        a.header.height,
        b.header.height,
        proof.len()
    ))
}

/// Commits a read declaration (`private_read`, issue 8 item 2) by `signer` for those of
/// `reveal` that can be private in `record`'s kind, with `purpose`, waiting until it is
/// committed; returns its transaction id and the fields it names, or `None` when `reveal`
/// names no such field (nothing to declare).
///
/// # Errors
/// No node reachable or no such record; the declaration refused at admission or by the
/// rules (the reason: e.g. an agency without a grant for a field); not committed within a
/// minute.
pub async fn declare_read(
    endpoints: Vec<String>,
    signer: &safeledger_client::auth::Signer,
    record: Hash,
    reveal: &[String],
    purpose: &str,
) -> anyhow::Result<Option<(Hash, Vec<String>)>> {
    use safeledger_core::records::PrivateRead;
    use safeledger_core::{Timestamp, TxBody, TxPayload};
    let mut c = safeledger_client::rpc::LedgerClient::new(endpoints).signed_by(signer.clone());
    let (recorded, ..) = c
        .transaction(record)
        .await
        .with_context(|| format!("looking up record {record}"))?;
    let allowed = safeledger_core::private::withholdable(recorded.payload.body.kind());
    let fields: Vec<String> = reveal
        .iter()
        .filter(|f| allowed.contains(&f.as_str()))
        .cloned()
        .collect();
    if fields.is_empty() {
        return Ok(None);
    }
    let seq = c.sequence(&signer.public()).await? + 1;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let body = TxBody::PrivateRead(PrivateRead {
        record,
        fields: fields.clone(),
        purpose: purpose.to_string(),
    });
    let payload = TxPayload::new(
        signer.chain_id(),
        seq,
        Timestamp(now_ms),
        body,
        &mut rand::rngs::OsRng,
    );
    let tx = signer.sign_transaction(payload);
    let mut done = c
        .submit_and_wait(&[tx], std::time::Duration::from_secs(60))
        .await
        .context("declaring the read on chain")?;
    let d = done.pop().context("the node returned no result")?;
    if let Outcome::Refused { rule, reason } = d.result.outcome {
        bail!("the read declaration was refused by {rule}: {reason}");
    }
    Ok(Some((d.tx_id, fields)))
}

/// `safeledger audit view | verify | checkpoint | consistency`.
pub async fn run(cmd: AuditCmd) -> anyhow::Result<()> {
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
            let req = ViewRequest {
                tx: &tx,
                reveal: &reveal,
                out: &out,
                anchor: anchor.as_deref(),
                purpose: purpose.as_deref(),
            };
            view(eps, signer, g.as_ref(), req).await?;
        }
        AuditCmd::State {
            enterprise,
            licence,
            height,
            out,
            target,
        } => {
            let (eps, h) = target.endpoints()?;
            let signer = target.signer(&eps, h.as_ref(), true).await?;
            let g = h.map(|h| h.genesis);
            let req = crate::cli::audit_state::StateRequest {
                enterprises: &enterprise,
                licence: licence.as_deref(),
                height: height.unwrap_or(0),
                out: &out,
            };
            crate::cli::audit_state::state(eps, signer, g.as_ref(), req).await?;
        }
        AuditCmd::Verify {
            view,
            genesis,
            checkpoint,
        } => {
            verify(&view, &genesis, checkpoint.as_deref())?;
        }
        AuditCmd::Checkpoint {
            height,
            out,
            target,
        } => {
            let (eps, g) = endpoints_of(&target)?;
            checkpoint(eps, g.as_ref(), height.unwrap_or(0), out.as_deref()).await?;
        }
        AuditCmd::Consistency {
            old,
            new,
            genesis,
            target,
        } => {
            let (eps, g) = endpoints_of(&target)?;
            let g = match genesis {
                Some(p) => Some(load_genesis(&p)?),
                None => g,
            };
            consistency(eps, g.as_ref(), &old, &new).await?;
        }
        AuditCmd::Draw { cmd } => crate::cli::audit_draw::run(cmd).await?,
    }
    Ok(())
}
