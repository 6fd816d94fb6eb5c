//! The `mail` toolset: the user's messages, found by what they say and opened as text.
//!
//! Every message field comes from whoever sent the message, so the tools return it as data:
//! cleaned of invisible characters, bodies reduced from HTML to what a reader sees, and, in the
//! text rendering, enclosed in untrusted-content blocks.

mod read_mail;
mod search_mail;

pub use read_mail::ReadMail;
pub use search_mail::SearchMail;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shapes::{Contact, GraphBody, GraphRecipient, HTML_BODIES, cleaned};
use crate::local_time::{UserZone, format_local};

/// The permissions of every mail tool: the messages, and the mailbox's time zone for dates.
const MAIL: &[&str] = &["Mail.Read", "MailboxSettings.Read"];

/// How long a message's preview is (Graph's own is 255 characters).
const PREVIEW_CHARS: usize = 255;

/// A message's summary as Graph sends it (`$select` of [`SUMMARY_FIELDS`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphMessageSummary {
    id: String,
    subject: Option<String>,
    from: Option<GraphRecipient>,
    received_date_time: Option<String>,
    body: Option<GraphBody>,
    #[serde(default)]
    has_attachments: bool,
    #[serde(default)]
    is_read: bool,
    web_link: Option<String>,
}

const SUMMARY_FIELDS: &[&str] = &[
    "id",
    "subject",
    "from",
    "receivedDateTime",
    // Not Graph's `bodyPreview`: its text conversion keeps text hidden from readers.
    "body",
    "hasAttachments",
    "isRead",
    "webLink",
];

/// A message as `search_mail` returns it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MailSummary {
    /// Pass it to `read_mail`.
    pub id: String,
    /// Untrusted text from the sender.
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Contact>,
    /// When it arrived, in the user's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// The first lines of the body (untrusted text from the sender).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    pub has_attachments: bool,
    pub unread: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_link: Option<String>,
}

impl MailSummary {
    fn from_graph(message: GraphMessageSummary, zone: &UserZone) -> Self {
        MailSummary {
            id: message.id,
            subject: cleaned(message.subject).unwrap_or_else(|| "(no subject)".into()),
            from: message.from.map(Contact::from),
            received: message
                .received_date_time
                .as_deref()
                .and_then(|received| local(received, zone)),
            preview: message.body.and_then(|body| body.preview(PREVIEW_CHARS)),
            has_attachments: message.has_attachments,
            unread: !message.is_read,
            web_link: message.web_link,
        }
    }
}

/// A UTC timestamp from Graph (`2026-03-10T16:00:00Z`) on the user's clock.
fn local(utc: &str, zone: &UserZone) -> Option<String> {
    utc.parse::<jiff::Timestamp>()
        .ok()
        .map(|instant| format_local(instant, zone))
}
