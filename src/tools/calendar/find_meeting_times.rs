//! `find_meeting_times`: times when the user and the attendees are free
//! (`POST /me/findMeetingTimes`, `Calendars.Read.Shared`), and why there are none when there
//! are none.
//!
//! Graph looks within the organizer's working hours, in the window given, and ranks the
//! suggestions by how many attendees are free; the times come back in the user's zone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    caller::Access,
    config::Toolset,
    graph::GraphRequest,
    local_time::{DateTimeTimeZone, Window, WindowLimits, format_local, from_graph, to_graph},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::Session,
        shapes::{Contact, GraphEmailAddress},
        untrusted::Rendering,
    },
};

pub struct FindMeetingTimes;

const WINDOW: WindowLimits = WindowLimits {
    default_days: 7,
    max_days: 62,
};
const MAX_ATTENDEES: usize = 20;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Addresses of the people to meet (1–20).
    pub attendees: Vec<String>,
    /// Length of the meeting (5–480, default 30).
    #[schemars(range(min = 5, max = 480))]
    pub duration_minutes: Option<u32>,
    /// ISO 8601 date or date-time (default now).
    pub start: Option<String>,
    /// ISO 8601 date (included) or date-time (default start + 7 days).
    pub end: Option<String>,
    /// Default 5.
    #[schemars(range(min = 1, max = 20))]
    pub max_candidates: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    /// The user's time zone (IANA name).
    pub time_zone: String,
    pub suggestions: Vec<Suggestion>,
    /// Why there are no suggestions, when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_suggestions_reason: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Suggestion {
    pub start: String,
    pub end: String,
    /// How likely everyone can attend (0–100).
    pub confidence: f64,
    /// free, tentative, busy, oof, workingElsewhere or unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizer_availability: Option<String>,
    pub attendees: Vec<Availability>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Availability {
    #[serde(flatten)]
    pub contact: Contact,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphSuggestions {
    #[serde(default)]
    meeting_time_suggestions: Vec<GraphSuggestion>,
    empty_suggestions_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphSuggestion {
    #[serde(default)]
    confidence: f64,
    organizer_availability: Option<String>,
    #[serde(default)]
    attendee_availability: Vec<GraphAttendeeAvailability>,
    meeting_time_slot: GraphTimeSlot,
}

#[derive(Debug, Deserialize)]
struct GraphAttendeeAvailability {
    availability: Option<String>,
    attendee: Option<GraphAttendeeBase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphAttendeeBase {
    #[serde(default)]
    email_address: GraphEmailAddress,
}

#[derive(Debug, Deserialize)]
struct GraphTimeSlot {
    start: DateTimeTimeZone,
    end: DateTimeTimeZone,
}

impl GraphTool for FindMeetingTimes {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "find_meeting_times",
        title: "Find meeting times",
        description: "Suggests working-hours slots when the user and the attendees are all free \
                      (default the next 7 days); says why when there are none.",
        toolset: Toolset::Calendar,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(&["Calendars.Read.Shared", "MailboxSettings.Read"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        if input.attendees.is_empty() || input.attendees.len() > MAX_ATTENDEES {
            return Err(ToolError::argument(
                "attendees",
                format!("it has {} addresses", input.attendees.len()),
                format!("Pass 1 to {MAX_ATTENDEES} e-mail addresses."),
            ));
        }
        let attendees = input
            .attendees
            .iter()
            .map(|address| arguments::address("attendees", address))
            .collect::<Result<Vec<_>, _>>()?;
        let duration = input.duration_minutes.unwrap_or(30).clamp(5, 480);
        let max_candidates = arguments::max_results(input.max_candidates, 5, 20);
        let start = input
            .start
            .as_deref()
            .map(|start| arguments::text("start", start, 64))
            .transpose()?;
        let end = input
            .end
            .as_deref()
            .map(|end| arguments::text("end", end, 64))
            .transpose()?;
        let zone = session.zone().await?;
        let window = Window::from_inputs(start, end, &zone, jiff::Timestamp::now(), WINDOW)
            .map_err(|error| {
                ToolError::new(
                    format!("The window is invalid: {error}."),
                    "Give start and end as ISO 8601 dates or date-times, at most 62 days apart.",
                )
            })?;
        let request = GraphRequest::post(
            "me/findMeetingTimes",
            &[],
            json!({
                "attendees": attendees
                    .iter()
                    .map(|address| json!({
                        "type": "required",
                        "emailAddress": { "address": address }
                    }))
                    .collect::<Vec<_>>(),
                "timeConstraint": {
                    "activityDomain": "work",
                    "timeSlots": [{
                        "start": to_graph(window.start(), &zone),
                        "end": to_graph(window.end(), &zone),
                    }],
                },
                "meetingDuration": format!("PT{duration}M"),
                "maxCandidates": max_candidates,
                "returnSuggestionReasons": true,
            }),
        )
        .prefer(zone.prefer_header());
        let found: GraphSuggestions = session.get(&request).await?;
        let show = |slot: &DateTimeTimeZone| match from_graph(&slot.date_time, &slot.time_zone) {
            Ok(instant) => format_local(instant, &zone),
            Err(_) => format!("{} ({})", slot.date_time, slot.time_zone),
        };
        let suggestions: Vec<Suggestion> = found
            .meeting_time_suggestions
            .into_iter()
            .map(|suggestion| Suggestion {
                start: show(&suggestion.meeting_time_slot.start),
                end: show(&suggestion.meeting_time_slot.end),
                confidence: suggestion.confidence,
                organizer_availability: suggestion.organizer_availability,
                attendees: suggestion
                    .attendee_availability
                    .into_iter()
                    .map(|entry| Availability {
                        contact: entry
                            .attendee
                            .map(|attendee| attendee.email_address)
                            .unwrap_or_default()
                            .into(),
                        availability: entry.availability,
                    })
                    .collect(),
            })
            .collect();
        let no_suggestions_reason = suggestions.is_empty().then(|| {
            why_none(
                found
                    .empty_suggestions_reason
                    .as_deref()
                    .unwrap_or_default(),
            )
            .to_owned()
        });
        Ok(Output {
            time_zone: zone.iana_name().to_owned(),
            suggestions,
            no_suggestions_reason,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if let Some(reason) = &output.no_suggestions_reason {
            rendering.line(format!("No suggestions: {reason}"));
        }
        for suggestion in &output.suggestions {
            rendering.line(format!(
                "- {} to {} ({}% likely)",
                suggestion.start,
                suggestion.end,
                suggestion.confidence.round(),
            ));
            rendering.fields(
                "attendees",
                suggestion.attendees.iter().map(|entry| {
                    (
                        entry.availability.as_deref().unwrap_or("unknown"),
                        entry.contact.display(),
                    )
                }),
            );
        }
        rendering.line(format!("Times in {}.", output.time_zone));
        Some(rendering.finish())
    }
}

/// Graph's `emptySuggestionsReason` in words the user can act on.
fn why_none(reason: &str) -> &'static str {
    match reason {
        "attendeesUnavailable" => {
            "the attendees are busy at every time in the window within working hours; try a \
             later or longer window, a shorter meeting, or fewer attendees"
        }
        "attendeesUnavailableOrUnknown" => {
            "some attendees' availability is unknown (for example people outside the \
             organization) and the others are not free together; check the addresses, or try \
             a longer window"
        }
        "organizerUnavailable" => {
            "you are busy throughout the window within working hours; try another window"
        }
        "locationsUnavailable" => "no meeting room is free in the window",
        _ => "Microsoft 365 found no time that fits; try a longer window or a shorter meeting",
    }
}
