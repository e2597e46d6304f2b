//! The officer's record commands and the reads that show them: `status`, `tx submit |
//! show`, `enterprise show`, `query`, `block show`, `private erase`, `import`; and the
//! shared output (`--output text | json`) and date arguments.

use crate::cli::args::{BlockCmd, EnterpriseCmd, Output, PrivateCmd, Target, TxCmd};
use crate::cli::exit::{self, Exit};
use crate::cli::{files, home, liveness, private, submit, text, when};
use safeledger_client::rpc::Committed;
use safeledger_core::{Hash, Outcome, Timestamp, TxBody};

/// `safeledger status`: with `--home` (and no `--node`), every node of the network side by
/// side, the age of the newest block and the nodes that do not answer; with `--node`, that
/// node.
///
/// # Errors
/// No node answered (exit 5).
pub async fn status(t: Target) -> anyhow::Result<()> {
    if let (None, Some(dir)) = (&t.node, &t.home) {
        let h = home::Home::load(dir)?;
        let seen = liveness::survey(&h).await;
        print_survey(&seen, t.output)?;
        if seen.newest().is_none() {
            return Err(exit::fail(Exit::Unavailable, seen.describe()));
        }
        return Ok(());
    }
    let s = t.client().await?.status().await?;
    if t.output == Output::Json {
        print_json(&s)?;
    } else {
        let age = when::now().0.saturating_sub(s.last_block_time_ms);
        for (k, v) in [
            ("node", format!("{} ({})", s.endpoint, s.agency)),
            ("chain", s.chain_id.clone()),
            ("height", s.height.to_string()),
            ("round", s.round.to_string()),
            (
                "last block",
                format!(
                    "{} ({} ago)",
                    when::show(Timestamp(s.last_block_time_ms)),
                    when::show_age(age)
                ),
            ),
            ("block hash", s.last_block_hash.to_string()),
            ("state root", s.state_root.to_string()),
            ("peers", s.peers.to_string()),
            ("mempool", format!("{} transactions", s.mempool_txs)),
            ("committed", format!("{} transactions", s.committed_txs)),
        ] {
            println!("{k:<11} {v}");
        }
    }
    Ok(())
}

/// Prints a [`liveness::Survey`]: a table (text) or `{nodes, newest_height,
/// newest_block_age_ms, unreachable}` (JSON; times in ms since 1970).
fn print_survey(seen: &liveness::Survey, output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        let nodes: Vec<serde_json::Value> = seen
            .nodes
            .iter()
            .map(|n| match &n.status {
                Ok(s) => {
                    serde_json::json!({"agency": n.agency, "endpoint": n.endpoint, "status": s})
                }
                Err(e) => {
                    serde_json::json!({"agency": n.agency, "endpoint": n.endpoint, "error": e})
                }
            })
            .collect();
        return print_json(&serde_json::json!({
            "nodes": nodes,
            "newest_height": seen.newest().map(|s| s.height),
            "newest_block_age_ms": seen.newest().map(|s| seen.age_ms(s)),
            "unreachable": seen.unreachable(),
        }));
    }
    if let Some(s) = seen.newest() {
        println!("chain {}", s.chain_id);
    }
    println!(
        "{:<16} {:<28} {:>8} {:>5} {:>12} {:>5} {:>8}",
        "agency", "node", "height", "round", "last block", "peers", "mempool"
    );
    for n in &seen.nodes {
        match &n.status {
            Ok(s) => println!(
                "{:<16} {:<28} {:>8} {:>5} {:>12} {:>5} {:>8}",
                n.agency,
                n.endpoint,
                s.height,
                s.round,
                format!("{} ago", when::show_age(seen.age_ms(s))),
                s.peers,
                s.mempool_txs
            ),
            Err(e) => println!("{:<16} {:<28} unreachable: {e}", n.agency, n.endpoint),
        }
    }
    if let Some(s) = seen.newest() {
        println!(
            "block hash {}  state root {}",
            s.last_block_hash, s.state_root
        );
    }
    println!("{}", seen.describe());
    Ok(())
}

