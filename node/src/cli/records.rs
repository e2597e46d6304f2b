//! The officer's record commands and the reads that show them: `status`, `tx submit |
//! show`, `enterprise show`, `query`, `block show`, `private erase`, `import`; and the
//! shared output (`--output text | json`) and date arguments.

use crate::cli::args::{BlockCmd, EnterpriseCmd, Output, PrivateCmd, Target, TxCmd};
use crate::cli::{demo, home, private, submit};
use anyhow::{bail, Context};
use safeledger_client::import::plan_import_limited;
use safeledger_client::rpc::{Committed, LedgerClient};
use safeledger_core::{Hash, Outcome, Timestamp, TxBody};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `safeledger status`.
pub async fn status(t: Target) -> anyhow::Result<()> {
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
    Ok(())
}

/// `safeledger tx submit | show`.
pub async fn tx(cmd: TxCmd) -> anyhow::Result<()> {
    match cmd {
        TxCmd::Submit {
            home,
            agency,
            file,
            effective_at,
            private,
            output,
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
            Ok(())
        }
        TxCmd::Show { id, target } => {
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
            Ok(())
        }
    }
}

/// `safeledger enterprise show`.
pub async fn enterprise(cmd: EnterpriseCmd) -> anyhow::Result<()> {
    let EnterpriseCmd::Show {
        id,
        timeline,
        target,
    } = cmd;
    let v = target.client().await?.enterprise(&id, timeline).await?;
    print_json(&v)?;
    Ok(())
}

/// `safeledger query KIND`: a named rule-contract query, printed as JSON.
pub async fn query(
    kind: String,
    agency: String,
    enterprise: String,
    limit: u32,
    target: Target,
) -> anyhow::Result<()> {
    let v = target
        .client()
        .await?
        .query(&kind, &agency, &enterprise, limit)
        .await?;
    print_json(&v)?;
    Ok(())
}

/// `safeledger private erase`.
pub async fn private(cmd: PrivateCmd) -> anyhow::Result<()> {
    let PrivateCmd::Erase {
        home,
        agency,
        tx,
        fields,
        output,
    } = cmd;
    let h = home::Home::load(&home)?;
    let id = Hash::from_hex(&tx)
        .map_err(|e| anyhow::anyhow!("--tx {tx:?} is not a transaction id: {e}"))?;
    let erased = private::erase(&h, &agency, id, &fields).await?;
    if output == Output::Json {
        print_json(&private::to_json(&id, &agency, &erased))?;
    } else {
        print!("{}", private::render(&id, &agency, &erased));
    }
    Ok(())
}

/// `safeledger block show`.
pub async fn block(cmd: BlockCmd) -> anyhow::Result<()> {
    let BlockCmd::Show { height, target } = cmd;
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
    Ok(())
}

/// `safeledger import`: signs the records of a data folder and submits them.
pub async fn import(home: PathBuf, data: PathBuf, limit: Option<usize>) -> anyhow::Result<()> {
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
    Ok(())
}

/// Prints `v` as pretty JSON.
pub fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A `YYYY-MM-DD` argument as the start of that day (UTC).
pub fn parse_date(s: &str) -> anyhow::Result<Timestamp> {
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
pub fn effective_or_now(s: Option<&str>) -> anyhow::Result<Timestamp> {
    Ok(match s {
        Some(s) => parse_date(s)?,
        None => Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis() as u64,
        ),
    })
}

/// Prints a committed transaction's result.
pub fn print_committed(r: &Committed, output: Output) -> anyhow::Result<()> {
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

/// A result for people: `accepted` or `refused by RULE: reason`.
pub fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Accepted => "accepted".into(),
        Outcome::Refused { rule, reason } => format!("refused by {rule}: {reason}"),
    }
}
