//! Graph's `dateTimeTimeZone`: a wall clock and the name of the zone it is read in.

use std::fmt;

use jiff::{Timestamp, civil::Date, fmt::temporal::Pieces, tz::Offset};
use serde::{Deserialize, Serialize};

use super::{
    UnknownZone, UserZone, WHOLE_SECONDS, floor_to_second,
    input::{DateMeans, instant_of},
    zone::rules_for,
};

/// Graph's `dateTimeTimeZone`, as events, meeting suggestions and To Do tasks carry their
/// times: `{"dateTime": "2026-05-04T09:00:00.0000000", "timeZone": "Pacific Standard Time"}`.
/// `dateTime` has no offset; `timeZone` is a Windows name, an IANA name, or `"UTC"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    pub date_time: String,
    pub time_zone: String,
}

/// The instant a `dateTimeTimeZone` from Graph stands for.
///
/// `date_time` may carry Graph's seven fractional digits (`2026-05-04T09:00:00.0000000`) and is
/// read by the rules of [`parse_instant`](super::parse_instant). `time_zone` is resolved like a mailbox zone (Windows name, then IANA name), because Graph
/// answers in the zone of `Prefer: outlook.timezone` when it honours it and in the item's own
/// zone when it does not (the response to a create). A wall clock in the repeated hour of a
/// fall-back change is read as the earlier instant: the text alone cannot say which was meant,
/// which is why [`to_graph`] never writes such a value for the later one.
pub fn from_graph(date_time: &str, time_zone: &str) -> Result<Timestamp, GraphTimeError> {
    let pieces = graph_pieces(date_time)?;
    let rules = rules_for(time_zone).map_err(GraphTimeError::UnknownZone)?;
    instant_of(&pieces, &rules, DateMeans::StartOfDay).ok_or_else(|| GraphTimeError::OutOfRange {
        date_time: date_time.to_owned(),
        time_zone: time_zone.to_owned(),
    })
}

/// The calendar day a Graph `dateTime` names, read as written and never converted between
/// zones: for values that are dates rather than instants. All-day events come back midnight
/// to midnight whatever zone was asked for (their `end` is the day after the last day), and a
/// To Do `dueDateTime` is a date stored as midnight, often in UTC; converting either to the
/// user's zone would move it to the previous day west of Greenwich.
pub fn graph_date(date_time: &str) -> Result<Date, GraphTimeError> {
    Ok(graph_pieces(date_time)?.date())
}

/// `ts` as a `dateTimeTimeZone` for a write (`create_event`): the wall clock in the user's
/// zone, to the second (rounded down), named by [`UserZone::graph_name`], so the item keeps
/// the user's zone (what Outlook shows as the event's time zone, and the clock a recurrence
/// follows).
///
/// One exception keeps the instant exact: in the repeated hour of a fall-back change, a wall
/// clock names two instants and whoever reads it has to pick one ([`from_graph`] picks the
/// earlier). For the later of the two the value is written in UTC instead
/// (`timeZone: "UTC"`), which names one instant only.
pub fn to_graph(ts: Timestamp, zone: &UserZone) -> DateTimeTimeZone {
    let ts = floor_to_second(ts);
    let wall_clock = zone.time_zone().to_datetime(ts);
    let reads_back_exactly = zone
        .time_zone()
        .to_ambiguous_timestamp(wall_clock)
        .compatible()
        .is_ok_and(|read_back| read_back == ts);
    if reads_back_exactly {
        DateTimeTimeZone {
            date_time: WHOLE_SECONDS.datetime_to_string(&wall_clock),
            time_zone: zone.graph_name().to_owned(),
        }
    } else {
        DateTimeTimeZone {
            date_time: WHOLE_SECONDS.datetime_to_string(&Offset::UTC.to_datetime(ts)),
            time_zone: "UTC".to_owned(),
        }
    }
}

/// `ts` in UTC with a `Z`, to the second (rounded down): `2026-03-10T16:00:00Z`. This is the
/// form for Graph query values such as calendarView's `startDateTime` and `endDateTime`,
/// which Graph reads as UTC when they carry no offset, whatever `Prefer` header is sent.
pub fn to_graph_utc(ts: Timestamp) -> String {
    WHOLE_SECONDS.timestamp_to_string(&ts)
}

