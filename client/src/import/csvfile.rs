//! Reading one CSV file: header check, decoding, trimming and bounding of fields.
//!
//! A row whose field count differs from the header's, or that the CSV parser refuses, or
//! that holds a field that is not valid text in the file's encoding, becomes a rejected
//! row; only I/O errors and a header without a required column stop the import.

use super::plan::{Origin, Src, SOURCES};
use super::{ImportError, RejectReason};
use csv::{ByteRecord, ReaderBuilder};
use safeledger_core::limits::MAX_TEXT_BYTES;
use std::path::Path;

/// A file's character encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    /// UTF-8 (a leading byte-order mark is ignored).
    Utf8,
    /// Windows-1252, the superset of ISO-8859-1 (Latin-1) that files labelled Latin-1
    /// are in practice (WHATWG maps the `latin1` label to it). The five bytes it leaves
    /// undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) make a field undecodable.
    Windows1252,
}

/// One data row: where it is and its requested fields, or why it cannot be read.
pub(super) struct Row {
    /// File and line.
    pub origin: Origin,
    /// The requested columns' values, trimmed and cut to [`MAX_TEXT_BYTES`], in the
    /// order the columns were requested (an absent optional column reads as "").
    pub cells: Result<Vec<String>, RejectReason>,
}

/// The rows read from one file.
pub(super) struct Table {
    names: Vec<&'static str>,
    /// Data rows, in file order.
    pub rows: Vec<Row>,
}

impl Table {
    /// The value of column `name` in a row's cells ("" if the column was not requested).
    pub(super) fn get<'c>(&self, cells: &'c [String], name: &str) -> &'c str {
        self.names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| cells.get(i))
            .map_or("", String::as_str)
    }
}

/// Reads `path` (file [`SOURCES`]`[src]`): checks that the header has every `required`
/// column, and returns the `required` then `optional` columns of the first `limit` data
/// rows (all rows if `None`).
pub(super) fn read_table(
    path: &Path,
    src: Src,
    encoding: Encoding,
    required: &[&'static str],
    optional: &[&'static str],
    limit: Option<usize>,
) -> Result<Table, ImportError> {
    let file_name = SOURCES[src];
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ImportError::MissingFile(path.to_path_buf()),
        _ => ImportError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    let io_err = |e: csv::Error| ImportError::Io {
        path: path.to_path_buf(),
        source: match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => std::io::Error::other(format!("{other:?}")),
        },
    };
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut lines = LineCounter::new(&bytes);
    let mut record = ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(io_err)? {
        return Err(ImportError::NoHeader {
            file: file_name.to_string(),
        });
    }
    let header: Vec<String> = record
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = decode_lossy(encoding, f);
            let s = if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                &s
            };
            s.trim().to_string()
        })
        .collect();
    let mut columns = Vec::with_capacity(required.len() + optional.len());
    for &name in required {
        match header.iter().position(|h| h == name) {
            Some(i) => columns.push(Some(i)),
            None => {
                return Err(ImportError::MissingColumn {
                    file: file_name.to_string(),
                    column: name,
                })
            }
        }
    }
    columns.extend(optional.iter().map(|n| header.iter().position(|h| h == n)));
    let mut rows = Vec::new();
    let mut last_error_at = None;
    while limit.is_none_or(|n| rows.len() < n) {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.line_at(record.position().map_or(0, |p| p.byte()));
                let cells = if record.len() != header.len() {
                    Err(RejectReason::Malformed(format!(
                        "{} fields where the header has {}",
                        record.len(),
                        header.len()
                    )))
                } else {
                    columns
                        .iter()
                        .map(|c| match c {
                            Some(i) => decode(encoding, record.get(*i).unwrap_or_default()),
                            None => Ok(String::new()),
                        })
                        .collect()
                };
                rows.push(Row {
                    origin: Origin { src, line },
                    cells,
                });
            }
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(io_err(e));
                }
                let at = e.position().map(|p| p.byte());
                if at.is_none() || at == last_error_at {
                    // No progress: stop rather than loop on the same bytes.
                    return Err(io_err(e));
                }
                last_error_at = at;
                let line = lines.line_at(at.unwrap_or_default());
                rows.push(Row {
                    origin: Origin { src, line },
                    cells: Err(RejectReason::Malformed(e.to_string())),
                });
            }
        }
    }
    Ok(Table {
        names: required.iter().chain(optional).copied().collect(),
        rows,
    })
}

