//! `safeledger draw`: a month's "double random" inspection draw (issue 20 item 2) —
//! open one, follow it while the validators' beacon deals, reveals and recovers, and read
//! the selected enterprises with their inspectors.

use crate::cli::act::{officer_key_path, Acting};
use crate::cli::args::Output;
use crate::cli::exit;
use crate::cli::home::read_key;
use crate::cli::records::print_json;
use crate::cli::target::Target;
use clap::Subcommand;
use safeledger_core::ids::EnterpriseId;
use safeledger_core::records::{DrawExpert, DrawInspector, DrawOpen};
use safeledger_core::{PublicKey, TxBody};

/// `safeledger draw`.
#[derive(Subcommand)]
pub enum DrawCmd {
    /// Open a draw: the chain computes the pool, every validator's node deals its part of
    /// the randomness, and the outcome follows once all parts are revealed or recovered
    /// (`draw show` follows it).
    Open {
        /// Your agency's id for the draw.
        #[arg(long)]
        id: String,
        /// The month inspected, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Enterprises this agency recorded form the pool (default: yours).
        #[arg(long)]
        pool_agency: Option<String>,
        /// Only enterprises holding a licence whose industry code starts with this.
        #[arg(long)]
        industry: Option<String>,
        /// Only enterprises at this risk level (green, yellow, orange, red); repeatable.
        #[arg(long = "risk")]
        risk_levels: Vec<String>,
        /// Fraction of the pool to inspect: a percentage (10%) or per mille (100‰);
        /// at least 10 %.
        #[arg(long, default_value = "10%")]
        fraction: String,
        /// An inspector: an officer registered from this directory by name, or a public
        /// key (hex); `NAME:ENTERPRISE,ENTERPRISE` declares conflicts of interest.
        /// Repeatable.
        #[arg(long = "inspector", required = true)]
        inspectors: Vec<String>,
        /// Inspectors per selected enterprise (1–4).
        #[arg(long, default_value_t = 2)]
        per: u8,
        /// A registered third-party expert (its id); `ID:ENTERPRISE,ENTERPRISE` declares
        /// conflicts of interest. Repeatable.
        #[arg(long = "expert")]
        experts: Vec<String>,
        /// Experts per selected enterprise (1–4; with --expert).
        #[arg(long, default_value_t = 1)]
        experts_per: u8,
        /// Seconds the validators have to deal.
        #[arg(long, default_value_t = 600)]
        commit_window: u32,
        /// Seconds the dealers have to reveal before their parts are recovered.
        #[arg(long, default_value_t = 600)]
        reveal_window: u32,
        #[command(flatten)]
        acting: Acting,
    },
    /// A draw's phase, dealers, withholdings and outcome, by its opening transaction id.
    Show {
        /// The draw's opening transaction id (hex).
        draw: String,
        #[command(flatten)]
        target: Target,
    },
    /// The draws an agency opened, newest first.
    List {
        /// The agency.
        #[arg(long)]
        agency: String,
        #[command(flatten)]
        target: Target,
    },
}

/// A decimal `int[.frac]` times `10^scale`, exactly (no rounding); `None` otherwise.
fn scaled(s: &str, scale: u32) -> Option<u32> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > scale as usize || int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |d: &str| d.is_empty() || d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || int.len() > 6 {
        return None;
    }
    let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: u32 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    Some(int * 10u32.pow(scale) + frac_v * 10u32.pow(scale - frac.len() as u32))
}

/// `10%`, `12.5%`, `100‰` or `0.1` as per mille.
fn permille(s: &str) -> anyhow::Result<u16> {
    let t = s.trim();
    let v = if let Some(p) = t.strip_suffix('%') {
        scaled(p.trim(), 1)
    } else if let Some(p) = t.strip_suffix('‰') {
        scaled(p.trim(), 0)
    } else {
        scaled(t, 3)
    };
    v.filter(|v| *v <= 1000)
        .map(|v| v as u16)
        .ok_or_else(|| {
            exit::usage(format!(
                "--fraction {s:?}: a percentage (10%), per mille (100‰) or fraction (0.1), at most all of the pool"
            ))
        })
}

#[cfg(test)]
#[test]
fn fractions_parse_exactly() {
    assert_eq!(permille("10%").unwrap(), 100);
    assert_eq!(permille("12.5%").unwrap(), 125);
    assert_eq!(permille("100‰").unwrap(), 100);
    assert_eq!(permille("0.1").unwrap(), 100);
    assert_eq!(permille("1").unwrap(), 1000);
    assert!(permille("150%").is_err());
    assert!(permille("12.55%").is_err());
    assert!(permille("ten").is_err());
}

fn conflicts_of(flag: &str, spec: &str, list: &str) -> anyhow::Result<Vec<EnterpriseId>> {
    list.split(',')
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            EnterpriseId::parse(c.trim())
                .map_err(|e| exit::usage(format!("{flag} {spec}: conflict {c:?}: {e}")))
        })
        .collect()
}

