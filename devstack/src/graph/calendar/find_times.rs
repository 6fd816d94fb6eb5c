//! `POST /me/findMeetingTimes`: times when the organizer (the caller) and the attendees can
//! meet, computed from their calendars in the sample tenant.
//!
//! The request (every field optional, names in any case, scalars possibly strings):
//!
//! ```json
//! { "attendees": [{ "type": "required", "emailAddress": { "address": "alex@contoso.example" } }],
//!   "timeConstraint": { "activityDomain": "work", "timeSlots": [{
//!       "start": { "dateTime": "2025-06-19T09:00:00", "timeZone": "Pacific Standard Time" },
//!       "end": { "dateTime": "2025-06-19T17:00:00", "timeZone": "Pacific Standard Time" } }] },
//!   "locationConstraint": { "isRequired": false, "suggestLocation": false,
//!       "locations": [{ "displayName": "Conf Room Rainier", "resolveAvailability": true }] },
//!   "meetingDuration": "PT1H", "maxCandidates": 5, "isOrganizerOptional": false,
//!   "returnSuggestionReasons": true, "minimumAttendeePercentage": 100 }
//! ```
//!
//! How the devstack decides, following Graph's documentation:
//!
//! - **Candidates** start on the hour or half hour inside each time slot (default: the next 48
//!   hours) and last `meetingDuration` (ISO 8601, default 30 minutes). `activityDomain`
//!   `work` (the default, and `unknown`) keeps them within the organizer's working hours,
//!   08:00–17:00 Monday to Friday in their mailbox's zone; `personal` allows the weekend too;
//!   `unrestricted` any time.
//! - **Availability** of a person in the tenant comes from their calendar: the worst `showAs`
//!   of what overlaps (an invitation not accepted counts as tentative). People outside the
//!   tenant, and addresses that are no mailbox, are `unknown`. A room (an attendee of type
//!   `resource`, or a location with `resolveAvailability`) is busy when a meeting is held there.
//! - **Confidence** is the average over the attendees of their chance to attend: free or
//!   tentative 100, unknown 49, busy 0 (100 with no attendees). Candidates below
//!   `minimumAttendeePercentage` (default 50) are dropped; so are those where a required
//!   organizer is busy, and, with `locationConstraint.isRequired`, those without a free
//!   location.
//! - **Answer**: `meetingTimeSuggestions` by confidence, then time, at most `maxCandidates`
//!   (no limit when absent), in the `Prefer: outlook.timezone` zone (UTC otherwise). When there
//!   are none, `emptySuggestionsReason` says why: `organizerUnavailable`,
//!   `attendeesUnavailable`, `attendeesUnavailableOrUnknown`, `locationsUnavailable`, or
//!   `unknown` when the window holds no candidate at all.
//!
//! Permissions: `Calendars.Read.Shared` or `Calendars.ReadWrite.Shared` (reading other people's
//! free/busy); `Calendars.Read` is not enough.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Calendars, Zone, known_zone, response_zone, with_preferences};
use crate::{
    datetime::{SECONDS_PER_DAY, graph_wall_clock, now_seconds, weekday},
    graph::{
        Caller, Graph,
        error::{GraphError, Workload},
        odata::context,
        prefer::Preferences,
        recipient::EmailAddress,
        request_body::{self, Object},
        time_zone::TimeZone,
    },
    tenant::User,
};

