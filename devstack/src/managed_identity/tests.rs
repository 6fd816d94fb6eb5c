//! The identity endpoint over HTTP, and `azure_identity`'s App Service credential against it.

use std::collections::HashMap;

use azure_core::{
    credentials::TokenCredential,
    http::{ClientOptions, FixedRetryOptions, RetryOptions},
    time::Duration,
};
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    Devstack,
    datetime::now_seconds,
    tenant::{
        KEY_VAULT_RESOURCE, MANAGED_IDENTITY_CLIENT_ID, MANAGED_IDENTITY_PRINCIPAL_ID,
        MANAGED_IDENTITY_RESOURCE_ID, TENANT_ID, TOKEN_EXCHANGE_AUDIENCE,
    },
    tests::{child_env, child_value, fetch_jwks, http, run_child, start, test_name},
};

async fn ask(
    devstack: &Devstack,
    secret: Option<&str>,
    query: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = http().get(devstack.identity_endpoint()).query(query);
    if let Some(secret) = secret {
        request = request.header("X-IDENTITY-HEADER", secret);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn query(resource: &str) -> Vec<(&str, &str)> {
    vec![
        ("api-version", "2019-08-01"),
        ("resource", resource),
        ("client_id", MANAGED_IDENTITY_CLIENT_ID),
    ]
}

/// The claims of a token, checked against the devstack's published keys.
async fn verified_claims(devstack: &Devstack, token: &str, audience: &str) -> Value {
    let jwks = fetch_jwks(devstack).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"].as_str() == header.kid.as_deref())
        .expect("signed with a published key");
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[devstack.issuer()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the token validates")
        .claims
}

#[tokio::test]
async fn it_answers_in_the_app_service_shape() {
    let devstack = start();
    let (status, body) = ask(
        &devstack,
        Some(devstack.identity_header()),
        &query(TOKEN_EXCHANGE_AUDIENCE),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = fields.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "access_token",
            "client_id",
            "expires_on",
            "resource",
            "token_type"
        ]
    );
    assert_eq!(body["resource"], TOKEN_EXCHANGE_AUDIENCE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["client_id"], MANAGED_IDENTITY_CLIENT_ID);
    let expires_on: i64 = body["expires_on"]
        .as_str()
        .expect("expires_on is a string, as App Service sends it")
        .parse()
        .unwrap();
    let lifetime = expires_on - now_seconds();
    assert!((86_000..=86_400).contains(&lifetime), "{lifetime}");

    let claims = verified_claims(
        &devstack,
        body["access_token"].as_str().unwrap(),
        TOKEN_EXCHANGE_AUDIENCE,
    )
    .await;
    assert_eq!(claims["sub"], MANAGED_IDENTITY_PRINCIPAL_ID);
    assert_eq!(claims["oid"], MANAGED_IDENTITY_PRINCIPAL_ID);
    assert_eq!(claims["appid"], MANAGED_IDENTITY_CLIENT_ID);
    assert_eq!(claims["azp"], MANAGED_IDENTITY_CLIENT_ID);
    assert_eq!(claims["tid"], TENANT_ID);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["exp"].as_i64(), Some(expires_on));
    assert_eq!(claims["xms_mirid"], MANAGED_IDENTITY_RESOURCE_ID);
}

#[tokio::test]
async fn the_identity_can_be_named_by_principal_id_or_resource_id() {
    let devstack = start();
    for (name, id) in [
        ("principal_id", MANAGED_IDENTITY_PRINCIPAL_ID),
        ("object_id", MANAGED_IDENTITY_PRINCIPAL_ID),
        ("mi_res_id", MANAGED_IDENTITY_RESOURCE_ID),
    ] {
        let (status, body) = ask(
            &devstack,
            Some(devstack.identity_header()),
            &[
                ("api-version", "2019-08-01"),
                ("resource", KEY_VAULT_RESOURCE),
                (name, id),
            ],
        )
        .await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["resource"], KEY_VAULT_RESOURCE);
    }
}

