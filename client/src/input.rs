//! Strict reading of the JSON files a user hands the CLI (record files, genesis, ceremony
//! files, views): a UTF-8 byte-order mark is accepted, an unknown field is refused naming
//! it and the known field it most likely meant (issue 18, point 1).
//!
//! The refusal itself comes from serde (`#[serde(deny_unknown_fields)]` on every record
//! and genesis type); this module only adds the suggestion and the file's name.

use serde::de::DeserializeOwned;

/// The UTF-8 byte-order mark some editors (Windows Notepad, Excel exports) put first.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a JSON file was not read.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct InputError {
    /// What was being read (a file name, "the record file").
    pub what: String,
    /// serde's reason with line and column, and a suggestion where one was found.
    pub message: String,
}

/// `bytes` without a leading UTF-8 byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Parses `bytes` (JSON, an optional byte-order mark first) as `T`, refusing unknown
/// fields where `T` does. `what` names the input in the error.
///
/// # Errors
/// [`InputError`]: not JSON, not the shape of `T`, or an unknown field — then the
/// message names the field and, when one is close, the field it may have meant.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, InputError> {
    serde_json::from_slice(strip_bom(bytes)).map_err(|e| InputError {
        what: what.to_string(),
        message: explain(&e.to_string()),
    })
}

/// Reads `v` (JSON already parsed) as `T`, refusing unknown fields where `T` does, with the
/// errors of [`parse_json`]; `what` names the input.
///
/// # Errors
/// [`InputError`]: not the shape of `T`, or an unknown field (named, with a suggestion).
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value, what: &str) -> Result<T, InputError> {
    serde_json::from_value(v).map_err(|e| InputError {
        what: what.to_string(),
        message: explain(&e.to_string()),
    })
}

/// Whether an [`InputError`] is an unknown field (rather than a wrong shape).
pub fn is_unknown_field(e: &InputError) -> bool {
    e.message.starts_with("unknown field")
}

/// serde's message, with "did you mean `x`?" added to an unknown field or variant.
pub fn explain(message: &str) -> String {
    match suggestion(message) {
        Some(s) => format!("{message} (did you mean `{s}`?)"),
        None => message.to_string(),
    }
}

/// For "unknown field `a`, expected one of `b`, `c`" (or "unknown variant"): the expected
/// name closest to `a`, when it is close enough to be a likely slip.
fn suggestion(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (given, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    expected
        .iter()
        .map(|e| (likeness(given, e), *e))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, e)| e.to_string())
}

/// How alike two field names are, 0..=1: Jaro-Winkler, or 0.9 when one contains the other
/// (`amount` for `amount_minor`).
fn likeness(given: &str, expected: &str) -> f64 {
    let containment = if !given.is_empty() && (expected.contains(given) || given.contains(expected))
    {
        0.9
    } else {
        0.0
    };
    strsim::jaro_winkler(given, expected).max(containment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeledger_core::TxBody;

    #[test]
    fn a_misspelled_field_is_refused_with_a_suggestion() {
        let json = br#"{"penalty": {"enterprise": "us-osha-insp:1", "case_id": "1",
            "grade": "minor", "kind": "citation", "amount": 250000, "reason": "r"}}"#;
        let e = parse_json::<TxBody>(json, "penalty.json").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("unknown field `amount`"), "{text}");
        assert!(text.contains("did you mean `amount_minor`?"), "{text}");
        assert!(text.starts_with("penalty.json: "), "{text}");
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let mut json = UTF8_BOM.to_vec();
        json.extend_from_slice(
            br#"{"penalty": {"enterprise": "us-osha-insp:1", "case_id": "1",
            "grade": "minor", "kind": "citation", "amount_minor": null, "reason": "r"}}"#,
        );
        assert!(parse_json::<TxBody>(&json, "f").is_ok());
    }

    #[test]
    fn an_unknown_kind_suggests_the_nearest() {
        let e = parse_json::<TxBody>(br#"{"penalti": {}}"#, "f").unwrap_err();
        assert!(e.to_string().contains("did you mean `penalty`?"), "{e}");
    }

    #[test]
    fn far_names_get_no_suggestion() {
        assert_eq!(
            suggestion("unknown field `zzzz`, expected `enterprise`"),
            None
        );
    }
}
