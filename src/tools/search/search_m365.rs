//! `search_m365`: one query across mail, events, and files and SharePoint items, through the
//! Microsoft Search API (`POST /search/query`).
//!
//! The Search API takes messages alone, events alone, and drive and SharePoint items together,
//! so one call of the tool is up to three searches, run at once (each within the user's mailbox
//! concurrency). Hits carry ids the other tools accept: a message's for `read_mail`, an event's
//! for `get_event`, a file's (drive and item) for `read_file`. Results are security-trimmed by
//! Microsoft 365 to what the user may open. Each kind needs its own permission: `Mail.Read`,
//! `Calendars.Read`, `Files.Read.All` and `Sites.Read.All` (and `MailboxSettings.Read` to show
//! times on the user's clock).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    caller::Access,
    config::Toolset,
    content::html::visible_text,
    graph::GraphRequest,
    local_time::{DateTimeTimeZone, UserZone, format_local, from_graph},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::Session,
        shapes::{GraphRecipient, cleaned},
        untrusted::Rendering,
    },
};

pub struct SearchM365;

/// The Search API's largest page for messages and events.
const MAX_PER_KIND: u32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Mail,
    Events,
    Files,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Mail, Kind::Events, Kind::Files];

    fn entity_types(self) -> Value {
        match self {
            Kind::Mail => json!(["message"]),
            Kind::Events => json!(["event"]),
            Kind::Files => json!(["driveItem", "listItem"]),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Words to search for (KQL works, e.g. `budget filetype:xlsx`).
    pub query: String,
    /// Where to search (default all three).
    pub kinds: Option<Vec<Kind>>,
    /// Hits per kind (default 10).
    #[schemars(range(min = 1, max = 25))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub hits: Vec<Hit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Hit {
    pub kind: HitKind,
    /// For read_mail (mail), get_event (event) or read_file (file); none for a SharePoint item
    /// that is not a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    /// The matching passage, as Microsoft Search summarizes it (untrusted text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Sender (mail), organizer (event) or last editor (file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Received, starts, or last modified, in the user's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Mail,
    Event,
    File,
    ListItem,
}

impl HitKind {
    fn label(self) -> &'static str {
        match self {
            HitKind::Mail => "mail",
            HitKind::Event => "event",
            HitKind::File => "file",
            HitKind::ListItem => "list item",
        }
    }
}

/// Where each kind continues, in the cursor.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Continuation {
    query: String,
    #[serde(default)]
    from: Vec<(Kind, u32)>,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    #[serde(default)]
    value: Vec<SearchResultSet>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResultSet {
    #[serde(default)]
    hits_containers: Vec<HitsContainer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HitsContainer {
    #[serde(default)]
    hits: Vec<GraphHit>,
    #[serde(default)]
    more_results_available: bool,
}

#[derive(Debug, Deserialize)]
struct GraphHit {
    summary: Option<String>,
    #[serde(default)]
    resource: GraphResource,
}

/// The hit's resource: the fields of a message, an event, a drive item or a list item.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphResource {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    id: Option<String>,
    subject: Option<String>,
    name: Option<String>,
    from: Option<GraphRecipient>,
    organizer: Option<GraphRecipient>,
    received_date_time: Option<String>,
    start: Option<DateTimeTimeZone>,
    last_modified_date_time: Option<String>,
    last_modified_by: Option<GraphIdentitySet>,
    web_link: Option<String>,
    web_url: Option<String>,
    parent_reference: Option<GraphParent>,
}

