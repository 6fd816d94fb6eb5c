//! A range of time a tool looks at: `[start, end)`, checked before Graph is asked.

use std::fmt;

use jiff::{Span, Timestamp};

use super::{
    TimeInputError, UserZone, floor_to_second, format_local, parse_end_instant, parse_instant,
};

/// How long a tool's window is when the caller gives no end, and how long it may be, in
/// calendar days (`default_days` no more than `max_days`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimits {
    pub default_days: u32,
    pub max_days: u32,
}

/// A validated half-open range `[start, end)` of whole seconds, `end` after `start` and at
/// most [`WindowLimits::max_days`] days later.
///
/// Days are calendar days in the user's zone, not 24-hour blocks: a week from 09:00 is 09:00
/// seven days later even across a DST change (168 hours ± 1), and a 62-day limit allows
/// 1 March to 2 May however many hours that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    /// The window a tool's `start` and `end` arguments describe, read with [`parse_instant`]
    /// and [`parse_end_instant`] (so `start=2026-03-10 end=2026-03-10` is that whole day).
    /// Without `start`, the window starts `now`; without `end`, it lasts
    /// [`WindowLimits::default_days`]. Fractions of a second are dropped (rounded down), so
    /// the window shown to the user with [`format_local`] is exactly the one sent to Graph.
    pub fn from_inputs(
        start: Option<&str>,
        end: Option<&str>,
        zone: &UserZone,
        now: Timestamp,
        limits: WindowLimits,
    ) -> Result<Window, WindowError> {
        let start_is_now = start.is_none();
        let start = match start {
            Some(input) => parse_instant(input, zone).map_err(WindowError::Start)?,
            None => now,
        };
        let start = floor_to_second(start);
        let end = match end {
            Some(input) => parse_end_instant(input, zone).map_err(WindowError::End)?,
            None => {
                days_later(start, limits.default_days, zone).ok_or(WindowError::StartTooLate)?
            }
        };
        let end = floor_to_second(end);
        let shown = |start, end| (format_local(start, zone), format_local(end, zone));
        if end <= start {
            let (start, end) = shown(start, end);
            return Err(WindowError::EndNotAfterStart {
                start,
                end,
                start_is_now,
            });
        }
        // No latest end when it would be past the last representable date: nothing can be.
        if days_later(start, limits.max_days, zone).is_some_and(|latest| end > latest) {
            let (start, end) = shown(start, end);
            return Err(WindowError::TooLong {
                start,
                end,
                max_days: limits.max_days,
            });
        }
        Ok(Window { start, end })
    }

    /// The first instant in the window.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The first instant after the window.
    pub fn end(&self) -> Timestamp {
        self.end
    }
}

/// The same wall-clock time `days` calendar days later in the zone. `None` past the last
/// representable date.
fn days_later(ts: Timestamp, days: u32, zone: &UserZone) -> Option<Timestamp> {
    let span = Span::new().try_days(days).ok()?;
    let later = ts
        .to_zoned_datetime(zone.time_zone().clone())
        .checked_add(span);
    Some(later.ok()?.timestamp())
}

/// Why `start` and `end` do not make a window. Its text names the argument and the values as
/// the user's wall clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowError {
    Start(TimeInputError),
    End(TimeInputError),
    /// `start` is so close to the last representable date that the default end is past it.
    StartTooLate,
    EndNotAfterStart {
        start: String,
        end: String,
        /// `start` was not given and defaulted to now.
        start_is_now: bool,
    },
    TooLong {
        start: String,
        end: String,
        max_days: u32,
    },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::Start(error) => write!(f, "start: {error}"),
            WindowError::End(error) => write!(f, "end: {error}"),
            WindowError::StartTooLate => {
                f.write_str("start is too late for a window to follow it; give an earlier start")
            }
            WindowError::EndNotAfterStart {
                start,
                end,
                start_is_now,
            } => {
                let defaulted = if *start_is_now {
                    ", which is now because no start was given"
                } else {
                    ""
                };
                write!(f, "end ({end}) must be after start ({start}{defaulted})")
            }
            WindowError::TooLong {
                start,
                end,
                max_days,
            } => write!(
                f,
                "the window from {start} to {end} is longer than {max_days} days; ask for at \
                 most {max_days} days at a time"
            ),
        }
    }
}

