//! Dates as the sources write them, to [`Timestamp`]s (UTC; the sources give local dates,
//! which are taken as UTC midnight).
//!
//! Accepted: `YYYY-MM-DD`, optionally followed by ` HH:MM[:SS]` or `THH:MM[:SS]`
//! (Chicago, OSHA 2009–2016); `YYYYMMDD` (SF inspections); `M/D/YYYY` and `M/D/YY`
//! (SF application dates, OSHA). A two-digit year is 2000–2069 for `00`–`69` and
//! 1970–1999 for `70`–`99` (the POSIX `%y` rule; the data is 2009–2016).

use super::RejectReason;
use safeledger_core::Timestamp;

/// Known "no date" placeholders: the zero Unix time shown in a US time zone, and the zero
/// spreadsheet date.
const PLACEHOLDERS: [(i32, u32, u32); 2] = [(1969, 12, 31), (1899, 12, 30)];

/// Parses a date in any accepted format. `s` must already be trimmed.
pub(super) fn parse_date(s: &str) -> Result<Timestamp, RejectReason> {
    let bad = || RejectReason::UnparseableDate(s.to_string());
    let (y, m, d, secs) = split(s).ok_or_else(bad)?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    if PLACEHOLDERS.contains(&(y, m, d)) {
        return Err(RejectReason::PlaceholderDate(s.to_string()));
    }
    if y < 1970 {
        return Err(RejectReason::DateOutOfRange(s.to_string()));
    }
    let day = Timestamp::from_ymd(y, m, d).ok_or_else(bad)?;
    Ok(Timestamp(day.0 + secs * 1000))
}

/// Parses the date in column `column`: `MissingDate(column)` if it is blank.
pub(super) fn date_field(v: &str, column: &'static str) -> Result<Timestamp, RejectReason> {
    if v.is_empty() {
        Err(RejectReason::MissingDate(column))
    } else {
        parse_date(v)
    }
}

/// (year, month, day, seconds into the day), unvalidated.
fn split(s: &str) -> Option<(i32, u32, u32, u64)> {
    if s.contains('/') {
        let mut it = s.split('/');
        let (m, d, y) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || y.len() == 3 || y.len() > 4 {
            return None;
        }
        let mut year = num(y, 1, 4)? as i32;
        if y.len() <= 2 {
            year += if year < 70 { 2000 } else { 1900 };
        }
        return Some((year, num(m, 1, 2)?, num(d, 1, 2)?, 0));
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            num(&s[..4], 4, 4)? as i32,
            num(&s[4..6], 2, 2)?,
            num(&s[6..], 2, 2)?,
            0,
        ));
    }
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let mut it = date.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let secs = match time {
        None => 0,
        Some(t) => {
            let mut it = t.split(':');
            let h = num(it.next()?, 1, 2)?;
            let min = num(it.next()?, 2, 2)?;
            let sec = it.next().map_or(Some(0), |x| num(x, 2, 2))?;
            if it.next().is_some() || h > 23 || min > 59 || sec > 59 {
                return None;
            }
            u64::from(h * 3600 + min * 60 + sec)
        }
    };
    Some((num(y, 4, 4)? as i32, num(m, 1, 2)?, num(d, 1, 2)?, secs))
}

/// A number of `min..=max` ASCII digits.
fn num(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> Timestamp {
        Timestamp::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn every_source_format_parses_to_the_same_day() {
        let day = ymd(2011, 4, 16);
        for s in [
            "2011-04-16",
            "20110416",
            "4/16/2011",
            "04/16/2011",
            "04/16/11",
        ] {
            assert_eq!(parse_date(s), Ok(day), "{s}");
        }
        assert_eq!(parse_date("2011-04-16 00:00:00"), Ok(day));
        assert_eq!(
            parse_date("2011-04-16 01:02:03"),
            Ok(Timestamp(day.0 + 3_723_000))
        );
    }

    #[test]
    fn two_digit_years_pivot_at_70() {
        assert_eq!(parse_date("11/29/09"), Ok(ymd(2009, 11, 29)));
        assert_eq!(parse_date("1/1/70"), Ok(ymd(1970, 1, 1)));
    }

    #[test]
    fn placeholders_old_dates_and_garbage_are_told_apart() {
        assert_eq!(
            parse_date("12/31/1969"),
            Err(RejectReason::PlaceholderDate("12/31/1969".into()))
        );
        assert_eq!(
            parse_date("12/30/1899"),
            Err(RejectReason::PlaceholderDate("12/30/1899".into()))
        );
        assert_eq!(
            parse_date("03/16/1960"),
            Err(RejectReason::DateOutOfRange("03/16/1960".into()))
        );
        for s in [
            "",
            "2015-02-29",
            "13/1/2012",
            "2012-1-1-1",
            "tomorrow",
            "1/2/345",
            "2012-01-01 25:00",
        ] {
            assert_eq!(
                parse_date(s),
                Err(RejectReason::UnparseableDate(s.into())),
                "{s}"
            );
        }
    }
}