const SHARED: &[&str] = &["Calendars.Read.Shared", "Calendars.ReadWrite.Shared"];
const STEP: i64 = 30 * 60;
/// The conference rooms of the tenant: name and mailbox.
pub const ROOMS: &[(&str, &str)] = &[
    ("Conf Room Rainier", "rainier@contoso.example"),
    ("Conf Room Baker", "baker@contoso.example"),
    ("Conf Room Adams", "adams@contoso.example"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    Work,
    Personal,
    Unrestricted,
}

/// Whose availability a suggestion reports, and how it is known.
#[derive(Debug)]
enum Party {
    Person(&'static User),
    Room(&'static str),
    Unknown,
}

#[derive(Debug)]
struct AttendeeRequest {
    kind: String,
    email: EmailAddress,
    party: Party,
}

#[derive(Debug)]
struct LocationRequest {
    display_name: String,
    email: Option<String>,
    /// The room it names, when availability is to be resolved.
    room: Option<&'static str>,
}

#[derive(Debug)]
struct Request {
    attendees: Vec<AttendeeRequest>,
    slots: Vec<(i64, i64)>,
    domain: Domain,
    duration: i64,
    max_candidates: Option<usize>,
    organizer_optional: bool,
    reasons: bool,
    minimum_percentage: f64,
    locations: Vec<LocationRequest>,
    locations_required: bool,
}

pub async fn find(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    caller.require(SHARED, Workload::Outlook)?;
    let preferences = Preferences::from_headers(&headers);
    let zone = response_zone(&preferences)?;
    let value = request_body::parse(&body)?;
    let request = parse(&Object::root(&value)?)?;
    let organizer = caller.0.user;
    let mut result = suggest(&graph.calendars, organizer, &request, zone);
    result["@odata.context"] = json!(context(
        &graph.base_url,
        "microsoft.graph.meetingTimeSuggestionsResult",
        None,
        false,
    ));
    Ok(with_preferences(Json(result).into_response(), &preferences))
}

fn parse(body: &Object<'_>) -> Result<Request, GraphError> {
    let invalid = |message: String| GraphError::bad_request("ErrorInvalidParameter", message);
    let mut attendees = Vec::new();
    for attendee in body.array("attendees")? {
        let email = request_body::email_address(&attendee)?;
        let kind = attendee.string("type")?.unwrap_or("required").to_owned();
        let party = if kind.eq_ignore_ascii_case("resource") {
            room(&email.address, &email.name).map_or(Party::Unknown, Party::Room)
        } else {
            email.user().map_or(Party::Unknown, Party::Person)
        };
        attendees.push(AttendeeRequest { kind, email, party });
    }
    let constraint = body.object("timeConstraint")?;
    let domain = match constraint
        .map(|c| c.string("activityDomain"))
        .transpose()?
        .flatten()
    {
        None => Domain::Work,
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "work" | "unknown" => Domain::Work,
            "personal" => Domain::Personal,
            "unrestricted" => Domain::Unrestricted,
            _ => {
                return Err(GraphError::bad_request(
                    "RequestBodyRead",
                    format!(
                        "Cannot convert the literal '{text}' to the expected type \
                         'microsoft.graph.activityDomain'."
                    ),
                ));
            }
        },
    };
    let mut slots = Vec::new();
    for slot in constraint
        .map(|c| c.array("timeSlots"))
        .transpose()?
        .unwrap_or_default()
    {
        let start = request_body::date_time_time_zone(&slot, "start")?;
        let end = request_body::date_time_time_zone(&slot, "end")?;
        let (Some((start, _)), Some((end, _))) = (start, end) else {
            return Err(invalid("A time slot needs a start and an end.".to_owned()));
        };
        if end < start {
            return Err(invalid(
                "The end of a time slot must not be earlier than its start.".to_owned(),
            ));
        }
        slots.push((start, end));
    }
    if slots.is_empty() {
        let now = now_seconds();
        slots.push((now, now + 2 * SECONDS_PER_DAY));
    }
    let duration = match body.string("meetingDuration")? {
        None => 30 * 60,
        Some(text) => duration(text).ok_or_else(|| {
            GraphError::bad_request(
                "RequestBodyRead",
                format!("Cannot convert the literal '{text}' to the expected type 'Edm.Duration'."),
            )
        })?,
    };
    if duration <= 0 {
        return Err(invalid("The meeting duration must be positive.".to_owned()));
    }
    let max_candidates = match body.number("maxCandidates")? {
        None => None,
        Some(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as usize),
        Some(n) => return Err(invalid(format!("'{n}' is not a valid maxCandidates."))),
    };
    let minimum_percentage = body.number("minimumAttendeePercentage")?.unwrap_or(50.0);
    if !(0.0..=100.0).contains(&minimum_percentage) {
        return Err(invalid(
            "minimumAttendeePercentage must be between 0 and 100.".to_owned(),
        ));
    }
    let location_constraint = body.object("locationConstraint")?;
    let mut locations = Vec::new();
    if let Some(constraint) = &location_constraint {
        for location in constraint.array("locations")? {
            let display_name = location
                .string("displayName")?
                .unwrap_or_default()
                .to_owned();
            let email = location.string("locationEmailAddress")?.map(str::to_owned);
            let resolve = location.boolean("resolveAvailability")?.unwrap_or(true);
            let room = resolve
                .then(|| room(email.as_deref().unwrap_or_default(), &display_name))
                .flatten();
            locations.push(LocationRequest {
                display_name,
                email,
                room,
            });
        }
    }
    Ok(Request {
        attendees,
        slots,
        domain,
        duration,
        max_candidates,
        organizer_optional: body.boolean("isOrganizerOptional")?.unwrap_or(false),
        reasons: body.boolean("returnSuggestionReasons")?.unwrap_or(false),
        minimum_percentage,
        locations,
        locations_required: location_constraint
            .map(|c| c.boolean("isRequired"))
            .transpose()?
            .flatten()
            .unwrap_or(false),
    })
}

/// The room a location or resource names, by mailbox or display name.
fn room(address: &str, name: &str) -> Option<&'static str> {
    ROOMS
        .iter()
        .find(|(room, mailbox)| {
            mailbox.eq_ignore_ascii_case(address) || room.eq_ignore_ascii_case(name)
        })
        .map(|(room, _)| *room)
}

/// Seconds in an ISO 8601 duration (`PT1H30M`, `P1D`, `PT45M`, `PT90S`).
fn duration(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, Some(time)),
        None => (rest, None),
    };
    let mut seconds = 0;
    if !days.is_empty() {
        seconds += days.strip_suffix('D')?.parse::<i64>().ok()? * SECONDS_PER_DAY;
    }
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        let mut number = String::new();
        for c in time.chars() {
            match c {
                '0'..='9' => number.push(c),
                'H' | 'M' | 'S' if !number.is_empty() => {
                    let unit = match c {
                        'H' => 3600,
                        'M' => 60,
                        _ => 1,
                    };
                    seconds += number.parse::<i64>().ok()? * unit;
                    number.clear();
                }
                _ => return None,
            }
        }
        if !number.is_empty() {
            return None;
        }
    }
    (rest != "T" && !rest.is_empty()).then_some(seconds)
}

