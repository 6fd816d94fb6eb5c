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
//!
//! A confirmed event cannot be created twice (Graph de-duplicates its `transactionId`), but
//! Graph has nothing like that for mail, so [`Spent`] remembers which confirmations this
//! instance has sent with until they expire: a replayed or retried confirmation sends at most
//! once per instance, never once per call.

mod create_event;
mod send_mail;

pub use create_event::CreateEvent;
pub use send_mail::SendMail;

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use aws_lc_rs::digest;
use serde::Serialize;

use super::{
    ToolError,
    delegated::{Failure, Session},
};
use crate::{
    graph::GraphError,
    signing::{Purpose, Refused},
};

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

/// Confirmations this instance has written with, each until it would have expired anyway.
///
/// Keyed by the SHA-256 of the confirmation as presented: the signing module decodes strictly
/// (no padding, no stray bits), so one sealed value has exactly one accepted spelling.
struct Spent {
    used: Mutex<HashMap<[u8; 32], Instant>>,
}

/// At most this many confirmations are remembered at once (about 5 MB); past it, writes wait
/// for older ones to expire rather than forget one that could still be replayed.
const MAX_SPENT: usize = 100_000;

static SPENT: LazyLock<Spent> = LazyLock::new(|| Spent {
    used: Mutex::default(),
});

/// A confirmation taken for one write. Unless [`Claim::release`]d, it stays spent.
#[must_use]
struct Claim {
    key: [u8; 32],
}

impl Spent {
    /// Takes `presented` for a write, or says why it cannot be used again.
    fn claim(&self, presented: &str) -> Result<Claim, ToolError> {
        let key: [u8; 32] = digest::digest(&digest::SHA256, presented.trim().as_bytes())
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        let now = Instant::now();
        let mut used = self.used.lock().expect("spent confirmations lock");
        if used.contains_key(&key) {
            return Err(ToolError::new(
                "This confirmation was already used: the write it confirmed was carried out (or \
                 attempted without a clear answer from Microsoft Graph). Nothing was sent again.",
                "Check the user's Sent Items or calendar. To write again, call the tool without \
                 confirmation for a new preview and show it to the user.",
            ));
        }
        if used.len() >= MAX_SPENT {
            used.retain(|_, expires| *expires > now);
            if used.len() >= MAX_SPENT {
                return Err(ToolError::new(
                    "This server instance is carrying out too many confirmed writes right now. \
                     Nothing was sent.",
                    "Try again in a few minutes.",
                ));
            }
        }
        used.insert(key, now + CONFIRMATION_LIFETIME);
        Ok(Claim { key })
    }
}

impl Claim {
    /// The write certainly did not happen: the confirmation may be used again.
    fn release(self) {
        SPENT
            .used
            .lock()
            .expect("spent confirmations lock")
            .remove(&self.key);
    }
}

/// Takes a checked confirmation for one write on this instance.
fn claim(presented: &str) -> Result<Claim, ToolError> {
    SPENT.claim(presented)
}

/// Gives `claim` back when Graph certainly did not carry out the write (it refused it, or it was
/// never sent); keeps it spent when Graph wrote, or may have (a 5xx, a timeout, a broken
/// connection), so a retry cannot write twice.
fn settle(claim: Claim, failure: &Failure) {
    let refused = match failure {
        Failure::Graph(GraphError::Status { status, .. }) => *status < 500,
        Failure::Graph(GraphError::InvalidPathSegment) | Failure::Exchange(_) => true,
        _ => false,
    };
    if refused {
        claim.release();
    }
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
