//! The authority over HTTP, driven the way MCP clients and the handler drive Entra.

use std::collections::HashMap;

use reqwest::{Response, StatusCode, header::LOCATION};
use serde_json::{Value, json};
use url::Url;

use super::pkce;
use crate::{
    Devstack, DevstackOptions,
    tenant::{
        DAEMON_CLIENT_ID, DEV_CLIENT_ID, MCP_OPERATOR, MCP_WRITER, OTHER_CLIENT_ID,
        SERVER_CLIENT_ID, TENANT_DOMAIN, TENANT_ID, user,
    },
    tests::{fetch_jwks, http, jwks_uri, validate},
};

const REDIRECT_URI: &str = "http://127.0.0.1:53123/callback";
/// The identifier URI a deployment on a custom domain registers and advertises as its
/// protected resource.
const RESOURCE: &str = "http://127.0.0.1:7071/mcp";

fn start() -> Devstack {
    Devstack::start_with(DevstackOptions {
        identifier_uri: Some(RESOURCE.to_owned()),
        ..DevstackOptions::default()
    })
    .unwrap()
}

pub(super) fn endpoint(devstack: &Devstack, path: &str) -> String {
    format!("{}/{TENANT_ID}/{path}", devstack.base_url())
}

/// An authorization request as the MCP SDKs build it.
fn sign_in_request(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", DEV_CLIENT_ID.to_owned()),
        ("redirect_uri", REDIRECT_URI.to_owned()),
        (
            "scope",
            format!("openid offline_access {RESOURCE}/user_impersonation"),
        ),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
        ("state", "opaque-state".to_owned()),
    ]
}

pub(super) fn with(
    mut params: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    params.retain(|(param, _)| *param != name);
    params.push((name, value.to_owned()));
    params
}

