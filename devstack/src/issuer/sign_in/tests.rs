//! A local public client that calls Graph itself, over HTTP as `handler stdio` drives it: the
//! device code flow, authorization code with PKCE, refresh with rotation, consent, revocation.

use std::{collections::HashMap, time::Duration};

use reqwest::{StatusCode, header::LOCATION};
use serde_json::Value;
use url::Url;

use super::super::{
    pkce,
    tests::{assert_token_error, endpoint, token},
};
use crate::{
    DeviceAnswer, Devstack,
    tenant::{DEV_CLIENT_ID, LOCAL_CLIENT_ID, TENANT_ID, user},
    tests::{http, start},
};

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn start_fast() -> Devstack {
    let devstack = start();
    // Polls in these tests follow each other at once.
    devstack.set_device_code_interval(Duration::ZERO);
    devstack
}

fn graph_scopes(devstack: &Devstack, permissions: &[&str]) -> String {
    let mut scope: Vec<String> = permissions
        .iter()
        .map(|p| format!("{}/{p}", devstack.graph_base_url()))
        .collect();
    scope.extend(["openid", "profile", "offline_access"].map(str::to_owned));
    scope.join(" ")
}

async fn device_code(devstack: &Devstack, client_id: &str, scope: &str) -> (StatusCode, Value) {
    let response = http()
        .post(endpoint(devstack, "oauth2/v2.0/devicecode"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

fn poll(client_id: &str, device_code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", DEVICE_CODE_GRANT.to_owned()),
        ("client_id", client_id.to_owned()),
        ("device_code", device_code.to_owned()),
    ]
}

fn refresh(refresh_token: &str, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "refresh_token".to_owned()),
        ("client_id", LOCAL_CLIENT_ID.to_owned()),
        ("refresh_token", refresh_token.to_owned()),
        ("scope", scope.to_owned()),
    ]
}

/// The claims of a JWT, unverified (the test reads what the issuer put there).
fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn graph_me(devstack: &Devstack, access_token: &str) -> (StatusCode, Value) {
    let response = http()
        .get(format!("{}/v1.0/me", devstack.graph_base_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// A device sign-in through to the tokens, with the default script.
async fn signed_in(devstack: &Devstack, permissions: &[&str]) -> Value {
    let scope = graph_scopes(devstack, permissions);
    let (_, started) = device_code(devstack, LOCAL_CLIENT_ID, &scope).await;
    let code = started["device_code"].as_str().unwrap();
    loop {
        let (status, body) = token(devstack, &poll(LOCAL_CLIENT_ID, code)).await;
        if status == StatusCode::OK {
            return body;
        }
        assert_eq!(body["error"], "authorization_pending", "{body}");
    }
}

#[tokio::test]
async fn the_device_code_endpoint_answers_as_entra_does() {
    let devstack = start();
    let scope = graph_scopes(&devstack, &["User.Read"]);
    let (status, body) = device_code(&devstack, LOCAL_CLIENT_ID, &scope).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user_code = body["user_code"].as_str().unwrap();
    let verification_uri = body["verification_uri"].as_str().unwrap();
    assert_eq!(
        verification_uri,
        format!("{}/devicelogin", devstack.base_url())
    );
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["interval"], 1);
    assert!(body["device_code"].as_str().unwrap().len() > 40);
    assert_eq!(
        body["message"],
        format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the \
             code {user_code} to authenticate."
        )
    );

    let (status, body) =
        device_code(&devstack, "00000000-0000-0000-0000-00000000abcd", &scope).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"][0], 700_016, "{body}");
    let (status, body) = device_code(&devstack, LOCAL_CLIENT_ID, "Mail.Everything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"][0], 650_053, "{body}");
}

#[tokio::test]
async fn unscripted_the_sample_user_approves_after_one_pending_poll() {
    let devstack = start_fast();
    let tokens = signed_in(&devstack, &["User.Read", "Mail.Read"]).await;
    let answers: Vec<&str> = devstack
        .device_code_answers()
        .iter()
        .map(|(_, answer)| *answer)
        .collect();
    assert_eq!(answers, ["authorization_pending", "approved"]);

    let access_token = tokens["access_token"].as_str().unwrap();
    assert!(!access_token.contains('.'), "Graph tokens are opaque");
    let (status, me) = graph_me(&devstack, access_token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["displayName"], "Adele Vance");
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("devstack-rt.")
    );

    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], LOCAL_CLIENT_ID);
    assert_eq!(id["iss"], devstack.issuer());
    assert_eq!(id["tid"], TENANT_ID);
    assert_eq!(id["oid"], user("adele").unwrap().object_id);
    assert_eq!(id["preferred_username"], "adele@contoso.example");
    assert_eq!(
        devstack.client_consented_graph_permissions("local", "adele"),
        ["User.Read", "Mail.Read"],
        "signing in consented to what was asked"
    );
}

#[tokio::test]
async fn final_answers_carry_entras_codes() {
    let devstack = start_fast();
    let scope = graph_scopes(&devstack, &["User.Read"]);
    for (answer, error, code) in [
        (DeviceAnswer::Decline, "authorization_declined", 65_004),
        (DeviceAnswer::Expire, "expired_token", 70_020),
    ] {
        devstack.script_device_sign_in(vec![answer]);
        let (_, started) = device_code(&devstack, LOCAL_CLIENT_ID, &scope).await;
        let code_value = started["device_code"].as_str().unwrap();
        let reply = token(&devstack, &poll(LOCAL_CLIENT_ID, code_value)).await;
        assert_token_error(&reply, StatusCode::BAD_REQUEST, error, code);
        let again = token(&devstack, &poll(LOCAL_CLIENT_ID, code_value)).await;
        assert_token_error(&again, StatusCode::BAD_REQUEST, error, code);
    }
    let reply = token(&devstack, &poll(LOCAL_CLIENT_ID, "not-a-device-code")).await;
    assert_token_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "bad_verification_code",
        70_000,
    );
}

