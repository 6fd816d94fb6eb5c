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
/// time before a zone adopted standard time, such as Amsterdam's +00:19:32 until 1937).
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
