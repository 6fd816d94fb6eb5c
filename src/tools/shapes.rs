//! Microsoft 365 things as Graph sends them and as the tools return them, each declared once.
//!
//! Graph's shapes (`Graph…`) are read leniently: every field a tool does not need is ignored and
//! every optional one may be missing. The output shapes are what the model sees: compact, with
//! every string that came from Microsoft 365 cleaned of invisible and direction-control
//! characters ([`crate::content::text::clean`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::untrusted::Rendering;
use crate::content::{html::visible_text, text::clean};

/// `emailAddress` in Graph.
#[derive(Debug, Default, Deserialize)]
pub struct GraphEmailAddress {
    pub name: Option<String>,
    pub address: Option<String>,
}

/// A recipient, sender or organizer in Graph (`{ emailAddress }`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphRecipient {
    #[serde(default)]
    pub email_address: GraphEmailAddress,
}

/// Someone with an address, as the tools return them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl From<GraphEmailAddress> for Contact {
    fn from(email: GraphEmailAddress) -> Self {
        Contact {
            name: cleaned(email.name),
            address: cleaned(email.address),
        }
    }
}

impl From<GraphRecipient> for Contact {
    fn from(recipient: GraphRecipient) -> Self {
        recipient.email_address.into()
    }
}

impl Contact {
    /// `Name <address>`, or whichever of the two is known.
    pub fn display(&self) -> String {
        match (&self.name, &self.address) {
            (Some(name), Some(address)) if !name.eq_ignore_ascii_case(address) => {
                format!("{name} <{address}>")
            }
            (_, Some(address)) => address.clone(),
            (Some(name), None) => name.clone(),
            (None, None) => "(unknown)".to_owned(),
        }
    }
}

/// An optional string from Microsoft 365, cleaned; empty ones become `None`.
pub fn cleaned(value: Option<String>) -> Option<String> {
    value
        .map(|value| clean(&value).trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A user in the directory as Graph sends it (`$select` of [`USER_FIELDS`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub user_principal_name: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
}

/// The fields of a [`GraphUser`].
pub const USER_FIELDS: &[&str] = &[
    "id",
    "displayName",
    "mail",
    "userPrincipalName",
    "jobTitle",
    "department",
    "officeLocation",
];

/// A colleague, as the people tools return them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Colleague {
    /// The user's object id (`get_user` accepts it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
}

impl From<GraphUser> for Colleague {
    fn from(user: GraphUser) -> Self {
        Colleague {
            id: Some(user.id),
            name: cleaned(user.display_name),
            address: cleaned(user.mail.or(user.user_principal_name)),
            job_title: cleaned(user.job_title),
            department: cleaned(user.department),
            office: cleaned(user.office_location),
        }
    }
}

impl Colleague {
    /// The colleague in a text rendering as `role`: the server's line (their id), then what the
    /// directory says about them in a block (names and titles can be set by people too).
    pub fn render(&self, rendering: &mut Rendering, role: &str) {
        rendering.line(match &self.id {
            Some(id) => format!("{role} id {id}"),
            None => role.to_owned(),
        });
        let fields = [
            ("name", &self.name),
            ("address", &self.address),
            ("job title", &self.job_title),
            ("department", &self.department),
            ("office", &self.office),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|value| (name, value)));
        rendering.fields(role, fields);
    }
}

/// `itemBody` in Graph.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphBody {
    pub content_type: Option<String>,
    pub content: Option<String>,
}

/// The `Prefer` header that asks for bodies as HTML, to be reduced to visible text here
/// ([`crate::content::html`]): Graph's own text conversion keeps text hidden from readers.
pub const HTML_BODIES: &str = "outlook.body-content-type=\"html\"";

/// How much of a body a preview reads: the visible text of a prefix of the HTML is a prefix of
/// the visible text (an element hidden before the cut stays hidden), and a preview needs little.
const PREVIEW_SOURCE_BYTES: usize = 32 * 1024;

impl GraphBody {
    /// What a reader of the body sees, cleaned.
    pub fn visible(&self) -> String {
        visible(self.content.as_deref().unwrap_or_default(), self.is_html())
    }

    /// The first `max_chars` characters a reader sees, on one line; `None` for an empty body.
    pub fn preview(&self, max_chars: usize) -> Option<String> {
        let content = self.content.as_deref().unwrap_or_default();
        let mut cut = content.len().min(PREVIEW_SOURCE_BYTES);
        while !content.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = visible(&content[..cut], self.is_html());
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let preview: String = line.chars().take(max_chars).collect();
        (!preview.is_empty()).then_some(preview)
    }

    fn is_html(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("html"))
    }
}

fn visible(content: &str, html: bool) -> String {
    {
        let text = if html {
            visible_text(content)
        } else {
            content.to_owned()
        };
        clean(&text).trim().to_owned()
    }
}
