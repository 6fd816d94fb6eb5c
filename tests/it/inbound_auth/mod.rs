//! Inbound authorization against the real binary: an adversarial token suite, the rules every
//! token meets, per-tool authorization and the audit trail, signing-key rotation and issuer
//! outages, the protected-resource metadata and the gateway proof. Every refusal asserts the
//! status, the challenge header and the audit event's reason.

mod adversarial_tokens;
mod gateway_proof;
mod metadata;
mod signing_keys;
mod token_rules;
mod tool_access;
mod validated_tokens;

use std::time::{SystemTime, UNIX_EPOCH};

use devstack::{keys::SigningKey, tenant::USER_IMPERSONATION};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

pub(super) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// How a refused request must look.
pub(super) struct Refused {
    pub(super) status: StatusCode,
    /// The RFC 6750 error code in WWW-Authenticate; `None`: no `error=` at all.
    pub(super) error: Option<&'static str>,
    /// The audit reason code.
    pub(super) reason: &'static str,
}

pub(super) const fn unauthorized(reason: &'static str) -> Refused {
    Refused {
        status: StatusCode::UNAUTHORIZED,
        error: Some("invalid_token"),
        reason,
    }
}

pub(super) const fn forbidden(reason: &'static str) -> Refused {
    Refused {
        status: StatusCode::FORBIDDEN,
        error: Some("insufficient_scope"),
        reason,
    }
}

/// Sends `request`, then checks the status, the challenge and the audit event.
pub(super) async fn assert_refused(
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

pub(super) fn post_with(server: &TestServer, authorization: Option<String>) -> RequestBuilder {
    let mut request = mcp_post(&Client::new(), &server.mcp_url()).json(&tools_list());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request
}

pub(super) fn bearer(token: impl std::fmt::Display) -> Option<String> {
    Some(format!("Bearer {token}"))
}

pub(super) async fn assert_accepted(server: &TestServer, case: &str, token: &str) {
    let response = post_with(server, bearer(token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{case}");
    let body: Value = response.json().await.unwrap();
    assert!(body["result"]["tools"].is_array(), "{case}: {body}");
}

/// A genuinely signed token whose claims were changed by `edit`.
pub(super) fn signed_with(server: &TestServer, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = server.devstack.user_claims("adele", &[USER_IMPERSONATION]);
    edit(&mut claims);
    server
        .devstack
        .sign(&server.devstack.token_header(), &claims)
}

/// A token whose header was changed by `edit`, signed with `key` (the attacker's).
pub(super) fn forged_header(
    server: &TestServer,
    key: &SigningKey,
    edit: impl FnOnce(&mut Value),
) -> String {
    let mut header = server.devstack.token_header();
    header["kid"] = key.kid().into();
    edit(&mut header);
    let claims = server.devstack.user_claims("adele", &[USER_IMPERSONATION]);
    key.sign_rs256(&header, &claims)
}

pub(super) fn replace_segment(token: &str, index: usize, segment: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = segment;
    parts.join(".")
}

pub(super) fn with(value: &Value, member: &str, new: Value) -> Value {
    let mut value = value.clone();
    value[member] = new;
    value
}

pub(super) fn without(value: &Value, member: &str) -> Value {
    let mut value = value.clone();
    value.as_object_mut().unwrap().remove(member);
    value
}

pub(super) fn tamper_signature(token: &str) -> String {
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

pub(super) async fn devstack_public_jwk(server: &TestServer) -> Value {
    let jwks_uri = format!(
        "{}/{}/discovery/v2.0/keys",
        server.devstack.base_url(),
        server.devstack.tenant_id()
    );
    let jwks: Value = reqwest::get(jwks_uri).await.unwrap().json().await.unwrap();
    jwks["keys"][0].clone()
}
