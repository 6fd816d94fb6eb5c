//! `POST /devstack/token`: a token for anyone in the sample directory, without a sign-in.
//!
//! Entra has nothing like it; it exists so `handler dev-token` can print a working token for a
//! newcomer's first `curl`. The tokens are exactly those the issuer would sign after a real
//! sign-in or client credentials grant, so the handler cannot tell them apart.
//!
//! ```json
//! { "user": "adele", "app": null, "scopes": ["user_impersonation"], "roles": [] }
//! ```
//!
//! - `user` alone: a delegated token from the dev client.
//! - `user` and `app`: a delegated token from that client (any registered client id or key).
//! - `app` alone: an app-only token for that client.
//!
//! `scopes` defaults to `user_impersonation` for delegated tokens; app-only tokens carry none.
//! `roles` defaults to the app roles the user is assigned or the app is granted.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;
use serde_json::json;

use super::{
    issuer::Issuer,
    tenant::{self, DEV_CLIENT_ID, USER_IMPERSONATION},
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    user: Option<String>,
    app: Option<String>,
    scopes: Option<Vec<String>>,
    roles: Option<Vec<String>>,
}

pub fn routes(issuer: Arc<Issuer>) -> Router {
    Router::new()
        .route("/devstack/token", post(mint))
        .with_state(issuer)
}

async fn mint(State(issuer): State<Arc<Issuer>>, Json(request): Json<MintRequest>) -> Response {
    match claims_for(&issuer, &request) {
        Ok(claims) => Json(json!({
            "access_token": issuer.sign_current(&claims),
            "expires_in": super::issuer::expires_in(&claims),
        }))
        .into_response(),
        Err(message) => {
            (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
        }
    }
}

fn claims_for(issuer: &Issuer, request: &MintRequest) -> Result<serde_json::Value, String> {
    let app = match request.app.as_deref() {
        Some(reference) => Some(tenant::client(reference).ok_or_else(|| {
            format!(
                "No app `{reference}` is registered in the devstack tenant; use a key or \
                 client id from devstack::tenant::CLIENTS (dev, vscode, other, daemon)."
            )
        })?),
        None => None,
    };
    let scopes = as_strs(&request.scopes);
    let roles = as_strs(&request.roles);

    match (request.user.as_deref(), app) {
        (Some(reference), app) => {
            let user = tenant::user(reference).ok_or_else(|| {
                format!(
                    "No user `{reference}` in the devstack tenant; use a key, object id or \
                     user principal name from devstack::tenant::USERS (adele, alex, megan, …)."
                )
            })?;
            let client = app.unwrap_or_else(|| {
                tenant::client(DEV_CLIENT_ID).expect("the dev client is registered")
            });
            Ok(issuer.delegated_claims(
                user,
                client,
                &scopes.unwrap_or_else(|| vec![USER_IMPERSONATION]),
                &roles.unwrap_or_else(|| user.app_roles.to_vec()),
            ))
        }
        (None, Some(app)) => {
            if scopes.is_some_and(|scopes| !scopes.is_empty()) {
                return Err(
                    "App-only tokens carry roles, not scopes: drop `scopes` or name a `user`."
                        .to_owned(),
                );
            }
            Ok(issuer.app_claims(app, &roles.unwrap_or_else(|| app.app_roles.to_vec())))
        }
        (None, None) => {
            Err("Name a `user` for a delegated token or an `app` for an app-only token.".to_owned())
        }
    }
}

fn as_strs(values: &Option<Vec<String>>) -> Option<Vec<&str>> {
    values
        .as_ref()
        .map(|values| values.iter().map(String::as_str).collect())
}
