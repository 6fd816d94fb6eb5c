//! Inbound authorization against the real binary: an adversarial token suite, signing-key
//! rotation and issuer outages, per-tool authorization, the protected-resource metadata, the
//! gateway proof, and the audit trail. Every case asserts the status, the challenge header and
//! the audit event's reason.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use m365_mcp::devstack::{
    keys::{SigningKey, base64url, sign_hs256, unsigned},
    tenant::{
        DAEMON_CLIENT_ID, MCP_OPERATOR, OTHER_CLIENT_ID, USER_IMPERSONATION, VSCODE_CLIENT_ID,
    },
};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn tools_list() -> Value {
    rpc(1, "tools/list", json!({}))
}

/// How a refused request must look.
struct Refused {
    status: StatusCode,
    /// The RFC 6750 error code in WWW-Authenticate; `None`: no `error=` at all.
    error: Option<&'static str>,
    /// The audit reason code.
    reason: &'static str,
}

const fn unauthorized(reason: &'static str) -> Refused {
    Refused {
        status: StatusCode::UNAUTHORIZED,
        error: Some("invalid_token"),
        reason,
    }
}

const fn forbidden(reason: &'static str) -> Refused {
    Refused {
        status: StatusCode::FORBIDDEN,
        error: Some("insufficient_scope"),
        reason,
    }
}

/// Sends `request`, then checks the status, the challenge and the audit event.
async fn assert_refused(
    server: &TestServer,
    case: &str,
    request: RequestBuilder,
    expected: Refused,
) {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), expected.status, "{case}");
    let event = server.handler.event_of(&response);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    match expected.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let challenge = challenge.unwrap_or_else(|| panic!("{case}: no WWW-Authenticate"));
            assert!(challenge.starts_with("Bearer "), "{case}: {challenge}");
            let metadata = server.url("/.well-known/oauth-protected-resource/mcp");
            assert!(
                challenge.contains(&format!("resource_metadata=\"{metadata}\"")),
                "{case}: {challenge}"
            );
            let scope = format!("{}/{USER_IMPERSONATION}", server.mcp_url());
            assert!(
                challenge.contains(&format!("scope=\"{scope}")),
                "{case}: {challenge}"
            );
            match expected.error {
                Some(error) => {
                    assert!(
                        challenge.contains(&format!("error=\"{error}\"")),
                        "{case}: {challenge}"
                    );
                    assert_eq!(body["error"], error, "{case}");
                }
                None => assert!(!challenge.contains("error="), "{case}: {challenge}"),
            }
        }
        _ => {}
    }
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{case}: a clear description");
    for internal in ["jsonwebtoken", "ErrorKind", "panicked", "src/"] {
        assert!(!description.contains(internal), "{case}: leaks {internal}");
    }
    assert_eq!(event["outcome"], "rejected", "{case}");
    assert_eq!(event["reason"], expected.reason, "{case}");
}

fn post_with(server: &TestServer, authorization: Option<String>) -> RequestBuilder {
    let mut request = mcp_post(&Client::new(), &server.mcp_url()).json(&tools_list());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request
}

fn bearer(token: impl std::fmt::Display) -> Option<String> {
    Some(format!("Bearer {token}"))
}

