//! `safeledger plan`: an agency's routine inspections — overdue, and due by the end of a
//! month (issue 20 item 1; contracts `plan.rs`).

use crate::cli::args::Output;
use crate::cli::exit;
use crate::cli::records::print_json;
use crate::cli::target::Target;
use safeledger_contracts::plan::PlanEntry;
use safeledger_core::records::draw::is_month;
use safeledger_core::Timestamp;

/// The first moment after month `YYYY-MM` (UTC).
fn month_end(month: &str) -> Option<Timestamp> {
    let (y, m) = (
        month[..4].parse::<i32>().ok()?,
        month[5..].parse::<u32>().ok()?,
    );
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Timestamp::from_ymd(y, m, 1)
}

/// `safeledger plan --agency A [--month YYYY-MM] [--limit N]`.
pub async fn run(
    agency: String,
    month: Option<String>,
    limit: u32,
    target: Target,
) -> anyhow::Result<()> {
    let end = match &month {
        None => None,
        Some(m) if is_month(m) => month_end(m),
        Some(m) => return Err(exit::usage(format!("--month {m:?} is not YYYY-MM"))),
    };
    if let (_, Some(h)) = target.endpoints()? {
        h.known_agency(&agency)?;
    }
    let v = target
        .client()
        .await?
        .query("plan", &agency, "", limit)
        .await?;
    let entries: Vec<PlanEntry> = serde_json::from_value(v["plan"].clone())
        .map_err(|e| anyhow::anyhow!("the node's plan did not decode: {e}"))?;
    let now = Timestamp(v["as_of"].as_u64().unwrap_or(0));
    let shown: Vec<&PlanEntry> = entries
        .iter()
        .filter(|p| end.is_none_or(|e| p.due < e))
        .collect();
    if target.output == Output::Json {
        return print_json(&serde_json::json!({
            "agency": agency,
            "as_of": now,
            "month": month,
            "entries": v["entries"],
            "overdue": v["overdue"],
            "plan": shown,
        }));
    }
    println!(
        "routine inspections of {agency} as of {}: {} planned, {} overdue{}",
        now.date_string(),
        v["entries"],
        v["overdue"],
        match &month {
            Some(m) => format!("; due by the end of {m}: {}", shown.len()),
            None => String::new(),
        }
    );
    for p in shown {
        println!(
            "{}  {:<8} {:<30} {:<6} {}/year{}  last {}  {}",
            p.due.date_string(),
            if p.due < now { "overdue" } else { "due" },
            p.enterprise.as_str(),
            format!("{:?}", p.risk).to_lowercase(),
            p.per_year,
            if p.relief { " (relief)" } else { "" },
            p.last_inspection.1.date_string(),
            crate::cli::text::one_line(&p.name)
        );
    }
    Ok(())
}
