//! The `write` toolset: sending mail and creating events, off unless the operator lists
//! `write` in `MCP_TOOLSETS`, and only for users an administrator assigned `MCP.Writer`.
//!
//! A write takes two calls. The first, without `confirmation`, changes nothing: it returns
//! exactly what would be sent and a `confirmation` value. Only a second call with the same
//! arguments, by the same user, within [`CONFIRMATION_LIFETIME`], carrying that value, writes.
//! The value is sealed ([`crate::signing`]) over the caller, the tool and a digest of the
//! arguments as the tool understood them, so a changed argument, another user or a forged or
//! stale value is refused before Graph is called. Nothing is stored: any instance can confirm
//! what another previewed. A model tricked by content it read must still show the user a
//! preview and get the same arguments back, which gives a client that asks its user before
//! each tool call a real chance to stop it.

mod create_event;
mod send_mail;

pub use create_event::CreateEvent;
pub use send_mail::SendMail;

use std::time::Duration;

use aws_lc_rs::digest;
use serde::Serialize;

use super::{ToolError, delegated::Session};
use crate::signing::{Purpose, Refused};

/// How long a preview may be confirmed.
pub const CONFIRMATION_LIFETIME: Duration = Duration::from_secs(600);

/// What a write tool's first call says about the second.
pub const HOW_TO_CONFIRM: &str = "Nothing was sent yet. Show this preview to the user; if they \
                                  agree, call the tool again with exactly the same arguments \
                                  plus this confirmation, within 10 minutes.";

/// A confirmation for writing `arguments` (the validated, normalized form the write will use).
async fn confirmation<A: Serialize>(
    session: &Session<'_>,
    arguments: &A,
) -> Result<String, ToolError> {
    session
        .keys()
        .seal(
            Purpose::Confirmation,
            &session.binding_with(&digest_of(arguments)),
            &(),
        )
        .await
        .map_err(|_| {
            ToolError::new(
                "The server cannot read its signing key from Key Vault right now, so it cannot \
                 issue a confirmation.",
                "Try again in a minute.",
            )
        })
}

/// Whether `presented` confirms writing exactly `arguments` for this caller and tool.
async fn check_confirmation<A: Serialize>(
    session: &Session<'_>,
    arguments: &A,
    presented: &str,
) -> Result<(), ToolError> {
    session
        .keys()
        .open::<()>(
            Purpose::Confirmation,
            &session.binding_with(&digest_of(arguments)),
            presented.trim(),
            CONFIRMATION_LIFETIME,
        )
        .await
        .map_err(|refused| match refused {
            Refused::Forged => ToolError::new(
                "The confirmation does not match these arguments: it was issued for other \
                 arguments, another user or another tool, or altered. Nothing was sent.",
                "Call the tool without confirmation to get a new preview, show it to the user, \
                 then confirm with exactly the same arguments.",
            ),
            Refused::Expired => ToolError::new(
                "The confirmation is older than 10 minutes. Nothing was sent.",
                "Call the tool without confirmation to get a new preview.",
            ),
            Refused::KeysUnavailable => ToolError::new(
                "The server cannot read its signing key from Key Vault right now, so it cannot \
                 check the confirmation. Nothing was sent.",
                "Try again in a minute.",
            ),
        })
}

/// SHA-256 of the arguments' JSON: a struct serializes its fields in declaration order, so the
/// same arguments always give the same digest.
fn digest_of<A: Serialize>(arguments: &A) -> String {
    let json = serde_json::to_vec(arguments).expect("arguments serialize");
    digest::digest(&digest::SHA256, &json)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Addresses as the write will use them: trimmed, checked, lower-cased.
fn addresses(name: &str, values: &[String]) -> Result<Vec<String>, ToolError> {
    values
        .iter()
        .map(|value| super::arguments::address(name, value).map(str::to_lowercase))
        .collect()
}
