//! Where a token may come from and the rules every accepted token meets: the header only, the
//! scheme, expiry, every method, v1 tokens, allowed client applications.

use std::time::Duration;

use devstack::tenant::{OTHER_CLIENT_ID, VSCODE_CLIENT_ID};
use reqwest::{Client, StatusCode};
use serde_json::json;

use super::*;
use crate::harness::*;

#[tokio::test]
async fn a_token_only_in_the_query_string_or_the_body_does_not_authenticate() {
    let server = TestServer::start();
    let token = server.token();
    let query = mcp_post(&Client::new(), &server.mcp_url())
        .query(&[("access_token", token.as_str())])
        .json(&tools_list());
    let no_token = || Refused {
        status: StatusCode::UNAUTHORIZED,
        error: None,
        reason: "no_token",
    };
    assert_refused(&server, "query string", query, no_token()).await;
    let body = mcp_post(&Client::new(), &server.mcp_url()).json(&json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": { "access_token": token, "_meta": { "authorization": format!("Bearer {token}") } }
    }));
    assert_refused(&server, "body", body, no_token()).await;
    let form = Client::new()
        .post(server.mcp_url())
        .form(&[("access_token", token.as_str())]);
    assert_refused(&server, "form body", form, no_token()).await;
}

#[tokio::test]
async fn the_scheme_is_case_insensitive_and_two_authorization_headers_are_refused() {
    let server = TestServer::start();
    let token = server.token();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = post_with(&server, Some(format!("{scheme} {token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
    let twice =
        post_with(&server, bearer(&token)).header("authorization", format!("Bearer {token}"));
    assert_refused(
        &server,
        "two Authorization headers",
        twice,
        Refused {
            status: StatusCode::BAD_REQUEST,
            error: None,
            reason: "ambiguous_credentials",
        },
    )
    .await;
}

#[tokio::test]
async fn expiry_is_checked_with_a_small_leeway() {
    let server = TestServer::start();
    let just_expired = signed_with(&server, |c| c["exp"] = (now() - 20).into());
    assert_accepted(
        &server,
        "expired 20 s ago, within the leeway",
        &just_expired,
    )
    .await;
    let long_expired = signed_with(&server, |c| c["exp"] = (now() - 120).into());
    assert_refused(
        &server,
        "expired 2 min ago",
        post_with(&server, bearer(long_expired)),
        unauthorized("expired"),
    )
    .await;
}

#[tokio::test]
async fn every_method_and_http_verb_needs_a_token_before_anything_else_is_read() {
    let server = TestServer::start();
    let client = Client::new();
    let no_token = || Refused {
        status: StatusCode::UNAUTHORIZED,
        error: None,
        reason: "no_token",
    };
    for body in [
        initialize(LATEST),
        rpc(2, "ping", json!({})),
        tool_call("server_info", json!({})),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    ] {
        let method = body["method"].as_str().unwrap().to_owned();
        assert_refused(
            &server,
            &method,
            mcp_post(&client, &server.mcp_url()).json(&body),
            no_token(),
        )
        .await;
    }
    let get = client
        .get(server.mcp_url())
        .header("accept", "text/event-stream");
    assert_refused(&server, "GET", get, no_token()).await;
    assert_refused(
        &server,
        "DELETE",
        client.delete(server.mcp_url()),
        no_token(),
    )
    .await;
    // The body is not read before the token is checked: a client that announces 2 MiB and
    // sends almost nothing still gets its 401 at once, not a 413 and not a wait.
    let answer = tokio::task::spawn_blocking({
        let port = server.handler.port;
        move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let head = format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{{",
                2 * 1024 * 1024
            );
            stream.write_all(head.as_bytes()).unwrap();
            let mut status = [0u8; 12];
            stream.read_exact(&mut status).unwrap();
            String::from_utf8_lossy(&status[9..12]).into_owned()
        }
    })
    .await
    .unwrap();
    assert_eq!(answer, "401");
    let malformed = mcp_post(&client, &server.mcp_url()).body("{not json");
    assert_refused(&server, "malformed body", malformed, no_token()).await;
}

#[tokio::test]
async fn v1_tokens_are_accepted_only_when_enabled() {
    let server = TestServer::start_with(&[(MCP_ACCEPT_V1_TOKENS.name, "true")]);
    let tenant = server.devstack.tenant_id().to_owned();
    // v1: sts.windows.net issuer, the identifier URI as audience, appid instead of azp.
    let v1 = signed_with(&server, |c| {
        c["iss"] = format!("https://sts.windows.net/{tenant}/").into();
        c["aud"] = server.devstack.identifier_uri().into();
        c["appid"] = c["azp"].clone();
        c["ver"] = "1.0".into();
        c.as_object_mut().unwrap().remove("azp");
    });
    assert_accepted(&server, "v1 token", &v1).await;
    let v1_other_tenant = signed_with(&server, |c| {
        c["iss"] = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/".into();
    });
    assert_refused(
        &server,
        "v1 issuer of another tenant",
        post_with(&server, bearer(v1_other_tenant)),
        unauthorized("wrong_issuer"),
    )
    .await;
}

#[tokio::test]
async fn only_allowed_client_applications_may_call() {
    let server = TestServer::start_with(&[(MCP_ALLOWED_CLIENT_APPS.name, VSCODE_CLIENT_ID)]);
    let from = |client: &str| signed_with(&server, |c| c["azp"] = client.into());
    assert_accepted(&server, "allowed client", &from(VSCODE_CLIENT_ID)).await;
    assert_refused(
        &server,
        "dev client",
        post_with(&server, bearer(server.token())),
        unauthorized("client_not_allowed"),
    )
    .await;
    assert_refused(
        &server,
        "other client",
        post_with(&server, bearer(from(OTHER_CLIENT_ID))),
        unauthorized("client_not_allowed"),
    )
    .await;
}
