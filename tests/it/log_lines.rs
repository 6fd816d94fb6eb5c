//! Log lines are written in batches by a thread of their own (src/telemetry.rs); none may be
//! lost when the process stops.

use std::time::Duration;

use futures::future::join_all;

use crate::harness::*;

#[tokio::test]
async fn every_request_line_is_on_stdout_after_a_sigterm_stop() {
    let mut server = TestServer::start();
    let client = server.client();
    let mut request_ids = Vec::new();
    for _ in 0..10 {
        let answers = join_all((0..50).map(|_| {
            mcp_post(&client, &server.mcp_url())
                .json(&tools_list())
                .send()
        }))
        .await;
        for answer in answers {
            let answer = answer.unwrap();
            assert_eq!(answer.status(), 200);
            request_ids.push(
                answer.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    // Stop at once: lines still waiting for their batch must be written on the way out.
    server.handler.signal("TERM");
    let status = server.handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let logged: Vec<String> = server
        .handler
        .output
        .events()
        .into_iter()
        .filter(|event| event["message"] == "request")
        .filter_map(|event| event["request_id"].as_str().map(str::to_owned))
        .collect();
    for id in &request_ids {
        assert!(logged.contains(id), "request {id} has no line");
    }
    // Every line whole: each stdout line is one JSON event.
    for line in server.handler.output.stdout() {
        assert!(
            serde_json::from_str::<serde_json::Value>(&line).is_ok(),
            "not a whole JSON line: {line}"
        );
    }
}
