//! `send_mail`: sends a plain-text message as the user (`POST /me/sendMail`, `Mail.Send`), in
//! two calls: a preview, then the confirmed send (see [`super`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{HOW_TO_CONFIRM, addresses, check_confirmation, claim, confirmation, settle};
use crate::{
    caller::Access,
    config::Toolset,
    graph::GraphRequest,
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, WRITER_ROLE, arguments,
        delegated::Session,
    },
};

pub struct SendMail;

const MAX_RECIPIENTS: usize = 50;
const MAX_BODY_CHARS: usize = 50_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Addresses (1–50 with cc).
    pub to: Vec<String>,
    pub cc: Option<Vec<String>>,
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// From the preview; without it nothing is sent.
    pub confirmation: Option<String>,
}

/// The message as it will be sent: what the confirmation covers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Message {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    /// `preview` (nothing sent) or `sent`.
    pub status: String,
    pub message: Message,
    /// Pass it back, with the same arguments, to send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    pub note: String,
}

impl GraphTool for SendMail {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "send_mail",
        title: "Send mail",
        description: "Sends a plain-text e-mail as the user in two calls: the first only \
                      previews; repeat it with the confirmation once the user agrees.",
        toolset: Toolset::Write,
        effect: Effect::Additive,
        open_world: true,
        access: Access::UserWithRole(WRITER_ROLE),
        graph: GraphPermissions::only(&["Mail.Send"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let message = Message {
            to: addresses("to", &input.to)?,
            cc: addresses("cc", input.cc.as_deref().unwrap_or_default())?,
            subject: arguments::text("subject", &input.subject, 255)?.to_owned(),
            body: input.body.trim().replace("\r\n", "\n"),
        };
        let recipients = message.to.len() + message.cc.len();
        if message.to.is_empty() || recipients > MAX_RECIPIENTS {
            return Err(ToolError::argument(
                "to",
                format!(
                    "there are {} recipients in to and {recipients} in all",
                    message.to.len()
                ),
                format!("Pass 1 to {MAX_RECIPIENTS} addresses in to and cc together."),
            ));
        }
        if message.body.chars().count() > MAX_BODY_CHARS {
            return Err(ToolError::argument(
                "body",
                format!("it is longer than {MAX_BODY_CHARS} characters"),
                "Shorten the message.",
            ));
        }
        let Some(presented) = input.confirmation.as_deref() else {
            return Ok(Output {
                status: "preview".into(),
                confirmation: Some(confirmation(session, &message).await?),
                message,
                note: HOW_TO_CONFIRM.into(),
            });
        };
        check_confirmation(session, &message, presented).await?;
        let recipients = |list: &[String]| -> Vec<serde_json::Value> {
            list.iter()
                .map(|address| json!({ "emailAddress": { "address": address } }))
                .collect()
        };
        let request = GraphRequest::post(
            "me/sendMail",
            &[],
            json!({
                "message": {
                    "subject": message.subject,
                    "body": { "contentType": "Text", "content": message.body },
                    "toRecipients": recipients(&message.to),
                    "ccRecipients": recipients(&message.cc),
                },
                "saveToSentItems": true,
            }),
        );
        let claim = claim(presented)?;
        if let Err(failure) = session.attempt::<()>(&request).await {
            settle(claim, &failure);
            return Err(session.explain(failure));
        }
        Ok(Output {
            status: "sent".into(),
            message,
            confirmation: None,
            note: "Sent; it is in the user's Sent Items.".into(),
        })
    }
}