#[tokio::test]
async fn a_scripted_slow_down_and_polling_too_soon_both_add_five_seconds() {
    let devstack = start_fast();
    devstack.script_device_sign_in(vec![DeviceAnswer::SlowDown, DeviceAnswer::Decline]);
    let scope = graph_scopes(&devstack, &["User.Read"]);
    let (_, started) = device_code(&devstack, LOCAL_CLIENT_ID, &scope).await;
    assert_eq!(started["interval"], 0);
    let code = started["device_code"].as_str().unwrap();
    let (_, body) = token(&devstack, &poll(LOCAL_CLIENT_ID, code)).await;
    assert_eq!(body["error"], "slow_down", "scripted: {body}");
    // The interval is now five seconds: polling at once is too soon, and the script waits.
    let (_, body) = token(&devstack, &poll(LOCAL_CLIENT_ID, code)).await;
    assert_eq!(body["error"], "slow_down", "enforced: {body}");
    let answers: Vec<&str> = devstack
        .device_code_answers()
        .iter()
        .map(|(_, answer)| *answer)
        .collect();
    assert_eq!(answers, ["slow_down", "slow_down"]);
}

#[tokio::test]
async fn a_waiting_sign_in_is_decided_at_the_verification_page() {
    let devstack = start_fast();
    devstack.script_device_sign_in(vec![DeviceAnswer::Wait]);
    let scope = graph_scopes(&devstack, &["User.Read"]);
    let (_, started) = device_code(&devstack, LOCAL_CLIENT_ID, &scope).await;
    let code = started["device_code"].as_str().unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    let (_, body) = token(&devstack, &poll(LOCAL_CLIENT_ID, code)).await;
    assert_eq!(body["error"], "authorization_pending");

    let page = http()
        .get(started["verification_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("name=\"user_code\""));
    let wrong = http()
        .post(started["verification_uri"].as_str().unwrap())
        .form(&[("user_code", "WRONG234"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let entered = http()
        .post(started["verification_uri"].as_str().unwrap())
        .form(&[
            ("user_code", user_code),
            ("login_hint", "megan"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(entered.status(), StatusCode::OK);

    let (status, body) = token(&devstack, &poll(LOCAL_CLIENT_ID, code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["preferred_username"], "megan@contoso.example");
}

#[tokio::test]
async fn clients_without_public_client_flows_get_aadsts7000218() {
    let devstack = start_fast();
    let (status, started) = device_code(
        &devstack,
        DEV_CLIENT_ID,
        &format!(
            "openid api://{}/user_impersonation",
            devstack.server_client_id()
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let reply = token(
        &devstack,
        &poll(DEV_CLIENT_ID, started["device_code"].as_str().unwrap()),
    )
    .await;
    assert_token_error(
        &reply,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7_000_218,
    );
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_and_needs_consent_for_more() {
    let devstack = start_fast();
    let tokens = signed_in(&devstack, &["User.Read", "Mail.Read"]).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    let scope = format!("{}/Mail.Read offline_access", devstack.graph_base_url());
    let (status, body) = token(&devstack, &refresh(&first, &scope)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "rotated");
    assert_eq!(
        body["scope"],
        format!("{}/Mail.Read", devstack.graph_base_url())
    );
    assert_eq!(
        devstack.refresh_tokens_of("local", "adele"),
        [first.clone(), second.clone()]
    );
    let (status, _) = token(&devstack, &refresh(&first, &scope)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the old one keeps working, as Entra's do"
    );

    let more = format!("{}/Tasks.Read offline_access", devstack.graph_base_url());
    let reply = token(&devstack, &refresh(&second, &more)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 65_001);
    assert_eq!(reply.1["suberror"], "consent_required");

    devstack.withdraw_client_consent("local", "adele", "Mail.Read");
    let reply = token(&devstack, &refresh(&second, &scope)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 65_001);

    devstack.revoke_sessions("adele");
    let user_read = format!("{}/User.Read offline_access", devstack.graph_base_url());
    let reply = token(&devstack, &refresh(&second, &user_read)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 50_173);
}

#[tokio::test]
async fn an_expired_or_unknown_refresh_token_is_refused_as_entra_refuses_it() {
    let devstack = start_fast();
    let tokens = signed_in(&devstack, &["User.Read"]).await;
    let issued = tokens["refresh_token"].as_str().unwrap();
    let scope = format!("{}/User.Read offline_access", devstack.graph_base_url());

    let reply = token(&devstack, &refresh("devstack-rt.made-up", &scope)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 9_002_313);

    devstack.expire_refresh_tokens("adele");
    let reply = token(&devstack, &refresh(issued, &scope)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 700_082);
}

#[tokio::test]
async fn a_browser_sign_in_with_pkce_gets_graph_tokens_directly() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let redirect_uri = "http://localhost:49152";
    let scope = graph_scopes(&devstack, &["User.Read", "Calendars.ReadBasic"]);
    let response = http()
        .get(endpoint(&devstack, "oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", LOCAL_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", &scope),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(location.origin().ascii_serialization(), redirect_uri);
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "s1");
    let (status, body) = token(
        &devstack,
        &[
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", LOCAL_CLIENT_ID.to_owned()),
            ("code", query["code"].clone()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", verifier),
            ("scope", scope.clone()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, me) = graph_me(&devstack, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(body["refresh_token"].is_string());
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["aud"],
        LOCAL_CLIENT_ID
    );
    assert_eq!(
        devstack.client_consented_graph_permissions("local", "adele"),
        ["User.Read", "Calendars.ReadBasic"]
    );
}
