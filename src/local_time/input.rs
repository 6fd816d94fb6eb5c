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
pub(super) enum DateMeans {
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
    instant_of(&pieces, zone.time_zone(), date_means).ok_or_else(|| error(Problem::OutOfRange))
}

/// The instant parsed pieces name, wall clocks read in `time_zone` (the rules of
/// [`parse_instant`]). `None` at the ends of the supported range of dates.
pub(super) fn instant_of(
    pieces: &Pieces<'_>,
    time_zone: &TimeZone,
    date_means: DateMeans,
) -> Option<Timestamp> {
    match (pieces.time(), pieces.offset()) {
        (None, None) => match date_means {
            DateMeans::StartOfDay => Some(pieces.date()),
            DateMeans::EndOfDay => pieces.date().tomorrow().ok(),
        }
        .and_then(|day| first_instant_of(day, time_zone)),
        // RFC 5545's rule for calendars, and Temporal's "compatible" disambiguation.
        (Some(time), None) => time_zone
            .to_ambiguous_timestamp(pieces.date().to_datetime(time))
            .compatible()
            .ok(),
        // The ISO 8601 parser takes an offset only after a time; midnight keeps this total.
        (time, Some(offset)) => {
            let wall_clock = pieces.date().to_datetime(time.unwrap_or(Time::midnight()));
            offset.to_numeric_offset().to_timestamp(wall_clock).ok()
        }
    }
}