async fn assert_accepted(server: &TestServer, case: &str, token: &str) {
    let response = post_with(server, bearer(token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{case}");
    let body: Value = response.json().await.unwrap();
    assert!(body["result"]["tools"].is_array(), "{case}: {body}");
}

/// A genuinely signed token whose claims were changed by `edit`.
fn signed_with(server: &TestServer, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = server.devstack.user_claims("adele", &[USER_IMPERSONATION]);
    edit(&mut claims);
    server
        .devstack
        .sign(&server.devstack.token_header(), &claims)
}

/// A token whose header was changed by `edit`, signed with `key` (the attacker's).
fn forged_header(server: &TestServer, key: &SigningKey, edit: impl FnOnce(&mut Value)) -> String {
    let mut header = server.devstack.token_header();
    header["kid"] = key.kid().into();
    edit(&mut header);
    let claims = server.devstack.user_claims("adele", &[USER_IMPERSONATION]);
    key.sign_rs256(&header, &claims)
}

fn replace_segment(token: &str, index: usize, segment: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = segment;
    parts.join(".")
}

#[tokio::test]
async fn adversarial_tokens_are_refused_with_the_right_status_challenge_and_reason() {
    let server = TestServer::start();
    let devstack = &server.devstack;
    let attacker = SigningKey::generate();
    let valid = server.token();
    let claims = devstack.user_claims("adele", &[USER_IMPERSONATION]);
    let header = devstack.token_header();
    let public_jwk = devstack_public_jwk(&server).await;
    let n = public_jwk["n"].as_str().unwrap().to_owned();

    assert_accepted(&server, "the unmodified token", &valid).await;

    let no_error = Refused {
        status: StatusCode::UNAUTHORIZED,
        error: None,
        reason: "no_token",
    };
    let cases: Vec<(&str, Option<String>, Refused)> = vec![
        ("no Authorization header", None, no_error),
        (
            "another scheme",
            Some("Basic dXNlcjpwYXNzd29yZA==".into()),
            Refused {
                status: StatusCode::UNAUTHORIZED,
                error: None,
                reason: "no_token",
            },
        ),
        (
            "empty bearer",
            Some("Bearer ".into()),
            unauthorized("malformed_token"),
        ),
        (
            "not a JWT",
            bearer("not-a-jwt"),
            unauthorized("malformed_token"),
        ),
        (
            "two segments",
            bearer("abc.def"),
            unauthorized("malformed_token"),
        ),
        (
            "four segments",
            bearer(format!("{valid}.xyz")),
            unauthorized("malformed_token"),
        ),
        (
            "characters outside b64token",
            bearer("a.b.c\"d"),
            unauthorized("malformed_token"),
        ),
        (
            "header that is not JSON",
            bearer(replace_segment(&valid, 0, &base64url("not json"))),
            unauthorized("malformed_token"),
        ),
        (
            "unsigned, alg none",
            bearer(unsigned(&json!({ "alg": "none", "typ": "JWT" }), &claims)),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "unsigned, alg None",
            bearer(unsigned(
                &json!({ "alg": "None", "typ": "JWT", "kid": header["kid"] }),
                &claims,
            )),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "HS256 keyed with the public key's modulus",
            bearer(sign_hs256(
                n.as_bytes(),
                &json!({ "alg": "HS256", "typ": "JWT", "kid": header["kid"] }),
                &claims,
            )),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "HS256 keyed with the published JWK",
            bearer(sign_hs256(
                public_jwk.to_string().as_bytes(),
                &json!({ "alg": "HS256", "typ": "JWT", "kid": header["kid"] }),
                &claims,
            )),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "RS512 named in the header",
            bearer(devstack.sign(&with(&header, "alg", json!("RS512")), &claims)),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "PS256 named in the header",
            bearer(devstack.sign(&with(&header, "alg", json!("PS256")), &claims)),
            unauthorized("unsupported_algorithm"),
        ),
        (
            "no kid",
            bearer(devstack.sign(&without(&header, "kid"), &claims)),
            unauthorized("missing_kid"),
        ),
        (
            "unknown kid, attacker's key",
            bearer(forged_header(&server, &attacker, |_| {})),
            unauthorized("unknown_key"),
        ),
        (
            "jku pointing at the attacker's JWKS",
            bearer(forged_header(&server, &attacker, |h| {
                h["jku"] = format!("{}/attacker/jwks", devstack.base_url()).into()
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "jku pointing at the real JWKS",
            bearer(
                devstack.sign(
                    &with(
                        &header,
                        "jku",
                        format!(
                            "{}/{}/discovery/v2.0/keys",
                            devstack.base_url(),
                            devstack.tenant_id()
                        )
                        .into(),
                    ),
                    &claims,
                ),
            ),
            unauthorized("forbidden_header"),
        ),
        (
            "x5u pointing at the attacker's certificate",
            bearer(forged_header(&server, &attacker, |h| {
                h["x5u"] = format!("{}/attacker/cert.pem", devstack.base_url()).into()
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "embedded jwk of the attacker's key",
            bearer(forged_header(&server, &attacker, |h| {
                h["jwk"] = attacker.public_jwk()
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "embedded x5c",
            bearer(forged_header(&server, &attacker, |h| {
                h["x5c"] = json!([base64url("not a certificate")])
            })),
            unauthorized("forbidden_header"),
        ),
        (
            "the real kid, signed by the attacker",
            bearer(attacker.sign_rs256(&header, &claims)),
            unauthorized("bad_signature"),
        ),
        (
            "tampered payload: other user",
            bearer(replace_segment(
                &valid,
                1,
                &base64url(
                    with(
                        &claims,
                        "oid",
                        json!("11111111-2222-3333-4444-555555555555"),
                    )
                    .to_string(),
                ),
            )),
            unauthorized("bad_signature"),
        ),
        (
            "tampered payload: added scope",
            bearer(replace_segment(
                &valid,
                1,
                &base64url(with(&claims, "scp", json!("user_impersonation Mail.Send")).to_string()),
            )),
            unauthorized("bad_signature"),
        ),
        (
            "tampered signature",
            bearer(tamper_signature(&valid)),
            unauthorized("bad_signature"),
        ),
        (
            "signature removed",
            bearer(replace_segment(&valid, 2, "")),
            unauthorized("bad_signature"),
        ),
        (
            "audience of another API",
            bearer(signed_with(&server, |c| {
                c["aud"] = "9a2d8c1e-0000-4000-8000-000000000001".into()
            })),
            unauthorized("wrong_audience"),
        ),
        (
            "Graph audience",
            bearer(signed_with(&server, |c| c["aud"] = GRAPH_APP_ID.into())),
            unauthorized("wrong_audience"),
        ),
        (
            "Graph token with a header nonce",
            bearer(devstack.sign(
                &with(
                    &header,
                    "nonce",
                    json!("AQABAAAAAAD--DLA3VO7QrddgJg7WevrXyz"),
                ),
                &with(&claims, "aud", json!("https://graph.microsoft.com")),
            )),
            unauthorized("forbidden_header"),
        ),
        (
            "issuer of another authority",
            bearer(signed_with(&server, |c| {
                c["iss"] = format!(
                    "https://login.microsoftonline.com/{}/v2.0",
                    devstack.tenant_id()
                )
                .into()
            })),
            unauthorized("wrong_issuer"),
        ),
        (
            "v1 issuer, not enabled",
            bearer(signed_with(&server, |c| {
                c["iss"] = format!("https://sts.windows.net/{}/", devstack.tenant_id()).into()
            })),
            unauthorized("wrong_issuer"),
        ),
        (
            "issuer and tid of another tenant",
            bearer(signed_with(&server, |c| {
                let other = "72f988bf-86f1-41af-91ab-2d7cd011db47";
                c["iss"] = format!("{}/{other}/v2.0", devstack.base_url()).into();
                c["tid"] = other.into();
            })),
            unauthorized("wrong_issuer"),
        ),
        (
            "tid of another tenant under our issuer",
            bearer(signed_with(&server, |c| {
                c["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47".into()
            })),
            unauthorized("wrong_tenant"),
        ),
        (
            "expired an hour ago",
            bearer(signed_with(&server, |c| c["exp"] = (now() - 3600).into())),
            unauthorized("expired"),
        ),
        (
            "valid from an hour from now",
            bearer(signed_with(&server, |c| c["nbf"] = (now() + 3600).into())),
            unauthorized("not_yet_valid"),
        ),
        (
            "no exp",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("exp"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "no nbf",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("nbf"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "no iss",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("iss"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "no aud",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("aud"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "no tid",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("tid"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "no oid",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("oid"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "no azp",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("azp"))
            })),
            unauthorized("missing_claim"),
        ),
        (
            "oid that is not a GUID",
            bearer(signed_with(&server, |c| {
                c["oid"] = "adele@contoso.example".into()
            })),
            unauthorized("missing_claim"),
        ),
        (
            "oversized token",
            bearer(signed_with(&server, |c| {
                c["padding"] = "x".repeat(20 * 1024).into()
            })),
            unauthorized("token_too_large"),
        ),
        (
            "scope missing",
            bearer(devstack.user_token("adele", &["other.scope"])),
            forbidden("missing_scope"),
        ),
        (
            "no scp claim left is app-only, and app-only is not admitted",
            bearer(signed_with(&server, |c| {
                drop(c.as_object_mut().unwrap().remove("scp"))
            })),
            forbidden("app_only_not_allowed"),
        ),
        (
            "scope only as a prefix of another",
            bearer(devstack.user_token("adele", &["user_impersonation_all"])),
            forbidden("missing_scope"),
        ),
        (
            "scope in other case",
            bearer(devstack.user_token("adele", &["USER_IMPERSONATION"])),
            forbidden("missing_scope"),
        ),
        (
            "app-only token, app-only not admitted",
            bearer(devstack.app_token(DAEMON_CLIENT_ID, &[MCP_OPERATOR])),
            forbidden("app_only_not_allowed"),
        ),
    ];
    assert!(cases.len() >= 35, "{} cases", cases.len());
    for (case, authorization, expected) in cases {
        assert_refused(&server, case, post_with(&server, authorization), expected).await;
    }

    // Nothing the forged headers pointed at was ever fetched.
    assert!(
        devstack
            .requests()
            .iter()
            .all(|request| !request.path.starts_with("/attacker")),
        "a key URL from a token header was followed"
    );
    // The unknown kids above cost at most one refresh (cooldown), after the first fetch.
    assert!(
        devstack.jwks_fetches() <= 2,
        "{} JWKS fetches",
        devstack.jwks_fetches()
    );
}

fn with(value: &Value, member: &str, new: Value) -> Value {
    let mut value = value.clone();
    value[member] = new;
    value
}

fn without(value: &Value, member: &str) -> Value {
    let mut value = value.clone();
    value.as_object_mut().unwrap().remove(member);
    value
}

fn tamper_signature(token: &str) -> String {
    let signature = token.rsplit('.').next().unwrap();
    let middle = signature.len() / 2;
    let flipped = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!(
        "{}{flipped}{}",
        &signature[..middle],
        &signature[middle + 1..]
    );
    replace_segment(token, 2, &tampered)
}

async fn devstack_public_jwk(server: &TestServer) -> Value {
    let jwks_uri = format!(
        "{}/{}/discovery/v2.0/keys",
        server.devstack.base_url(),
        server.devstack.tenant_id()
    );
    let jwks: Value = reqwest::get(jwks_uri).await.unwrap().json().await.unwrap();
    jwks["keys"][0].clone()
}

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
        rpc(
            3,
            "tools/call",
            json!({ "name": "server_info", "arguments": {} }),
        ),
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
    let server = TestServer::start_with(&[("MCP_ACCEPT_V1_TOKENS", "true")]);
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
    let server = TestServer::start_with(&[("MCP_ALLOWED_CLIENT_APPS", VSCODE_CLIENT_ID)]);
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

fn call(server: &TestServer, token: &str, tool: &str) -> RequestBuilder {
    mcp_post(&client_with_token(token), &server.mcp_url()).json(&rpc(
        9,
        "tools/call",
        json!({ "name": tool, "arguments": {} }),
    ))
}

#[tokio::test]
async fn tools_are_listed_and_callable_only_for_callers_holding_what_they_need() {
    let server = TestServer::start_with(&[("MCP_ALLOWED_APP_ROLES", MCP_OPERATOR)]);
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

    // Calling a tool one may not see: 403 with a step-up challenge, audited.
    let response = call(&server, &adele, "server_status").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("needs an app role"), "{challenge}");
    let event = server.handler.event_of(&response);
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

#[tokio::test]
async fn an_emergency_key_rotation_is_picked_up_after_the_cooldown() {
    let server = TestServer::start_with(&[("MCP_JWKS_REFRESH_COOLDOWN_SECONDS", "1")]);
    let old = server.token();
    assert_accepted(&server, "before rotation", &old).await;
    server.devstack.rotate_signing_key();
    std::thread::sleep(Duration::from_millis(1100));
    let new = server.token();
    assert_accepted(&server, "signed with the new key", &new).await;
    assert_eq!(server.devstack.jwks_fetches(), 2);
    // The old key is no longer published: its tokens stop working.
    assert_refused(
        &server,
        "signed with the retired key",
        post_with(&server, bearer(old)),
        unauthorized("unknown_key"),
    )
    .await;
}

#[tokio::test]
async fn unknown_key_ids_refresh_at_most_once_per_cooldown() {
    let server = TestServer::start(); // default cooldown: five minutes
    assert_accepted(&server, "warm the cache", &server.token()).await;
    for _ in 0..20 {
        let stranger = SigningKey::generate();
        let token = forged_header(&server, &stranger, |_| {});
        let response = post_with(&server, bearer(token)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        server.devstack.jwks_fetches(),
        1,
        "no refresh inside the cooldown"
    );
    // Which also means a key rotated inside the cooldown waits for it.
    server.devstack.rotate_signing_key();
    let response = post_with(&server, bearer(server.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_planned_rotation_keeps_both_keys_valid() {
    let server = TestServer::start_with(&[("MCP_JWKS_REFRESH_COOLDOWN_SECONDS", "1")]);
    let old = server.token();
    assert_accepted(&server, "old key", &old).await;
    server.devstack.publish_next_key();
    server.devstack.promote_next_key();
    std::thread::sleep(Duration::from_millis(1100));
    assert_accepted(&server, "new key", &server.token()).await;
    assert_accepted(&server, "old key, still published", &old).await;
}

#[tokio::test]
async fn with_a_warm_cache_an_issuer_outage_changes_nothing() {
    let server = TestServer::start_with(&[("MCP_JWKS_REFRESH_COOLDOWN_SECONDS", "1")]);
    assert_accepted(&server, "warm the cache", &server.token()).await;
    server.devstack.set_issuer_available(false);
    std::thread::sleep(Duration::from_millis(1100));
    assert_accepted(&server, "during the outage", &server.token()).await;
    // An unknown key during the outage is still a 401, not a 503: keys are known.
    let stranger = forged_header(&server, &SigningKey::generate(), |_| {});
    assert_refused(
        &server,
        "unknown key during the outage",
        post_with(&server, bearer(stranger)),
        unauthorized("unknown_key"),
    )
    .await;
    assert_accepted(&server, "still fine", &server.token()).await;
}

#[tokio::test]
async fn with_a_cold_cache_an_issuer_outage_is_503_never_acceptance_and_recovers() {
    let server = TestServer::start();
    server.devstack.set_issuer_available(false);
    let request = || post_with(&server, bearer(server.token()));
    let response = request().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(response.headers().get("www-authenticate").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_refused(
        &server,
        "outage, cold cache",
        request(),
        Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: None,
            reason: "keys_unavailable",
        },
    )
    .await;
    // Requests inside the retry interval do not each hit the issuer.
    assert_eq!(server.devstack.jwks_fetches(), 0, "discovery failed first");
    let discovery_attempts = server
        .devstack
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("openid-configuration"))
        .count();
    assert_eq!(discovery_attempts, 1);

    server.devstack.set_issuer_available(true);
    std::thread::sleep(Duration::from_millis(5100));
    assert_accepted(&server, "after the issuer came back", &server.token()).await;
}

#[tokio::test]
async fn concurrent_first_requests_fetch_the_keys_once() {
    let server = TestServer::start();
    let token = server.token();
    let requests = (0..50).map(|_| post_with(&server, bearer(&token)).send());
    let responses = futures::future::join_all(requests).await;
    for response in responses {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(server.devstack.jwks_fetches(), 1);
}

#[tokio::test]
async fn the_protected_resource_metadata_is_public_and_names_the_tenant_and_scope() {
    let public_url = "https://mcp.contoso.example/m365/mcp";
    let server = TestServer::start_with(&[("MCP_PUBLIC_URL", public_url)]);
    let expected = json!({
        "resource": public_url,
        "authorization_servers": [server.devstack.issuer()],
        "scopes_supported": [format!("{}/{USER_IMPERSONATION}", server.devstack.identifier_uri())],
        "bearer_methods_supported": ["header"],
        "resource_name": "Microsoft 365 MCP server",
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource/m365/mcp",
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let document: Value = response.json().await.unwrap();
        assert_eq!(document, expected, "{path}");
    }
    // Challenges point at the public path-inserted URL, not at the Host the handler saw.
    let response = mcp_post(&Client::new(), &server.mcp_url())
        .header("host", "mcp.contoso.example")
        .json(&tools_list())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(
            "resource_metadata=\"https://mcp.contoso.example/.well-known/oauth-protected-resource/m365/mcp\""
        ),
        "{challenge}"
    );
}

#[tokio::test]
async fn the_gateway_proof_is_checked_first_and_says_nothing() {
    let current = "proof-current-5f2b9d1c7a4e8036";
    let previous = "proof-previous-0c9e3a7b1d5f4462";
    let server = TestServer::start_with(&[
        ("MCP_GATEWAY_PROOF_HEADER", "x-mcp-gateway-proof"),
        ("MCP_GATEWAY_PROOF", &format!("{current},{previous}")),
    ]);
    let token = server.token();
    let send = |proof: Option<&str>, token: Option<&str>| {
        let mut request = mcp_post(&Client::new(), &server.mcp_url()).json(&tools_list());
        if let Some(proof) = proof {
            request = request.header("x-mcp-gateway-proof", proof);
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request
    };
    for (case, proof, token, status, reason) in [
        (
            "current proof",
            Some(current),
            Some(token.as_str()),
            200,
            "accepted",
        ),
        (
            "previous proof, during rotation",
            Some(previous),
            Some(token.as_str()),
            200,
            "accepted",
        ),
        (
            "no proof",
            None,
            Some(token.as_str()),
            403,
            "gateway_proof_missing",
        ),
        (
            "wrong proof",
            Some("proof-wrong-000000000000000000"),
            Some(token.as_str()),
            403,
            "gateway_proof_mismatch",
        ),
        (
            "prefix of the proof",
            Some(&current[..10]),
            Some(token.as_str()),
            403,
            "gateway_proof_mismatch",
        ),
        (
            "no proof, no token: proof first",
            None,
            None,
            403,
            "gateway_proof_missing",
        ),
        ("proof, no token", Some(current), None, 401, "no_token"),
    ] {
        let response = send(proof, token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        let event = server.handler.event_of(&response);
        if status == 403 {
            assert!(
                response.headers().get("www-authenticate").is_none(),
                "{case}"
            );
            assert!(
                response.bytes().await.unwrap().is_empty(),
                "{case}: no detail"
            );
        }
        if reason == "accepted" {
            assert_eq!(event["outcome"], "accepted", "{case}");
        } else {
            assert_eq!(event["reason"], reason, "{case}");
        }
    }
    // Two proof headers are not one proof.
    let twice = send(Some(current), Some(&token)).header("x-mcp-gateway-proof", current);
    assert_eq!(twice.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    // The metadata is behind the gateway too; the host's readiness probe is not.
    let metadata = reqwest::get(server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::FORBIDDEN);
    assert_eq!(probe_root(server.handler.port), Some(200));
}