/// `safeledger tx submit | show`.
pub async fn tx(cmd: TxCmd) -> anyhow::Result<()> {
    match cmd {
        TxCmd::Submit {
            file,
            private,
            acting,
        } => {
            let body: TxBody = files::read_record(&file)?;
            if !private.is_empty() {
                if acting.dry_run {
                    // The verdict does not depend on which fields are withheld.
                    return acting.act(body).await;
                }
                let h = acting.load_home()?;
                let key = acting.key(&h)?;
                let eff = acting.effective_at()?;
                let private: Vec<&str> = private.iter().map(String::as_str).collect();
                let r = submit::submit_signed_by(
                    &h,
                    &acting.agency,
                    &key,
                    body,
                    eff,
                    &private,
                    std::time::Duration::from_secs(acting.timeout),
                )
                .await?;
                return print_committed(&r, acting.output);
            }
            acting.act(body).await
        }
        TxCmd::Cosign { file, acting } => crate::cli::verbs::joint::cosign(&file, &acting),
        TxCmd::Send { file, acting } => crate::cli::verbs::joint::send(&file, &acting).await,
        TxCmd::Show { id, target } => {
            let id = Hash::from_hex(&id).map_err(|e| {
                exit::usage(format!(
                    "{id:?} is not a transaction id (64 hex digits): {e}"
                ))
            })?;
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
    print_value(&v, target.output)
}

/// Prints a JSON answer: as is (`json`) or as aligned text ([`text::render`]).
pub fn print_value(v: &serde_json::Value, output: Output) -> anyhow::Result<()> {
    match output {
        Output::Json => print_json(v),
        Output::Text => {
            print!("{}", text::render(v));
            Ok(())
        }
    }
}

/// `safeledger query KIND`: a named rule-contract query, as text or JSON.
pub async fn query(
    kind: String,
    agency: String,
    enterprise: String,
    limit: u32,
    target: Target,
) -> anyhow::Result<()> {
    let needs_agency = matches!(
        kind.as_str(),
        "inbox" | "assistance_open" | "assistance_overdue" | "assistance_sent"
    );
    if needs_agency && agency.is_empty() {
        return Err(exit::usage(format!("query {kind} needs --agency")));
    }
    if matches!(
        kind.as_str(),
        "decisions" | "timeline" | "assessment" | "linked"
    ) && enterprise.is_empty()
    {
        return Err(exit::usage(format!("query {kind} needs --enterprise")));
    }
    if let (true, (_, Some(h))) = (needs_agency, target.endpoints()?) {
        h.known_agency(&agency)?;
    }
    let v = target
        .client()
        .await?
        .query(&kind, &agency, &enterprise, limit)
        .await?;
    print_value(&v, target.output)
}

/// `safeledger query officer`: a page of the records an officer signed or co-signed.
pub async fn officer(
    officer: &str,
    cursor: &str,
    limit: u32,
    target: Target,
) -> anyhow::Result<()> {
    let request = safeledger_client::proto::GetOfficerRecordsRequest {
        officer: officer.to_string(),
        cursor: cursor.to_string(),
        limit: limit.min(200),
    };
    let v = target.client().await?.officer_records(request).await?;
    if target.output == Output::Json {
        return print_json(&v);
    }
    let o = &v["officer"];
    let f = text::str_field;
    let roles: Vec<&str> = o["roles"]
        .as_array()
        .map(|r| r.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    println!(
        "officer {} of {}{}; roles [{}]; registered {}; {}",
        f(o, "key"),
        f(o, "agency"),
        match f(o, "name") {
            "" => String::new(),
            n => format!(" ({n})"),
        },
        roles.join(", "),
        match &o["registered"] {
            serde_json::Value::Object(r) => format!("at height {}", r["height"]),
            other => other.as_str().unwrap_or("").to_string(),
        },
        match &o["revoked"] {
            serde_json::Value::Object(r) => format!("revoked at height {}", r["height"]),
            _ => "not revoked".to_string(),
        }
    );
    let records = v["records"].as_array().cloned().unwrap_or_default();
    if records.is_empty() {
        println!(
            "no records signed{}",
            if cursor.is_empty() {
                ""
            } else {
                " after the cursor"
            }
        );
    }
    for r in &records {
        let outcome: Option<Outcome> = serde_json::from_value(r["outcome"].clone()).ok();
        println!(
            "height {} index {}  {}  {}  {}  as {}  {}",
            r["height"],
            r["index"],
            f(r, "kind"),
            r["enterprise"].as_str().unwrap_or("-"),
            f(r, "tx_id"),
            f(r, "signed_as"),
            outcome
                .as_ref()
                .map_or_else(|| "no result".to_string(), outcome_text)
        );
    }
    if let Some(next) = v["next_cursor"].as_str() {
        println!("more: --cursor {next}");
    }
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
    if height == Some(0) {
        return Err(exit::usage(
            "heights start at 1 (block 1 follows the genesis); leave the height out for the latest block",
        ));
    }
    let (b, cert, results) = target.client().await?.block(height.unwrap_or(0)).await?;
    if target.output == Output::Json {
        print_json(
            &serde_json::json!({"hash": b.hash(), "block": b, "certificate": cert, "results": results}),
        )?;
    } else {
        let (_, home) = target.endpoints()?;
        let agency_of = |key: &safeledger_core::PublicKey| {
            home.as_ref()
                .and_then(|h| h.genesis.agencies.iter().find(|a| a.node_key == *key))
                .map(|a| a.id.clone())
                .unwrap_or_else(|| format!("node {}", &key.to_hex()[..16]))
        };
        let hd = &b.header;
        let signers: Vec<String> = cert
            .signatures
            .iter()
            .map(|s| agency_of(&s.validator))
            .collect();
        for (k, v) in [
            ("block", hd.height.to_string()),
            ("hash", b.hash().to_string()),
            ("time", when::show(hd.time)),
            ("proposer", agency_of(&hd.proposer)),
            ("transactions", hd.tx_count.to_string()),
            ("tx root", hd.tx_root.to_string()),
            (
                "ledger",
                format!("{} leaves, root {}", hd.ledger_size, hd.ledger_root),
            ),
            (
                "state root",
                format!(
                    "{} (after block {})",
                    hd.state_root,
                    hd.height.saturating_sub(1)
                ),
            ),
            ("results root", hd.results_root.to_string()),
            (
                "certificate",
                format!(
                    "round {}, {} precommits: {}",
                    cert.round,
                    cert.signatures.len(),
                    signers.join(", ")
                ),
            ),
        ] {
            println!("{k:<13} {v}");
        }
        if !results.is_empty() {
            println!("{:<5} {:<64} {:<22} result", "index", "transaction", "kind");
        }
        for (i, (tx, r)) in b.txs.iter().zip(&results).enumerate() {
            println!(
                "{i:<5} {:<64} {:<22} {}",
                r.tx_id,
                tx.payload.body.kind().name(),
                outcome_text(&r.outcome)
            );
        }
    }
    Ok(())
}

/// Prints `v` as pretty JSON.
pub fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Prints a committed transaction's result.
///
/// # Errors
/// A [`Failure`](crate::cli::exit::Failure) with [`Exit::RefusedByRule`] after printing,
/// when a rule refused the transaction: committed is not accepted, and a script must be
/// able to tell (README "Exit codes").
pub fn print_committed(r: &Committed, output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        print_json(&serde_json::json!({
            "tx_id": r.tx_id, "height": r.height, "index": r.index, "result": r.result
        }))?;
    } else {
        println!(
            "{} committed at height {} index {}: {}",
            r.tx_id,
            r.height,
            r.index,
            outcome_text(&r.result.outcome)
        );
    }
    match &r.result.outcome {
        Outcome::Accepted => Ok(()),
        Outcome::Refused { rule, .. } => Err(exit::fail(
            Exit::RefusedByRule,
            format!(
                "transaction {} was committed but refused by rule {rule}",
                r.tx_id
            ),
        )),
    }
}

/// A result for people: `accepted` or `refused by RULE: reason`.
pub fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Accepted => "accepted".into(),
        Outcome::Refused { rule, reason } => format!("refused by {rule}: {reason}"),
    }
}
