//! The answers to a refused request, as RFC 6750 and the MCP authorization spec describe them.
//!
//! - 401 `WWW-Authenticate: Bearer resource_metadata="…", scope="…"`: the client has no token,
//!   or one this server cannot accept (`error="invalid_token"` only when a token was sent). The
//!   `resource_metadata` URL is how MCP clients discover where to get a token (RFC 9728).
//! - 403 `Bearer error="insufficient_scope", scope="…"`: the token is fine but does not grant
//!   what this request needs; `scope` lists every scope the request needs, so a client can
//!   step up with exactly that.
//! - 403 without a challenge ([`Challenges::forbidden`]): what is missing is something no
//!   scope can grant (an app role an administrator must assign, or a user behind an app-only
//!   token). A scope challenge would only send the client into a sign-in that cannot help.
//! - 401 `Bearer error="insufficient_claims", claims="…"`: Conditional Access wants the user to
//!   sign in again (say, with MFA) before Graph may be called for them; `claims` is the
//!   base64-encoded claims request the client passes to Entra on that sign-in.
//! - 503 with `Retry-After`: the tenant's signing keys could not be fetched. An outage of the
//!   issuer is not the caller's fault, so it is not a 401.
//!
//! Bodies are small JSON objects in the OAuth error shape. Descriptions say what the caller can
//! do about it and nothing about how validation works inside.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;

use super::{
    keys::EMPTY_RETRY,
    token::{Insufficient, Invalid, Refusal},
};
use crate::config::Config;

pub struct Challenges {
    resource_metadata: String,
    app_id_uri: String,
    base_scope: String,
}

impl Challenges {
    pub fn new(config: &Config) -> Self {
        Self {
            resource_metadata: super::metadata::document_url(&config.public_url),
            app_id_uri: config.auth.app_id_uri.clone(),
            base_scope: config.auth.full_scope(&config.auth.required_scope),
        }
    }

    /// The scope every request needs, in the form clients request it.
    pub fn base_scope(&self) -> &str {
        &self.base_scope
    }

    /// A scope of this API in the form clients request it.
    pub fn scope(&self, name: &str) -> String {
        format!("{}/{name}", self.app_id_uri)
    }

    pub fn refusal(&self, refusal: Refusal) -> Response {
        match refusal {
            Refusal::NoToken => self.unauthorized(
                None,
                "unauthorized",
                "This MCP server needs an Entra ID access token. WWW-Authenticate names the \
                 metadata that says where to get one.",
            ),
            Refusal::AmbiguousCredentials => respond(
                StatusCode::BAD_REQUEST,
                Some("Bearer error=\"invalid_request\"".to_owned()),
                "invalid_request",
                "Send exactly one Authorization header.",
            ),
            Refusal::Invalid(invalid) => {
                let description = match invalid {
                    Invalid::Expired => "The access token has expired. Get a new one.",
                    Invalid::NotYetValid | Invalid::IssuedInTheFuture => {
                        "The access token is not valid yet."
                    }
                    Invalid::MissingClaim => "The access token lacks claims this server requires.",
                    Invalid::WrongIssuer | Invalid::WrongTenant => {
                        "The access token was not issued by this server's tenant."
                    }
                    Invalid::WrongAudience => {
                        "The access token was not issued for this server. Request a token for \
                         the scope in WWW-Authenticate."
                    }
                    Invalid::ClientNotAllowed => {
                        "The client application is not allowed to call this server."
                    }
                    Invalid::TooLarge
                    | Invalid::Malformed
                    | Invalid::UnsupportedAlgorithm
                    | Invalid::ForbiddenHeader
                    | Invalid::CriticalHeader
                    | Invalid::MissingKeyId
                    | Invalid::UnknownKey
                    | Invalid::BadSignature => {
                        "The access token is not a valid token from this server's tenant."
                    }
                };
                self.unauthorized(Some("invalid_token"), "invalid_token", description)
            }
            Refusal::Insufficient(Insufficient::MissingScope) => self.insufficient_scope(
                std::slice::from_ref(&self.base_scope),
                "The access token lacks the scope this server requires.",
            ),
            Refusal::Insufficient(Insufficient::AppOnlyNotAllowed) => self.insufficient_scope(
                std::slice::from_ref(&self.base_scope),
                "Tokens without a signed-in user need an app role this server admits.",
            ),
            Refusal::KeysUnavailable => {
                let mut response = respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "temporarily_unavailable",
                    "Access tokens cannot be validated right now. Retry shortly.",
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(EMPTY_RETRY.as_secs()),
                );
                response
            }
        }
    }

    /// 401 carrying a Conditional Access claims challenge.
    pub fn claims(&self, claims: &str) -> Response {
        let description = "Conditional Access requires you to sign in again. Request a new token \
                           with the claims in WWW-Authenticate.";
        let challenge = format!(
            "Bearer resource_metadata=\"{}\", scope=\"{}\", error=\"insufficient_claims\", \
             claims=\"{}\", error_description=\"{description}\"",
            self.resource_metadata,
            self.base_scope,
            STANDARD.encode(claims)
        );
        respond(
            StatusCode::UNAUTHORIZED,
            Some(challenge),
            "insufficient_claims",
            description,
        )
    }

    /// 403 naming every scope the request needs.
    pub fn insufficient_scope(&self, scopes: &[String], description: &'static str) -> Response {
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\", \
             error_description=\"{description}\"",
            scopes.join(" "),
            self.resource_metadata
        );
        respond(
            StatusCode::FORBIDDEN,
            Some(challenge),
            "insufficient_scope",
            description,
        )
    }

    /// 403 for what no scope can grant: no `WWW-Authenticate`, so no client steps up in vain;
    /// `description` says who can fix it.
    pub fn forbidden(&self, error: &str, description: &str) -> Response {
        respond(StatusCode::FORBIDDEN, None, error, description)
    }

    fn unauthorized(&self, error: Option<&str>, body_error: &str, description: &str) -> Response {
        let mut challenge = format!(
            "Bearer resource_metadata=\"{}\", scope=\"{}\"",
            self.resource_metadata, self.base_scope
        );
        if let Some(error) = error {
            challenge.push_str(&format!(
                ", error=\"{error}\", error_description=\"{description}\""
            ));
        }
        respond(
            StatusCode::UNAUTHORIZED,
            Some(challenge),
            body_error,
            description,
        )
    }
}

fn respond(
    status: StatusCode,
    challenge: Option<String>,
    error: &str,
    description: &str,
) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(challenge) = challenge.and_then(|value| HeaderValue::from_str(&value).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}