fn graph_pieces(date_time: &str) -> Result<Pieces<'_>, GraphTimeError> {
    Pieces::parse(date_time).map_err(|e| GraphTimeError::Malformed {
        date_time: date_time.to_owned(),
        detail: e.to_string(),
    })
}

/// A `dateTimeTimeZone` from Graph that cannot be read: a fault in the response, not in the
/// user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphTimeError {
    /// `dateTime` is not an ISO 8601 date-time; with the parser's explanation.
    Malformed { date_time: String, detail: String },
    /// `timeZone` is not a zone this server knows.
    UnknownZone(UnknownZone),
    /// The wall clock is outside the range of dates that can be used.
    OutOfRange {
        date_time: String,
        time_zone: String,
    },
}

impl fmt::Display for GraphTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphTimeError::Malformed { date_time, detail } => write!(
                f,
                "Microsoft Graph returned the date-time \"{date_time}\", which is not ISO 8601 \
                 ({detail})"
            ),
            GraphTimeError::UnknownZone(unknown) => {
                write!(
                    f,
                    "Microsoft Graph returned a time in a zone that cannot be used: {unknown}"
                )
            }
            GraphTimeError::OutOfRange {
                date_time,
                time_zone,
            } => write!(
                f,
                "Microsoft Graph returned the date-time \"{date_time}\" in \"{time_zone}\", \
                 which is outside the range of dates that can be used"
            ),
        }
    }
}

impl std::error::Error for GraphTimeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> UserZone {
        UserZone::from_mailbox(name).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn graph_times_with_seven_fractional_digits_in_any_zone_name() {
        for (date_time, time_zone, instant) in [
            (
                "2026-05-04T09:00:00.0000000",
                "Pacific Standard Time",
                "2026-05-04T16:00:00Z",
            ),
            (
                "2026-01-04T09:00:00.0000000",
                "Pacific Standard Time",
                "2026-01-04T17:00:00Z",
            ),
            (
                "2026-05-04T09:00:00.0000000",
                "W. Europe Standard Time",
                "2026-05-04T07:00:00Z",
            ),
            (
                "2026-05-04T09:00:00.0000000",
                "Europe/London",
                "2026-05-04T08:00:00Z",
            ),
            ("2026-05-04T09:00:00.0000000", "UTC", "2026-05-04T09:00:00Z"),
            (
                "2026-05-04T09:00:00.1234567",
                "UTC",
                "2026-05-04T09:00:00.1234567Z",
            ),
            (
                "2026-05-04T09:00:00",
                "Tokyo Standard Time",
                "2026-05-04T00:00:00Z",
            ),
            (
                "2026-05-04T09:00:00.0000000",
                "India Standard Time",
                "2026-05-04T03:30:00Z",
            ),
        ] {
            assert_eq!(
                from_graph(date_time, time_zone),
                Ok(utc(instant)),
                "{date_time} in {time_zone}"
            );
        }
    }

    #[test]
    fn graph_wall_clocks_in_a_gap_or_fold_follow_the_input_rule() {
        let pacific = "Pacific Standard Time";
        assert_eq!(
            from_graph("2026-03-08T02:30:00.0000000", pacific),
            Ok(utc("2026-03-08T10:30:00Z"))
        );
        assert_eq!(
            from_graph("2026-11-01T01:30:00.0000000", pacific),
            Ok(utc("2026-11-01T08:30:00Z"))
        );
    }

    #[test]
    fn graph_times_that_cannot_be_read_say_what_came_back() {
        assert_eq!(
            from_graph("2026-05-04T09:00:00.0000000", "Customized Time Zone")
                .unwrap_err()
                .to_string(),
            "Microsoft Graph returned a time in a zone that cannot be used: the time zone \
             \"Customized Time Zone\" is a custom zone made in Outlook, whose rules Microsoft \
             Graph does not share"
        );
        let malformed = from_graph("04/05/2026 09:00", "UTC")
            .unwrap_err()
            .to_string();
        assert!(
            malformed.starts_with(
                "Microsoft Graph returned the date-time \"04/05/2026 09:00\", which is not ISO \
                 8601 ("
            ),
            "{malformed}"
        );
    }

