//! The calendar: `GET /me/calendarView?startDateTime=…&endDateTime=…` (the events overlapping a
//! window, both bounds required) and `GET /me/events`.
//!
//! Each user has a working week of meetings around the day the devstack started, at office
//! hours in their mailbox's time zone: a daily stand-up, project syncs, one-to-ones with their
//! manager, a Wednesday lunch-and-learn, focus time today and a private appointment on
//! Saturday. Attendees and organizers come from the directory.
//!
//! Times are UTC unless `Prefer: outlook.timezone="…"` names a zone; then `start` and `end` are
//! wall-clock times there and name the zone as the client wrote it. `Calendars.ReadBasic` reads
//! events without `body` and `bodyPreview`; `Calendars.Read` includes them. `$top` (page 10),
//! `$select`, and `$orderby=start/dateTime [asc|desc]` work.

use super::per_user::PerUser;
use std::sync::Arc;

use axum::{
    Json,
    extract::{RawQuery, State},
    http::{HeaderMap, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    ids,
    odata::{Collection, EntityType, Paging, Query, context},
    prefer::{self, Preferences},
    time_zone::{self, TimeZone},
};
use crate::{
    datetime::{SECONDS_PER_DAY, graph_wall_clock, iso8601, parse_iso8601, weekday},
    tenant::{USERS, User},
};

const EVENT: EntityType = EntityType {
    name: "Microsoft.OutlookServices.Event",
    workload: Workload::Outlook,
    properties: &[
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "categories",
        "transactionId",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "iCalUId",
        "uid",
        "reminderMinutesBeforeStart",
        "isReminderOn",
        "hasAttachments",
        "subject",
        "bodyPreview",
        "importance",
        "sensitivity",
        "isAllDay",
        "isCancelled",
        "isOrganizer",
        "responseRequested",
        "seriesMasterId",
        "showAs",
        "type",
        "webLink",
        "onlineMeetingUrl",
        "isOnlineMeeting",
        "onlineMeetingProvider",
        "allowNewTimeProposals",
        "isDraft",
        "hideAttendees",
        "responseStatus",
        "body",
        "start",
        "end",
        "location",
        "locations",
        "recurrence",
        "attendees",
        "organizer",
        "onlineMeeting",
    ],
    always: &["@odata.etag", "id"],
};

const BASIC: &[&str] = &[
    "Calendars.ReadBasic",
    "Calendars.Read",
    "Calendars.ReadWrite",
];
const FULL: &[&str] = &["Calendars.Read", "Calendars.ReadWrite"];

#[derive(Debug, Clone)]
pub struct Event {
    id: String,
    subject: String,
    /// Unix seconds.
    start: i64,
    end: i64,
    organizer: &'static User,
    attendees: Vec<&'static User>,
    location: &'static str,
    online: bool,
    show_as: &'static str,
    sensitivity: &'static str,
    body: String,
}

/// Where a response's times are counted: the zone and the name the client used for it.
struct Zone<'a> {
    zone: &'static TimeZone,
    name: &'a str,
}

