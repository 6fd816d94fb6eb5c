//! Meetings as Exchange keeps them: one meeting, a copy in the calendar of each participant in
//! the tenant, and for a recurring meeting a *series master* whose occurrences exist only when
//! someone asks for a window of time.
//!
//! - A copy has its own id per mailbox; what the copies share is the `iCalUId`. The organizer's
//!   copy says `isOrganizer`, an attendee's carries their own response and shows as
//!   `tentative` until they accept. Attendees who declined have no copy.
//! - A weekly series is stored as its pattern (days of the week, a wall-clock start in the
//!   organizer's zone, a first and a last day). `/events` returns the master (`seriesMaster`,
//!   with `recurrence`); `calendarView` expands the pattern into occurrences (`occurrence`,
//!   with `seriesMasterId`), each with an id of its own that `/events/{id}` also accepts.
//! - Occurrences keep their wall-clock time across daylight-saving changes: a 09:00 Pacific
//!   meeting is at 17:00 UTC in winter and 16:00 UTC in summer. Expansion converts each
//!   occurrence's local start to UTC on its own day, which is what makes that come out right.

use serde_json::{Value, json};

use super::super::{ids, recipient::EmailAddress, time_zone::TimeZone};
use crate::{
    datetime::{SECONDS_PER_DAY, civil_from_days, graph_wall_clock, iso8601, weekday},
    tenant::User,
};

pub const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttendeeType {
    Required,
    Optional,
    Resource,
}

impl AttendeeType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
            Self::Resource => "resource",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Required, Self::Optional, Self::Resource]
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(text))
    }
}

#[derive(Debug, Clone)]
pub struct Attendee {
    pub person: EmailAddress,
    pub kind: AttendeeType,
    /// `none`, `accepted`, `tentativelyAccepted`, `declined` or `notResponded`.
    pub response: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    /// Instants (Unix seconds). For an all-day event, midnight to midnight in the meeting's zone.
    Once { start: i64, end: i64 },
    /// Every week on `days` (0 = Sunday), at `time` seconds after local midnight in the
    /// meeting's zone, for `duration` seconds, from local day `first` to local day `last`
    /// (days since 1970-01-01).
    Weekly {
        days: [bool; 7],
        time: i64,
        duration: i64,
        first: i64,
        last: i64,
    },
}

#[derive(Debug, Clone)]
pub struct Meeting {
    /// What its ids derive from; unique among meetings.
    pub key: String,
    pub subject: String,
    pub organizer: EmailAddress,
    /// Everyone invited except the organizer.
    pub attendees: Vec<Attendee>,
    pub schedule: Schedule,
    /// The zone the organizer scheduled it in.
    pub zone: &'static TimeZone,
    pub location: String,
    pub online: bool,
    /// How the organizer's copy shows: `free`, `tentative`, `busy`, `oof`, `workingElsewhere`.
    pub show_as: &'static str,
    pub sensitivity: &'static str,
    pub importance: &'static str,
    pub is_all_day: bool,
    pub is_cancelled: bool,
    pub body_html: String,
    /// Unix seconds.
    pub created: i64,
    /// The client's `transactionId`, for meetings created through Graph.
    pub transaction_id: Option<String>,
}

/// One appearance of a meeting in time: the meeting itself, or one occurrence of a series.
#[derive(Debug, Clone, Copy)]
pub struct Instance<'a> {
    pub meeting: &'a Meeting,
    pub start: i64,
    pub end: i64,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SingleInstance,
    SeriesMaster,
    /// An occurrence on this local day of the series.
    Occurrence(i64),
}

/// Where a rendered event's times are counted: the zone and the name the client used for it.
#[derive(Debug, Clone, Copy)]
pub struct Zone<'a> {
    pub zone: &'static TimeZone,
    pub name: &'a str,
}

impl Meeting {
    /// Whether `user` has a copy of this meeting in their calendar.
    pub fn involves(&self, user: &User) -> bool {
        self.organizer.user().is_some_and(|u| u.key == user.key)
            || self.attendees.iter().any(|attendee| {
                attendee.response != "declined"
                    && attendee.person.user().is_some_and(|u| u.key == user.key)
            })
    }

    pub fn is_series(&self) -> bool {
        matches!(self.schedule, Schedule::Weekly { .. })
    }

