//! The token endpoint: a form-encoded POST that exchanges a grant for an access token.
//!
//! Each grant type is one way of proving entitlement:
//!
//! - `authorization_code`: a public client redeems the code a sign-in produced, proving with
//!   the PKCE verifier that it started that sign-in. The token acts for the user.
//! - `authorization_code` for the server app, a confidential client (broker mode): the same,
//!   plus the federated client assertion; with `offline_access` it also gets a refresh token,
//!   and with `openid` an ID token.
//! - `refresh_token`: the server app trades a refresh token, with its assertion, for a new
//!   access token and a new refresh token ([`super::refresh`]).
//! - `client_credentials`: a confidential client asks for a token for itself. The scope must
//!   be `{resource}/.default`, because an application has no consent prompt to pick
//!   permissions in; it gets the app roles it was granted.
//!
//! - `urn:ietf:params:oauth:grant-type:jwt-bearer` with `requested_token_use=on_behalf_of`:
//!   the server app trades its caller's token for a Graph token acting for the same user
//!   ([`super::obo`]).
//! - `urn:ietf:params:oauth:grant-type:device_code`: a public client with "Allow public client
//!   flows" polls for the outcome of a device sign-in ([`super::device_code`]).
//! - `authorization_code`, `device_code` and `refresh_token` for a public client that calls
//!   Graph itself (`handler stdio`): Graph tokens directly, refresh tokens, ID tokens
//!   ([`super::sign_in`]).
//!
//! Successes are Entra's JSON (`token_type`, `scope`, `expires_in`, `ext_expires_in`,
//! `access_token`); failures are [`EntraError`]s. Tests can make the whole endpoint answer
//! 503, as during an Entra outage.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Form, Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Issuer,
    claims::{self, expires_in},
    codes::Redemption,
    device_code::{DEVICE_CODE_GRANT, Poll},
    error::EntraError,
    obo, pkce,
    refresh::Reach,
    scope::ApiScopes,
    sign_in::{self, SignInScopes},
};
use crate::tenant::{ClientApi, ClientApp, ClientKind, SERVER_APP, SERVER_CLIENT_ID, User};

const AUTHORIZATION_CODE: &str = "authorization_code";
const CLIENT_CREDENTIALS: &str = "client_credentials";
const REFRESH_TOKEN: &str = "refresh_token";

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    /// Entra's `client_secret` form field: read only to refuse it (public clients may not
    /// present one, and this product's confidential clients use assertions).
    #[serde(rename = "client_secret")]
    pub presented_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    pub code: Option<String>,
    pub refresh_token: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
    pub assertion: Option<String>,
    pub requested_token_use: Option<String>,
    pub device_code: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub token_type: &'static str,
    /// Entra lists the granted scopes for delegated tokens and leaves them out for app-only
    /// ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: u64,
    pub ext_expires_in: u64,
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

pub async fn token(
    State(issuer): State<Arc<Issuer>>,
    Path(tenant): Path<String>,
    Form(request): Form<TokenRequest>,
) -> Response {
    if request.grant_type.as_deref() == Some(obo::JWT_BEARER) {
        issuer.obo_exchanges.fetch_add(1, Ordering::SeqCst);
    }
    if !issuer.token_endpoint_available.load(Ordering::SeqCst) {
        return EntraError::new(
            "temporarily_unavailable",
            90_033,
            "A transient error has occurred. Please try again.",
        )
        .with_status(StatusCode::SERVICE_UNAVAILABLE)
        .into_response();
    }
    match issue(&issuer, &tenant, &request) {
        Ok(response) => Json(response).into_response(),
        Err(error) => error.into_response(),
    }
}

