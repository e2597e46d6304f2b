//! Calendar arithmetic on [`Timestamp`]s for rule windows ("in the last 24 months",
//! "3 months before expiry"): whole calendar months on UTC dates, the day clamped to the
//! target month's length, the time of day kept.

use safeledger_core::time::DAY_MS;
use safeledger_core::Timestamp;

fn shift(t: Timestamp, months: i64) -> Timestamp {
    let (y, m, d) = t.to_ymd();
    let total = i64::from(y) * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let ny = i32::try_from(ny).unwrap_or(if months < 0 { 1970 } else { 9999 });
    let time_of_day = t.0 % DAY_MS;
    let mut day = d;
    loop {
        if let Some(base) = Timestamp::from_ymd(ny, nm as u32, day) {
            return Timestamp(base.0 + time_of_day);
        }
        if day <= 28 {
            // Before 1970: the earliest representable time.
            return Timestamp(0);
        }
        day -= 1;
    }
}

/// `t` plus `months` calendar months (saturating at the representable range).
pub fn add_months(t: Timestamp, months: u64) -> Timestamp {
    shift(t, i64::try_from(months.min(1_200_000)).unwrap_or(0))
}

/// `t` minus `months` calendar months (1970-01-01 at the earliest).
pub fn sub_months(t: Timestamp, months: u64) -> Timestamp {
    shift(t, -i64::try_from(months.min(1_200_000)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> Timestamp {
        Timestamp::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn months_are_calendar_months_with_the_day_clamped() {
        assert_eq!(add_months(ymd(2020, 1, 31), 1), ymd(2020, 2, 29));
        assert_eq!(add_months(ymd(2021, 1, 31), 1), ymd(2021, 2, 28));
        assert_eq!(sub_months(ymd(2020, 5, 31), 3), ymd(2020, 2, 29));
        assert_eq!(add_months(ymd(2020, 11, 15), 3), ymd(2021, 2, 15));
        assert_eq!(sub_months(ymd(2020, 1, 15), 36), ymd(2017, 1, 15));
        assert_eq!(sub_months(ymd(1970, 2, 1), 5), Timestamp(0));
        let t = Timestamp(ymd(2020, 3, 1).0 + 5);
        assert_eq!(sub_months(t, 1), Timestamp(ymd(2020, 2, 1).0 + 5));
    }
}
