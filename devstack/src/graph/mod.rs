//! Microsoft Graph v1.0 for the sample tenant: the endpoints the product's tools call, answering
//! in Graph's shapes, with the sample directory's people and a mailbox, a calendar, To Do lists
//! and a OneDrive for each of them, plus a SharePoint site.
//!
//! | request | permission (any of) | module |
//! |---|---|---|
//! | `GET /v1.0/me`, `GET /v1.0/users/{id or UPN}` | `User.Read` (self), `User.ReadBasic.All` (others' basic profile; the rest null), `User.Read.All` (all of it) | [`directory`] |
//! | `GET /v1.0/users` (`$search` needs `ConsistencyLevel: eventual`) | `User.ReadBasic.All` | [`directory`] |
//! | `GET /v1.0/me/manager`, `GET /v1.0/users/{id}/manager` (404 at the top) | `User.Read.All` | [`directory`] |
//! | `GET /v1.0/me/directReports` | `User.Read` (names need `User.ReadBasic.All`) | [`directory`] |
//! | `GET /v1.0/users/{id or UPN}/directReports` | `User.Read` and `User.ReadBasic.All`, or `User.Read.All` | [`directory`] |
//! | `GET /v1.0/me/people` (`$search` fuzzy, no `$skip` with it) | `People.Read` | [`people`] |
//! | `GET /v1.0/me/mailboxSettings` (time zone Windows or IANA) | `MailboxSettings.Read` | [`mailbox_settings`] |
//! | `GET /v1.0/me/messages`, `GET /v1.0/me/mailFolders/{id or well-known name}/messages`, `GET /v1.0/me/messages/{id}` (`$expand=attachments`) | `Mail.ReadBasic` (no bodies, attachments or `$search`), `Mail.Read` | [`mail`] |
//! | `POST /v1.0/me/sendMail` | `Mail.Send` | [`mail`] |
//! | `GET /v1.0/me/calendarView`, `GET /v1.0/me/events`, `GET /v1.0/me/events/{id}` | `Calendars.ReadBasic` (`Calendars.Read`: bodies) | [`calendar`] |
//! | `POST /v1.0/me/events` | `Calendars.ReadWrite` | [`calendar`] |
//! | `POST /v1.0/me/findMeetingTimes` | `Calendars.Read.Shared` | [`calendar::find_times`] |
//! | `GET /v1.0/me/todo/lists`, `GET /v1.0/me/todo/lists/{id}/tasks` (`$filter` on status) | `Tasks.Read` | [`mod@todo`] |
//! | `GET /v1.0/me/drive/…`: `root`, `root/children`, `root:/{path}:`, `root:/{path}:/children`, `items/{id}`, `items/{id}/children`, `root/search(q='…')`, `search(q='…')` (also what others shared, with `Files.Read.All`) | `Files.Read` | [`drive`] |
//! | `GET /v1.0/drives/{drive-id}/…`: the same for any drive (another user's, the SharePoint site's) | `Files.Read` (own), `Files.Read.All` or `Sites.Read.All` (others) | [`drive`] |
//! | `GET …/items/{id}/content`, `…/root:/{path}:/content` → 302 to a pre-authenticated download URL (`/_layouts/15/download.aspx`, no token, `Range`) | as the item | [`drive`] |
//! | `POST /v1.0/search/query`: `message` alone, `event` alone, `driveItem`/`listItem`/`list`/`site`/`drive` together | per entity type: `Mail.Read`, `Calendars.Read`, `Files.Read.All` or `Sites.Read.All`, `Sites.Read.All` | [`search`] |
//!
//! Any other `/v1.0/…` path is Graph's 400 "Resource not found for the segment".
//!
//! **Authorization.** `Authorization: Bearer <token>` with an opaque token from the
//! on-behalf-of grant ([`crate::graph_token`]); no token, an unknown one or an expired
//! one is 401 `InvalidAuthenticationToken`, a token without the permission 403 in the
//! workload's words (`Authorization_RequestDenied`, `ErrorAccessDenied`, `accessDenied`,
//! `Forbidden`). Graph never sees the caller's own token, and must not.
//!
//! **Every response** carries a fresh `request-id` and echoes `client-request-id` (or repeats
//! the `request-id` when the client sent none); errors repeat both in `innerError`
//! ([`error`]). Query options, paging and `@odata.context` are in [`odata`]; the `Prefer`
//! preferences in [`prefer`]; the JSON bodies of POSTs are read as Outlook reads them
//! ([`request_body`]).
//!
//! **Throttling and faults.** Outlook resources (mail, calendar, people, To Do, mailbox
//! settings) admit four requests at a time per mailbox and refuse a fifth with 429
//! ([`concurrency`]). Tests can queue faults per path prefix, set a standing latency per path
//! prefix to hold requests in flight ([`fault`]), and read the highest concurrency a mailbox
//! saw.
//!
//! **Sample data** is generated once per process around the first devstack's start
//! ([`sample_data`]); [`crate::sample`] names its landmarks (tomorrow's meetings, the
//! daylight-saving series, the hostile mail, events and files). Ids have Graph's shapes
//! ([`ids`]) and stay the same for the same data.