impl std::error::Error for WindowError {}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST_EVENTS: WindowLimits = WindowLimits {
        default_days: 7,
        max_days: 62,
    };

    fn pacific() -> UserZone {
        UserZone::from_mailbox("Pacific Standard Time").unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn window(start: Option<&str>, end: Option<&str>, now: &str) -> Result<Window, WindowError> {
        Window::from_inputs(start, end, &pacific(), utc(now), LIST_EVENTS)
    }

    fn bounds(window: Window) -> (Timestamp, Timestamp) {
        (window.start(), window.end())
    }

    #[test]
    fn without_arguments_it_is_the_next_seven_days_on_the_users_clock() {
        // 09:00 PST on 5 March to 09:00 PDT on 12 March: 167 hours, a week on the clock.
        let week = window(None, None, "2026-03-05T17:00:00.123Z").unwrap();
        assert_eq!(
            bounds(week),
            (utc("2026-03-05T17:00:00Z"), utc("2026-03-12T16:00:00Z"))
        );
    }

    #[test]
    fn the_same_date_as_start_and_end_is_that_whole_day() {
        let day = window(
            Some("2026-03-10"),
            Some("2026-03-10"),
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            bounds(day),
            (utc("2026-03-10T07:00:00Z"), utc("2026-03-11T07:00:00Z"))
        );
    }

    #[test]
    fn a_start_alone_gets_the_default_length_and_an_end_alone_starts_now() {
        let from_start = window(Some("2026-03-10T09:00"), None, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            bounds(from_start),
            (utc("2026-03-10T16:00:00Z"), utc("2026-03-17T16:00:00Z"))
        );
        let until_end = window(None, Some("2026-03-10"), "2026-03-09T20:00:00Z").unwrap();
        assert_eq!(
            bounds(until_end),
            (utc("2026-03-09T20:00:00Z"), utc("2026-03-11T07:00:00Z"))
        );
    }

    #[test]
    fn the_end_must_be_after_the_start() {
        let error = window(
            Some("2026-03-10T10:00"),
            Some("2026-03-10T09:00"),
            "2026-01-01T00:00:00Z",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "end (2026-03-10T09:00:00-07:00) must be after start (2026-03-10T10:00:00-07:00)"
        );
        let empty = window(
            Some("2026-03-10T09:00"),
            Some("2026-03-10T16:00:00Z"),
            "2026-01-01T00:00:00Z",
        );
        assert!(matches!(empty, Err(WindowError::EndNotAfterStart { .. })));
        // An end in the past, with no start: the start is now.
        assert_eq!(
            window(None, Some("2026-03-01"), "2026-03-05T17:00:00Z")
                .unwrap_err()
                .to_string(),
            "end (2026-03-02T00:00:00-08:00) must be after start (2026-03-05T09:00:00-08:00, \
             which is now because no start was given)"
        );
    }

    #[test]
    fn at_most_the_maximum_number_of_calendar_days() {
        // 62 days across the fall-back change: 62 × 24 hours + 1 on the clock, still allowed.
        let longest = window(
            Some("2026-10-01"),
            Some("2026-12-01"),
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            longest.end().duration_since(longest.start()).as_hours(),
            62 * 24 + 1
        );
        let error = window(
            Some("2026-10-01"),
            Some("2026-12-02"),
            "2026-01-01T00:00:00Z",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the window from 2026-10-01T00:00:00-07:00 to 2026-12-03T00:00:00-08:00 is longer \
             than 62 days; ask for at most 62 days at a time"
        );
        // One second over is over.
        assert!(matches!(
            window(
                Some("2026-03-01T00:00"),
                Some("2026-05-02T00:00:01"),
                "2026-01-01T00:00:00Z"
            ),
            Err(WindowError::TooLong { max_days: 62, .. })
        ));
    }

    #[test]
    fn an_unreadable_argument_is_named() {
        let error = window(Some("next week"), None, "2026-01-01T00:00:00Z").unwrap_err();
        assert!(matches!(&error, WindowError::Start(e) if e.input() == "next week"));
        assert!(
            error
                .to_string()
                .starts_with("start: \"next week\" is not an ISO 8601")
        );
        let error = window(None, Some("2026-02-30"), "2026-01-01T00:00:00Z").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("end: \"2026-02-30\" is not an ISO 8601")
        );
    }

    #[test]
    fn a_start_at_the_end_of_time_has_no_default_end() {
        let error = window(Some("9999-12-30"), None, "2026-01-01T00:00:00Z").unwrap_err();
        assert_eq!(error, WindowError::StartTooLate);
        assert_eq!(
            error.to_string(),
            "start is too late for a window to follow it; give an earlier start"
        );
    }
}
