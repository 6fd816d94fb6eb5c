//! The Microsoft 365 tool set through the real binary, against the devstack's Graph sample
//! tenant: each tool's answers, paging, bad arguments, missing consent and throttling; hostile
//! arguments and hostile content; time zones; the write tools' confirmations; which tools a
//! caller sees; and the permissions the app registration asks for.

mod each_tool;
mod etiquette;
mod hostile_arguments;
mod hostile_content;
mod permissions;
mod scenario;
mod time_zones;
mod toolsets;
mod write;

use devstack::{Recorded, tenant::USER_IMPERSONATION};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;

/// Every toolset, the write tools included.
pub(super) const ALL_TOOLSETS: &str = "profile,calendar,mail,people,files,tasks,search,write";

/// A handler serving every toolset, against a fresh devstack.
pub(super) fn server() -> TestServer {
    TestServer::start_with(&[(MCP_TOOLSETS.name, ALL_TOOLSETS)])
}

/// A token for `user` with the required scope and the app roles the directory assigns them.
pub(super) fn token_of(server: &TestServer, user: &str) -> String {
    server.devstack.user_token(user, &[USER_IMPERSONATION])
}

/// Calls `tool` as `user`; the JSON-RPC answer (the HTTP status must be 200).
pub(super) async fn call_as(
    server: &TestServer,
    user: &str,
    tool: &str,
    arguments: Value,
) -> Value {
    let response = call_tool(&server.mcp_url(), &token_of(server, user), tool, arguments).await;
    assert_eq!(response.status(), StatusCode::OK, "{tool}");
    response.json().await.unwrap()
}

/// The structured result of a successful call.
pub(super) fn structured(body: &Value) -> &Value {
    assert_eq!(body["result"]["isError"], false, "{body:#}");
    &body["result"]["structuredContent"]
}

/// The text of a tool error (`isError: true`), which always says what to do.
pub(super) fn tool_error(body: &Value) -> String {
    assert_eq!(body["result"]["isError"], true, "{body:#}");
    let text = text(body);
    assert!(text.contains("What to do:"), "{text}");
    text
}

/// The text block of a result.
pub(super) fn text(body: &Value) -> String {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text: {body:#}"))
        .to_owned()
}

/// The requests Graph received.
pub(super) fn graph_requests(server: &TestServer) -> Vec<Recorded> {
    server
        .devstack
        .requests()
        .into_iter()
        .filter(|request| request.service == "graph")
        .collect()
}

/// A JSON object's string field, for readable assertions.
pub(super) fn string<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{field}` in {value:#}"))
}