#[tokio::test]
async fn refusals_have_the_token_services_shape() {
    let devstack = start();
    let secret = devstack.identity_header();
    let wrong_client = [
        ("api-version", "2019-08-01"),
        ("resource", KEY_VAULT_RESOURCE),
        ("client_id", "00000000-0000-0000-0000-000000000000"),
    ];
    let no_identity = [
        ("api-version", "2019-08-01"),
        ("resource", KEY_VAULT_RESOURCE),
    ];
    let no_resource = [
        ("api-version", "2019-08-01"),
        ("client_id", MANAGED_IDENTITY_CLIENT_ID),
    ];
    let old_version = [
        ("api-version", "2017-09-01"),
        ("resource", KEY_VAULT_RESOURCE),
        ("client_id", MANAGED_IDENTITY_CLIENT_ID),
    ];
    type Case<'a> = (Option<&'a str>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (None, query(KEY_VAULT_RESOURCE), 400, "X-IDENTITY-HEADER"),
        (
            Some("guessed"),
            query(KEY_VAULT_RESOURCE),
            401,
            "X-IDENTITY-HEADER",
        ),
        (Some(secret), wrong_client.to_vec(), 400, "No User Assigned"),
        (Some(secret), no_identity.to_vec(), 400, "No User Assigned"),
        (Some(secret), no_resource.to_vec(), 400, "resource"),
        (Some(secret), old_version.to_vec(), 400, "2019-08-01"),
        (
            Some(secret),
            query("https://management.azure.com"),
            400,
            "AADSTS500011",
        ),
    ];
    for (secret, query, status, message) in cases {
        let (actual, body) = ask(&devstack, secret, &query).await;
        assert_eq!(actual.as_u16(), status, "{query:?}: {body}");
        assert_eq!(body["statusCode"], status);
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{body}"
        );
        assert!(uuid::Uuid::parse_str(body["correlationId"].as_str().unwrap()).is_ok());
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn an_outage_is_a_500_until_it_ends_and_requests_are_recorded() {
    let devstack = start();
    devstack.set_managed_identity_available(false);
    let (status, body) = ask(
        &devstack,
        Some(devstack.identity_header()),
        &query(KEY_VAULT_RESOURCE),
    )
    .await;
    assert_eq!(status, 500);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("unexpected error")
    );
    devstack.set_managed_identity_available(true);
    let (status, _) = ask(
        &devstack,
        Some(devstack.identity_header()),
        &query(KEY_VAULT_RESOURCE),
    )
    .await;
    assert_eq!(status, 200);

    let requests = devstack.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.service == "managed_identity"));
    assert_eq!(
        requests[0].header("x-identity-header"),
        Some(devstack.identity_header())
    );
}

/// Asks `azure_identity`'s credential, in a child process whose environment points it at
/// `devstack` (`env` overrides), for a token for `scope`.
fn credential_in_child(
    devstack: &Devstack,
    scope: &str,
    env: &[(&str, &str)],
) -> Result<(String, i64), String> {
    let mut child_env: HashMap<String, String> = child_env(devstack).into_iter().collect();
    child_env.insert("DEVSTACK_SCOPE".to_owned(), scope.to_owned());
    for (name, value) in env {
        child_env.insert((*name).to_owned(), (*value).to_owned());
    }
    let child_env: Vec<(String, String)> = child_env.into_iter().collect();
    let stdout = run_child(&test_name(module_path!(), "credential_child"), &child_env);
    match child_value(&stdout, "result") {
        "ok" => Ok((
            child_value(&stdout, "token").to_owned(),
            child_value(&stdout, "expires_on").parse().unwrap(),
        )),
        _ => Err(child_value(&stdout, "error").to_owned()),
    }
}

#[test]
#[ignore = "run by the credential tests in a child process, whose environment points the \
            credential at a devstack"]
