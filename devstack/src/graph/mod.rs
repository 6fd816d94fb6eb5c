//! Microsoft Graph v1.0 for the sample tenant: the endpoints the product's tools call, answering
//! in Graph's shapes, with the sample directory's people and a mailbox, a calendar and a
//! OneDrive for each of them.
//!
//! | request | permission (any of) | module |
//! |---|---|---|
//! | `GET /v1.0/me`, `GET /v1.0/users/{id or UPN}` | `User.Read` (self), `User.ReadBasic.All` (others) | [`directory`] |
//! | `GET /v1.0/users` (`$search` needs `ConsistencyLevel: eventual`) | `User.ReadBasic.All` | [`directory`] |
//! | `GET /v1.0/me/manager`, `GET /v1.0/users/{id}/manager` | `User.Read.All` | [`directory`] |
//! | `GET /v1.0/me/directReports` | `User.Read` (names need `User.ReadBasic.All`) | [`directory`] |
//! | `GET /v1.0/me/mailboxSettings` | `MailboxSettings.Read` | [`mailbox_settings`] |
//! | `GET /v1.0/me/messages`, `GET /v1.0/me/messages/{id}` | `Mail.Read` (`Mail.ReadBasic`: no bodies) | [`mail`] |
//! | `GET /v1.0/me/calendarView`, `GET /v1.0/me/events` | `Calendars.ReadBasic` (`Calendars.Read`: bodies) | [`calendar`] |
//! | `GET /v1.0/me/drive/root/children`, `…/root/search(q='…')`, `…/items/{id}`, `…/items/{id}/children` | `Files.Read` | [`drive`] |
//! | `GET /v1.0/me/drive/items/{id}/content` → 302 to a pre-authenticated download URL | `Files.Read` | [`drive`] |
//!
//! Any other `/v1.0/…` path is Graph's 400 "Resource not found for the segment".
//!
//! **Authorization.** `Authorization: Bearer <token>` with an opaque token from the
//! on-behalf-of grant ([`crate::graph_token`]); no token, an unknown one or an expired
//! one is 401 `InvalidAuthenticationToken`, a token without the permission 403. Graph never
//! sees the caller's own token, and must not.
//!
//! **Every response** carries a fresh `request-id` and echoes `client-request-id` (or repeats
//! the `request-id` when the client sent none); errors repeat both in `innerError`
//! ([`error`]). Query options, paging and `@odata.context` are in [`odata`]. Tests can inject
//! faults per path prefix ([`fault`]).

mod calendar;
mod directory;
mod drive;
mod error;
mod fault;
mod ids;
mod mail;
mod mailbox_settings;
mod odata;
mod per_user;
mod prefer;
mod time_zone;

use std::sync::Arc;

use axum::{
    Router,
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderValue, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get},
};

pub use self::fault::GraphFault;
use self::{
    calendar::Calendars,
    drive::Drives,
    error::{GraphError, Workload},
    fault::Faults,
    mail::Mailboxes,
};
use crate::{
    connection::Connection,
    datetime::now_seconds,
    graph_token::{GraphGrant, GraphTokens, Presented},
};

/// The Graph stand-in's state: the tokens it accepts, the sample data, the queued faults.
#[derive(Debug)]
pub struct Graph {
    /// `http://127.0.0.1:<port>`: Graph's base URL, for `@odata.context` and next links.
    base_url: String,
    tokens: Arc<GraphTokens>,
    faults: Faults,
    mailboxes: Mailboxes,
    calendars: Calendars,
    drives: Drives,
}

impl Graph {
    /// Graph with sample data generated around the current time.
    pub fn new(base_url: String, tokens: Arc<GraphTokens>) -> Self {
        let now = now_seconds();
        Self {
            base_url,
            tokens,
            faults: Faults::default(),
            mailboxes: Mailboxes::sample(now),
            calendars: Calendars::sample(now),
            drives: Drives::generate(),
        }
    }

    pub fn inject_faults(&self, path_prefix: &str, faults: Vec<GraphFault>) {
        self.faults.inject(path_prefix, faults);
    }
}

