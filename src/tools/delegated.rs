//! Microsoft Graph on behalf of the caller: the one path by which tools reach Microsoft 365 data.
//!
//! A tool declares the Graph permissions it needs; a [`Session`] holds a Graph token for the
//! caller and exactly those permissions (from [`GraphTokens`]: the on-behalf-of exchange, or
//! for `handler stdio` the user's own sign-in) and sends the tool's requests within the tool
//! call's deadline. Around every request it keeps Graph's
//! etiquette: at most [`MAILBOX_CONCURRENCY`] requests in flight per user (Outlook's limit per
//! mailbox), however many calls of that user arrive together.
//!
//! Every way this can fail becomes a [`ToolError`] that tells the AI client what happened and
//! what to do next, with one exception: a Conditional Access claims challenge goes to the HTTP
//! layer, which answers 401 so the client can sign the user in again. Over stdio the user signs
//! in to the server itself, and the error says where and with which code.
//!
//! Continuations the session hands out are sealed ([`crate::signing`]) and bound to the caller,
//! the tool and the listing they continue: a cursor altered, from another user or for another
//! listing is refused before any Graph call.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::Semaphore;
use url::Url;

use super::{GraphPermissions, ToolContext, ToolError};
use crate::{
    caller::Caller,
    graph::{
        DownloadError, GraphClient, GraphError, GraphRequest,
        paging::{Cursor, InvalidCursor, Limits},
    },
    identity::{ExchangeError, GraphToken, GraphTokens, MissingConsent},
    local_time::UserZone,
    signing::{KeysUnavailable, Purpose, Refused, SigningKeys},
};

/// Requests in flight at once for one user: Outlook allows four per mailbox and app.
pub const MAILBOX_CONCURRENCY: usize = 4;
/// How long a user's mailbox time zone is reused before it is read again.
const ZONE_LIFETIME: Duration = Duration::from_secs(600);
/// The permission [`Session::zone`] needs; tools that show times declare it.
pub const TIME_ZONE_PERMISSION: &str = "MailboxSettings.Read";
/// How long a cursor stays valid.
const CURSOR_LIFETIME: Duration = Duration::from_secs(3600);

pub struct DelegatedGraph {
    tokens: GraphTokens,
    graph: GraphClient,
    /// Graph's resource identifier, the prefix of its scopes.
    resource: String,
    /// The app registration the user consents to (this server's, or over stdio the user's own
    /// public client), for the consent instructions.
    client_id: String,
    keys: SigningKeys,
    mailboxes: Mailboxes,
    zones: Zones,
}

/// A Graph token for the caller and the permissions one tool call needs.
pub struct Session<'a> {
    graph: &'a DelegatedGraph,
    ctx: &'a ToolContext,
    /// Who the token acts for.
    caller: Arc<Caller>,
    tool: &'static str,
    token: GraphToken,
    /// The permissions the token carries.
    granted: Vec<&'static str>,
    mailbox: Arc<Semaphore>,
}

/// One page of a listing, with a sealed cursor when more remain.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Why a Graph call of a tool failed.
#[derive(Debug)]
pub enum Failure {
    Exchange(ExchangeError),
    Graph(GraphError),
    /// A cursor that is not one this server handed to this caller for this listing.
    InvalidCursor,
    ExpiredCursor,
    KeysUnavailable,
    /// A download larger than the tool accepts (bytes).
    TooLarge {
        limit: u64,
    },
    /// Graph pointed a download somewhere it may not come from.
    DownloadElsewhere,
}

impl From<GraphError> for Failure {
    fn from(error: GraphError) -> Self {
        Failure::Graph(error)
    }
}

impl DelegatedGraph {
    pub fn new(
        tokens: GraphTokens,
        graph: GraphClient,
        graph_base: &Url,
        client_id: String,
        keys: SigningKeys,
    ) -> Self {
        Self {
            tokens,
            graph,
            resource: graph_base.as_str().trim_end_matches('/').to_owned(),
            client_id,
            keys,
            mailboxes: Mailboxes::default(),
            zones: Zones::default(),
        }
    }

