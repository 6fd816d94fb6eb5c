//! The on-behalf-of grant: a middle tier trades the token its caller sent it for a token to a
//! downstream API (here Microsoft Graph) that acts for the same user.
//!
//! ```text
//! grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
//! requested_token_use=on_behalf_of
//! assertion=<the caller's access token>
//! client_id=<the middle tier's app>
//! client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
//! client_assertion=<proof that the request comes from that app>
//! scope=https://graph.microsoft.com/User.Read …
//! ```
//!
//! Entra checks, in this order, and the devstack with it:
//!
//! 1. **The client.** OBO is for confidential clients. This product has no secret: its
//!    `client_assertion` is the managed identity's token for `api://AzureADTokenExchange`, and
//!    a federated identity credential on the server app says which issuer, subject and
//!    audience to trust (AADSTS70021 when none matches). The assertion must be signed by the
//!    issuer and within its lifetime.
//! 2. **The user's token.** Signed by this tenant, unexpired, issued *to this app* (its client
//!    id or an identifier URI; AADSTS50013 otherwise) and for a user: an application's own
//!    token has no user to act for (AADSTS7000114).
//! 3. **The scopes**, then **consent** for each (AADSTS65001, `suberror: consent_required`),
//!    then **Conditional Access** (AADSTS50079, `interaction_required` with a claims
//!    challenge). The middle tier must hand the last two back to its client: only a new
//!    interactive sign-in fixes them.
//!
//! The Graph token issued is opaque ([`crate::graph_token`]).

use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::{
    Issuer,
    error::EntraError,
    graph_scope::{GraphScopes, Requested},
    token::{TokenRequest, TokenResponse},
    verify::{Lifetime, Rejection, lifetime},
};
use crate::{
    datetime::{iso8601, now_seconds},
    tenant::{
        self, ClientKind, GRAPH_APP_ID, MFA_POLICY_ID, SERVER_CLIENT_ID, SERVER_DISPLAY_NAME,
        SERVER_FEDERATED_CREDENTIALS, TENANT_ID, User,
    },
};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ON_BEHALF_OF: &str = "on_behalf_of";

pub fn on_behalf_of(issuer: &Issuer, request: &TokenRequest) -> Result<TokenResponse, EntraError> {
    let client_id = required(&request.client_id, "client_id")?;
    authenticate_client(issuer, client_id, request)?;

    if request.requested_token_use.as_deref() != Some(ON_BEHALF_OF) {
        return Err(EntraError::missing("requested_token_use"));
    }
    let user = assertion_user(issuer, required(&request.assertion, "assertion")?)?;

    let scopes = GraphScopes::parse(required(&request.scope, "scope")?, issuer.graph_base_url())?;
    let consented = issuer.policy.consented(user);
    let granted = match &scopes.requested {
        Requested::Default => consented,
        Requested::Named(permissions) => {
            if permissions.iter().any(|p| !consented.contains(p)) {
                return Err(consent_required());
            }
            permissions.clone()
        }
    };
    if issuer.policy.mfa_required(user) {
        return Err(mfa_required());
    }

    let scope = scopes.response_scope(&granted);
    let (access_token, lifetime) = issuer.graph_tokens.issue(user, granted);
    Ok(TokenResponse {
        token_type: "Bearer",
        scope: Some(scope),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token,
        refresh_token: None,
        id_token: None,
    })
}

/// Step 1: the request comes from the server app, proven by a federated assertion. The same
/// check authenticates the server app's authorization code and refresh token redemptions.
pub(super) fn authenticate_client(
    issuer: &Issuer,
    client_id: &str,
    request: &TokenRequest,
) -> Result<(), EntraError> {
    if !client_id.eq_ignore_ascii_case(SERVER_CLIENT_ID) {
        let client = super::registered_client(client_id)?;
        if client.kind == ClientKind::Public {
            return Err(EntraError::new(
                "invalid_client",
                700_025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be \
                 presented.",
            )
            .with_status(StatusCode::UNAUTHORIZED));
        }
    }
    let assertion = match (
        request.client_assertion_type.as_deref(),
        request.client_assertion.as_deref(),
    ) {
        (Some(CLIENT_ASSERTION_TYPE), Some(assertion)) => assertion,
        _ => {
            return Err(EntraError::new(
                "invalid_client",
                7_000_218,
                "The request body must contain the following parameter: 'client_assertion' or \
                 'client_secret'.",
            )
            .with_status(StatusCode::UNAUTHORIZED));
        }
    };
    let claims = unverified_claims(assertion).ok_or_else(malformed)?;
    let (iss, sub, aud) = (
        text(&claims, "iss"),
        text(&claims, "sub"),
        text(&claims, "aud"),
    );
    let own_issuer = issuer.issuer_url();
    let trusted = client_id.eq_ignore_ascii_case(SERVER_CLIENT_ID)
        && SERVER_FEDERATED_CREDENTIALS.iter().any(|credential| {
            credential.issuer.unwrap_or(&own_issuer) == iss
                && credential.subject == sub
                && credential.audience == aud
        });
    if !trusted {
        return Err(EntraError::new(
            "invalid_request",
            70_021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion \
                 Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'. \
                 https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
            ),
        ));
    }
    let claims = issuer
        .verify(assertion)
        .map_err(|rejection| match rejection {
            Rejection::Malformed => malformed(),
            Rejection::UnknownKey(kid) | Rejection::BadSignature(kid) => EntraError::new(
                "invalid_client",
                700_027,
                format!(
                    "Client assertion contains an invalid signature. [Reason - The key was not \
                 found., Thumbprint of key used by client: '{kid}']"
                ),
            )
            .with_status(StatusCode::UNAUTHORIZED),
        })?;
    let now = now_seconds();
    match lifetime(&claims, now) {
        Lifetime::Valid => Ok(()),
        Lifetime::NotYetValid { nbf: from } | Lifetime::Expired { exp: from } => {
            let exp = claims["exp"].as_i64().unwrap_or(from);
            let nbf = claims["nbf"].as_i64().unwrap_or(0);
            Err(EntraError::new(
                "invalid_client",
                700_024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, \
                     assertion valid from {}, expiry time of assertion {}. Review the \
                     documentation at \
                     https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
                    iso8601(now),
                    iso8601(nbf),
                    iso8601(exp)
                ),
            )
            .with_status(StatusCode::UNAUTHORIZED))
        }
    }
}