/// The worst `showAs` in `user`'s calendar over `[from, to)`.
fn person_availability(calendars: &Calendars, user: &User, from: i64, to: i64) -> &'static str {
    let meetings = calendars.of(user);
    worst(
        Calendars::view(&meetings, from, to)
            .iter()
            .map(|instance| instance.show_as(user)),
    )
}

/// A room is busy while a meeting not cancelled is held there.
fn room_availability(calendars: &Calendars, room: &str, from: i64, to: i64) -> &'static str {
    let meetings: Vec<_> = calendars
        .sample
        .iter()
        .chain(
            calendars
                .created
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter(),
        )
        .filter(|meeting| meeting.location.eq_ignore_ascii_case(room) && !meeting.is_cancelled)
        .cloned()
        .collect();
    if Calendars::view(&meetings, from, to).is_empty() {
        "free"
    } else {
        "busy"
    }
}

fn worst(statuses: impl Iterator<Item = &'static str>) -> &'static str {
    const ORDER: [&str; 5] = ["free", "tentative", "workingElsewhere", "busy", "oof"];
    statuses
        .max_by_key(|status| ORDER.iter().position(|s| s == status).unwrap_or(0))
        .unwrap_or("free")
}

/// The chance an attendee with this availability attends, in percent.
fn chance(availability: &str) -> f64 {
    match availability {
        "free" | "tentative" => 100.0,
        "unknown" => 49.0,
        _ => 0.0,
    }
}

/// Whether `[start, start + duration)` lies within the organizer's hours for `domain`.
fn within_hours(domain: Domain, zone: &TimeZone, start: i64, duration: i64) -> bool {
    if domain == Domain::Unrestricted {
        return true;
    }
    let local = zone.to_local(start);
    let day = local.div_euclid(SECONDS_PER_DAY);
    let from = local.rem_euclid(SECONDS_PER_DAY);
    let weekday = weekday(day);
    let working_day = domain == Domain::Personal || (1..=5).contains(&weekday);
    working_day && from >= 8 * 3600 && from + duration <= 17 * 3600
}

/// Why one candidate did not make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    Organizer,
    Attendees { unknown: bool },
    Locations,
}