mod calendar;
mod concurrency;
mod directory;
mod documents;
mod drive;
mod error;
mod fault;
mod html_text;
mod ids;
mod mail;
mod mailbox_settings;
mod odata;
mod people;
mod per_user;
mod prefer;
mod recipient;
mod request_body;
mod search;
mod time_zone;
mod todo;

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    Router,
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get, post},
};

pub use self::fault::GraphFault;
pub(crate) use self::fault::{cut_mid_body, oversized_response, status_response};
use self::{
    calendar::Calendars,
    concurrency::MailboxConcurrency,
    drive::Drives,
    error::{GraphError, Workload},
    fault::{Faults, Latencies},
    mail::Mailboxes,
};
use crate::{
    connection::Connection,
    datetime::now_seconds,
    graph_token::{GraphGrant, GraphTokens, Presented},
    tenant::User,
};

/// The sample data: generated once per process, when the first devstack starts, around that
/// moment, and shared by every devstack of the process, since it never changes (what tests
/// create, sent mail and events, belongs to each devstack). Generating it is most of the cost
/// of starting a devstack, and a test binary starts dozens.
struct SampleData {
    /// Unix seconds: the "now" the data is generated around.
    time: i64,
    meetings: Arc<[Arc<calendar::Meeting>]>,
    mail: Arc<per_user::PerUser<Arc<mail::Message>>>,
    drives: Arc<[drive::Drive]>,
}

fn sample_data() -> &'static SampleData {
    static SAMPLE: OnceLock<SampleData> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let time = now_seconds();
        SampleData {
            time,
            meetings: calendar::sample_meetings(time),
            mail: mail::sample_mail(time),
            drives: drive::sample_drives(),
        }
    })
}

/// The Graph stand-in's state: the tokens it accepts, the sample data, the queued faults.
#[derive(Debug)]
pub struct Graph {
    /// `http://127.0.0.1:<port>`: Graph's base URL, for `@odata.context` and next links.
    base_url: String,
    /// When the sample data was generated (Unix seconds): its "now".
    sample_time: i64,
    tokens: Arc<GraphTokens>,
    faults: Faults,
    latencies: Latencies,
    concurrency: MailboxConcurrency,
    mailboxes: Mailboxes,
    calendars: Calendars,
    drives: Drives,
}

impl Graph {
    /// Graph with the process's sample data ([`sample_data`]).
    pub fn new(base_url: String, tokens: Arc<GraphTokens>) -> Self {
        let sample = sample_data();
        Self {
            base_url,
            sample_time: sample.time,
            tokens,
            faults: Faults::default(),
            latencies: Latencies::default(),
            concurrency: MailboxConcurrency::default(),
            mailboxes: Mailboxes::new(sample.mail.clone()),
            calendars: Calendars::new(sample.meetings.clone()),
            drives: Drives::new(sample.drives.clone()),
        }
    }

    pub fn inject_faults(&self, path_prefix: &str, faults: Vec<GraphFault>) {
        self.faults.inject(path_prefix, faults);
    }

    pub fn set_latency(&self, path_prefix: &str, latency: Duration) {
        self.latencies.set(path_prefix, latency);
    }

    pub fn sample_time(&self) -> i64 {
        self.sample_time
    }

    /// The events `organizer` created with `POST /me/events`, oldest first, as their calendar
    /// shows them (UTC, HTML bodies).
    pub fn created_events(&self, organizer: &User) -> Vec<serde_json::Value> {
        self.calendars
            .created_by(organizer)
            .iter()
            .map(|meeting| calendar::created_json(meeting, organizer))
            .collect()
    }

    /// The messages `sender` sent with `POST /me/sendMail`, oldest first.
    pub fn sent_mail(&self, sender: &User) -> Vec<serde_json::Value> {
        self.mailboxes.sent_by(sender)
    }

    /// `(drive id, item id)` of the item at `path` in `user`'s OneDrive.
    pub fn drive_item_id(&self, user: &User, path: &str) -> Option<(String, String)> {
        self.drives.id_at(user, path)
    }

    /// The id of the newest message with `subject` in `user`'s mailbox.
    pub fn message_id(&self, user: &User, subject: &str) -> Option<String> {
        self.mailboxes.id_of(user, subject)
    }

    /// The most requests ever in flight at once against `user`'s mailbox.
    pub fn peak_concurrency(&self, user: &User) -> usize {
        self.concurrency.peak(user.key)
    }
}

