//! The devstack as a whole: lifecycle, the token API tests use, minting, recording, and the
//! whole outbound chain end to end (managed identity → on-behalf-of → Graph). Each stand-in's
//! protocol is tested over HTTP in its own module, with the helpers below.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
};

use jsonwebtoken::{Algorithm, DecodingKey, TokenData, Validation, decode, decode_header};
use serde_json::{Value, json};

use super::*;
pub(super) use crate::child_test::{child_value, run_child, test_name};
use crate::tenant::{
    DAEMON_CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID, MCP_OPERATOR, MCP_WRITER, OTHER_CLIENT_ID,
};

/// A client that, like a browser-less test, does not follow redirects.
pub(super) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(super) fn jwks_uri(devstack: &Devstack) -> String {
    format!(
        "{}/{}/discovery/v2.0/keys",
        devstack.base_url(),
        devstack.tenant_id()
    )
}

pub(super) async fn fetch_jwks(devstack: &Devstack) -> Value {
    let response = http().get(jwks_uri(devstack)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Validates `token` the way the handler must: RS256 only, the key named by `kid` from the
/// served JWKS, and `aud`, `iss`, `exp` and `nbf` all required and checked.
pub(super) fn validate(
    devstack: &Devstack,
    token: &str,
    jwks: &Value,
) -> Result<TokenData<Value>, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .ok_or_else(|| format!("kid {kid} is not published"))?;
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[devstack.server_client_id()]);
    validation.set_issuer(&[devstack.issuer()]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation).map_err(|e| e.to_string())
}

