//! Per-tool authorization: each caller sees and may call exactly the tools it holds what they need
//! for, and every accepted request is audited with the caller and the tool, never the token.

use devstack::tenant::{DAEMON_CLIENT_ID, MCP_OPERATOR};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::harness::*;

fn call(server: &TestServer, token: &str, tool: &str) -> RequestBuilder {
    mcp_post(&client_with_token(token), &server.mcp_url()).json(&tool_call(tool, json!({})))
}

#[tokio::test]
async fn tools_are_listed_and_callable_only_for_callers_holding_what_they_need() {
    let server = TestServer::start_with(&[(MCP_ALLOWED_APP_ROLES.name, MCP_OPERATOR)]);
    let adele = server.token();
    let megan = server.devstack.user_token("megan", &[USER_IMPERSONATION]);
    let daemon = server.devstack.app_token(DAEMON_CLIENT_ID, &[MCP_OPERATOR]);

    assert_eq!(
        tool_names(&server.mcp_url(), &adele).await,
        vec!["server_info", "get_my_profile"]
    );
    assert_eq!(
        tool_names(&server.mcp_url(), &megan).await,
        vec!["server_info", "get_my_profile", "server_status"]
    );
    // An application acts for no user: no Graph tools.
    assert_eq!(
        tool_names(&server.mcp_url(), &daemon).await,
        vec!["server_info", "server_status"]
    );

    // Calling a tool gated by an app role one does not hold: 403 saying an administrator must
    // assign the role, and no scope challenge (no scope can grant a role), audited.
    let response = call(&server, &adele, "server_status").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "a scope challenge a client would step up on in vain: {:?}",
        response.headers().get("www-authenticate")
    );
    let event = server.handler.event_of(&response);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(refusal["error"], "app_role_required", "{refusal}");
    let description = refusal["error_description"].as_str().unwrap();
    assert!(description.contains(MCP_OPERATOR), "{description}");
    assert!(
        description.contains("administrator must assign"),
        "{description}"
    );
    assert_eq!(event["reason"], "tool_not_permitted");
    assert_eq!(event["tool"], "server_status");
    assert_eq!(
        event["oid"],
        server.devstack.user_claims("adele", &[])["oid"]
    );

    // Holders of the role get the operator view: every tool with its access and Graph scopes.
    for token in [&megan, &daemon] {
        let body: Value = call(&server, token, "server_status")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = &body["result"]["structuredContent"];
        assert_eq!(status["tenantId"], server.devstack.tenant_id());
        assert_eq!(status["publicUrl"], server.mcp_url());
        let tools = status["tools"].as_array().unwrap();
        assert_eq!(tools[0]["name"], "server_info");
        assert_eq!(tools[0]["requires"], "any caller");
        assert_eq!(tools[0]["graphScopes"], json!([]));
        assert_eq!(tools[1]["name"], "get_my_profile");
        assert_eq!(tools[1]["requires"], "user");
        assert_eq!(
            tools[1]["graphScopes"],
            json!(["User.Read", "MailboxSettings.Read"])
        );
        assert_eq!(tools[2]["name"], "server_status");
        assert_eq!(tools[2]["requires"], format!("app role {MCP_OPERATOR}"));
    }

    // App-only callers need an admitted role.
    let daemon_without_role = server.devstack.app_token(DAEMON_CLIENT_ID, &[]);
    assert_refused(
        &server,
        "daemon without role",
        post_with(&server, bearer(daemon_without_role)),
        forbidden("app_only_not_allowed"),
    )
    .await;
    let daemon_other_role = server.devstack.app_token(DAEMON_CLIENT_ID, &["Some.Other"]);
    assert_refused(
        &server,
        "daemon with another role",
        post_with(&server, bearer(daemon_other_role)),
        forbidden("app_only_not_allowed"),
    )
    .await;
}

#[tokio::test]
async fn accepted_requests_are_audited_with_the_caller_and_tool_and_never_the_token() {
    let server = TestServer::start();
    let token = server.token();
    let response = call(&server, &token, "server_info").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let event = server.handler.event_of(&response);
    let claims = server.devstack.user_claims("adele", &[]);
    assert_eq!(event["outcome"], "accepted");
    assert_eq!(event["tid"], claims["tid"]);
    assert_eq!(event["oid"], claims["oid"]);
    assert_eq!(event["azp"], claims["azp"]);
    assert_eq!(event["tool"], "server_info");
    assert!(event["latency_ms"].is_number());
    assert!(event.get("reason").is_none());
    assert!(!server.handler.output.all().contains(&token));
}
