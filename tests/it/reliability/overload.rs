//! Load shedding through the real binary: past the process's limit every further request,
//! authenticated or not, gets 503 with `Retry-After` while the admitted ones are still in
//! flight (so it did not wait for them), and the admitted ones finish; one caller cannot take
//! every slot; a flood of refused requests leaves memory where it was. The requests that hold
//! the slots are held by the token endpoint's stand-in, which answers none until the test lets
//! it: nothing here depends on timing.

use std::time::{Duration, Instant};

use devstack::{Upstream, UpstreamFault};
use reqwest::StatusCode;
use serde_json::json;

use super::rig::Answer;
use crate::harness::*;

/// Starts a handler with these limits and a long tool deadline (held requests must outlast the
/// test's steps).
fn server(process: usize, per_caller: usize) -> TestServer {
    TestServer::start_with(&[
        (MCP_MAX_CONCURRENT_REQUESTS.name, &process.to_string()),
        (
            MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER.name,
            &per_caller.to_string(),
        ),
        (MCP_TOOL_DEADLINE_SECONDS.name, "60"),
    ])
}

async fn call(server: &TestServer, token: &str, tool: &str) -> Answer {
    let response = call_tool(&server.mcp_url(), token, tool, json!({})).await;
    Answer::read(&server.handler, response).await
}

/// A fresh token for `user`: its first Graph tool call goes to the token endpoint.
fn fresh(server: &TestServer, user: &str) -> String {
    server
        .devstack
        .user_token(user, &[devstack::tenant::USER_IMPERSONATION])
}

