//! `GET /msi/token`: the managed identity endpoint of App Service and Azure Functions.
//!
//! On App Service the platform runs a local token service and tells the app where through two
//! environment variables: `IDENTITY_ENDPOINT` (its URL) and `IDENTITY_HEADER` (a secret the
//! platform rotates, proving the request comes from inside the app). A client asks for one
//! resource at a time and names the user-assigned identity it wants:
//!
//! ```text
//! GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://vault.azure.net&client_id=<id>
//! X-IDENTITY-HEADER: {IDENTITY_HEADER}
//! ```
//!
//! and gets the token with its expiry as Unix seconds *in a string*, which is what
//! `azure_identity`'s App Service credential parses (it rejects a number):
//!
//! ```json
//! { "access_token": "eyJ…", "expires_on": "1735689600", "resource": "https://vault.azure.net",
//!   "token_type": "Bearer", "client_id": "<id>" }
//! ```
//!
//! Failures are the token service's own JSON, `{"statusCode", "message", "correlationId"}`:
//! 400 for a request it cannot serve (no or unknown identity, missing resource), 401 for a
//! wrong secret, 500 when Entra cannot be reached. The function app has no system-assigned
//! identity, so a request that names none fails like one naming a stranger.
//!
//! The tokens are the devstack issuer's, signed with its current key: what Key Vault and the
//! token endpoint's federated credential check accept.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use super::{
    issuer::Issuer,
    tenant::{
        KEY_VAULT_RESOURCE, MANAGED_IDENTITY_CLIENT_ID, MANAGED_IDENTITY_PRINCIPAL_ID,
        MANAGED_IDENTITY_RESOURCE_ID, STORAGE_RESOURCE, TENANT_ID, TOKEN_EXCHANGE_AUDIENCE,
    },
};

pub const PATH: &str = "/msi/token";
const API_VERSION: &str = "2019-08-01";
const SECRET_HEADER: &str = "x-identity-header";
/// The resources the devstack has tokens for: federated credential exchange, Key Vault, and
/// Blob Storage (broker mode's state, served in the tests by Azurite).
const RESOURCES: [&str; 3] = [
    TOKEN_EXCHANGE_AUDIENCE,
    KEY_VAULT_RESOURCE,
    STORAGE_RESOURCE,
];

#[derive(Debug)]
pub struct ManagedIdentity {
    issuer: Arc<Issuer>,
    /// The `IDENTITY_HEADER` value requests must present.
    secret: String,
    available: AtomicBool,
}

impl ManagedIdentity {
    pub fn new(issuer: Arc<Issuer>, secret: String) -> Self {
        Self {
            issuer,
            secret,
            available: AtomicBool::new(true),
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// `false` makes the endpoint fail as when the platform cannot reach Entra (500).
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// A token exactly as the endpoint would answer for `resource`.
    pub fn token(&self, resource: &str) -> String {
        self.issuer
            .sign_current(&self.issuer.managed_identity_claims(resource))
    }
}

pub fn routes(identity: Arc<ManagedIdentity>) -> Router {
    Router::new().route(PATH, get(token)).with_state(identity)
}

async fn token(
    State(identity): State<Arc<ManagedIdentity>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match issue(&identity, &headers, &query) {
        Ok(response) => response,
        Err((status, message)) => (
            status,
            Json(json!({
                "statusCode": status.as_u16(),
                "message": message,
                "correlationId": uuid::Uuid::new_v4().to_string(),
            })),
        )
            .into_response(),
    }
}

fn issue(
    identity: &ManagedIdentity,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, (StatusCode, String)> {
    if !identity.available.load(Ordering::SeqCst) {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error occured while fetching the AAD Token. Please contact support \
             with this provided Correlation Id"
                .to_owned(),
        ));
    }
    match headers.get(SECRET_HEADER).map(|value| value.as_bytes()) {
        None => {
            return Err((
                StatusCode::BAD_REQUEST,
                "The X-IDENTITY-HEADER header is missing.".to_owned(),
            ));
        }
        Some(secret) if secret != identity.secret.as_bytes() => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "The X-IDENTITY-HEADER header does not match.".to_owned(),
            ));
        }
        Some(_) => {}
    }
    if query.get("api-version").map(String::as_str) != Some(API_VERSION) {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("The api-version query parameter must be {API_VERSION}."),
        ));
    }
    let resource = query
        .get("resource")
        .map(|resource| resource.trim_end_matches('/'))
        .filter(|resource| !resource.is_empty())
        .ok_or((
            StatusCode::BAD_REQUEST,
            "The resource query parameter is required.".to_owned(),
        ))?;
    let named = |name: &str, id: &str| {
        query
            .get(name)
            .is_some_and(|value| value.eq_ignore_ascii_case(id))
    };
    let this_identity = named("client_id", MANAGED_IDENTITY_CLIENT_ID)
        || named("principal_id", MANAGED_IDENTITY_PRINCIPAL_ID)
        || named("object_id", MANAGED_IDENTITY_PRINCIPAL_ID)
        || named("mi_res_id", MANAGED_IDENTITY_RESOURCE_ID);
    if !this_identity {
        return Err((
            StatusCode::BAD_REQUEST,
            "No User Assigned or Delegated Managed Identity found for specified \
             ClientId/ResourceId/PrincipalId."
                .to_owned(),
        ));
    }
    if !RESOURCES.contains(&resource) {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "AADSTS500011: The resource principal named {resource} was not found in the \
                 tenant named {TENANT_ID}. This can happen if the application has not been \
                 installed by the administrator of the tenant or consented to by any user in the \
                 tenant. You might have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    let claims = identity.issuer.managed_identity_claims(resource);
    Ok(Json(json!({
        "access_token": identity.issuer.sign_current(&claims),
        "expires_on": claims["exp"].to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": MANAGED_IDENTITY_CLIENT_ID,
    }))
    .into_response())
}

#[cfg(test)]
mod tests;
