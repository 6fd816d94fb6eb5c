//! No argument changes what a tool asks Graph for: for every string argument of every tool,
//! hostile values (quotes, OData operators, `../`, `%2F`, line breaks, 10 KB, non-ASCII) either
//! stop the call with a tool error before Graph, or reach Graph only as data. Checked on what
//! the Graph stand-in received: with the argument's text taken out, the hostile call's requests
//! are the benign call's requests. And cursors are unforgeable: altered, someone else's, or for
//! another listing, they are refused before any Graph call.

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::*;

const HOSTILE: &[&str] = &[
    "O'Brien' or 1 eq 1 or subject eq '",
    "x') or (from/emailAddress/address ne '",
    "\" OR \"mail:*",
    "../../users",
    "..%2F..%2Fusers",
    "a/b?$top=999&$select=*#frag",
    "line one\nline two",
    "tab\tseparated",
    "Zoë 東京 🙂 مرحبا",
    "$filter=isRead eq false",
    "%00%0d%0a",
];

/// A request as Graph saw it, decoded, with every spelling of `argument` taken out.
fn shape(request: &devstack::Recorded, argument: &str) -> String {
    let decode = |text: &str| {
        percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut seen = format!(
        "{} {}?{}\n{}",
        request.method,
        decode(&request.path),
        decode(request.query.as_deref().unwrap_or_default()),
        request.body
    );
    let odata = argument.replace('\'', "''");
    let search = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let kql = argument.replace(['(', ')'], " ");
    let json = serde_json::to_string(argument).unwrap();
    let mut spellings = [
        search(&kql),
        search(argument),
        search(&odata),
        odata,
        json[1..json.len() - 1].to_owned(),
        argument.to_owned(),
    ];
    spellings.sort_by_key(|spelling| std::cmp::Reverse(spelling.len()));
    for spelling in spellings.iter().filter(|s| !s.is_empty()) {
        seen = seen.replace(spelling.as_str(), "⟨argument⟩");
    }
    seen
}

/// What Graph received for one call, by shape; the time-zone read is not part of any shape.
async fn shapes_of(
    server: &TestServer,
    tool: &str,
    arguments: Value,
    argument: &str,
) -> (Value, Vec<String>) {
    server.devstack.clear_requests();
    let body = call_as(server, "adele", tool, arguments).await;
    let mut shapes: Vec<String> = graph_requests(server)
        .iter()
        .filter(|request| request.path != "/v1.0/me/mailboxSettings")
        .map(|request| shape(request, argument))
        .collect();
    // Calls a tool makes at once arrive in any order.
    shapes.sort();
    (body, shapes)
}

/// Each tool's string arguments: the arguments of a benign call, and where the value goes.
fn string_arguments(file_id: &str, message_id: &str) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("search_mail", json!({ "query": "budget" }), "query"),
        (
            "search_mail",
            json!({ "from": "megan@contoso.example" }),
            "from",
        ),
        (
            "search_mail",
            json!({ "received_after": "2026-01-01" }),
            "received_after",
        ),
        (
            "search_mail",
            json!({ "received_before": "2030-01-01" }),
            "received_before",
        ),
        (
            "read_mail",
            json!({ "message_id": message_id }),
            "message_id",
        ),
        ("find_people", json!({ "query": "megan" }), "query"),
        (
            "get_user",
            json!({ "user": "megan@contoso.example" }),
            "user",
        ),
        ("search_files", json!({ "query": "budget" }), "query"),
        ("list_files", json!({ "path": "Projects" }), "path"),
        ("list_files", json!({ "folder_id": file_id }), "folder_id"),
        ("read_file", json!({ "file_id": file_id }), "file_id"),
        ("search_m365", json!({ "query": "budget" }), "query"),
        ("get_event", json!({ "event_id": message_id }), "event_id"),
        ("list_events", json!({ "start": "2026-01-01" }), "start"),
        ("list_events", json!({ "end": "2030-01-01" }), "end"),
        (
            "find_meeting_times",
            json!({ "attendees": ["alex@contoso.example"] }),
            "attendees",
        ),
        (
            "find_meeting_times",
            json!({ "attendees": ["alex@contoso.example"], "start": "2030-01-07" }),
            "start",
        ),
    ]
}

fn with_value(arguments: &Value, name: &str, value: &str) -> Value {
    let mut arguments = arguments.clone();
    arguments[name] = if arguments[name].is_array() {
        json!([value])
    } else {
        json!(value)
    };
    arguments
}

fn value_of(arguments: &Value, name: &str) -> String {
    match &arguments[name] {
        Value::Array(items) => items[0].as_str().unwrap().to_owned(),
        value => value.as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn hostile_string_arguments_never_change_a_graph_request() {
    let server = server();
    let (drive, item) = server.devstack.drive_item_id("adele", "Projects").unwrap();
    let folder_id = format!("{drive}:{item}");
    let message_id = server
        .devstack
        .message_id("adele", devstack::sample::ATTACHMENT_MAIL_SUBJECT)
        .unwrap();
    let long = "x".repeat(10 * 1024);
    for (tool, benign, name) in string_arguments(&folder_id, &message_id) {
        let (_, expected) =
            shapes_of(&server, tool, benign.clone(), &value_of(&benign, name)).await;
        for hostile in HOSTILE.iter().copied().chain([long.as_str()]) {
            let (body, seen) =
                shapes_of(&server, tool, with_value(&benign, name, hostile), hostile).await;
            if seen.is_empty() {
                let error = tool_error(&body);
                assert!(error.contains(name), "{tool} {name}={hostile:?}: {error}");
            } else {
                assert_eq!(
                    seen, expected,
                    "{tool}: `{name}` = {hostile:?} changed the request Graph received"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_cursor_that_is_altered_someone_elses_or_for_another_listing_is_refused_before_graph() {
    let server = server();
    let first = call_as(
        &server,
        "adele",
        "search_mail",
        json!({ "folder": "inbox", "max_results": 1 }),
    )
    .await;
    let cursor = string(structured(&first), "next_cursor").to_owned();
    let mut altered = cursor.clone().into_bytes();
    let middle = altered.len() / 3;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();

    let attempts = [
        (
            "adele",
            "search_mail",
            json!({ "folder": "inbox", "cursor": altered }),
        ),
        (
            "megan",
            "search_mail",
            json!({ "folder": "inbox", "cursor": cursor }),
        ),
        (
            "adele",
            "search_mail",
            json!({ "folder": "sent", "cursor": cursor }),
        ),
        (
            "adele",
            "search_files",
            json!({ "query": "budget", "cursor": cursor }),
        ),
        ("adele", "list_tasks", json!({ "cursor": cursor })),
        (
            "adele",
            "search_mail",
            json!({ "folder": "inbox", "cursor": "not-a-cursor" }),
        ),
    ];
    for (user, tool, arguments) in attempts {
        server.devstack.clear_requests();
        let body = call_as(&server, user, tool, arguments.clone()).await;
        let error = tool_error(&body);
        assert!(
            error.contains("cursor"),
            "{user} {tool} {arguments}: {error}"
        );
        let graph: Vec<_> = graph_requests(&server)
            .into_iter()
            .filter(|request| request.path != "/v1.0/me/mailboxSettings")
            .collect();
        assert!(graph.is_empty(), "{user} {tool}: {graph:#?}");
    }
    // The genuine article still works.
    let next = call_as(
        &server,
        "adele",
        "search_mail",
        json!({ "folder": "inbox", "cursor": cursor }),
    )
    .await;
    assert!(!structured(&next)["messages"].as_array().unwrap().is_empty());
}