fn suggest(calendars: &Calendars, organizer: &User, request: &Request, zone: Zone<'_>) -> Value {
    let organizer_zone = known_zone(organizer.mailbox_time_zone).expect("mailbox zones are known");
    let mut suggestions = Vec::new();
    let mut misses = Vec::new();
    for &(slot_start, slot_end) in &request.slots {
        // Candidates start on the hour or half hour of the organizer's clock.
        let local = organizer_zone.to_local(slot_start);
        let mut start = slot_start + (STEP - local.rem_euclid(STEP)) % STEP;
        while start + request.duration <= slot_end {
            let end = start + request.duration;
            if within_hours(request.domain, organizer_zone, start, request.duration) {
                match candidate(calendars, organizer, request, start, end, zone) {
                    Ok(suggestion) => suggestions.push((start, suggestion)),
                    Err(miss) => misses.push(miss),
                }
            }
            start += STEP;
        }
    }
    suggestions.sort_by(|(a_start, a), (b_start, b)| {
        let confidence = |s: &Value| s["confidence"].as_f64().unwrap_or_default();
        confidence(b)
            .total_cmp(&confidence(a))
            .then(a_start.cmp(b_start))
    });
    suggestions.truncate(request.max_candidates.unwrap_or(usize::MAX));
    let suggestions: Vec<Value> = suggestions
        .into_iter()
        .enumerate()
        .map(|(index, (_, mut suggestion))| {
            suggestion["order"] = json!(index + 1);
            suggestion
        })
        .collect();
    let reason = if !suggestions.is_empty() {
        ""
    } else if misses.is_empty() {
        "unknown"
    } else if misses.iter().all(|miss| *miss == Miss::Organizer) {
        "organizerUnavailable"
    } else if misses
        .iter()
        .all(|miss| matches!(miss, Miss::Organizer | Miss::Attendees { .. }))
    {
        if misses.contains(&Miss::Attendees { unknown: true }) {
            "attendeesUnavailableOrUnknown"
        } else {
            "attendeesUnavailable"
        }
    } else {
        "locationsUnavailable"
    };
    json!({
        "emptySuggestionsReason": reason,
        "meetingTimeSuggestions": suggestions,
    })
}

