//! A range of time a tool looks at: `[start, end)`, checked before Graph is asked.

use std::fmt;

use jiff::{Span, Timestamp};

use super::{
    TimeInputError, UserZone, format_local, graph::floor_to_second, parse_end_instant,
    parse_instant,
};

/// How long a tool's window is when the caller gives no end, and how long it may be.
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
