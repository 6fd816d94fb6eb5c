//! Microsoft Graph over plain HTTP (reqwest), with the resilience Graph's guidance asks for.
//!
//! Every call has a deadline (the tool call's), and every attempt ends before it. Throttling
//! and transient failures are retried as [`retry`] decides. Each call sends a fresh
//! `client-request-id`; Graph's `request-id` is logged with it so an operator can hand both to
//! Microsoft support, and with the MCP request's own id ([`Call`]). Requests are built by [`request`], pages followed by [`paging`], and
//! failures become a [`GraphError`] that says what happened.
//!
//! The Graph token is opaque: it goes into the `Authorization` header of requests to the
//! configured Graph base URL and nowhere else.
//!
//! Answers are read up to a cap ([`MAX_RESPONSE_BYTES`]; error bodies much less), counted as
//! they arrive: a larger one is not read on, and the call fails with
//! [`GraphError::ResponseTooLarge`]. A request whose path has an empty, `.` or `..` segment is
//! never sent ([`GraphError::InvalidPathSegment`]).

pub mod paging;
pub mod request;
pub mod retry;

use std::time::Duration;

use http::StatusCode;
use serde::{Deserialize, de::DeserializeOwned};
use tokio::time::Instant;
use url::Url;

use crate::outbound::{BodyError, Call, OutboundHttp, read_capped};
pub use request::{Filter, GraphRequest};
use retry::{RetryBudget, Verdict};

/// No single attempt runs longer than this, deadline or not.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read from Graph: a page of items with the fields a tool selects.
pub const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;
/// Graph's error bodies are a few hundred bytes.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Why a Graph call failed, with what a caller needs to decide what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// Graph answered with an error status (after any retries).
    Status {
        status: u16,
        code: String,
        message: String,
        /// For 429 and 503: how long Graph asked to wait.
        retry_after: Option<Duration>,
    },
    /// The deadline passed before Graph answered.
    Deadline,
    /// Graph could not be reached, or the connection broke.
    Unreachable,
    /// Graph answered 2xx with something that is not the expected JSON.
    UnexpectedBody,
    /// Graph's answer was larger than `limit` bytes; it was not read on.
    ResponseTooLarge { limit: usize },
    /// A path segment was empty, `.` or `..`, which Graph would read as another resource: the
    /// request was not sent.
    InvalidPathSegment,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

pub struct GraphClient {
    http: OutboundHttp,
    /// `{base}/v1.0/`
    api_root: Url,
    budget: RetryBudget,
}

impl GraphClient {
    pub fn new(http: OutboundHttp, base: &Url) -> Self {
        let api_root = base
            .join("v1.0/")
            .expect("a base URL joins a relative path");
        Self {
            http,
            api_root,
            budget: RetryBudget::default(),
        }
    }

    /// Sends `request` with the user's Graph `token` and parses the JSON answer.
    pub async fn send<T: DeserializeOwned>(
        &self,
        token: &str,
        request: &GraphRequest,
        call: Call<'_>,
    ) -> Result<T, GraphError> {
        let mut url = self
            .api_root
            .join(&request.path)
            .expect("an encoded path joins the API root");
        url.query_pairs_mut().extend_pairs(&request.query);
        self.send_url(token, request, url, call).await
    }

    async fn send_url<T: DeserializeOwned>(
        &self,
        token: &str,
        request: &GraphRequest,
        url: Url,
        call: Call<'_>,
    ) -> Result<T, GraphError> {
        let response = self.respond(token, request, url, call).await?;
        if !response.status().is_success() {
            return Err(GraphError::UnexpectedBody);
        }
        let client_request_id = response
            .headers()
            .get("client-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body =
            read_capped(response, MAX_RESPONSE_BYTES)
                .await
                .map_err(|error| match error {
                    BodyError::TooLarge { limit } => {
                        tracing::warn!(
                            request_id = call.request_id,
                            client_request_id,
                            limit,
                            "graph answer exceeded the size cap; not read on"
                        );
                        GraphError::ResponseTooLarge { limit }
                    }
                    BodyError::Interrupted { timeout: true } => GraphError::Deadline,
                    // The connection broke: a network failure, not a strange answer.
                    BodyError::Interrupted { timeout: false } => GraphError::Unreachable,
                })?;
        // 202 and 204 answers (sendMail) have no body: `()` reads that as null.
        let body: &[u8] = if body.is_empty() { b"null" } else { &body };
        serde_json::from_slice(body).map_err(|_| GraphError::UnexpectedBody)
    }

    /// The content behind `request` (a drive item's `/content`), at most `limit` bytes.
    ///
    /// Graph answers with a redirect to a short-lived pre-authenticated download URL. That URL
    /// is fetched without the Graph token, which goes to Graph and nowhere else, and only if it
    /// is https (or, with a loopback Graph, the same origin: the local stand-ins).
    pub async fn download(
        &self,
        token: &str,
        request: &GraphRequest,
        limit: u64,
        call: Call<'_>,
    ) -> Result<Vec<u8>, DownloadError> {
        let mut url = self
            .api_root
            .join(&request.path)
            .expect("an encoded path joins the API root");
        url.query_pairs_mut().extend_pairs(&request.query);
        let response = self
            .respond(token, request, url, call)
            .await
            .map_err(DownloadError::Graph)?;
        let response = if response.status().is_redirection() {
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|location| Url::parse(location).ok())
                .ok_or(DownloadError::Graph(GraphError::UnexpectedBody))?;
            if !self.may_download_from(&location) {
                return Err(DownloadError::Elsewhere);
            }
            let remaining = call.deadline.saturating_duration_since(Instant::now());
            let response = self
                .http
                .client()
                .await
                .get(location)
                .timeout(remaining.min(ATTEMPT_TIMEOUT))
                .send()
                .await
                .map_err(|error| {
                    DownloadError::Graph(if error.is_timeout() {
                        GraphError::Deadline
                    } else {
                        GraphError::Unreachable
                    })
                })?;
            if !response.status().is_success() {
                return Err(DownloadError::Graph(GraphError::Status {
                    status: response.status().as_u16(),
                    code: "downloadFailed".into(),
                    message: "the download URL Graph handed out did not deliver the file".into(),
                    retry_after: None,
                }));
            }
            response
        } else {
            response
        };
        read_capped(response, limit as usize)
            .await
            .map(|body| body.to_vec())
            .map_err(|error| match error {
                BodyError::TooLarge { .. } => DownloadError::TooLarge { limit },
                BodyError::Interrupted { timeout: true } => {
                    DownloadError::Graph(GraphError::Deadline)
                }
                BodyError::Interrupted { timeout: false } => {
                    DownloadError::Graph(GraphError::Unreachable)
                }
            })
    }

