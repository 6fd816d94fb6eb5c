//! The calendar: `GET /me/calendarView?startDateTime=…&endDateTime=…` (what overlaps a window,
//! recurrences expanded), `GET /me/events` (single events and series masters),
//! `GET /me/events/{id}` (any of those, occurrences included), `POST /me/events`, and
//! `POST /me/findMeetingTimes` ([`find_times`]).
//!
//! The meetings are the tenant's ([`sample`]), each in the calendars of its participants
//! ([`meeting`]), plus those created through Graph.
//!
//! - **Time zones.** Times are UTC unless `Prefer: outlook.timezone="…"` names a zone
//!   (Windows or IANA); then `start` and `end` are wall-clock times there and name the zone as
//!   the client wrote it. The window's bounds are instants: they carry their own offset, and
//!   without one they are UTC, whatever `Prefer` says.
//! - **Permissions.** `Calendars.ReadBasic` reads events without `body` and `bodyPreview`;
//!   `Calendars.Read` includes them; creating needs `Calendars.ReadWrite`.
//! - **Query options.** `$top` (page 10, next links with `$skip`), `$select` (`id` and
//!   `@odata.etag` always come along), `$orderby=start/dateTime [asc|desc]`. The devstack
//!   refuses `$filter` and `$search` here rather than ignore them.
//! - **Bodies** are HTML unless `Prefer: outlook.body-content-type="text"`; the text is
//!   Outlook's conversion, which keeps text hidden by CSS ([`super::html_text`]).

pub mod find_times;
mod meeting;
mod sample;

use std::sync::{Arc, Mutex, PoisonError};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use self::meeting::{Attendee, AttendeeType, Schedule};
pub use self::meeting::{Instance, Meeting, Zone};
use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    odata::{Collection, EntityType, Paging, Query, context},
    prefer::{self, Preferences},
    recipient::EmailAddress,
    request_body::{self, Object},
    search::Hit,
    time_zone,
};
use crate::{
    datetime::{now_seconds, parse_iso8601},
    tenant::User,
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
const WRITE: &[&str] = &["Calendars.ReadWrite"];
/// What `Calendars.ReadBasic` does not reveal.
const BODIES: [&str; 2] = ["body", "bodyPreview"];

/// The sample meetings around `now`.
pub fn sample_meetings(now: i64) -> Arc<[Arc<Meeting>]> {
    sample::meetings(now).into()
}

/// The tenant's meetings: the sample ones (shared, never changed) and those created through
/// Graph.
#[derive(Debug)]
pub struct Calendars {
    sample: Arc<[Arc<Meeting>]>,
    created: Mutex<Vec<Arc<Meeting>>>,
}

impl Calendars {
    pub fn new(sample: Arc<[Arc<Meeting>]>) -> Self {
        Self {
            sample,
            created: Mutex::default(),
        }
    }

    /// Every meeting in `user`'s calendar.
    pub fn of(&self, user: &User) -> Vec<Arc<Meeting>> {
        let created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
        self.sample
            .iter()
            .chain(created.iter())
            .filter(|meeting| meeting.involves(user))
            .cloned()
            .collect()
    }

    /// What `user`'s calendar has in `[from, to)`, occurrences expanded, by start.
    pub fn view<'a>(meetings: &'a [Arc<Meeting>], from: i64, to: i64) -> Vec<Instance<'a>> {
        let mut instances: Vec<Instance<'a>> = meetings
            .iter()
            .flat_map(|meeting| meeting.occurrences(from, to))
            .collect();
        instances.sort_by(|a, b| {
            (a.start, a.end, &a.meeting.key).cmp(&(b.start, b.end, &b.meeting.key))
        });
        instances
    }

    /// Every event of `user`'s calendar (single events and series masters) as the search
    /// service finds it, times in UTC.
    pub fn search_hits(&self, user: &User) -> Vec<Hit> {
        const FIELDS: &[&str] = &[
            "id",
            "subject",
            "bodyPreview",
            "start",
            "end",
            "location",
            "organizer",
            "attendees",
            "isAllDay",
            "isCancelled",
            "type",
            "webLink",
            "onlineMeeting",
        ];
        let utc = Zone {
            zone: time_zone::find("UTC").expect("UTC is known"),
            name: "UTC",
        };
        self.of(user)
            .iter()
            .map(|meeting| {
                let instance = meeting.instance();
                let json = instance.json(user, utc, false);
                let mut resource = json!({ "@odata.type": "#microsoft.graph.event" });
                for field in FIELDS {
                    resource[*field] = json[*field].clone();
                }
                Hit {
                    hit_id: instance.id(user),
                    order: instance.start,
                    text: format!(
                        "{} {} {} {}",
                        meeting.subject,
                        meeting.location,
                        meeting.organizer.name,
                        super::html_text::to_text(&meeting.body_html)
                    ),
                    extension: None,
                    resource,
                }
            })
            .collect()
    }

    /// The meetings `organizer` created through Graph.
    pub fn created_by(&self, organizer: &User) -> Vec<Arc<Meeting>> {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|meeting| {
                meeting
                    .organizer
                    .user()
                    .is_some_and(|u| u.key == organizer.key)
            })
            .cloned()
            .collect()
    }
}