pub fn routes(graph: Arc<Graph>) -> Router {
    Router::new()
        .route("/v1.0/me", get(directory::me))
        .route("/v1.0/users", get(directory::list))
        .route("/v1.0/users/{id}", get(directory::user))
        .route("/v1.0/me/manager", get(directory::my_manager))
        .route("/v1.0/users/{id}/manager", get(directory::manager))
        .route("/v1.0/me/directReports", get(directory::direct_reports))
        .route("/v1.0/me/mailboxSettings", get(mailbox_settings::get))
        .route("/v1.0/me/messages", get(mail::list))
        .route("/v1.0/me/messages/{id}", get(mail::get))
        .route("/v1.0/me/calendarView", get(calendar::view))
        .route("/v1.0/me/events", get(calendar::events))
        .route("/v1.0/me/drive/root/children", get(drive::root_children))
        .route("/v1.0/me/drive/root/{function}", get(drive::root_function))
        .route("/v1.0/me/drive/items/{id}", get(drive::item))
        .route("/v1.0/me/drive/items/{id}/children", get(drive::children))
        .route("/v1.0/me/drive/items/{id}/content", get(drive::content))
        .route(drive::DOWNLOAD_PATH, get(drive::download))
        .route("/v1.0/{*rest}", any(unknown_segment))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            graph.clone(),
            request_ids_and_faults,
        ))
        .with_state(graph)
}

/// The devstack's Graph only reads.
async fn method_not_allowed() -> GraphError {
    GraphError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}

async fn unknown_segment(request: Request) -> GraphError {
    let segment = request
        .uri()
        .path()
        .rsplit('/')
        .find(|segment| !segment.is_empty())
        .unwrap_or_default()
        .to_owned();
    GraphError::unknown_segment(&segment)
}

/// Stamps every response with its ids, and plays any fault queued for the path.
async fn request_ids_and_faults(
    State(graph): State<Arc<Graph>>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request
        .headers()
        .get("client-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let response = match graph.faults.take(request.uri().path()) {
        Some(GraphFault::Status {
            status,
            retry_after,
        }) => fault::status_response(status, retry_after.as_deref()),
        Some(GraphFault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(GraphFault::Oversized { bytes, declared }) => {
            fault::oversized_response(bytes, declared)
        }
        Some(GraphFault::Reset) => {
            let ConnectInfo(connection) = request
                .extensions()
                .get::<ConnectInfo<Connection>>()
                .expect("the devstack serves through its resettable listener")
                .clone();
            connection.reset();
            // Never written: the connection refuses it and closes with a reset.
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        None => next.run(request).await,
    };
    let mut response = error::with_request_ids(response, &request_id, client_request_id.as_deref());
    let headers = response.headers_mut();
    let id = |value: &str| HeaderValue::from_str(value).expect("ids are ASCII");
    headers.insert("request-id", id(&request_id));
    headers.insert(
        "client-request-id",
        id(client_request_id.as_deref().unwrap_or(&request_id)),
    );
    response
}

/// The caller, as the Graph token in its `Authorization` header describes them.
#[derive(Debug, Clone)]
pub struct Caller(pub GraphGrant);

impl Caller {
    /// Passes if the token carries any of `permissions`; otherwise `workload`'s 403.
    pub fn require(&self, permissions: &[&str], workload: Workload) -> Result<(), GraphError> {
        if self.holds(permissions) {
            Ok(())
        } else {
            Err(GraphError::denied(workload))
        }
    }

    pub fn holds(&self, permissions: &[&str]) -> bool {
        permissions
            .iter()
            .any(|permission| self.0.allows(permission))
    }
}

impl FromRequestParts<Arc<Graph>> for Caller {
    type Rejection = GraphError;

    async fn from_request_parts(
        parts: &mut Parts,
        graph: &Arc<Graph>,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = |message: &str| GraphError::unauthenticated(message, &graph.base_url);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .map(|(_, token)| token.trim())
            .ok_or_else(|| unauthenticated("Access token is empty."))?;
        match graph.tokens.check(token) {
            Presented::Valid(grant) => Ok(Caller(grant)),
            Presented::Expired => Err(unauthenticated(
                "Lifetime validation failed, the token is expired.",
            )),
            Presented::Unknown => Err(unauthenticated("Access token validation failure.")),
        }
    }
}

#[cfg(test)]
mod tests;
