//! Reading the JSON files a user passes (record files, genesis, role tables): the file's
//! name in every error, a byte-order mark accepted, unknown fields refused with the field
//! they may have meant ([`safeledger_client::input`]).

use anyhow::Context;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads `path` as JSON of `T`; `what` says what it should be ("a record", "a genesis
/// document"); `limit` is the most bytes it may hold, checked before reading.
///
/// # Errors
/// The file cannot be read; it is larger than `limit` (bad usage, naming the limit); it
/// is not JSON of `T` — an
/// [`safeledger_client::input::InputError`] (exit 2) naming the file, what it should
/// be, the line and column, and an unknown field with its likely meaning.
pub fn read_json<T: DeserializeOwned>(path: &Path, what: &str, limit: u64) -> anyhow::Result<T> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > limit {
        return Err(crate::cli::exit::usage(format!(
            "{} holds {len} bytes, more than the {limit} bytes {what} may hold",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(safeledger_client::input::parse_json(
        &bytes,
        &format!("{} is not {what}", path.display()),
    )?)
}

/// Reads a record file: the JSON of one `TxBody`, an object with exactly one key, the
/// record's kind (`{"penalty": {...}}`).
///
/// # Errors
/// Those of [`read_json`]; an object with no key or several (naming them); a record that
/// is not the shape of its kind (naming an unknown field and its likely meaning).
pub fn read_record(path: &Path) -> anyhow::Result<safeledger_core::TxBody> {
    let what = "a record (the JSON of a TxBody)";
    let v: serde_json::Value = read_json(path, what, safeledger_core::limits::MAX_TX_BYTES as u64)?;
    record_of(v, &path.display().to_string())
}

/// The record of the JSON value `v`, read from `name` (a file's path, or how the console's
/// form calls it): [`read_record`] without the file.
///
/// # Errors
/// An object with no key or several (naming them); a record that is not the shape of its
/// kind (naming an unknown field and its likely meaning).
pub fn record_of(v: serde_json::Value, name: &str) -> anyhow::Result<safeledger_core::TxBody> {
    let what = "a record (the JSON of a TxBody)";
    let keys: Vec<&String> = v
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    if keys.len() != 1 {
        let found = if keys.is_empty() {
            "none".to_string()
        } else {
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(crate::cli::exit::usage(format!(
            "{name} is not {what}: a record file holds one object with one key, the record's \
             kind (e.g. {{\"penalty\": {{...}}}}); its keys: {found}"
        )));
    }
    let what = format!("{name} is not {what}");
    Ok(safeledger_client::input::from_value(v, &what)?)
}
