//! The on-behalf-of grant over HTTP, as the handler sends it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::tests::{assert_token_error, token, with, without};
use crate::{
    Devstack,
    datetime::now_seconds,
    tenant::{
        DAEMON_CLIENT_ID, DEV_CLIENT_ID, KEY_VAULT_RESOURCE, MFA_POLICY_ID, SERVER_CLIENT_ID,
        TOKEN_EXCHANGE_AUDIENCE,
    },
    tests::start,
};

const GRAPH: &str = "https://graph.microsoft.com";

/// An on-behalf-of request for `user`'s token, authenticated with the managed identity.
fn obo(devstack: &Devstack, user: &str, scope: &str) -> Vec<(&'static str, String)> {
    obo_with(
        &devstack.user_token(user, &["user_impersonation"]),
        &devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE),
        scope,
    )
}

fn obo_with(assertion: &str, client_assertion: &str, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
        ),
        ("requested_token_use", "on_behalf_of".to_owned()),
        ("assertion", assertion.to_owned()),
        ("client_id", SERVER_CLIENT_ID.to_owned()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
        ),
        ("client_assertion", client_assertion.to_owned()),
        ("scope", scope.to_owned()),
    ]
}

fn description(reply: &(StatusCode, Value)) -> &str {
    reply.1["error_description"].as_str().unwrap()
}

#[tokio::test]
async fn a_users_token_becomes_an_opaque_graph_token_with_the_requested_permissions() {
    let devstack = start();
    let scope = format!("{GRAPH}/User.Read {GRAPH}/Mail.Read offline_access");
    let (status, body) = token(&devstack, &obo(&devstack, "adele", &scope)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["scope"],
        format!("{GRAPH}/User.Read {GRAPH}/Mail.Read")
    );
    assert_eq!(body["expires_in"], 75 * 60);
    assert_eq!(body["ext_expires_in"], body["expires_in"]);
    let access_token = body["access_token"].as_str().unwrap();
    assert!(
        !access_token.contains('.') && access_token.len() >= 43,
        "opaque, not a JWT: {access_token}"
    );
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    assert_eq!(devstack.obo_exchanges(), 1);
}