    fn may_download_from(&self, location: &Url) -> bool {
        location.scheme() == "https"
            || (crate::config::is_loopback_host(&self.api_root)
                && location.origin() == self.api_root.origin())
    }

    /// Sends `request` to `url` with retries; the answer if it is a success or a redirect.
    async fn respond(
        &self,
        token: &str,
        request: &GraphRequest,
        url: Url,
        call: Call<'_>,
    ) -> Result<reqwest::Response, GraphError> {
        if request.has_invalid_segment() {
            tracing::warn!(
                request_id = call.request_id,
                "graph request refused: an empty, `.` or `..` path segment"
            );
            return Err(GraphError::InvalidPathSegment);
        }
        let deadline = call.deadline;
        self.budget.earn();
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let mut retry = 0;
        loop {
            let started = Instant::now();
            let remaining = deadline.saturating_duration_since(started);
            if remaining.is_zero() {
                return Err(GraphError::Deadline);
            }
            let mut builder = self
                .http
                .client()
                .await
                .request(request.method.clone(), url.clone())
                .bearer_auth(token)
                .header("client-request-id", &client_request_id)
                .header("accept", "application/json")
                .timeout(remaining.min(ATTEMPT_TIMEOUT));
            for (name, value) in &request.headers {
                builder = builder.header(*name, value);
            }
            if let Some(body) = &request.body {
                builder = builder.json(body);
            }
            let outcome = builder.send().await;
            let (status, headers) = match &outcome {
                Ok(response) => (Some(response.status()), Some(response.headers().clone())),
                Err(_) => (None, None),
            };
            let graph_request_id = headers
                .as_ref()
                .and_then(|h| h.get("request-id"))
                .and_then(|v| v.to_str().ok());
            call.record
                .graph_answer(status.map(|status| status.as_u16()), graph_request_id);
            tracing::info!(
                request_id = call.request_id,
                method = %request.method,
                route = request.route,
                status = status.map(|status| status.as_u16()),
                graph_request_id,
                client_request_id = %client_request_id,
                attempt = retry + 1,
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                "graph call"
            );
            match outcome {
                Ok(response)
                    if response.status().is_success() || response.status().is_redirection() =>
                {
                    return Ok(response);
                }
                Ok(response) => {
                    let retry_after = retry::retry_after(response.headers());
                    let verdict =
                        retry::verdict(status, headers.as_ref(), request.idempotent(), retry);
                    if let Some(wait) = self.may_wait(verdict, deadline) {
                        tokio::time::sleep(wait).await;
                        retry += 1;
                        continue;
                    }
                    let status = response.status();
                    let body: Option<ErrorBody> = read_capped(response, MAX_ERROR_BYTES)
                        .await
                        .ok()
                        .and_then(|body| serde_json::from_slice(&body).ok());
                    let (code, message) = body
                        .map(|body| (body.error.code, body.error.message))
                        .unwrap_or_default();
                    return Err(GraphError::Status {
                        status: status.as_u16(),
                        code,
                        message,
                        retry_after,
                    });
                }
                Err(error) => {
                    let verdict = retry::verdict(None, None, request.idempotent(), retry);
                    if !error.is_timeout()
                        && let Some(wait) = self.may_wait(verdict, deadline)
                    {
                        tokio::time::sleep(wait).await;
                        retry += 1;
                        continue;
                    }
                    return Err(if error.is_timeout() || Instant::now() >= deadline {
                        GraphError::Deadline
                    } else {
                        GraphError::Unreachable
                    });
                }
            }
        }
    }

    /// The wait before a retry, if the verdict, the deadline and the budget all allow one.
    fn may_wait(&self, verdict: Verdict, deadline: Instant) -> Option<Duration> {
        let Verdict::RetryAfter(wait) = verdict else {
            return None;
        };
        if Instant::now() + wait >= deadline {
            return None;
        }
        self.budget.spend().then_some(wait)
    }
}

/// Why a download did not deliver a file.
#[derive(Debug)]
pub enum DownloadError {
    Graph(GraphError),
    /// The file is larger than the caller's limit (in bytes).
    TooLarge {
        limit: u64,
    },
    /// Graph redirected somewhere a download may not come from.
    Elsewhere,
}

impl GraphError {
    /// Whether Graph refused for lack of permission (consent, or not shared with the user).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, GraphError::Status { status, .. } if *status == StatusCode::FORBIDDEN.as_u16())
    }

    /// Whether Graph refused the token itself (401): the cached Graph token must go.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, GraphError::Status { status, .. } if *status == StatusCode::UNAUTHORIZED.as_u16())
    }
}
