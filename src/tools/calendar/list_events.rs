//! `list_events`: the events in a window, recurrences expanded (`GET /me/calendarView`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{EVENT_FIELDS, Event, GraphEvent};
use crate::{
    caller::Access,
    config::Toolset,
    graph::{GraphRequest, paging::Limits},
    local_time::{Window, WindowLimits, format_local, to_graph_utc},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments, delegated::Session,
        untrusted::Rendering,
    },
};

pub struct ListEvents;

/// A week by default; Graph's calendar view and the model's context both stay bounded.
const WINDOW: WindowLimits = WindowLimits {
    default_days: 7,
    max_days: 62,
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// ISO 8601 date or date-time (default now).
    pub start: Option<String>,
    /// ISO 8601 date (included) or date-time (default start + 7 days; at most 62 days).
    pub end: Option<String>,
    /// Default 50.
    #[schemars(range(min = 1, max = 100))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    /// The window listed, in the user's time zone.
    pub start: String,
    pub end: String,
    /// The user's time zone (IANA name).
    pub time_zone: String,
    pub events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl GraphTool for ListEvents {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "list_events",
        title: "List calendar events",
        description: "The user's events from start to end (default the next 7 days), \
                      recurrences expanded, in the user's time zone, with place, organizer and \
                      attendees' responses.",
        toolset: Toolset::Calendar,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(&["Calendars.ReadBasic", "MailboxSettings.Read"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let max = arguments::max_results(input.max_results, 50, 100);
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
        let request = GraphRequest::get("me/calendarView", &[], EVENT_FIELDS)
            .query("startDateTime", to_graph_utc(window.start()))
            .query("endDateTime", to_graph_utc(window.end()))
            .order_by("start/dateTime")
            .top(max)
            .prefer(zone.prefer_header());
        let page = session
            .list::<GraphEvent>(
                &request,
                input.cursor.as_deref(),
                Limits {
                    max_pages: 1,
                    max_items: max as usize,
                },
            )
            .await?;
        Ok(Output {
            start: format_local(window.start(), &zone),
            end: format_local(window.end(), &zone),
            time_zone: zone.iana_name().to_owned(),
            events: page
                .items
                .into_iter()
                .map(|event| Event::from_graph(event, &zone))
                .collect(),
            next_cursor: page.next_cursor,
            note: zone.fallback().map(|fallback| fallback.to_string()),
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        rendering.line(format!(
            "Events from {} to {} ({}):",
            output.start, output.end, output.time_zone
        ));
        if output.events.is_empty() {
            rendering.line("None.");
        }
        for event in &output.events {
            event.render(&mut rendering);
        }
        if let Some(note) = &output.note {
            rendering.line(format!("Note: {note}"));
        }
        if output.next_cursor.is_some() {
            rendering.line("Later events: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}
