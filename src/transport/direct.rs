//! The two calls an agent makes at every step, `tools/call` and `tools/list`, answered without
//! rmcp's per-request session machinery; everything else goes to rmcp unchanged.
//!
//! In stateless mode rmcp serves every POST as a session of its own: it builds a peer (two
//! channels, one of 1024 slots), spawns a serve loop and a handler task, creates cancellation
//! token trees and builds the server's info, then tears it all down. For a request whose
//! answer is one JSON object that costs more than the request's real work (profiles in
//! docs/PERFORMANCE.md). rmcp stays the protocol implementation: the message types, their
//! parsing and serialization, the result post-processing, and every request this path does not
//! take are rmcp's.
//!
//! This path takes a request only when rmcp would certainly serve it the plain way, and answers
//! it with exactly the bytes rmcp would (a test compares them):
//!
//! - `POST` with a `Host` rmcp allows (the same rule: host, and port when the allowed entry
//!   names one) and **no** `Origin` header (browsers' requests go to rmcp, which checks it);
//! - `Accept` naming `application/json` and `text/event-stream` without parameters or quotes,
//!   `Content-Type: application/json`;
//! - an `MCP-Protocol-Version` header naming a revision this server supports (the envelope layer
//!   already refused any other), or none (rmcp then serves the request as 2025-03-26);
//! - a JSON-RPC request `tools/call` or `tools/list` whose params carry no `_meta`, no task and
//!   no input responses (no per-request protocol negotiation, no progress, no tasks).
//!
//! Anything else, or anything in doubt, is rmcp's.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header},
};
use http_body_util::BodyExt;
use rmcp::{
    model::{
        CallToolResponse, ClientJsonRpcMessage, ClientRequest, ErrorData, JsonRpcMessage,
        JsonRpcRequest, ProtocolVersion, ServerJsonRpcMessage, ServerResult,
    },
    transport::{
        StreamableHttpService, streamable_http_server::session::never::NeverSessionManager,
    },
};

use super::McpServer;
use crate::protocol::SUPPORTED_PROTOCOL_VERSIONS;

/// The `/mcp` service: the direct path in front of rmcp's.
#[derive(Clone)]
pub struct Direct {
    rmcp: StreamableHttpService<McpServer, NeverSessionManager>,
    server: McpServer,
    allowed_hosts: Arc<[String]>,
}

impl Direct {
    pub fn new(
        rmcp: StreamableHttpService<McpServer, NeverSessionManager>,
        server: McpServer,
        allowed_hosts: &[String],
    ) -> Self {
        Self {
            rmcp,
            server,
            allowed_hosts: allowed_hosts.into(),
        }
    }

    async fn handle(self, request: Request<Body>) -> Response<Body> {
        let Some(version) = plain_head(&request, &self.allowed_hosts) else {
            return self.by_rmcp(request).await;
        };
        let (parts, body) = request.into_parts();
        // The envelope layer has read the body already: this collects bytes in memory.
        let Ok(collected) = body.collect().await else {
            return self
                .by_rmcp(Request::from_parts(parts, Body::empty()))
                .await;
        };
        let bytes = collected.to_bytes();
        let Some((id, call)) = plain_call(&bytes) else {
            return self
                .by_rmcp(Request::from_parts(parts, Body::from(bytes)))
                .await;
        };
        let result = match call {
            Call::Tool(params) => self
                .server
                .call_tool_for(params, Some(&parts), version)
                .await
                .and_then(|response| match response {
                    // What rmcp's handler does: a task handle needs a client that declared
                    // tasks, and a stateless request declares nothing.
                    CallToolResponse::Task(_) => {
                        Err(ErrorData::missing_required_client_capability(
                            rmcp::model::ClientCapabilities::builder()
                                .enable_tasks()
                                .build(),
                        ))
                    }
                    other => Ok(ServerResult::from(other)),
                }),
            Call::List => Ok(ServerResult::ListToolsResult(
                self.server.list_tools_for(Some(&parts), version),
            )),
        };
        answer(id, result)
    }

    async fn by_rmcp(&self, request: Request<Body>) -> Response<Body> {
        self.rmcp.handle(request).await.map(Body::new)
    }
}

impl tower::Service<Request<Body>> for Direct {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

enum Call {
    Tool(rmcp::model::CallToolRequestParams),
    List,
}

/// The request's protocol version when its head is one the direct path may serve.
fn plain_head(request: &Request<Body>, allowed_hosts: &[String]) -> Option<ProtocolVersion> {
    let headers = request.headers();
    if request.method() != Method::POST
        || headers.contains_key(header::ORIGIN)
        || !host_allowed(headers, allowed_hosts)
        || !accepts_json_and_event_stream(headers)
        || !single(headers, header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"application/json"))
    {
        return None;
    }
    let mut versions = headers.get_all("mcp-protocol-version").iter();
    let Some(version) = versions.next() else {
        // rmcp's default for a request without the header.
        return Some(ProtocolVersion::V_2025_03_26);
    };
    if versions.next().is_some() {
        return None;
    }
    let version = version.to_str().ok()?;
    SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .find(|supported| supported.as_str() == version)
        .filter(|supported| supported.as_str() < ProtocolVersion::V_2026_07_28.as_str())
        .cloned()
}

