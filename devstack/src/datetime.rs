//! UTC calendar arithmetic on Unix seconds, and the text forms the cloud services write dates
//! in. The devstack needs only a little of it, so it carries its own instead of a date crate:
//!
//! - Entra: `2025-01-31 13:45:00Z` (error timestamps).
//! - Graph: ISO 8601 instants, `2025-01-31T13:45:00Z`, and the `dateTimeTimeZone` wall-clock
//!   form, `2025-01-31T13:45:00.0000000`, whose zone travels in a separate field.
//! - Key Vault and managed identity: plain Unix seconds.
//!
//! Dates are proleptic Gregorian. Days are counted from 1970-01-01 in 400-year eras of
//! 146 097 days, with years starting in March so the leap day falls at the end (Howard
//! Hinnant's `days_from_civil` and `civil_from_days`).

use std::time::{SystemTime, UNIX_EPOCH};

pub const SECONDS_PER_DAY: i64 = 86_400;

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    i64::try_from(seconds).expect("the clock is before the year 292 billion")
}

/// A calendar date and time of day, in whichever zone the seconds were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    pub fn from_seconds(seconds: i64) -> Self {
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let second_of_day = u32::try_from(second_of_day).expect("less than a day");
        Self {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day % 3600 / 60,
            second: second_of_day % 60,
        }
    }

    pub fn to_seconds(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY
            + i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }

    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// `2025-01-31 13:45:00Z`, the form Entra writes timestamps in.
pub fn entra_timestamp(seconds: i64) -> String {
    let civil = Civil::from_seconds(seconds);
    format!("{} {}Z", civil.date(), civil.time())
}

/// `2025-01-31T13:45:00Z`, the form Graph writes instants in.
pub fn iso8601(seconds: i64) -> String {
    let civil = Civil::from_seconds(seconds);
    format!("{}T{}Z", civil.date(), civil.time())
}

/// `2025-01-31T13:45:00.0000000`: the wall-clock half of Graph's `dateTimeTimeZone`. The
/// seconds are counted in the zone the caller names next to it.
pub fn graph_wall_clock(local_seconds: i64) -> String {
    let civil = Civil::from_seconds(local_seconds);
    format!("{}T{}.0000000", civil.date(), civil.time())
}

/// Parses an ISO 8601 date or date-time as Graph accepts them in query parameters:
/// `2025-01-31`, `2025-01-31T13:45`, `2025-01-31T13:45:00`, with optional fractional seconds
/// and an optional `Z` or `±hh:mm` offset. Without an offset the time is UTC.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let (date, rest) = match text.split_once(['T', 't']) {
        Some((date, rest)) => (date, Some(rest)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = number(parts.next()?, 4)?;
    let month: u32 = number(parts.next()?, 2)?;
    let day: u32 = number(parts.next()?, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut offset) = (0, 0, 0, 0_i64);
    if let Some(rest) = rest {
        let (time, zone) = split_zone(rest)?;
        let time = time.split_once('.').map_or(time, |(whole, fraction)| {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                ""
            } else {
                whole
            }
        });
        let mut fields = time.split(':');
        hour = number(fields.next()?, 2)?;
        minute = number(fields.next()?, 2)?;
        if let Some(field) = fields.next() {
            second = number(field, 2)?;
        }
        if fields.next().is_some() || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        offset = zone;
    }
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    };
    Some(civil.to_seconds() - offset)
}

/// The time part and the zone offset in seconds east of UTC.
fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        return Some((time, 0));
    }
    match rest.rfind(['+', '-']) {
        Some(at) => {
            let (time, zone) = rest.split_at(at);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = zone[1..].split_once(':')?;
            let hours: i64 = number(hours, 2)?;
            let minutes: i64 = number(minutes, 2)?;
            Some((time, sign * (hours * 3600 + minutes * 60)))
        }
        None => Some((rest, 0)),
    }
}

fn number<T: std::str::FromStr>(text: &str, digits: usize) -> Option<T> {
    if text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 0 for Sunday through 6 for Saturday (1970-01-01 was a Thursday).
pub fn weekday(days: i64) -> u32 {
    u32::try_from((days + 4).rem_euclid(7)).expect("0..7")
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).expect("1..=12"),
        u32::try_from(day).expect("1..=31"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(entra_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(entra_timestamp(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(entra_timestamp(1_735_689_599), "2024-12-31 23:59:59Z");
        assert_eq!(entra_timestamp(4_107_542_400), "2100-03-01 00:00:00Z");
        assert_eq!(iso8601(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(graph_wall_clock(0), "1970-01-01T00:00:00.0000000");
    }

    #[test]
    fn days_round_trip_across_eras_and_leap_years() {
        for days in (-800_000..800_000).step_by(997) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
        }
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28),
            1
        );
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(weekday(days_from_civil(2024, 12, 25)), 3, "a Wednesday");
        assert_eq!(weekday(-1), 3);
    }

    #[test]
    fn graph_query_dates_parse() {
        let noon = days_from_civil(2025, 1, 31) * SECONDS_PER_DAY + 12 * 3600;
        for text in [
            "2025-01-31T12:00:00Z",
            "2025-01-31T12:00:00.000Z",
            "2025-01-31T12:00:00.1234567Z",
            "2025-01-31T12:00",
            "2025-01-31T12:00:00",
            "2025-01-31T04:00:00-08:00",
            "2025-01-31T17:30:00+05:30",
        ] {
            assert_eq!(parse_iso8601(text), Some(noon), "{text}");
        }
        assert_eq!(parse_iso8601("2025-01-31"), Some(noon - 12 * 3600));
        for bad in [
            "",
            "yesterday",
            "2025-02-30",
            "2025-13-01",
            "2025-01-31T25:00:00Z",
            "2025-01-31T12:00:00.Z",
            "2025-1-31",
            "2025-01-31T12:00:00+0800",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
