//! The tenant's signing keys: rotation (emergency and planned), the refresh cooldown, issuer
//! outages with a warm and a cold cache, and one fetch for many concurrent first requests.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::harness::*;

#[tokio::test]
async fn an_emergency_key_rotation_is_picked_up_after_the_cooldown() {
    let server = TestServer::start_with(&[(MCP_JWKS_REFRESH_COOLDOWN_SECONDS.name, "1")]);
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
async fn an_emergency_rotation_right_after_start_up_is_picked_up_by_its_first_token() {
    // The cooldown counts from the last refresh an unknown key id caused, not from the first
    // fetch: a rotation minutes after start-up must not lock every new token out for five.
    let server = TestServer::start(); // default cooldown: five minutes
    assert_accepted(&server, "warm the cache", &server.token()).await;
    server.devstack.rotate_signing_key();
    assert_accepted(&server, "signed with the new key", &server.token()).await;
    assert_eq!(server.devstack.jwks_fetches(), 2);
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
        2,
        "the first unknown key id refreshes the keys, the next nineteen do not"
    );
    // Which also means a key rotated inside the cooldown waits for it.
    server.devstack.rotate_signing_key();
    let response = post_with(&server, bearer(server.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.devstack.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_planned_rotation_keeps_both_keys_valid() {
    let server = TestServer::start_with(&[(MCP_JWKS_REFRESH_COOLDOWN_SECONDS.name, "1")]);
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
    let server = TestServer::start_with(&[(MCP_JWKS_REFRESH_COOLDOWN_SECONDS.name, "1")]);
    assert_accepted(&server, "warm the cache", &server.token()).await;
    server.devstack.set_issuer_available(false);
    std::thread::sleep(Duration::from_millis(1100));
    assert_accepted(&server, "during the outage", &server.token()).await;
    // A key the cache lacks, while the keys cannot be fetched, may be one the issuer started
    // signing with during the outage: 503 (retry shortly), not 401 (sign in again, to get a
    // token with that same key), and never acceptance.
    let stranger = forged_header(&server, &SigningKey::generate(), |_| {});
    assert_refused(
        &server,
        "unknown key during the outage",
        post_with(&server, bearer(stranger)),
        Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: None,
            reason: "keys_unavailable",
        },
    )
    .await;
    assert_accepted(&server, "still fine", &server.token()).await;
    // Once the issuer is back, a key it does not publish is invalid again.
    server.devstack.set_issuer_available(true);
    std::thread::sleep(m365_mcp::inbound_auth::keys::EMPTY_RETRY + Duration::from_millis(100));
    let stranger = forged_header(&server, &SigningKey::generate(), |_| {});
    assert_refused(
        &server,
        "unknown key after the outage",
        post_with(&server, bearer(stranger)),
        unauthorized("unknown_key"),
    )
    .await;
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