/// The environment of a child process whose Azure SDK clients should use `devstack`: the
/// platform's managed identity variables, and where the child finds the identity and the vault.
pub(super) fn child_env(devstack: &Devstack) -> Vec<(String, String)> {
    let settings = devstack.handler_settings();
    [
        ("IDENTITY_ENDPOINT", settings.identity_endpoint),
        ("IDENTITY_HEADER", settings.identity_header),
        ("DEVSTACK_MI_CLIENT_ID", settings.managed_identity_client_id),
        ("DEVSTACK_VAULT_URL", settings.key_vault_url),
        ("DEVSTACK_VAULT_ADDR", settings.vault_addr.to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

pub(super) fn start() -> Devstack {
    Devstack::start_with(DevstackOptions::default()).expect("the devstack starts")
}

/// A bare HTTP/1.1 GET, so the lifecycle test needs no async runtime at all.
fn blocking_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn socket_addr(devstack: &Devstack) -> SocketAddr {
    devstack
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

#[test]
fn it_serves_from_a_plain_test_and_stops_when_dropped() {
    let devstack = start();
    let addr = socket_addr(&devstack);
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0, "port 0 became a real port");

    let (status, body) = blocking_get(
        addr,
        &format!("/{}/v2.0/.well-known/openid-configuration", TENANT_ID),
    );
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["issuer"], devstack.issuer());

    drop(devstack);
    assert!(
        TcpStream::connect(addr).is_err(),
        "the port is closed once the devstack is dropped"
    );
}

#[test]
fn it_refuses_to_listen_beyond_loopback() {
    let error = Devstack::start("0.0.0.0:0".parse().unwrap()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("loopback"));
}

#[test]
fn two_devstacks_run_side_by_side_with_their_own_keys() {
    let first = start();
    let second = start();
    assert_ne!(first.base_url(), second.base_url());
    assert_ne!(first.token_header()["kid"], second.token_header()["kid"]);
}

#[test]
fn it_names_itself_for_the_handler() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    assert_eq!(devstack.tenant_id(), TENANT_ID);
    assert_eq!(devstack.server_client_id(), SERVER_CLIENT_ID);
    assert_eq!(
        devstack.identifier_uri(),
        format!("api://{SERVER_CLIENT_ID}")
    );
    assert_eq!(
        devstack.issuer(),
        format!("{}/{TENANT_ID}/v2.0", devstack.base_url())
    );
    let settings = devstack.handler_settings();
    assert_eq!(settings.tenant_id, TENANT_ID);
    assert_eq!(settings.client_id, SERVER_CLIENT_ID);
    assert_eq!(settings.identifier_uri, devstack.identifier_uri());
    assert_eq!(settings.authority_host, devstack.base_url());
    assert_eq!(
        settings.identity_endpoint,
        format!("{}/msi/token", devstack.base_url())
    );
    assert_eq!(settings.identity_header, devstack.identity_header());
    assert_eq!(
        settings.managed_identity_client_id,
        MANAGED_IDENTITY_CLIENT_ID
    );
    assert_eq!(settings.graph_base_url, devstack.base_url());
    assert_eq!(settings.key_vault_url, "https://devstack.vault.azure.net/");
    assert_eq!(
        settings.vault_addr.to_string(),
        devstack.base_url().trim_start_matches("http://")
    );
}

#[test]
fn the_identity_header_is_random_unless_given() {
    let first = start();
    let second = start();
    assert_ne!(first.identity_header(), second.identity_header());
    assert!(first.identity_header().len() >= 32);
    let chosen = Devstack::start_with(DevstackOptions {
        identity_header: Some("chosen-secret".to_owned()),
        ..DevstackOptions::default()
    })
    .unwrap();
    assert_eq!(chosen.identity_header(), "chosen-secret");
}

#[test]
fn the_identifier_uri_is_configurable() {
    let devstack = Devstack::start_with(DevstackOptions {
        identifier_uri: Some("http://127.0.0.1:7071/mcp".to_owned()),
        ..DevstackOptions::default()
    })
    .unwrap();
    assert_eq!(devstack.identifier_uri(), "http://127.0.0.1:7071/mcp");
}

#[tokio::test]
async fn user_and_app_tokens_validate_against_the_served_jwks() {
    let devstack = start();
    let jwks = fetch_jwks(&devstack).await;

    let user = validate(
        &devstack,
        &devstack.user_token("megan", &["user_impersonation"]),
        &jwks,
    )
    .expect("the user token validates");
    assert_eq!(user.header.alg, Algorithm::RS256);
    assert_eq!(user.claims["oid"], tenant::user("megan").unwrap().object_id);
    assert_eq!(user.claims["azp"], DEV_CLIENT_ID);
    assert_eq!(user.claims["scp"], "user_impersonation");
    assert_eq!(
        user.claims["roles"],
        json!([MCP_OPERATOR, MCP_WRITER]),
        "Megan is an operator and a writer"
    );

    let app = validate(
        &devstack,
        &devstack.app_token("daemon", &[MCP_OPERATOR]),
        &jwks,
    )
    .expect("the app token validates");
    assert_eq!(app.claims["azp"], DAEMON_CLIENT_ID);
    assert_eq!(app.claims["idtyp"], "app");
    assert_eq!(app.claims["roles"], json!([MCP_OPERATOR]));
    assert!(app.claims.get("scp").is_none());
}

#[tokio::test]
async fn forged_tokens_are_signed_exactly_as_given() {
    let devstack = start();
    let jwks = fetch_jwks(&devstack).await;

    let mut claims = devstack.user_claims("adele", &["user_impersonation"]);
    assert_eq!(claims["aud"], SERVER_CLIENT_ID);
    claims["aud"] = json!("00000003-0000-0000-c000-000000000000");
    let forged = devstack.sign(&devstack.token_header(), &claims);
    let error = validate(&devstack, &forged, &jwks).unwrap_err();
    assert!(error.contains("InvalidAudience"), "{error}");

    let header = devstack.token_header();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    assert_eq!(header["x5t"], header["kid"]);

    let mut wrong_kid = header.clone();
    wrong_kid["kid"] = json!("not-published");
    let token = devstack.sign(&wrong_kid, &devstack.user_claims("adele", &[]));
    assert!(
        validate(&devstack, &token, &jwks)
            .unwrap_err()
            .contains("not published")
    );
}

#[test]
#[should_panic(expected = "no user `mallory`")]
fn unknown_users_are_a_test_bug() {
    start().user_token("mallory", &[]);
}

async fn mint(devstack: &Devstack, request: Value) -> (u16, Value) {
    let response = http()
        .post(format!("{}/devstack/token", devstack.base_url()))
        .json(&request)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_mint_issues_delegated_and_app_tokens() {
    let devstack = start();
    let jwks = fetch_jwks(&devstack).await;

    let (status, body) = mint(&devstack, json!({ "user": "adele" })).await;
    assert_eq!(status, 200, "{body}");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((3590..=5400).contains(&expires_in), "{expires_in}");
    let adele = validate(&devstack, body["access_token"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(adele.claims["preferred_username"], "adele@contoso.example");
    assert_eq!(adele.claims["azp"], DEV_CLIENT_ID);
    assert_eq!(adele.claims["scp"], "user_impersonation");
    assert!(adele.claims.get("roles").is_none());

    let (_, body) = mint(
        &devstack,
        json!({ "user": "alex", "app": OTHER_CLIENT_ID, "scopes": [], "roles": [MCP_OPERATOR] }),
    )
    .await;
    let alex = validate(&devstack, body["access_token"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(alex.claims["azp"], OTHER_CLIENT_ID);
    assert!(alex.claims.get("scp").is_none());
    assert_eq!(alex.claims["roles"], json!([MCP_OPERATOR]));

    let (_, body) = mint(&devstack, json!({ "user": null, "app": "daemon" })).await;
    let daemon = validate(&devstack, body["access_token"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(daemon.claims["idtyp"], "app");
    assert_eq!(daemon.claims["roles"], json!([MCP_OPERATOR]));
}

#[tokio::test]
async fn the_mint_refuses_what_it_cannot_issue() {
    let devstack = start();
    for (request, expected) in [
        (json!({ "user": "mallory" }), "No user `mallory`"),
        (
            json!({ "app": "00000000-0000-0000-0000-000000000000" }),
            "No app",
        ),
        (json!({ "user": "adele", "app": "nope" }), "No app `nope`"),
        (json!({}), "Name a `user`"),
        (
            json!({ "app": "daemon", "scopes": ["user_impersonation"] }),
            "not scopes",
        ),
    ] {
        let (status, body) = mint(&devstack, request.clone()).await;
        assert_eq!(status, 400, "{request}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(expected), "{request}: {message}");
    }
}

#[tokio::test]
async fn every_request_is_recorded_under_its_stand_in() {
    let devstack = start();
    let http = http();
    http.get(jwks_uri(&devstack))
        .bearer_auth("caller-token")
        .send()
        .await
        .unwrap();
    mint(&devstack, json!({ "user": "adele" })).await;
    let unrouted = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            devstack.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unrouted.status(), 404);
    let base = devstack.base_url();
    http.post(format!("{base}/{TENANT_ID}/oauth2/v2.0/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    for path in ["/msi/token", "/secrets/mcp-gateway-proof", "/v1.0/me"] {
        http.get(format!("{base}{path}")).send().await.unwrap();
    }

    let requests = devstack.requests();
    let services: Vec<_> = requests.iter().map(|r| r.service).collect();
    assert_eq!(
        services,
        [
            "issuer",
            "mint",
            "unrouted",
            "token",
            "managed_identity",
            "key_vault",
            "graph"
        ]
    );

    let jwks = &requests[0];
    assert_eq!(jwks.method, "GET");
    assert_eq!(jwks.path, format!("/{TENANT_ID}/discovery/v2.0/keys"));
    assert_eq!(jwks.header("Authorization"), Some("Bearer caller-token"));
    assert!(jwks.contains("caller-token"));
    assert!(requests[1].body.contains("adele"));
    assert_eq!(requests[2].path, "/.well-known/oauth-authorization-server");

    devstack.clear_requests();
    assert!(devstack.requests().is_empty());
}

/// The managed identity's token for the federated credential exchange, over the App Service
/// protocol.
async fn exchange_assertion(devstack: &Devstack) -> String {
    let response = http()
        .get(devstack.identity_endpoint())
        .query(&[
            ("api-version", "2019-08-01"),
            ("resource", "api://AzureADTokenExchange"),
            ("client_id", devstack.managed_identity_client_id()),
        ])
        .header("X-IDENTITY-HEADER", devstack.identity_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The on-behalf-of request exactly as the handler sends it.
async fn on_behalf_of(
    devstack: &Devstack,
    assertion: &str,
    client_assertion: &str,
    scope: &str,
) -> (u16, Value) {
    let response = http()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            devstack.base_url(),
            devstack.tenant_id()
        ))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("requested_token_use", "on_behalf_of"),
            ("assertion", assertion),
            ("client_id", devstack.server_client_id()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", client_assertion),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_outbound_chain_end_to_end_and_the_callers_token_goes_only_to_entra() {
    let devstack = start();
    let callers_token = devstack.user_token("adele", &["user_impersonation"]);

    let client_assertion = exchange_assertion(&devstack).await;
    let scope = format!("{}/User.Read", devstack.graph_base_url());
    let (status, body) = on_behalf_of(&devstack, &callers_token, &client_assertion, &scope).await;
    assert_eq!(status, 200, "{body}");
    let graph_token = body["access_token"].as_str().unwrap();

    let me = http()
        .get(format!("{}/v1.0/me", devstack.graph_base_url()))
        .bearer_auth(graph_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    let adele = tenant::user("adele").unwrap();
    assert_eq!(me["id"], adele.object_id);
    assert_eq!(me["displayName"], "Adele Vance");
    assert_eq!(me["jobTitle"], "Retail Manager");
    assert_eq!(me["userPrincipalName"], "adele@contoso.example");

    let requests = devstack.requests();
    let services: Vec<_> = requests.iter().map(|r| r.service).collect();
    assert_eq!(services, ["managed_identity", "token", "graph"]);
    let carrying: Vec<_> = requests
        .iter()
        .filter(|r| r.contains(&callers_token))
        .collect();
    assert_eq!(carrying.len(), 1, "the caller's token went exactly once");
    assert_eq!(carrying[0].service, "token");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(carrying[0].body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["assertion"], callers_token, "as the OBO assertion");
    assert!(
        form.iter()
            .filter(|(name, _)| *name != "assertion")
            .all(|(_, value)| !value.contains(&callers_token))
    );
    assert_eq!(
        requests[2].header("authorization"),
        Some(format!("Bearer {graph_token}").as_str())
    );
    assert_eq!(devstack.obo_exchanges(), 1);
}

#[tokio::test]
async fn the_outbound_chain_fails_where_entra_would() {
    let devstack = start();
    let client_assertion = exchange_assertion(&devstack).await;
    let adele = devstack.user_token("adele", &["user_impersonation"]);
    let graph = devstack.graph_base_url().to_owned();
    let code = |body: &Value| body["error_codes"][0].as_u64().unwrap();

    devstack.set_consent("adele", &[]);
    let (status, body) = on_behalf_of(
        &devstack,
        &adele,
        &client_assertion,
        &format!("{graph}/Mail.Read"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 65_001), "{body}");
    assert_eq!(body["suberror"], "consent_required");

    devstack.require_mfa("adele", true);
    let (status, body) = on_behalf_of(
        &devstack,
        &adele,
        &client_assertion,
        &format!("{graph}/User.Read"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 50_079), "{body}");
    assert_eq!(body["error"], "interaction_required");
    assert!(body["claims"].as_str().unwrap().contains("polids"));
    devstack.require_mfa("adele", false);

    let mut stranger = devstack.managed_identity_claims("api://AzureADTokenExchange");
    stranger["sub"] = json!(tenant::user("alex").unwrap().object_id);
    let stranger = devstack.sign(&devstack.token_header(), &stranger);
    let (status, body) =
        on_behalf_of(&devstack, &adele, &stranger, &format!("{graph}/User.Read")).await;
    assert_eq!((status, code(&body)), (400, 70_021), "{body}");

    let daemon = devstack.app_token("daemon", &[MCP_OPERATOR]);
    let (status, body) = on_behalf_of(
        &devstack,
        &daemon,
        &client_assertion,
        &format!("{graph}/User.Read"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 7_000_114), "{body}");

    let mut expired = devstack.user_claims("adele", &["user_impersonation"]);
    expired["exp"] = json!(crate::datetime::now_seconds() - 3600);
    let expired = devstack.sign(&devstack.token_header(), &expired);
    let (status, body) = on_behalf_of(
        &devstack,
        &expired,
        &client_assertion,
        &format!("{graph}/User.Read"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 500_133), "{body}");

    assert_eq!(devstack.obo_exchanges(), 5);
    assert!(
        devstack.requests().iter().all(|r| r.service != "graph"),
        "no Graph token, no Graph call"
    );
}