/// The zone responses count times in: `Prefer: outlook.timezone`, or UTC.
pub fn response_zone(preferences: &Preferences) -> Result<Zone<'_>, GraphError> {
    match &preferences.time_zone {
        None => Ok(Zone {
            zone: time_zone::find("UTC").expect("UTC is known"),
            name: "UTC",
        }),
        Some(name) => Ok(Zone {
            zone: known_zone(name)?,
            name,
        }),
    }
}

/// A zone by the name a client sent, or Outlook's 400.
pub fn known_zone(name: &str) -> Result<&'static time_zone::TimeZone, GraphError> {
    time_zone::find(name).ok_or_else(|| {
        GraphError::bad_request(
            "TimeZoneNotSupportedException",
            format!(
                "A valid TimeZone value must be specified. The following TimeZone value is not \
                 supported: '{name}'."
            ),
        )
    })
}

/// `Preference-Applied` for what a calendar response honoured.
fn with_preferences(mut response: Response, preferences: &Preferences) -> Response {
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
    response
}

fn refuse_unsupported(query: &Query) -> Result<(), GraphError> {
    for (option, present) in [
        ("$filter", query.filter.is_some()),
        ("$search", query.search.is_some()),
    ] {
        if present {
            return Err(GraphError::bad_request(
                "ErrorInvalidUrlQuery",
                format!(
                    "The query parameter '{option}' is not supported here by the devstack's \
                     Graph."
                ),
            ));
        }
    }
    Ok(())
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
    refuse_unsupported(&query)?;
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
    let meetings = graph.calendars.of(caller.0.user);
    let instances = Calendars::view(&meetings, start, end);
    respond(
        &graph,
        &caller,
        &headers,
        uri.path(),
        &query,
        instances,
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
    refuse_unsupported(&query)?;
    let meetings = graph.calendars.of(caller.0.user);
    let mut instances: Vec<Instance<'_>> = meetings.iter().map(|m| m.instance()).collect();
    instances.sort_by(|a, b| (a.start, &a.meeting.key).cmp(&(b.start, &b.meeting.key)));
    respond(
        &graph,
        &caller,
        &headers,
        uri.path(),
        &query,
        instances,
        "events",
    )
}

fn respond(
    graph: &Graph,
    caller: &Caller,
    headers: &HeaderMap,
    path: &str,
    query: &Query,
    mut instances: Vec<Instance<'_>>,
    set: &str,
) -> Result<Response, GraphError> {
    let preferences = Preferences::from_headers(headers);
    let zone = response_zone(&preferences)?;
    match query.orderby.as_deref().map(str::trim) {
        None | Some("start/dateTime" | "start/dateTime asc") => {}
        Some("start/dateTime desc") => instances.reverse(),
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
    let items = instances
        .iter()
        .map(|instance| {
            render(
                instance,
                user,
                zone,
                &preferences,
                full,
                selection.as_deref(),
            )
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
    Ok(with_preferences(
        Json(collection.page(items, query)?).into_response(),
        &preferences,
    ))
}

fn render(
    instance: &Instance<'_>,
    owner: &User,
    zone: Zone<'_>,
    preferences: &Preferences,
    full: bool,
    selection: Option<&[&str]>,
) -> Value {
    let mut item = EVENT.project(
        &instance.json(owner, zone, preferences.text_bodies),
        selection,
    );
    if !full {
        let object = item.as_object_mut().expect("an object");
        for name in BODIES {
            object.remove(name);
        }
    }
    item
}

pub async fn event(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(BASIC, Workload::Outlook)?;
    let preferences = Preferences::from_headers(&headers);
    let zone = response_zone(&preferences)?;
    let selection = EVENT.selection(&query)?;
    if !id.starts_with("AAMk") {
        return Err(GraphError::bad_request(
            "ErrorInvalidIdMalformed",
            "Id is malformed.",
        ));
    }
    let user = caller.0.user;
    let meetings = graph.calendars.of(user);
    let instance = find_instance(&meetings, user, &id).ok_or_else(not_found)?;
    let mut body = render(
        &instance,
        user,
        zone,
        &preferences,
        caller.holds(FULL),
        selection.as_deref(),
    );
    body["@odata.context"] = json!(context(
        &graph.base_url,
        &format!("users('{}')/events", user.object_id),
        selection.as_deref(),
        true,
    ));
    Ok(with_preferences(Json(body).into_response(), &preferences))
}

/// The event with `id` in `owner`'s calendar: a single event, a series master, or one of the
/// series' occurrences.
pub fn find_instance<'a>(
    meetings: &'a [Arc<Meeting>],
    owner: &User,
    id: &str,
) -> Option<Instance<'a>> {
    meetings.iter().find_map(|meeting| {
        let instance = meeting.instance();
        if instance.id(owner) == id {
            return Some(instance);
        }
        if !meeting.is_series() {
            return None;
        }
        meeting
            .occurrences(i64::MIN / 4, i64::MAX / 4)
            .into_iter()
            .find(|occurrence| occurrence.id(owner) == id)
    })
}

fn not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// `POST /me/events`: the caller organizes a new meeting, which lands in their calendar and
/// in those of the attendees in the tenant (as an unanswered invitation). Answers 201 with the
/// event as the organizer's calendar shows it, times in the `Prefer` zone. A repeated
/// `transactionId` answers with the event created the first time instead of a second one.
pub async fn create(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    caller.require(WRITE, Workload::Outlook)?;
    let preferences = Preferences::from_headers(&headers);
    let zone = response_zone(&preferences)?;
    let request = request_body::parse(&body)?;
    let request = Object::root(&request)?;
    let organizer = caller.0.user;
    let transaction_id = request.string("transactionId")?.map(str::to_owned);
    let existing = transaction_id.as_ref().and_then(|transaction| {
        graph
            .calendars
            .created_by(organizer)
            .into_iter()
            .find(|meeting| meeting.transaction_id.as_ref() == Some(transaction))
    });
    let meeting = match existing {
        Some(meeting) => meeting,
        None => {
            let meeting = Arc::new(new_meeting(&request, organizer, transaction_id)?);
            graph
                .calendars
                .created
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(meeting.clone());
            meeting
        }
    };
    let mut event = meeting
        .instance()
        .json(organizer, zone, preferences.text_bodies);
    event["@odata.context"] = json!(context(
        &graph.base_url,
        &format!("users('{}')/events", organizer.object_id),
        None,
        true,
    ));
    let mut response = (StatusCode::CREATED, Json(event)).into_response();
    response = with_preferences(response, &preferences);
    Ok(response)
}

/// The meeting a `POST /me/events` body describes, validated as Outlook does.
fn new_meeting(
    request: &Object<'_>,
    organizer: &'static User,
    transaction_id: Option<String>,
) -> Result<Meeting, GraphError> {
    let invalid = |message: String| GraphError::bad_request("ErrorInvalidRequest", message);
    let (start, start_zone) =
        request_body::date_time_time_zone(request, "start")?.ok_or_else(|| {
            invalid("The event's start (dateTime and timeZone) is required.".to_owned())
        })?;
    let (end, _) = request_body::date_time_time_zone(request, "end")?.ok_or_else(|| {
        invalid("The event's end (dateTime and timeZone) is required.".to_owned())
    })?;
    if end < start {
        return Err(invalid(
            "The end of the event must not be earlier than its start.".to_owned(),
        ));
    }
    let is_all_day = request.boolean("isAllDay")?.unwrap_or(false);
    let body_html = match request.object("body")? {
        None => String::new(),
        Some(body) => {
            let content = body.string("content")?.unwrap_or_default();
            match body.string("contentType")?.unwrap_or("html") {
                kind if kind.eq_ignore_ascii_case("text") => format!(
                    "<html><body>{}</body></html>",
                    super::html_text::escape(content).replace('\n', "<br>")
                ),
                kind if kind.eq_ignore_ascii_case("html") => content.to_owned(),
                other => {
                    return Err(GraphError::bad_request(
                        "RequestBodyRead",
                        format!(
                            "The value '{other}' is not valid for the property 'contentType' \
                             (text or html)."
                        ),
                    ));
                }
            }
        }
    };
    let mut attendees = Vec::new();
    for attendee in request.array("attendees")? {
        let kind = match attendee.string("type")? {
            None => AttendeeType::Required,
            Some(kind) => AttendeeType::parse(kind).ok_or_else(|| {
                GraphError::bad_request(
                    "RequestBodyRead",
                    format!("The value '{kind}' is not valid for the attendee type."),
                )
            })?,
        };
        attendees.push(Attendee {
            person: request_body::email_address(&attendee)?,
            kind,
            response: "none",
        });
    }
    let location = match request.object("location")? {
        Some(location) => location
            .string("displayName")?
            .unwrap_or_default()
            .to_owned(),
        None => String::new(),
    };
    let key = format!("created/{}", uuid::Uuid::new_v4());
    Ok(Meeting {
        key,
        subject: request.string("subject")?.unwrap_or_default().to_owned(),
        organizer: EmailAddress::of(organizer),
        attendees,
        schedule: Schedule::Once { start, end },
        zone: start_zone,
        location,
        online: request.boolean("isOnlineMeeting")?.unwrap_or(false),
        show_as: match request.string("showAs")? {
            Some(show_as) => request_body::show_as(show_as)?,
            None => "busy",
        },
        sensitivity: "normal",
        importance: "normal",
        is_all_day,
        is_cancelled: false,
        body_html,
        created: now_seconds(),
        transaction_id,
    })
}

/// The event as its organizer's calendar shows it, in UTC with an HTML body.
pub fn created_json(meeting: &Meeting, organizer: &User) -> Value {
    let utc = Zone {
        zone: time_zone::find("UTC").expect("UTC is known"),
        name: "UTC",
    };
    meeting.instance().json(organizer, utc, false)
}

#[cfg(test)]
mod tests;