    /// The meeting as `/events` lists it: a single instance, or the series master at its
    /// first occurrence.
    pub fn instance(&self) -> Instance<'_> {
        match self.schedule {
            Schedule::Once { start, end } => Instance {
                meeting: self,
                start,
                end,
                kind: Kind::SingleInstance,
            },
            Schedule::Weekly { .. } => {
                let first = *self
                    .occurrences(i64::MIN / 4, i64::MAX / 4)
                    .first()
                    .expect("a series has an occurrence");
                Instance {
                    kind: Kind::SeriesMaster,
                    ..first
                }
            }
        }
    }

    /// Everything of this meeting that overlaps `[from, to)`: the single instance, or the
    /// occurrences of the series.
    pub fn occurrences(&self, from: i64, to: i64) -> Vec<Instance<'_>> {
        match self.schedule {
            Schedule::Once { start, end } => {
                if start < to && end > from {
                    vec![Instance {
                        meeting: self,
                        start,
                        end,
                        kind: Kind::SingleInstance,
                    }]
                } else {
                    vec![]
                }
            }
            Schedule::Weekly {
                days,
                time,
                duration,
                first,
                last,
            } => {
                // Only the local days that can reach the window (a day either side for the
                // zone's offset).
                let from_day = first.max(from.div_euclid(SECONDS_PER_DAY).saturating_sub(2));
                let to_day = last.min(to.div_euclid(SECONDS_PER_DAY).saturating_add(2));
                (from_day..=to_day)
                    .filter(|day| days[weekday(*day) as usize])
                    .map(|day| {
                        let start = self.zone.to_utc(day * SECONDS_PER_DAY + time);
                        Instance {
                            meeting: self,
                            start,
                            end: start + duration,
                            kind: Kind::Occurrence(day),
                        }
                    })
                    .filter(|instance| instance.start < to && instance.end > from)
                    .collect()
            }
        }
    }

    /// `recurrence` as Graph writes a weekly pattern.
    fn recurrence(&self) -> Value {
        let Schedule::Weekly {
            days, first, last, ..
        } = self.schedule
        else {
            return Value::Null;
        };
        let date = |day: i64| {
            let (year, month, day) = civil_from_days(day);
            format!("{year:04}-{month:02}-{day:02}")
        };
        let names: Vec<&str> = WEEKDAYS
            .iter()
            .zip(days)
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect();
        json!({
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "month": 0,
                "dayOfMonth": 0,
                "daysOfWeek": names,
                "firstDayOfWeek": "sunday",
                "index": "first",
            },
            "range": {
                "type": "endDate",
                "startDate": date(first),
                "endDate": date(last),
                "recurrenceTimeZone": self.zone.name,
                "numberOfOccurrences": 0,
            },
        })
    }
}

