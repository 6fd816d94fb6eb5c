//! Key Vault's secrets data plane, at the real paths:
//!
//! | request | answer |
//! |---|---|
//! | `GET /secrets/{name}` (or `/secrets/{name}/`) | the current version |
//! | `GET /secrets/{name}/{version}` | that version |
//! | `GET /secrets/{name}/versions` | every version's properties, paged (`nextLink`) |
//!
//! A secret is a list of versions; writing one adds a version that becomes current. A disabled
//! version cannot be read (403 `SecretDisabled`), not even as the current one: Key Vault does
//! not fall back to an older version, so rotation must add an enabled version before disabling
//! the old one. Listing shows every version with its `enabled` flag, in no useful order (Key
//! Vault sorts by version id, which is random): sort by `attributes.created` to find the newest.
//!
//! **Authentication is a challenge.** Clients do not know the vault's tenant up front, so the
//! Azure SDK sends its first request without a token; Key Vault answers 401 with
//!
//! ```text
//! WWW-Authenticate: Bearer authorization="{authority}/{tenant}", resource="https://vault.azure.net"
//! ```
//!
//! and the SDK gets a token for that resource and retries. It also checks that the vault's host
//! ends in `.` + the resource's host, so a look-alike vault cannot collect tokens: the vault
//! keeps a real-looking `https://{name}.vault.azure.net/` URL even locally (see
//! [`super::vault_transport`]). A token must then be the tenant's, for `https://vault.azure.net`,
//! unexpired, and its `oid` must hold Key Vault Secrets User on this vault; otherwise 401 (bad
//! token, again with the challenge) or 403 (`ForbiddenByRbac`).
//!
//! Errors are `{"error":{"code","message"}}` with an optional `innerError.code`.
//!
//! A version may carry `nbf` and `exp` (Unix seconds) in its attributes. As in Key Vault, they
//! do not stop a `get`: a client must honour them itself. For tests, the vault can also be
//! **slow**: every request then waits before it is answered, and the vault counts the requests
//! still waiting, so a test can tell that a read is in flight.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::{
    datetime::now_seconds,
    issuer::{Issuer, Lifetime, lifetime},
    keys::base64url,
    tenant::{
        BROKER_SEALING_KEY_SECRET, GATEWAY_PROOF_SECRET, KEY_VAULT_NAME, KEY_VAULT_RESOURCE,
        KEY_VAULT_SECRETS_USERS, RESOURCE_GROUP_ID, SIGNING_KEY_SECRET, TENANT_ID,
    },
};

/// The api-versions the data plane accepts; the SDK sends the last.
const API_VERSIONS: [&str; 4] = ["7.4", "7.5", "7.6", "2025-07-01"];
/// Key Vault's first-party application id, also accepted as the audience.
const KEY_VAULT_APP_ID: &str = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";
/// Key Vault's largest page of versions (and its default).
const MAX_RESULTS: usize = 25;

#[derive(Debug, Clone)]
struct Version {
    /// 32 lower-case hex digits.
    id: String,
    value: String,
    enabled: bool,
    /// Unix seconds.
    created: i64,
    updated: i64,
    /// `nbf` and `exp`, Unix seconds.
    not_before: Option<i64>,
    expires: Option<i64>,
}

#[derive(Debug)]
pub struct KeyVault {
    issuer: Arc<Issuer>,
    /// `{base}/{tenant}`: the `authorization` of the challenge.
    authority: String,
    /// Versions oldest first, by secret name.
    secrets: Mutex<HashMap<String, Vec<Version>>>,
    available: AtomicBool,
    /// How long every request waits before it is answered (slow mode), if at all.
    delay: Mutex<Option<Duration>>,
    /// Requests waiting out the delay right now.
    waiting: AtomicUsize,
}