fn expert(spec: &str) -> anyhow::Result<DrawExpert> {
    let (id, conflicts) = spec.split_once(':').unwrap_or((spec, ""));
    Ok(DrawExpert {
        expert_id: id.trim().to_string(),
        conflicts: conflicts_of("--expert", spec, conflicts)?,
    })
}

fn inspector(acting: &Acting, spec: &str) -> anyhow::Result<DrawInspector> {
    let (who, conflicts) = spec.split_once(':').unwrap_or((spec, ""));
    let officer = match PublicKey::from_hex(who.trim()) {
        Ok(k) => k,
        Err(_) => {
            let home = acting.load_home()?;
            let path = officer_key_path(&home, &acting.agency, who.trim())?;
            if !path.exists() {
                return Err(exit::usage(format!(
                    "--inspector {who}: no officer of {} by that name in {} (give its public key instead)",
                    acting.agency,
                    path.display()
                )));
            }
            read_key(&path)?.public()
        }
    };
    let conflicts = conflicts_of("--inspector", spec, conflicts)?;
    Ok(DrawInspector { officer, conflicts })
}

/// `safeledger draw`.
pub async fn draw(cmd: DrawCmd) -> anyhow::Result<()> {
    match cmd {
        DrawCmd::Open {
            id,
            month,
            pool_agency,
            industry,
            risk_levels,
            fraction,
            inspectors,
            per,
            experts,
            experts_per,
            commit_window,
            reveal_window,
            acting,
        } => {
            let experts_per = if experts.is_empty() { 0 } else { experts_per };
            let body = TxBody::DrawOpen(DrawOpen {
                draw_id: id,
                month,
                pool_agency: pool_agency.unwrap_or_else(|| acting.agency.clone()),
                industry,
                risk_levels,
                fraction_permille: permille(&fraction)?,
                inspectors: inspectors
                    .iter()
                    .map(|s| inspector(&acting, s))
                    .collect::<anyhow::Result<_>>()?,
                inspectors_per_enterprise: per,
                experts: experts
                    .iter()
                    .map(|s| expert(s))
                    .collect::<anyhow::Result<_>>()?,
                experts_per_enterprise: experts_per,
                commit_window_secs: commit_window,
                reveal_window_secs: reveal_window,
            });
            body.check_bounds()
                .map_err(|e| exit::usage(format!("draw open: {e}")))?;
            acting.act(body).await
        }
        DrawCmd::Show { draw, target } => {
            let v = target.client().await?.query("draw", "", &draw, 1).await?;
            if target.output == Output::Json {
                return print_json(&v);
            }
            print_draw(&v["draw"], &v["phase"]);
            Ok(())
        }
        DrawCmd::List { agency, target } => {
            let v = target
                .client()
                .await?
                .query("draws", &agency, "", 100)
                .await?;
            if target.output == Output::Json {
                return print_json(&v);
            }
            for d in v.as_array().into_iter().flatten() {
                let o = &d["draw"];
                println!(
                    "{}  {} {}  {}",
                    o["tx_id"].as_str().unwrap_or(""),
                    o["open"]["draw_id"].as_str().unwrap_or(""),
                    o["open"]["month"].as_str().unwrap_or(""),
                    d["phase"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

fn names(v: &serde_json::Value) -> String {
    let list: Vec<String> = match v {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .map(String::from)
            .collect(),
        serde_json::Value::Object(o) => o.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

fn print_draw(d: &serde_json::Value, phase: &serde_json::Value) {
    let open = &d["open"];
    println!(
        "draw {} of {} for {} ({}): phase {}",
        open["draw_id"].as_str().unwrap_or(""),
        d["agency"].as_str().unwrap_or(""),
        open["month"].as_str().unwrap_or(""),
        d["tx_id"].as_str().unwrap_or(""),
        phase.as_str().unwrap_or("")
    );
    println!(
        "pool: {} enterprises recorded by {} (digest {}); {} ‰ selected, {} inspector(s) each",
        d["pool_size"],
        open["pool_agency"].as_str().unwrap_or(""),
        d["pool_digest"].as_str().unwrap_or(""),
        open["fraction_permille"],
        open["inspectors_per_enterprise"]
    );
    println!(
        "dealt: {}; revealed: {}; recovered from shares: {}; absent: {}; withheld: {}",
        names(&d["dealings"]),
        names(&d["revealed"]),
        names(&d["recovered"]),
        names(&d["absent"]),
        names(&d["withheld"])
    );
    if let Some(r) = d["result"].as_object() {
        println!(
            "randomness {} (height {})",
            r["randomness"].as_str().unwrap_or(""),
            r["height"]
        );
        for a in r["assignments"].as_array().into_iter().flatten() {
            let experts = names(&a["experts"]);
            println!(
                "  {}  {}{}{}",
                a["enterprise"].as_str().unwrap_or(""),
                names(&a["inspectors"]),
                if experts == "none" {
                    String::new()
                } else {
                    format!("; experts {experts}")
                },
                if a["short"].as_bool() == Some(true) {
                    "  (short of inspectors)"
                } else {
                    ""
                }
            );
        }
    }
}
