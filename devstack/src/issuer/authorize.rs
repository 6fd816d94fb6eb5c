//! The authorization endpoint: where a browser signs a user in and the client gets a code.
//!
//! Real Entra shows a sign-in page and, the first time, a consent page. The devstack has no UI:
//! the user named by `login_hint` (short key, UPN or object id; Adele when absent) is signed in
//! at once, and the tenant has already consented to everything the server exposes (a client
//! that calls Graph itself gets the user's consent to what it asked for). Everything
//! else is checked as Entra checks it, in Entra's order: the client and its redirect URI first
//! (failures show an error page), then the request itself (failures go back to the client).
//!
//! Public clients register loopback redirect URIs; Entra accepts any port and any path on
//! `http://localhost`, `http://127.0.0.1` and `http://[::1]`, because a native app picks a
//! free port at run time. The server app, a confidential client in broker mode, registers web
//! redirect URIs (the broker's callback), matched exactly. Other confidential clients have no
//! redirect URIs at all.
//!
//! Entra lets native clients skip PKCE and accepts the `plain` method. The devstack is
//! stricter on purpose: OAuth 2.1 and MCP require `S256`, and a client that would not send it
//! should fail here rather than in production.

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use url::{Host, Url};

use super::{
    Issuer,
    codes::Grant,
    error::EntraError,
    pkce::{self, S256},
    sign_in::SignInScopes,
};
use crate::tenant::{self, ClientApp, ClientKind, DEFAULT_USER, TENANT_ID};

#[derive(Debug, Deserialize)]
pub struct AuthorizeRequest {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
    resource: Option<String>,
}

pub async fn authorize(
    State(issuer): State<Arc<Issuer>>,
    Path(tenant): Path<String>,
    Query(request): Query<AuthorizeRequest>,
) -> Response {
    if let Err(error) = super::known_tenant(&tenant) {
        return error.page();
    }
    let (client, redirect_uri) = match trusted_redirect(&issuer, &request) {
        Ok(trusted) => trusted,
        Err(error) => return error.page(),
    };
    // The code remembers the redirect URI exactly as sent, not as parsed: the token request
    // must repeat the same string, and parsing normalizes (`http://localhost:80` → `http://localhost/`).
    let sent_redirect_uri = request.redirect_uri.as_deref().unwrap_or_default();
    match sign_in(&issuer, &request, client, sent_redirect_uri) {
        Ok(code) => {
            let mut location = redirect_uri;
            {
                let mut query = location.query_pairs_mut();
                query.append_pair("code", &code);
                if let Some(state) = &request.state {
                    query.append_pair("state", state);
                }
            }
            (
                StatusCode::FOUND,
                [(header::LOCATION, location.to_string())],
            )
                .into_response()
        }
        Err(error) => error.redirect(&redirect_uri, request.state.as_deref()),
    }
}

/// The registered client and the redirect URI it asked for: a public client's loopback
/// redirect, or one of the server app's registered web redirects.
fn trusted_redirect(
    issuer: &Issuer,
    request: &AuthorizeRequest,
) -> Result<(&'static ClientApp, Url), EntraError> {
    let client_id = request
        .client_id
        .as_deref()
        .ok_or_else(|| EntraError::missing("client_id"))?;
    let client = if client_id.eq_ignore_ascii_case(tenant::SERVER_CLIENT_ID) {
        &tenant::SERVER_APP
    } else {
        super::registered_client(client_id)?
    };
    let redirect_uri = request
        .redirect_uri
        .as_deref()
        .ok_or_else(|| EntraError::missing("redirect_uri"))?;
    let server_web_redirect = std::ptr::eq(client, &tenant::SERVER_APP)
        && issuer
            .server_redirect_uris
            .iter()
            .any(|uri| uri == redirect_uri);
    match Url::parse(redirect_uri) {
        Ok(url) if server_web_redirect => Ok((client, url)),
        Ok(url) if client.kind == ClientKind::Public && is_loopback(&url) => Ok((client, url)),
        _ => Err(EntraError::new(
            "invalid_request",
            50_011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the \
                 redirect URIs configured for the application '{client_id}'."
            ),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
}

/// Checks the rest of the request, signs the user in and returns the code.
fn sign_in(
    issuer: &Issuer,
    request: &AuthorizeRequest,
    client: &ClientApp,
    redirect_uri: &str,
) -> Result<String, EntraError> {
    match request.response_type.as_deref() {
        Some("code") => {}
        Some(other) => {
            return Err(EntraError::new(
                "unsupported_response_type",
                700_054,
                format!("response_type '{other}' is not enabled for the application."),
            ));
        }
        None => return Err(EntraError::missing("response_type")),
    }
    let scope = request
        .scope
        .as_deref()
        .ok_or_else(|| EntraError::missing("scope"))?;
    let scopes = SignInScopes::parse(issuer, client, scope)?;
    if let SignInScopes::ServerApi(_) = scopes {
        issuer
            .server_api()
            .check_resource(request.resource.as_deref())?;
    }
    let code_challenge = checked_challenge(request)?;
    let hint = request.login_hint.as_deref().unwrap_or(DEFAULT_USER);
    let user = tenant::user(hint).ok_or_else(|| {
        EntraError::new(
            "invalid_request",
            50_034,
            format!("The user account {hint} does not exist in the {TENANT_ID} directory."),
        )
    })?;
    let has = |name: &str| scope.split_whitespace().any(|s| s == name);
    Ok(issuer.codes.issue(Grant {
        client_id: client.client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge,
        user,
        scopes,
        offline_access: has("offline_access"),
        openid: has("openid"),
    }))
}

fn checked_challenge(request: &AuthorizeRequest) -> Result<String, EntraError> {
    let challenge = request
        .code_challenge
        .as_deref()
        .ok_or_else(|| EntraError::missing("code_challenge"))?;
    // RFC 7636 makes `plain` the default when no method is named.
    let method = request.code_challenge_method.as_deref().unwrap_or("plain");
    if method != S256 {
        return Err(EntraError::new(
            "invalid_request",
            50_149,
            format!(
                "Invalid Code_Challenge_method parameter '{method}': the devstack accepts only \
                 S256."
            ),
        ));
    }
    if !pkce::is_s256_shaped(challenge) {
        return Err(EntraError::new(
            "invalid_request",
            501_491,
            "Invalid size of Code_Challenge parameter.",
        ));
    }
    Ok(challenge.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn loopback_redirects_on_any_port_and_path() {
        for good in [
            "http://localhost/",
            "http://localhost:33418/callback",
            "http://127.0.0.1:50389/",
            "http://[::1]:8080/oauth/callback?x=1",
            "http://LOCALHOST:1/",
        ] {
            assert!(is_loopback(&url(good)), "{good}");
        }
        for bad in [
            "https://localhost/",
            "http://localhost.evil.example/",
            "http://10.0.0.1/",
            "http://user@localhost/",
            "http://localhost/#fragment",
            "vscode://callback",
        ] {
            assert!(!is_loopback(&url(bad)), "{bad}");
        }
    }
}