impl KeyVault {
    /// A vault holding the gateway proof and the signing key: one version each, 64 random hex
    /// digits.
    pub fn new(issuer: Arc<Issuer>, base_url: &str) -> Self {
        let vault = Self {
            issuer,
            authority: format!("{base_url}/{TENANT_ID}"),
            secrets: Mutex::default(),
            available: AtomicBool::new(true),
            delay: Mutex::default(),
            waiting: AtomicUsize::new(0),
        };
        vault.set_secret(GATEWAY_PROOF_SECRET, &random_hex(32));
        vault.set_secret(SIGNING_KEY_SECRET, &random_hex(32));
        // Broker mode's sealing key: 32 random bytes, base64, as `azd up` stores it.
        vault.set_secret(BROKER_SEALING_KEY_SECRET, &random_base64(32));
        vault
    }

    /// `https://devstack.vault.azure.net/`: the vault's URL as the SDK must be given it.
    pub fn url() -> String {
        format!("https://{}/", host())
    }

    /// Adds a version of `name` holding `value`, which becomes current; returns its id.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        let now = now_seconds();
        let version = Version {
            id: random_hex(16),
            value: value.to_owned(),
            enabled: true,
            created: now,
            updated: now,
            not_before: None,
            expires: None,
        };
        let id = version.id.clone();
        self.lock()
            .entry(name.to_owned())
            .or_default()
            .push(version);
        id
    }

    /// # Panics
    ///
    /// If the secret or version does not exist: a test bug.
    pub fn disable_version(&self, name: &str, version: &str) {
        let mut secrets = self.lock();
        let version = secrets
            .get_mut(name)
            .and_then(|versions| versions.iter_mut().find(|v| v.id == version))
            .unwrap_or_else(|| panic!("the vault has no version {version} of `{name}`"));
        version.enabled = false;
        version.updated = now_seconds();
    }

    /// Sets a version's `nbf` and `exp` (Unix seconds; `None` removes them).
    ///
    /// # Panics
    ///
    /// If the secret or version does not exist: a test bug.
    pub fn set_validity(
        &self,
        name: &str,
        version: &str,
        not_before: Option<i64>,
        expires: Option<i64>,
    ) {
        let mut secrets = self.lock();
        let version = secrets
            .get_mut(name)
            .and_then(|versions| versions.iter_mut().find(|v| v.id == version))
            .unwrap_or_else(|| panic!("the vault has no version {version} of `{name}`"));
        version.not_before = not_before;
        version.expires = expires;
        version.updated = now_seconds();
    }

    /// `Some(delay)`: every request from now on waits `delay` before it is answered.
    pub fn set_delay(&self, delay: Option<Duration>) {
        *self.delay.lock().unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// How many requests are waiting out the delay right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The current version's value of `name`, enabled or not.
    pub fn current_value(&self, name: &str) -> Option<String> {
        self.lock()
            .get(name)
            .and_then(|versions| versions.last())
            .map(|version| version.value.clone())
    }

    /// `false` simulates an outage: every request gets 503.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Version>>> {
        self.secrets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// 401 with the challenge that tells a client where to get which token.
    fn challenge(&self, message: &str) -> VaultError {
        VaultError {
            challenge: Some(format!(
                "Bearer authorization=\"{}\", resource=\"{KEY_VAULT_RESOURCE}\"",
                self.authority
            )),
            ..VaultError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
        }
    }

    /// The caller's checks, in Key Vault's order: a bearer token, a valid one, then the role.
    fn authorize(&self, headers: &HeaderMap, name: &str) -> Result<(), VaultError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token.trim())
            })
            .ok_or_else(|| self.challenge("AKV10000: Request is missing a Bearer or PoP token."))?;
        let claims = self
            .issuer
            .verify(token)
            .map_err(|_| self.challenge("Token signature validation failed."))?;
        let audience = claims["aud"].as_str().unwrap_or_default();
        if ![
            KEY_VAULT_RESOURCE,
            "https://vault.azure.net/",
            KEY_VAULT_APP_ID,
        ]
        .contains(&audience)
        {
            return Err(self.challenge(&format!(
                "AKV10022: Invalid audience. Expected {KEY_VAULT_RESOURCE}, found: {audience}."
            )));
        }
        let issuer = claims["iss"].as_str().unwrap_or_default();
        if issuer != self.issuer.issuer_url() || claims["tid"] != TENANT_ID {
            return Err(self.challenge(&format!(
                "AKV10032: Invalid issuer. Expected one of {}, found {issuer}.",
                self.issuer.issuer_url()
            )));
        }
        if lifetime(&claims, now_seconds()) != Lifetime::Valid {
            return Err(self.challenge("Token is expired or not yet valid."));
        }
        let oid = claims["oid"].as_str().unwrap_or_default();
        if !KEY_VAULT_SECRETS_USERS
            .iter()
            .any(|id| id.eq_ignore_ascii_case(oid))
        {
            let appid = claims["appid"]
                .as_str()
                .or_else(|| claims["azp"].as_str())
                .unwrap_or_default();
            return Err(VaultError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "Caller is not authorized to perform action on resource.\r\nIf role \
                     assignments, deny assignments or role definitions were changed recently, \
                     please observe propagation time.\r\nCaller: appid={appid};oid={oid};\
                     iss={issuer}\r\nAction: \
                     'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: \
                     '{RESOURCE_GROUP_ID}/providers/microsoft.keyvault/vaults/{KEY_VAULT_NAME}/secrets/{name}'\r\n\
                     Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \
                     \r\nVault: {KEY_VAULT_NAME};location=westeurope\r\n"
                ),
            )
            .with_inner("ForbiddenByRbac"));
        }
        Ok(())
    }

    /// Everything a request must pass before the vault looks at the secret.
    fn admit(
        &self,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
        name: &str,
    ) -> Result<(), VaultError> {
        if !self.available.load(Ordering::SeqCst) {
            return Err(VaultError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry later.",
            ));
        }
        self.authorize(headers, name)?;
        match query.get("api-version") {
            Some(version) if API_VERSIONS.contains(&version.as_str()) => Ok(()),
            Some(version) => Err(bad_parameter(format!(
                "The specified version ({version}) is not recognized. Consider using the latest \
                 supported version (2025-07-01)."
            ))),
            None => Err(bad_parameter("The api-version query parameter is missing.")),
        }
    }
}

