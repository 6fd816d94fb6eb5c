//! An Entra ID v2 authority for the sample tenant: OpenID discovery, the signing keys, the
//! authorization endpoint and the token endpoint, at the paths Entra uses under
//! `{authority host}/{tenant}`.
//!
//! A client or validator finds everything from the issuer URL `{base}/{tenant}/v2.0`: OpenID
//! Connect discovery appends `/.well-known/openid-configuration`, and the document names the
//! other endpoints. Pointing the handler's `MCP_AUTHORITY_HOST` at the devstack therefore
//! swaps the whole of Entra with no other change.
//!
//! The discovery document is Entra's, field for field, without the endpoints the devstack does
//! not serve (userinfo, logout, Kerberos). In particular it has no
//! `code_challenge_methods_supported` and no `grant_types_supported`, because Entra's has
//! neither: a client that insists on them fails against Entra, and must fail here too. Entra
//! serves no RFC 8414 `/.well-known/oauth-authorization-server` document either; the MCP SDKs
//! probe for it, get a 404, and fall back to OpenID discovery.
//!
//! Beyond signing users in, the authority decides what a middle tier may do for them: the
//! token endpoint's on-behalf-of grant ([`obo`]) consults the tenant's consent grants and
//! Conditional Access ([`policy`]) and issues opaque Graph tokens. A public client that calls
//! Graph itself (`handler stdio`) signs its user in with the device code flow
//! ([`device_code`]) or a browser, and gets Graph tokens and refresh tokens directly
//! ([`sign_in`]).

mod authorize;
mod claims;
mod codes;
mod device_code;
mod error;
mod graph_scope;
mod obo;
pub mod pkce;
mod policy;
mod refresh;
mod rollover;
mod scope;
mod sign_in;
mod token;
mod verify;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

pub use self::{
    claims::expires_in,
    device_code::DeviceAnswer,
    policy::Policy,
    verify::{Lifetime, lifetime},
};
use self::{
    codes::CodeStore, device_code::DeviceCodes, error::EntraError, refresh::RefreshTokens,
    rollover::KeyRing, scope::ServerApi,
};
use crate::{
    graph_token::GraphTokens,
    keys::{SigningKey, base64url},
    tenant::{ClientApp, TENANT_DOMAIN, TENANT_ID, User},
};

/// The authority's state: its keys, its outstanding codes, the tenant's consent and
/// Conditional Access state, the Graph tokens it issued, and the switches tests flip.
#[derive(Debug)]
pub struct Issuer {
    /// The authority host, `http://127.0.0.1:<port>`.
    base_url: String,
    /// Graph's base URL, when it is not `base_url`: also accepted as Graph's identifier in a
    /// scope.
    graph_base_url: std::sync::OnceLock<String>,
    identifier_uri: String,
    keys: KeyRing,
    codes: CodeStore,
    device_codes: DeviceCodes,
    refresh_tokens: RefreshTokens,
    /// The server app's registered web redirect URIs (broker mode's callback).
    server_redirect_uris: Vec<String>,
    policy: Policy,
    graph_tokens: Arc<GraphTokens>,
    available: AtomicBool,
    token_endpoint_available: AtomicBool,
    jwks_fetches: AtomicUsize,
    obo_exchanges: AtomicUsize,
}

impl Issuer {
    #[cfg(test)]
    pub fn new(base_url: String, identifier_uri: String) -> Self {
        Self::with_server_redirect_uris(base_url, identifier_uri, Vec::new())
    }

    /// An authority whose server app registers `server_redirect_uris` as web redirect URIs.
    pub fn with_server_redirect_uris(
        base_url: String,
        identifier_uri: String,
        server_redirect_uris: Vec<String>,
    ) -> Self {
        Self {
            base_url,
            graph_base_url: std::sync::OnceLock::new(),
            identifier_uri,
            keys: KeyRing::new(),
            codes: CodeStore::default(),
            device_codes: DeviceCodes::default(),
            refresh_tokens: RefreshTokens::default(),
            server_redirect_uris,
            policy: Policy::default(),
            graph_tokens: Arc::default(),
            available: AtomicBool::new(true),
            token_endpoint_available: AtomicBool::new(true),
            jwks_fetches: AtomicUsize::new(0),
            obo_exchanges: AtomicUsize::new(0),
        }
    }

