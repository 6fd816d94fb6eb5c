//! Graph's `dateTimeTimeZone`: a wall clock and the name of the zone it is read in.

use std::fmt;

use jiff::{
    Timestamp,
    civil::{Date, Time},
    fmt::temporal::Pieces,
    tz::Offset,
};
use serde::{Deserialize, Serialize};

use super::{UnknownZone, UserZone, WHOLE_SECONDS, input::wall_clock_instant, zone::rules_for};

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
/// `date_time` may carry Graph's seven fractional digits (`2026-05-04T09:00:00.0000000`).
/// `time_zone` is resolved like a mailbox zone (Windows name, then IANA name), because Graph
/// answers in the zone of `Prefer: outlook.timezone` when it honours it and in the item's own
/// zone when it does not (the response to a create). A wall clock in the repeated hour of a
/// fall-back change is read as the earlier instant: the text alone cannot say which was meant,
/// which is why [`to_graph`] never writes such a value for the later one.
pub fn from_graph(date_time: &str, time_zone: &str) -> Result<Timestamp, GraphTimeError> {
    let pieces = graph_pieces(date_time)?;
    let rules = rules_for(time_zone).map_err(GraphTimeError::UnknownZone)?;
    let time = pieces.time().unwrap_or(Time::midnight());
    let instant = match pieces.offset() {
        // Graph does not send an offset here; if one ever comes, it is exact.
        Some(offset) => offset
            .to_numeric_offset()
            .to_timestamp(pieces.date().to_datetime(time))
            .ok(),
        None => wall_clock_instant(pieces.date(), time, &rules),
    };
    instant.ok_or_else(|| GraphTimeError::OutOfRange {
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
/// clock names two instants and Graph, like [`from_graph`], can only guess. For the later of
/// the two the value is written in UTC instead (`timeZone: "UTC"`), which is unambiguous.
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

/// `ts` without its fraction of a second, towards the past.
pub(super) fn floor_to_second(ts: Timestamp) -> Timestamp {
    let whole_seconds = ts.as_second() - i64::from(ts.subsec_nanosecond() < 0);
    // In range: the earliest Timestamp is a whole second, and this is never earlier than it.
    Timestamp::from_second(whole_seconds).expect("a whole second at or after Timestamp::MIN")
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
