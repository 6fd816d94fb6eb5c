//! Every tool end to end, from one table: what it finds, an empty result and paging with a
//! cursor (list tools), a bad argument (a clear tool error and no Graph call), missing consent
//! for its permission, and a 429 with `Retry-After` (waited out, then answered).

use devstack::{GraphFault, sample};
use serde_json::{Value, json};

use super::*;

/// One tool's row.
struct Case {
    tool: &'static str,
    /// Arguments of a call that finds something.
    found: Value,
    /// What the structured result must hold for `found`.
    check: fn(&Value) -> bool,
    /// For list tools: the field holding the items.
    list: Option<&'static str>,
    /// Arguments that find nothing, for tools where the sample tenant has nothing to find.
    nothing: Option<Value>,
    /// Arguments that find more than one item, when `found` finds only one.
    many: Option<Value>,
    /// Arguments no Graph call may follow, and a word the error must use.
    bad: (Value, &'static str),
    /// A Graph permission the tool needs that a user can withdraw.
    permission: &'static str,
    /// Where the tool's first Graph call goes (for the throttling fault).
    graph_path: &'static str,
}

fn has_item(list: &str, field: &str, value: &str) -> impl Fn(&Value) -> bool {
    let (list, field, value) = (list.to_owned(), field.to_owned(), value.to_owned());
    move |output: &Value| {
        output[&list]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item[&field] == value.as_str()))
    }
}