    /// A session with `permissions` (e.g. `User.Read`) on behalf of the caller: the required
    /// and the optional ones, or only the required ones when the optional ones are not
    /// consented.
    pub async fn session<'a>(
        &'a self,
        ctx: &'a ToolContext,
        tool: &'static str,
        permissions: GraphPermissions,
    ) -> Result<Session<'a>, ToolError> {
        let all: Vec<&'static str> = permissions.all().collect();
        // Permissions the tool can do without are not worth asking the user for.
        let missing = if permissions.optional.is_empty() {
            MissingConsent::AskTheUser
        } else {
            MissingConsent::Refuse
        };
        match self.open(ctx, tool, all.clone(), missing).await {
            Err(Failure::Exchange(ExchangeError::ConsentRequired))
                if !permissions.optional.is_empty() =>
            {
                self.open(
                    ctx,
                    tool,
                    permissions.required.to_vec(),
                    MissingConsent::AskTheUser,
                )
                .await
                .map_err(|failure| self.explain(ctx, permissions.required, failure))
            }
            opened => opened.map_err(|failure| self.explain(ctx, &all, failure)),
        }
    }

    async fn open<'a>(
        &'a self,
        ctx: &'a ToolContext,
        tool: &'static str,
        granted: Vec<&'static str>,
        missing: MissingConsent,
    ) -> Result<Session<'a>, Failure> {
        let Some(caller) = ctx.caller.as_ref() else {
            return Err(Failure::Exchange(ExchangeError::NotAUser));
        };
        let scopes: Vec<String> = granted
            .iter()
            .map(|permission| format!("{}/{permission}", self.resource))
            .collect();
        let (token, caller) = self
            .tokens
            .graph_token(caller, &scopes, ctx.call(), missing)
            .await
            .map_err(Failure::Exchange)?;
        let mailbox = self.mailboxes.of(&caller);
        Ok(Session {
            graph: self,
            ctx,
            caller,
            tool,
            token,
            granted,
            mailbox,
        })
    }
}