/// Step 2: the caller's token, issued to this app for a user; returns the user.
fn assertion_user(issuer: &Issuer, assertion: &str) -> Result<&'static User, EntraError> {
    let claims = issuer
        .verify(assertion)
        .map_err(|rejection| match rejection {
            Rejection::Malformed => malformed(),
            Rejection::UnknownKey(kid) | Rejection::BadSignature(kid) => invalid_grant(
                50_013,
                format!(
                    "Assertion contains an invalid signature. [Reason - The key was not found., \
                 Thumbprint of key used by client: '{kid}']"
                ),
            ),
        })?;
    let now = now_seconds();
    if let Lifetime::NotYetValid { .. } | Lifetime::Expired { .. } = lifetime(&claims, now) {
        return Err(invalid_grant(
            500_133,
            format!(
                "Assertion is not within its valid time range. Ensure that the access token is \
                 not expired before using it for user assertion, or request a new token. \
                 Current time: {}, expiry time of assertion {}.",
                iso8601(now),
                iso8601(claims["exp"].as_i64().unwrap_or(0))
            ),
        ));
    }
    let expected_issuer = issuer.issuer_url();
    if text(&claims, "iss") != expected_issuer || text(&claims, "tid") != TENANT_ID {
        return Err(invalid_grant(
            50_013,
            format!(
                "Assertion issuer '{}' is not the expected issuer '{expected_issuer}'.",
                text(&claims, "iss")
            ),
        ));
    }
    let aud = text(&claims, "aud");
    let for_this_app = aud.eq_ignore_ascii_case(SERVER_CLIENT_ID)
        || issuer
            .server_api()
            .identifier_uris()
            .iter()
            .any(|uri| uri == aud);
    if !for_this_app {
        return Err(invalid_grant(
            50_013,
            format!(
                "Assertion audience does not match the Client app presenting the assertion. The \
                 audience in the assertion was '{aud}' and the expected audience is \
                 '{SERVER_CLIENT_ID}' or one of the Application Uris of this application with \
                 App ID '{SERVER_CLIENT_ID}'({SERVER_DISPLAY_NAME})."
            ),
        ));
    }
    if claims["idtyp"] == "app" {
        return Err(invalid_grant(
            7_000_114,
            format!(
                "Application '{}' is not allowed to make application on-behalf-of calls.",
                text(&claims, "azp")
            ),
        ));
    }
    tenant::user(text(&claims, "oid")).ok_or_else(|| {
        invalid_grant(
            50_034,
            format!(
                "The user account {} does not exist in the {TENANT_ID} directory. To sign into \
                 this application, the account must be added to the directory.",
                text(&claims, "oid")
            ),
        )
    })
}

fn consent_required() -> EntraError {
    invalid_grant(
        65_001,
        format!(
            "The user or administrator has not consented to use the application with ID \
             '{SERVER_CLIENT_ID}' named '{SERVER_DISPLAY_NAME}'. Send an interactive \
             authorization request for this user and resource."
        ),
    )
    .with_suberror("consent_required")
}

/// The claims challenge exactly as Entra words it for a Conditional Access failure in OBO.
pub fn mfa_claims_challenge() -> String {
    json!({
        "access_token": {
            "polids": { "essential": true, "values": [MFA_POLICY_ID] }
        }
    })
    .to_string()
}

fn mfa_required() -> EntraError {
    EntraError::new(
        "interaction_required",
        50_079,
        format!(
            "Due to a configuration change made by your administrator, or because you moved to \
             a new location, you must enroll in multi-factor authentication to access \
             '{GRAPH_APP_ID}'."
        ),
    )
    .with_claims(mfa_claims_challenge())
}

fn malformed() -> EntraError {
    EntraError::new(
        "invalid_request",
        50_027,
        "JWT token is invalid or malformed.",
    )
}

fn invalid_grant(code: u32, message: impl Into<String>) -> EntraError {
    EntraError::new("invalid_grant", code, message)
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, EntraError> {
    value.as_deref().ok_or_else(|| EntraError::missing(name))
}

fn text<'a>(claims: &'a Value, name: &str) -> &'a str {
    claims[name].as_str().unwrap_or_default()
}

/// The claims of a JWT without checking anything: Entra looks up the federated credential by
/// the assertion's own issuer, subject and audience before it knows whose keys to check.
fn unverified_claims(token: &str) -> Option<Value> {
    let mut segments = token.split('.');
    let (_, claims, _) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    claims.is_object().then_some(claims)
}

#[cfg(test)]
mod tests;