fn single<K: header::AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// rmcp's Host rule: the host (case-insensitive, brackets removed) equals an allowed entry's,
/// and so does the port when the entry names one. An empty list is rmcp's business.
fn host_allowed(headers: &HeaderMap, allowed_hosts: &[String]) -> bool {
    let Some(host) = single(headers, header::HOST).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let Ok(authority) = http::uri::Authority::try_from(host) else {
        return false;
    };
    let (host, port) = (normalize_host(authority.host()), authority.port_u16());
    allowed_hosts.iter().any(|allowed| {
        let allowed = allowed.trim();
        let (allowed_host, allowed_port) = match http::uri::Authority::try_from(allowed) {
            Ok(authority) => (normalize_host(authority.host()), authority.port_u16()),
            Err(_) => (normalize_host(allowed), None),
        };
        !allowed.is_empty()
            && allowed_host == host
            && allowed_port.is_none_or(|allowed| port == Some(allowed))
    })
}

fn normalize_host(host: &str) -> String {
    host.trim_matches('[')
        .trim_matches(']')
        .to_ascii_lowercase()
}

/// One `Accept` header listing both media types, plainly (no parameters, no quotes).
fn accepts_json_and_event_stream(headers: &HeaderMap) -> bool {
    let Some(accept) = single(headers, header::ACCEPT).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    if accept.contains([';', '"']) {
        return false;
    }
    let mut json = false;
    let mut event_stream = false;
    for essence in accept.split(',').map(str::trim) {
        json |= essence.eq_ignore_ascii_case("application/json");
        event_stream |= essence.eq_ignore_ascii_case("text/event-stream");
    }
    json && event_stream
}

/// The request's id and call when the body is a plain `tools/call` or `tools/list`.
fn plain_call(body: &Bytes) -> Option<(rmcp::model::RequestId, Call)> {
    let JsonRpcMessage::Request(JsonRpcRequest { id, request, .. }) =
        serde_json::from_slice::<ClientJsonRpcMessage>(body).ok()?
    else {
        return None;
    };
    match request {
        ClientRequest::CallToolRequest(request) => {
            let params = request.params;
            let plain = params.meta.is_none()
                && params.input_responses.is_none()
                && params.request_state.is_none()
                && request.extensions.is_empty();
            plain.then_some((id, Call::Tool(params)))
        }
        ClientRequest::ListToolsRequest(request) => {
            let plain = request
                .params
                .as_ref()
                .is_none_or(|params| params.meta.is_none() && params.cursor.is_none())
                && request.extensions.is_empty();
            plain.then_some((id, Call::List))
        }
        _ => None,
    }
}

/// The JSON answer rmcp's stateless JSON mode gives, for the same result.
fn answer(id: rmcp::model::RequestId, result: Result<ServerResult, ErrorData>) -> Response<Body> {
    let message = match result {
        Ok(mut result) => {
            // What rmcp's handler does for the revisions this path serves (all before
            // 2026-07-28).
            result.strip_result_type_for_legacy_peer();
            ServerJsonRpcMessage::response(result, id)
        }
        Err(error) => ServerJsonRpcMessage::error(error, Some(id)),
    };
    match serde_json::to_vec(&message) {
        Ok(body) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("valid response"),
        Err(_) => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::empty())
            .expect("valid response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hosts_follow_rmcps_rule() {
        let allowed = ["localhost".to_owned(), "mcp.example.com:8443".to_owned()];
        let host = |value: &str| host_allowed(&headers(&[("host", value)]), &allowed);
        assert!(host("localhost"));
        assert!(host("LOCALHOST:7071"), "no port in the entry: any port");
        assert!(host("mcp.example.com:8443"));
        assert!(!host("mcp.example.com"), "the entry names a port");
        assert!(!host("mcp.example.com:443"));
        assert!(!host("evil.example"));
        assert!(!host_allowed(&headers(&[]), &allowed));
        assert!(!host_allowed(
            &headers(&[("host", "localhost"), ("host", "localhost")]),
            &allowed
        ));
    }

    #[test]
    fn only_a_plain_accept_header_is_taken() {
        let accept = |value: &str| accepts_json_and_event_stream(&headers(&[("accept", value)]));
        assert!(accept("application/json, text/event-stream"));
        assert!(accept("text/event-stream,application/json"));
        assert!(!accept("application/json"));
        assert!(!accept("application/json;q=0, text/event-stream"));
        assert!(!accept("*/*"));
    }

    #[test]
    fn only_plain_tool_calls_and_lists_are_taken() {
        let taken = |body: &str| plain_call(&Bytes::from(body.to_owned())).is_some();
        assert!(taken(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"server_info","arguments":{}}}"#
        ));
        assert!(taken(r#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#));
        assert!(taken(
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#
        ));
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":1}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"not json"#,
        ] {
            assert!(!taken(body), "{body}");
        }
    }
}