fn candidate(
    calendars: &Calendars,
    organizer: &User,
    request: &Request,
    start: i64,
    end: i64,
    zone: Zone<'_>,
) -> Result<Value, Miss> {
    let organizer_availability = person_availability(calendars, organizer, start, end);
    if !request.organizer_optional && chance(organizer_availability) < 100.0 {
        return Err(Miss::Organizer);
    }
    let mut availabilities = Vec::new();
    for attendee in &request.attendees {
        let availability = match attendee.party {
            Party::Person(user) => person_availability(calendars, user, start, end),
            Party::Room(room) => room_availability(calendars, room, start, end),
            Party::Unknown => "unknown",
        };
        availabilities.push(availability);
    }
    let confidence = if availabilities.is_empty() {
        100.0
    } else {
        availabilities.iter().map(|a| chance(a)).sum::<f64>() / availabilities.len() as f64
    };
    if confidence < request.minimum_percentage {
        return Err(Miss::Attendees {
            unknown: availabilities.contains(&"unknown"),
        });
    }
    let locations: Vec<Value> = request
        .locations
        .iter()
        .filter(|location| {
            location
                .room
                .is_none_or(|room| room_availability(calendars, room, start, end) == "free")
        })
        .map(|location| {
            let mut value = json!({ "displayName": location.display_name });
            if let Some(email) = &location.email {
                value["locationEmailAddress"] = json!(email);
            }
            value
        })
        .collect();
    if request.locations_required && !request.locations.is_empty() && locations.is_empty() {
        return Err(Miss::Locations);
    }
    let reason = if !request.reasons {
        ""
    } else if availabilities.iter().all(|a| chance(a) == 100.0) {
        "Suggested because it is one of the nearest times when all attendees are available."
    } else if availabilities
        .iter()
        .all(|a| *a == "unknown" || chance(a) == 100.0)
    {
        "Suggested because it is one of the nearest times when all attendees whose availability \
         is known are available."
    } else {
        "Suggested because it is one of the nearest times when most attendees are available."
    };
    let when = |instant: i64| json!({ "dateTime": graph_wall_clock(zone.zone.to_local(instant)), "timeZone": zone.name });
    Ok(json!({
        "confidence": confidence,
        "organizerAvailability": organizer_availability,
        "suggestionReason": reason,
        "attendeeAvailability": request.attendees.iter().zip(&availabilities).map(|(attendee, availability)| json!({
            "attendee": { "type": attendee.kind, "emailAddress": attendee.email.json() },
            "availability": availability,
        })).collect::<Vec<_>>(),
        "locations": locations,
        "meetingTimeSlot": { "start": when(start), "end": when(end) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_8601_durations() {
        assert_eq!(duration("PT1H"), Some(3600));
        assert_eq!(duration("PT1H30M"), Some(5400));
        assert_eq!(duration("PT45M"), Some(2700));
        assert_eq!(duration("P1DT2H"), Some(86_400 + 7200));
        assert_eq!(duration("PT90S"), Some(90));
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1.5H",
            "PTH",
            "PT1",
            "InvalidTimeFormat",
            "pt1h",
        ] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn working_hours_are_eight_to_five_on_weekdays_in_the_organizers_zone() {
        let pacific = crate::graph::time_zone::find("Pacific Standard Time").unwrap();
        let at = |text: &str| crate::datetime::parse_iso8601(text).unwrap();
        // Wednesday 2 July 2025, PDT (UTC-7).
        assert!(within_hours(
            Domain::Work,
            pacific,
            at("2025-07-02T15:00:00Z"),
            3600
        ));
        assert!(!within_hours(
            Domain::Work,
            pacific,
            at("2025-07-02T14:30:00Z"),
            3600
        ));
        assert!(within_hours(
            Domain::Work,
            pacific,
            at("2025-07-02T23:00:00Z"),
            3600
        ));
        assert!(!within_hours(
            Domain::Work,
            pacific,
            at("2025-07-02T23:30:00Z"),
            3600
        ));
        // Saturday 5 July.
        assert!(!within_hours(
            Domain::Work,
            pacific,
            at("2025-07-05T17:00:00Z"),
            3600
        ));
        assert!(within_hours(
            Domain::Personal,
            pacific,
            at("2025-07-05T17:00:00Z"),
            3600
        ));
        assert!(within_hours(
            Domain::Unrestricted,
            pacific,
            at("2025-07-05T10:00:00Z"),
            3600
        ));
    }
}
