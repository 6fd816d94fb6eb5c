//! What an operator sees. The request event of a tool call (the audit line) names the request,
//! the tool, the caller, how the on-behalf-of exchange went, what Graph answered and how the call
//! ended, and never a token, an argument or a body. And every field the alert rules and the
//! workbook in infra/ read is one these events carry: the parity test below runs the real binary
//! through each kind of request the queries count and compares, so renaming a field on either
//! side fails it.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
};

use devstack::GraphFault;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

const SETTINGS_PATH: &str = "/v1.0/me/mailboxSettings";

/// Calls `tool` with `token` and returns the request event of that call.
async fn audited_call_with(
    server: &TestServer,
    token: &str,
    tool: &str,
    arguments: Value,
) -> Value {
    let response = call_tool(&server.mcp_url(), token, tool, arguments).await;
    assert_eq!(response.status(), StatusCode::OK, "{tool}");
    server.handler.event_of(&response)
}

/// Calls `tool` as Adele and returns the request event of that call.
async fn audited_call(server: &TestServer, tool: &str, arguments: Value) -> Value {
    let response = call_tool(&server.mcp_url(), &server.token(), tool, arguments).await;
    assert_eq!(response.status(), StatusCode::OK, "{tool}");
    server.handler.event_of(&response)
}

fn is_guid(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        uuid::Uuid::try_parse(text).is_ok_and(|id| id.hyphenated().to_string() == text)
    })
}

#[tokio::test]
async fn the_audit_event_of_a_tool_call_names_the_caller_the_exchange_and_graphs_request_id() {
    let server = TestServer::start();
    let token = server.token();
    let event = audited_call_with(&server, &token, "get_my_profile", json!({})).await;
    assert_eq!(event["tool"], "get_my_profile");
    assert_eq!(event["rpc_method"], "tools/call");
    assert_eq!(event["outcome"], "accepted");
    assert_eq!(event["tid"], devstack::tenant::TENANT_ID);
    assert!(
        is_guid(&event["oid"]) && is_guid(&event["request_id"]),
        "{event}"
    );
    assert_eq!(event["exchange"], "exchanged");
    assert_eq!(event["tool_outcome"], "ok");
    assert_eq!(event["graph_calls"], 2, "/me and /me/mailboxSettings");
    assert_eq!(event["graph_throttled"], 0);
    // Graph's request-id of the last Graph call, as its own event logged it.
    let last_graph_call = server
        .handler
        .output
        .events()
        .into_iter()
        .rfind(|e| e["message"] == "graph call" && e["request_id"] == event["request_id"])
        .expect("a graph call event");
    assert!(is_guid(&event["graph_request_id"]), "{event}");
    assert_eq!(
        event["graph_request_id"],
        last_graph_call["graph_request_id"]
    );

    // The same token again: its Graph token comes from the cache.
    let again = audited_call_with(&server, &token, "get_my_profile", json!({})).await;
    assert_eq!(again["exchange"], "cached");
    assert_ne!(again["request_id"], event["request_id"]);
}

#[tokio::test]
async fn the_audit_event_counts_graph_throttling_and_names_a_failed_exchange() {
    let server = TestServer::start();
    server.devstack.inject_graph_faults(
        SETTINGS_PATH,
        vec![GraphFault::Status {
            status: 429,
            retry_after: Some("0".into()),
        }],
    );
    let throttled = audited_call(&server, "get_my_profile", json!({})).await;
    assert_eq!(throttled["graph_throttled"], 1, "{throttled}");
    assert_eq!(throttled["graph_calls"], 3, "{throttled}");
    assert_eq!(throttled["tool_outcome"], "ok");

    server
        .devstack
        .withdraw_consent(devstack::tenant::DEFAULT_USER, "Tasks.Read");
    let refused = audited_call(&server, "list_tasks", json!({})).await;
    assert_eq!(refused["exchange"], "consent_required", "{refused}");
    assert_eq!(refused["tool_outcome"], "error");
    assert!(
        refused.get("graph_calls").is_none(),
        "no Graph call without a token: {refused}"
    );
}

#[tokio::test]
async fn requests_that_call_no_tool_carry_no_tool_fields() {
    let server = TestServer::start();
    let response = list_tools(&server.mcp_url(), &server.token()).await;
    let event = server.handler.event_of(&response);
    assert_eq!(event["rpc_method"], "tools/list");
    for field in [
        "tool",
        "tool_outcome",
        "exchange",
        "graph_calls",
        "graph_request_id",
    ] {
        assert!(event.get(field).is_none(), "{field}: {event}");
    }
}

