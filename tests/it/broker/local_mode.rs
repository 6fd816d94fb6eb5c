//! `cargo run` honours `MCP_AUTHORIZATION=broker`: with no tenant configured, the handler starts
//! the local stand-ins, brokers the local Entra ID with an in-process store, and any MCP client
//! signs in from nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::harness::{call_tool, free_port};

#[tokio::test]
async fn local_mode_brokers_the_local_entra_stand_in() {
    let port = free_port();
    let devstack_port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let devstack_addr = format!("127.0.0.1:{devstack_port}");
    let mut handler = Handler::start(
        &[
            ("MCP_LISTEN_ADDR", listen.as_str()),
            ("MCP_DEVSTACK_ADDR", devstack_addr.as_str()),
            (MCP_AUTHORIZATION.name, "broker"),
        ],
        None,
    );
    handler.port = port;
    handler.wait_ready();
    let issuer = format!("http://127.0.0.1:{port}");
    let public_url = format!("{issuer}/mcp");

    let prm: Value = reqwest::get(format!("{issuer}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["authorization_servers"], json!([issuer]));

    let (status, registration) = {
        let response = reqwest::Client::new()
            .post(format!("{issuer}/register"))
            .json(&json!({ "client_name": "Local", "redirect_uris": [CLIENT_REDIRECT] }))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::CREATED, "{registration}");
    let client_id = registration["client_id"].as_str().unwrap();

    let mut browser = Browser::following(&[&issuer, &format!("http://{devstack_addr}")]);
    let request = AuthorizationRequest::new(
        client_id,
        &format!("{public_url}/user_impersonation"),
        &public_url,
    );
    let mut url = Url::parse(&format!("{issuer}/authorize")).unwrap();
    for (name, value) in request.params() {
        url.query_pairs_mut().append_pair(&name, &value);
    }
    let outcome = browser.open(url.as_str()).await;
    let (_, page) = outcome.page();
    let code = browser
        .submit_consent(&issuer, page, "approve")
        .await
        .code();
    let (status, tokens) = token_at(
        &format!("{issuer}/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", &code),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let response = call_tool(
        &public_url,
        tokens["access_token"].as_str().unwrap(),
        "get_my_profile",
        json!({}),
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["displayName"], "Adele Vance",
        "{body}"
    );
}
