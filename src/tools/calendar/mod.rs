//! The `calendar` toolset: the user's events and free time, in the user's time zone.
//!
//! Graph is asked to answer in the mailbox's zone (`Prefer: outlook.timezone`); each time is
//! then read with the zone Graph names and shown as the user's wall clock with its UTC offset
//! ([`crate::local_time`]), so a time is exact across a DST change. All-day events are dates,
//! never converted between zones.

mod find_meeting_times;
mod get_event;
mod list_events;

pub use find_meeting_times::FindMeetingTimes;
pub use get_event::GetEvent;
pub use list_events::ListEvents;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    shapes::{Contact, GraphEmailAddress, GraphRecipient, cleaned},
    untrusted::Rendering,
};
use crate::local_time::{DateTimeTimeZone, UserZone, format_local, from_graph, graph_date};

/// An event as Graph sends it (`$select` of [`EVENT_FIELDS`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GraphEvent {
    id: String,
    subject: Option<String>,
    start: Option<DateTimeTimeZone>,
    end: Option<DateTimeTimeZone>,
    #[serde(default)]
    is_all_day: bool,
    #[serde(default)]
    is_cancelled: bool,
    show_as: Option<String>,
    location: Option<GraphLocation>,
    organizer: Option<GraphRecipient>,
    #[serde(default)]
    attendees: Vec<GraphAttendee>,
    online_meeting: Option<GraphOnlineMeeting>,
    web_link: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphLocation {
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphAttendee {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<GraphResponseStatus>,
    #[serde(default)]
    email_address: GraphEmailAddress,
}

#[derive(Debug, Deserialize)]
struct GraphResponseStatus {
    response: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphOnlineMeeting {
    join_url: Option<String>,
}

const EVENT_FIELDS: &[&str] = &[
    "id",
    "subject",
    "start",
    "end",
    "isAllDay",
    "isCancelled",
    "showAs",
    "location",
    "organizer",
    "attendees",
    "onlineMeeting",
    "webLink",
    "type",
];

/// An event, as the calendar tools return it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Event {
    /// Pass it to `get_event`.
    pub id: String,
    /// Untrusted text from the organizer.
    pub subject: String,
    /// In the user's time zone with its offset, or a date for all-day events.
    pub start: String,
    /// As `start`; for all-day events the last day.
    pub end: String,
    pub all_day: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizer: Option<Contact>,
    pub attendees: Vec<Attendee>,
    /// free, tentative, busy, oof, workingElsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_as: Option<String>,
    pub cancelled: bool,
    /// An occurrence of a recurring series.
    pub recurring: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_meeting_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_link: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Attendee {
    #[serde(flatten)]
    pub contact: Contact,
    /// required, optional or resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// accepted, tentativelyAccepted, declined, notResponded, organizer, none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl Event {
    pub(super) fn from_graph(event: GraphEvent, zone: &UserZone) -> Self {
        let (start, end) = times(
            event.start.as_ref(),
            event.end.as_ref(),
            event.is_all_day,
            zone,
        );
        Event {
            id: event.id,
            subject: cleaned(event.subject).unwrap_or_else(|| "(no subject)".into()),
            start,
            end,
            all_day: event.is_all_day,
            location: event
                .location
                .and_then(|location| cleaned(location.display_name)),
            organizer: event.organizer.map(Contact::from),
            attendees: event
                .attendees
                .into_iter()
                .map(|attendee| Attendee {
                    contact: attendee.email_address.into(),
                    kind: attendee.kind,
                    response: attendee.status.and_then(|status| status.response),
                })
                .collect(),
            show_as: event.show_as,
            cancelled: event.is_cancelled,
            recurring: matches!(event.kind.as_deref(), Some("occurrence" | "exception")),
            online_meeting_url: event.online_meeting.and_then(|meeting| meeting.join_url),
            web_link: event.web_link,
        }
    }

    /// The event in a text rendering: the server's line (id, times), then everything the
    /// organizer and attendees wrote (subject, place, people, meeting link) in one block.
    fn render(&self, rendering: &mut Rendering) {
        rendering.line(format!(
            "id {}: {} to {}{}{}",
            self.id,
            self.start,
            self.end,
            if self.all_day { " (all day)" } else { "" },
            if self.cancelled { " (cancelled)" } else { "" },
        ));
        let mut fields = vec![("subject", self.subject.clone())];
        if let Some(location) = &self.location {
            fields.push(("location", location.clone()));
        }
        if let Some(organizer) = &self.organizer {
            fields.push(("organizer", organizer.display()));
        }
        if !self.attendees.is_empty() {
            let attendees: Vec<String> = self
                .attendees
                .iter()
                .map(|attendee| match &attendee.response {
                    Some(response) => format!("{} ({response})", attendee.contact.display()),
                    None => attendee.contact.display(),
                })
                .collect();
            fields.push(("attendees", attendees.join(", ")));
        }
        if let Some(url) = &self.online_meeting_url {
            fields.push(("online meeting", url.clone()));
        }
        rendering.fields("event", fields);
    }
}

/// Start and end as the user reads them: wall clocks with offsets, or dates for all-day
/// events (Graph's end is the day after the last; the last day is shown).
fn times(
    start: Option<&DateTimeTimeZone>,
    end: Option<&DateTimeTimeZone>,
    all_day: bool,
    zone: &UserZone,
) -> (String, String) {
    let show = |value: Option<&DateTimeTimeZone>, is_end: bool| -> String {
        let Some(value) = value else {
            return String::new();
        };
        if all_day {
            return match graph_date(&value.date_time) {
                Ok(date) if is_end => date.yesterday().unwrap_or(date).to_string(),
                Ok(date) => date.to_string(),
                Err(_) => value.date_time.clone(),
            };
        }
        match from_graph(&value.date_time, &value.time_zone) {
            Ok(instant) => format_local(instant, zone),
            Err(_) => format!("{} ({})", value.date_time, value.time_zone),
        }
    };
    (show(start, false), show(end, true))
}