    #[test]
    fn dates_are_read_as_written_never_converted() {
        // An all-day event (midnight to midnight whatever the zone) and a To Do due date
        // (midnight UTC): the day is the day written, even for a user west of Greenwich.
        assert_eq!(
            graph_date("2026-05-10T00:00:00.0000000"),
            Ok(jiff::civil::date(2026, 5, 10))
        );
        assert_eq!(graph_date("2026-05-10"), Ok(jiff::civil::date(2026, 5, 10)));
        assert!(matches!(
            graph_date("10 May"),
            Err(GraphTimeError::Malformed { .. })
        ));
    }

    #[test]
    fn writes_name_the_users_zone_as_the_mailbox_does() {
        let pacific = zone("Pacific Standard Time");
        assert_eq!(
            to_graph(utc("2026-05-15T19:00:00Z"), &pacific),
            DateTimeTimeZone {
                date_time: "2026-05-15T12:00:00".to_owned(),
                time_zone: "Pacific Standard Time".to_owned(),
            }
        );
        assert_eq!(
            to_graph(utc("2026-01-15T20:00:00.75Z"), &pacific).date_time,
            "2026-01-15T12:00:00"
        );
        let london = zone("Europe/London");
        assert_eq!(
            to_graph(utc("2026-05-15T11:00:00Z"), &london),
            DateTimeTimeZone {
                date_time: "2026-05-15T12:00:00".to_owned(),
                time_zone: "Europe/London".to_owned(),
            }
        );
    }

    #[test]
    fn the_second_pass_through_a_fall_back_hour_is_written_in_utc() {
        let pacific = zone("Pacific Standard Time");
        // 01:30 PDT: the first 01:30, which the wall clock reads back to.
        assert_eq!(
            to_graph(utc("2026-11-01T08:30:00Z"), &pacific),
            DateTimeTimeZone {
                date_time: "2026-11-01T01:30:00".to_owned(),
                time_zone: "Pacific Standard Time".to_owned(),
            }
        );
        // 01:30 PST, an hour later: the same wall clock would name the first one.
        assert_eq!(
            to_graph(utc("2026-11-01T09:30:00Z"), &pacific),
            DateTimeTimeZone {
                date_time: "2026-11-01T09:30:00".to_owned(),
                time_zone: "UTC".to_owned(),
            }
        );
    }

    #[test]
    fn a_write_round_trips_through_graphs_reading() {
        for zone_name in [
            "Pacific Standard Time",
            "Europe/Berlin",
            "India Standard Time",
        ] {
            let zone = zone(zone_name);
            for instant in [
                "2026-03-08T09:59:59Z",
                "2026-03-08T10:00:00Z",
                "2026-11-01T08:30:00Z",
                "2026-11-01T09:30:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:30:00Z",
            ] {
                let written = to_graph(utc(instant), &zone);
                assert_eq!(
                    from_graph(&written.date_time, &written.time_zone),
                    Ok(utc(instant)),
                    "{instant} in {zone_name}"
                );
            }
        }
    }

    #[test]
    fn the_json_is_graphs_camel_case() {
        let value = to_graph(utc("2026-05-15T19:00:00Z"), &zone("Pacific Standard Time"));
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"dateTime":"2026-05-15T12:00:00","timeZone":"Pacific Standard Time"}"#
        );
        let returned: DateTimeTimeZone = serde_json::from_str(
            r#"{"dateTime":"2026-05-04T09:00:00.0000000","timeZone":"Pacific Standard Time"}"#,
        )
        .unwrap();
        assert_eq!(
            from_graph(&returned.date_time, &returned.time_zone),
            Ok(utc("2026-05-04T16:00:00Z"))
        );
    }

    #[test]
    fn query_bounds_are_utc_with_a_z_to_the_second() {
        assert_eq!(
            to_graph_utc(utc("2026-03-10T16:00:00Z")),
            "2026-03-10T16:00:00Z"
        );
        assert_eq!(
            to_graph_utc(utc("2026-03-10T09:00:00.999-07:00")),
            "2026-03-10T16:00:00Z"
        );
    }
}
