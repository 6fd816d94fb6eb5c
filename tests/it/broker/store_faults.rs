//! Blob Storage faults: Azurite stopped, or frozen so that it accepts connections and never
//! answers. The broker says so clearly (`temporarily_unavailable` with `Retry-After` to
//! clients, a "try again" page to people), issues nothing, and never lets a code be redeemed
//! twice, whatever was or was not written before the fault.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::*;

fn assert_unavailable(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
}

#[tokio::test]
async fn with_the_store_down_nothing_is_issued_and_every_answer_says_why() {
    let mut stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Patient").await;
    let tokens = stack.tokens_for(&client_id, "adele").await;
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url)
        .with("login_hint", "megan");
    let outcome = browser.open(&stack.authorize_url(&request)).await;
    let (_, consent_page) = outcome.page();
    let consent_page = consent_page.to_owned();

    stack.azurite.kill();

    let (status, body) = stack
        .refresh(&client_id, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_unavailable(status, &body);
    // The consent decision cannot be recorded: a page says to try again, no code goes out.
    let outcome = browser
        .submit_consent(&stack.issuer(), &consent_page, "approve")
        .await;
    let (status, page) = outcome.page();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("Try again"), "{page}");
    // A new sign-in gets as far as Entra, then the same page.
    let mut browser = Browser::new(&stack);
    let outcome = browser.open(&stack.authorize_url(&request)).await;
    let (status, page) = outcome.page();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    // A code redemption: unavailable, with Retry-After.
    let response = reqwest::Client::new()
        .post(stack.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", "whatever-code-value"),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", &request.verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    // Registration needs no store: it still works.
    let (status, _) = stack
        .register(serde_json::json!({ "redirect_uris": [CLIENT_REDIRECT] }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_hanging_store_times_out_and_never_redeems_a_code_twice() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Hasty").await;
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let code = stack.sign_in(&mut browser, &request).await;

    stack.azurite.pause();
    let started = Instant::now();
    let (status, body) = stack.redeem(&client_id, &code, &request.verifier).await;
    let waited = started.elapsed();
    stack.azurite.resume();
    assert_unavailable(status, &body);
    assert!(waited < Duration::from_secs(20), "bounded: {waited:?}");

    // Whatever reached the store before the timeout, the code yields tokens at most once.
    let mut issued = 0;
    for _ in 0..3 {
        let (status, body) = stack.redeem(&client_id, &code, &request.verifier).await;
        match status {
            StatusCode::OK => issued += 1,
            StatusCode::BAD_REQUEST => assert_eq!(body["error"], "invalid_grant", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(issued <= 1, "a code was redeemed {issued} times");
}

#[tokio::test]
async fn two_instances_racing_on_one_code_issue_one_token() {
    let stack = BrokerStack::start().await;
    let second = stack.another_instance();
    let client_id = stack.registered_client("Racer").await;
    for _ in 0..3 {
        let mut browser = Browser::new(&stack);
        let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
        let code = stack.sign_in(&mut browser, &request).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", request.verifier.as_str()),
        ];
        let first_url = stack.url("/token");
        let second_url = second.url("/token");
        let (a, b) = tokio::join!(token_at(&first_url, &form), token_at(&second_url, &form));
        let successes = [&a, &b]
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .count();
        assert_eq!(successes, 1, "{a:?} {b:?}");
        for (status, body) in [a, b] {
            if status != StatusCode::OK {
                assert_eq!(body["error"], "invalid_grant", "{body}");
            }
        }
    }
}
