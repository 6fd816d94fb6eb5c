//! JSON lines on stdout, one event per line; the Functions host forwards stdout to
//! Application Insights. `handler stdio` writes them to stderr: its stdout carries MCP alone.
//!
//! Each HTTP request produces exactly one `request` event, written by [`request_log`] after
//! the response is known. Layers further in do not log on their own: they attach *facts* to the
//! response ([`RpcFacts`], [`AuthFacts`]) and this layer writes them together, so one line
//! carries the request id, JSON-RPC method, tool, status and latency, and the audit facts: the
//! outcome (accepted, or rejected with a reason code) and the caller's tenant, object and client
//! application ids. That line is the audit event.
//!
//! What is never written: header values (the `Authorization` header above all), the path a
//! client sent (a token or an address may hide there: the log names the *route* that served
//! the request, or `unknown`), the query string, request and response bodies. The host's
//! `x-ms-invocation-id` is written only when it is what the host sends, a GUID.
//!
//! Third-party crates log at `error` only, whatever `MCP_LOG` says: rmcp's warnings quote
//! client-sent text (an unknown method's name, for one) and its debug output whole messages.
//! What they would have said is in the request event's status anyway.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::Level;
use tracing_subscriber::{Layer, filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// The route that served a request, as the application registered it (`/mcp`), never the path
/// the client sent.
#[derive(Debug, Clone)]
pub struct Route(Arc<str>);

/// Route layer (inside routing): records which route served the request, for [`request_log`].
pub async fn route_label(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| Route(path.as_str().into()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// The request id, also returned to the caller in `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// What the JSON-RPC envelope said, attached by the transport. Only names the server knows
/// are kept; anything else a client sends is recorded as `other` (method) or `unknown` (tool).
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcFacts {
    pub method: Option<&'static str>,
    pub tool: Option<&'static str>,
}

/// Who a request came from, as far as it is known: only from a token whose signature and
/// claims were verified.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    pub tenant_id: String,
    pub object_id: String,
    pub client_app_id: String,
}

/// The audit facts: whether the request was let in, why not, and who it was.
#[derive(Debug, Clone)]
pub struct AuthFacts {
    pub accepted: bool,
    /// A stable reason code when refused (`expired`, `missing_scope`, ...).
    pub reason: Option<&'static str>,
    pub caller: Option<CallerIdentity>,
}

impl AuthFacts {
    pub fn accepted(caller: CallerIdentity) -> Self {
        Self {
            accepted: true,
            reason: None,
            caller: Some(caller),
        }
    }

    pub fn refused(reason: &'static str, caller: Option<CallerIdentity>) -> Self {
        Self {
            accepted: false,
            reason: Some(reason),
            caller,
        }
    }
}

/// Where the JSON log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// The server's: the Functions host collects stdout.
    Stdout,
    /// `handler stdio`'s: stdout is the MCP transport.
    Stderr,
}

/// Installs the JSON subscriber, writing to `sink`. Safe to call once per process.
pub fn init(level: Level, sink: Sink) {
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
        .with_target("handler", level)
        .with_default(Level::ERROR);
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false);
    let layer = match sink {
        Sink::Stdout => layer.with_writer(std::io::stdout).boxed(),
        Sink::Stderr => layer.with_writer(std::io::stderr).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// Outermost layer: assigns the request id and writes the one `request` event.
pub async fn request_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = RequestId(uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(request_id.clone());
    let http_method = request.method().clone();
    // The host's id for the invocation, in our own spelling: nothing a client chose.
    let invocation_id = request
        .headers()
        .get("x-ms-invocation-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() == 36)
        .and_then(|value| uuid::Uuid::try_parse(value).ok())
        .map(|id| id.hyphenated().to_string());

    let mut response = next.run(request).await;
    // The route, not the path: a path no route serves may carry anything.
    let route = response.extensions().get::<Route>().cloned();
    let path = route.as_ref().map_or("unknown", |route| &route.0);

    let rpc = response.extensions().get::<RpcFacts>();
    let auth = response.extensions().get::<AuthFacts>();
    let caller = auth.and_then(|auth| auth.caller.as_ref());
    tracing::info!(
        target: concat!(env!("CARGO_CRATE_NAME"), "::request"),
        message = "request",
        request_id = %request_id.0,
        invocation_id = invocation_id.as_deref(),
        http_method = %http_method,
        path = %path,
        rpc_method = rpc.and_then(|rpc| rpc.method),
        tool = rpc.and_then(|rpc| rpc.tool),
        outcome = auth.map(|auth| if auth.accepted { "accepted" } else { "rejected" }),
        reason = auth.and_then(|auth| auth.reason),
        tid = caller.map(|caller| caller.tenant_id.as_str()),
        oid = caller.map(|caller| caller.object_id.as_str()),
        azp = caller.map(|caller| caller.client_app_id.as_str()),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
