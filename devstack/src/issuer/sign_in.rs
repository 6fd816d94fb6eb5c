//! What an interactive sign-in asks for, and the tokens a client that calls Microsoft Graph
//! itself gets from it.
//!
//! A client signs users in for the API its registration asks permissions of
//! ([`ClientApi`]): most of the tenant's clients for the MCP server's API, whose tokens the
//! server then exchanges for Graph tokens; a *local* app (`handler stdio`, the user's own
//! public client) for Graph directly. The authorization code and the device code both carry
//! such a [`SignInScopes`].
//!
//! For a Graph client, finishing an interactive sign-in is also consenting: the user agrees to
//! the named permissions for that app, and Entra remembers it per user and app ([`Policy`]).
//! Its refresh token then reaches whatever the user consented to, not only what the sign-in
//! named: a later refresh may ask for other consented permissions (Entra's refresh tokens are
//! multi-resource; the devstack models one resource, Graph). A permission nobody consented to is
//! AADSTS65001 with `suberror: consent_required`, and only another interactive sign-in fixes
//! it: that is incremental consent. Every refresh rotates the refresh token; the old one keeps
//! working, as Entra's do, until the user's sessions are revoked (AADSTS50173).
//!
//! [`Policy`]: super::Policy

use axum::http::StatusCode;

use super::{
    Issuer,
    error::EntraError,
    graph_scope::{GraphScopes, Requested},
    refresh::Reach,
    scope::ApiScopes,
    token::{TokenRequest, TokenResponse, id_token},
};
use crate::tenant::{ClientApi, ClientApp, User};

/// The permissions an interactive sign-in asks for, of the API its client signs in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInScopes {
    ServerApi(ApiScopes),
    Graph(GraphScopes),
}

impl SignInScopes {
    /// Parses `scope` for `client`'s API.
    pub fn parse(issuer: &Issuer, client: &ClientApp, scope: &str) -> Result<Self, EntraError> {
        match client.api {
            ClientApi::Server => issuer.server_api().parse(scope).map(Self::ServerApi),
            ClientApi::Graph => GraphScopes::parse(scope, &issuer.base_url).map(Self::Graph),
        }
    }
}

/// The tokens for `user`, who just signed in to the Graph client `client` and consented to
/// what `scopes` names: an opaque Graph token, a refresh token with `offline_access`, an ID
/// token with `openid`.
pub fn signed_in(
    issuer: &Issuer,
    client: &'static ClientApp,
    user: &'static User,
    scopes: &GraphScopes,
    offline_access: bool,
    openid: bool,
) -> TokenResponse {
    if let Requested::Named(permissions) = &scopes.requested {
        issuer.policy.consent_for_client(user, client, permissions);
    }
    let granted = granted(issuer, client, user, scopes);
    let refresh_token = offline_access.then(|| {
        issuer
            .refresh_tokens
            .issue(client.client_id, user, Reach::Graph)
    });
    TokenResponse {
        refresh_token,
        id_token: openid.then(|| id_token(issuer, user, client)),
        ..graph_token(issuer, user, scopes, granted)
    }
}

/// The refresh token grant of a Graph client (a public client: no credential).
pub fn refresh(
    issuer: &Issuer,
    client: &'static ClientApp,
    request: &TokenRequest,
) -> Result<TokenResponse, EntraError> {
    if request.presented_secret.is_some() || request.client_assertion.is_some() {
        return Err(EntraError::new(
            "invalid_client",
            700_025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be \
             presented.",
        )
        .with_status(StatusCode::UNAUTHORIZED));
    }
    let presented = request
        .refresh_token
        .as_deref()
        .ok_or_else(|| EntraError::missing("refresh_token"))?;
    let issued = issuer.refresh_tokens.redeem(presented)?;
    if !issued.client_id.eq_ignore_ascii_case(client.client_id) || issued.reach != Reach::Graph {
        return Err(invalid_grant(
            70_000,
            "The provided refresh token was issued to a different client.",
        ));
    }
    let user = issued.user;
    let scope = request
        .scope
        .as_deref()
        .ok_or_else(|| EntraError::missing("scope"))?;
    let scopes = GraphScopes::parse(scope, &issuer.base_url)?;
    if let Requested::Named(permissions) = &scopes.requested {
        let consented = issuer.policy.client_consented(user, client);
        if permissions.iter().any(|p| !consented.contains(p)) {
            return Err(invalid_grant(
                65_001,
                format!(
                    "The user or administrator has not consented to use the application with \
                     ID '{}' named '{}'. Send an interactive authorization request for this \
                     user and resource.",
                    client.client_id, client.display_name
                ),
            )
            .with_suberror("consent_required"));
        }
    }
    let granted = granted(issuer, client, user, &scopes);
    let openid = scope.split_whitespace().any(|s| s == "openid");
    Ok(TokenResponse {
        refresh_token: Some(
            issuer
                .refresh_tokens
                .issue(client.client_id, user, Reach::Graph),
        ),
        id_token: openid.then(|| id_token(issuer, user, client)),
        ..graph_token(issuer, user, &scopes, granted)
    })
}

/// What a Graph token for `scopes` carries: the named permissions, or for `.default` all the
/// user consented to for `client`.
fn granted(
    issuer: &Issuer,
    client: &ClientApp,
    user: &User,
    scopes: &GraphScopes,
) -> Vec<&'static str> {
    match &scopes.requested {
        Requested::Named(permissions) => permissions.clone(),
        Requested::Default => issuer.policy.client_consented(user, client),
    }
}

fn graph_token(
    issuer: &Issuer,
    user: &'static User,
    scopes: &GraphScopes,
    granted: Vec<&'static str>,
) -> TokenResponse {
    let scope = scopes.response_scope(&granted);
    let (access_token, lifetime) = issuer.graph_tokens.issue(user, granted);
    TokenResponse {
        token_type: "Bearer",
        scope: Some(scope),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token,
        refresh_token: None,
        id_token: None,
    }
}

fn invalid_grant(code: u32, message: impl Into<String>) -> EntraError {
    EntraError::new("invalid_grant", code, message)
}

#[cfg(test)]
mod tests;
