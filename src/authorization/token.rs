//! `POST /token` (RFC 6749 §3.2, OAuth 2.1) and `POST /revoke` (RFC 7009).
//!
//! - `authorization_code`: the code is looked up (it is stored under its hash, sealed), must be
//!   unexpired and issued to this `client_id`, for exactly this `redirect_uri`, and the
//!   `code_verifier` must hash to its PKCE challenge. Only then is it **claimed**: a marker
//!   `redemptions/{hash}` is created with `If-None-Match: *`, which exactly one request across
//!   all instances can do. A second redemption finds the marker, revokes the refresh-token
//!   family the first one started (RFC 6749 §4.1.2: the code was stolen, or replayed) and gets
//!   `invalid_grant`. If the store cannot be reached the answer is `temporarily_unavailable`
//!   and no token is issued, so a fault can cost a sign-in but never redeem a code twice.
//! - `refresh_token`: see [`super::families`].
//!
//! The access token handed out is Entra's, for this API: inbound validation does not change.
//! Only public clients exist: a client secret, a client assertion or HTTP Basic credentials are
//! `invalid_client`. Answers are never cached. The endpoint is rate-limited per instance.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    Broker,
    authorize::{CodeRecord, code_key, digest_hex, same, single_params},
    families::{self, Families, NewFamily, RefreshError},
    pages::{oauth_error, secure_headers, too_many_requests},
    random_token,
    seal::{Purpose, SealError},
    store::{StoreError, prefix},
    unix_now,
};

const MAX_BODY: usize = 16 * 1024;
const MARKER_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The marker that says a code was redeemed, and by which redemption.
#[derive(Serialize, Deserialize)]
struct Redemption {
    nonce: String,
    family: String,
}

pub async fn token(State(broker): State<Arc<Broker>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(retry_after) = broker.token_limit.take() {
        tracing::warn!("token endpoint rate limit reached");
        return too_many_requests(retry_after);
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return invalid_client("this server issues no client credentials: send none");
    }
    if body.len() > MAX_BODY {
        return invalid_request("the request is too large");
    }
    let form_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value.split(';').next().is_some_and(|kind| {
                kind.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form_content {
        return invalid_request("send the request as application/x-www-form-urlencoded");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return invalid_request("the request is not UTF-8");
    };
    let params = match single_params(Some(text)) {
        Ok(params) => params,
        Err(why) => return invalid_request(&why),
    };
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    if get("client_secret").is_some() || get("client_assertion").is_some() {
        return invalid_client("this server issues no client credentials: send none");
    }
    let Some(client_id) = get("client_id") else {
        return invalid_request("client_id is missing");
    };
    if let Some(resource) = get("resource")
        && !broker.settings.is_resource(resource)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource must be this MCP server's URL",
        );
    }
    match get("grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) =
                (get("code"), get("redirect_uri"), get("code_verifier"))
            else {
                return invalid_request("code, redirect_uri and code_verifier are required");
            };
            redeem(&broker, client_id, code, redirect_uri, verifier).await
        }
        Some("refresh_token") => {
            let Some(refresh_token) = get("refresh_token") else {
                return invalid_request("refresh_token is missing");
            };
            let scopes = match get("scope") {
                None => None,
                Some(scope) => match broker.settings.parse_scopes(Some(scope)) {
                    Ok(scopes) => Some(scopes),
                    Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &why),
                },
            };
            refresh(&broker, client_id, refresh_token, scopes.as_deref()).await
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code and refresh_token are supported",
        ),
        None => invalid_request("grant_type is missing"),
    }
}