pub fn routes(graph: Arc<Graph>) -> Router {
    Router::new()
        .route("/v1.0/me", get(directory::me))
        .route("/v1.0/users", get(directory::list))
        .route("/v1.0/users/{id}", get(directory::user))
        .route("/v1.0/me/manager", get(directory::my_manager))
        .route("/v1.0/users/{id}/manager", get(directory::manager))
        .route("/v1.0/me/directReports", get(directory::my_direct_reports))
        .route(
            "/v1.0/users/{id}/directReports",
            get(directory::direct_reports),
        )
        .route("/v1.0/me/mailboxSettings", get(mailbox_settings::get))
        .route("/v1.0/me/people", get(people::list))
        .route("/v1.0/me/todo/lists", get(todo::lists))
        .route("/v1.0/me/todo/lists/{list}/tasks", get(todo::tasks))
        .route("/v1.0/me/messages", get(mail::list))
        .route("/v1.0/me/messages/{id}", get(mail::get))
        .route(
            "/v1.0/me/mailFolders/{folder}/messages",
            get(mail::folder_list),
        )
        .route("/v1.0/me/sendMail", post(mail::send))
        .route("/v1.0/me/calendarView", get(calendar::view))
        .route(
            "/v1.0/me/events",
            get(calendar::events).post(calendar::create),
        )
        .route("/v1.0/me/events/{id}", get(calendar::event))
        .route(
            "/v1.0/me/findMeetingTimes",
            post(calendar::find_times::find),
        )
        .route("/v1.0/me/drive/{*rest}", get(drive::me))
        .route("/v1.0/drives/{drive}/{*rest}", get(drive::drives))
        .route(drive::DOWNLOAD_PATH, get(drive::download))
        .route("/v1.0/search/query", post(search::query))
        .route("/v1.0/{*rest}", any(unknown_segment))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            graph.clone(),
            request_ids_and_faults,
        ))
        .with_state(graph)
}

/// A method the path does not serve.
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

/// Stamps every response with its ids, plays any fault queued for the path, holds Outlook
/// requests to the mailbox's concurrency limit, and applies any latency set for the path.
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
    let path = request.uri().path().to_owned();
    let ConnectInfo(connection) = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .expect("the devstack serves through its resettable listener")
        .clone();
    let fault = graph.faults.take(&path);
    let cut_mid_body = match &fault {
        Some(GraphFault::Status {
            status,
            retry_after,
        }) => {
            let response = fault::status_response(*status, retry_after.as_deref());
            return stamped(response, &request_id, client_request_id.as_deref());
        }
        Some(GraphFault::Oversized { bytes, declared }) => {
            let response = fault::oversized_response(*bytes, *declared);
            return stamped(response, &request_id, client_request_id.as_deref());
        }
        Some(GraphFault::Reset) => {
            connection.reset();
            // Never written: the connection refuses it and closes with a reset.
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(GraphFault::ResetMidBody) => Some(connection),
        Some(GraphFault::Delay(_)) | None => None,
    };
    // Held until the response is complete: a slow request keeps its mailbox slot.
    let _slot = match mailbox_of(&graph, &request) {
        Some(mailbox) => match graph.concurrency.enter(mailbox) {
            Some(slot) => Some(slot),
            None => {
                let throttled = concurrency::throttled();
                return stamped(throttled, &request_id, client_request_id.as_deref());
            }
        },
        None => None,
    };
    if let Some(GraphFault::Delay(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    if let Some(latency) = graph.latencies.of(&path) {
        tokio::time::sleep(latency).await;
    }
    let response = stamped(
        next.run(request).await,
        &request_id,
        client_request_id.as_deref(),
    );
    match cut_mid_body {
        Some(connection) => fault::cut_mid_body(response, connection).await,
        None => response,
    }
}

/// The mailbox an Outlook request runs against: its token's user. `None` for other workloads
/// and for requests that will fail authentication anyway.
fn mailbox_of(graph: &Graph, request: &Request) -> Option<&'static str> {
    if !concurrency::is_outlook(request.uri().path()) {
        return None;
    }
    match graph.tokens.check(bearer(request.headers())?) {
        Presented::Valid(grant) => Some(grant.user.key),
        Presented::Expired | Presented::Unknown => None,
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .map(|(_, token)| token.trim())
}

/// `response` with Graph's `request-id` and `client-request-id`, in the headers and in the
/// body of an error.
fn stamped(response: Response, request_id: &str, client_request_id: Option<&str>) -> Response {
    let mut response = error::with_request_ids(response, request_id, client_request_id);
    let headers = response.headers_mut();
    let id = |value: &str| HeaderValue::from_str(value).expect("ids are ASCII");
    headers.insert("request-id", id(request_id));
    headers.insert(
        "client-request-id",
        id(client_request_id.unwrap_or(request_id)),
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
        let token =
            bearer(&parts.headers).ok_or_else(|| unauthenticated("Access token is empty."))?;
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
