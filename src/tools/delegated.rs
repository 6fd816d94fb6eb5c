//! Microsoft Graph on behalf of the caller: the one path by which tools reach Microsoft 365 data.
//!
//! A tool names the Graph permissions a call needs; a [`Session`] holds a Graph token for the
//! caller and exactly those permissions (from the on-behalf-of cache, or one exchange) and
//! sends the tool's requests within the tool call's deadline. Every way this can fail becomes a
//! [`ToolError`] that tells the AI client what happened and what to do next, with one
//! exception: a Conditional Access claims challenge goes to the HTTP layer, which answers 401 so
//! the client can sign the user in again.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use url::Url;

use super::{ToolContext, ToolError};
use crate::{
    graph::{
        GraphClient, GraphError, GraphRequest,
        paging::{Cursor, InvalidCursor, Limits, Page},
    },
    identity::obo::{ExchangeError, GraphToken, OnBehalfOf},
};

pub struct DelegatedGraph {
    obo: OnBehalfOf,
    graph: GraphClient,
    /// Graph's resource identifier, the prefix of its scopes.
    resource: String,
    /// This server's client id, for the consent instructions.
    client_id: String,
}

/// A Graph token for the caller and the permissions one tool call needs.
pub struct Session<'a> {
    graph: &'a DelegatedGraph,
    ctx: &'a ToolContext,
    token: GraphToken,
    permissions: &'a [&'a str],
}

/// Why a Graph call of a tool failed.
#[derive(Debug)]
pub enum Failure {
    Exchange(ExchangeError),
    Graph(GraphError),
    InvalidCursor,
}

impl DelegatedGraph {
    pub fn new(obo: OnBehalfOf, graph: GraphClient, graph_base: &Url, client_id: String) -> Self {
        Self {
            obo,
            graph,
            resource: graph_base.as_str().trim_end_matches('/').to_owned(),
            client_id,
        }
    }

    /// A session for `permissions` (e.g. `User.Read`) on behalf of the caller.
    pub async fn session<'a>(
        &'a self,
        ctx: &'a ToolContext,
        permissions: &'a [&'a str],
    ) -> Result<Session<'a>, Failure> {
        let Some(caller) = &ctx.caller else {
            return Err(Failure::Exchange(ExchangeError::NotAUser));
        };
        let scopes: Vec<String> = permissions
            .iter()
            .map(|permission| format!("{}/{permission}", self.resource))
            .collect();
        let token = self
            .obo
            .graph_token(caller, &scopes, ctx.call())
            .await
            .map_err(Failure::Exchange)?;
        Ok(Session {
            graph: self,
            ctx,
            token,
            permissions,
        })
    }
}

impl Session<'_> {
    pub async fn get<T: DeserializeOwned>(&self, request: &GraphRequest) -> Result<T, Failure> {
        self.graph
            .graph
            .send(self.token.bearer(), request, self.ctx.call())
            .await
            .map_err(|error| self.graph_failure(error))
    }

    /// A Graph failure; when Graph refused the token itself, the cached token goes too.
    fn graph_failure(&self, error: GraphError) -> Failure {
        if error.is_unauthorized() {
            self.token.refused_by_graph();
        }
        Failure::Graph(error)
    }

    /// Lists `request`, or continues from a client's `cursor`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        request: &GraphRequest,
        cursor: Option<&Cursor>,
        limits: Limits,
    ) -> Result<Page<T>, Failure> {
        match self
            .graph
            .graph
            .list(
                self.token.bearer(),
                request,
                cursor,
                limits,
                self.ctx.call(),
            )
            .await
        {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(InvalidCursor)) => Err(Failure::InvalidCursor),
            Err(error) => Err(self.graph_failure(error)),
        }
    }

    /// The failure as the AI client should read it.
    pub fn explain(&self, failure: Failure) -> ToolError {
        self.graph.explain(self.ctx, self.permissions, failure)
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
                "The cursor is not one this server handed out.",
                "Call the tool again without a cursor to start from the beginning.",
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

/// Shared by the tools that read Graph.
pub type SharedGraph = Arc<DelegatedGraph>;