fn credential_child() {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        // The default retries a 500 for a minute; the outage test retries twice, quickly.
        let retry = match std::env::var("DEVSTACK_QUICK_RETRY") {
            Ok(_) => RetryOptions::fixed(FixedRetryOptions {
                delay: Duration::milliseconds(10),
                max_retries: 2,
                ..FixedRetryOptions::default()
            }),
            Err(_) => RetryOptions::default(),
        };
        let credential = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: Some(UserAssignedId::ClientId(env("DEVSTACK_MI_CLIENT_ID"))),
            client_options: ClientOptions {
                retry,
                ..ClientOptions::default()
            },
        }))
        .expect("the App Service credential is chosen from the environment");
        credential.get_token(&[&env("DEVSTACK_SCOPE")], None).await
    });
    match result {
        Ok(token) => {
            println!("result=ok");
            println!("token={}", token.token.secret());
            println!("expires_on={}", token.expires_on.unix_timestamp());
        }
        Err(error) => {
            println!("result=error");
            println!("error={}", format!("{error:?}").replace('\n', " "));
        }
    }
}

#[tokio::test]
async fn the_azure_identity_credential_gets_tokens_for_both_resources() {
    let devstack = start();
    for (scope, audience) in [
        (
            "api://AzureADTokenExchange/.default",
            TOKEN_EXCHANGE_AUDIENCE,
        ),
        ("https://vault.azure.net/.default", KEY_VAULT_RESOURCE),
    ] {
        let (token, expires_on) =
            credential_in_child(&devstack, scope, &[]).expect("the credential gets a token");
        let claims = verified_claims(&devstack, &token, audience).await;
        assert_eq!(claims["oid"], MANAGED_IDENTITY_PRINCIPAL_ID);
        assert_eq!(
            claims["exp"].as_i64(),
            Some(expires_on),
            "the credential parsed expires_on"
        );
    }
    let requests: Vec<_> = devstack
        .requests()
        .into_iter()
        .filter(|r| r.service == "managed_identity")
        .collect();
    assert_eq!(requests.len(), 2, "one request per resource");
    for (request, resource) in requests
        .iter()
        .zip([TOKEN_EXCHANGE_AUDIENCE, KEY_VAULT_RESOURCE])
    {
        assert_eq!(request.service, "managed_identity");
        assert_eq!(request.path, "/msi/token");
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(request.query.as_deref().unwrap().as_bytes())
                .into_owned()
                .collect();
        assert_eq!(query["api-version"], "2019-08-01");
        assert_eq!(query["resource"], resource);
        assert_eq!(query["client_id"], MANAGED_IDENTITY_CLIENT_ID);
        assert_eq!(
            request.header("x-identity-header"),
            Some(devstack.identity_header())
        );
    }
}

#[tokio::test]
async fn the_credential_fails_on_a_wrong_secret_an_unknown_identity_or_an_outage() {
    let devstack = start();
    let scope = "https://vault.azure.net/.default";
    let wrong_secret = credential_in_child(&devstack, scope, &[("IDENTITY_HEADER", "guessed")])
        .expect_err("a wrong secret gets no token");
    assert!(wrong_secret.contains("401"), "{wrong_secret}");

    let stranger = credential_in_child(
        &devstack,
        scope,
        &[(
            "DEVSTACK_MI_CLIENT_ID",
            "00000000-0000-0000-0000-000000000000",
        )],
    )
    .expect_err("an identity the app does not have gets no token");
    assert!(
        stranger.contains("has not been assigned to this resource"),
        "{stranger}"
    );

    devstack.set_managed_identity_available(false);
    devstack.clear_requests();
    let outage = credential_in_child(&devstack, scope, &[("DEVSTACK_QUICK_RETRY", "1")])
        .expect_err("no token during an outage");
    assert!(outage.contains("unexpected error occured"), "{outage}");
    assert_eq!(
        devstack.requests().len(),
        3,
        "the SDK retries a 500 (by default for up to a minute)"
    );
}

#[tokio::test]
async fn blob_storage_tokens_are_v1_as_azures_are() {
    let devstack = crate::tests::start();
    let token = devstack.managed_identity_token(crate::tenant::STORAGE_RESOURCE);
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "https://storage.azure.com");
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", crate::tenant::TENANT_ID)
    );
    assert_eq!(claims["ver"], "1.0");
}