impl Session<'_> {
    pub fn ctx(&self) -> &ToolContext {
        self.ctx
    }

    /// Whether the token carries `permission` (an optional one may be missing).
    pub fn has(&self, permission: &str) -> bool {
        self.granted.contains(&permission)
    }

    /// Sends `request` and reads the JSON answer; failures explained.
    pub async fn get<T: DeserializeOwned>(&self, request: &GraphRequest) -> Result<T, ToolError> {
        self.attempt(request).await.map_err(|f| self.explain(f))
    }

    /// As [`Session::get`], with the failure as it is, for a tool that handles some itself.
    pub async fn attempt<T: DeserializeOwned>(&self, request: &GraphRequest) -> Result<T, Failure> {
        let _slot = self.mailbox_slot().await;
        self.graph
            .graph
            .send(self.token.bearer(), request, self.ctx.call())
            .await
            .map_err(|error| self.graph_failure(error))
    }

    /// A Graph failure; when Graph refused the token itself, the cached token goes too, so the
    /// next call exchanges again.
    fn graph_failure(&self, error: GraphError) -> Failure {
        if error.is_unauthorized() {
            self.token.refused_by_graph();
        }
        Failure::Graph(error)
    }

    /// The user's mailbox time zone, or UTC with a reason ([`UserZone::fallback`]) when the
    /// mailbox has none or names one that cannot be used. Read once per user every few minutes.
    pub async fn zone(&self) -> Result<UserZone, ToolError> {
        let key = (self.caller.tenant_id.clone(), self.caller.object_id.clone());
        if let Some(zone) = self.graph.zones.get(&key) {
            return Ok(zone);
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct MailboxSettings {
            time_zone: Option<String>,
        }
        let request = GraphRequest::get("me/mailboxSettings", &[], &["timeZone"]);
        let setting = match self.attempt::<MailboxSettings>(&request).await {
            Ok(settings) => settings.time_zone,
            // No mailbox, or its settings are not readable: times are shown in UTC, and said so.
            Err(Failure::Graph(GraphError::Status {
                status: 403 | 404, ..
            })) => None,
            Err(failure) => return Err(self.explain(failure)),
        };
        let zone = UserZone::from_mailbox_setting(setting.as_deref());
        self.graph.zones.put(key, zone.clone());
        Ok(zone)
    }

    /// Lists `request`, or continues from a `cursor` this server handed the caller for it.
    pub async fn list<T: DeserializeOwned>(
        &self,
        request: &GraphRequest,
        cursor: Option<&str>,
        limits: Limits,
    ) -> Result<Page<T>, ToolError> {
        let continuation = match cursor {
            None => None,
            Some(sealed) => {
                let cursor: Cursor = self.open_cursor(sealed).await?;
                // A cursor continues the listing it came from, not another one of the same tool.
                if !continues(request.path(), cursor.as_str()) {
                    return Err(self.explain(Failure::InvalidCursor));
                }
                Some(cursor)
            }
        };
        let page = {
            let _slot = self.mailbox_slot().await;
            self.graph
                .graph
                .list::<T>(
                    self.token.bearer(),
                    request,
                    continuation.as_ref(),
                    limits,
                    self.ctx.call(),
                )
                .await
        };
        let page = match page {
            Ok(Ok(page)) => page,
            Ok(Err(InvalidCursor)) => return Err(self.explain(Failure::InvalidCursor)),
            Err(error) => return Err(self.explain(self.graph_failure(error))),
        };
        let next_cursor = match page.next {
            Some(next) => Some(self.seal_cursor(&next).await?),
            None => None,
        };
        Ok(Page {
            items: page.items,
            next_cursor,
        })
    }

    /// A cursor for a continuation the tool keeps itself (not a Graph next link).
    pub async fn seal_cursor<C: Serialize>(&self, continuation: &C) -> Result<String, ToolError> {
        self.graph
            .keys
            .seal(Purpose::Cursor, &self.binding(), continuation)
            .await
            .map_err(|KeysUnavailable| self.explain(Failure::KeysUnavailable))
    }

    /// The continuation inside a cursor this server handed the caller for this tool.
    pub async fn open_cursor<C: DeserializeOwned>(&self, sealed: &str) -> Result<C, ToolError> {
        self.graph
            .keys
            .open(Purpose::Cursor, &self.binding(), sealed, CURSOR_LIFETIME)
            .await
            .map_err(|refused| {
                self.explain(match refused {
                    Refused::Forged => Failure::InvalidCursor,
                    Refused::Expired => Failure::ExpiredCursor,
                    Refused::KeysUnavailable => Failure::KeysUnavailable,
                })
            })
    }

    /// The content behind `request` (a `/content` of a drive item), at most `limit` bytes.
    pub async fn download(&self, request: &GraphRequest, limit: u64) -> Result<Vec<u8>, Failure> {
        self.graph
            .graph
            .download(self.token.bearer(), request, limit, self.ctx.call())
            .await
            .map_err(|error| match error {
                DownloadError::Graph(error) => self.graph_failure(error),
                DownloadError::TooLarge { limit } => Failure::TooLarge { limit },
                DownloadError::Elsewhere => Failure::DownloadElsewhere,
            })
    }

    /// Who a sealed value is for: this caller and this tool, plus `detail` (for a
    /// confirmation, the arguments it confirms).
    pub fn binding_with(&self, detail: &str) -> String {
        format!("{}\n{}", self.binding(), detail)
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.graph.keys
    }

    fn binding(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.caller.tenant_id, self.caller.object_id, self.tool
        )
    }

    async fn mailbox_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.mailbox
            .acquire()
            .await
            .expect("the mailbox semaphore is never closed")
    }

    /// The failure as the AI client should read it.
    pub fn explain(&self, failure: Failure) -> ToolError {
        self.graph.explain(self.ctx, &self.granted, failure)
    }
}

