//! The devstack as a whole: lifecycle, the token API tests use, minting and recording. The
//! issuer's protocol is tested over HTTP in `issuer::tests`, with the helpers below.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
};

use jsonwebtoken::{Algorithm, DecodingKey, TokenData, Validation, decode, decode_header};
use serde_json::{Value, json};

use super::*;
use crate::devstack::tenant::{DAEMON_CLIENT_ID, MCP_OPERATOR, OTHER_CLIENT_ID};

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

fn start() -> Devstack {
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
    let env: std::collections::HashMap<_, _> = devstack.handler_env().into_iter().collect();
    assert_eq!(env["MCP_TENANT_ID"], TENANT_ID);
    assert_eq!(env["MCP_CLIENT_ID"], SERVER_CLIENT_ID);
    assert_eq!(env["MCP_APP_ID_URI"], devstack.identifier_uri());
    assert_eq!(env["MCP_AUTHORITY_HOST"], devstack.base_url());
    assert_eq!(env.len(), 4);
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
        json!([MCP_OPERATOR]),
        "Megan is an operator"
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

    let requests = devstack.requests();
    let services: Vec<_> = requests.iter().map(|r| r.service).collect();
    assert_eq!(services, ["issuer", "mint", "unrouted"]);

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
