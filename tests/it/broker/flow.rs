//! The broker's flows as clients use them: discovery, registration or a metadata document,
//! sign-in with consent, tokens, refresh, revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::harness::{LATEST, call_tool, tool_names};

#[tokio::test]
async fn a_registered_client_signs_in_consents_and_calls_get_my_profile() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Test Client").await;
    let tokens = stack.tokens_for(&client_id, "adele").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_u64().unwrap() > 60);
    assert_eq!(tokens["scope"], stack.scope());
    let access_token = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert!(
        refresh_token.starts_with("mrt1."),
        "the refresh token is ours"
    );

    let mcp = stack.url("/mcp");
    assert!(
        tool_names(&mcp, access_token)
            .await
            .contains(&"get_my_profile".to_owned())
    );
    let response = call_tool(&mcp, access_token, "get_my_profile", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["displayName"], "Adele Vance",
        "{body}"
    );
    let _ = LATEST;
}