#[derive(Debug, Deserialize)]
struct GraphIdentitySet {
    user: Option<GraphIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphIdentity {
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphParent {
    drive_id: Option<String>,
}

impl GraphTool for SearchM365 {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "search_m365",
        title: "Search Microsoft 365",
        description: "One search across mail, events and OneDrive/SharePoint files, when you do \
                      not know where something is; hit ids work with read_mail, get_event and \
                      read_file.",
        toolset: Toolset::Search,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(&[
            "Mail.Read",
            "Calendars.Read",
            "Files.Read.All",
            "Sites.Read.All",
            "MailboxSettings.Read",
        ]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let query = arguments::text("query", &input.query, 256)?;
        let size = arguments::max_results(input.max_results, 10, MAX_PER_KIND);
        let from: Vec<(Kind, u32)> = match input.cursor.as_deref() {
            Some(cursor) => {
                let continuation: Continuation = session.open_cursor(cursor).await?;
                if continuation.query != query {
                    return Err(ToolError::argument(
                        "cursor",
                        "it continues a search for other words",
                        "Pass the same query as the call that returned the cursor, or no cursor.",
                    ));
                }
                continuation.from
            }
            None => {
                let kinds = input.kinds.unwrap_or_else(|| Kind::ALL.to_vec());
                Kind::ALL
                    .into_iter()
                    .filter(|kind| kinds.contains(kind))
                    .map(|kind| (kind, 0))
                    .collect()
            }
        };
        let searches = from.iter().map(|&(kind, offset)| async move {
            let request = GraphRequest::post(
                "search/query",
                &[],
                json!({ "requests": [{
                    "entityTypes": kind.entity_types(),
                    "query": { "queryString": query },
                    "from": offset,
                    "size": size,
                }]}),
            );
            let response: SearchResponse = session.get(&request).await?;
            Ok::<_, ToolError>((kind, offset, response))
        });
        let (results, zone) = tokio::join!(futures::future::join_all(searches), session.zone());
        let zone = zone?;
        let mut hits = Vec::new();
        let mut more = Vec::new();
        for result in results {
            let (kind, offset, response) = result?;
            for container in response
                .value
                .into_iter()
                .flat_map(|set| set.hits_containers)
            {
                let read = container.hits.len() as u32;
                hits.extend(container.hits.into_iter().map(|found| hit(found, &zone)));
                if container.more_results_available && read > 0 {
                    more.push((kind, offset + read));
                }
            }
        }
        let next_cursor = if more.is_empty() {
            None
        } else {
            Some(
                session
                    .seal_cursor(&Continuation {
                        query: query.to_owned(),
                        from: more,
                    })
                    .await?,
            )
        };
        Ok(Output { hits, next_cursor })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if output.hits.is_empty() {
            rendering.line("Nothing found.");
        }
        for hit in &output.hits {
            let mut line = format!("- [{}]", hit.kind.label());
            if let Some(id) = &hit.id {
                line.push_str(&format!(" id {id}"));
            }
            if let Some(when) = &hit.when {
                line.push_str(&format!(", {when}"));
            }
            rendering.line(line);
            let mut fields = vec![("title", hit.title.clone())];
            if let Some(from) = &hit.from {
                fields.push(("from", from.clone()));
            }
            if let Some(summary) = &hit.summary {
                fields.push(("summary", summary.clone()));
            }
            rendering.fields("hit", fields);
        }
        if output.next_cursor.is_some() {
            rendering.line("More results: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}

/// A hit as the tool returns it; the summary's highlight markup (`<c0>`, `<ddd/>`) is reduced
/// to its text like any other HTML.
fn hit(hit: GraphHit, zone: &UserZone) -> Hit {
    let resource = hit.resource;
    let summary = hit
        .summary
        .map(|summary| visible_text(&summary.replace("<ddd/>", "…")))
        .and_then(|summary| cleaned(Some(summary)));
    let kind = match resource.odata_type.as_deref().unwrap_or_default() {
        "#microsoft.graph.message" => HitKind::Mail,
        "#microsoft.graph.event" => HitKind::Event,
        "#microsoft.graph.driveItem" => HitKind::File,
        _ => HitKind::ListItem,
    };
    let id = match kind {
        HitKind::Mail | HitKind::Event => resource.id,
        HitKind::File => resource
            .parent_reference
            .and_then(|parent| parent.drive_id)
            .zip(resource.id)
            .map(|(drive, item)| format!("{drive}:{item}")),
        HitKind::ListItem => None,
    };
    let from = match kind {
        HitKind::Mail => resource.from.map(|from| from.email_address),
        HitKind::Event => resource.organizer.map(|organizer| organizer.email_address),
        _ => None,
    }
    .and_then(|email| cleaned(email.name.or(email.address)))
    .or_else(|| {
        cleaned(
            resource
                .last_modified_by
                .and_then(|by| by.user)
                .and_then(|user| user.display_name),
        )
    });
    Hit {
        kind,
        id,
        title: cleaned(resource.subject.or(resource.name)).unwrap_or_else(|| "(untitled)".into()),
        summary,
        from,
        when: when(
            resource
                .received_date_time
                .or(resource.last_modified_date_time),
            resource.start,
            zone,
        ),
        web_url: resource.web_link.or(resource.web_url),
    }
}

/// When a hit happened on the user's clock: a UTC timestamp (mail, files) or an event's start.
fn when(utc: Option<String>, start: Option<DateTimeTimeZone>, zone: &UserZone) -> Option<String> {
    let instant = match start {
        Some(start) => from_graph(&start.date_time, &start.time_zone).ok(),
        None => utc.and_then(|utc| utc.parse::<jiff::Timestamp>().ok()),
    };
    instant.map(|instant| format_local(instant, zone))
}