/// Waits (a liveness bound) until the token endpoint's stand-in holds `count` requests.
async fn until_held(server: &TestServer, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.devstack.held_requests(Upstream::TokenEndpoint) < count {
        assert!(
            Instant::now() < deadline,
            "the token endpoint holds {} requests, not {count}",
            server.devstack.held_requests(Upstream::TokenEndpoint)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn assert_shed(answer: &Answer, reason: &str) {
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.retry_after.as_deref(), Some("1"), "{answer:?}");
    assert_eq!(answer.reason.as_deref(), Some(reason), "{answer:?}");
    assert_eq!(answer.body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn past_the_limit_requests_are_refused_at_once_and_the_admitted_ones_finish() {
    let server = server(4, 4);
    let warm = server.token();
    assert!(call(&server, &warm, "server_info").await.served());
    server
        .devstack
        .set_upstream_fault(Upstream::TokenEndpoint, Some(UpstreamFault::Hang));
    // Four users, four fresh tokens: four exchanges the stand-in holds, four slots taken.
    let users = ["adele", "alex", "megan", "lee"];
    let admitted: Vec<_> = users
        .iter()
        .map(|user| {
            let mcp_url = server.mcp_url();
            let token = fresh(&server, user);
            tokio::spawn(async move {
                call_tool(&mcp_url, &token, "get_my_profile", json!({}))
                    .await
                    .status()
            })
        })
        .collect();
    until_held(&server, 4).await;

    // A fifth caller, an unauthenticated request and a malformed one: all refused before
    // anything else is looked at, while the four are still held.
    assert_shed(
        &call(&server, &fresh(&server, "miriam"), "server_info").await,
        "shed_process_limit",
    );
    let unauthenticated = mcp_post(&reqwest::Client::new(), &server.mcp_url())
        .json(&tool_call("server_info", json!({})))
        .send()
        .await
        .unwrap();
    assert_shed(
        &Answer::read(&server.handler, unauthenticated).await,
        "shed_process_limit",
    );
    let garbage = mcp_post(&client_with_token("not-a-token"), &server.mcp_url())
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_shed(
        &Answer::read(&server.handler, garbage).await,
        "shed_process_limit",
    );
    assert!(
        admitted.iter().all(|request| !request.is_finished()),
        "the refusals did not wait for the admitted requests"
    );
    // The host's readiness probe and the metadata are not /mcp: never shed.
    assert_eq!(probe_root(server.handler.port), Some(200));
    let metadata = reqwest::get(server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);

    // The stand-in answers: every admitted request finishes, and slots are free again.
    server
        .devstack
        .set_upstream_fault(Upstream::TokenEndpoint, None);
    for request in admitted {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert!(call(&server, &warm, "server_info").await.served());
}

#[tokio::test]
async fn one_caller_cannot_take_every_slot() {
    let server = server(6, 2);
    // Alex's Graph token is cached: his calls need no token endpoint.
    let alex = fresh(&server, "alex");
    assert!(call(&server, &alex, "get_my_profile").await.served());
    server
        .devstack
        .set_upstream_fault(Upstream::TokenEndpoint, Some(UpstreamFault::Hang));

    // Adele's runaway agent: two calls held, then a flood.
    let held: Vec<_> = (0..2)
        .map(|_| {
            let mcp_url = server.mcp_url();
            let token = fresh(&server, "adele");
            tokio::spawn(async move {
                call_tool(&mcp_url, &token, "get_my_profile", json!({}))
                    .await
                    .status()
            })
        })
        .collect();
    until_held(&server, 2).await;
    // Twenty at once: each is refused, mostly for Adele's share, some (while the others hold
    // the process's free slots for the moment authentication takes) for the process's.
    let flood = (0..20).map(|_| {
        let token = fresh(&server, "adele");
        let server = &server;
        async move { call(server, &token, "get_my_profile").await }
    });
    for answer in futures::future::join_all(flood).await {
        let reason = answer.reason.clone().unwrap_or_default();
        assert!(
            reason == "shed_caller_limit" || reason == "shed_process_limit",
            "{answer:?}"
        );
        assert_shed(&answer, &reason);
    }
    let refused = call(&server, &fresh(&server, "adele"), "server_info").await;
    assert_shed(&refused, "shed_caller_limit");

    // Everyone else is served meanwhile, Graph tools included.
    assert!(call(&server, &alex, "get_my_profile").await.served());
    assert!(
        call(&server, &fresh(&server, "megan"), "server_info")
            .await
            .served()
    );
    assert_eq!(server.devstack.held_requests(Upstream::TokenEndpoint), 2);

    server
        .devstack
        .set_upstream_fault(Upstream::TokenEndpoint, None);
    for request in held {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert!(
        call(&server, &fresh(&server, "adele"), "server_info")
            .await
            .served(),
        "Adele's slots are hers again"
    );
}

/// Resident set of a process (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_flood_of_refused_requests_leaves_memory_where_it_was() {
    let server = server(2, 1);
    server
        .devstack
        .set_upstream_fault(Upstream::TokenEndpoint, Some(UpstreamFault::Hang));
    let held: Vec<_> = ["adele", "alex"]
        .iter()
        .map(|user| {
            let mcp_url = server.mcp_url();
            let token = fresh(&server, user);
            tokio::spawn(async move {
                call_tool(&mcp_url, &token, "get_my_profile", json!({}))
                    .await
                    .status()
            })
        })
        .collect();
    until_held(&server, 2).await;

    // Every request is refused: half with a valid token of a new caller each time, half
    // without one. A first round settles the allocator; the second must not grow it.
    let client = reqwest::Client::new();
    let flood = |round: usize| {
        let (server, client) = (&server, &client);
        async move {
            for batch in 0..20 {
                let requests = (0..50).map(|n| {
                    let mut request = mcp_post(client, &server.mcp_url()).json(&tool_call(
                        "server_info",
                        json!({ "n": round * 1000 + batch * 50 + n }),
                    ));
                    if n % 2 == 0 {
                        request = request.bearer_auth(fresh(server, "megan"));
                    }
                    request.send()
                });
                for response in futures::future::join_all(requests).await {
                    assert_eq!(response.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
                }
            }
        }
    };
    flood(0).await;
    let settled = rss_kib(server.handler.pid());
    flood(1).await;
    flood(2).await;
    let after = rss_kib(server.handler.pid());
    println!("resident set: {settled} KiB after 1,000 refusals, {after} KiB after 3,000");
    assert!(
        after <= settled + settled / 10,
        "memory grew from {settled} KiB to {after} KiB while refusing requests"
    );

    server
        .devstack
        .set_upstream_fault(Upstream::TokenEndpoint, None);
    for request in held {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
}

/// Peak resident set of a process (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// The measurement behind `MCP_MAX_CONCURRENT_REQUESTS`'s default (`scripts/soak --measure`
/// runs it; the buffers measured are the same in a debug and a release build): the most memory
/// one request in flight can hold. The largest answer the handler reads whole is a Graph answer
/// just under its 10 MiB cap; `get_my_profile` reads two at once. `concurrency` such requests run together, with Graph answering each just
/// under the cap, chunked (the buffer grows as it arrives, the worst case) or with its length
/// declared; the peak resident set above the idle one, divided by the requests, is the figure.
#[tokio::test]
#[ignore = "a measurement, not a check: scripts/soak --measure runs it"]
async fn measure_the_memory_a_request_in_flight_holds() {
    for declared in [false, true] {
        for concurrency in [8usize, 32] {
            let server = TestServer::start_with(&[(MCP_MAX_CONCURRENT_REQUESTS.name, "1000")]);
            let tokens: Vec<String> = (0..concurrency)
                .map(|n| {
                    let user = devstack::tenant::USERS[n % devstack::tenant::USERS.len()].key;
                    fresh(&server, user)
                })
                .collect();
            // Warm: every token exchanged, every code path run once.
            for token in &tokens {
                assert!(call(&server, token, "get_my_profile").await.served());
            }
            let idle = rss_kib(server.handler.pid());
            server.devstack.inject_graph_faults(
                "/v1.0/me",
                vec![
                    devstack::GraphFault::Oversized {
                        bytes: 10 * 1024 * 1024 - 1024,
                        declared,
                    };
                    2 * concurrency
                ],
            );
            let calls = tokens
                .iter()
                .map(|token| call(&server, token, "get_my_profile"));
            for answer in futures::future::join_all(calls).await {
                assert!(answer.tool_error().is_some(), "{answer:?}");
            }
            let peak = peak_rss_kib(server.handler.pid());
            println!(
                "{concurrency} requests in flight, Graph answers of 10 MiB {}: idle {} MiB, \
                 peak {} MiB, {:.1} MiB per request",
                if declared {
                    "with Content-Length"
                } else {
                    "chunked"
                },
                idle / 1024,
                peak / 1024,
                (peak.saturating_sub(idle)) as f64 / 1024.0 / concurrency as f64
            );
        }
    }
}
