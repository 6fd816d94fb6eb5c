//! Writing instants for people: the wall clock in the user's zone, with its UTC offset.

use std::fmt::Write;

use jiff::{Timestamp, tz::Offset};

use super::{UserZone, WHOLE_SECONDS};

/// `ts` as the user's wall clock with the offset in force at that instant:
/// `2026-03-10T09:00:00-07:00` (RFC 3339). Seconds are always shown and fractions dropped
/// (rounded down). The offset makes the text an exact instant: it changes across a DST change
/// (`-08:00` in winter, `-07:00` in summer for Los Angeles), so a client never has to know the
/// zone's rules to compare or convert times.
pub fn format_local(ts: Timestamp, zone: &UserZone) -> String {
    let offset = zone.time_zone().to_offset(ts);
    let mut text = WHOLE_SECONDS.datetime_to_string(&offset.to_datetime(ts));
    push_offset(&mut text, offset);
    text
}

/// `±HH:MM`, and `:SS` for the few historical offsets that are not whole minutes (local mean
/// time before a zone adopted standard time, such as Monrovia's -00:44:30 until 1972).
/// jiff's RFC 3339 printer rounds those to the minute, which would name a different instant.
fn push_offset(text: &mut String, offset: Offset) {
    let sign = if offset.is_negative() { '-' } else { '+' };
    let total = offset.seconds().unsigned_abs();
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    // Writing to a String cannot fail.
    let _ = write!(text, "{sign}{hours:02}:{minutes:02}");
    if seconds != 0 {
        let _ = write!(text, ":{seconds:02}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_time::parse_instant;

    fn shown(utc: &str, zone_name: &str) -> String {
        let zone = UserZone::from_mailbox(zone_name).unwrap();
        format_local(utc.parse().unwrap(), &zone)
    }

    #[test]
    fn the_offset_follows_daylight_saving_time() {
        let pacific = "Pacific Standard Time";
        assert_eq!(
            shown("2026-01-15T17:00:00Z", pacific),
            "2026-01-15T09:00:00-08:00"
        );
        assert_eq!(
            shown("2026-07-15T16:00:00Z", pacific),
            "2026-07-15T09:00:00-07:00"
        );
        let berlin = "W. Europe Standard Time";
        assert_eq!(
            shown("2026-01-15T08:00:00Z", berlin),
            "2026-01-15T09:00:00+01:00"
        );
        assert_eq!(
            shown("2026-07-15T07:00:00Z", berlin),
            "2026-07-15T09:00:00+02:00"
        );
    }

    #[test]
    fn the_offset_changes_at_the_instant_of_each_dst_change() {
        let pacific = "America/Los_Angeles";
        assert_eq!(
            shown("2026-03-08T09:59:59Z", pacific),
            "2026-03-08T01:59:59-08:00"
        );
        assert_eq!(
            shown("2026-03-08T10:00:00Z", pacific),
            "2026-03-08T03:00:00-07:00"
        );
        // Back: the same wall clock twice, told apart by the offset.
        assert_eq!(
            shown("2026-11-01T08:30:00Z", pacific),
            "2026-11-01T01:30:00-07:00"
        );
        assert_eq!(
            shown("2026-11-01T09:30:00Z", pacific),
            "2026-11-01T01:30:00-08:00"
        );
        let berlin = "Europe/Berlin";
        assert_eq!(
            shown("2026-03-29T00:59:59Z", berlin),
            "2026-03-29T01:59:59+01:00"
        );
        assert_eq!(
            shown("2026-03-29T01:00:00Z", berlin),
            "2026-03-29T03:00:00+02:00"
        );
        assert_eq!(
            shown("2026-10-25T00:30:00Z", berlin),
            "2026-10-25T02:30:00+02:00"
        );
        assert_eq!(
            shown("2026-10-25T01:30:00Z", berlin),
            "2026-10-25T02:30:00+01:00"
        );
    }

    #[test]
    fn half_hour_zones_and_utc_show_their_offsets() {
        assert_eq!(
            shown("2026-03-10T03:30:00Z", "India Standard Time"),
            "2026-03-10T09:00:00+05:30"
        );
        assert_eq!(
            shown("2026-03-10T03:15:00Z", "Asia/Kathmandu"),
            "2026-03-10T09:00:00+05:45"
        );
        assert_eq!(
            shown("2026-03-10T09:00:00Z", "UTC"),
            "2026-03-10T09:00:00+00:00"
        );
    }

    #[test]
    fn seconds_are_always_shown_and_fractions_dropped() {
        assert_eq!(
            shown("2026-03-10T16:00:00Z", "UTC"),
            "2026-03-10T16:00:00+00:00"
        );
        assert_eq!(
            shown("2026-03-10T16:00:59.999Z", "UTC"),
            "2026-03-10T16:00:59+00:00"
        );
        // Rounded down before 1970 too, not towards the epoch.
        assert_eq!(
            shown("1969-12-31T23:59:59.5Z", "UTC"),
            "1969-12-31T23:59:59+00:00"
        );
    }

    #[test]
    fn an_offset_that_is_not_whole_minutes_keeps_its_seconds() {
        // Liberia kept Monrovia mean time, -00:44:30, until 1972.
        let monrovia = UserZone::from_mailbox("Africa/Monrovia").unwrap();
        let ts = "1960-06-01T09:44:30Z".parse().unwrap();
        let text = format_local(ts, &monrovia);
        assert_eq!(text, "1960-06-01T09:00:00-00:44:30");
        assert_eq!(parse_instant(&text, &UserZone::utc()).unwrap(), ts);
    }
}
