//! Operators choose the toolsets (`MCP_TOOLSETS`): a caller sees exactly the enabled tools it
//! may call, a disabled tool is unknown, and the tool list stays small enough to send with
//! every turn.

use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn only_the_enabled_toolsets_tools_are_listed_and_callable() {
    let server = TestServer::start_with(&[(MCP_TOOLSETS.name, "mail, calendar")]);
    let listed = tool_names(&server.mcp_url(), &token_of(&server, "adele")).await;
    assert_eq!(
        listed,
        vec![
            "server_info",
            "list_events",
            "get_event",
            "find_meeting_times",
            "search_mail",
            "read_mail"
        ]
    );
    server.devstack.clear_requests();
    let body = call_as(&server, "adele", "find_people", json!({ "query": "megan" })).await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert!(graph_requests(&server).is_empty());
    assert!(
        server.devstack.obo_exchanges() == 0,
        "no token was even exchanged"
    );
}

#[tokio::test]
async fn by_default_every_read_tool_is_listed_and_no_write_tool() {
    let server = TestServer::start();
    let listed = tool_names(&server.mcp_url(), &token_of(&server, "adele")).await;
    assert_eq!(listed, USER_TOOLS);
}

#[tokio::test]
async fn the_tool_list_stays_under_16_kb_for_readers_and_20_kb_with_every_tool() {
    let server = server();
    let size = |token: String| {
        let url = server.mcp_url();
        async move {
            let response = list_tools(&url, &token).await;
            let bytes = response.bytes().await.unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            (
                bytes.len(),
                body["result"]["tools"].as_array().unwrap().len(),
            )
        }
    };
    let (reader, readers_tools) = size(token_of(&server, "adele")).await;
    let (everything, all_tools) = size(token_of(&server, "megan")).await;
    assert_eq!(readers_tools, 14);
    assert_eq!(all_tools, 17, "Megan holds MCP.Operator and MCP.Writer");
    assert!(reader < 16 * 1024, "{reader} bytes");
    assert!(everything < 20 * 1024, "{everything} bytes");
}