fn host() -> String {
    format!("{KEY_VAULT_NAME}.vault.azure.net")
}

pub fn routes(vault: Arc<KeyVault>) -> Router {
    Router::new()
        .route("/secrets/{name}", get(current))
        .route("/secrets/{name}/", get(current))
        .route("/secrets/{name}/versions", get(versions))
        .route("/secrets/{name}/{version}", get(one_version))
        .layer(middleware::from_fn_with_state(vault.clone(), slow))
        .with_state(vault)
}

/// In slow mode, waits before answering, counted in [`KeyVault::waiting`].
async fn slow(State(vault): State<Arc<KeyVault>>, request: Request, next: Next) -> Response {
    let delay = *vault.delay.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(delay) = delay {
        vault.waiting.fetch_add(1, Ordering::SeqCst);
        /// Counts down even if the client gives up and the request is dropped mid-wait.
        struct Done<'a>(&'a AtomicUsize);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _done = Done(&vault.waiting);
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}

async fn current(
    State(vault): State<Arc<KeyVault>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    vault.admit(&headers, &query, &name)?;
    let current = vault.lock().get(&name).and_then(|v| v.last().cloned());
    bundle(&name, &current.ok_or_else(|| not_found(&name))?)
}

async fn one_version(
    State(vault): State<Arc<KeyVault>>,
    Path((name, version)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    vault.admit(&headers, &query, &name)?;
    let found = vault
        .lock()
        .get(&name)
        .and_then(|versions| versions.iter().find(|v| v.id == version).cloned());
    bundle(
        &name,
        &found.ok_or_else(|| not_found(&format!("{name}/{version}")))?,
    )
}

async fn versions(
    State(vault): State<Arc<KeyVault>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    vault.admit(&headers, &query, &name)?;
    let page_size = match query.get("maxresults").map(|n| n.parse::<usize>()) {
        None => MAX_RESULTS,
        Some(Ok(n)) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(_) => {
            return Err(bad_parameter(format!(
                "maxresults must be between 1 and {MAX_RESULTS}."
            )));
        }
    };
    let offset = match query.get("$skiptoken").map(|token| skip_offset(token)) {
        None => 0,
        Some(Some(offset)) => offset,
        Some(None) => return Err(bad_parameter("The $skiptoken is not valid.")),
    };
    let mut all = vault
        .lock()
        .get(&name)
        .cloned()
        .ok_or_else(|| not_found(&name))?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|version| {
            json!({
                "id": version_id(&name, &version.id),
                "attributes": attributes(version),
            })
        })
        .collect();
    let next = offset + page_size;
    let next_link = (next < all.len()).then(|| {
        let api_version = query.get("api-version").map_or("2025-07-01", String::as_str);
        format!(
            "https://{}/secrets/{name}/versions?api-version={api_version}&$skiptoken={}&maxresults={page_size}",
            host(),
            skip_token(next)
        )
    });
    Ok(Json(json!({ "value": page, "nextLink": next_link })).into_response())
}

