//! `safeledger inbox`: the signing officer's agency's open tasks, by due time.

use crate::cli::args::{Output, Target};
use crate::cli::exit;
use crate::cli::records::print_json;
use crate::cli::text::{str_field as s, time_field};
use serde_json::Value;

/// `safeledger inbox`: signs as `agency`'s officer when it is named.
pub async fn run(
    agency: Option<String>,
    cursor: String,
    (limit, expiring_days): (u32, u32),
    (mine, kinds): (bool, Vec<String>),
    mut target: Target,
) -> anyhow::Result<()> {
    if !cursor.is_empty() && hex::decode(&cursor).is_err() {
        return Err(exit::usage(format!(
            "--cursor {cursor:?} is not one an inbox page printed"
        )));
    }
    if let (Some(a), None) = (&agency, &target.identity) {
        target.identity = Some(a.clone());
    }
    let v = target
        .client_own_node_first()
        .await?
        .inbox(safeledger_client::proto::GetInboxRequest {
            agency: agency.unwrap_or_default(),
            cursor,
            limit,
            expiring_within_days: expiring_days,
            mine,
            kinds,
        })
        .await?;
    match target.output {
        Output::Json => print_json(&v),
        Output::Text => {
            print!("{}", render(&v));
            Ok(())
        }
    }
}

/// The text rendering: a heading with the counts, one row per task (due date, status,
/// kind, enterprise, what) with what closes it beneath, and the next page's cursor.
pub fn render(v: &Value) -> String {
    let as_of = time_field(v, "as_of");
    let height = v
        .get("indexed_height")
        .and_then(Value::as_u64)
        .map_or("being rebuilt".to_string(), |h| format!("at height {h}"));
    let counts: Vec<String> = v
        .get("counts")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, n)| format!("{k} {}", n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let total: u64 = v
        .get("counts")
        .and_then(Value::as_object)
        .map(|o| o.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    let capped = v.get("counts_capped").and_then(Value::as_bool) == Some(true);
    let overdue = match v.get("overdue").and_then(Value::as_u64) {
        Some(n) if n > 0 => format!(", {n} overdue"),
        _ => String::new(),
    };
    let mine = v
        .get("officer")
        .filter(|o| o.is_object())
        .map(|o| {
            let posts: Vec<&str> = o
                .get("posts")
                .and_then(Value::as_array)
                .map(|p| p.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "your tasks as officer {} [{}] (counts are the agency's)\n",
                s(o, "key"),
                posts.join(", ")
            )
        })
        .unwrap_or_default();
    let mut out = if v.get("counts").is_some_and(Value::is_object) {
        format!(
            "inbox of {} as of {as_of} (inbox {height}): {}{total} open{}{overdue}\n",
            s(v, "agency"),
            if capped { "at least " } else { "" },
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            }
        )
    } else {
        format!(
            "inbox of {} as of {as_of} (inbox {height}), continued:\n",
            s(v, "agency")
        )
    };
    out.push_str(&mine);
    let tasks = v
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if tasks.is_empty() {
        out.push_str("nothing on this page\n");
    } else {
        out.push_str(&format!(
            "{:<10}  {:<7}  {:<21}  {:<28}  what\n",
            "due", "status", "kind", "enterprise"
        ));
    }
    for pair in &tasks {
        let (t, status) = (&pair[0], pair[1].as_str().unwrap_or(""));
        let due = t
            .get("due")
            .and_then(Value::as_u64)
            .map_or("-".to_string(), |ms| {
                safeledger_core::Timestamp(ms).date_string()
            });
        out.push_str(&format!(
            "{due:<10}  {status:<7}  {:<21}  {:<28}  {}\n",
            s(t, "kind"),
            s(t, "enterprise"),
            s(t, "what")
        ));
        out.push_str(&format!(
            "{:<72}  closed by {} (source {})\n",
            "",
            s(t, "closed_by"),
            s(t, "source")
        ));
    }
    if let Some(c) = v.get("next_cursor").and_then(Value::as_str) {
        out.push_str(&format!("more: --cursor {c}\n"));
    }
    out
}