pub(super) fn without(
    mut params: Vec<(&'static str, String)>,
    name: &str,
) -> Vec<(&'static str, String)> {
    params.retain(|(param, _)| *param != name);
    params
}

async fn authorize(devstack: &Devstack, params: &[(&'static str, String)]) -> Response {
    http()
        .get(endpoint(devstack, "oauth2/v2.0/authorize"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// The query of the redirect back to the client.
fn redirect_query(response: &Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        location.as_str().split('?').next().unwrap(),
        REDIRECT_URI,
        "back to the client's redirect URI"
    );
    location.query_pairs().into_owned().collect()
}

/// Asserts an authorization failure went back to the client with `error` and `code`.
fn assert_redirected_error(response: &Response, error: &str, code: u32) {
    let query = redirect_query(response);
    assert_eq!(query["error"], error, "{query:?}");
    assert!(
        query["error_description"].starts_with(&format!("AADSTS{code}: ")),
        "{query:?}"
    );
    assert_eq!(query["state"], "opaque-state");
    assert!(!query.contains_key("code"));
}

async fn assert_error_page(response: Response, code: u32) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none(), "no redirect");
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("AADSTS{code}: ")), "{page}");
}

/// Signs the default user in and returns the code.
async fn code_for(devstack: &Devstack, params: &[(&'static str, String)]) -> String {
    let response = authorize(devstack, params).await;
    let query = redirect_query(&response);
    assert_eq!(query["state"], "opaque-state");
    query["code"].clone()
}

/// A code redemption as the MCP SDKs send it (no `scope`).
fn redemption(code: &str, verifier: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".to_owned()),
        ("client_id", DEV_CLIENT_ID.to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", REDIRECT_URI.to_owned()),
        ("code_verifier", verifier.to_owned()),
    ]
}

pub(super) async fn token(
    devstack: &Devstack,
    form: &[(&'static str, String)],
) -> (StatusCode, Value) {
    let response = http()
        .post(endpoint(devstack, "oauth2/v2.0/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

pub(super) fn assert_token_error(
    reply: &(StatusCode, Value),
    status: StatusCode,
    error: &str,
    code: u32,
) {
    let (actual_status, body) = reply;
    assert_eq!(*actual_status, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
}

#[tokio::test]
async fn discovery_is_entras_document_for_the_tenant() {
    let devstack = start();
    let response = http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            devstack.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();

    assert_eq!(document["issuer"], devstack.issuer());
    assert_eq!(
        document["authorization_endpoint"],
        endpoint(&devstack, "oauth2/v2.0/authorize")
    );
    assert_eq!(
        document["token_endpoint"],
        endpoint(&devstack, "oauth2/v2.0/token")
    );
    assert_eq!(document["jwks_uri"], jwks_uri(&devstack));
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(document["subject_types_supported"], json!(["pairwise"]));
    assert!(
        document["response_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("code"))
    );
    for field in ["token_endpoint_auth_methods_supported", "scopes_supported"] {
        assert!(document[field].is_array(), "{field}");
    }
    // Entra's document has neither; clients that require them must fail here as they would
    // against Entra.
    assert!(document.get("code_challenge_methods_supported").is_none());
    assert!(document.get("grant_types_supported").is_none());

    let by_domain: Value = http()
        .get(format!(
            "{}/{TENANT_DOMAIN}/v2.0/.well-known/openid-configuration",
            devstack.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        by_domain["issuer"],
        devstack.issuer(),
        "the issuer always names the GUID"
    );
}

#[tokio::test]
async fn unknown_tenants_are_aadsts90002() {
    let devstack = start();
    let response = http()
        .get(format!(
            "{}/common/v2.0/.well-known/openid-configuration",
            devstack.base_url()
        ))
        .send()
        .await
        .unwrap();
    let reply = (response.status(), response.json().await.unwrap());
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_tenant", 90_002);
}

#[tokio::test]
async fn the_rfc_8414_urls_the_sdks_probe_first_are_404() {
    let devstack = start();
    let issuer_path = format!("/{TENANT_ID}/v2.0");
    // Both SDKs try these before OpenID discovery and move on only after a 4xx.
    for probe in [
        format!("/.well-known/oauth-authorization-server{issuer_path}"),
        format!("/.well-known/openid-configuration{issuer_path}"),
    ] {
        let response = http()
            .get(format!("{}{probe}", devstack.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{probe}");
    }
    assert!(devstack.requests().iter().all(|r| r.service == "unrouted"));
}

#[tokio::test]
async fn the_jwks_publishes_the_signing_key_and_counts_fetches() {
    let devstack = start();
    assert_eq!(devstack.jwks_fetches(), 0);
    let jwks = fetch_jwks(&devstack).await;
    assert_eq!(devstack.jwks_fetches(), 1);

    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kid"], devstack.token_header()["kid"]);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["issuer"], devstack.issuer());
    assert!(key["n"].is_string() && key["e"].is_string() && key["x5t"].is_string());
}

#[tokio::test]
async fn a_pkce_sign_in_yields_a_valid_v2_access_token() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let code = code_for(&devstack, &sign_in_request(&challenge)).await;

    let (status, body) = token(&devstack, &redemption(&code, &verifier)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], format!("{RESOURCE}/user_impersonation"));
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((3590..=5400).contains(&expires_in), "{expires_in}");
    assert_eq!(body["ext_expires_in"], body["expires_in"]);

    let jwks = fetch_jwks(&devstack).await;
    let access_token = body["access_token"].as_str().unwrap();
    let token = validate(&devstack, access_token, &jwks).expect("the access token validates");
    assert_eq!(token.header.typ.as_deref(), Some("JWT"));
    assert_eq!(token.header.x5t, token.header.kid);

    let claims = &token.claims;
    let adele = user("adele").unwrap();
    assert_eq!(
        claims["aud"], SERVER_CLIENT_ID,
        "v2: the audience is the client id"
    );
    assert_eq!(claims["iss"], devstack.issuer());
    assert_eq!(claims["tid"], TENANT_ID);
    assert_eq!(claims["oid"], adele.object_id);
    assert_eq!(claims["preferred_username"], adele.user_principal_name);
    assert_eq!(claims["name"], adele.display_name);
    assert_eq!(claims["azp"], DEV_CLIENT_ID);
    assert_eq!(claims["azpacr"], "0");
    assert_eq!(
        claims["scp"], "user_impersonation",
        "OIDC scopes are not in scp"
    );
    assert_eq!(claims["ver"], "2.0");
    assert!(claims.get("roles").is_none());
    assert!(claims.get("idtyp").is_none());
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!((3600..=5400).contains(&lifetime));
}

#[tokio::test]
async fn login_hint_picks_the_user_and_assigned_roles_follow() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let megan = user("megan").unwrap();
    let request = with(
        sign_in_request(&challenge),
        "login_hint",
        megan.user_principal_name,
    );
    let code = code_for(&devstack, &request).await;
    let (_, body) = token(&devstack, &redemption(&code, &verifier)).await;
    let jwks = fetch_jwks(&devstack).await;
    let claims = validate(&devstack, body["access_token"].as_str().unwrap(), &jwks)
        .unwrap()
        .claims;
    assert_eq!(claims["oid"], megan.object_id);
    assert_eq!(claims["roles"], json!([MCP_OPERATOR, MCP_WRITER]));

    let unknown = authorize(
        &devstack,
        &with(sign_in_request(&challenge), "login_hint", "mallory"),
    )
    .await;
    assert_redirected_error(&unknown, "invalid_request", 50_034);
}

#[tokio::test]
async fn a_matching_resource_parameter_is_accepted_as_the_sdks_send_it() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let code = code_for(
        &devstack,
        &with(sign_in_request(&challenge), "resource", RESOURCE),
    )
    .await;
    let (status, body) = token(
        &devstack,
        &with(redemption(&code, &verifier), "resource", RESOURCE),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_mismatched_resource_parameter_is_aadsts9010010() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    // The server's URL while the registration only knows another identifier URI: the layout
    // that breaks real deployments.
    let server_url = "http://127.0.0.1:7071/mcp/";
    let refused = authorize(
        &devstack,
        &with(sign_in_request(&challenge), "resource", server_url),
    )
    .await;
    assert_redirected_error(&refused, "invalid_target", 9_010_010);
    let description = &redirect_query(&refused)["error_description"];
    assert!(description.contains("doesn't match with the requested scopes"));

    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    let reply = token(
        &devstack,
        &with(redemption(&code, &verifier), "resource", server_url),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_target", 9_010_010);
}

#[tokio::test]
async fn plain_or_missing_pkce_is_refused() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let plain = with(
        with(sign_in_request(&challenge), "code_challenge", &verifier),
        "code_challenge_method",
        "plain",
    );
    assert_redirected_error(
        &authorize(&devstack, &plain).await,
        "invalid_request",
        50_149,
    );

    let no_method = without(sign_in_request(&challenge), "code_challenge_method");
    assert_redirected_error(
        &authorize(&devstack, &no_method).await,
        "invalid_request",
        50_149,
    );

    let no_challenge = without(sign_in_request(&challenge), "code_challenge");
    assert_redirected_error(
        &authorize(&devstack, &no_challenge).await,
        "invalid_request",
        900_144,
    );

    let malformed = with(sign_in_request(&challenge), "code_challenge", "too-short");
    assert_redirected_error(
        &authorize(&devstack, &malformed).await,
        "invalid_request",
        501_491,
    );
}

#[tokio::test]
async fn a_wrong_verifier_fails_and_burns_the_code() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    let (other_verifier, _) = pkce::new_pair();
    let reply = token(&devstack, &redemption(&code, &other_verifier)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 501_481);

    let reply = token(&devstack, &redemption(&code, &verifier)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 54_005);
}

#[tokio::test]
async fn a_code_is_redeemed_once() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    let (status, _) = token(&devstack, &redemption(&code, &verifier)).await;
    assert_eq!(status, 200);
    let reply = token(&devstack, &redemption(&code, &verifier)).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 54_005);

    let made_up = token(&devstack, &redemption("made-up-code", &verifier)).await;
    assert_token_error(
        &made_up,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        9_002_313,
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();

    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    let elsewhere = with(
        redemption(&code, &verifier),
        "redirect_uri",
        "http://127.0.0.1:1/",
    );
    let reply = token(&devstack, &elsewhere).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 500_112);

    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    let other_client = with(redemption(&code, &verifier), "client_id", OTHER_CLIENT_ID);
    let reply = token(&devstack, &other_client).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant", 70_000);

    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    let with_secret = with(redemption(&code, &verifier), "client_secret", "s3cret");
    let reply = token(&devstack, &with_secret).await;
    assert_token_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client", 700_025);
}

#[tokio::test]
async fn untrusted_clients_and_redirects_get_an_error_page() {
    let devstack = start();
    let (_, challenge) = pkce::new_pair();
    let unknown_client = with(
        sign_in_request(&challenge),
        "client_id",
        "00000000-0000-0000-0000-000000000000",
    );
    assert_error_page(authorize(&devstack, &unknown_client).await, 700_016).await;

    for redirect in [
        "https://evil.example/callback",
        "http://10.0.0.1/",
        "not a url",
    ] {
        let request = with(sign_in_request(&challenge), "redirect_uri", redirect);
        assert_error_page(authorize(&devstack, &request).await, 50_011).await;
    }

    let daemon = with(sign_in_request(&challenge), "client_id", DAEMON_CLIENT_ID);
    assert_error_page(authorize(&devstack, &daemon).await, 50_011).await;

    let no_redirect = without(sign_in_request(&challenge), "redirect_uri");
    assert_error_page(authorize(&devstack, &no_redirect).await, 900_144).await;
}

#[tokio::test]
async fn bad_requests_from_trusted_clients_go_back_to_the_client() {
    let devstack = start();
    let (_, challenge) = pkce::new_pair();
    let cases = [
        (
            with(sign_in_request(&challenge), "scope", "openid profile"),
            "invalid_scope",
            70_011,
        ),
        (
            with(
                sign_in_request(&challenge),
                "scope",
                "https://graph.microsoft.com/User.Read",
            ),
            "invalid_resource",
            500_011,
        ),
        (
            without(sign_in_request(&challenge), "scope"),
            "invalid_request",
            900_144,
        ),
        (
            with(sign_in_request(&challenge), "response_type", "token"),
            "unsupported_response_type",
            700_054,
        ),
    ];
    for (request, error, code) in cases {
        assert_redirected_error(&authorize(&devstack, &request).await, error, code);
    }
}

#[tokio::test]
async fn the_api_client_id_form_of_the_scope_works_too() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let scope = format!("api://{SERVER_CLIENT_ID}/user_impersonation");
    let code = code_for(
        &devstack,
        &with(sign_in_request(&challenge), "scope", &scope),
    )
    .await;
    let (status, body) = token(&devstack, &redemption(&code, &verifier)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], scope);
}

fn client_credentials(client_id: &str, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", client_id.to_owned()),
        ("scope", scope.to_owned()),
    ]
}

#[tokio::test]
async fn the_daemon_gets_an_app_only_token_with_its_roles() {
    let devstack = start();
    let (status, body) = token(
        &devstack,
        &client_credentials(DAEMON_CLIENT_ID, &format!("{RESOURCE}/.default")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body.get("scope").is_none(),
        "Entra names no scope for app-only tokens"
    );

    let jwks = fetch_jwks(&devstack).await;
    let claims = validate(&devstack, body["access_token"].as_str().unwrap(), &jwks)
        .unwrap()
        .claims;
    let daemon = crate::tenant::client("daemon").unwrap();
    assert_eq!(claims["azp"], DAEMON_CLIENT_ID);
    assert_eq!(claims["oid"], daemon.service_principal_id);
    assert_eq!(claims["sub"], daemon.service_principal_id);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["roles"], json!([MCP_OPERATOR]));
    assert!(claims.get("scp").is_none());
}

#[tokio::test]
async fn client_credentials_refusals() {
    let devstack = start();
    let default_scope = format!("{RESOURCE}/.default");

    let public = token(
        &devstack,
        &client_credentials(DEV_CLIENT_ID, &default_scope),
    )
    .await;
    assert_token_error(
        &public,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7_000_218,
    );

    let named = client_credentials(DAEMON_CLIENT_ID, &format!("{RESOURCE}/user_impersonation"));
    let reply = token(&devstack, &named).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_scope", 1_002_012);

    let mismatch = with(
        client_credentials(DAEMON_CLIENT_ID, &default_scope),
        "resource",
        "https://mcp.contoso.example/mcp",
    );
    let reply = token(&devstack, &mismatch).await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_target", 9_010_010);

    let unknown = client_credentials("00000000-0000-0000-0000-000000000000", &default_scope);
    let reply = token(&devstack, &unknown).await;
    assert_token_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700_016,
    );

    let password = with(
        client_credentials(DAEMON_CLIENT_ID, &default_scope),
        "grant_type",
        "password",
    );
    let reply = token(&devstack, &password).await;
    assert_token_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        70_003,
    );

    let reply = token(
        &devstack,
        &without(
            client_credentials(DAEMON_CLIENT_ID, &default_scope),
            "grant_type",
        ),
    )
    .await;
    assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", 900_144);
}

#[tokio::test]
async fn emergency_rotation_withdraws_the_old_key() {
    let devstack = start();
    let old_token = devstack.user_token("adele", &["user_impersonation"]);
    let old_kid = devstack.token_header()["kid"].clone();
    let before = fetch_jwks(&devstack).await;
    assert!(validate(&devstack, &old_token, &before).is_ok());

    devstack.rotate_signing_key();
    let after = fetch_jwks(&devstack).await;
    let kids: Vec<&Value> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids, [&devstack.token_header()["kid"]]);
    assert_ne!(kids[0], &old_kid);

    let error = validate(&devstack, &old_token, &after).unwrap_err();
    assert!(error.contains("not published"), "{error}");
    let new_token = devstack.user_token("adele", &["user_impersonation"]);
    assert!(validate(&devstack, &new_token, &after).is_ok());
}

#[tokio::test]
async fn planned_rotation_publishes_first_and_keeps_old_tokens_valid() {
    let devstack = start();
    let old_token = devstack.user_token("adele", &[]);
    let next_kid = devstack.publish_next_key();
    let published = fetch_jwks(&devstack).await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    assert_ne!(devstack.token_header()["kid"], next_kid.as_str());

    devstack.promote_next_key();
    assert_eq!(devstack.token_header()["kid"], next_kid.as_str());
    let new_token = devstack.user_token("adele", &[]);
    assert!(validate(&devstack, &new_token, &published).is_ok());
    assert!(validate(&devstack, &old_token, &fetch_jwks(&devstack).await).is_ok());
}

#[tokio::test]
async fn an_outage_makes_discovery_and_the_jwks_answer_503() {
    let devstack = start();
    let discovery = format!("{}/.well-known/openid-configuration", devstack.issuer());
    devstack.set_issuer_available(false);
    for url in [&discovery, &jwks_uri(&devstack)] {
        let response = http().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
    }
    assert_eq!(devstack.jwks_fetches(), 1, "failed fetches count too");

    devstack.set_issuer_available(true);
    let response = http().get(&discovery).send().await.unwrap();
    assert_eq!(response.status(), 200);
    fetch_jwks(&devstack).await;
    assert_eq!(devstack.jwks_fetches(), 2);
}

#[tokio::test]
async fn the_token_endpoint_is_recorded_with_its_form() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    let code = code_for(&devstack, &sign_in_request(&challenge)).await;
    devstack.clear_requests();
    token(&devstack, &redemption(&code, &verifier)).await;

    let requests = devstack.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.service, "token");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/{TENANT_ID}/oauth2/v2.0/token"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(request.body.contains("grant_type=authorization_code"));
    assert!(request.contains(&verifier));
}

