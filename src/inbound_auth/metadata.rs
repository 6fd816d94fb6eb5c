//! OAuth 2.0 Protected Resource Metadata (RFC 9728): how an MCP client that got a 401 learns
//! which authorization server issues tokens for this server and which scope to ask for.
//!
//! The document is public (no token needed) and served at both places the MCP spec lets clients
//! look: the path-inserted URL `/.well-known/oauth-protected-resource/<mcp path>` (named in every
//! 401 challenge) and the root `/.well-known/oauth-protected-resource`.
//!
//! `resource` is the configured public URL exactly as clients use it, never derived from the
//! `Host` header: behind the Functions host and APIM the handler sees neither the public host
//! nor the public path. With Entra that URL must also be one of the app registration's
//! identifier URIs, or clients that send RFC 8707 `resource` get AADSTS9010010 (docs/DEPLOY.md).
//! In broker mode the authorization server named is this server itself (its issuer, see
//! `crate::authorization`), which accepts that `resource` on any host.

use axum::{Json, Router, http::header, response::IntoResponse, routing::get};
use serde_json::json;
use url::Url;

use crate::config::Config;

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The absolute URL of the metadata document for `public_url`, as challenges name it.
pub fn document_url(public_url: &Url) -> String {
    let origin = public_url.origin().ascii_serialization();
    let path = public_url.path().trim_end_matches('/');
    format!("{origin}{WELL_KNOWN}{path}")
}

/// The metadata routes: root, `/mcp` (where this handler serves MCP), and the public path.
pub fn routes(config: &Config) -> Router {
    let auth = &config.auth;
    let authorization_server = match config.authorization.broker() {
        Some(broker) => broker.issuer.clone(),
        None => auth.v2_issuer(),
    };
    let document = json!({
        "resource": config.public_url.as_str(),
        "authorization_servers": [authorization_server],
        "scopes_supported": [auth.full_scope(&auth.required_scope)],
        "bearer_methods_supported": ["header"],
        "resource_name": "Microsoft 365 MCP server",
    });
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
    let mut paths = vec![WELL_KNOWN.to_owned(), format!("{WELL_KNOWN}/mcp")];
    let public_path = config.public_url.path().trim_end_matches('/');
    if !public_path.is_empty() {
        paths.push(format!("{WELL_KNOWN}{public_path}"));
    }
    paths.sort();
    paths.dedup();
    paths.into_iter().fold(Router::new(), |router, path| {
        router.route(&path, get(serve.clone()))
    })
}
