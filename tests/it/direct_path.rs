//! Plain `tools/call` and `tools/list` requests are answered by the direct path
//! (src/transport/direct.rs) instead of rmcp's per-request session. A request with an
//! `Origin` header always goes to rmcp, so sending each request with and without an allowed
//! `Origin` compares the two paths: the answers must be the same, byte for byte.

use serde_json::{Value, json};

use crate::harness::*;

const ORIGIN: &str = "http://localhost:6274";

async fn answer(
    server: &TestServer,
    token: &str,
    version: Option<&str>,
    origin: bool,
    body: &Value,
) -> (u16, String, Vec<u8>) {
    let mut request = mcp_post(&client_with_token(token), &server.mcp_url()).json(body);
    if let Some(version) = version {
        request = request.header("mcp-protocol-version", version);
    }
    if origin {
        request = request.header("origin", ORIGIN);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test]
async fn the_direct_path_answers_exactly_as_rmcp_does() {
    let server = TestServer::start_with(&[("MCP_ALLOWED_ORIGINS", ORIGIN)]);
    let user = server.token();
    let operator = server
        .devstack
        .user_token("megan", &[devstack::tenant::USER_IMPERSONATION]);
    let app = server.devstack.app_token("daemon", &["MCP.Operator"]);
    let requests = [
        tools_list(),
        rpc(7, "tools/list", json!({})),
        tool_call("server_info", json!({})),
        tool_call("server_info", json!({ "unexpected": 1 })),
        tool_call("no_such_tool", json!({})),
        tool_call("get_my_profile", json!({})),
        tool_call("list_events", json!({ "start": "next Tuesday" })),
        rpc(8, "tools/call", json!({ "name": "server_info" })),
        json!({ "jsonrpc": "2.0", "id": "text-id", "method": "tools/call",
                "params": { "name": "server_info", "arguments": {} } }),
    ];
    let mut compared = 0;
    for token in [&user, &operator, &app] {
        for version in [None, Some("2025-06-18"), Some("2025-11-25")] {
            for body in &requests {
                let direct = answer(&server, token, version, false, body).await;
                let by_rmcp = answer(&server, token, version, true, body).await;
                assert_eq!(
                    (direct.0, &direct.1, String::from_utf8_lossy(&direct.2)),
                    (by_rmcp.0, &by_rmcp.1, String::from_utf8_lossy(&by_rmcp.2)),
                    "{version:?} {body}"
                );
                if direct.0 == 200 {
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 40, "only {compared} answers compared");
}
