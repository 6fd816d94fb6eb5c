//! `create_event`: creates an event in the user's calendar and invites the attendees
//! (`POST /me/events`, `Calendars.ReadWrite`), in two calls: a preview, then the confirmed
//! create (see [`super`]). Start and end are written as the user's wall clock and mailbox zone
//! (`{dateTime, timeZone}`), never as bare UTC, so Outlook shows the time the user meant.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{HOW_TO_CONFIRM, addresses, check_confirmation, confirmation, digest_of};
use crate::{
    caller::Access,
    config::Toolset,
    graph::GraphRequest,
    local_time::{format_local, parse_end_instant, parse_instant, to_graph},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, WRITER_ROLE, arguments,
        delegated::Session,
    },
};

pub struct CreateEvent;

const MAX_ATTENDEES: usize = 50;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub subject: String,
    /// ISO 8601 date-time.
    pub start: String,
    /// ISO 8601 date-time, after start.
    pub end: String,
    /// Addresses to invite.
    pub attendees: Option<Vec<String>>,
    pub location: Option<String>,
    /// Plain-text description.
    pub body: Option<String>,
    /// From the preview; without it nothing is created.
    pub confirmation: Option<String>,
}

/// The event as it will be created: what the confirmation covers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewEvent {
    pub subject: String,
    /// In the user's time zone, with its offset.
    pub start: String,
    pub end: String,
    pub time_zone: String,
    pub attendees: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    /// `preview` (nothing created) or `created`.
    pub status: String,
    pub event: NewEvent,
    /// The created event's id (for get_event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Pass it back, with the same arguments, to create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    pub note: String,
}

impl GraphTool for CreateEvent {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "create_event",
        title: "Create a calendar event",
        description: "Creates an event and invites the attendees in two calls: the first only \
                      previews; repeat it with the confirmation once the user agrees.",
        toolset: Toolset::Write,
        effect: Effect::Additive,
        open_world: true,
        access: Access::UserWithRole(WRITER_ROLE),
        graph: GraphPermissions::only(&["Calendars.ReadWrite", "MailboxSettings.Read"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let zone = session.zone().await?;
        let start_text = arguments::text("start", &input.start, 64)?;
        let end_text = arguments::text("end", &input.end, 64)?;
        let start = parse_instant(start_text, &zone).map_err(|error| {
            ToolError::argument(
                "start",
                &error,
                "Use an ISO 8601 date-time such as 2026-03-10T09:00.",
            )
        })?;
        let end = parse_end_instant(end_text, &zone).map_err(|error| {
            ToolError::argument(
                "end",
                &error,
                "Use an ISO 8601 date-time such as 2026-03-10T09:30.",
            )
        })?;
        if end <= start {
            return Err(ToolError::argument(
                "end",
                "it is not after start",
                "Give an end later than start.",
            ));
        }
        let attendees = addresses("attendees", input.attendees.as_deref().unwrap_or_default())?;
        if attendees.len() > MAX_ATTENDEES {
            return Err(ToolError::argument(
                "attendees",
                format!("there are {}", attendees.len()),
                format!("Invite at most {MAX_ATTENDEES} people."),
            ));
        }
        let event = NewEvent {
            subject: arguments::text("subject", &input.subject, 255)?.to_owned(),
            start: format_local(start, &zone),
            end: format_local(end, &zone),
            time_zone: zone.graph_name().to_owned(),
            attendees,
            location: input
                .location
                .as_deref()
                .map(|location| arguments::text("location", location, 255).map(str::to_owned))
                .transpose()?,
            body: input
                .body
                .map(|body| body.trim().replace("\r\n", "\n"))
                .filter(|body| !body.is_empty()),
        };
        let Some(presented) = input.confirmation.as_deref() else {
            return Ok(Output {
                status: "preview".into(),
                confirmation: Some(confirmation(session, &event).await?),
                event,
                event_id: None,
                note: HOW_TO_CONFIRM.into(),
            });
        };
        check_confirmation(session, &event, presented).await?;
        let mut body = json!({
            "subject": event.subject,
            "start": to_graph(start, &zone),
            "end": to_graph(end, &zone),
            "attendees": event.attendees.iter().map(|address| json!({
                "type": "required",
                "emailAddress": { "address": address },
            })).collect::<Vec<_>>(),
            // The same confirmed event is created once, however often the call is repeated.
            "transactionId": transaction_id(&digest_of(&(&event, presented))),
        });
        if let Some(location) = &event.location {
            body["location"] = json!({ "displayName": location });
        }
        if let Some(description) = &event.body {
            body["body"] = json!({ "contentType": "text", "content": description });
        }
        let request = GraphRequest::post("me/events", &[], body).prefer(zone.prefer_header());
        let created: Created = session.get(&request).await?;
        Ok(Output {
            status: "created".into(),
            event,
            event_id: Some(created.id),
            confirmation: None,
            note: "Created; invitations went to the attendees.".into(),
        })
    }
}

/// What the tool reads of the created event.
#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

/// A GUID-shaped transaction id from a hex digest.
fn transaction_id(digest: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &digest[0..8],
        &digest[8..12],
        &digest[12..16],
        &digest[16..20],
        &digest[20..32]
    )
}
