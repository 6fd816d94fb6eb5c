//! `POST /register`: OAuth 2.0 Dynamic Client Registration (RFC 7591), for clients that do not
//! have a Client ID Metadata Document.
//!
//! What is accepted: a JSON object (at most [`MAX_BODY`] bytes) with `redirect_uris` (1 to
//! [`MAX_REDIRECT_URIS`], each of an acceptable shape *and* admitted by the operator's policy,
//! else `invalid_redirect_uri`), optionally `client_name`, `token_endpoint_auth_method` (`none`:
//! only public clients, else `invalid_client_metadata`), `grant_types` (`authorization_code`,
//! `refresh_token`), `response_types` (`code`). Other members are ignored. Nothing is stored:
//! the registration is sealed into the `client_id` (see [`super::clients`]). The endpoint is
//! rate-limited per instance (and per caller at APIM).

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    Broker,
    clients::{MAX_REDIRECT_URIS, Registration, clean_name},
    pages::{oauth_error, secure_headers, too_many_requests},
    redirect, unix_now,
};

pub const MAX_BODY: usize = 8 * 1024;
/// The sealed registration must stay small: it travels in every authorization request.
const MAX_SEALED_FIELDS: usize = 1200;

#[derive(Deserialize)]
struct Request {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
}

pub async fn register(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(retry_after) = broker.register_limit.take() {
        tracing::warn!("client registration rate limit reached");
        return too_many_requests(retry_after);
    }
    let json_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json_content {
        return invalid_metadata("send the registration as application/json");
    }
    if body.len() > MAX_BODY {
        return invalid_metadata(&format!("the registration is larger than {MAX_BODY} bytes"));
    }
    let request: Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return invalid_metadata("the registration is not a JSON object of the expected shape");
        }
    };
    let registration = match check(&broker, request) {
        Ok(registration) => registration,
        Err(Refused::RedirectUri(why)) => return invalid_redirect(&why),
        Err(Refused::Metadata(why)) => return invalid_metadata(&why),
    };
    let client_id = match broker.clients.seal_registration(&registration).await {
        Ok(client_id) => client_id,
        Err(_) => {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The server cannot register clients right now; try again shortly.",
            );
        }
    };
    tracing::info!(
        redirect_uris = registration.redirect_uris.len(),
        "client registered dynamically"
    );
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "client_id": client_id,
            "client_id_issued_at": registration.issued_at,
            "client_name": registration.name,
            "redirect_uris": registration.redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })),
    )
        .into_response();
    secure_headers(response.headers_mut());
    response
}

/// Why a registration is refused (RFC 7591 §3.2.2).
enum Refused {
    RedirectUri(String),
    Metadata(String),
}

fn check(broker: &Broker, request: Request) -> Result<Registration, Refused> {
    let redirect_uris = request
        .redirect_uris
        .filter(|uris| !uris.is_empty())
        .ok_or_else(|| redirect_err("redirect_uris is required and must not be empty"))?;
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(redirect_err(&format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris may be registered"
        )));
    }
    for uri in &redirect_uris {
        let url = redirect::check_shape(uri).map_err(Refused::RedirectUri)?;
        if !redirect::admitted(&broker.settings.redirect_policy, &url) {
            return Err(redirect_err(
                "a redirect URI is not allowed by this server's policy (loopback, and the \
                 callbacks of known clients the operator admits)",
            ));
        }
    }
    match request.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(_) => {
            return Err(metadata_err(
                "only public clients can register (token_endpoint_auth_method none, with PKCE)",
            ));
        }
    }
    if let Some(grants) = &request.grant_types {
        let known = grants
            .iter()
            .all(|grant| grant == "authorization_code" || grant == "refresh_token");
        if !known || !grants.iter().any(|grant| grant == "authorization_code") {
            return Err(metadata_err(
                "grant_types may be authorization_code and refresh_token only, and must include \
                 authorization_code",
            ));
        }
    }
    if let Some(types) = &request.response_types
        && types.iter().any(|kind| kind != "code")
    {
        return Err(metadata_err("response_types may only be code"));
    }
    let name = match request.client_name.as_deref() {
        None => "Unnamed client".to_owned(),
        Some(name) => {
            clean_name(name).ok_or_else(|| metadata_err("client_name must not be empty"))?
        }
    };
    let size: usize = name.len() + redirect_uris.iter().map(String::len).sum::<usize>();
    if size > MAX_SEALED_FIELDS {
        return Err(metadata_err(&format!(
            "the client_name and redirect_uris together are longer than {MAX_SEALED_FIELDS} \
             characters"
        )));
    }
    Ok(Registration {
        name,
        redirect_uris,
        issued_at: unix_now(),
    })
}

fn redirect_err(description: &str) -> Refused {
    Refused::RedirectUri(description.to_owned())
}

fn metadata_err(description: &str) -> Refused {
    Refused::Metadata(description.to_owned())
}

fn invalid_redirect(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", description)
}

fn invalid_metadata(description: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        description,
    )
}
