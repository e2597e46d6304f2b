//! Enterprise identifiers: the unified social credit code (GB 32100-2015) or, for imported
//! foreign data, a namespaced id such as `us-chi-bacp:12345`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The 31 characters of a unified social credit code, in value order 0–30 (GB 32100-2015).
pub const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Longest enterprise id, in bytes.
pub const MAX_ENTERPRISE_ID_BYTES: usize = 128;

/// Why an enterprise id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum IdError {
    /// Empty, too long, or with characters outside `[A-Za-z0-9._:-]`.
    #[error("enterprise id {0:?} is not 1..=128 characters of [A-Za-z0-9._:-]")]
    Syntax(String),
    /// An 18-character code with no namespace that fails GB 32100-2015.
    #[error("unified social credit code {code:?} is invalid: {why}")]
    Uscc {
        /// The code.
        code: String,
        /// Which check failed.
        why: &'static str,
    },
}

/// An enterprise's identifier: a valid unified social credit code, or `namespace:local`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnterpriseId(String);

impl EnterpriseId {
    /// Validates and wraps an id. A string with a `:` is a namespaced id; any other must be
    /// an 18-character unified social credit code with both check characters right.
    pub fn parse(s: &str) -> Result<EnterpriseId, IdError> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if s.is_empty() || s.len() > MAX_ENTERPRISE_ID_BYTES || !ok_chars {
            return Err(IdError::Syntax(s.to_string()));
        }
        if !s.contains(':') {
            validate_uscc(s)?;
        }
        Ok(EnterpriseId(s.to_string()))
    }

    /// A namespaced id `namespace:local`; `local` is sanitised to the allowed characters.
    pub fn namespaced(namespace: &str, local: &str) -> Result<EnterpriseId, IdError> {
        let local: String = local
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        EnterpriseId::parse(&format!("{namespace}:{local}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EnterpriseId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        EnterpriseId::parse(&s)
    }
}

impl From<EnterpriseId> for String {
    fn from(id: EnterpriseId) -> String {
        id.0
    }
}

impl fmt::Debug for EnterpriseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnterpriseId({})", self.0)
    }
}

impl fmt::Display for EnterpriseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a unified social credit code: 18 characters of [`USCC_CHARSET`]; the GB 11714
/// organisation code at positions 9–17 with its check character (weights 3, 7, 9, 10, 5,
/// 8, 4, 2; letters A=10…Z=35; 10 → X, 11 → 0); and the code's own check character
/// C18 = (31 − (Σ Cᵢ·3^(i−1) mod 31)) mod 31 (GB 32100-2015, DESIGN §5).
pub fn validate_uscc(code: &str) -> Result<(), IdError> {
    let err = |why| IdError::Uscc {
        code: code.to_string(),
        why,
    };
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(err("length is not 18"));
    }
    let mut values = [0u32; 18];
    for (i, c) in chars.iter().enumerate() {
        values[i] = USCC_CHARSET
            .find(*c)
            .ok_or_else(|| err("character outside the code's charset"))? as u32;
    }
    // Organisation code (positions 9..=17, indexes 8..=16).
    const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0u32;
    for (k, w) in ORG_WEIGHTS.iter().enumerate() {
        let c = chars[8 + k];
        let v = c.to_digit(36).ok_or_else(|| err("organisation code"))?;
        sum += v * w;
    }
    let expect = match 11 - (sum % 11) {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('?'),
    };
    if chars[16] != expect {
        return Err(err("organisation code check character (position 17)"));
    }
    let mut sum = 0u32;
    let mut w = 1u32;
    for v in values.iter().take(17) {
        sum += v * w;
        w = (w * 3) % 31;
    }
    let c18 = (31 - sum % 31) % 31;
    if values[17] != c18 {
        return Err(err("check character (position 18)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_code_passes_and_any_change_fails() {
        let code = "91350100M000100Y43";
        assert!(validate_uscc(code).is_ok());
        for i in 0..18 {
            for c in USCC_CHARSET.chars() {
                let mut v: Vec<char> = code.chars().collect();
                if v[i] == c {
                    continue;
                }
                v[i] = c;
                let s: String = v.into_iter().collect();
                assert!(validate_uscc(&s).is_err(), "{s} passed");
            }
        }
    }

    #[test]
    fn namespaced_ids() {
        let id = EnterpriseId::namespaced("us-chi-bacp", "12 34").unwrap();
        assert_eq!(id.as_str(), "us-chi-bacp:12_34");
        assert!(EnterpriseId::parse("no spaces allowed").is_err());
        assert!(EnterpriseId::parse("").is_err());
    }
}