#[tokio::test]
async fn the_redirect_uri_is_compared_as_sent_not_as_parsed() {
    let devstack = start();
    let (verifier, challenge) = pkce::new_pair();
    // No path: parsing would add a trailing slash the client never sent.
    let bare = "http://localhost:53124";
    let response = authorize(
        &devstack,
        &with(sign_in_request(&challenge), "redirect_uri", bare),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(location.origin().ascii_serialization(), bare);
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, body) = token(
        &devstack,
        &with(redemption(&code, &verifier), "redirect_uri", bare),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Broker mode: the server app signs users in as a confidential client whose credential is the
/// managed identity's federated assertion, and gets refresh tokens.
mod confidential_server_app {
    use super::*;
    use crate::tenant::TOKEN_EXCHANGE_AUDIENCE;

    const CALLBACK: &str = "http://127.0.0.1:7071/callback";

    fn start() -> Devstack {
        Devstack::start_with(DevstackOptions {
            identifier_uri: Some(RESOURCE.to_owned()),
            server_redirect_uris: vec![CALLBACK.to_owned()],
            ..DevstackOptions::default()
        })
        .unwrap()
    }

    fn sign_in(challenge: &str) -> Vec<(&'static str, String)> {
        let request = with(sign_in_request(challenge), "client_id", SERVER_CLIENT_ID);
        let request = with(request, "redirect_uri", CALLBACK);
        with(
            request,
            "scope",
            &format!("{RESOURCE}/user_impersonation offline_access openid profile"),
        )
    }

    fn assertion(devstack: &Devstack) -> Vec<(&'static str, String)> {
        vec![
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            (
                "client_assertion",
                devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE),
            ),
        ]
    }

    async fn code(devstack: &Devstack, verifier: &str) -> String {
        let response = authorize(devstack, &sign_in(&pkce::s256_challenge(verifier))).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
        assert!(location.as_str().starts_with(CALLBACK), "{location}");
        let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
        query["code"].clone()
    }

    fn redeem(devstack: &Devstack, code: &str, verifier: &str) -> Vec<(&'static str, String)> {
        let mut form = with(redemption(code, verifier), "client_id", SERVER_CLIENT_ID);
        form = with(form, "redirect_uri", CALLBACK);
        form = with(
            form,
            "scope",
            &format!("{RESOURCE}/user_impersonation offline_access openid profile"),
        );
        form.extend(assertion(devstack));
        form
    }

    #[tokio::test]
    async fn a_sign_in_yields_an_access_token_for_the_api_and_a_refresh_token() {
        let devstack = start();
        let (verifier, _) = pkce::new_pair();
        let code = code(&devstack, &verifier).await;
        let (status, body) = token(&devstack, &redeem(&devstack, &code, &verifier)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let jwks = fetch_jwks(&devstack).await;
        let claims = validate(&devstack, body["access_token"].as_str().unwrap(), &jwks)
            .unwrap()
            .claims;
        assert_eq!(claims["aud"], SERVER_CLIENT_ID);
        assert_eq!(claims["azp"], SERVER_CLIENT_ID);
        assert_eq!(claims["azpacr"], "2", "a confidential client");
        assert_eq!(claims["scp"], "user_impersonation");
        assert_eq!(claims["oid"], user("adele").unwrap().object_id);
        assert!(body["refresh_token"].as_str().unwrap().len() > 40);
        assert!(body["id_token"].is_string());

        // The refresh token buys a new access token and a new refresh token; the old one keeps
        // working, as Entra's does.
        let first = body["refresh_token"].as_str().unwrap().to_owned();
        let mut refresh = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", SERVER_CLIENT_ID.to_owned()),
            ("refresh_token", first.clone()),
            (
                "scope",
                format!("{RESOURCE}/user_impersonation offline_access"),
            ),
        ];
        refresh.extend(assertion(&devstack));
        let (status, refreshed) = token(&devstack, &refresh).await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        assert_ne!(refreshed["refresh_token"], first.as_str());
        let claims = validate(
            &devstack,
            refreshed["access_token"].as_str().unwrap(),
            &jwks,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["scp"], "user_impersonation");
        assert_eq!(token(&devstack, &refresh).await.0, StatusCode::OK);

        // Without the federated assertion the server app is not authenticated.
        let bare: Vec<_> = refresh
            .iter()
            .filter(|(name, _)| !name.starts_with("client_assertion"))
            .cloned()
            .collect();
        assert_token_error(
            &token(&devstack, &bare).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_218,
        );

        // Revoked sessions end every refresh.
        devstack.revoke_sessions("adele");
        assert_token_error(
            &token(&devstack, &refresh).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50_173,
        );
    }

    #[tokio::test]
    async fn only_the_registered_web_redirect_is_accepted() {
        let devstack = start();
        let request = with(
            sign_in(&pkce::new_pair().1),
            "redirect_uri",
            "http://127.0.0.1:7071/elsewhere",
        );
        assert_error_page(authorize(&devstack, &request).await, 50_011).await;
        let loopback = with(
            sign_in(&pkce::new_pair().1),
            "redirect_uri",
            "http://127.0.0.1:9/",
        );
        assert_error_page(authorize(&devstack, &loopback).await, 50_011).await;
    }

    #[tokio::test]
    async fn public_clients_get_no_refresh_token() {
        let devstack = start();
        let (verifier, _) = pkce::new_pair();
        let code = code_for(
            &devstack,
            &sign_in_request(&pkce::s256_challenge(&verifier)),
        )
        .await;
        let (status, body) = token(&devstack, &redemption(&code, &verifier)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("refresh_token").is_none(), "{body}");
    }
}