impl DelegatedGraph {
    /// The failure as the AI client should read it; a claims challenge is handed to the HTTP
    /// layer (which answers 401) as well.
    pub fn explain(&self, ctx: &ToolContext, permissions: &[&str], failure: Failure) -> ToolError {
        let permissions = permissions.join(", ");
        let seconds = |duration: std::time::Duration| duration.as_secs().max(1);
        match failure {
            Failure::Exchange(ExchangeError::NotAUser) => ToolError::new(
                "This tool reads a signed-in user's Microsoft 365 data, and the caller is an \
                 application, not a user.",
                "Call it with a token for a signed-in user.",
            ),
            Failure::Exchange(ExchangeError::ConsentRequired) => ToolError::new(
                format!(
                    "Microsoft Entra ID has no consent for this server to use the Microsoft \
                     Graph permissions {permissions} for you."
                ),
                format!(
                    "Ask an administrator to grant admin consent to the app registration {} \
                     (Entra admin center > Enterprise applications > this server > Permissions > \
                     Grant admin consent, or `az ad app permission admin-consent --id {}`), \
                     then call the tool again.",
                    self.client_id, self.client_id
                ),
            ),
            Failure::Exchange(ExchangeError::ClaimsChallenge { claims }) => {
                if let Some(challenge) = &ctx.claims_challenge {
                    challenge.demand(claims);
                }
                ToolError::new(
                    "Conditional Access requires you to sign in again (for example with \
                     multi-factor authentication) before Microsoft Graph can be called for you.",
                    "Sign in again with the claims the server's 401 challenge names, then call \
                     the tool again.",
                )
            }
            Failure::Exchange(ExchangeError::IdentityUnavailable) => ToolError::new(
                "The server's managed identity could not get a token, so Microsoft Graph cannot \
                 be called right now.",
                "Try again in a minute; if it keeps failing, the server's operators must check \
                 its managed identity.",
            ),
            Failure::Exchange(ExchangeError::EntraUnreachable) => ToolError::new(
                "Microsoft Entra ID could not be reached in time to get a Microsoft Graph token.",
                "Try again in a minute.",
            ),
            Failure::Exchange(ExchangeError::SignInPending {
                url,
                user_code: Some(code),
            }) => ToolError::new(
                format!(
                    "The user must sign in to Microsoft 365 before this tool can read their \
                     data: open {url} and enter the code {code}."
                ),
                format!(
                    "Ask the user to open {url} in a browser, enter the code {code} and sign in \
                     (the server's log shows the same), then call the tool again."
                ),
            ),
            Failure::Exchange(ExchangeError::SignInPending {
                url,
                user_code: None,
            }) => ToolError::new(
                "The user must sign in to Microsoft 365 in the browser the server opened \
                 before this tool can read their data.",
                format!(
                    "Ask the user to finish signing in in that browser window (or to open {url} \
                     on this computer), then call the tool again."
                ),
            ),
            Failure::Exchange(ExchangeError::SignInFailed { reason, fix }) => {
                ToolError::new(reason, fix)
            }
            Failure::Exchange(ExchangeError::Rejected { error, code }) => ToolError::new(
                format!(
                    "Microsoft Entra ID refused to issue a Microsoft Graph token for this server \
                     ({}{error}).",
                    code.map(|code| format!("AADSTS{code}: "))
                        .unwrap_or_default()
                ),
                "This is a problem with the server's configuration (its app registration or \
                 federated credential), not with your request: report it to the server's \
                 operators.",
            ),
            Failure::InvalidCursor => ToolError::new(
                "The cursor is not one this server handed out to you for this listing.",
                "Call the tool again without a cursor to start from the beginning.",
            ),
            Failure::ExpiredCursor => ToolError::new(
                "The cursor has expired.",
                "Call the tool again without a cursor to start from the beginning.",
            ),
            Failure::KeysUnavailable => ToolError::new(
                "The server cannot read its signing key from Key Vault right now, so it can \
                 neither hand out nor accept cursors and confirmations.",
                "Try again in a minute; if it keeps failing, report it to the server's operators.",
            ),
            Failure::TooLarge { limit } => ToolError::new(
                format!(
                    "The file is larger than the {} MB this tool reads.",
                    limit / (1024 * 1024)
                ),
                "Open it from its web link instead.",
            ),
            Failure::DownloadElsewhere => ToolError::new(
                "Microsoft Graph pointed the download to an address this server does not fetch \
                 from.",
                "Open the file from its web link instead.",
            ),
            Failure::Graph(GraphError::Deadline) => ToolError::new(
                format!(
                    "Microsoft Graph did not answer within the {}-second limit.",
                    seconds(ctx.time_limit)
                ),
                "Try again; if you asked for many items, ask for fewer.",
            ),
            Failure::Graph(GraphError::Unreachable) => ToolError::new(
                "Microsoft Graph could not be reached.",
                "Try again in a minute.",
            ),
            Failure::Graph(GraphError::UnexpectedBody) => ToolError::new(
                "Microsoft Graph answered with something this server did not expect.",
                "Try again; if it keeps happening, report it to the server's operators.",
            ),
            Failure::Graph(GraphError::ResponseTooLarge { limit }) => ToolError::new(
                format!(
                    "Microsoft Graph answered with more than {} MiB, more than this server reads \
                     for one call.",
                    limit / (1024 * 1024)
                ),
                "Ask for fewer items at a time; if it keeps happening, report it to the server's \
                 operators.",
            ),
            Failure::Graph(GraphError::InvalidPathSegment) => ToolError::new(
                "An id passed to this tool is empty, `.` or `..`, which Microsoft Graph would \
                 read as another resource, so nothing was requested.",
                "Pass ids exactly as a listing returned them.",
            ),
            Failure::Graph(GraphError::Status {
                status,
                code,
                message,
                retry_after,
            }) => match status {
                429 => ToolError::new(
                    format!(
                        "Microsoft Graph is throttling requests for you{}.",
                        retry_after
                            .map(|wait| format!(" and asked to wait {} seconds", seconds(wait)))
                            .unwrap_or_default()
                    ),
                    format!(
                        "Wait {} seconds, then call the tool again.",
                        retry_after.map_or(30, seconds)
                    ),
                ),
                401 => ToolError::new(
                    "Microsoft Graph did not accept the server's token for you.",
                    "Try again; if it keeps happening, report it to the server's operators.",
                ),
                403 => ToolError::new(
                    format!("Microsoft Graph denied access ({code}): {message}"),
                    format!(
                        "You may not have access to this data, or an administrator must grant \
                         this server the Graph permissions {permissions}."
                    ),
                ),
                404 => ToolError::new(
                    format!("Microsoft Graph found nothing there ({code})."),
                    "Check the id you passed; list the items first to get valid ids.",
                ),
                500..=599 => ToolError::new(
                    format!("Microsoft Graph is unavailable right now (HTTP {status})."),
                    "Try again in a minute.",
                ),
                _ => ToolError::new(
                    format!("Microsoft Graph rejected the request ({code}): {message}"),
                    "Change the arguments and try again.",
                ),
            },
        }
    }
}

