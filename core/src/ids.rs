//! Enterprise identifiers: the unified social credit code (GB 32100-2015) or, for imported
//! foreign data, a namespaced id such as `us-chi-bacp:12345`; and industry codes of the
//! national industry classification GB/T 4754-2017, always written with the standard's
//! version (`GB/T 4754-2017:C2671`), or a namespaced foreign code.

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
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct EnterpriseId(String);

/// Serialized as its string, like `#[serde(into = "String")]` but without cloning it
/// first (issue 7: every record and state encoding writes ids).
impl Serialize for EnterpriseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

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

/// The version of the industry classification this ledger validates.
pub const GBT_4754_2017: &str = "GB/T 4754-2017";

/// Sections of GB/T 4754-2017 with their first and last two-digit division.
const GBT_4754_2017_SECTIONS: [(char, u8, u8); 20] = [
    ('A', 1, 5),
    ('B', 6, 12),
    ('C', 13, 43),
    ('D', 44, 46),
    ('E', 47, 50),
    ('F', 51, 52),
    ('G', 53, 60),
    ('H', 61, 62),
    ('I', 63, 65),
    ('J', 66, 69),
    ('K', 70, 70),
    ('L', 71, 72),
    ('M', 73, 75),
    ('N', 76, 79),
    ('O', 80, 82),
    ('P', 83, 83),
    ('Q', 84, 85),
    ('R', 86, 90),
    ('S', 91, 96),
    ('T', 97, 97),
];

/// An industry code with the classification it belongs to: `GB/T 4754-2017:<code>` where
/// `<code>` is a section letter, optionally followed by the two-digit division (which must
/// lie in the section's range), a third digit (group) and a fourth (class) — e.g. `B`,
/// `C26`, `C267`, `C2671`; or `namespace:code` for a foreign classification (e.g.
/// `us-naics-2017:722511`), which is kept but not checked beyond its syntax.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IndustryCode {
    /// The classification and its version, e.g. [`GBT_4754_2017`].
    pub standard: String,
    /// The code within it.
    pub code: String,
}

/// Why an industry code was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("industry code {code:?} is invalid: {why}")]
pub struct IndustryCodeError {
    /// The text.
    pub code: String,
    /// What is wrong.
    pub why: &'static str,
}

impl IndustryCode {
    /// Parses `standard:code`; a `GB/T 4754-2017` code is checked against the standard's
    /// sections and division ranges.
    pub fn parse(s: &str) -> Result<IndustryCode, IndustryCodeError> {
        let err = |why| IndustryCodeError {
            code: s.to_string(),
            why,
        };
        let (standard, code) = s
            .rsplit_once(':')
            .ok_or_else(|| err("no classification: write `GB/T 4754-2017:<code>`"))?;
        if code.is_empty() || code.len() > 16 || standard.is_empty() || standard.len() > 64 {
            return Err(err("empty or too long"));
        }
        if standard == GBT_4754_2017 {
            check_gbt_4754_2017(code).map_err(err)?;
        } else if standard.starts_with("GB/T 4754") {
            return Err(err("only the 2017 version of GB/T 4754 is supported"));
        } else if !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        {
            return Err(err("foreign code outside [A-Za-z0-9.-]"));
        }
        Ok(IndustryCode {
            standard: standard.to_string(),
            code: code.to_string(),
        })
    }

    /// True when this is a GB/T 4754-2017 code at or below `prefix` (a section, division,
    /// group or class of the same standard), e.g. `C2671` is within `C26` and `C`.
    pub fn is_within(&self, prefix: &str) -> bool {
        self.standard == GBT_4754_2017 && self.code.starts_with(prefix)
    }
}

impl fmt::Display for IndustryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.standard, self.code)
    }
}

/// Checks a GB/T 4754-2017 code (without the standard prefix): section letter, then
/// 0, 2, 3 or 4 digits whose first two are a division of that section.
pub fn check_gbt_4754_2017(code: &str) -> Result<(), &'static str> {
    let mut chars = code.chars();
    let section = chars.next().ok_or("empty")?;
    let &(_, lo, hi) = GBT_4754_2017_SECTIONS
        .iter()
        .find(|(c, _, _)| *c == section)
        .ok_or("section is not a letter A–T")?;
    let digits = chars.as_str();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![0, 2, 3, 4].contains(&digits.len()) {
        return Err("after the section letter: a 2-digit division, 3-digit group or 4-digit class");
    }
    if digits.len() >= 2 {
        let division: u8 = digits[..2].parse().map_err(|_| "division")?;
        if !(lo..=hi).contains(&division) {
            return Err("division outside its section's range");
        }
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
    fn lowercase_short_long_and_foreign_codes_fail() {
        assert!(validate_uscc("91350100m000100Y43").is_err());
        assert!(validate_uscc("91350100M000100Y4").is_err());
        assert!(validate_uscc("91350100M000100Y433").is_err());
        assert!(EnterpriseId::parse("91350100M000100Y43").is_ok());
        assert!(EnterpriseId::parse("91350100M000100Y44").is_err());
        // With a namespace the id is foreign and not checked as a code.
        assert!(EnterpriseId::parse("us-osha-insp:91350100M000100Y44").is_ok());
    }

    #[test]
    fn industry_codes_carry_the_standard_version_and_divisions_match_sections() {
        let c = IndustryCode::parse("GB/T 4754-2017:C2671").unwrap();
        assert_eq!(c.to_string(), "GB/T 4754-2017:C2671");
        assert!(c.is_within("C26") && c.is_within("C") && !c.is_within("B"));
        for ok in ["B", "B06", "E47", "E50", "C13", "C43", "T97", "S96", "K70"] {
            assert!(
                IndustryCode::parse(&format!("GB/T 4754-2017:{ok}")).is_ok(),
                "{ok}"
            );
        }
        for bad in ["C12", "B13", "E51", "U", "C2", "C26711", "c26", "T98", ""] {
            assert!(
                IndustryCode::parse(&format!("GB/T 4754-2017:{bad}")).is_err(),
                "{bad}"
            );
        }
        assert!(IndustryCode::parse("C26").is_err(), "version missing");
        assert!(IndustryCode::parse("GB/T 4754-2011:C26").is_err());
        let f = IndustryCode::parse("us-naics-2017:722511").unwrap();
        assert!(!f.is_within("7"));
    }

    #[test]
    fn namespaced_ids() {
        let id = EnterpriseId::namespaced("us-chi-bacp", "12 34").unwrap();
        assert_eq!(id.as_str(), "us-chi-bacp:12_34");
        assert!(EnterpriseId::parse("no spaces allowed").is_err());
        assert!(EnterpriseId::parse("").is_err());
    }
}
