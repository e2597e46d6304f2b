//! Evidence files — photos, videos, signed checklists, PDFs — attached to inspections,
//! accident reports and tip-offs (issue 20 item 4). The file stays with the recording
//! agency's node, outside the replicated store; the ledger holds its BLAKE3 hash, size and
//! media type, so anyone who fetches it checks it against the chain.

use super::{bounds, FieldError};
use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// Most files one record lists.
pub const MAX_FILES: usize = 16;
/// Largest evidence file: 256 MiB (a node may set a lower bound for uploads).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// One evidence file, as the ledger knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    /// BLAKE3 of the file's bytes (plain `blake3::hash`, no domain: anyone's `b3sum`
    /// reproduces it).
    pub hash: Hash,
    /// Its size in bytes, 1 to [`MAX_FILE_BYTES`].
    pub bytes: u64,
    /// Its media type (`image/jpeg`, `video/mp4`, `application/pdf`, ...).
    pub media_type: String,
    /// Its file name at the recording agency, for people.
    pub name: String,
}

/// An agency attaches evidence files to one of its records about an enterprise (an
/// inspection, a joint inspection it co-signed, an accident report). A tip-off's files
/// come with the tip ([`super::TipIntake::evidence`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceAttachment {
    /// The enterprise the record is about.
    pub enterprise: crate::ids::EnterpriseId,
    /// The record (its transaction id).
    pub record: Hash,
    /// The files, 1 to [`MAX_FILES`], each once.
    pub files: Vec<EvidenceFile>,
}

/// Stateless bounds of a file list (`field` names it in errors).
pub(super) fn check_files(field: &'static str, files: &[EvidenceFile]) -> Result<(), FieldError> {
    let err = |why: String| Err(FieldError { field, why });
    if files.len() > MAX_FILES {
        return err(format!("{} files: at most {MAX_FILES}", files.len()));
    }
    for (i, f) in files.iter().enumerate() {
        if f.bytes == 0 || f.bytes > MAX_FILE_BYTES {
            return err(format!(
                "file {} holds {} bytes: 1 to {MAX_FILE_BYTES}",
                f.hash, f.bytes
            ));
        }
        if files[..i].iter().any(|o| o.hash == f.hash) {
            return err(format!("file {} is listed twice", f.hash));
        }
        if let Err(why) = check_media_type(&f.media_type) {
            return err(why);
        }
        bounds::local_id(field, &f.name)?;
    }
    Ok(())
}

/// A media type `type/subtype`, each part 1 to 64 of `[A-Za-z0-9+.-]`.
///
/// # Errors
/// Why `s` is not one.
pub fn check_media_type(s: &str) -> Result<(), String> {
    let token = |p: &str| {
        !p.is_empty()
            && p.len() <= 64
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    };
    match s.split_once('/') {
        Some((a, b)) if token(a) && token(b) => Ok(()),
        _ => Err(format!("{s:?} is not a media type type/subtype")),
    }
}

/// Stateless bounds of an attachment.
pub(super) fn check(r: &EvidenceAttachment) -> Result<(), FieldError> {
    if r.files.is_empty() {
        return Err(FieldError {
            field: "files",
            why: "names no file".into(),
        });
    }
    check_files("files", &r.files)
}