/// The table; ids are looked up in the sample tenant first.
async fn cases(server: &TestServer) -> Vec<Case> {
    let devstack = &server.devstack;
    let message = devstack
        .message_id("adele", sample::ATTACHMENT_MAIL_SUBJECT)
        .unwrap();
    let (drive, item) = devstack
        .drive_item_id("adele", "Quarterly review.docx")
        .unwrap();
    let file_id = format!("{drive}:{item}");
    let events = call_as(
        server,
        "adele",
        "list_events",
        json!({ "max_results": 100 }),
    )
    .await;
    let event_id = structured(&events)["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["subject"] == "Q3 budget review")
        .map(|event| string(event, "id").to_owned())
        .expect("tomorrow's budget review is within the next seven days");
    let space = (json!({ "event_id": "AAMk with space" }), "event_id");
    vec![
        Case {
            tool: "list_events",
            found: json!({}),
            check: |output| has_item("events", "subject", "Q3 budget review")(output),
            list: Some("events"),
            nothing: Some(json!({ "start": "1990-01-01", "end": "1990-01-02" })),
            many: None,
            bad: (json!({ "start": "next Tuesday" }), "start"),
            permission: "Calendars.ReadBasic",
            graph_path: "/v1.0/me/calendarView",
        },
        Case {
            tool: "get_event",
            found: json!({ "event_id": event_id }),
            check: |output| output["subject"] == "Q3 budget review" && output["body"].is_string(),
            list: None,
            nothing: None,
            many: None,
            bad: space,
            permission: "Calendars.Read",
            graph_path: "/v1.0/me/events/",
        },
        Case {
            tool: "find_meeting_times",
            found: json!({ "attendees": ["alex@contoso.example"], "max_candidates": 3 }),
            check: |output| !output["suggestions"].as_array().unwrap().is_empty(),
            list: None,
            nothing: None,
            many: None,
            bad: (json!({ "attendees": ["Alex Wilber"] }), "attendees"),
            permission: "Calendars.Read.Shared",
            graph_path: "/v1.0/me/findMeetingTimes",
        },
        Case {
            tool: "search_mail",
            found: json!({ "query": "budget" }),
            check: |output| !output["messages"].as_array().unwrap().is_empty(),
            list: Some("messages"),
            nothing: Some(json!({ "query": "zebra quokka xylophone" })),
            many: None,
            bad: (json!({ "from": "not an address" }), "from"),
            permission: "Mail.Read",
            graph_path: "/v1.0/me/messages",
        },
        Case {
            tool: "read_mail",
            found: json!({ "message_id": message }),
            check: |output| {
                output["subject"] == sample::ATTACHMENT_MAIL_SUBJECT
                    && output["attachments"].as_array().unwrap().len() >= 3
            },
            list: None,
            nothing: None,
            many: None,
            bad: (json!({ "message_id": "" }), "message_id"),
            permission: "Mail.Read",
            graph_path: "/v1.0/me/messages/",
        },
        Case {
            tool: "find_people",
            found: json!({ "query": "megan" }),
            check: |output| has_item("people", "address", "megan@contoso.example")(output),
            list: Some("people"),
            nothing: Some(json!({ "query": "zzyzx" })),
            many: Some(json!({ "query": "a" })),
            bad: (json!({ "query": "megan\nbowen" }), "query"),
            permission: "People.Read",
            graph_path: "/v1.0/me/people",
        },
        Case {
            tool: "get_user",
            found: json!({ "user": "megan@contoso.example" }),
            check: |output| {
                output["user"]["name"] == "Megan Bowen"
                    && output["manager"]["name"] == "Miriam Graham"
                    && has_item("direct_reports", "name", "Alex Wilber")(output)
            },
            list: None,
            nothing: None,
            many: None,
            bad: (json!({ "user": "megan bowen" }), "user"),
            permission: "User.ReadBasic.All",
            graph_path: "/v1.0/users/",
        },
        Case {
            tool: "search_files",
            found: json!({ "query": "budget" }),
            check: |output| has_item("files", "name", "Budget 2025.xlsx")(output),
            list: Some("files"),
            nothing: Some(json!({ "query": "zzyzx" })),
            many: None,
            bad: (json!({ "query": "" }), "query"),
            permission: "Files.Read.All",
            graph_path: "/v1.0/me/drive/search",
        },
        Case {
            tool: "list_files",
            found: json!({}),
            check: |output| has_item("items", "name", "Quarterly review.docx")(output),
            list: Some("items"),
            nothing: None,
            many: None,
            bad: (json!({ "path": "Projects/../.." }), "path"),
            permission: "Files.Read.All",
            graph_path: "/v1.0/me/drive/root",
        },
        Case {
            tool: "read_file",
            found: json!({ "file_id": file_id }),
            check: |output| {
                output["text"]
                    .as_str()
                    .is_some_and(|text| text.contains("Revenue grew 8%"))
            },
            list: None,
            nothing: None,
            many: None,
            bad: (json!({ "file_id": "no-drive-in-this-id" }), "file_id"),
            permission: "Files.Read.All",
            graph_path: "/v1.0/drives/",
        },
        Case {
            tool: "list_tasks",
            found: json!({}),
            check: |output| has_item("tasks", "title", "Review the Northwind contract")(output),
            list: None,
            nothing: None,
            many: None,
            bad: (json!({ "max_results": "many" }), "max_results"),
            permission: "Tasks.Read",
            graph_path: "/v1.0/me/todo/lists",
        },
        Case {
            tool: "search_m365",
            found: json!({ "query": "budget" }),
            check: |output| {
                let hits = output["hits"].as_array().unwrap();
                ["mail", "event", "file"]
                    .iter()
                    .all(|kind| hits.iter().any(|hit| hit["kind"] == *kind))
            },
            list: Some("hits"),
            nothing: Some(json!({ "query": "zzyzx" })),
            many: Some(json!({ "query": "budget", "kinds": ["mail"] })),
            bad: (json!({ "query": "x".repeat(10_000) }), "query"),
            permission: "Sites.Read.All",
            graph_path: "/v1.0/search/query",
        },
    ]
}

#[tokio::test]
async fn every_tool_finds_what_the_sample_tenant_holds() {
    let server = server();
    for case in cases(&server).await {
        let body = call_as(&server, "adele", case.tool, case.found.clone()).await;
        let output = structured(&body);
        assert!((case.check)(output), "{}: {output:#}", case.tool);
        assert!(!text(&body).is_empty(), "{}: a text rendering", case.tool);
    }
}

#[tokio::test]
async fn list_tools_say_when_they_find_nothing() {
    let server = server();
    for case in cases(&server).await {
        let (Some(field), Some(nothing)) = (case.list, case.nothing) else {
            continue;
        };
        let body = call_as(&server, "adele", case.tool, nothing).await;
        let output = structured(&body);
        assert_eq!(output[field], json!([]), "{}: {output:#}", case.tool);
        assert!(output.get("next_cursor").is_none(), "{}", case.tool);
    }
}

#[tokio::test]
async fn list_tools_page_with_a_cursor_that_continues_where_they_stopped() {
    let server = server();
    for case in cases(&server).await {
        let Some(field) = case.list else {
            continue;
        };
        let mut first_args = case.many.unwrap_or(case.found);
        first_args["max_results"] = json!(1);
        let first = call_as(&server, "adele", case.tool, first_args.clone()).await;
        let first = structured(&first).clone();
        assert_eq!(first[field].as_array().unwrap().len(), 1, "{}", case.tool);
        let cursor = string(&first, "next_cursor").to_owned();
        let mut next_args = first_args;
        next_args["cursor"] = json!(cursor);
        let second = call_as(&server, "adele", case.tool, next_args).await;
        let second = structured(&second).clone();
        let items = second[field].as_array().unwrap();
        assert!(!items.is_empty(), "{}: {second:#}", case.tool);
        assert_ne!(
            first[field][0], items[0],
            "{}: the next page, not the first",
            case.tool
        );
    }
    // list_tasks pages over its own ordering.
    let first = call_as(&server, "adele", "list_tasks", json!({ "max_results": 2 })).await;
    let cursor = string(structured(&first), "next_cursor").to_owned();
    let second = call_as(&server, "adele", "list_tasks", json!({ "cursor": cursor })).await;
    let (first, second) = (structured(&first), structured(&second));
    assert_ne!(first["tasks"][0]["id"], second["tasks"][0]["id"]);
}

#[tokio::test]
async fn a_bad_argument_is_a_clear_tool_error_and_reaches_no_graph() {
    let server = server();
    for case in cases(&server).await {
        server.devstack.clear_requests();
        let (arguments, named) = case.bad;
        let body = call_as(&server, "adele", case.tool, arguments).await;
        let error = tool_error(&body);
        assert!(error.contains(named), "{}: {error}", case.tool);
        let graph: Vec<_> = graph_requests(&server)
            .into_iter()
            .filter(|request| request.path != "/v1.0/me/mailboxSettings")
            .collect();
        assert!(graph.is_empty(), "{}: {graph:#?}", case.tool);
    }
}

#[tokio::test]
async fn without_consent_for_its_permission_a_tool_says_which_and_how_to_grant_it() {
    let server = server();
    for case in cases(&server).await {
        server.devstack.withdraw_consent("adele", case.permission);
        let body = call_as(&server, "adele", case.tool, case.found.clone()).await;
        let error = tool_error(&body);
        assert!(
            error.contains("no consent") && error.contains(case.permission),
            "{}: {error}",
            case.tool
        );
        assert!(error.contains("admin-consent"), "{}: {error}", case.tool);
        server.devstack.set_consent(
            "adele",
            &server
                .devstack
                .consented_graph_permissions("adele")
                .into_iter()
                .chain([case.permission])
                .collect::<Vec<_>>(),
        );
    }
}

#[tokio::test]
async fn a_throttled_call_waits_as_graph_asks_and_then_answers() {
    let server = server();
    for case in cases(&server).await {
        server.devstack.inject_graph_faults(
            case.graph_path,
            vec![GraphFault::Status {
                status: 429,
                retry_after: Some("1".into()),
            }],
        );
        server.devstack.clear_requests();
        let body = call_as(&server, "adele", case.tool, case.found.clone()).await;
        let output = structured(&body);
        assert!((case.check)(output), "{}: {output:#}", case.tool);
        let attempts = graph_requests(&server)
            .iter()
            .filter(|request| request.path.starts_with(case.graph_path))
            .count();
        assert!(attempts >= 2, "{}: retried after the 429", case.tool);
    }
    // Graph that keeps throttling past the retries: the tool says how long to wait.
    server.devstack.inject_graph_faults(
        "/v1.0/me/people",
        vec![
            GraphFault::Status {
                status: 429,
                retry_after: Some("1".into()),
            };
            4
        ],
    );
    let body = call_as(&server, "adele", "find_people", json!({ "query": "megan" })).await;
    let error = tool_error(&body);
    assert!(
        error.contains("throttling") && error.contains("Wait"),
        "{error}"
    );
}