    /// Where Graph is reached, if not at the authority host: the scope prefix the on-behalf-of
    /// grant accepts for Graph besides its real identifier. Set once, at start.
    pub fn set_graph_base_url(&self, url: String) {
        let _ = self.graph_base_url.set(url);
    }

    /// Graph's base URL as the on-behalf-of grant accepts it in scopes.
    fn graph_base_url(&self) -> &str {
        self.graph_base_url.get().unwrap_or(&self.base_url)
    }

    /// Revokes every refresh token of `user`, as an administrator's "revoke sessions" does.
    pub fn revoke_sessions(&self, user: &User) {
        self.refresh_tokens.revoke_user(user);
    }

    /// Lets every refresh token of `user` expire.
    pub fn expire_refresh_tokens(&self, user: &User) {
        self.refresh_tokens.expire_user(user);
    }

    /// How many refresh tokens the authority has issued.
    pub fn refresh_tokens_issued(&self) -> usize {
        self.refresh_tokens.count()
    }

    /// The refresh tokens issued to `client` for `user`, oldest first.
    pub fn refresh_tokens_of(&self, client: &ClientApp, user: &User) -> Vec<String> {
        self.refresh_tokens.issued_to(client.client_id, user)
    }

    /// The device sign-ins: their scripts, their answers, decisions by user code.
    pub fn device_codes(&self) -> &DeviceCodes {
        &self.device_codes
    }

    /// The consent grants and Conditional Access state the on-behalf-of grant consults.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The Graph tokens the on-behalf-of grant issued, shared with the Graph stand-in.
    pub fn graph_tokens(&self) -> &Arc<GraphTokens> {
        &self.graph_tokens
    }

    /// `iss` of every token: `{base}/{tenant}/v2.0`.
    pub fn issuer_url(&self) -> String {
        self.endpoint("v2.0")
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/{TENANT_ID}/{path}", self.base_url)
    }

    pub fn identifier_uri(&self) -> &str {
        &self.identifier_uri
    }

