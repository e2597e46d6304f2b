//! `safeledger audit state`: fetch a state proof of an enterprise's licences, blacklist
//! listings, risk level and credit grade after a height, verify it from genesis and write
//! it; and the rendering `audit verify` prints for a state proof.

use crate::cli::text::one_line;
use anyhow::{bail, Context};
use safeledger_client::audit::AuditClient;
use safeledger_client::auth::Signer;
use safeledger_contracts::model::EnterpriseState;
use safeledger_core::view::{encode, StateProofDoc, Verifier};
use safeledger_core::{from_canonical, Genesis};
use std::path::Path;

/// What `audit state` was asked for.
pub struct StateRequest<'a> {
    /// Enterprise ids.
    pub enterprises: &'a [String],
    /// A licence number to report on (its absence is reported too).
    pub licence: Option<&'a str>,
    /// The height (0: the latest provable).
    pub height: u64,
    /// Where to write the proof.
    pub out: &'a Path,
}

/// `audit state`: fetch, verify when the genesis is known, write, and print what it proves.
pub async fn state(
    endpoints: Vec<String>,
    signer: Option<Signer>,
    genesis: Option<&Genesis>,
    req: StateRequest<'_>,
) -> anyhow::Result<()> {
    let mut client = AuditClient::new(endpoints);
    match signer {
        Some(s) => client = client.signed_by(s),
        None => {
            bail!("a state proof needs an auditor's or officer's key (--as NAME or --key FILE)")
        }
    }
    let doc = client.state_proof(req.enterprises, req.height).await?;
    if let Some(g) = genesis {
        Verifier::new(g)
            .verify_state(&doc)
            .context("the node's state proof does not verify against genesis")?;
    }
    std::fs::write(req.out, encode(&doc) + "\n")
        .with_context(|| format!("writing {}", req.out.display()))?;
    print!("{}", render(&doc, req.licence));
    println!("wrote the state proof to {}", req.out.display());
    Ok(())
}

/// What a (verified) state proof shows, one enterprise after another; `licence` adds a line
/// for that licence number.
pub fn render(doc: &StateProofDoc, licence: Option<&str>) -> String {
    let now = doc.header.time;
    let mut s = format!(
        "state after height {} (certified by header {}, time {})\n",
        doc.height,
        doc.header.height,
        now.date_string()
    );
    for e in &doc.entries {
        let key = String::from_utf8_lossy(&e.key);
        let id = one_line(key.strip_prefix("ent/").unwrap_or(&key));
        let Some(value) = &e.value else {
            s.push_str(&format!(
                "enterprise {id}: absent (proven by non-inclusion): no licence, not \
                 blacklisted, never assessed\n"
            ));
            continue;
        };
        let ent: EnterpriseState = match from_canonical(value) {
            Ok(v) => v,
            Err(err) => {
                s.push_str(&format!("enterprise {id}: value does not decode: {err}\n"));
                continue;
            }
        };
        if ent.name.is_empty() {
            s.push_str(&format!("enterprise {id}\n"));
        } else {
            s.push_str(&format!("enterprise {id} ({})\n", one_line(&ent.name)));
        }
        for (number, l) in &ent.licences {
            s.push_str(&format!(
                "  licence {} ({}, {}): {}{}\n",
                one_line(number),
                one_line(&l.licence_type),
                one_line(&l.agency),
                name_of(&l.status_at(now)),
                l.valid_until
                    .map(|u| format!(", valid until {}", u.date_string()))
                    .unwrap_or_default()
            ));
        }
        if let Some(n) = licence.filter(|n| !ent.licences.contains_key(*n)) {
            s.push_str(&format!("  licence {}: none on record\n", one_line(n)));
        }
        let active: Vec<_> = ent.listings.iter().filter(|l| l.active_at(now)).collect();
        if active.is_empty() {
            s.push_str("  blacklist: not listed\n");
        }
        for l in active {
            s.push_str(&format!(
                "  blacklist: listed by {} from {} until {}: {}\n",
                one_line(&l.agency),
                l.from.date_string(),
                l.until.date_string(),
                one_line(&l.reason)
            ));
        }
        s.push_str(&format!(
            "  risk level: {}; credit grade: {}\n",
            ent.assessment.risk.name(),
            name_of(&ent.assessment.credit)
        ));
    }
    s
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}