fn bundle(name: &str, version: &Version) -> Result<Response, VaultError> {
    if !version.enabled {
        return Err(VaultError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
        )
        .with_inner("SecretDisabled"));
    }
    Ok(Json(json!({
        "value": version.value,
        "id": version_id(name, &version.id),
        "attributes": attributes(version),
        "tags": {},
    }))
    .into_response())
}

fn attributes(version: &Version) -> Value {
    let mut attributes = json!({
        "enabled": version.enabled,
        "created": version.created,
        "updated": version.updated,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
    });
    if let Some(not_before) = version.not_before {
        attributes["nbf"] = not_before.into();
    }
    if let Some(expires) = version.expires {
        attributes["exp"] = expires.into();
    }
    attributes
}

fn version_id(name: &str, version: &str) -> String {
    format!("https://{}/secrets/{name}/{version}", host())
}

fn not_found(what: &str) -> VaultError {
    VaultError::new(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {what} was not found in this key vault. If you recently \
             deleted this secret you may be able to recover it using the correct recovery \
             command. For help resolving this issue, please see \
             https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn bad_parameter(message: impl Into<String>) -> VaultError {
    VaultError::new(StatusCode::BAD_REQUEST, "BadParameter", message)
}

/// Key Vault's error response.
#[derive(Debug)]
struct VaultError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// `innerError.code`: the precise reason (`SecretDisabled`, `ForbiddenByRbac`).
    inner: Option<&'static str>,
    /// `WWW-Authenticate`, on 401s.
    challenge: Option<String>,
}

impl VaultError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner: None,
            challenge: None,
        }
    }

    fn with_inner(self, inner: &'static str) -> Self {
        Self {
            inner: Some(inner),
            ..self
        }
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(inner) = self.inner {
            body["error"]["innerError"] = json!({ "code": inner });
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_str(&challenge).expect("the challenge is ASCII"),
            );
        }
        response
    }
}

/// Key Vault's skip tokens are opaque; the devstack's encode an offset.
fn skip_token(offset: usize) -> String {
    base64url(format!("{{\"NextMarker\":{offset}}}"))
}

fn skip_offset(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let marker: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(marker["NextMarker"].as_u64()?).ok()
}

fn random_base64(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    aws_lc_rs::rand::fill(&mut buffer).expect("system randomness");
    base64::engine::general_purpose::STANDARD.encode(buffer)
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    aws_lc_rs::rand::fill(&mut buffer).expect("system randomness");
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
