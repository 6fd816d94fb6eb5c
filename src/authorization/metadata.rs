//! Authorization server metadata (RFC 8414), at every well-known path MCP clients try for an
//! issuer: `/.well-known/oauth-authorization-server{issuer path}` first (the MCP spec's and
//! both SDKs' first choice), then the OpenID Connect paths with path insertion and with path
//! appending (RFC 8414 §5), which the SDKs try next. With the issuer at the host's root, the
//! three are `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
//!
//! What it says: authorization code with PKCE `S256` only, public clients only
//! (`token_endpoint_auth_methods_supported: ["none"]`), refresh tokens, Client ID Metadata
//! Documents and Dynamic Client Registration, RFC 7009 revocation, RFC 9207 `iss` in
//! authorization responses.

use axum::{Json, Router, http::header, response::IntoResponse, routing::get};
use serde_json::json;

use crate::config::BrokerConfig;

pub fn document(broker: &BrokerConfig, scopes: &[String]) -> serde_json::Value {
    json!({
        "issuer": broker.issuer,
        "authorization_endpoint": broker.endpoint("/authorize"),
        "token_endpoint": broker.endpoint("/token"),
        "registration_endpoint": broker.endpoint("/register"),
        "revocation_endpoint": broker.endpoint("/revoke"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization",
    })
}

/// The metadata routes (on the handler's paths, where the issuer's path is the root).
pub fn routes(broker: &BrokerConfig, scopes: &[String]) -> Router {
    let document = document(broker, scopes);
    let serve = move || {
        let document = document.clone();
        async move {
            (
                [(header::CACHE_CONTROL, "public, max-age=3600")],
                Json(document),
            )
                .into_response()
        }
    };
    let issuer_path = broker.issuer_path();
    let mut paths = vec![
        "/.well-known/oauth-authorization-server".to_owned(),
        "/.well-known/openid-configuration".to_owned(),
    ];
    if !issuer_path.is_empty() {
        paths.push(format!(
            "/.well-known/oauth-authorization-server{issuer_path}"
        ));
        paths.push(format!("/.well-known/openid-configuration{issuer_path}"));
        paths.push(format!("{issuer_path}/.well-known/openid-configuration"));
    }
    paths.into_iter().fold(Router::new(), |router, path| {
        router.route(&path, get(serve.clone()))
    })
}