#[tokio::test]
async fn the_events_carry_no_token_argument_or_body() {
    let server = TestServer::start_with(&[(MCP_TOOLSETS.name, "profile,people,mail")]);
    let token = server.token();
    let argument = "needle-argument-7d1e@contoso.example";
    let response = call_tool(
        &server.mcp_url(),
        &token,
        "get_user",
        json!({ "user": argument }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let event = server.handler.event_of(&response);
    assert_eq!(event["tool"], "get_user");
    let logs = server.handler.output.all();
    assert!(!logs.contains(&token), "the caller's token was logged");
    assert!(!logs.contains(argument), "an argument was logged");
    assert!(
        !logs.contains("Bearer"),
        "an Authorization header was logged"
    );
}

// -- parity with infra/ ----------------------------------------------------------------------

/// Every KQL query of the alert rules (infra/app/alerts/*.kql) and the workbook
/// (infra/app/workbook.json), by where it comes from.
fn queries() -> BTreeMap<String, String> {
    let app = repo_root().join("infra/app");
    let mut queries = BTreeMap::new();
    for entry in fs::read_dir(app.join("alerts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "kql") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            queries.insert(format!("alerts/{name}"), fs::read_to_string(&path).unwrap());
        }
    }
    let workbook: Value =
        serde_json::from_str(&fs::read_to_string(app.join("workbook.json")).unwrap()).unwrap();
    for item in workbook["items"].as_array().unwrap() {
        if let Some(query) = item["content"]["query"].as_str() {
            let name = item["name"].as_str().unwrap();
            queries.insert(format!("workbook.json#{name}"), query.to_owned());
        }
    }
    queries
}

/// The handler's fields a query reads: `e.<field>` where `e` is the parsed request event.
fn fields_read(query: &str) -> BTreeSet<String> {
    let code: String = query
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut fields = BTreeSet::new();
    let bytes = code.as_bytes();
    for (at, _) in code.match_indices("e.") {
        let boundary =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || b"_.".contains(&bytes[at - 1]));
        if !boundary {
            continue;
        }
        let name: String = code[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            fields.insert(name);
        }
    }
    fields
}

#[tokio::test]
async fn every_field_the_alerts_and_the_workbook_read_is_one_the_handler_logs() {
    // One of each request the queries count: refusals (401, 403), a tool call that exchanges
    // and calls Graph, one Graph throttles, one whose exchange fails, a tool error; the first
    // comes through the Functions host, which names its invocation.
    let server = TestServer::start_with(&[(MCP_TOOLSETS.name, "profile,tasks,mail")]);
    let anonymous = ::reqwest::Client::new();
    let refused = mcp_post(&anonymous, &server.mcp_url())
        .header("x-ms-invocation-id", "0f8fad5b-d9cb-469f-a165-70867728950e")
        .body(tools_list().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let forbidden = call_tool(
        &server.mcp_url(),
        &server.token(),
        "server_status",
        json!({}),
    )
    .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    server.devstack.inject_graph_faults(
        SETTINGS_PATH,
        vec![GraphFault::Status {
            status: 429,
            retry_after: Some("0".into()),
        }],
    );
    audited_call(&server, "get_my_profile", json!({})).await;
    server
        .devstack
        .withdraw_consent(devstack::tenant::DEFAULT_USER, "Tasks.Read");
    audited_call(&server, "list_tasks", json!({})).await;
    audited_call(
        &server,
        "read_mail",
        json!({ "message_id": "no-such-message" }),
    )
    .await;

    let events: Vec<Value> = server
        .handler
        .output
        .events()
        .into_iter()
        .filter(|event| event["message"] == "request")
        .collect();
    let logged: BTreeSet<String> = events
        .iter()
        .flat_map(|event| event.as_object().unwrap().keys().cloned())
        .collect();

    let queries = queries();
    assert!(
        queries
            .keys()
            .filter(|name| name.starts_with("alerts/"))
            .count()
            >= 5,
        "{queries:?}"
    );
    assert!(
        queries
            .keys()
            .filter(|name| name.starts_with("workbook"))
            .count()
            >= 5,
        "{queries:?}"
    );
    for (name, query) in &queries {
        // Each query starts from the request events as the Functions host stores them.
        assert!(
            query.contains("customDimensions.Category == \"Host.Function.Console\"")
                && query.contains("parse_json(message)")
                && query.contains("tostring(e.message) == \"request\""),
            "{name} does not read the handler's request events"
        );
        let read = fields_read(query);
        assert!(read.len() > 1, "{name} reads no field of the event");
        let unknown: Vec<&String> = read.difference(&logged).collect();
        assert!(
            unknown.is_empty(),
            "{name} reads {unknown:?}, which no request event carries; the events carry {logged:?}"
        );
    }
}

#[test]
fn the_field_extraction_finds_fields_and_skips_comments_and_other_names() {
    let query = "traces // e.commented\n| extend e = parse_json(message)\n| where toint(e.status) > 1 and tostring(e.tool_outcome) == \"x\" and name.e.no == 1";
    assert_eq!(
        fields_read(query),
        BTreeSet::from(["status".to_owned(), "tool_outcome".to_owned()])
    );
}
