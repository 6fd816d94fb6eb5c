//! The vault over plain HTTP: the challenge, token checks, versions, paging and outages. The
//! Azure SDK's view of it is tested in `vault_transport`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    Devstack,
    datetime::now_seconds,
    tenant::{GATEWAY_PROOF_SECRET, KEY_VAULT_RESOURCE, TENANT_ID, TOKEN_EXCHANGE_AUDIENCE},
    tests::{http, start},
};

const API: &str = "api-version=2025-07-01";

/// `path_and_query` on the vault, as the transport delivers it: to the devstack, naming the
/// vault's host.
async fn vault_get(
    devstack: &Devstack,
    path_and_query: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http()
        .get(format!("{}{path_and_query}", devstack.base_url()))
        .header("host", "devstack.vault.azure.net");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

fn vault_token(devstack: &Devstack) -> String {
    devstack.managed_identity_token(KEY_VAULT_RESOURCE)
}

fn assert_error(
    reply: &(StatusCode, reqwest::header::HeaderMap, Value),
    status: u16,
    code: &str,
    message: &str,
) {
    let (actual, _, body) = reply;
    assert_eq!(actual.as_u16(), status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(message),
        "{body}"
    );
}

fn assert_challenged(
    devstack: &Devstack,
    reply: &(StatusCode, reqwest::header::HeaderMap, Value),
    message: &str,
) {
    assert_error(reply, 401, "Unauthorized", message);
    assert_eq!(
        reply.1["www-authenticate"],
        format!(
            "Bearer authorization=\"{}/{TENANT_ID}\", resource=\"https://vault.azure.net\"",
            devstack.base_url()
        )
    );
}

#[tokio::test]
async fn a_request_without_a_token_gets_the_challenge() {
    let devstack = start();
    let reply = vault_get(
        &devstack,
        &format!("/secrets/{GATEWAY_PROOF_SECRET}/?{API}"),
        None,
    )
    .await;
    assert_challenged(
        &devstack,
        &reply,
        "AKV10000: Request is missing a Bearer or PoP token.",
    );
}

#[tokio::test]
async fn the_managed_identity_reads_the_gateway_proof() {
    let devstack = start();
    let proof = devstack.gateway_proof();
    assert_eq!(proof.len(), 64);
    assert!(
        proof
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(proof, start().gateway_proof(), "random per devstack");

    for path in [
        format!("/secrets/{GATEWAY_PROOF_SECRET}?{API}"),
        format!("/secrets/{GATEWAY_PROOF_SECRET}/?{API}"),
    ] {
        let (status, _, body) = vault_get(&devstack, &path, Some(&vault_token(&devstack))).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["value"], proof);
        let id = body["id"].as_str().unwrap();
        let version = id
            .strip_prefix("https://devstack.vault.azure.net/secrets/mcp-gateway-proof/")
            .expect("the id names the vault, the secret and the version");
        assert_eq!(version.len(), 32);
        assert_eq!(body["attributes"]["enabled"], true);
        let created = body["attributes"]["created"].as_i64().unwrap();
        assert!((now_seconds() - created).abs() < 60);
        assert_eq!(body["attributes"]["updated"], created);
    }
}

#[tokio::test]
async fn only_a_valid_vault_token_of_a_secrets_user_is_accepted() {
    let devstack = start();
    let path = format!("/secrets/{GATEWAY_PROOF_SECRET}?{API}");

    let exchange_token = devstack.managed_identity_token(TOKEN_EXCHANGE_AUDIENCE);
    let reply = vault_get(&devstack, &path, Some(&exchange_token)).await;
    assert_challenged(&devstack, &reply, "AKV10022: Invalid audience");

    let user_token = devstack.user_token("adele", &["user_impersonation"]);
    assert_challenged(
        &devstack,
        &vault_get(&devstack, &path, Some(&user_token)).await,
        "AKV10022",
    );

    let mut expired = devstack.managed_identity_claims(KEY_VAULT_RESOURCE);
    expired["exp"] = json!(now_seconds() - 3600);
    let expired = devstack.sign(&devstack.token_header(), &expired);
    assert_challenged(
        &devstack,
        &vault_get(&devstack, &path, Some(&expired)).await,
        "expired",
    );

    let mut foreign = devstack.managed_identity_claims(KEY_VAULT_RESOURCE);
    foreign["iss"] = json!("https://login.microsoftonline.com/another-tenant/v2.0");
    let foreign = devstack.sign(&devstack.token_header(), &foreign);
    assert_challenged(
        &devstack,
        &vault_get(&devstack, &path, Some(&foreign)).await,
        "AKV10032",
    );

    let mut stranger = devstack.managed_identity_claims(KEY_VAULT_RESOURCE);
    stranger["oid"] = json!(crate::tenant::user("adele").unwrap().object_id);
    let stranger = devstack.sign(&devstack.token_header(), &stranger);
    let reply = vault_get(&devstack, &path, Some(&stranger)).await;
    assert_error(
        &reply,
        403,
        "Forbidden",
        "Caller is not authorized to perform action on resource.",
    );
    assert_eq!(reply.2["error"]["innerError"]["code"], "ForbiddenByRbac");
    assert!(reply.1.get("www-authenticate").is_none());

    let token = vault_token(&devstack);
    devstack.rotate_signing_key();
    assert_challenged(
        &devstack,
        &vault_get(&devstack, &path, Some(&token)).await,
        "signature",
    );
    let (status, _, _) = vault_get(&devstack, &path, Some(&vault_token(&devstack))).await;
    assert_eq!(status, 200, "a token signed with the new key works");
}

#[tokio::test]
async fn versions_rotate_and_disabled_versions_cannot_be_read() {
    let devstack = start();
    let token = vault_token(&devstack);
    let first = devstack.set_secret("rotating", "one");
    let second = devstack.set_secret("rotating", "two");
    assert_ne!(first, second);

    let current = vault_get(&devstack, &format!("/secrets/rotating?{API}"), Some(&token)).await;
    assert_eq!(current.2["value"], "two");
    let old = vault_get(
        &devstack,
        &format!("/secrets/rotating/{first}?{API}"),
        Some(&token),
    )
    .await;
    assert_eq!(old.2["value"], "one");
    assert!(old.2["id"].as_str().unwrap().ends_with(&first));

    devstack.disable_secret_version("rotating", &first);
    let disabled = vault_get(
        &devstack,
        &format!("/secrets/rotating/{first}?{API}"),
        Some(&token),
    )
    .await;
    assert_error(
        &disabled,
        403,
        "Forbidden",
        "Operation get is not allowed on a disabled secret.",
    );
    assert_eq!(disabled.2["error"]["innerError"]["code"], "SecretDisabled");

    devstack.disable_secret_version("rotating", &second);
    let current = vault_get(&devstack, &format!("/secrets/rotating?{API}"), Some(&token)).await;
    assert_error(&current, 403, "Forbidden", "disabled secret");
    assert_eq!(devstack.set_secret("rotating", "three").len(), 32);
    let current = vault_get(&devstack, &format!("/secrets/rotating?{API}"), Some(&token)).await;
    assert_eq!(
        current.2["value"], "three",
        "a new version is current again"
    );
}

#[tokio::test]
async fn version_lists_page_with_next_links_on_the_vault_host() {
    let devstack = start();
    let token = vault_token(&devstack);
    let mut created: Vec<String> = (0..5)
        .map(|n| devstack.set_secret("paged", &n.to_string()))
        .collect();
    devstack.disable_secret_version("paged", &created[0]);

    let mut listed = Vec::new();
    let mut next = format!("/secrets/paged/versions?{API}&maxresults=2");
    let mut pages = 0;
    loop {
        let (status, _, body) = vault_get(&devstack, &next, Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for item in body["value"].as_array().unwrap() {
            assert!(item.get("value").is_none(), "lists never carry values");
            let id = item["id"].as_str().unwrap();
            let version = id.rsplit('/').next().unwrap().to_owned();
            let enabled = item["attributes"]["enabled"].as_bool().unwrap();
            assert_eq!(enabled, version != created[0], "{id}");
            assert!(
                item["attributes"]["created"].is_i64() && item["attributes"]["updated"].is_i64()
            );
            listed.push(version);
        }
        match body["nextLink"].as_str() {
            Some(link) => {
                next = link
                    .strip_prefix("https://devstack.vault.azure.net")
                    .expect("next links name the vault")
                    .to_owned();
                assert!(
                    next.contains("$skiptoken=") && next.contains("maxresults=2"),
                    "{next}"
                );
            }
            None => {
                assert!(body["nextLink"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "Key Vault lists versions by id, not by age");
    created.sort();
    assert_eq!(listed, created);
}

#[tokio::test]
async fn unknown_secrets_bad_requests_and_outages() {
    let devstack = start();
    let token = vault_token(&devstack);
    let missing = vault_get(
        &devstack,
        &format!("/secrets/nothing-here?{API}"),
        Some(&token),
    )
    .await;
    assert_error(
        &missing,
        404,
        "SecretNotFound",
        "A secret with (name/id) nothing-here was not found",
    );
    let missing_version = vault_get(
        &devstack,
        &format!("/secrets/{GATEWAY_PROOF_SECRET}/00000000000000000000000000000000?{API}"),
        Some(&token),
    )
    .await;
    assert_error(
        &missing_version,
        404,
        "SecretNotFound",
        "mcp-gateway-proof/00000000000000000000000000000000",
    );
    let no_version = vault_get(
        &devstack,
        &format!("/secrets/{GATEWAY_PROOF_SECRET}"),
        Some(&token),
    )
    .await;
    assert_error(&no_version, 400, "BadParameter", "api-version");
    let too_many = vault_get(
        &devstack,
        &format!("/secrets/{GATEWAY_PROOF_SECRET}/versions?{API}&maxresults=26"),
        Some(&token),
    )
    .await;
    assert_error(&too_many, 400, "BadParameter", "maxresults");

    devstack.set_vault_available(false);
    let outage = vault_get(
        &devstack,
        &format!("/secrets/{GATEWAY_PROOF_SECRET}?{API}"),
        Some(&token),
    )
    .await;
    assert_error(
        &outage,
        503,
        "ServiceUnavailable",
        "temporarily unavailable",
    );
    devstack.set_vault_available(true);
    let (status, _, _) = vault_get(
        &devstack,
        &format!("/secrets/{GATEWAY_PROOF_SECRET}?{API}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);

    let requests = devstack.requests();
    assert!(requests.iter().all(|r| r.service == "key_vault"));
    assert_eq!(requests[0].header("host"), Some("devstack.vault.azure.net"));
}
