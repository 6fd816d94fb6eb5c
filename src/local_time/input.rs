//! Reading the dates and times tools receive: ISO 8601, wall clocks in the user's zone.

use std::fmt;

use jiff::{
    Timestamp,
    civil::{Date, Time},
    fmt::temporal::Pieces,
    tz::TimeZone,
};

use super::UserZone;

/// The instant a tool input names, reading wall clocks in `zone`.
///
/// - `2026-03-10`: the first instant of that day in the zone (midnight, unless the zone skips
///   midnight that day).
/// - `2026-03-10T09:00`, `…T09:00:00`, `…T09:00:00.250`: that wall-clock time in the zone. In
///   the hour skipped when clocks go forward, the time moves forward by the length of the gap
///   (`02:30` → `03:30`); in the hour repeated when clocks go back, it is the earlier of the
///   two instants (the one still on summer time).
/// - `2026-03-10T16:00:00Z`, `2026-03-10T09:00:00-07:00`: exactly that instant; the zone is
///   not used.
///
/// A time zone name in brackets (`…[Europe/Paris]`) is refused rather than half-honoured.
pub fn parse_instant(input: &str, zone: &UserZone) -> Result<Timestamp, TimeInputError> {
    parse(input, zone, DateMeans::StartOfDay)
}

/// Like [`parse_instant`], for the end of a range: a date alone means the end of that day,
/// which is the first instant of the next day (ranges are half-open, `[start, end)`). So
/// `start=2026-03-10 end=2026-03-10` is the whole of 10 March, as a person means it.
pub fn parse_end_instant(input: &str, zone: &UserZone) -> Result<Timestamp, TimeInputError> {
    parse(input, zone, DateMeans::EndOfDay)
}

/// Which instant of its day a date on its own stands for.
#[derive(Clone, Copy)]
enum DateMeans {
    StartOfDay,
    EndOfDay,
}

fn parse(input: &str, zone: &UserZone, date_means: DateMeans) -> Result<Timestamp, TimeInputError> {
    let error = |problem| TimeInputError {
        input: input.to_owned(),
        zone: zone.iana_name().to_owned(),
        problem,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(error(Problem::Empty));
    }
    let pieces = Pieces::parse(text).map_err(|e| error(Problem::Malformed(e.to_string())))?;
    if pieces.time_zone_annotation().is_some() {
        return Err(error(Problem::ZoneAnnotation));
    }
    let instant = match (pieces.time(), pieces.offset()) {
        (None, None) => match date_means {
            DateMeans::StartOfDay => Some(pieces.date()),
            DateMeans::EndOfDay => pieces.date().tomorrow().ok(),
        }
        .and_then(|day| first_instant_of(day, zone.time_zone())),
        (Some(time), None) => wall_clock_instant(pieces.date(), time, zone.time_zone()),
        (time, Some(offset)) => {
            let wall_clock = pieces.date().to_datetime(time.unwrap_or(Time::midnight()));
            offset.to_numeric_offset().to_timestamp(wall_clock).ok()
        }
    };
    instant.ok_or_else(|| error(Problem::OutOfRange))
}

/// The first instant of `day` in `time_zone`: midnight, or the first time after it that the
/// clocks show when a transition skips midnight (as in some zones that change at 00:00).
/// `None` at the ends of the supported range of dates.
fn first_instant_of(day: Date, time_zone: &TimeZone) -> Option<Timestamp> {
    let zoned = day.to_zoned_datetime(time_zone.clone()).ok()?;
    Some(zoned.start_of_day().ok()?.timestamp())
}

/// The instant a wall clock in `time_zone` shows `date` and `time`, with the gap and fold
/// rule of [`parse_instant`] (RFC 5545's rule, and Temporal's "compatible" disambiguation).
/// `None` at the ends of the supported range of dates.
pub(super) fn wall_clock_instant(
    date: Date,
    time: Time,
    time_zone: &TimeZone,
) -> Option<Timestamp> {
    time_zone
        .to_ambiguous_timestamp(date.to_datetime(time))
        .compatible()
        .ok()
}

/// A tool input that is not a date or time this module can read. Its text says what was
/// wrong and shows valid values, for the AI client to correct the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeInputError {
    input: String,
    /// The IANA name of the zone wall clocks are read in, to show in the examples.
    zone: String,
    problem: Problem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    Empty,
    /// Not ISO 8601; the parser's explanation.
    Malformed(String),
    ZoneAnnotation,
    OutOfRange,
}

impl TimeInputError {
    /// The value that could not be read, as given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for TimeInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.input;
        match &self.problem {
            Problem::Empty => f.write_str("the value is empty")?,
            Problem::Malformed(detail) => write!(
                f,
                "\"{input}\" is not an ISO 8601 date or date-time ({detail})"
            )?,
            Problem::ZoneAnnotation => write!(
                f,
                "\"{input}\" names a time zone in brackets, which is not accepted; give a UTC \
                 offset instead, or no offset for a time in your own zone"
            )?,
            Problem::OutOfRange => write!(
                f,
                "\"{input}\" is outside the range of dates that can be used"
            )?,
        }
        write!(
            f,
            ". Valid values look like 2026-03-10 (the whole day), 2026-03-10T09:00 (a time in \
             your time zone, {}) or 2026-03-10T16:00:00Z (an exact instant; any UTC offset \
             such as -07:00 works in place of Z)",
            self.zone
        )
    }
}

impl std::error::Error for TimeInputError {}
