//! `safeledger search` (find an enterprise by the words of its name or address, its ids or licence
//! numbers) and `safeledger node reindex` (rebuild a stopped node's search index).

use crate::cli::args::{Output, Target};
use crate::cli::exit;
use crate::cli::home;
use crate::cli::records::print_json;
use crate::cli::text::{str_field as s, time_field};
use serde_json::Value;
use std::path::PathBuf;
use unicode_width::UnicodeWidthStr;

/// `safeledger search TEXT`: asks the caller's own agency's node first (only there do
/// withheld values it holds match), then the others.
pub async fn search(
    text: Vec<String>,
    limit: u32,
    offset: u32,
    target: Target,
) -> anyhow::Result<()> {
    let text = text.join(" ");
    crate::search::query::check_text(&text).map_err(|e| exit::usage(e.to_string()))?;
    let mut client = target.client_own_node_first().await?;
    let v = client.search_enterprises(&text, limit, offset).await?;
    match target.output {
        Output::Json => print_json(&v),
        Output::Text => {
            print!("{}", render(&text, &v));
            Ok(())
        }
    }
}

/// Pads `text` with spaces to `width` terminal columns (CJK characters take two).
fn pad(text: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(w)))
}

/// Cuts `text` to at most `width` columns, marking the cut with `…`.
fn cut(text: &str, width: usize) -> String {
    if UnicodeWidthStr::width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if UnicodeWidthStr::width(out.as_str())
            + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
            + 1
            > width
        {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// A hit's name cut to `width` columns; a withheld name shows as the value this node
/// holds, marked, for whoever may read it.
fn shown_name(h: &Value, width: usize) -> String {
    let held = h
        .get("withheld_values_held_here")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
        .and_then(Value::as_str);
    match (s(h, "name"), held) {
        ("", Some(held)) => format!("{} (withheld)", cut(held, width.saturating_sub(11))),
        (name, _) => cut(name, width),
    }
}

/// The shown names of `rows` (cut to `name_cut` columns) and the widths of the id and
/// name columns; writes the header line (id, name, risk, credit, `last`) to `out`.
fn columns(
    rows: &[Value],
    name_cut: usize,
    last: &str,
    out: &mut String,
) -> (Vec<String>, usize, usize) {
    let id_w = rows
        .iter()
        .map(|h| UnicodeWidthStr::width(s(h, "enterprise")))
        .max()
        .unwrap_or(0)
        .max("enterprise".len());
    let names: Vec<String> = rows.iter().map(|h| shown_name(h, name_cut)).collect();
    let name_w = names
        .iter()
        .map(|n| UnicodeWidthStr::width(n.as_str()))
        .max()
        .unwrap_or(0)
        .max("name".len());
    out.push_str(&format!(
        "{}  {}  {:<6}  {:<6}  {last}\n",
        pad("enterprise", id_w),
        pad("name", name_w),
        "risk",
        "credit"
    ));
    (names, id_w, name_w)
}

/// The text rendering: a heading with the count and the index height, then one aligned
/// row per hit (id, name, risk, credit, licences), and the address beneath.
pub fn render(text: &str, v: &Value) -> String {
    let hits = v
        .get("hits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
    let offset = v.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let height = match v.get("indexed_height").and_then(Value::as_u64) {
        Some(h) => format!("index at height {h}"),
        None => "the index is being rebuilt".to_string(),
    };
    let mut out = String::new();
    if hits.is_empty() {
        out.push_str(&format!("no enterprise matches {text:?} ({height})\n"));
        if total > 0 {
            out.push_str(&format!(
                "({total} match{}, all before offset {offset})\n",
                if total == 1 { "es" } else { "" }
            ));
        }
        return out;
    }
    out.push_str(&format!(
        "{total} enterprise{} {text:?} ({height}); {}–{}:\n",
        if total == 1 { " matches" } else { "s match" },
        offset + 1,
        offset + hits.len() as u64
    ));
    let (names, id_w, name_w) = columns(&hits, 40, "licences", &mut out);
    for (h, name) in hits.iter().zip(&names) {
        let licences: Vec<String> = h
            .get("licences")
            .and_then(Value::as_array)
            .map(|ls| {
                ls.iter()
                    .map(|l| format!("{} {}", s(l, "number"), s(l, "status")))
                    .collect()
            })
            .unwrap_or_default();
        let licences = match licences.len() {
            0 => "none".to_string(),
            1..=3 => licences.join(", "),
            n => format!("{}, … ({n} in all)", licences[..3].join(", ")),
        };
        out.push_str(&format!(
            "{}  {}  {:<6}  {:<6}  {licences}\n",
            pad(s(h, "enterprise"), id_w),
            pad(name, name_w),
            s(h, "risk"),
            s(h, "credit"),
        ));
        let address = s(h, "address");
        if !address.is_empty() {
            out.push_str(&format!("{}  {}\n", pad("", id_w), address));
        }
        if let Some(held) = h.get("withheld_values_held_here").and_then(Value::as_array) {
            let held: Vec<&str> = held.iter().filter_map(Value::as_str).collect();
            // One held value is already the name column's.
            if held.len() > 1 || (held.len() == 1 && !s(h, "name").is_empty()) {
                out.push_str(&format!(
                    "{}  withheld, held at this node: {}\n",
                    pad("", id_w),
                    held.join("; ")
                ));
            }
        }
    }
    let shown = offset + hits.len() as u64;
    if shown < total {
        out.push_str(&format!("more: --offset {shown}\n"));
    }
    out
}

/// `safeledger list`: checks the list and its value before asking.
pub async fn list(
    request: safeledger_client::proto::ListEnterprisesRequest,
    target: Target,
) -> anyhow::Result<()> {
    crate::search::lists::ListKind::parse(&request.list, &request.value, u64::from(request.days))
        .map_err(|e| exit::usage(e.to_string()))?;
    if !request.cursor.is_empty()
        && safeledger_core::ids::EnterpriseId::parse(&request.cursor).is_err()
    {
        return Err(exit::usage(format!(
            "--cursor {:?} is not an enterprise id (give the one the last page printed)",
            request.cursor
        )));
    }
    let title = match request.list.as_str() {
        "risk" => format!("enterprises at risk level {}", request.value),
        "credit" => format!(
            "enterprises with credit grade {}",
            request.value.to_uppercase()
        ),
        "blacklisted" => "blacklisted enterprises".to_string(),
        "expiring" => format!("licences ending within {} days", request.days),
        _ => "hazards past their rectification deadline".to_string(),
    };
    let v = target.client().await?.list_enterprises(request).await?;
    match target.output {
        Output::Json => print_json(&v),
        Output::Text => {
            print!("{}", render_list(&title, &v));
            Ok(())
        }
    }
}

/// The text rendering of a list page: a heading, one row per entry (id, name, risk,
/// credit, why), and the cursor of the next page.
pub fn render_list(title: &str, v: &Value) -> String {
    let entries = v
        .get("entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let now = time_field(v, "now");
    let mut out = format!("{title}, as of {now}:\n");
    if entries.is_empty() {
        out.push_str(if v.get("examined").and_then(Value::as_u64) == Some(0) {
            "none\n"
        } else {
            "none on this page\n"
        });
    } else {
        let (names, id_w, name_w) = columns(&entries, 30, "why", &mut out);
        for (h, name) in entries.iter().zip(&names) {
            out.push_str(&format!(
                "{}  {}  {:<6}  {:<6}  {}\n",
                pad(s(h, "enterprise"), id_w),
                pad(name, name_w),
                s(h, "risk"),
                s(h, "credit"),
                s(h, "why")
            ));
        }
    }
    if let Some(c) = v.get("next_cursor").and_then(Value::as_str) {
        out.push_str(&format!("more: --cursor {c}\n"));
    }
    out
}

/// `safeledger node reindex`: rebuilds the search index of a stopped node from its
/// committed state.
pub fn reindex(home: PathBuf, agency: String) -> anyhow::Result<()> {
    let h = home::Home::load(&home)?;
    h.known_agency(&agency)?;
    let data = h.agency_dir(&agency).join("data");
    let store = crate::store::Store::open(&data.join("store"))?;
    let private = crate::private_store::PrivateStore::open(&store, &data)?;
    let dir = data.join(crate::search::index::SEARCH_DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("removing {}: {e}", dir.display()))?;
    }
    let (index, _) = crate::search::index::SearchIndex::open(&dir)?;
    let started = std::time::Instant::now();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (n, height) =
        crate::search::follow::rebuild(&index, &store, &private, &stop)?.unwrap_or((0, 0));
    index.close();
    println!(
        "rebuilt the search index of {agency}: {n} enterprises at height {height} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_align_by_terminal_columns_and_say_where_the_next_page_starts() {
        let v = serde_json::json!({
            "indexed_height": 9, "total": 3, "offset": 0,
            "hits": [
                {"enterprise": "ns:1", "name": "华安矿业集团", "address": "福州",
                 "risk": "green", "credit": "A", "licences": []},
                {"enterprise": "ns:22", "name": "Acme", "address": "",
                 "risk": "red", "credit": "C",
                 "licences": [{"number": "L1", "status": "suspended"}]},
            ]
        });
        let out = render("a", &v);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("3 enterprises match \"a\" (index at height 9); 1–2:"));
        let col =
            |l: &str| UnicodeWidthStr::width(&l[..l.find("green").or(l.find("red")).unwrap()]);
        assert_eq!(col(lines[2]), col(lines[4]), "{out}");
        assert!(out.contains("L1 suspended"));
        assert!(out.ends_with("more: --offset 2\n"), "{out}");
    }
}
