//! Graph's etiquette under load: never more than four requests in flight against one mailbox
//! (Outlook's limit), however many calls of that user arrive together, while other users are
//! not held up; and a tool's Graph calls share one deadline.

use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test]
async fn at_most_four_requests_run_against_one_mailbox_and_none_is_throttled_for_it() {
    // More calls at once than the per-caller default admits: the mailbox limit is what is tested.
    let server = TestServer::start_with(&[
        (MCP_TOOLSETS.name, ALL_TOOLSETS),
        (MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER.name, "16"),
    ]);
    server
        .devstack
        .set_graph_latency("/v1.0/me/messages", Duration::from_millis(300));
    // Ten calls at once, each with its own time-zone read and listing.
    let calls =
        (0..10).map(|_| call_as(&server, "adele", "search_mail", json!({ "max_results": 1 })));
    let megan = call_as(&server, "megan", "search_mail", json!({ "max_results": 1 }));
    let (results, megan) = tokio::join!(futures::future::join_all(calls), megan);
    for body in results.iter().chain([&megan]) {
        structured(body);
    }
    assert!(server.devstack.max_concurrent_graph_requests("adele") <= 4);
    assert!(
        server.devstack.max_concurrent_graph_requests("adele") >= 2,
        "the calls did overlap"
    );
    let throttled = graph_requests(&server)
        .iter()
        .filter(|request| request.path == "/v1.0/me/messages")
        .count();
    assert_eq!(
        throttled, 11,
        "one request per call: nothing was refused and retried"
    );
}

#[tokio::test]
async fn a_tools_graph_calls_share_one_deadline() {
    // Each of search_mail's two calls (the time zone, then the messages) takes 1.2 s: each is
    // within a 2-second deadline, both together are not.
    let server = TestServer::start_with(&[
        (MCP_TOOLSETS.name, ALL_TOOLSETS),
        (MCP_TOOL_DEADLINE_SECONDS.name, "2"),
    ]);
    server
        .devstack
        .set_graph_latency("/v1.0/me/mailboxSettings", Duration::from_millis(1200));
    server
        .devstack
        .set_graph_latency("/v1.0/me/messages", Duration::from_millis(1200));
    let body = call_as(
        &server,
        "adele",
        "search_mail",
        json!({ "query": "budget" }),
    )
    .await;
    let error = tool_error(&body);
    assert!(error.contains("2-second limit"), "{error}");
    // Unrelated tools keep answering meanwhile.
    let info = call_as(&server, "adele", "server_info", json!({})).await;
    structured(&info);
}
