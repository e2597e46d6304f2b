//! Time as the ledger sees it: milliseconds since the Unix epoch (UTC).
//!
//! `core` never reads a clock; callers pass times in.

use serde::{Deserialize, Serialize};

/// Milliseconds since 1970-01-01T00:00:00Z. Block times and `effective_at` use it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

/// Milliseconds in one day.
pub const DAY_MS: u64 = 86_400_000;

impl Timestamp {
    /// Midnight UTC of a civil date (proleptic Gregorian). `None` for dates before 1970 or
    /// an invalid month/day.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Timestamp> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        if days < 0 {
            return None;
        }
        Some(Timestamp(days as u64 * DAY_MS))
    }

    /// The civil date (year, month, day) in UTC.
    pub fn to_ymd(self) -> (i32, u32, u32) {
        civil_from_days((self.0 / DAY_MS) as i64)
    }

    /// `YYYY-MM-DD` in UTC.
    pub fn date_string(self) -> String {
        let (y, m, d) = self.to_ymd();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// This time plus `days` whole days, saturating.
    pub fn plus_days(self, days: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(days.saturating_mul(DAY_MS)))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days algorithms.
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        let t = Timestamp::from_ymd(2014, 12, 30).unwrap();
        assert_eq!(t.to_ymd(), (2014, 12, 30));
        assert_eq!(t.date_string(), "2014-12-30");
        assert_eq!(Timestamp::from_ymd(1970, 1, 1), Some(Timestamp(0)));
        assert_eq!(Timestamp::from_ymd(1969, 12, 31), None);
        assert_eq!(Timestamp::from_ymd(2015, 2, 29), None);
        assert!(Timestamp::from_ymd(2016, 2, 29).is_some());
    }
}