/// Line numbers from byte offsets. The CSV parser's own line count lags by one after a
/// CRLF terminator (two of the files end lines with CRLF), so lines are counted here:
/// a record's line is 1 + the newlines before its first byte, where the record starts
/// after any line terminators at the parser's reported offset.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record the parser reports at byte `at` (offsets only grow).
    fn line_at(&mut self, at: u64) -> u64 {
        let mut start = usize::try_from(at)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            let newlines = self.bytes[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += newlines as u64;
            self.offset = start;
        }
        self.line
    }
}

fn decode_lossy(encoding: Encoding, bytes: &[u8]) -> String {
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        Encoding::Windows1252 => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Decodes, trims and bounds one field.
fn decode(encoding: Encoding, bytes: &[u8]) -> Result<String, RejectReason> {
    let text = match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes)
            .map_err(|_| RejectReason::UndecodableText)?
            .to_string(),
        Encoding::Windows1252 => {
            if bytes
                .iter()
                .any(|b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
            {
                return Err(RejectReason::UndecodableText);
            }
            decode_lossy(encoding, bytes)
        }
    };
    Ok(clip(text.trim()))
}

/// `s` cut to at most [`MAX_TEXT_BYTES`] bytes, at a character boundary.
pub(super) fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT_BYTES {
        return s.to_string();
    }
    let mut end = MAX_TEXT_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// `v`, or `MissingId(column)` if it is blank.
pub(super) fn required<'a>(v: &'a str, column: &'static str) -> Result<&'a str, RejectReason> {
    if v.is_empty() {
        Err(RejectReason::MissingId(column))
    } else {
        Ok(v)
    }
}

/// Joins the non-empty parts with ", " into one bounded line ("street, city, ST zip").
pub(super) fn join_address(street: &str, city: &str, state: &str, zip: &str) -> String {
    let state_zip = format!("{state} {zip}");
    let parts = [street, city, state_zip.trim()];
    let joined: Vec<&str> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    clip(&joined.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_at_a_char_boundary() {
        let s = "é".repeat(MAX_TEXT_BYTES);
        let c = clip(&s);
        assert!(c.len() <= MAX_TEXT_BYTES && c.len() >= MAX_TEXT_BYTES - 1);
        assert!(c.chars().all(|ch| ch == 'é'));
    }

    #[test]
    fn latin1_byte_decodes_and_undefined_byte_is_refused() {
        assert_eq!(
            decode(Encoding::Windows1252, b" Cr\xe8me ").unwrap(),
            "Crème"
        );
        assert_eq!(
            decode(Encoding::Windows1252, b"a\x81b"),
            Err(RejectReason::UndecodableText)
        );
        assert_eq!(
            decode(Encoding::Utf8, b"Cr\xe8me"),
            Err(RejectReason::UndecodableText)
        );
    }

    #[test]
    fn lines_are_file_lines_with_crlf_lf_and_embedded_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SOURCES[0]);
        std::fs::write(&path, b"a,b\r\n1,x\r\n2,\"multi\r\nline\"\r\n\r\n3,y\n4,z").unwrap();
        let t = read_table(&path, 0, Encoding::Utf8, &["a", "b"], &[], None).unwrap();
        let lines: Vec<u64> = t.rows.iter().map(|r| r.origin.line).collect();
        assert_eq!(lines, vec![2, 3, 6, 7]);
        let cells = t.rows[1].cells.as_ref().unwrap();
        assert_eq!(t.get(cells, "b"), "multi\r\nline");
        let t = read_table(&path, 0, Encoding::Utf8, &["a"], &["c"], Some(2)).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.get(t.rows[0].cells.as_ref().unwrap(), "c"), "");
    }

    #[test]
    fn address_skips_blank_parts() {
        assert_eq!(
            join_address("1 Main St", "", "IL", "60601"),
            "1 Main St, IL 60601"
        );
        assert_eq!(join_address("", "", "", ""), "");
    }
}