/// The first instant of `day` in `time_zone`: midnight, or the first time after it that the
/// clocks show when a transition skips midnight (as in some zones that change at 00:00).
/// `None` at the ends of the supported range of dates.
fn first_instant_of(day: Date, time_zone: &TimeZone) -> Option<Timestamp> {
    let zoned = day.to_zoned_datetime(time_zone.clone()).ok()?;
    Some(zoned.start_of_day().ok()?.timestamp())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> UserZone {
        UserZone::from_mailbox(name).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn read(input: &str, zone_name: &str) -> Timestamp {
        parse_instant(input, &zone(zone_name)).unwrap()
    }

    #[test]
    fn nine_oclock_is_a_different_utc_hour_on_either_side_of_each_dst_change() {
        for (zone_name, before, after) in [
            // Los Angeles: forward on 8 March, back on 1 November 2026.
            (
                "Pacific Standard Time",
                ("2026-03-07", 17),
                ("2026-03-09", 16),
            ),
            (
                "Pacific Standard Time",
                ("2026-10-31", 16),
                ("2026-11-02", 17),
            ),
            // Berlin: forward on 29 March, back on 25 October 2026.
            (
                "W. Europe Standard Time",
                ("2026-03-28", 8),
                ("2026-03-30", 7),
            ),
            ("Europe/Berlin", ("2026-10-24", 7), ("2026-10-26", 8)),
        ] {
            for (day, utc_hour) in [before, after] {
                assert_eq!(
                    read(&format!("{day}T09:00"), zone_name),
                    utc(&format!("{day}T{utc_hour:02}:00:00Z")),
                    "{day} 09:00 in {zone_name}"
                );
            }
        }
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() {
        // 02:00 → 03:00: 02:30 is not on any clock; it is read as 03:30 summer time.
        assert_eq!(
            read("2026-03-08T02:30", "Pacific Standard Time"),
            utc("2026-03-08T10:30:00Z")
        );
        assert_eq!(
            read("2026-03-29T02:30", "Europe/Berlin"),
            utc("2026-03-29T01:30:00Z")
        );
    }

    #[test]
    fn a_time_in_the_fall_back_fold_is_the_earlier_instant() {
        // 02:00 → 01:00: 01:30 happens twice; the first one, still on summer time, is chosen.
        assert_eq!(
            read("2026-11-01T01:30", "Pacific Standard Time"),
            utc("2026-11-01T08:30:00Z")
        );
        // 03:00 → 02:00 in Berlin.
        assert_eq!(
            read("2026-10-25T02:30", "Europe/Berlin"),
            utc("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn a_half_hour_zone_and_an_iana_mailbox_name() {
        assert_eq!(
            read("2026-03-10T09:00", "India Standard Time"),
            utc("2026-03-10T03:30:00Z")
        );
        assert_eq!(
            read("2026-03-10T09:00", "Asia/Kolkata"),
            utc("2026-03-10T03:30:00Z")
        );
        // London: GMT in winter, BST in summer.
        assert_eq!(
            read("2026-01-10T09:00", "Europe/London"),
            utc("2026-01-10T09:00:00Z")
        );
        assert_eq!(
            read("2026-07-10T09:00", "Europe/London"),
            utc("2026-07-10T08:00:00Z")
        );
    }

    #[test]
    fn every_iso_8601_form_a_client_sends() {
        let pacific = "Pacific Standard Time";
        let nine_am = utc("2026-03-10T16:00:00Z");
        for input in [
            "2026-03-10T09:00",
            "2026-03-10T09:00:00",
            "2026-03-10T09:00:00.000",
            "2026-03-10 09:00",
            "  2026-03-10T09:00  ",
            "2026-03-10T16:00:00Z",
            "2026-03-10T16:00Z",
            "2026-03-10T09:00:00-07:00",
            "2026-03-10T17:00:00+01:00",
            "2026-03-10T21:30:00+05:30",
        ] {
            assert_eq!(read(input, pacific), nine_am, "{input}");
        }
        assert_eq!(
            read("2026-03-10T09:00:00.25", pacific),
            utc("2026-03-10T16:00:00.25Z")
        );
    }

    #[test]
    fn an_offset_is_exact_whatever_the_users_zone() {
        for zone_name in ["Pacific Standard Time", "Tokyo Standard Time", "UTC"] {
            assert_eq!(
                read("2026-03-10T09:00:00-07:00", zone_name),
                utc("2026-03-10T16:00:00Z")
            );
        }
    }

    #[test]
    fn a_date_starts_at_the_first_instant_of_that_day_in_the_zone() {
        assert_eq!(
            read("2026-03-10", "Pacific Standard Time"),
            utc("2026-03-10T07:00:00Z")
        );
        assert_eq!(
            read("2026-03-10", "Tokyo Standard Time"),
            utc("2026-03-09T15:00:00Z")
        );
        // Cuba moves its clocks forward at midnight: 8 March 2026 begins at 01:00.
        assert_eq!(
            read("2026-03-08", "America/Havana"),
            utc("2026-03-08T05:00:00Z")
        );
    }

    #[test]
    fn a_date_as_an_end_is_the_end_of_that_day() {
        let pacific = zone("Pacific Standard Time");
        assert_eq!(
            parse_end_instant("2026-03-10", &pacific).unwrap(),
            utc("2026-03-11T07:00:00Z")
        );
        // The end of the day before clocks go forward is 23 hours after its start.
        assert_eq!(
            parse_end_instant("2026-03-08", &pacific).unwrap(),
            utc("2026-03-09T07:00:00Z")
        );
        // A time is an end as it is.
        assert_eq!(
            parse_end_instant("2026-03-10T17:00", &pacific).unwrap(),
            utc("2026-03-11T00:00:00Z")
        );
    }

    fn error(input: &str) -> String {
        parse_instant(input, &zone("Pacific Standard Time"))
            .unwrap_err()
            .to_string()
    }

    const EXAMPLES: &str = ". Valid values look like 2026-03-10 (the whole day), 2026-03-10T09:00 \
                            (a time in your time zone, America/Los_Angeles) or \
                            2026-03-10T16:00:00Z (an exact instant; any UTC offset such as -07:00 \
                            works in place of Z)";

    #[test]
    fn errors_say_what_is_wrong_and_show_valid_values() {
        let month = error("2026-13-01");
        assert!(
            month.starts_with("\"2026-13-01\" is not an ISO 8601 date or date-time (")
                && month.contains("month")
                && month.ends_with(EXAMPLES),
            "{month}"
        );
        let word = error("tomorrow");
        assert!(
            word.starts_with("\"tomorrow\" is not an ISO 8601 date or date-time (")
                && word.ends_with(EXAMPLES),
            "{word}"
        );
        assert_eq!(error(" "), format!("the value is empty{EXAMPLES}"));
        assert_eq!(
            error("2026-03-10T09:00[Europe/Paris]"),
            format!(
                "\"2026-03-10T09:00[Europe/Paris]\" names a time zone in brackets, which is not \
                 accepted; give a UTC offset instead, or no offset for a time in your own \
                 zone{EXAMPLES}"
            )
        );
        let too_late = parse_end_instant("9999-12-31", &zone("Pacific Standard Time")).unwrap_err();
        assert_eq!(too_late.input(), "9999-12-31");
        assert_eq!(
            too_late.to_string(),
            format!("\"9999-12-31\" is outside the range of dates that can be used{EXAMPLES}")
        );
    }
}