impl Event {
    fn json(&self, owner: &User, zone: &Zone<'_>, text_body: bool) -> Value {
        let change_key = ids::short(&[&self.id, "changeKey"]);
        let when = |instant: i64| json!({ "dateTime": graph_wall_clock(zone.zone.to_local(instant)), "timeZone": zone.name });
        let address =
            |user: &User| json!({ "name": user.display_name, "address": user.user_principal_name });
        let is_organizer = self.organizer.key == owner.key;
        let created = iso8601(self.start - 7 * SECONDS_PER_DAY);
        let uid = format!(
            "040000008200E00074C5B7101A82E00800000000{}",
            ids::guid(&[&self.id]).replace('-', "").to_uppercase()
        );
        let body = if text_body {
            json!({ "contentType": "text", "content": self.body })
        } else {
            json!({ "contentType": "html", "content": format!("<html><body><p>{}</p></body></html>", self.body) })
        };
        let join_url = self.online.then(|| {
            format!(
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{}%40thread.v2/0",
                ids::short(&[&self.id, "teams"])
            )
        });
        let mut event = json!({
            "@odata.etag": format!("W/\"{change_key}\""),
            "id": self.id,
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "changeKey": change_key,
            "categories": [],
            "transactionId": null,
            "originalStartTimeZone": self.organizer.mailbox_time_zone,
            "originalEndTimeZone": self.organizer.mailbox_time_zone,
            "iCalUId": uid,
            "uid": uid,
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": true,
            "hasAttachments": false,
            "subject": self.subject,
            "bodyPreview": self.body,
            "importance": "normal",
            "sensitivity": self.sensitivity,
            "isAllDay": false,
            "isCancelled": false,
            "isOrganizer": is_organizer,
            "responseRequested": true,
            "seriesMasterId": null,
            "showAs": self.show_as,
            "type": "singleInstance",
            "webLink": format!(
                "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
                url::form_urlencoded::byte_serialize(self.id.as_bytes()).collect::<String>()
            ),
            "onlineMeetingUrl": null,
            "isOnlineMeeting": self.online,
            "onlineMeetingProvider": if self.online { "teamsForBusiness" } else { "unknown" },
            "allowNewTimeProposals": true,
            "isDraft": false,
            "hideAttendees": false,
        });
        // Too many fields for one `json!` (its macro recursion has a limit): the rest here.
        event["responseStatus"] = json!({
            "response": if is_organizer { "organizer" } else { "accepted" },
            "time": "0001-01-01T00:00:00Z",
        });
        event["body"] = body;
        event["start"] = when(self.start);
        event["end"] = when(self.end);
        event["location"] = json!({
            "displayName": self.location,
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        });
        event["locations"] = if self.location.is_empty() {
            json!([])
        } else {
            json!([{ "displayName": self.location, "locationType": "default", "uniqueIdType": "unknown" }])
        };
        event["recurrence"] = Value::Null;
        event["attendees"] = self
            .attendees
            .iter()
            .map(|attendee| {
                let response = if attendee.key == owner.key || attendee.key == self.organizer.key {
                    "none"
                } else {
                    "accepted"
                };
                json!({
                    "type": "required",
                    "status": { "response": response, "time": "0001-01-01T00:00:00Z" },
                    "emailAddress": address(attendee),
                })
            })
            .collect();
        event["organizer"] = json!({ "emailAddress": address(self.organizer) });
        event["onlineMeeting"] = json!(join_url.map(|url| json!({ "joinUrl": url })));
        event
    }
}

/// Every user's events, by start.
pub type Calendars = PerUser<Event>;

impl Calendars {
    pub fn sample(now: i64) -> Self {
        PerUser::generate(|user| calendar(user, now))
    }
}

pub async fn view(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(BASIC, Workload::Outlook)?;
    let window = |name: &str| -> Result<i64, GraphError> {
        let value = query.param(name).ok_or_else(|| {
            GraphError::bad_request(
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters \
                 StartDateTime and EndDateTime.",
            )
        })?;
        parse_iso8601(value).ok_or_else(|| {
            GraphError::bad_request(
                "ErrorInvalidParameter",
                format!("The value '{value}' of parameter '{name}' is invalid."),
            )
        })
    };
    let (start, end) = (window("startDateTime")?, window("endDateTime")?);
    let events = graph
        .calendars
        .of(caller.0.user)
        .iter()
        .filter(|event| event.start < end && event.end > start)
        .collect();
    respond(
        &graph,
        &caller,
        &headers,
        uri.path(),
        &query,
        events,
        "calendarView",
    )
}

pub async fn events(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(BASIC, Workload::Outlook)?;
    let events = graph.calendars.of(caller.0.user).iter().collect();
    respond(
        &graph,
        &caller,
        &headers,
        uri.path(),
        &query,
        events,
        "events",
    )
}

