//! Working days for the time limits of licence steps (issue 19 item 7; Administrative
//! Licensing Law arts. 32, 42 and 82: "days" of its limits are working days).
//!
//! Days run from midnight to midnight in UTC+8 (China Standard Time), so that every node
//! counts alike whatever its own zone. A day is a working day when the governed calendar
//! [`RuleParams::work_calendar`] says so, else when it is Monday to Friday: the calendar
//! lists the public holidays (`false`) and the make-up working days on weekends (`true`)
//! the State Council publishes each year.
//!
//! A limit of `n` working days from an act counts the working days after the act's day;
//! the step is due by the end of the `n`-th, and overdue from the next midnight (UTC+8).

use crate::RuleParams;
use safeledger_core::time::DAY_MS;
use safeledger_core::Timestamp;

/// UTC+8 in milliseconds.
const OFFSET_MS: u64 = 8 * 3_600_000;

/// Most calendar days a count of working days walks before giving up (a calendar that
/// marks every day a holiday would otherwise never end); far beyond any real limit.
const MAX_WALK_DAYS: u64 = 20_000;

/// The day number (days since 1970-01-01) of `t` in UTC+8.
pub fn day_of(t: Timestamp) -> u64 {
    t.0.saturating_add(OFFSET_MS) / DAY_MS
}

/// `YYYY-MM-DD` of day number `day` (the calendar's key).
pub fn date_of_day(day: u64) -> String {
    Timestamp(day.saturating_mul(DAY_MS)).date_string()
}

/// Midnight UTC+8 at the start of day number `day`, as a timestamp.
fn start_of(day: u64) -> Timestamp {
    Timestamp(day.saturating_mul(DAY_MS).saturating_sub(OFFSET_MS))
}

/// Whether day number `day` is a working day under `params`' calendar.
pub fn is_working_day(day: u64, params: &RuleParams) -> bool {
    if let Some(&working) = params.work_calendar.get(&date_of_day(day)) {
        return working;
    }
    // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays.
    (day + 3) % 7 < 5
}

/// When a step with a limit of `n` working days from `from` becomes overdue: midnight
/// (UTC+8) after the `n`-th working day following `from`'s day. `n` = 0: the end of
/// `from`'s own day.
pub fn overdue_from(from: Timestamp, n: u64, params: &RuleParams) -> Timestamp {
    let mut day = day_of(from);
    let mut left = n;
    let mut walked = 0;
    while left > 0 && walked < MAX_WALK_DAYS {
        day += 1;
        walked += 1;
        if is_working_day(day, params) {
            left -= 1;
        }
    }
    start_of(day + 1)
}

/// Working days after `from`'s day up to and including `to`'s day (0 when `to` is not
/// later), at most [`MAX_WALK_DAYS`] days walked.
pub fn working_days_between(from: Timestamp, to: Timestamp, params: &RuleParams) -> u64 {
    let (a, b) = (day_of(from), day_of(to));
    (a + 1..=b.min(a + MAX_WALK_DAYS))
        .filter(|d| is_working_day(*d, params))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, hour_utc: u64) -> Timestamp {
        Timestamp(Timestamp::from_ymd(y, m, d).unwrap().0 + hour_utc * 3_600_000)
    }

    #[test]
    fn weekends_holidays_and_make_up_days_count_in_utc_plus_8() {
        let mut p = RuleParams::default();
        // Friday 2026-12-04, 17:00 UTC is already Saturday 01:00 in Beijing.
        assert_eq!(date_of_day(day_of(at(2026, 12, 4, 15))), "2026-12-04");
        assert_eq!(date_of_day(day_of(at(2026, 12, 4, 17))), "2026-12-05");
        assert!(is_working_day(day_of(at(2026, 12, 4, 0)), &p));
        assert!(!is_working_day(day_of(at(2026, 12, 5, 0)), &p));
        // Filed Monday 2026-12-07: 5 working days end Monday 12-14, overdue from
        // Tuesday 00:00 UTC+8 (Monday 16:00 UTC).
        let filed = at(2026, 12, 7, 2);
        assert_eq!(overdue_from(filed, 5, &p), at(2026, 12, 14, 16));
        // A holiday on Wednesday 12-09 and a make-up Saturday 12-12.
        p.set("work_calendar.2026-12-09", "holiday").unwrap();
        assert_eq!(overdue_from(filed, 5, &p), at(2026, 12, 15, 16));
        p.set("work_calendar.2026-12-12", "workday").unwrap();
        assert_eq!(overdue_from(filed, 5, &p), at(2026, 12, 14, 16));
        assert_eq!(working_days_between(filed, at(2026, 12, 14, 2), &p), 5);
        assert_eq!(working_days_between(filed, filed, &p), 0);
        // A calendar of holidays only ends the walk rather than looping.
        let all = RuleParams {
            work_calendar: (0..40)
                .map(|i| (date_of_day(day_of(filed) + 1 + i), false))
                .collect(),
            ..RuleParams::default()
        };
        assert!(overdue_from(filed, 5, &all) > at(2027, 1, 16, 0));
    }
}