#[tokio::test]
async fn dot_default_grants_everything_consented_under_the_prefix_used() {
    let devstack = start();
    let base = devstack.graph_base_url().to_owned();
    let (status, body) = token(
        &devstack,
        &obo(&devstack, "adele", &format!("{base}/.default")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let granted: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    for permission in [
        "User.Read",
        "MailboxSettings.Read",
        "User.ReadBasic.All",
        "Mail.Read",
        "Calendars.ReadBasic",
        "Files.Read",
    ] {
        assert!(
            granted.contains(&format!("{base}/{permission}").as_str()),
            "{permission} in {granted:?}"
        );
    }

    devstack.set_consent("adele", &[]);
    let (_, body) = token(
        &devstack,
        &obo(&devstack, "adele", &format!("{base}/.default")),
    )
    .await;
    assert_eq!(
        body["scope"],
        format!("{base}/User.Read {base}/MailboxSettings.Read"),
        "only the admin consent is left"
    );
}

#[tokio::test]
async fn the_identifier_uri_audience_is_accepted_too() {
    let devstack = start();
    let mut claims = devstack.user_claims("megan", &["user_impersonation"]);
    claims["aud"] = json!(devstack.identifier_uri());
    let assertion = devstack.sign(&devstack.token_header(), &claims);
    let form = obo_with(
        &assertion,
        &devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE),
        "User.Read",
    );
    let (status, body) = token(&devstack, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"],
        format!("{GRAPH}/User.Read"),
        "a bare name is Graph"
    );
}

#[tokio::test]
async fn missing_consent_is_aadsts65001_with_consent_required() {
    let devstack = start();
    devstack.set_consent("adele", &["Calendars.ReadBasic"]);
    let reply = token(
        &devstack,
        &obo(
            &devstack,
            "adele",
            &format!("{GRAPH}/User.Read {GRAPH}/Mail.Read"),
        ),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 65_001);
    assert_eq!(reply.1["suberror"], "consent_required");
    assert!(
        description(&reply).starts_with(&format!(
            "AADSTS65001: The user or administrator has not consented to use the application \
             with ID '{SERVER_CLIENT_ID}' named 'M365 MCP Server (devstack)'. Send an interactive \
             authorization request for this user and resource."
        )),
        "{}",
        description(&reply)
    );
    let (status, _) = token(
        &devstack,
        &obo(
            &devstack,
            "adele",
            &format!("{GRAPH}/Calendars.ReadBasic {GRAPH}/User.Read"),
        ),
    )
    .await;
    assert_eq!(status, 200, "what is consented still works");
    let (status, _) = token(
        &devstack,
        &obo(&devstack, "alex", &format!("{GRAPH}/Mail.Read")),
    )
    .await;
    assert_eq!(status, 200, "other users keep their consent");
}

#[tokio::test]
async fn withdrawing_one_permission_refuses_only_the_scope_sets_naming_it() {
    let devstack = start();
    devstack.withdraw_consent("adele", "Calendars.Read");
    assert!(
        !devstack
            .consented_graph_permissions("adele")
            .contains(&"Calendars.Read")
    );
    let reply = token(
        &devstack,
        &obo(
            &devstack,
            "adele",
            &format!("{GRAPH}/User.Read {GRAPH}/Calendars.Read"),
        ),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 65_001);
    let (status, body) = token(
        &devstack,
        &obo(
            &devstack,
            "adele",
            &format!("{GRAPH}/Calendars.ReadBasic {GRAPH}/Mail.Read"),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = token(
        &devstack,
        &obo(&devstack, "adele", &format!("{GRAPH}/.default")),
    )
    .await;
    let granted: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert!(!granted.contains(&format!("{GRAPH}/Calendars.Read").as_str()));
    assert!(granted.contains(&format!("{GRAPH}/Calendars.Read.Shared").as_str()));
}

#[tokio::test]
async fn conditional_access_is_interaction_required_with_a_claims_challenge() {
    let devstack = start();
    devstack.require_mfa("adele", true);
    let reply = token(&devstack, &obo(&devstack, "adele", "User.Read")).await;
    assert_token_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "interaction_required",
        50_079,
    );
    assert!(description(&reply).contains(
        "you must enroll in multi-factor authentication to access \
         '00000003-0000-0000-c000-000000000000'"
    ));
    assert_eq!(
        reply.1["claims"],
        format!(
            r#"{{"access_token":{{"polids":{{"essential":true,"values":["{MFA_POLICY_ID}"]}}}}}}"#
        ),
        "a JSON string, exactly as Entra sends it"
    );
    let challenge: Value = serde_json::from_str(reply.1["claims"].as_str().unwrap()).unwrap();
    assert_eq!(
        challenge["access_token"]["polids"]["values"][0],
        MFA_POLICY_ID
    );

    devstack.require_mfa("adele", false);
    let (status, _) = token(&devstack, &obo(&devstack, "adele", "User.Read")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_client_must_be_the_server_proven_by_its_federated_identity() {
    let devstack = start();
    let good = obo(&devstack, "adele", "User.Read");

    let public = token(&devstack, &with(good.clone(), "client_id", DEV_CLIENT_ID)).await;
    assert_token_error(&public, StatusCode::UNAUTHORIZED, "invalid_client", 700_025);
    let daemon = token(
        &devstack,
        &with(good.clone(), "client_id", DAEMON_CLIENT_ID),
    )
    .await;
    assert_token_error(&daemon, StatusCode::BAD_REQUEST, "invalid_request", 70_021);
    let unknown = token(
        &devstack,
        &with(
            good.clone(),
            "client_id",
            "00000000-0000-0000-0000-000000000000",
        ),
    )
    .await;
    assert_token_error(
        &unknown,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700_016,
    );
    let no_credential = token(&devstack, &without(good.clone(), "client_assertion")).await;
    assert_token_error(
        &no_credential,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7_000_218,
    );
    let secret = with(
        without(good.clone(), "client_assertion"),
        "client_secret",
        "s3cret",
    );
    assert_token_error(
        &token(&devstack, &secret).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7_000_218,
    );
    let garbage = token(
        &devstack,
        &with(good.clone(), "client_assertion", "not-a-jwt"),
    )
    .await;
    assert_token_error(&garbage, StatusCode::BAD_REQUEST, "invalid_request", 50_027);
}

#[tokio::test]
async fn an_assertion_no_federated_credential_matches_is_aadsts70021() {
    let devstack = start();
    let good = obo(&devstack, "adele", "User.Read");
    let forge = |change: &dyn Fn(&mut Value)| {
        let mut claims = devstack.managed_identity_claims(TOKEN_EXCHANGE_AUDIENCE);
        change(&mut claims);
        devstack.sign(&devstack.token_header(), &claims)
    };

    let wrong_subject =
        forge(&|claims| claims["sub"] = json!("3f1c7a52-0000-4000-8000-000000000000"));
    let reply = token(
        &devstack,
        &with(good.clone(), "client_assertion", &wrong_subject),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 70_021);
    assert!(description(&reply).contains(&format!(
        "No matching federated identity record found for presented assertion. Assertion Issuer: \
         '{}'. Assertion Subject: '3f1c7a52-0000-4000-8000-000000000000'. Assertion Audience: \
         'api://AzureADTokenExchange'.",
        devstack.issuer()
    )));

    let vault_token = devstack.managed_identity_token(KEY_VAULT_RESOURCE);
    let reply = token(
        &devstack,
        &with(good.clone(), "client_assertion", &vault_token),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 70_021);
    assert!(description(&reply).contains("Assertion Audience: 'https://vault.azure.net'"));

    let other_issuer =
        forge(&|claims| claims["iss"] = json!("https://login.microsoftonline.com/another/v2.0"));
    let reply = token(
        &devstack,
        &with(good.clone(), "client_assertion", &other_issuer),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 70_021);
}

#[tokio::test]
async fn the_client_assertion_must_be_signed_and_current() {
    let devstack = start();
    let good = obo(&devstack, "adele", "User.Read");

    let mut expired = devstack.managed_identity_claims(TOKEN_EXCHANGE_AUDIENCE);
    expired["nbf"] = json!(now_seconds() - 7200);
    expired["exp"] = json!(now_seconds() - 3600);
    let expired = devstack.sign(&devstack.token_header(), &expired);
    let reply = token(&devstack, &with(good.clone(), "client_assertion", &expired)).await;
    assert_token_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client", 700_024);
    assert!(description(&reply).contains("Client assertion is not within its valid time range."));

    let assertion = devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE);
    devstack.rotate_signing_key();
    let user = devstack.user_token("adele", &["user_impersonation"]);
    let reply = token(&devstack, &obo_with(&user, &assertion, "User.Read")).await;
    assert_token_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client", 700_027);
}

#[tokio::test]
async fn the_users_token_must_be_for_this_app_for_a_user_and_current() {
    let devstack = start();
    let client_assertion = devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE);
    let exchange = |assertion: String| obo_with(&assertion, &client_assertion, "User.Read");

    let app_only = devstack.app_token("daemon", &["MCP.Operator"]);
    let reply = token(&devstack, &exchange(app_only)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 7_000_114);
    assert!(description(&reply).contains(&format!(
        "Application '{DAEMON_CLIENT_ID}' is not allowed to make application on-behalf-of calls."
    )));

    let mut for_graph = devstack.user_claims("adele", &["User.Read"]);
    for_graph["aud"] = json!("00000003-0000-0000-c000-000000000000");
    let reply = token(
        &devstack,
        &exchange(devstack.sign(&devstack.token_header(), &for_graph)),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 50_013);
    assert!(description(&reply).contains(
        "Assertion audience does not match the Client app presenting the assertion. The \
         audience in the assertion was '00000003-0000-0000-c000-000000000000'"
    ));

    let mut expired = devstack.user_claims("adele", &["user_impersonation"]);
    expired["nbf"] = json!(now_seconds() - 7200);
    expired["exp"] = json!(now_seconds() - 3600);
    let reply = token(
        &devstack,
        &exchange(devstack.sign(&devstack.token_header(), &expired)),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 500_133);

    let mut foreign = devstack.user_claims("adele", &["user_impersonation"]);
    foreign["iss"] = json!("https://login.microsoftonline.com/another/v2.0");
    let reply = token(
        &devstack,
        &exchange(devstack.sign(&devstack.token_header(), &foreign)),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 50_013);

    let old = devstack.user_token("adele", &["user_impersonation"]);
    devstack.rotate_signing_key();
    let fresh_client_assertion = devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE);
    let reply = token(
        &devstack,
        &obo_with(&old, &fresh_client_assertion, "User.Read"),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 50_013);
    assert!(description(&reply).contains("Assertion contains an invalid signature."));

    let good = obo(&devstack, "adele", "User.Read");
    let reply = token(&devstack, &without(good.clone(), "assertion")).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 900_144);
    let reply = token(&devstack, &without(good.clone(), "requested_token_use")).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 900_144);
    let reply = token(&devstack, &with(good, "assertion", "garbage")).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 50_027);
}