async fn redeem(
    broker: &Broker,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Response {
    if code.len() > 128 {
        return invalid_grant("the code is unknown, expired or already used");
    }
    let key = code_key(code);
    let entry = match broker.store.read(&key).await {
        Ok(Some(entry)) => Some(entry),
        Ok(None) => None,
        Err(_) => return unavailable(),
    };
    let Some(entry) = entry else {
        // Gone: never issued, expired and collected, or redeemed (then the marker says so).
        return match replayed(broker, code).await {
            Ok(true) => invalid_grant("the code was already used; its tokens are revoked"),
            Ok(false) => invalid_grant("the code is unknown, expired or already used"),
            Err(response) => response,
        };
    };
    let record: CodeRecord = match broker
        .sealer
        .open(Purpose::Code, key.as_bytes(), &entry.value)
        .await
    {
        Ok(plaintext) => match serde_json::from_slice(&plaintext) {
            Ok(record) => record,
            Err(_) => return invalid_grant("the code is unknown, expired or already used"),
        },
        Err(SealError::Invalid) => {
            return invalid_grant("the code is unknown, expired or already used");
        }
        Err(_) => return unavailable(),
    };
    if record.expires < unix_now() {
        return invalid_grant("the code has expired");
    }
    if record.client_id != client_id {
        return invalid_grant("the code was issued to another client");
    }
    if record.redirect_uri != redirect_uri {
        return invalid_grant("redirect_uri is not the one the code was issued for");
    }
    let computed = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
    );
    if !(43..=128).contains(&verifier.len()) || !same(&computed, &record.code_challenge) {
        return invalid_grant("the code_verifier does not match the code_challenge");
    }

    // Claim the code: one redemption across every instance.
    let family_id = families::new_family_id();
    let nonce = random_token(16);
    let marker = serde_json::to_vec(&Redemption {
        nonce: nonce.clone(),
        family: family_id.clone(),
    })
    .expect("a marker serializes");
    let marker_key = format!("{}{}", prefix::REDEMPTIONS, digest_hex(code));
    match broker
        .store
        .create(&marker_key, marker, MARKER_LIFETIME)
        .await
    {
        Ok(_) => {}
        Err(StoreError::AlreadyExists) => {
            // Ours after all (a retried write whose first answer was lost)? Then go on.
            let ours = matches!(
                broker.store.read(&marker_key).await,
                Ok(Some(entry)) if serde_json::from_slice::<Redemption>(&entry.value)
                    .is_ok_and(|marker| marker.nonce == nonce)
            );
            if !ours {
                return match replayed(broker, code).await {
                    Ok(_) => invalid_grant("the code was already used; its tokens are revoked"),
                    Err(response) => response,
                };
            }
        }
        Err(_) => return unavailable(),
    }
    let families = Families {
        store: broker.store.as_ref(),
        sealer: &broker.sealer,
    };
    let refresh_token = match families
        .start(NewFamily {
            id: &family_id,
            tenant_id: &record.tenant_id,
            object_id: &record.object_id,
            client_id,
            consent_id: &record.consent_id,
            scopes: &record.scopes,
            entra_refresh_token: &record.entra_refresh_token,
        })
        .await
    {
        Ok(token) => token,
        Err(RefreshError::Unavailable) => return unavailable(),
        Err(_) => return invalid_grant("the code was already used"),
    };
    // The code is spent; the lifecycle rule would remove it anyway.
    let _ = broker.store.delete(&key).await;
    tracing::info!(
        tid = %record.tenant_id,
        oid = %record.object_id,
        "authorization code redeemed"
    );
    tokens(
        &record.access_token,
        record.access_expires.saturating_sub(unix_now()),
        &refresh_token,
        &record.scopes,
    )
}

/// Whether `code` was redeemed before; if so, revokes what that redemption issued.
async fn replayed(broker: &Broker, code: &str) -> Result<bool, Response> {
    let marker_key = format!("{}{}", prefix::REDEMPTIONS, digest_hex(code));
    let marker = match broker.store.read(&marker_key).await {
        Ok(Some(entry)) => serde_json::from_slice::<Redemption>(&entry.value).ok(),
        Ok(None) => return Ok(false),
        Err(_) => return Err(unavailable()),
    };
    if let Some(marker) = marker {
        tracing::warn!("an authorization code was presented again: revoking its tokens");
        let families = Families {
            store: broker.store.as_ref(),
            sealer: &broker.sealer,
        };
        if families.revoke(&marker.family).await.is_err() {
            return Err(unavailable());
        }
    }
    Ok(true)
}

async fn refresh(
    broker: &Broker,
    client_id: &str,
    refresh_token: &str,
    scopes: Option<&[String]>,
) -> Response {
    let families = Families {
        store: broker.store.as_ref(),
        sealer: &broker.sealer,
    };
    let settings = &broker.settings;
    match families
        .refresh(refresh_token, client_id, scopes, &broker.entra, |scopes| {
            settings.entra_scope(scopes, false)
        })
        .await
    {
        Ok(refreshed) => tokens(
            &refreshed.tokens.access_token,
            refreshed.tokens.expires_in,
            &refreshed.refresh_token,
            &refreshed.scopes,
        ),
        Err(RefreshError::Invalid(why)) => invalid_grant(why),
        Err(RefreshError::Reused) => {
            tracing::warn!("a refresh token was used twice: its family is revoked");
            invalid_grant(
                "the refresh token was already used; every token of this sign-in is revoked",
            )
        }
        Err(RefreshError::Unavailable) => unavailable(),
    }
}

fn tokens(access_token: &str, expires_in: u64, refresh_token: &str, scopes: &[String]) -> Response {
    let mut response = (
        StatusCode::OK,
        axum::Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
            "scope": scopes.join(" "),
        })),
    )
        .into_response();
    secure_headers(response.headers_mut());
    response
}

/// `POST /revoke` (RFC 7009): revokes the refresh-token family of a token. Answers 200 for any
/// token, known or not.
pub async fn revoke(State(broker): State<Arc<Broker>>, body: Bytes) -> Response {
    if body.len() > MAX_BODY {
        return invalid_request("the request is too large");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return invalid_request("the request is not UTF-8");
    };
    let params = match single_params(Some(text)) {
        Ok(params) => params,
        Err(why) => return invalid_request(&why),
    };
    let (Some(token), Some(client_id)) = (params.get("token"), params.get("client_id")) else {
        return invalid_request("token and client_id are required");
    };
    let families = Families {
        store: broker.store.as_ref(),
        sealer: &broker.sealer,
    };
    match families.revoke_token(token, client_id).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            secure_headers(response.headers_mut());
            response
        }
        Err(_) => unavailable(),
    }
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn invalid_client(description: &str) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn unavailable() -> Response {
    let mut response = oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the server's storage or key is unavailable; nothing was issued, try again shortly",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("5"),
    );
    response
}