impl Instance<'_> {
    fn is_organizer(&self, owner: &User) -> bool {
        self.meeting
            .organizer
            .user()
            .is_some_and(|u| u.key == owner.key)
    }

    /// `owner`'s response: `organizer`, or theirs as an attendee.
    fn response_of(&self, owner: &User) -> &'static str {
        if self.is_organizer(owner) {
            return "organizer";
        }
        self.meeting
            .attendees
            .iter()
            .find(|a| a.person.user().is_some_and(|u| u.key == owner.key))
            .map_or("none", |a| a.response)
    }

    /// How this shows in `owner`'s free/busy: a cancelled meeting is free, an invitation not
    /// yet accepted is tentative.
    pub fn show_as(&self, owner: &User) -> &'static str {
        match self.response_of(owner) {
            _ if self.meeting.is_cancelled => "free",
            "organizer" | "accepted" => self.meeting.show_as,
            _ => "tentative",
        }
    }

    /// This instance's id in `owner`'s calendar.
    pub fn id(&self, owner: &User) -> String {
        let key = &self.meeting.key;
        match self.kind {
            Kind::SingleInstance | Kind::SeriesMaster => {
                ids::outlook(&[owner.object_id, "event", key])
            }
            Kind::Occurrence(day) => {
                ids::outlook(&[owner.object_id, "event", key, &day.to_string()])
            }
        }
    }

    /// The event as `owner`'s calendar shows it, times in `zone`; bodies as text when
    /// `text_body`.
    pub fn json(&self, owner: &User, zone: Zone<'_>, text_body: bool) -> Value {
        let meeting = self.meeting;
        let id = self.id(owner);
        let change_key = ids::short(&[&id, "changeKey"]);
        let is_organizer = self.is_organizer(owner);
        let own_response = self.response_of(owner);
        let show_as = self.show_as(owner);
        let when = |instant: i64| {
            let wall_clock = if meeting.is_all_day {
                // All-day events float: midnight of their date, whatever zone is asked for.
                meeting.zone.to_local(instant)
            } else {
                zone.zone.to_local(instant)
            };
            json!({ "dateTime": graph_wall_clock(wall_clock), "timeZone": zone.name })
        };
        let uid = format!(
            "040000008200E00074C5B7101A82E00800000000{}",
            ids::guid(&[&meeting.key]).replace('-', "").to_uppercase()
        );
        let body = if text_body {
            json!({ "contentType": "text", "content": super::super::html_text::to_text(&meeting.body_html) })
        } else {
            json!({ "contentType": "html", "content": meeting.body_html })
        };
        let preview: String = super::super::html_text::to_text(&meeting.body_html)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(255)
            .collect();
        let (kind, series_master_id) = match self.kind {
            Kind::SingleInstance => ("singleInstance", Value::Null),
            Kind::SeriesMaster => ("seriesMaster", Value::Null),
            Kind::Occurrence(_) => ("occurrence", json!(meeting.instance().id(owner))),
        };
        let response_time = if matches!(own_response, "none" | "organizer" | "notResponded") {
            "0001-01-01T00:00:00Z".to_owned()
        } else {
            iso8601(meeting.created + 3600)
        };
        let mut event = json!({
            "@odata.etag": format!("W/\"{change_key}\""),
            "id": id,
            "createdDateTime": iso8601(meeting.created),
            "lastModifiedDateTime": iso8601(meeting.created),
            "changeKey": change_key,
            "categories": [],
            "transactionId": meeting.transaction_id,
            "originalStartTimeZone": meeting.zone.name,
            "originalEndTimeZone": meeting.zone.name,
            "iCalUId": uid,
            "uid": uid,
            "reminderMinutesBeforeStart": if meeting.is_all_day { 1080 } else { 15 },
            "isReminderOn": !meeting.is_cancelled,
            "hasAttachments": false,
            "subject": meeting.subject,
            "bodyPreview": preview,
            "importance": meeting.importance,
            "sensitivity": meeting.sensitivity,
            "isAllDay": meeting.is_all_day,
            "isCancelled": meeting.is_cancelled,
            "isOrganizer": is_organizer,
            "responseRequested": true,
            "seriesMasterId": series_master_id,
            "showAs": show_as,
            "type": kind,
            "webLink": format!(
                "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
                url::form_urlencoded::byte_serialize(self.id(owner).as_bytes()).collect::<String>()
            ),
            "onlineMeetingUrl": null,
            "isOnlineMeeting": meeting.online,
            "onlineMeetingProvider": if meeting.online { "teamsForBusiness" } else { "unknown" },
            "allowNewTimeProposals": true,
            "isDraft": false,
            "hideAttendees": false,
        });
        // Too many fields for one `json!` (its macro recursion has a limit): the rest here.
        event["responseStatus"] = json!({ "response": own_response, "time": response_time });
        event["body"] = body;
        event["start"] = when(self.start);
        event["end"] = when(self.end);
        event["location"] = json!({
            "displayName": meeting.location,
            "locationType": "default",
            "uniqueIdType": if meeting.location.is_empty() { "unknown" } else { "private" },
            "address": {},
            "coordinates": {},
        });
        event["locations"] = if meeting.location.is_empty() {
            json!([])
        } else {
            json!([{ "displayName": meeting.location, "locationType": "default", "uniqueIdType": "private" }])
        };
        event["recurrence"] = match self.kind {
            Kind::SeriesMaster => meeting.recurrence(),
            Kind::SingleInstance | Kind::Occurrence(_) => Value::Null,
        };
        event["attendees"] = meeting
            .attendees
            .iter()
            .map(|attendee| {
                let time = if matches!(attendee.response, "none" | "notResponded") {
                    "0001-01-01T00:00:00Z".to_owned()
                } else {
                    iso8601(meeting.created + 3600)
                };
                json!({
                    "type": attendee.kind.name(),
                    "status": { "response": attendee.response, "time": time },
                    "emailAddress": attendee.person.json(),
                })
            })
            .collect();
        event["organizer"] = json!({ "emailAddress": meeting.organizer.json() });
        event["onlineMeeting"] = if meeting.online {
            json!({ "joinUrl": format!(
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{}%40thread.v2/0",
                ids::short(&[&meeting.key, "teams"])
            ) })
        } else {
            Value::Null
        };
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        datetime::{days_from_civil, parse_iso8601},
        graph::time_zone,
        tenant,
    };

    fn weekly(zone: &str, day: u32, time: i64, first: i64, last: i64) -> Meeting {
        let adele = tenant::user("adele").unwrap();
        let mut days = [false; 7];
        days[day as usize] = true;
        Meeting {
            key: "series".to_owned(),
            subject: "Weekly".to_owned(),
            organizer: EmailAddress::of(adele),
            attendees: vec![],
            schedule: Schedule::Weekly {
                days,
                time,
                duration: 1800,
                first,
                last,
            },
            zone: time_zone::find(zone).unwrap(),
            location: String::new(),
            online: false,
            show_as: "busy",
            sensitivity: "normal",
            importance: "normal",
            is_all_day: false,
            is_cancelled: false,
            body_html: String::new(),
            created: 0,
            transaction_id: None,
        }
    }

    #[test]
    fn weekly_occurrences_keep_their_wall_clock_across_daylight_saving() {
        // Mondays at 09:00 Pacific through 2025 (US changes on 9 March and 2 November).
        let series = weekly(
            "Pacific Standard Time",
            1,
            9 * 3600,
            days_from_civil(2025, 1, 1),
            days_from_civil(2025, 12, 31),
        );
        let at = |text: &str| parse_iso8601(text).unwrap();
        let starts: Vec<i64> = series
            .occurrences(at("2025-03-01T00:00:00Z"), at("2025-03-15T00:00:00Z"))
            .iter()
            .map(|o| o.start)
            .collect();
        assert_eq!(
            starts,
            [at("2025-03-03T17:00:00Z"), at("2025-03-10T16:00:00Z")]
        );
        let autumn: Vec<i64> = series
            .occurrences(at("2025-10-25T00:00:00Z"), at("2025-11-08T00:00:00Z"))
            .iter()
            .map(|o| o.start)
            .collect();
        assert_eq!(
            autumn,
            [at("2025-10-27T16:00:00Z"), at("2025-11-03T17:00:00Z")]
        );
        assert_eq!(series.occurrences(i64::MIN / 4, i64::MAX / 4).len(), 52);
        let master = series.instance();
        assert_eq!(master.kind, Kind::SeriesMaster);
        assert_eq!(master.start, at("2025-01-06T17:00:00Z"));
    }

    #[test]
    fn occurrences_and_masters_render_with_their_links() {
        let adele = tenant::user("adele").unwrap();
        let series = weekly(
            "W. Europe Standard Time",
            2,
            16 * 3600,
            days_from_civil(2025, 1, 1),
            days_from_civil(2025, 6, 30),
        );
        let at = |text: &str| parse_iso8601(text).unwrap();
        let zone = Zone {
            zone: time_zone::find("UTC").unwrap(),
            name: "UTC",
        };
        let occurrence = series.occurrences(at("2025-04-01T00:00:00Z"), at("2025-04-02T00:00:00Z"))
            [0]
        .json(adele, zone, false);
        assert_eq!(occurrence["type"], "occurrence");
        assert_eq!(
            occurrence["start"]["dateTime"],
            "2025-04-01T14:00:00.0000000"
        );
        let master = series.instance().json(adele, zone, false);
        assert_eq!(occurrence["seriesMasterId"], master["id"]);
        assert_ne!(occurrence["id"], master["id"]);
        assert_eq!(master["type"], "seriesMaster");
        assert_eq!(
            master["recurrence"]["pattern"]["daysOfWeek"],
            json!(["tuesday"])
        );
        assert_eq!(master["recurrence"]["range"]["startDate"], "2025-01-01");
        assert_eq!(
            master["recurrence"]["range"]["recurrenceTimeZone"],
            "W. Europe Standard Time"
        );
        assert_eq!(occurrence["recurrence"], Value::Null);
    }
}
