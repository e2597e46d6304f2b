//! How enterprise text is cut into terms, for the index and for queries alike.
//!
//! Latin, Cyrillic and other scripts that separate words with spaces or punctuation are
//! cut into words (letters and digits), lowercased. Chinese, Japanese and Korean text has
//! no spaces, and tantivy's default tokenizer makes a whole run of such characters one
//! token (so `权威事实` would not find `把机器推论洗成权威事实`); a run is cut into
//! overlapping **bigrams** instead (`把机`, `机器`, `器推`, …) at consecutive positions, so any
//! part of two characters or more is a phrase of bigrams that matches wherever it occurs.
//! A run of one character is one term. This is the usual n-gram approach to CJK search
//! (Lucene's `CJKBigramFilter`); it needs no dictionary and misses nothing.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The tokenizer's name in the index.
pub const TOKENIZER: &str = "safeledger";

/// One piece of text in a query or a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A word, lowercased.
    Word(String),
    /// A run of CJK characters (one or more), as written.
    Cjk(String),
}

/// Whether `c` is written without spaces between words: CJK ideographs (with their
/// extensions and compatibility forms), kana, hangul and the CJK symbols in between.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF      // radicals
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x3100..=0x312F    // bopomofo
        | 0x3130..=0x318F    // hangul compatibility jamo
        | 0x31A0..=0x31FF    // bopomofo ext., katakana ext.
        | 0x3400..=0x4DBF    // ideographs ext. A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x3FFFF  // ideographs ext. B onwards
    )
}

/// Cuts `text` into words and CJK runs, in order; everything else separates them.
pub fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(Unit::Word(std::mem::take(&mut word)));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            if !cjk.is_empty() {
                out.push(Unit::Cjk(std::mem::take(&mut cjk)));
            }
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push(Unit::Word(std::mem::take(&mut word)));
            }
            if !cjk.is_empty() {
                out.push(Unit::Cjk(std::mem::take(&mut cjk)));
            }
        }
    }
    if !word.is_empty() {
        out.push(Unit::Word(word));
    }
    if !cjk.is_empty() {
        out.push(Unit::Cjk(cjk));
    }
    out
}

/// The terms of one CJK run: its overlapping bigrams, or the character itself when the
/// run is one character long.
pub fn bigrams(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() < 2 {
        return vec![run.to_string()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// The terms of `text` in position order: each word, then each bigram of each CJK run.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for u in units(text) {
        match u {
            Unit::Word(w) => out.push(w),
            Unit::Cjk(run) => out.extend(bigrams(&run)),
        }
    }
    out
}

/// The index's tokenizer: [`terms`] as a tantivy token stream (offsets are not kept:
/// nothing highlights).
#[derive(Clone, Default)]
pub struct TermTokenizer {
    token: Token,
}

/// The stream of [`TermTokenizer`].
pub struct TermStream<'a> {
    terms: std::vec::IntoIter<String>,
    token: &'a mut Token,
}

impl Tokenizer for TermTokenizer {
    type TokenStream<'a> = TermStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> TermStream<'a> {
        self.token.reset();
        TermStream {
            terms: terms(text).into_iter(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for TermStream<'_> {
    fn advance(&mut self) -> bool {
        match self.terms.next() {
            Some(t) => {
                self.token.position = self.token.position.wrapping_add(1);
                self.token.text = t;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_words_are_lowercased_and_cjk_runs_cut_into_bigrams() {
        assert_eq!(
            terms("ACME Co. 把机器推论"),
            ["acme", "co", "把机", "机器", "器推", "推论"]
        );
        assert_eq!(terms("安全A1"), ["安全", "a1"]);
        assert_eq!(terms("矿"), ["矿"]);
        assert_eq!(terms(" -- "), Vec::<String>::new());
    }

    #[test]
    fn the_stream_numbers_positions_from_zero() {
        let mut t = TermTokenizer::default();
        let mut s = t.token_stream("权威事实 ok");
        let mut seen = Vec::new();
        while s.advance() {
            seen.push((s.token().position, s.token().text.clone()));
        }
        assert_eq!(
            seen,
            [
                (0, "权威".to_string()),
                (1, "威事".to_string()),
                (2, "事实".to_string()),
                (3, "ok".to_string())
            ]
        );
    }
}