    fn server_api(&self) -> ServerApi {
        ServerApi {
            identifier_uri: self.identifier_uri.clone(),
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The header Entra puts on tokens signed with the current key.
    pub fn token_header(&self) -> Value {
        header_for(&self.keys.current())
    }

    /// Signs `header` and `claims`, as given, with the current key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.keys.current().sign_rs256(header, claims)
    }

    /// A token as Entra would issue it: the current key's header and signature over `claims`.
    pub fn sign_current(&self, claims: &Value) -> String {
        let key = self.keys.current();
        key.sign_rs256(&header_for(&key), claims)
    }

    pub fn delegated_claims(
        &self,
        user: &User,
        client: &ClientApp,
        scopes: &[&str],
        roles: &[&str],
    ) -> Value {
        claims::delegated(&self.issuer_url(), user, client, scopes, roles)
    }

    pub fn app_claims(&self, client: &ClientApp, roles: &[&str]) -> Value {
        claims::app_only(&self.issuer_url(), client, roles)
    }

    /// Claims of the handler's managed identity's token for `resource`.
    pub fn managed_identity_claims(&self, resource: &str) -> Value {
        claims::managed_identity(&self.issuer_url(), resource)
    }

    /// Whether discovery and the JWKS answer (false simulates an Entra outage: 503).
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// How many requests reached the JWKS endpoint, answered or not.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Whether the token endpoint answers (false simulates an Entra outage there: 503).
    pub fn set_token_endpoint_available(&self, available: bool) {
        self.token_endpoint_available
            .store(available, Ordering::SeqCst);
    }

    /// How many on-behalf-of requests reached the token endpoint, answered or not.
    pub fn obo_exchanges(&self) -> usize {
        self.obo_exchanges.load(Ordering::SeqCst)
    }

    fn is_available(&self) -> bool {
        self.available.load(Ordering::SeqCst)
    }

    fn discovery_document(&self) -> Value {
        json!({
            "token_endpoint": self.endpoint("oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported":
                ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": self.endpoint("discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.issuer_url(),
            "request_uri_parameter_supported": false,
            "authorization_endpoint": self.endpoint("oauth2/v2.0/authorize"),
            "claims_supported": [
                "sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time",
                "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
                "c_hash", "email"
            ],
            "tenant_region_scope": "WW",
        })
    }

    fn jwks(&self) -> Value {
        let issuer = self.issuer_url();
        let keys: Vec<Value> = self
            .keys
            .published()
            .iter()
            .map(|key| {
                let mut jwk = key.public_jwk();
                // Tenant-specific keys name their issuer, so a multi-tenant validator can tell
                // whose key it holds.
                jwk["issuer"] = json!(issuer);
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }
}

/// The authority's routes a browser or validator uses: discovery, keys, sign-in (with the
/// device code endpoint and its verification page).
pub fn routes(issuer: Arc<Issuer>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device_code::device_code),
        )
        .route(
            device_code::VERIFICATION_PATH,
            get(device_code::page).post(device_code::verify),
        )
        .with_state(issuer)
}

/// The token endpoint, apart from the other routes so the recorder can tell what reached it.
pub fn token_routes(issuer: Arc<Issuer>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .with_state(issuer)
}

async fn openid_configuration(
    State(issuer): State<Arc<Issuer>>,
    Path(tenant): Path<String>,
) -> Response {
    if !issuer.is_available() {
        return outage();
    }
    match known_tenant(&tenant) {
        Ok(()) => Json(issuer.discovery_document()).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn jwks(State(issuer): State<Arc<Issuer>>, Path(tenant): Path<String>) -> Response {
    issuer.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if !issuer.is_available() {
        return outage();
    }
    match known_tenant(&tenant) {
        Ok(()) => Json(issuer.jwks()).into_response(),
        Err(error) => error.into_response(),
    }
}

fn outage() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The devstack issuer is unavailable (a simulated outage).",
    )
        .into_response()
}

/// The header of a token signed with `key`: Entra names the key twice, as `kid` and `x5t`.
fn header_for(key: &SigningKey) -> Value {
    json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid(), "x5t": key.kid() })
}

/// Entra accepts a tenant by id or by verified domain.
fn known_tenant(tenant: &str) -> Result<(), EntraError> {
    if tenant.eq_ignore_ascii_case(TENANT_ID) || tenant.eq_ignore_ascii_case(TENANT_DOMAIN) {
        Ok(())
    } else {
        Err(EntraError::unknown_tenant(tenant))
    }
}

/// The client registered under `client_id` (a GUID, compared case-insensitively as Entra
/// does), or AADSTS700016.
fn registered_client(client_id: &str) -> Result<&'static ClientApp, EntraError> {
    crate::tenant::CLIENTS
        .iter()
        .find(|client| client.client_id.eq_ignore_ascii_case(client_id))
        .ok_or_else(|| {
            EntraError::new(
                "unauthorized_client",
                700_016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory \
                     '{TENANT_ID}'. This can happen if the application has not been installed \
                     by the administrator of the tenant or consented to by any user in the \
                     tenant."
                ),
            )
        })
}

/// `bytes` of system randomness, base64url-encoded: codes and Entra's opaque claim values.
fn random_urlsafe(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    aws_lc_rs::rand::fill(&mut buffer).expect("system randomness");
    base64url(buffer)
}

#[cfg(test)]
mod tests;