#[tokio::test]
async fn scopes_must_name_existing_graph_permissions() {
    let devstack = start();
    let cases = [
        (format!("{GRAPH}/Mail.Everything"), "invalid_scope", 650_053),
        (
            format!("api://{SERVER_CLIENT_ID}/user_impersonation"),
            "invalid_resource",
            500_011,
        ),
        (
            format!("{GRAPH}/User.Read {}/Mail.Read", devstack.graph_base_url()),
            "invalid_scope",
            28_000,
        ),
        ("offline_access".to_owned(), "invalid_scope", 70_011),
    ];
    for (scope, error, code) in cases {
        let reply = token(&devstack, &obo(&devstack, "adele", &scope)).await;
        assert_token_error(&reply, StatusCode::BAD_REQUEST, error, code);
    }
    let reply = token(
        &devstack,
        &without(obo(&devstack, "adele", "User.Read"), "scope"),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 900_144);
}

#[tokio::test]
async fn the_graph_token_lifetime_and_an_outage_are_controllable_and_every_request_counts() {
    let devstack = start();
    devstack.set_graph_token_lifetime(std::time::Duration::from_secs(90));
    let (_, body) = token(&devstack, &obo(&devstack, "adele", "User.Read")).await;
    assert_eq!(body["expires_in"], 90);

    devstack.set_token_endpoint_available(false);
    let reply = token(&devstack, &obo(&devstack, "adele", "User.Read")).await;
    assert_token_error(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        90_033,
    );
    devstack.set_token_endpoint_available(true);

    let reply = token(&devstack, &obo(&devstack, "adele", "Mail.Everything")).await;
    assert_eq!(reply.0, 400);
    assert_eq!(
        devstack.obo_exchanges(),
        3,
        "successful, refused and unanswered alike"
    );

    let requests = devstack.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.service == "token"));
}
