//! The time zones the sample mailboxes live in, by the names Outlook accepts.
//!
//! Exchange names zones the Windows way (`Pacific Standard Time`) and also accepts IANA names
//! (`America/Los_Angeles`) in `Prefer: outlook.timezone`. Calendar answers are UTC unless that
//! header names a zone; then every `start`/`end` is wall-clock time there, with the zone named
//! as the client wrote it. A client that forgets the header and shows the times as local time
//! is off by hours, which is the bug this exists to catch.
//!
//! The devstack knows the daylight-saving rules of the US and the EU (since 2007 and 1996) and
//! zones without daylight saving; that covers the sample users.

use crate::datetime::{SECONDS_PER_DAY, days_from_civil, days_in_month, weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daylight {
    None,
    /// Second Sunday in March 02:00 local to first Sunday in November 02:00 local.
    UnitedStates,
    /// Last Sunday in March 01:00 UTC to last Sunday in October 01:00 UTC.
    Europe,
}

#[derive(Debug)]
pub struct TimeZone {
    /// The Windows name, as mailbox settings report it.
    pub name: &'static str,
    aliases: &'static [&'static str],
    /// Standard time's offset east of UTC, in seconds.
    standard_offset: i64,
    daylight: Daylight,
}

const HOUR: i64 = 3600;

const ZONES: &[TimeZone] = &[
    TimeZone {
        name: "UTC",
        aliases: &["Etc/UTC", "Coordinated Universal Time"],
        standard_offset: 0,
        daylight: Daylight::None,
    },
    TimeZone {
        name: "Pacific Standard Time",
        aliases: &["America/Los_Angeles"],
        standard_offset: -8 * HOUR,
        daylight: Daylight::UnitedStates,
    },
    TimeZone {
        name: "Mountain Standard Time",
        aliases: &["America/Denver"],
        standard_offset: -7 * HOUR,
        daylight: Daylight::UnitedStates,
    },
    TimeZone {
        name: "Central Standard Time",
        aliases: &["America/Chicago"],
        standard_offset: -6 * HOUR,
        daylight: Daylight::UnitedStates,
    },
    TimeZone {
        name: "Eastern Standard Time",
        aliases: &["America/New_York"],
        standard_offset: -5 * HOUR,
        daylight: Daylight::UnitedStates,
    },
    TimeZone {
        name: "GMT Standard Time",
        aliases: &["Europe/London"],
        standard_offset: 0,
        daylight: Daylight::Europe,
    },
    TimeZone {
        name: "W. Europe Standard Time",
        aliases: &["Europe/Berlin", "Europe/Amsterdam"],
        standard_offset: HOUR,
        daylight: Daylight::Europe,
    },
    TimeZone {
        name: "Romance Standard Time",
        aliases: &["Europe/Paris", "Europe/Madrid"],
        standard_offset: HOUR,
        daylight: Daylight::Europe,
    },
    TimeZone {
        name: "India Standard Time",
        aliases: &["Asia/Kolkata"],
        standard_offset: 5 * HOUR + 30 * 60,
        daylight: Daylight::None,
    },
    TimeZone {
        name: "Tokyo Standard Time",
        aliases: &["Asia/Tokyo"],
        standard_offset: 9 * HOUR,
        daylight: Daylight::None,
    },
];

