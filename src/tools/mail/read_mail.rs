//! `read_mail`: one message, its headers and its body as the text a reader sees.
//!
//! The body is asked for as HTML (`Prefer: outlook.body-content-type="html"`) and reduced to
//! visible text here ([`crate::content::html`]): Graph's own text conversion is not documented
//! to drop text hidden by styles, and hidden text is how instructions get smuggled to a model.
//! Attachments are listed by name, type and size only; their content never leaves Graph.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HTML_BODIES, MAIL, local};
use crate::{
    caller::Access,
    config::Toolset,
    content::text::truncate,
    graph::GraphRequest,
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::Session,
        shapes::{Contact, GraphBody, GraphRecipient, cleaned},
        untrusted::Rendering,
    },
};

pub struct ReadMail;

/// The body's length when the caller does not say.
pub const DEFAULT_MAX_CHARS: u32 = 8000;
const MAX_CHARS: u32 = 100_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The message's `id` from search_mail or search_m365.
    pub message_id: String,
    /// Longest body to return (200–100000, default 8000).
    #[schemars(range(min = 200, max = 100000))]
    pub max_chars: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub id: String,
    /// Untrusted text from the sender.
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Contact>,
    pub to: Vec<Contact>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Contact>,
    /// When it arrived, in the user's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// The visible text of the body (untrusted text from the sender).
    pub body: String,
    /// Whether `body` was cut at `max_chars`.
    pub body_truncated: bool,
    /// The whole body's length in characters.
    pub body_chars: usize,
    /// Names, types and sizes only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_link: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Attachment {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Shown inside the body (an image), rather than attached.
    pub inline: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphMessage {
    id: String,
    subject: Option<String>,
    from: Option<GraphRecipient>,
    #[serde(default)]
    to_recipients: Vec<GraphRecipient>,
    #[serde(default)]
    cc_recipients: Vec<GraphRecipient>,
    received_date_time: Option<String>,
    body: Option<GraphBody>,
    #[serde(default)]
    attachments: Vec<GraphAttachment>,
    web_link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphAttachment {
    name: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    is_inline: bool,
}

const FIELDS: &[&str] = &[
    "id",
    "subject",
    "from",
    "toRecipients",
    "ccRecipients",
    "receivedDateTime",
    "body",
    "webLink",
];

impl GraphTool for ReadMail {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "read_mail",
        title: "Read a message",
        description: "Opens one message by id: sender, recipients, time, the body as plain text \
                      (cut at max_chars) and the attachments' names and sizes.",
        toolset: Toolset::Mail,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(MAIL),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let id = arguments::id("message_id", &input.message_id)?;
        let max_chars = input
            .max_chars
            .unwrap_or(DEFAULT_MAX_CHARS)
            .clamp(200, MAX_CHARS);
        let request = GraphRequest::get("me/messages/{}", &[id], FIELDS)
            .expand("attachments($select=name,contentType,size,isInline)")
            .prefer(HTML_BODIES.into());
        let (message, zone) = tokio::join!(session.get::<GraphMessage>(&request), session.zone());
        let (message, zone) = (message?, zone?);
        let body = message.body.map(|body| body.visible()).unwrap_or_default();
        let body = truncate(&body, max_chars as usize);
        Ok(Output {
            id: message.id,
            subject: cleaned(message.subject).unwrap_or_else(|| "(no subject)".into()),
            from: message.from.map(Contact::from),
            to: message
                .to_recipients
                .into_iter()
                .map(Contact::from)
                .collect(),
            cc: message
                .cc_recipients
                .into_iter()
                .map(Contact::from)
                .collect(),
            received: message
                .received_date_time
                .as_deref()
                .and_then(|received| local(received, &zone)),
            body: body.text,
            body_truncated: body.truncated,
            body_chars: body.total_chars,
            attachments: message
                .attachments
                .into_iter()
                .map(|attachment| Attachment {
                    name: cleaned(attachment.name).unwrap_or_else(|| "(no name)".into()),
                    content_type: attachment.content_type,
                    size_bytes: attachment.size,
                    inline: attachment.is_inline,
                })
                .collect(),
            web_link: message.web_link,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        rendering.line(format!("Message id {}", output.id));
        if let Some(received) = &output.received {
            rendering.line(format!("Received: {received}"));
        }
        let list = |contacts: &[Contact]| {
            contacts
                .iter()
                .map(Contact::display)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut headers = Vec::new();
        if let Some(from) = &output.from {
            headers.push(("from", from.display()));
        }
        headers.push(("to", list(&output.to)));
        if !output.cc.is_empty() {
            headers.push(("cc", list(&output.cc)));
        }
        headers.push(("subject", output.subject.clone()));
        rendering.fields("headers", headers);
        rendering.content("body", &output.body);
        if !output.attachments.is_empty() {
            rendering.fields(
                "attachments",
                output.attachments.iter().map(|attachment| {
                    (
                        "attachment",
                        format!(
                            "{} ({}, {} bytes)",
                            attachment.name,
                            attachment.content_type.as_deref().unwrap_or("unknown type"),
                            attachment.size_bytes.unwrap_or_default()
                        ),
                    )
                }),
            );
        }
        Some(rendering.finish())
    }
}
