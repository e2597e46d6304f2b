//! Dates and times on the command line (issue 18, point 14): strict ISO 8601 dates
//! (`2024-05-01`, never `2024-5-1`) and RFC 3339 date-times (`2024-05-01T14:30:00+08:00`),
//! no earlier than 1970 (a timestamp is u64 milliseconds since 1970 in every header and
//! id) and, for an effective time, not in the future; shown back as RFC 3339 in the
//! user's time zone.

use crate::cli::exit::usage;
use chrono::{DateTime, Local, NaiveDate, SecondsFormat, TimeZone};
use safeledger_core::Timestamp;

/// The earliest time the ledger records.
pub const EARLIEST: &str = "1970-01-01T00:00:00Z";

/// Parses `s`: a date `YYYY-MM-DD` (the start of that day, UTC) or an RFC 3339
/// date-time.
///
/// # Errors
/// Bad usage (exit 2): not one of those shapes, not a real date, or before 1970.
pub fn parse_time(s: &str) -> anyhow::Result<Timestamp> {
    let s = s.trim();
    let millis = if is_iso_date_shape(s) {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| usage(format!("{s:?} is not a date in the calendar")))?;
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(|| usage(format!("{s:?} is not a date in the calendar")))?
    } else {
        DateTime::parse_from_rfc3339(s)
            .map_err(|_| {
                usage(format!(
                    "{s:?} is neither a date YYYY-MM-DD nor an RFC 3339 date-time \
                     (e.g. 2024-05-01 or 2024-05-01T14:30:00+08:00)"
                ))
            })?
            .timestamp_millis()
    };
    u64::try_from(millis).map(Timestamp).map_err(|_| {
        usage(format!(
            "{s:?} is before {EARLIEST}, the earliest time the ledger records \
             (its timestamps count milliseconds from then)"
        ))
    })
}

/// `YYYY-MM-DD` exactly: four, two and two digits.
fn is_iso_date_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// This machine's clock, in ledger milliseconds.
pub fn now() -> Timestamp {
    Timestamp(Local::now().timestamp_millis().max(0) as u64)
}

/// `--effective-at`: [`parse_time`], or now when absent.
///
/// # Errors
/// Those of [`parse_time`]; a time after `now` (rule R0-effective-date would refuse it
/// once committed), naming this machine's clock.
pub fn effective_or_now(s: Option<&str>, now: Timestamp) -> anyhow::Result<Timestamp> {
    let Some(s) = s else { return Ok(now) };
    let t = parse_time(s)?;
    if t > now {
        return Err(usage(format!(
            "--effective-at {s} is in the future: this machine's clock reads {}, and a \
             record's effective time may not be later than the block that commits it \
             (rule R0-effective-date)",
            show(now)
        )));
    }
    Ok(t)
}

/// A ledger time as RFC 3339 in the user's time zone, to the second.
pub fn show(t: Timestamp) -> String {
    match i64::try_from(t.0)
        .ok()
        .and_then(|ms| Local.timestamp_millis_opt(ms).single())
    {
        Some(d) => d.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => format!("{} ms", t.0),
    }
}

/// A duration in milliseconds as `41 s`, `3 min 5 s`, `2 h 10 min`, `4 d 3 h`.
pub fn show_age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exit::{code_of, Exit};

    #[test]
    fn dates_are_strict_iso() {
        assert_eq!(
            parse_time("2024-05-01").unwrap(),
            Timestamp(1_714_521_600_000)
        );
        for bad in [
            "2021-6-1",
            "2021-06-1",
            "20210601",
            "2021/06/01",
            "2021-02-30",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert_eq!(code_of(&e), Exit::Usage, "{bad}");
        }
    }

    #[test]
    fn rfc3339_keeps_the_time_of_day() {
        assert_eq!(
            parse_time("2024-05-01T14:30:00+08:00").unwrap(),
            Timestamp(1_714_545_000_000)
        );
    }

    #[test]
    fn before_1970_names_the_bound() {
        let e = parse_time("1955-01-13").unwrap_err().to_string();
        assert!(e.contains("before 1970-01-01"), "{e}");
        assert!(!e.contains("is not a date"), "{e}");
    }

    #[test]
    fn the_future_is_refused_before_signing() {
        let now = parse_time("2026-12-07T10:00:00Z").unwrap();
        let e = effective_or_now(Some("2026-12-08"), now).unwrap_err();
        assert!(e.to_string().contains("in the future"), "{e}");
        assert_eq!(
            effective_or_now(Some("2026-12-07"), now).unwrap().0,
            1_796_601_600_000
        );
        assert_eq!(effective_or_now(None, now).unwrap(), now);
    }
}