/// A zone by Windows or IANA name (case-insensitive).
pub fn find(name: &str) -> Option<&'static TimeZone> {
    ZONES.iter().find(|zone| {
        zone.name.eq_ignore_ascii_case(name)
            || zone.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

impl TimeZone {
    /// The offset east of UTC in effect at the instant `utc`.
    pub fn offset_at(&self, utc: i64) -> i64 {
        let (start, end) = match self.daylight {
            Daylight::None => return self.standard_offset,
            Daylight::UnitedStates => {
                let year = year_of(utc + self.standard_offset);
                (
                    sunday(year, 3, 2) + 2 * HOUR - self.standard_offset,
                    sunday(year, 11, 1) + 2 * HOUR - (self.standard_offset + HOUR),
                )
            }
            Daylight::Europe => {
                let year = year_of(utc);
                (last_sunday(year, 3) + HOUR, last_sunday(year, 10) + HOUR)
            }
        };
        if (start..end).contains(&utc) {
            self.standard_offset + HOUR
        } else {
            self.standard_offset
        }
    }

    /// `utc` as seconds of wall-clock time in this zone.
    pub fn to_local(&self, utc: i64) -> i64 {
        utc + self.offset_at(utc)
    }

    /// The instant at which the wall clock here shows `local` (in a skipped hour, the later).
    pub fn to_utc(&self, local: i64) -> i64 {
        let guess = local - self.standard_offset;
        local - self.offset_at(guess - HOUR).max(self.offset_at(guess))
    }
}

fn year_of(seconds: i64) -> i64 {
    crate::datetime::civil_from_days(seconds.div_euclid(SECONDS_PER_DAY)).0
}

/// Midnight (as seconds) of the `n`th Sunday of `month`.
fn sunday(year: i64, month: u32, n: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    let until_sunday = i64::from((7 - weekday(first)) % 7);
    (first + until_sunday + 7 * (n - 1)) * SECONDS_PER_DAY
}

/// Midnight (as seconds) of the last Sunday of `month`.
fn last_sunday(year: i64, month: u32) -> i64 {
    let last = days_from_civil(year, month, days_in_month(year, month));
    (last - i64::from(weekday(last))) * SECONDS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datetime::parse_iso8601;

    fn at(text: &str) -> i64 {
        parse_iso8601(text).unwrap()
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(
            find("pacific standard time").unwrap().name,
            "Pacific Standard Time"
        );
        assert_eq!(
            find("Europe/Berlin").unwrap().name,
            "W. Europe Standard Time"
        );
        assert!(find("Mars/Olympus_Mons").is_none());
        for user in crate::tenant::USERS {
            assert!(
                find(user.mailbox_time_zone).is_some(),
                "{}",
                user.mailbox_time_zone
            );
        }
    }

    #[test]
    fn us_daylight_saving_starts_and_ends_at_2am_local() {
        let pacific = find("Pacific Standard Time").unwrap();
        // 2025: 9 March and 2 November.
        assert_eq!(pacific.offset_at(at("2025-03-09T09:59:59Z")), -8 * HOUR);
        assert_eq!(pacific.offset_at(at("2025-03-09T10:00:00Z")), -7 * HOUR);
        assert_eq!(pacific.offset_at(at("2025-11-02T08:59:59Z")), -7 * HOUR);
        assert_eq!(pacific.offset_at(at("2025-11-02T09:00:00Z")), -8 * HOUR);
        assert_eq!(pacific.offset_at(at("2025-07-01T00:00:00Z")), -7 * HOUR);
    }

    #[test]
    fn eu_daylight_saving_switches_at_1am_utc() {
        let berlin = find("W. Europe Standard Time").unwrap();
        // 2025: 30 March and 26 October.
        assert_eq!(berlin.offset_at(at("2025-03-30T00:59:59Z")), HOUR);
        assert_eq!(berlin.offset_at(at("2025-03-30T01:00:00Z")), 2 * HOUR);
        assert_eq!(berlin.offset_at(at("2025-10-26T00:59:59Z")), 2 * HOUR);
        assert_eq!(berlin.offset_at(at("2025-10-26T01:00:00Z")), HOUR);
    }

    #[test]
    fn wall_clock_conversions_round_trip() {
        for zone in ZONES {
            for utc in (at("2025-01-01T00:00:00Z")..at("2026-01-01T00:00:00Z")).step_by(3 * 3571) {
                let local = zone.to_local(utc);
                // In the repeated hour of autumn two instants show the same wall clock.
                assert_eq!(
                    zone.to_local(zone.to_utc(local)),
                    local,
                    "{} at {utc}",
                    zone.name
                );
            }
        }
        let pacific = find("Pacific Standard Time").unwrap();
        assert_eq!(
            pacific.to_utc(at("2025-07-01T09:00:00Z")),
            at("2025-07-01T16:00:00Z")
        );
        assert_eq!(
            pacific.to_utc(at("2025-12-01T09:00:00Z")),
            at("2025-12-01T17:00:00Z")
        );
        let india = find("Asia/Kolkata").unwrap();
        assert_eq!(
            india.to_local(at("2025-01-31T12:00:00Z")),
            at("2025-01-31T17:30:00Z")
        );
    }
}
