//! `--output text` for answers that arrive as JSON (enterprise state, rule-contract
//! queries): aligned `field  value` lines, nested objects indented under their name, list
//! items numbered, and times — fields named `*_at`, `as_of`, `valid_from`, `valid_until`,
//! `time` holding milliseconds since 1970 — shown as RFC 3339 in the user's time zone
//! (issue 18, point 8). `--output json` keeps the JSON with epoch milliseconds.

use crate::cli::when;
use safeledger_core::Timestamp;
use serde_json::Value;

/// Fields whose integer values are ledger times (ms since 1970).
fn is_time_field(name: &str) -> bool {
    name.ends_with("_at")
        || matches!(
            name,
            "at" | "as_of" | "valid_from" | "valid_until" | "time" | "created" | "effective"
        )
}

/// The string field `k` of `v` (empty when absent or not a string): for renderings that
/// lay out known fields of an answer themselves.
pub fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The time field `k` of `v` (ms since 1970) in the user's time zone (empty when absent).
pub fn time_field(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_u64)
        .map(|ms| when::show(Timestamp(ms)))
        .unwrap_or_default()
}

/// `v` as indented, aligned text.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0, None);
    out
}

fn scalar(v: &Value, field: Option<&str>) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => match (field, n.as_u64()) {
            (Some(f), Some(ms)) if is_time_field(f) => when::show(Timestamp(ms)),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "(none)".into(),
        Value::Object(o) if o.is_empty() => "(none)".into(),
        // A short list of scalars stays on one line.
        Value::Array(a) => a
            .iter()
            .map(|x| scalar(x, field))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => String::new(),
    }
}

fn is_inline(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(|x| !x.is_array() && !x.is_object()),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

fn write_value(out: &mut String, v: &Value, depth: usize, field: Option<&str>) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(o) if !o.is_empty() => {
            let width = o.keys().map(|k| k.chars().count()).max().unwrap_or(0);
            for (k, x) in o {
                if is_inline(x) {
                    out.push_str(&format!("{pad}{k:<width$}  {}\n", scalar(x, Some(k))));
                } else {
                    out.push_str(&format!("{pad}{k}\n"));
                    write_value(out, x, depth + 1, Some(k));
                }
            }
        }
        Value::Array(a) if !is_inline(v) => {
            for (i, x) in a.iter().enumerate() {
                out.push_str(&format!("{pad}[{}]\n", i + 1));
                write_value(out, x, depth + 1, field);
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", scalar(v, field))),
    }
}

/// `s` on one terminal line: control characters (newlines, escape sequences a record's
/// text might carry) shown as `\u{fffd}`.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_align_and_times_read_as_dates() {
        let v = serde_json::json!({
            "name": "Acme",
            "valid_until": 1_315_267_200_000u64,
            "licences": {"L1": {"status": "expired", "agency": "em"}},
            "tags": ["a", "b"],
            "none": null,
        });
        let t = render(&v);
        assert!(t.contains("name         Acme\n"), "{t}");
        assert!(t.contains("tags         a, b\n"), "{t}");
        assert!(t.contains("none         -\n"), "{t}");
        assert!(t.contains("\n    status  expired\n"), "{t}");
        assert!(!t.contains("1315267200000"), "{t}");
        assert!(t.contains("2011-09-0"), "{t}");
        assert!(!t.contains('{'), "{t}");
    }

    #[test]
    fn lists_of_objects_are_numbered() {
        let t = render(&serde_json::json!([{"a": 1}, {"a": 2}]));
        assert_eq!(t, "[1]\n  a  1\n[2]\n  a  2\n");
        assert_eq!(render(&serde_json::json!([])), "(none)\n");
    }
}
