//! `get_event`: one event with its description as the text a reader sees
//! (`GET /me/events/{id}`, `Calendars.Read`: the basic permission does not include bodies).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{EVENT_FIELDS, Event, GraphEvent};
use crate::{
    caller::Access,
    config::Toolset,
    content::text::truncate,
    graph::GraphRequest,
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::Session,
        shapes::{GraphBody, HTML_BODIES},
        untrusted::Rendering,
    },
};

pub struct GetEvent;

const MAX_BODY_CHARS: usize = 8000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The event's `id` from list_events or search_m365.
    pub event_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    #[serde(flatten)]
    pub event: Event,
    /// The description's visible text (untrusted text from the organizer), cut at 8000
    /// characters.
    pub body: String,
    pub body_truncated: bool,
}

#[derive(Debug, Deserialize)]
struct GraphEventWithBody {
    #[serde(flatten)]
    event: GraphEvent,
    body: Option<GraphBody>,
}

impl GraphTool for GetEvent {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "get_event",
        title: "Get a calendar event",
        description: "Opens one event by id: time, place, people, and its description as plain \
                      text.",
        toolset: Toolset::Calendar,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(&["Calendars.Read", "MailboxSettings.Read"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let id = arguments::id("event_id", &input.event_id)?;
        let zone = session.zone().await?;
        let fields: Vec<&str> = EVENT_FIELDS.iter().copied().chain(["body"]).collect();
        let request = GraphRequest::get("me/events/{}", &[id], &fields)
            .prefer(zone.prefer_header())
            .prefer(HTML_BODIES.into());
        let event: GraphEventWithBody = session.get(&request).await?;
        let body = event.body.map(|body| body.visible()).unwrap_or_default();
        let body = truncate(&body, MAX_BODY_CHARS);
        Ok(Output {
            event: Event::from_graph(event.event, &zone),
            body: body.text,
            body_truncated: body.truncated,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        output.event.render(&mut rendering);
        if !output.body.is_empty() {
            rendering.content("description", &output.body);
        }
        Some(rendering.finish())
    }
}