/// Users' mailbox time zones, reused for [`ZONE_LIFETIME`]; a few thousand users at most, then
/// the oldest half goes.
#[derive(Default)]
struct Zones(Mutex<HashMap<(String, String), (UserZone, tokio::time::Instant)>>);

impl Zones {
    fn get(&self, key: &(String, String)) -> Option<UserZone> {
        let zones = self.0.lock().expect("zone cache lock");
        zones
            .get(key)
            .filter(|(_, read)| read.elapsed() < ZONE_LIFETIME)
            .map(|(zone, _)| zone.clone())
    }

    fn put(&self, key: (String, String), zone: UserZone) {
        let mut zones = self.0.lock().expect("zone cache lock");
        if zones.len() >= 4096 {
            let mut reads: Vec<_> = zones.values().map(|(_, read)| *read).collect();
            reads.sort();
            let cut = reads[reads.len() / 2];
            zones.retain(|_, (_, read)| *read > cut);
        }
        zones.insert(key, (zone, tokio::time::Instant::now()));
    }
}

/// Whether `next` (a next link relative to the API root) continues the listing at `path`.
fn continues(path: &str, next: &str) -> bool {
    next.strip_prefix(path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
}

/// One semaphore per user, shared by all of that user's calls in flight. Entries live as long
/// as a session holds them, so the map holds only users with calls in flight (and a few more
/// until the next clean-up).
#[derive(Default)]
struct Mailboxes(Mutex<HashMap<(String, String), Weak<Semaphore>>>);

impl Mailboxes {
    fn of(&self, caller: &Caller) -> Arc<Semaphore> {
        let mut mailboxes = self.0.lock().expect("mailbox lock");
        let key = (caller.tenant_id.clone(), caller.object_id.clone());
        if let Some(semaphore) = mailboxes.get(&key).and_then(Weak::upgrade) {
            return semaphore;
        }
        if mailboxes.len() >= 1024 {
            mailboxes.retain(|_, semaphore| semaphore.strong_count() > 0);
        }
        let semaphore = Arc::new(Semaphore::new(MAILBOX_CONCURRENCY));
        mailboxes.insert(key, Arc::downgrade(&semaphore));
        semaphore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_continues_only_its_own_listing() {
        assert!(continues("users", "users?$skiptoken=x"));
        assert!(continues(
            "me/mailFolders/inbox/messages",
            "me/mailFolders/inbox/messages?$skip=10"
        ));
        assert!(!continues("users", "usersX?$skiptoken=x"));
        assert!(!continues(
            "me/mailFolders/inbox/messages",
            "me/mailFolders/sentitems/messages?$skip=10"
        ));
        assert!(!continues("me/messages", "me/messages/AAMk/attachments"));
    }
}
