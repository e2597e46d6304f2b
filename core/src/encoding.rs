//! The one canonical binary encoding of everything that is hashed or signed.
//!
//! Bytes are `[ENCODING_VERSION] ‖ postcard(value)`. Decoding refuses a wrong version byte,
//! truncated input, trailing bytes and input over a caller-given bound, with a typed
//! [`DecodeError`]; it never panics. JSON is never hashed.

use serde::{de::DeserializeOwned, Serialize};

/// Version byte that starts every canonical encoding.
pub const ENCODING_VERSION: u8 = 1;

/// Why bytes did not decode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("empty input")]
    Empty,
    /// The first byte is not [`ENCODING_VERSION`].
    #[error("unknown encoding version {0} (expected {ENCODING_VERSION})")]
    Version(u8),
    /// More bytes than the caller allows.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The bound.
        limit: usize,
    },
    /// Bytes left over after the value.
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
    /// postcard could not decode the value (truncated, bad tag, invalid UTF-8, ...).
    #[error("malformed encoding: {0}")]
    Malformed(String),
}

/// Canonical bytes of `value`: version byte then postcard.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Sized first, then written into one allocation of exactly that size: growing the
    // vector as postcard writes cost more than the size pass (issue 7).
    let size = postcard::experimental::serialized_size(value).unwrap_or(0);
    let mut out = Vec::with_capacity(1 + size);
    out.push(ENCODING_VERSION);
    // postcard serialization into a Vec cannot fail for our types (no maps with
    // non-serializable keys, no unknown-length sequences).
    match postcard::to_extend(value, out) {
        Ok(v) => v,
        Err(e) => panic!("canonical encoding failed: {e}"),
    }
}

/// Decodes canonical bytes, refusing anything over `limit` bytes.
///
/// Errors: [`DecodeError`] for empty input, a wrong version, oversized input, malformed
/// content or trailing bytes.
pub fn from_canonical_bounded<T: DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (&v, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if v != ENCODING_VERSION {
        return Err(DecodeError::Version(v));
    }
    let (value, trailing) =
        postcard::take_from_bytes(rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !trailing.is_empty() {
        return Err(DecodeError::Trailing(trailing.len()));
    }
    Ok(value)
}

/// The first value of canonical `bytes` that hold more after it (a block's header, read
/// without decoding its transactions: the header is the block encoding's first field).
///
/// # Errors
/// Empty input, another encoding version, bytes that do not begin with a `T`.
pub fn canonical_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (&v, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if v != ENCODING_VERSION {
        return Err(DecodeError::Version(v));
    }
    postcard::take_from_bytes(rest)
        .map(|(t, _)| t)
        .map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// [`from_canonical_bounded`] with the general message bound
/// [`crate::limits::MAX_MESSAGE_BYTES`].
pub fn from_canonical<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    from_canonical_bounded(bytes, crate::limits::MAX_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let v: (u64, String) = (7, "licence".into());
        let b = to_canonical(&v);
        assert_eq!(from_canonical::<(u64, String)>(&b), Ok(v));
        assert_eq!(
            from_canonical::<(u64, String)>(&[]),
            Err(DecodeError::Empty)
        );
        let mut wrong = b.clone();
        wrong[0] = 9;
        assert_eq!(
            from_canonical::<(u64, String)>(&wrong),
            Err(DecodeError::Version(9))
        );
        let mut trailing = b.clone();
        trailing.push(0);
        assert_eq!(
            from_canonical::<(u64, String)>(&trailing),
            Err(DecodeError::Trailing(1))
        );
        assert!(matches!(
            from_canonical::<(u64, String)>(&b[..b.len() - 1]),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            from_canonical_bounded::<(u64, String)>(&b, 2),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
