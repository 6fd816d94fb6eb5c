//! Outbound identity against the real binary and the devstack's stand-ins: the on-behalf-of
//! exchange and its cache, where the caller's token goes (and does not), Graph throttling,
//! outages and slowness, consent and Conditional Access, Key Vault rotation and outages.

use std::time::{Duration, Instant};

use crate::harness::*;
use devstack::{
    GraphFault,
    tenant::{USER_IMPERSONATION, VSCODE_CLIENT_ID},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The mailbox-settings call of `get_my_profile`: a path no other call shares a prefix with, so
/// faults injected there hit exactly that call.
const SETTINGS_PATH: &str = "/v1.0/me/mailboxSettings";

fn graph_calls(server: &TestServer, path: &str) -> usize {
    server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.service == "graph" && r.path == path)
        .count()
}

/// Calls `get_my_profile` as `user`; the HTTP status and the JSON body.
async fn profile_of(server: &TestServer, user: &str) -> (StatusCode, Value) {
    let token = server.devstack.user_token(user, &[USER_IMPERSONATION]);
    let response = call_tool(&server.mcp_url(), &token, "get_my_profile", json!({})).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn tool_text(body: &Value) -> String {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_tool_error(body: &Value, says: &str, next: &str) {
    assert_eq!(body["result"]["isError"], true, "{body}");
    let text = tool_text(body);
    assert!(text.contains(says), "{text}");
    assert!(
        text.contains(&format!("What to do: {next}")) || text.contains(next),
        "{text}"
    );
}

#[tokio::test]
async fn get_my_profile_returns_the_signed_in_user_from_graph() {
    let server = TestServer::start();
    let (status, body) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
    let profile = &body["result"]["structuredContent"];
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(profile["displayName"], "Adele Vance");
    assert_eq!(profile["userPrincipalName"], "adele@contoso.example");
    assert_eq!(
        profile["id"],
        server.devstack.user_claims("adele", &[])["oid"]
    );
    assert!(
        profile["timeZone"]
            .as_str()
            .unwrap()
            .ends_with("Standard Time")
    );
    assert_eq!(profile["timeZoneNote"], Value::Null);
    // The text rendering is the same JSON.
    let text: Value = serde_json::from_str(&tool_text(&body)).unwrap();
    assert_eq!(&text, profile);

    // It asked Graph only for what it uses.
    let graph: Vec<_> = server
        .devstack
        .requests()
        .into_iter()
        .filter(|r| r.service == "graph")
        .collect();
    assert_eq!(graph.len(), 2);
    for request in &graph {
        let query = request.query.as_deref().unwrap_or_default();
        assert!(
            query.contains("%24select=") || query.contains("$select="),
            "{query}"
        );
        assert!(request.header("client-request-id").is_some());
    }
}

#[tokio::test]
async fn graph_calls_and_the_exchange_are_logged_with_the_mcp_request_that_caused_them() {
    let server = TestServer::start();
    let response = call_tool(
        &server.mcp_url(),
        &server.token(),
        "get_my_profile",
        json!({}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let request = server.handler.event_of(&response);
    let id = request["request_id"].as_str().unwrap().to_owned();
    let events = server.handler.output.events();
    let of_request = |message: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|event| event["message"] == message && event["request_id"] == id.as_str())
            .cloned()
            .collect()
    };
    let exchanges = of_request("on-behalf-of exchange");
    assert_eq!(exchanges.len(), 1, "{events:#?}");
    assert_eq!(exchanges[0]["oid"], request["oid"]);
    let graph_calls = of_request("graph call");
    assert_eq!(graph_calls.len(), 2, "/me and /me/mailboxSettings");
    let graph_ids: Vec<String> = server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.service == "graph")
        .map(|r| r.header("client-request-id").unwrap().to_owned())
        .collect();
    for call in &graph_calls {
        assert!(graph_ids.contains(&call["client_request_id"].as_str().unwrap().to_owned()));
        assert!(!call["graph_request_id"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_tool_list_shows_get_my_profile_to_users_only() {
    let server = TestServer::start_with(&[(MCP_ALLOWED_APP_ROLES.name, "MCP.Operator")]);
    assert_eq!(
        tool_names(&server.mcp_url(), &server.token()).await,
        USER_TOOLS
    );
    let daemon = server.devstack.app_token("daemon", &["MCP.Operator"]);
    assert_eq!(
        tool_names(&server.mcp_url(), &daemon).await,
        vec!["server_info", "server_status"]
    );
}

/// Calls `get_my_profile` with `token`; the HTTP status and the JSON body.
async fn profile_with(server: &TestServer, token: &str) -> (StatusCode, Value) {
    let response = call_tool(&server.mcp_url(), token, "get_my_profile", json!({})).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn one_exchange_per_caller_token_however_many_calls_arrive_together() {
    // Limits above the hundred calls: this is about the exchange, not about shedding load.
    let server = TestServer::start_with(&[
        (MCP_MAX_CONCURRENT_REQUESTS.name, "1000"),
        (MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER.name, "1000"),
    ]);
    let users = [
        "adele", "alex", "megan", "lee", "miriam", "nestor", "patti", "diego", "isaiah", "johanna",
    ];
    let tokens: Vec<String> = users
        .iter()
        .map(|user| server.devstack.user_token(user, &[USER_IMPERSONATION]))
        .collect();
    let calls = (0..100).map(|i| profile_with(&server, &tokens[i % tokens.len()]));
    let results = futures::future::join_all(calls).await;
    for (status, body) in results {
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["result"]["isError"], false, "{body}");
    }
    assert_eq!(server.devstack.obo_exchanges(), 10);
    // Ten exchanges, one client assertion: azure_identity caches the managed identity's token.
    let assertions = server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.service == "managed_identity")
        .filter(|r| {
            r.query
                .as_deref()
                .is_some_and(|q| q.contains("AzureADTokenExchange"))
        })
        .count();
    assert_eq!(assertions, 1);
    // And later calls with the same tokens still use the cache.
    let (status, _) = profile_with(&server, &tokens[0]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.devstack.obo_exchanges(), 10);
}

#[tokio::test]
async fn each_token_of_one_user_gets_its_own_exchange() {
    // A Graph token obtained for one of the user's tokens must not serve another: that would
    // skip Entra's Conditional Access, revocation and sign-in frequency checks for it.
    let server = TestServer::start();
    let devstack = &server.devstack;
    let first = devstack.user_token("adele", &[USER_IMPERSONATION]);
    let mut claims = devstack.user_claims("adele", &[USER_IMPERSONATION]);
    claims["azp"] = VSCODE_CLIENT_ID.into();
    let other_client = devstack.sign(&devstack.token_header(), &claims);
    let other_sign_in = devstack.user_token("adele", &[USER_IMPERSONATION]);
    assert_ne!(first, other_sign_in, "another uti");

    for (token, exchanges) in [
        (&first, 1),
        (&first, 1),
        (&other_client, 2),
        (&other_client, 2),
        (&other_sign_in, 3),
        (&first, 3),
    ] {
        let (status, body) = profile_with(&server, token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["result"]["isError"], false, "{body}");
        assert_eq!(devstack.obo_exchanges(), exchanges);
    }
}

#[tokio::test]
async fn a_graph_401_evicts_the_graph_token_so_the_next_call_exchanges_again() {
    let server = TestServer::start();
    let token = server.token();
    for _ in 0..2 {
        let (_, body) = profile_with(&server, &token).await;
        assert_eq!(body["result"]["isError"], false, "{body}");
    }
    assert_eq!(server.devstack.obo_exchanges(), 1, "cached");

    // Graph refuses the cached token (revoked, say): one of the two calls gets a 401.
    server.devstack.inject_graph_faults(
        "/v1.0/me",
        vec![GraphFault::Status {
            status: 401,
            retry_after: None,
        }],
    );
    let (status, body) = profile_with(&server, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_tool_error(&body, "did not accept", "Try again");
    assert_eq!(server.devstack.obo_exchanges(), 1);

    // The next call does not reuse the refused token: it exchanges again, then caches that.
    for _ in 0..2 {
        let (_, body) = profile_with(&server, &token).await;
        assert_eq!(body["result"]["isError"], false, "{body}");
        assert_eq!(server.devstack.obo_exchanges(), 2);
    }
}

#[tokio::test]
async fn the_callers_token_reaches_only_the_token_endpoint_as_the_assertion() {
    let server = TestServer::start();
    let token = server.devstack.user_token("adele", &[USER_IMPERSONATION]);
    let response = call_tool(&server.mcp_url(), &token, "get_my_profile", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let requests = server.devstack.requests();
    let carrying: Vec<_> = requests.iter().filter(|r| r.contains(&token)).collect();
    assert_eq!(
        carrying.len(),
        1,
        "exactly one request carried the caller's token"
    );
    let obo = carrying[0];
    assert_eq!(obo.service, "token");
    assert!(obo.path.ends_with("/oauth2/v2.0/token"));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(obo.body.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("assertion"), Some(token.as_str()), "as the assertion");
    assert_eq!(field("requested_token_use"), Some("on_behalf_of"));
    assert_eq!(
        field("grant_type"),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(
        field("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert!(field("client_assertion").is_some_and(|a| a != token));
    assert!(field("client_secret").is_none(), "never a client secret");
    // Graph saw a different, opaque token; nobody saw the caller's anywhere else.
    for request in requests.iter().filter(|r| r.service == "graph") {
        let authorization = request.header("authorization").unwrap();
        assert!(authorization.starts_with("Bearer "));
        assert_ne!(&authorization[7..], token);
    }
    // Neither token appears in the server's output.
    let logs = server.handler.output.all();
    assert!(!logs.contains(&token));
    let graph_token = requests
        .iter()
        .find(|r| r.service == "graph")
        .and_then(|r| r.header("authorization"))
        .unwrap()[7..]
        .to_owned();
    assert!(!logs.contains(&graph_token));
}

#[tokio::test]
async fn throttling_is_retried_honouring_retry_after() {
    let server = TestServer::start();
    server.devstack.inject_graph_faults(
        SETTINGS_PATH,
        vec![
            GraphFault::Status {
                status: 429,
                retry_after: Some("1".into()),
            },
            GraphFault::Status {
                status: 429,
                retry_after: Some(httpdate::fmt_http_date(
                    std::time::SystemTime::now() + Duration::from_secs(1),
                )),
            },
        ],
    );
    let started = Instant::now();
    let (status, body) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "Retry-After was honoured"
    );
    assert_eq!(
        graph_calls(&server, SETTINGS_PATH),
        3,
        "two throttled attempts, then the answer"
    );
}

#[tokio::test]
async fn persistent_throttling_ends_in_a_clear_error_and_the_server_keeps_serving() {
    let server = TestServer::start();
    let throttled = GraphFault::Status {
        status: 429,
        retry_after: Some("0".into()),
    };
    // The first attempt and three retries; the queue is empty afterwards.
    server
        .devstack
        .inject_graph_faults(SETTINGS_PATH, vec![throttled; 4]);
    let (status, body) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
    assert_tool_error(&body, "throttling", "seconds, then call the tool again");
    assert_eq!(
        graph_calls(&server, SETTINGS_PATH),
        4,
        "the first attempt and three retries, no more"
    );
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
}

#[tokio::test]
async fn transient_503s_and_connection_resets_are_retried() {
    let server = TestServer::start();
    server.devstack.inject_graph_faults(
        SETTINGS_PATH,
        vec![
            GraphFault::Status {
                status: 503,
                retry_after: None,
            },
            GraphFault::Reset,
            GraphFault::Status {
                status: 504,
                retry_after: None,
            },
        ],
    );
    let (status, body) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"]["isError"], false, "{body}");

    server
        .devstack
        .inject_graph_faults(SETTINGS_PATH, vec![GraphFault::Reset; 4]);
    let (_, body) = profile_of(&server, "adele").await;
    assert_tool_error(&body, "could not be reached", "Try again");
}

#[tokio::test]
async fn a_slow_graph_is_cut_off_at_the_deadline_and_the_server_keeps_serving() {
    let server = TestServer::start_with(&[(MCP_TOOL_DEADLINE_SECONDS.name, "2")]);
    // Warm the token cache so the deadline is spent on Graph alone.
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    server.devstack.inject_graph_faults(
        SETTINGS_PATH,
        vec![GraphFault::Delay(Duration::from_secs(10))],
    );
    let started = Instant::now();
    let (status, body) = profile_of(&server, "adele").await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_tool_error(
        &body,
        "did not answer within the 2-second limit",
        "Try again",
    );
    assert!(
        elapsed < Duration::from_secs(8),
        "cut off, not waited out: {elapsed:?}"
    );
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
}

#[tokio::test]
async fn missing_consent_says_an_administrator_must_grant_it_and_how() {
    let server = TestServer::start();
    // No administrator consented, and Lee consented to nothing for himself.
    server.devstack.set_admin_consent(&[]);
    server.devstack.set_consent("lee", &[]);
    let (status, body) = profile_of(&server, "lee").await;
    assert_eq!(status, StatusCode::OK);
    assert_tool_error(&body, "no consent", "admin consent");
    let text = tool_text(&body);
    assert!(text.contains("User.Read"), "{text}");
    assert!(text.contains(server.devstack.server_client_id()), "{text}");

    // With User.Read but not MailboxSettings.Read: the profile, without the time zone, and why.
    server.devstack.set_consent("lee", &["User.Read"]);
    let (_, body) = profile_of(&server, "lee").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    let profile = &body["result"]["structuredContent"];
    assert_eq!(profile["displayName"], "Lee Gu");
    assert_eq!(profile["timeZone"], Value::Null);
    assert!(
        profile["timeZoneNote"]
            .as_str()
            .unwrap()
            .contains("MailboxSettings.Read")
    );
}

#[tokio::test]
async fn a_conditional_access_claims_challenge_becomes_a_401_for_the_client() {
    let server = TestServer::start();
    server.devstack.require_mfa("miriam", true);
    let token = server.devstack.user_token("miriam", &[USER_IMPERSONATION]);
    let response = call_tool(&server.mcp_url(), &token, "get_my_profile", json!({})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_claims\""),
        "{challenge}"
    );
    let claims = challenge
        .split("claims=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(claims)
        .unwrap();
    let claims: Value = serde_json::from_slice(&decoded).unwrap();
    assert!(claims["access_token"].is_object(), "{claims}");
    let event = server.handler.event_of(&response);
    assert_eq!(event["reason"], "claims_challenge");
    // Other users are unaffected.
    let (status, _) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_retried_within_the_deadline_then_explained() {
    let server = TestServer::start_with(&[(MCP_TOOL_DEADLINE_SECONDS.name, "3")]);
    server.devstack.set_token_endpoint_available(false);
    let started = Instant::now();
    let (status, body) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
    assert_tool_error(&body, "could not be reached in time", "Try again");
    assert!(started.elapsed() < Duration::from_secs(6));
    let attempts = server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.service == "token")
        .count();
    assert!(attempts >= 2, "retried: {attempts} attempts");
    server.devstack.set_token_endpoint_available(true);
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
}

#[tokio::test]
async fn with_the_managed_identity_down_graph_tools_explain_and_recover() {
    let server = TestServer::start();
    server.devstack.set_managed_identity_available(false);
    let (status, body) = profile_of(&server, "adele").await;
    assert_eq!(status, StatusCode::OK);
    assert_tool_error(&body, "managed identity could not get a token", "Try again");
    // Tools that need no identity still work.
    let (status, _) = server.call_tool("server_info", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    server.devstack.set_managed_identity_available(true);
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
}

fn with_vault_proof(server_env: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        (
            MCP_GATEWAY_PROOF_HEADER.name.into(),
            "x-mcp-gateway-proof".into(),
        ),
        (
            MCP_GATEWAY_PROOF_SECRET_NAME.name.into(),
            "mcp-gateway-proof".into(),
        ),
        (MCP_SECRET_REFRESH_SECONDS.name.into(), "10".into()),
    ];
    env.extend(
        server_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

fn start_with_vault_proof() -> TestServer {
    let env = with_vault_proof(&[]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestServer::start_with(&env)
}

async fn status_with_proof(server: &TestServer, proof: &str) -> StatusCode {
    mcp_post(&server.client(), &server.mcp_url())
        .header("x-mcp-gateway-proof", proof)
        .json(&tools_list())
        .send()
        .await
        .unwrap()
        .status()
}

/// Waits (a liveness bound, not a timing assertion) until a request with `proof` gets
/// `expected`: a mismatch makes the server look at Key Vault again in the background, and the
/// request that caused it does not wait for that.
async fn eventually_status(server: &TestServer, proof: &str, expected: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = status_with_proof(server, proof).await;
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {status}, not {expected}:\n{}",
            server.handler.output.all()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_gateway_proof_rotated_in_key_vault_is_picked_up_without_a_restart() {
    let server = start_with_vault_proof();
    let first = server.devstack.gateway_proof();
    assert_eq!(status_with_proof(&server, &first).await, StatusCode::OK);
    assert_eq!(
        status_with_proof(&server, "proof-wrong-0000000000000000").await,
        StatusCode::FORBIDDEN
    );

    // APIM switches to a new version first: the server re-reads on the mismatch. (Key Vault
    // stamps versions in whole seconds; the seeded version must be older than this one.)
    std::thread::sleep(Duration::from_millis(1100));
    let second = "rotated-proof-3a9f6c1e8b2d4075a1c3e5f7091b2d4f";
    server.devstack.set_secret("mcp-gateway-proof", second);
    eventually_status(&server, second, StatusCode::OK).await;
    // During the rotation the previous version still works.
    assert_eq!(status_with_proof(&server, &first).await, StatusCode::OK);

    // A third version retires the first; a disabled version is never accepted.
    std::thread::sleep(Duration::from_millis(1100));
    let third = "rotated-proof-b7d1e3f5a9c2046e8f1a3c5e7092b4d6";
    let third_version = server.devstack.set_secret("mcp-gateway-proof", third);
    eventually_status(&server, third, StatusCode::OK).await;
    assert_eq!(status_with_proof(&server, second).await, StatusCode::OK);
    assert_eq!(
        status_with_proof(&server, &first).await,
        StatusCode::FORBIDDEN
    );
    server
        .devstack
        .disable_secret_version("mcp-gateway-proof", &third_version);
    eventually_status(&server, third, StatusCode::FORBIDDEN).await;
    assert_eq!(status_with_proof(&server, second).await, StatusCode::OK);

    // Key Vault was read with the managed identity's token, never the caller's.
    let caller_token = server.token();
    for request in server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.service == "key_vault")
    {
        assert!(!request.contains(&caller_token));
    }
}

#[tokio::test]
async fn with_key_vault_down_the_proof_check_fails_closed_then_recovers() {
    let server = start_with_vault_proof();
    server.devstack.set_vault_available(false);
    let proof = server.devstack.gateway_proof();
    let response = mcp_post(&server.client(), &server.mcp_url())
        .header("x-mcp-gateway-proof", &proof)
        .json(&tools_list())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "cold cache: refuse, never accept"
    );
    let event = server.handler.event_of(&response);
    assert_eq!(event["reason"], "gateway_proof_unavailable");
    assert!(
        server
            .handler
            .output
            .events()
            .iter()
            .any(|e| e["message"] == "secret could not be read from Key Vault")
    );

    server.devstack.set_vault_available(true);
    std::thread::sleep(m365_mcp::secrets::MIN_REREAD + Duration::from_millis(100));
    assert_eq!(status_with_proof(&server, &proof).await, StatusCode::OK);
    // Warm cache: an outage now changes nothing.
    server.devstack.set_vault_available(false);
    assert_eq!(status_with_proof(&server, &proof).await, StatusCode::OK);
}

/// Reads of the gateway proof the vault has seen (each starts by listing the versions).
fn vault_reads(server: &TestServer) -> usize {
    server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.service == "key_vault" && r.path == "/secrets/mcp-gateway-proof/versions")
        .count()
}

/// Waits (a liveness bound) until the slow vault holds a request of the handler's.
async fn until_the_vault_is_reading(server: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.devstack.vault_requests_waiting() == 0 {
        assert!(Instant::now() < deadline, "no Key Vault read started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_slow_key_vault_never_holds_up_requests_with_the_right_proof() {
    let server = start_with_vault_proof();
    let proof = server.devstack.gateway_proof();
    assert_eq!(status_with_proof(&server, &proof).await, StatusCode::OK);

    // Key Vault turns slow (each request takes three seconds), and a wrong proof makes the
    // server read the secret again (once the last read is old enough).
    tokio::time::sleep(m365_mcp::secrets::MIN_REREAD + Duration::from_millis(100)).await;
    server
        .devstack
        .set_vault_delay(Some(Duration::from_secs(3)));
    let mcp_url = server.mcp_url();
    let client = server.client();
    let wrong = tokio::spawn(async move {
        mcp_post(&client, &mcp_url)
            .header("x-mcp-gateway-proof", "proof-wrong-0000000000000000")
            .json(&tools_list())
            .send()
            .await
            .unwrap()
            .status()
    });
    until_the_vault_is_reading(&server).await;

    // Requests with the right proof are served from the cached values meanwhile.
    for _ in 0..5 {
        assert_eq!(status_with_proof(&server, &proof).await, StatusCode::OK);
        assert!(
            server.devstack.vault_requests_waiting() > 0,
            "answered only once the slow read was over"
        );
    }
    assert_eq!(wrong.await.unwrap(), StatusCode::FORBIDDEN);
    server.devstack.set_vault_delay(None);
}

#[tokio::test]
async fn wrong_proofs_never_wait_for_key_vault_and_cause_one_read_at_a_time() {
    let server = start_with_vault_proof();
    let proof = server.devstack.gateway_proof();
    assert_eq!(status_with_proof(&server, &proof).await, StatusCode::OK);
    let reads = vault_reads(&server);

    tokio::time::sleep(m365_mcp::secrets::MIN_REREAD + Duration::from_millis(100)).await;
    server
        .devstack
        .set_vault_delay(Some(Duration::from_secs(3)));
    assert_eq!(
        status_with_proof(&server, "proof-wrong-0000000000000000").await,
        StatusCode::FORBIDDEN
    );
    until_the_vault_is_reading(&server).await;

    // Twenty more wrong proofs, all at once, from someone who bypasses APIM: each is refused at
    // once, none waits for the vault, and none starts another read.
    let attempts = (0..20).map(|n| {
        let server = &server;
        async move {
            let wrong = format!("proof-wrong-{n:0>16}");
            status_with_proof(server, &wrong).await
        }
    });
    for status in futures::future::join_all(attempts).await {
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert!(
        server.devstack.vault_requests_waiting() > 0,
        "the wrong proofs were answered only once the slow read was over"
    );
    assert_eq!(
        vault_reads(&server) - reads,
        1,
        "one read in flight at a time"
    );
    server.devstack.set_vault_delay(None);
}

/// Waits (a liveness bound) until the server has read the secret twice more, sending wrong
/// proofs to make it look: the second read started after whatever the test changed.
async fn until_read_again(server: &TestServer) {
    let read_events = || {
        server
            .handler
            .output
            .events()
            .iter()
            .filter(|event| event["message"] == "secret read from Key Vault")
            .count()
    };
    let target = read_events() + 2;
    let deadline = Instant::now() + Duration::from_secs(20);
    while read_events() < target {
        assert!(
            Instant::now() < deadline,
            "Key Vault was not read again:\n{}",
            server.handler.output.all()
        );
        let _ = status_with_proof(server, "proof-wrong-0000000000000000").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn key_vault_versions_too_short_expired_or_not_yet_valid_are_never_accepted() {
    type Change = fn(&devstack::Devstack, &str);
    let cases: [(&str, &str, Change); 3] = [
        ("shorter than 16 characters", "short-proof", |_, _| {}),
        (
            "expired a minute ago",
            "expired-proof-0c6b1e9d2f8a4753",
            |devstack, version| {
                devstack.set_secret_validity(
                    "mcp-gateway-proof",
                    version,
                    None,
                    Some(unix_now() - 60),
                )
            },
        ),
        (
            "valid from an hour from now",
            "future-proof-7a3e5c1b9d2f4068",
            |devstack, version| {
                devstack.set_secret_validity(
                    "mcp-gateway-proof",
                    version,
                    Some(unix_now() + 3600),
                    None,
                )
            },
        ),
    ];
    for (case, value, change) in cases {
        let server = start_with_vault_proof();
        let seeded = server.devstack.gateway_proof();
        assert_eq!(status_with_proof(&server, &seeded).await, StatusCode::OK);
        // Key Vault stamps versions in whole seconds: the new one must be newer.
        std::thread::sleep(Duration::from_millis(1100));
        let version = server.devstack.set_secret("mcp-gateway-proof", value);
        change(&server.devstack, &version);
        until_read_again(&server).await;
        assert_eq!(
            status_with_proof(&server, value).await,
            StatusCode::FORBIDDEN,
            "{case}"
        );
        assert_eq!(
            status_with_proof(&server, &seeded).await,
            StatusCode::OK,
            "{case}: the seeded version still serves"
        );
    }
}

#[tokio::test]
async fn the_previous_version_is_accepted_only_for_the_rotation_grace_period() {
    let env = with_vault_proof(&[(MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS.name, "0")]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_with(&env);
    let first = server.devstack.gateway_proof();
    assert_eq!(status_with_proof(&server, &first).await, StatusCode::OK);
    std::thread::sleep(Duration::from_millis(1100));
    let second = "rotated-proof-5d7f9b1c3e2a4086b8d0f2a4c6e81b3d";
    server.devstack.set_secret("mcp-gateway-proof", second);
    eventually_status(&server, second, StatusCode::OK).await;
    assert_eq!(
        status_with_proof(&server, &first).await,
        StatusCode::FORBIDDEN,
        "no grace: the leaked value is retired with the rotation"
    );
}

/// Peak resident set of a process (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_graph_answer_far_over_the_cap_is_cut_off_with_a_clear_error_in_bounded_memory() {
    let server = TestServer::start();
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    for declared in [true, false] {
        server.devstack.inject_graph_faults(
            SETTINGS_PATH,
            vec![GraphFault::Oversized {
                bytes: 256 * 1024 * 1024,
                declared,
            }],
        );
        let (status, body) = profile_of(&server, "adele").await;
        assert_eq!(status, StatusCode::OK);
        assert_tool_error(&body, "more than", "fewer");
        assert!(tool_text(&body).contains("MiB"), "{body}");
    }
    let peak = peak_rss_kib(server.handler.pid());
    assert!(
        peak < 128 * 1024,
        "peak resident set {peak} KiB: a 256 MiB answer was read whole"
    );
    let (_, body) = profile_of(&server, "adele").await;
    assert_eq!(body["result"]["isError"], false, "{body}");
}
