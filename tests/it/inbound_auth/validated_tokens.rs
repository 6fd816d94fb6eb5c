//! The validated-token cache (src/inbound_auth/validated.rs) against the real binary: a token
//! accepted once is served from memory afterwards, and that shortcut keeps every rule. Each
//! test sends the genuine token several times first, so it is remembered when the rule is
//! tested.

use std::time::Duration;

use futures::future::join_all;
use m365_mcp::inbound_auth::validated::CAPACITY;

use super::*;
use crate::harness::*;

async fn accepted_repeatedly(server: &TestServer, case: &str, token: &str) {
    for _ in 0..3 {
        assert_accepted(server, case, token).await;
    }
}

#[tokio::test]
async fn a_tampered_token_with_the_same_header_and_claims_is_refused_after_the_genuine_one() {
    let server = TestServer::start();
    let genuine = server.token();
    accepted_repeatedly(&server, "genuine", &genuine).await;
    let tampered = tamper_signature(&genuine);
    assert_eq!(
        tampered[..tampered.rfind('.').unwrap()],
        genuine[..genuine.rfind('.').unwrap()],
        "the same header and claims"
    );
    for _ in 0..2 {
        assert_refused(
            &server,
            "the genuine token's header and claims, another signature",
            post_with(&server, bearer(&tampered)),
            unauthorized("bad_signature"),
        )
        .await;
    }
    // Nor does a prefix of the genuine token, or the genuine one with something appended.
    let truncated = &genuine[..genuine.len() - 4];
    assert_refused(
        &server,
        "truncated",
        post_with(&server, bearer(truncated)),
        unauthorized("malformed_token"),
    )
    .await;
    assert_accepted(&server, "the genuine token still works", &genuine).await;
}

#[tokio::test]
async fn a_refused_token_is_never_remembered_as_valid() {
    let server = TestServer::start();
    let without_scope = signed_with(&server, |claims| {
        claims["scp"] = "Files.Read".into();
    });
    let wrong_audience = signed_with(&server, |claims| {
        claims["aud"] = "api://someone-else".into();
    });
    for _ in 0..3 {
        assert_refused(
            &server,
            "without the required scope",
            post_with(&server, bearer(&without_scope)),
            forbidden("missing_scope"),
        )
        .await;
        assert_refused(
            &server,
            "for another audience",
            post_with(&server, bearer(&wrong_audience)),
            unauthorized("wrong_audience"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_remembered_token_stops_working_when_its_signing_key_leaves_the_key_set() {
    let server = TestServer::start_with(&[(MCP_JWKS_REFRESH_COOLDOWN_SECONDS.name, "1")]);
    let old = server.token();
    accepted_repeatedly(&server, "signed with the current key", &old).await;
    server.devstack.rotate_signing_key();
    std::thread::sleep(Duration::from_millis(1100));
    // A token with the new key makes the server fetch the key set, which no longer has the old
    // key.
    assert_accepted(&server, "signed with the new key", &server.token()).await;
    for _ in 0..2 {
        assert_refused(
            &server,
            "remembered, but its key is retired",
            post_with(&server, bearer(&old)),
            unauthorized("unknown_key"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_token_is_never_served_from_memory_past_its_expiry() {
    let server = TestServer::start();
    // Expired 57 s ago: full validation still accepts it (60 s leeway) for about 3 seconds.
    let ending = signed_with(&server, |claims| claims["exp"] = (now() - 57).into());
    accepted_repeatedly(&server, "within the leeway", &ending).await;
    std::thread::sleep(Duration::from_secs(4));
    assert_refused(
        &server,
        "the same token, now past the leeway",
        post_with(&server, bearer(&ending)),
        unauthorized("expired"),
    )
    .await;
}

#[tokio::test]
async fn more_distinct_tokens_than_the_cache_holds_are_each_validated_and_accepted() {
    let server = TestServer::start();
    let tokens: Vec<String> = (0..CAPACITY + 50)
        .map(|index| {
            signed_with(&server, |claims| {
                claims["uti"] = format!("bench-{index}").into();
            })
        })
        .collect();
    for chunk in tokens.chunks(64) {
        let answers = join_all(
            chunk
                .iter()
                .map(|token| post_with(&server, bearer(token)).send()),
        )
        .await;
        for answer in answers {
            assert_eq!(answer.unwrap().status(), StatusCode::OK);
        }
    }
    // The first ones were evicted to keep the bound, and are validated again.
    accepted_repeatedly(&server, "the first token again", &tokens[0]).await;
    // A tampered one is still refused with the cache full.
    assert_refused(
        &server,
        "tampered, cache full",
        post_with(&server, bearer(tamper_signature(&tokens[1]))),
        unauthorized("bad_signature"),
    )
    .await;
}
