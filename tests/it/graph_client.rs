//! The Graph client against the devstack's Graph stand-in, for what no tool exercises yet:
//! bounded paging with a continuation cursor, `$search` with `ConsistencyLevel: eventual`, and
//! request building that no argument can bend (path segments, OData literals).

use std::{sync::LazyLock, time::Duration};

use devstack::Devstack;
use m365_mcp::{
    graph::{
        Filter, GraphClient, GraphError, GraphRequest,
        paging::{Cursor, Limits},
    },
    outbound::{Call, OutboundHttp},
    telemetry::CallRecord,
};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

#[derive(Debug, Deserialize)]
struct Item {
    id: String,
}

fn client(devstack: &Devstack) -> GraphClient {
    GraphClient::new(
        OutboundHttp::default(),
        &Url::parse(devstack.graph_base_url()).unwrap(),
    )
}

/// A call with time to spare, on behalf of no MCP request in particular.
fn call() -> Call<'static> {
    static RECORD: LazyLock<CallRecord> = LazyLock::new(CallRecord::default);
    Call {
        deadline: Instant::now() + Duration::from_secs(20),
        request_id: "graph-client-test",
        record: &RECORD,
    }
}

#[tokio::test]
async fn listing_follows_next_links_within_bounds_and_continues_from_the_cursor() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let graph = client(&devstack);
    let token = devstack.graph_token("adele", &["Mail.Read"]);
    let messages = GraphRequest::get("me/messages", &[], &["id", "subject"]).top(10);
    let limits = Limits {
        max_pages: 2,
        max_items: 100,
    };

    let first = graph
        .list::<Item>(&token, &messages, None, limits, call())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.items.len(), 20, "two pages of ten, then stop");
    let cursor = first.next.expect("more messages remain");
    assert!(
        !cursor.as_str().contains("127.0.0.1"),
        "the cursor is relative to the API root"
    );

    // A client sends the cursor back: the listing continues where it stopped.
    let rest = graph
        .list::<Item>(
            &token,
            &messages,
            Some(&cursor),
            Limits {
                max_pages: 10,
                max_items: 1000,
            },
            call(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(rest.next.is_none(), "everything read");
    let mut ids: Vec<&str> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|item| item.id.as_str())
        .collect();
    let total = ids.len();
    assert!(total >= 25, "{total} messages");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no message twice");

    // Stopping on items: one page of ten is more than five, so no second page is read.
    let requests_before = devstack.requests().len();
    let few = graph
        .list::<Item>(
            &token,
            &messages,
            None,
            Limits {
                max_pages: 5,
                max_items: 5,
            },
            call(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(few.items.len(), 10, "a page read is never cut");
    assert!(few.next.is_some());
    assert_eq!(devstack.requests().len() - requests_before, 1);

    // A cursor whose dot segments lift it out of the API root is refused without a request (one
    // that names another host is appended to the root: a path on Graph, see graph::paging).
    let forged: Cursor = serde_json::from_value("me/../../beta/me".into()).unwrap();
    let refused = graph
        .list::<Item>(&token, &messages, Some(&forged), limits, call())
        .await
        .unwrap();
    assert!(refused.is_err());
    assert_eq!(devstack.requests().len() - requests_before, 1);
}

#[tokio::test]
async fn search_asks_for_eventual_consistency_and_literals_and_segments_stay_data() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let graph = client(&devstack);
    let token = devstack.graph_token("adele", &["User.ReadBasic.All", "User.Read.All"]);

    #[derive(Deserialize)]
    struct Users {
        value: Vec<Item>,
    }
    // The stand-in answers 400 to $search without ConsistencyLevel, as Graph does.
    let search =
        GraphRequest::get("users", &[], &["id", "displayName"]).search("displayName:Megan");
    let found: Users = graph.send(&token, &search, call()).await.unwrap();
    assert_eq!(found.value.len(), 1);
    let recorded = devstack.requests();
    let sent = recorded
        .iter()
        .rev()
        .find(|r| r.path == "/v1.0/users")
        .unwrap();
    assert_eq!(sent.header("consistencylevel"), Some("eventual"));
    assert!(sent.header("client-request-id").is_some());

    // A filter value is one quoted literal: an exact name matches one user, a value that tries
    // to widen the query matches nothing (unescaped, it would match everyone).
    let by_name = |value: &str| {
        GraphRequest::get("users", &[], &["id"]).filter(&Filter::eq("displayName", value))
    };
    let exact: Users = graph
        .send(&token, &by_name("Megan Bowen"), call())
        .await
        .unwrap();
    assert_eq!(exact.value.len(), 1);
    let widened: Users = graph
        .send(&token, &by_name("x' or displayName ne 'x"), call())
        .await
        .unwrap();
    assert!(widened.value.is_empty());

    // An id that tries to climb out of its segment stays one segment: not found, not /me.
    let climbing = GraphRequest::get("users/{}", &["../me"], &["id"]);
    let answer: Result<Item, GraphError> = graph.send(&token, &climbing, call()).await;
    assert!(
        matches!(answer, Err(GraphError::Status { status: 404, .. })),
        "{answer:?}"
    );
    let sent = devstack.requests();
    let last = sent.iter().rev().find(|r| r.service == "graph").unwrap();
    assert_eq!(last.path, "/v1.0/users/..%2Fme");
}

#[tokio::test]
async fn dot_and_empty_segments_are_refused_before_anything_is_sent() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let graph = client(&devstack);
    let token = devstack.graph_token("adele", &["User.ReadBasic.All", "Mail.Read"]);
    // Each would resolve to another resource: `users/..` is the API root, `me/messages/.` is
    // the message list, `users//manager` is not the user's manager.
    for (route, segments) in [
        ("users/{}", &[".."][..]),
        ("users/{}/{}", &["..", "me"]),
        ("me/messages/{}", &["."]),
        ("users/{}/manager", &[""]),
        ("users/{}", &[""]),
        ("me/drive/root:/{/}:/children", &["Documents/../../users"]),
    ] {
        let before = devstack.requests().len();
        let request = GraphRequest::get(route, segments, &["id"]);
        let answer: Result<Item, GraphError> = graph.send(&token, &request, call()).await;
        assert!(answer.is_err(), "{segments:?}: {answer:?}");
        assert!(
            !matches!(answer, Err(GraphError::Status { .. })),
            "{segments:?}: refused here, not by Graph: {answer:?}"
        );
        assert_eq!(
            devstack.requests().len(),
            before,
            "{segments:?}: nothing reached Graph"
        );
    }
}
