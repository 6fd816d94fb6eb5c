//! `search_mail`: message summaries by words, sender, folder, dates, unread and attachments.
//!
//! Graph offers two ways to narrow messages, and they do not mix: `$search` (KQL, full text,
//! newest first) and `$filter` (exact properties). With words to look for, the sender, the
//! dates (as whole days) and attachments go into the KQL query, and the exact times and
//! "unread" are applied to the page Graph returns; without words, everything is a `$filter`,
//! ordered by arrival, newest first (Graph insists the ordered property comes first in it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{GraphMessageSummary, HTML_BODIES, MAIL, MailSummary, SUMMARY_FIELDS};
use crate::{
    caller::Access,
    config::Toolset,
    graph::{Filter, GraphRequest, paging::Limits},
    local_time::{UserZone, parse_end_instant, parse_instant, to_graph_utc},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments, delegated::Session,
        untrusted::Rendering,
    },
};

pub struct SearchMail;

#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    Inbox,
    Sent,
    Drafts,
    Archive,
    // The whole mailbox.
    #[default]
    All,
}

impl Folder {
    /// The listing's route: a well-known folder name, or every message.
    fn route(self) -> (&'static str, Option<&'static str>) {
        match self {
            Folder::Inbox => ("me/mailFolders/{}/messages", Some("inbox")),
            Folder::Sent => ("me/mailFolders/{}/messages", Some("sentitems")),
            Folder::Drafts => ("me/mailFolders/{}/messages", Some("drafts")),
            Folder::Archive => ("me/mailFolders/{}/messages", Some("archive")),
            Folder::All => ("me/messages", None),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Words in the subject, body or sender.
    pub query: Option<String>,
    /// The sender's e-mail address.
    pub from: Option<String>,
    /// Default `all` (the whole mailbox).
    pub folder: Option<Folder>,
    /// ISO 8601 date or date-time.
    pub received_after: Option<String>,
    /// ISO 8601 date (included) or date-time.
    pub received_before: Option<String>,
    pub unread_only: Option<bool>,
    pub has_attachments: Option<bool>,
    /// Default 10.
    #[schemars(range(min = 1, max = 50))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub messages: Vec<MailSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl GraphTool for SearchMail {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "search_mail",
        title: "Search mail",
        description: "Finds the user's messages by words, sender, folder, dates, unread or \
                      attachments, newest first, with a preview. Open one with read_mail.",
        toolset: Toolset::Mail,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(MAIL),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let query = input
            .query
            .as_deref()
            .map(|query| arguments::text("query", query, 200))
            .transpose()?;
        let from = input
            .from
            .as_deref()
            .map(|from| arguments::address("from", from))
            .transpose()?;
        let max = arguments::max_results(input.max_results, 10, 50);
        let zone = session.zone().await?;
        let after = time_argument(
            "received_after",
            input.received_after.as_deref(),
            &zone,
            false,
        )?;
        let before = time_argument(
            "received_before",
            input.received_before.as_deref(),
            &zone,
            true,
        )?;
        if let (Some(after), Some(before)) = (after, before)
            && before <= after
        {
            return Err(ToolError::argument(
                "received_before",
                "it is not after received_after",
                "Give a received_before later than received_after.",
            ));
        }
        let unread_only = input.unread_only.unwrap_or(false);
        let (route, folder) = input.folder.unwrap_or_default().route();
        let listing = GraphRequest::get(route, folder.as_slice(), SUMMARY_FIELDS)
            .top(max)
            .prefer(HTML_BODIES.into());
        let request = match query {
            Some(words) => listing.search_term(&kql(
                words,
                from,
                after.map(|after| local_date(after, &zone)),
                before.map(|before| local_date(before, &zone)),
                input.has_attachments,
            )),
            None => {
                // Graph orders by a property only if it leads the filter.
                let mut filter = Filter::ge_datetime(
                    "receivedDateTime",
                    &after.map_or_else(|| "1900-01-01T00:00:00Z".to_owned(), to_graph_utc),
                );
                if let Some(before) = before {
                    filter = filter.and(Filter::lt_datetime(
                        "receivedDateTime",
                        &to_graph_utc(before),
                    ));
                }
                if let Some(from) = from {
                    filter = filter.and(Filter::eq("from/emailAddress/address", from));
                }
                if unread_only {
                    filter = filter.and(Filter::is("isRead", false));
                }
                if let Some(has_attachments) = input.has_attachments {
                    filter = filter.and(Filter::is("hasAttachments", has_attachments));
                }
                listing.filter(&filter).order_by("receivedDateTime desc")
            }
        };
        let page = session
            .list::<GraphMessageSummary>(
                &request,
                input.cursor.as_deref(),
                Limits {
                    max_pages: 1,
                    max_items: max as usize,
                },
            )
            .await?;
        let read = page.items.len();
        // With words, KQL narrowed to whole days and knows no "unread": finish the job here.
        let messages: Vec<MailSummary> = page
            .items
            .into_iter()
            .filter(|message| {
                query.is_none()
                    || (!(unread_only && message.is_read)
                        && received_within(message.received_date_time.as_deref(), after, before))
            })
            .map(|message| MailSummary::from_graph(message, &zone))
            .collect();
        let note = (messages.len() < read && page.next_cursor.is_some()).then(|| {
            "Some messages on this page did not match the times or unread filter; more may \
             follow with next_cursor."
                .to_owned()
        });
        Ok(Output {
            messages,
            next_cursor: page.next_cursor,
            note: note.or_else(|| zone.fallback().map(|fallback| fallback.to_string())),
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if output.messages.is_empty() {
            rendering.line("No messages match.");
        }
        for message in &output.messages {
            let mut line = format!("- id {}", message.id);
            if let Some(received) = &message.received {
                line.push_str(&format!(", received {received}"));
            }
            if message.unread {
                line.push_str(", unread");
            }
            if message.has_attachments {
                line.push_str(", has attachments");
            }
            rendering.line(line);
            let mut fields = Vec::new();
            if let Some(from) = &message.from {
                fields.push(("from", from.display()));
            }
            fields.push(("subject", message.subject.clone()));
            if let Some(preview) = &message.preview {
                fields.push(("preview", preview.clone()));
            }
            rendering.fields("message", fields);
        }
        if let Some(note) = &output.note {
            rendering.line(format!("Note: {note}"));
        }
        if output.next_cursor.is_some() {
            rendering.line("Older messages: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}

fn time_argument(
    name: &str,
    value: Option<&str>,
    zone: &UserZone,
    is_end: bool,
) -> Result<Option<jiff::Timestamp>, ToolError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = arguments::text(name, value, 64)?;
    let parsed = if is_end {
        parse_end_instant(value, zone)
    } else {
        parse_instant(value, zone)
    };
    parsed
        .map(Some)
        .map_err(|error| ToolError::argument(name, &error, "Use an ISO 8601 date or date-time."))
}

/// The KQL query: the words as one quoted phrase group, then the property restrictions.
fn kql(
    words: &str,
    from: Option<&str>,
    after: Option<String>,
    before: Option<String>,
    has_attachments: Option<bool>,
) -> String {
    let mut terms = vec![format!("({})", words.replace(['(', ')'], " "))];
    if let Some(from) = from {
        terms.push(format!("from:{from}"));
    }
    if let Some(after) = after {
        terms.push(format!("received>={after}"));
    }
    if let Some(before) = before {
        terms.push(format!("received<={before}"));
    }
    if let Some(has_attachments) = has_attachments {
        terms.push(format!("hasAttachments:{has_attachments}"));
    }
    terms.join(" AND ")
}

/// The calendar date of `instant` on the user's clock (KQL compares whole days).
fn local_date(instant: jiff::Timestamp, zone: &UserZone) -> String {
    instant
        .to_zoned_datetime(zone.time_zone().clone())
        .date()
        .to_string()
}

fn received_within(
    received: Option<&str>,
    after: Option<jiff::Timestamp>,
    before: Option<jiff::Timestamp>,
) -> bool {
    let Some(received) = received.and_then(|r| r.parse::<jiff::Timestamp>().ok()) else {
        return after.is_none() && before.is_none();
    };
    after.is_none_or(|after| received >= after) && before.is_none_or(|before| received < before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_restrictions_make_one_kql_query() {
        assert_eq!(
            kql(
                "budget (Q3)",
                Some("megan@contoso.example"),
                Some("2026-03-01".into()),
                None,
                Some(true)
            ),
            "(budget  Q3 ) AND from:megan@contoso.example AND received>=2026-03-01 AND \
             hasAttachments:true"
        );
    }
}