fn respond(
    graph: &Graph,
    caller: &Caller,
    headers: &HeaderMap,
    path: &str,
    query: &Query,
    mut events: Vec<&Event>,
    set: &str,
) -> Result<Response, GraphError> {
    let preferences = Preferences::from_headers(headers);
    let zone = match &preferences.time_zone {
        None => Zone {
            zone: time_zone::find("UTC").expect("UTC is known"),
            name: "UTC",
        },
        Some(name) => Zone {
            zone: time_zone::find(name).ok_or_else(|| {
                GraphError::bad_request(
                    "TimeZoneNotSupportedException",
                    format!(
                        "A valid TimeZone value must be specified. The following TimeZone value \
                         is not supported: '{name}'."
                    ),
                )
            })?,
            name,
        },
    };
    match query.orderby.as_deref().map(str::trim) {
        None | Some("start/dateTime" | "start/dateTime asc") => {}
        Some("start/dateTime desc") => events.reverse(),
        Some(other) => {
            return Err(GraphError::bad_request(
                "ErrorInvalidProperty",
                format!("The property '{other}' does not support sorting in the devstack."),
            ));
        }
    }
    let selection = EVENT.selection(query)?;
    let full = caller.holds(FULL);
    let user = caller.0.user;
    let items = events
        .iter()
        .map(|event| {
            let mut item = EVENT.project(
                &event.json(user, &zone, preferences.text_bodies),
                selection.as_deref(),
            );
            if !full {
                let object = item.as_object_mut().expect("an object");
                object.remove("body");
                object.remove("bodyPreview");
            }
            item
        })
        .collect();
    let collection = Collection {
        base_url: &graph.base_url,
        path,
        context: context(
            &graph.base_url,
            &format!("users('{}')/{set}", user.object_id),
            selection.as_deref(),
            false,
        ),
        default_page: 10,
        max_page: 1000,
        paging: Paging::Skip,
    };
    let mut response = Json(collection.page(items, query)?).into_response();
    let mut applied = Vec::new();
    if let Some(name) = &preferences.time_zone {
        applied.push(format!("outlook.timezone=\"{name}\""));
    }
    if preferences.text_bodies {
        applied.push("outlook.body-content-type=\"text\"".to_owned());
    }
    if let Some((name, value)) = prefer::applied(&applied) {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// A week of meetings for `user` around `now`, at office hours in their time zone.
fn calendar(user: &'static User, now: i64) -> Vec<Event> {
    let zone = time_zone::find(user.mailbox_time_zone).expect("every mailbox zone is known");
    let today = zone.to_local(now).div_euclid(SECONDS_PER_DAY);
    let manager = user.manager();
    let team: Vec<&'static User> = USERS
        .iter()
        .filter(|other| other.manager.is_some() && other.manager == user.manager)
        .take(4)
        .collect();
    let others: Vec<&'static User> = USERS.iter().filter(|other| other.key != user.key).collect();
    let mut events = Vec::new();
    let mut add = |day: i64, (hour, minute): (i64, i64), minutes: i64, template: EventTemplate| {
        let start = zone.to_utc(day * SECONDS_PER_DAY + hour * 3600 + minute * 60);
        events.push(Event {
            id: ids::outlook(&[user.object_id, "event", &day.to_string(), &hour.to_string()]),
            subject: template.subject,
            start,
            end: start + minutes * 60,
            organizer: template.organizer,
            attendees: template.attendees,
            location: template.location,
            online: template.online,
            show_as: template.show_as,
            sensitivity: template.sensitivity,
            body: template.body,
        });
    };
    for offset in -3..=3 {
        let day = today + offset;
        let weekday = weekday(day);
        if (1..=5).contains(&weekday) {
            let mut standup_attendees = team.clone();
            if let Some(manager) = manager {
                standup_attendees.push(manager);
            }
            add(
                day,
                (9, 0),
                15,
                EventTemplate {
                    subject: "Daily stand-up".to_owned(),
                    organizer: manager.unwrap_or(user),
                    attendees: standup_attendees,
                    online: true,
                    body: "Yesterday, today, blockers. Fifteen minutes, cameras optional."
                        .to_owned(),
                    ..EventTemplate::new(user)
                },
            );
            if offset % 2 == 0 {
                let peers = vec![
                    others[offset.unsigned_abs() as usize % others.len()],
                    others[(offset.unsigned_abs() as usize + 3) % others.len()],
                    user,
                ];
                add(
                    day,
                    (11, 0),
                    60,
                    EventTemplate {
                        subject: format!("Project sync: {}", user.department),
                        attendees: peers,
                        online: true,
                        body: "Review the milestone plan and the open risks.".to_owned(),
                        ..EventTemplate::new(user)
                    },
                );
            } else if let Some(manager) = manager {
                add(
                    day,
                    (14, 0),
                    30,
                    EventTemplate {
                        subject: format!("1:1 {} / {}", user.given_name, manager.given_name),
                        organizer: manager,
                        attendees: vec![manager, user],
                        location: "Manager's office",
                        body: "Career goals, feedback, anything on your mind.".to_owned(),
                        ..EventTemplate::new(user)
                    },
                );
            } else {
                let reports: Vec<&'static User> = USERS
                    .iter()
                    .filter(|u| u.manager == Some(user.key))
                    .collect();
                add(
                    day,
                    (14, 0),
                    60,
                    EventTemplate {
                        subject: "Leadership review".to_owned(),
                        attendees: reports,
                        location: "Boardroom",
                        body: "Quarterly numbers and hiring plan.".to_owned(),
                        ..EventTemplate::new(user)
                    },
                );
            }
            if weekday == 3 {
                add(
                    day,
                    (12, 0),
                    60,
                    EventTemplate {
                        subject: "Lunch & learn: Microsoft Graph".to_owned(),
                        organizer: others[0],
                        attendees: vec![others[0], user],
                        location: "Cafeteria, building 18",
                        body: "Bring lunch; we bring the demos.".to_owned(),
                        ..EventTemplate::new(user)
                    },
                );
            }
        }
        if offset == 0 {
            add(
                day,
                (15, 0),
                90,
                EventTemplate {
                    subject: "Focus time".to_owned(),
                    attendees: vec![],
                    body: "Blocked for deep work.".to_owned(),
                    ..EventTemplate::new(user)
                },
            );
        }
        if weekday == 6 {
            add(
                day,
                (10, 0),
                60,
                EventTemplate {
                    subject: "Dentist appointment".to_owned(),
                    attendees: vec![],
                    show_as: "oof",
                    sensitivity: "private",
                    body: "Check-up.".to_owned(),
                    ..EventTemplate::new(user)
                },
            );
        }
    }
    events.sort_by_key(|event| event.start);
    events
}

struct EventTemplate {
    subject: String,
    organizer: &'static User,
    attendees: Vec<&'static User>,
    location: &'static str,
    online: bool,
    show_as: &'static str,
    sensitivity: &'static str,
    body: String,
}

impl EventTemplate {
    /// A meeting `user` organizes, with defaults the generator overrides.
    fn new(user: &'static User) -> Self {
        Self {
            subject: String::new(),
            organizer: user,
            attendees: vec![user],
            location: "",
            online: false,
            show_as: "busy",
            sensitivity: "normal",
            body: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant;

    #[test]
    fn every_calendar_has_a_week_of_meetings_around_now_at_local_office_hours() {
        let now = parse_iso8601("2025-06-18T20:00:00Z").unwrap(); // a Wednesday
        let calendars = Calendars::sample(now);
        for user in USERS {
            let events = calendars.of(user);
            assert!(events.len() >= 12, "{}: {}", user.key, events.len());
            assert!(events.windows(2).all(|pair| pair[0].start <= pair[1].start));
            assert!(events.first().unwrap().start < now - 2 * SECONDS_PER_DAY);
            assert!(events.last().unwrap().start > now + 2 * SECONDS_PER_DAY);
            let zone = time_zone::find(user.mailbox_time_zone).unwrap();
            for event in events {
                let hour = zone.to_local(event.start).rem_euclid(SECONDS_PER_DAY) / 3600;
                assert!((9..=15).contains(&hour), "{} at {hour}", event.subject);
                assert!(event.end > event.start);
            }
            assert!(events.iter().any(|e| e.subject == "Focus time"));
        }
        let ids: std::collections::HashSet<_> = USERS
            .iter()
            .flat_map(|u| calendars.of(u))
            .map(|e| &e.id)
            .collect();
        assert_eq!(
            ids.len(),
            USERS.iter().map(|u| calendars.of(u).len()).sum::<usize>()
        );
    }

    #[test]
    fn times_render_in_the_requested_zone() {
        let adele = tenant::user("adele").unwrap();
        let now = parse_iso8601("2025-06-18T20:00:00Z").unwrap();
        let events = calendar(adele, now);
        let standup = events
            .iter()
            .find(|e| e.subject == "Daily stand-up")
            .unwrap();
        let utc = Zone {
            zone: time_zone::find("UTC").unwrap(),
            name: "UTC",
        };
        let pacific = Zone {
            zone: time_zone::find("America/Los_Angeles").unwrap(),
            name: "America/Los_Angeles",
        };
        let in_utc = standup.json(adele, &utc, false);
        let in_pacific = standup.json(adele, &pacific, false);
        assert!(
            in_utc["start"]["dateTime"]
                .as_str()
                .unwrap()
                .ends_with("T16:00:00.0000000")
        );
        assert_eq!(in_utc["start"]["timeZone"], "UTC");
        assert!(
            in_pacific["start"]["dateTime"]
                .as_str()
                .unwrap()
                .ends_with("T09:00:00.0000000")
        );
        assert_eq!(in_pacific["start"]["timeZone"], "America/Los_Angeles");
        assert_eq!(in_pacific["body"]["contentType"], "html");
        assert_eq!(
            standup.json(adele, &utc, true)["body"]["contentType"],
            "text"
        );
    }
}