fn issue(
    issuer: &Issuer,
    tenant: &str,
    request: &TokenRequest,
) -> Result<TokenResponse, EntraError> {
    super::known_tenant(tenant)?;
    let grant_type = required(&request.grant_type, "grant_type")?;
    // The server app is the only confidential client with a federated credential; it is not
    // among the clients that sign users in, so the on-behalf-of grant identifies it itself.
    if grant_type == obo::JWT_BEARER {
        return obo::on_behalf_of(issuer, request);
    }
    let client_id = required(&request.client_id, "client_id")?;
    // The server app signs users in itself in broker mode: a confidential client, proven by
    // its federated credential like in the on-behalf-of grant.
    if client_id.eq_ignore_ascii_case(SERVER_CLIENT_ID) {
        obo::authenticate_client(issuer, client_id, request)?;
        return match grant_type {
            AUTHORIZATION_CODE => redeem_code(issuer, &SERVER_APP, request),
            REFRESH_TOKEN => refresh(issuer, &SERVER_APP, request),
            other => Err(EntraError::new(
                "unsupported_grant_type",
                70_003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        };
    }
    let client = super::registered_client(client_id)?;
    match grant_type {
        AUTHORIZATION_CODE => redeem_code(issuer, client, request),
        CLIENT_CREDENTIALS => client_credentials(issuer, client, request),
        DEVICE_CODE_GRANT => redeem_device_code(issuer, client, request),
        REFRESH_TOKEN if client.api == ClientApi::Graph => {
            sign_in::refresh(issuer, client, request)
        }
        other => Err(EntraError::new(
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

/// The device code grant: one poll for the outcome of a device sign-in.
fn redeem_device_code(
    issuer: &Issuer,
    client: &'static ClientApp,
    request: &TokenRequest,
) -> Result<TokenResponse, EntraError> {
    // Without "Allow public client flows" Entra takes the client for a confidential one
    // that forgot its credential.
    if !client.public_client_flows {
        return Err(EntraError::new(
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        )
        .with_status(StatusCode::UNAUTHORIZED));
    }
    let device_code = required(&request.device_code, "device_code")?;
    let approval = match issuer.device_codes.poll(device_code, client.client_id) {
        Poll::Approved(approval) => approval,
        Poll::Refused(error) => return Err(error),
    };
    Ok(match &approval.scopes {
        SignInScopes::Graph(scopes) => sign_in::signed_in(
            issuer,
            approval.client,
            approval.user,
            scopes,
            approval.offline_access,
            approval.openid,
        ),
        SignInScopes::ServerApi(scopes) => {
            server_api_tokens(issuer, approval.client, approval.user, scopes, false, false)
        }
    })
}

fn redeem_code(
    issuer: &Issuer,
    client: &'static ClientApp,
    request: &TokenRequest,
) -> Result<TokenResponse, EntraError> {
    if client.kind == ClientKind::Public
        && (request.presented_secret.is_some() || request.client_assertion.is_some())
    {
        return Err(EntraError::new(
            "invalid_client",
            700_025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be \
             presented.",
        )
        .with_status(StatusCode::UNAUTHORIZED));
    }
    let code = required(&request.code, "code")?;
    let redirect_uri = required(&request.redirect_uri, "redirect_uri")?;
    let verifier = required(&request.code_verifier, "code_verifier")?;
    let requested_scopes = request
        .scope
        .as_deref()
        .map(|scope| SignInScopes::parse(issuer, client, scope))
        .transpose()?;
    if client.api == ClientApi::Server {
        issuer
            .server_api()
            .check_resource(request.resource.as_deref())?;
    }

    let grant = match issuer.codes.redeem(code) {
        Redemption::Valid(grant) => grant,
        Redemption::AlreadyRedeemed => {
            return Err(invalid_grant(
                54_005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid \
                 code or use an existing refresh token.",
            ));
        }
        Redemption::Expired => {
            return Err(invalid_grant(
                70_008,
                "The provided authorization code or refresh token has expired due to \
                 inactivity. Send a new interactive authorization request for this user and \
                 resource.",
            ));
        }
        Redemption::Unknown => {
            return Err(invalid_grant(
                9_002_313,
                "Invalid request. Request is malformed or invalid.",
            ));
        }
    };
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            70_000,
            "The provided authorization code was issued to a different client.",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            500_112,
            format!(
                "The reply address '{redirect_uri}' does not match the reply address '{}' \
                 provided when requesting Authorization code.",
                grant.redirect_uri
            ),
        ));
    }
    if !pkce::verifies(verifier, &grant.code_challenge) {
        return Err(invalid_grant(
            501_481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization \
             request.",
        ));
    }

    let openid = request
        .scope
        .as_deref()
        .is_some_and(|scope| scope.split_whitespace().any(|s| s == "openid"));
    match requested_scopes.unwrap_or(grant.scopes) {
        SignInScopes::ServerApi(scopes) => Ok(server_api_tokens(
            issuer,
            client,
            grant.user,
            &scopes,
            grant.offline_access,
            openid,
        )),
        SignInScopes::Graph(scopes) => Ok(sign_in::signed_in(
            issuer,
            client,
            grant.user,
            &scopes,
            grant.offline_access,
            grant.openid,
        )),
    }
}

/// The tokens for `user` signed in to `client` for the server's API: a signed access token;
/// a refresh token (`offline_access`) and an ID token (`openid`) for confidential clients.
fn server_api_tokens(
    issuer: &Issuer,
    client: &ClientApp,
    user: &'static User,
    scopes: &ApiScopes,
    offline_access: bool,
    openid: bool,
) -> TokenResponse {
    let claims = claims::delegated(
        &issuer.issuer_url(),
        user,
        client,
        &scopes.granted(),
        user.app_roles,
    );
    let confidential = client.kind == ClientKind::Confidential;
    let refresh_token = (confidential && offline_access).then(|| {
        issuer
            .refresh_tokens
            .issue(client.client_id, user, Reach::ServerApi(scopes.clone()))
    });
    TokenResponse {
        scope: Some(scopes.response_scope()),
        refresh_token,
        id_token: (confidential && openid).then(|| id_token(issuer, user, client)),
        ..signed_response(issuer, &claims)
    }
}

/// The refresh token grant: a new access token and a new refresh token (the old one keeps
/// working, as Entra's does).
fn refresh(
    issuer: &Issuer,
    client: &'static ClientApp,
    request: &TokenRequest,
) -> Result<TokenResponse, EntraError> {
    let presented = required(&request.refresh_token, "refresh_token")?;
    let issued = issuer.refresh_tokens.redeem(presented)?;
    let issued_scopes = match &issued.reach {
        Reach::ServerApi(scopes) if issued.client_id.eq_ignore_ascii_case(client.client_id) => {
            scopes
        }
        _ => {
            return Err(invalid_grant(
                70_000,
                "The provided refresh token was issued to a different client.",
            ));
        }
    };
    let api = issuer.server_api();
    let scopes = match request.scope.as_deref() {
        None => issued_scopes.clone(),
        Some(scope) => {
            let requested = api.parse(scope)?;
            if requested
                .granted()
                .iter()
                .any(|name| !issued_scopes.granted().contains(name))
            {
                return Err(EntraError::invalid_scope(scope));
            }
            requested
        }
    };
    let claims = claims::delegated(
        &issuer.issuer_url(),
        issued.user,
        client,
        &scopes.granted(),
        issued.user.app_roles,
    );
    let refresh_token = issuer.refresh_tokens.issue(
        client.client_id,
        issued.user,
        Reach::ServerApi(scopes.clone()),
    );
    Ok(TokenResponse {
        scope: Some(scopes.response_scope()),
        refresh_token: Some(refresh_token),
        ..signed_response(issuer, &claims)
    })
}

/// An ID token for `user` signing in to `client`.
pub fn id_token(issuer: &Issuer, user: &User, client: &ClientApp) -> String {
    let mut claims = claims::delegated(&issuer.issuer_url(), user, client, &[], &[]);
    claims["aud"] = serde_json::json!(client.client_id);
    issuer.sign_current(&claims)
}

fn client_credentials(
    issuer: &Issuer,
    client: &ClientApp,
    request: &TokenRequest,
) -> Result<TokenResponse, EntraError> {
    if client.kind == ClientKind::Public {
        return Err(EntraError::new(
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        )
        .with_status(StatusCode::UNAUTHORIZED));
    }
    let scope = required(&request.scope, "scope")?;
    let api = issuer.server_api();
    let scopes = api.parse(scope)?;
    if !scopes.is_default() {
        return Err(EntraError::new(
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows \
                 must have a scope value with /.default suffixed to the resource identifier \
                 (application ID URI)."
            ),
        ));
    }
    api.check_resource(request.resource.as_deref())?;
    let claims = claims::app_only(&issuer.issuer_url(), client, client.app_roles);
    Ok(signed_response(issuer, &claims))
}

/// A response carrying `claims` signed with the current key, without `scope`.
fn signed_response(issuer: &Issuer, claims: &Value) -> TokenResponse {
    let lifetime = expires_in(claims);
    TokenResponse {
        token_type: "Bearer",
        scope: None,
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: issuer.sign_current(claims),
        refresh_token: None,
        id_token: None,
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, EntraError> {
    value.as_deref().ok_or_else(|| EntraError::missing(name))
}

fn invalid_grant(code: u32, message: impl Into<String>) -> EntraError {
    EntraError::new("invalid_grant", code, message)
}
