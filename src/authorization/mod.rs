//! Broker mode (`MCP_AUTHORIZATION=broker`): a built-in OAuth 2.1 authorization server for MCP
//! clients that Entra ID cannot serve directly, that signs users in at Entra as a confidential
//! client with no secret.
//!
//! Entra has no Dynamic Client Registration and no Client ID Metadata Documents, and it refuses
//! RFC 8707 `resource` values that are not identifier URIs of the API (AADSTS9010010), which
//! without a verified custom domain is every MCP client that follows the spec. The broker
//! stands in front: clients register here or present a metadata document, send `resource`
//! here, and get tokens here; the broker signs the user in at Entra with this server's app
//! registration (credential: the managed identity's federated assertion) and asks the user's
//! consent for that client before any code goes out.
//!
//! | concern | module |
//! |---|---|
//! | RFC 8414 metadata at the well-known paths | [`metadata`] |
//! | who a `client_id` is: Client ID Metadata Documents, dynamic registrations | [`clients`], [`registration`] |
//! | fetching metadata documents without SSRF | [`fetch`] |
//! | redirect-URI shape, policy and matching | [`redirect`] |
//! | `/authorize`, Entra's callback, the consent page | [`authorize`] |
//! | consent records, and the user's list to revoke them | [`consents`], [`manage`] |
//! | `/token`, `/revoke` | [`token`] |
//! | refresh-token families: rotation, reuse detection | [`families`] |
//! | the Entra confidential-client leg | [`entra`] |
//! | sealing with the Key Vault key | [`seal`] |
//! | state: the store trait, Blob and in-process | [`store`] |
//! | pages, errors, headers; rate limits | [`pages`], [`rate_limit`] |
//!
//! The access token a client receives is Entra's access token for this API, so `/mcp` validates
//! one kind of token whatever the mode, and tools still get Graph tokens only through the
//! on-behalf-of exchange. The refresh token is the broker's own (see [`families`]). All state
//! that must be shared lives in the store (Blob in Azure, so any instance serves any step);
//! nothing the broker keeps or hands out reveals a token without the sealing key.
//!
//! Logs name outcomes, tenant and object ids and hashed client ids; never a token, a code, a
//! cookie, a client-chosen URL or a request body.

pub mod authorize;
pub mod clients;
pub mod consents;
pub mod entra;
pub mod families;
pub mod fetch;
pub mod manage;
pub mod metadata;
pub mod pages;
pub mod rate_limit;
pub mod redirect;
pub mod registration;
pub mod seal;
pub mod store;
pub mod token;

use std::{sync::Arc, time::SystemTime};

use async_trait::async_trait;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderMap, header},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use url::Url;

use crate::{
    config::{BrokerConfig, BrokerStoreConfig, Config, RedirectRule},
    identity::ManagedIdentity,
    inbound_auth::InboundAuth,
    outbound::OutboundHttp,
    secrets::KeyVaultSecrets,
};
use clients::Clients;
use entra::EntraClient;
use fetch::SafeFetcher;
use rate_limit::RateLimit;
use seal::{KeySource, Sealer, VaultKey};
use store::{StateStore, blob::BlobAccess, blob::BlobStore, memory::MemoryStore};

/// How the server names itself to users.
pub const RESOURCE_NAME: &str = "the Microsoft 365 MCP server";
/// Registrations per minute per instance (burst: half of it).
const REGISTRATIONS_PER_MINUTE: u32 = 30;
/// Token requests per minute per instance (burst: a fifth of it).
const TOKENS_PER_MINUTE: u32 = 600;
/// The largest body any broker endpoint reads.
const MAX_BODY: usize = 16 * 1024;

/// What the endpoints need to know about this deployment.
pub struct Settings {
    pub issuer: String,
    /// The protected resource (`MCP_PUBLIC_URL`): the only `resource` accepted.
    pub resource: Url,
    /// Where Entra sends the browser back: `{issuer}/callback`.
    pub callback: String,
    pub app_id_uri: String,
    /// The scope every token needs, in full (`{app id uri}/{scope}`).
    pub default_scope: String,
    required_scope: String,
    /// `Secure` cookies with the `__Host-` prefix (any https deployment).
    secure_cookies: bool,
    pub redirect_policy: Vec<RedirectRule>,
}

impl Settings {
    pub fn new(config: &Config, broker: &BrokerConfig) -> Self {
        Self {
            issuer: broker.issuer.clone(),
            resource: config.public_url.clone(),
            callback: broker.endpoint("/callback"),
            app_id_uri: config.auth.app_id_uri.clone(),
            default_scope: config.auth.full_scope(&config.auth.required_scope),
            required_scope: config.auth.required_scope.clone(),
            secure_cookies: config.public_url.scheme() == "https",
            redirect_policy: broker.redirect_policy.clone(),
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Whether `value` names this server's protected resource (scheme and host compared without
    /// case, as RFC 3986 allows; the path exactly).
    pub fn is_resource(&self, value: &str) -> bool {
        Url::parse(value).is_ok_and(|url| {
            url == self.resource
                || (url.as_str().trim_end_matches('/') == self.resource.as_str()
                    && self.resource.path() == "/")
        })
    }

    /// The scopes an authorization or refresh request asks for: this API's scopes in full
    /// (`{app id uri}/{name}`, or the required scope's short name); OpenID Connect scopes and
    /// `offline_access` are dropped (the broker always issues a refresh token); nothing else is
    /// accepted, Graph's scopes least of all. No scope means the required one.
    pub fn parse_scopes(&self, scope: Option<&str>) -> Result<Vec<String>, String> {
        let mut scopes = Vec::new();
        for requested in scope.unwrap_or_default().split_whitespace() {
            if matches!(requested, "openid" | "profile" | "email" | "offline_access") {
                continue;
            }
            let name = requested
                .strip_prefix(&self.app_id_uri)
                .and_then(|rest| rest.strip_prefix('/'))
                .or((requested == self.required_scope).then_some(requested));
            match name {
                Some(name)
                    if !name.is_empty()
                        && name.len() <= 64
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
                {
                    let full = format!("{}/{name}", self.app_id_uri);
                    if !scopes.contains(&full) {
                        scopes.push(full);
                    }
                }
                _ => {
                    return Err(format!(
                        "only this server's scopes may be requested ({}/…)",
                        self.app_id_uri
                    ));
                }
            }
        }
        if scopes.is_empty() {
            scopes.push(self.default_scope.clone());
        }
        Ok(scopes)
    }

    /// The `scope` sent to Entra: the API's scopes and a refresh token (and, at sign-in, an ID
    /// token's profile claims).
    pub fn entra_scope(&self, scopes: &[String], sign_in: bool) -> String {
        let mut scope = scopes.join(" ");
        scope.push_str(if sign_in {
            " offline_access openid profile"
        } else {
            " offline_access"
        });
        scope
    }

    fn cookie_name(&self, suffix: &str) -> String {
        if self.secure_cookies {
            format!("__Host-{}{suffix}", authorize_cookie_prefix())
        } else {
            format!("{}{suffix}", authorize_cookie_prefix())
        }
    }

    /// A `Set-Cookie` value for a flow cookie: HttpOnly, SameSite=Lax, path `/`, and `Secure`
    /// with the `__Host-` prefix on https.
    pub fn cookie(&self, suffix: &str, value: &str, max_age: u64) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.cookie_name(suffix)
        )
    }

    /// The value of the flow cookie `suffix` in `headers`.
    pub fn read_cookie(&self, headers: &HeaderMap, suffix: &str) -> Option<String> {
        let name = self.cookie_name(suffix);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(cookie, _)| *cookie == name)
            .map(|(_, value)| value.to_owned())
            .filter(|value| !value.is_empty())
    }
}

fn authorize_cookie_prefix() -> &'static str {
    "mcp-broker-"
}

/// Everything the broker's endpoints share.
pub struct Broker {
    pub settings: Settings,
    pub store: Arc<dyn StateStore>,
    pub sealer: Sealer,
    pub clients: Clients,
    pub entra: EntraClient,
    pub validator: Arc<InboundAuth>,
    pub register_limit: RateLimit,
    pub token_limit: RateLimit,
}

impl Broker {
    /// The broker for `config` (broker mode), its key from `secrets` (Key Vault).
    pub fn new(
        config: &Config,
        broker: &BrokerConfig,
        http: &OutboundHttp,
        identity: &ManagedIdentity,
        validator: Arc<InboundAuth>,
        secrets: Option<Arc<KeyVaultSecrets>>,
    ) -> Arc<Self> {
        let keys: Arc<dyn KeySource> = match secrets {
            Some(secrets) => Arc::new(VaultKey::new(secrets, broker.sealing_key_secret.clone())),
            // Configuration refuses broker mode without a vault; fail closed if it ever gets here.
            None => Arc::new(NoKey),
        };
        let sealer = Sealer::new(keys);
        let store: Arc<dyn StateStore> = match &broker.store {
            BrokerStoreConfig::InProcess => Arc::new(MemoryStore::default()),
            BrokerStoreConfig::Blob {
                endpoint,
                container,
            } => Arc::new(BlobStore::new(
                endpoint,
                container,
                Arc::new(StorageAccess {
                    identity: identity.clone(),
                    http: http.clone(),
                    loopback: crate::config::is_loopback_host(endpoint),
                }),
            )),
        };
        let settings = Settings::new(config, broker);
        Arc::new(Self {
            clients: Clients::new(
                SafeFetcher::new(http.test_network().map(|network| network.as_ref())),
                sealer.clone(),
            ),
            entra: EntraClient::new(
                http.clone(),
                identity.clone(),
                config.auth.authority_host.as_str(),
                &config.auth.tenant_id,
                config.auth.client_id.clone(),
            ),
            settings,
            store,
            sealer,
            validator,
            register_limit: RateLimit::new(REGISTRATIONS_PER_MINUTE, REGISTRATIONS_PER_MINUTE / 2),
            token_limit: RateLimit::new(TOKENS_PER_MINUTE, TOKENS_PER_MINUTE / 5),
        })
    }
}

/// The broker's routes: metadata, authorization, consent, token, registration, revocation.
pub fn routes(broker: Arc<Broker>, config: &BrokerConfig) -> Router {
    let scopes = vec![broker.settings.default_scope.clone()];
    Router::new()
        .route("/authorize", get(authorize::authorize))
        .route("/callback", get(authorize::callback))
        .route(
            "/consent",
            get(authorize::consent_page).post(authorize::decide),
        )
        .route("/consents", get(manage::list))
        .route("/consents/revoke", post(manage::revoke))
        .route("/token", post(token::token))
        .route("/register", post(registration::register))
        .route("/revoke", post(token::revoke))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(broker)
        .merge(metadata::routes(config, &scopes))
}

/// `bytes` random bytes, base64url.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer).expect("system randomness");
    URL_SAFE_NO_PAD.encode(buffer)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The store's credential and transport: the managed identity, on the shared HTTP client; in
/// the tests (a devstack build told about a test CA) a client that also trusts that CA, and only
/// for a loopback endpoint.
struct StorageAccess {
    identity: ManagedIdentity,
    http: OutboundHttp,
    loopback: bool,
}

#[async_trait]
impl BlobAccess for StorageAccess {
    async fn credential(
        &self,
    ) -> Result<Arc<dyn azure_core::credentials::TokenCredential>, String> {
        self.identity.credential().await.map_err(|error| error.0)
    }

    async fn transport(&self) -> azure_core::http::Transport {
        if let (Some(network), true) = (self.http.test_network(), self.loopback)
            && let Ok(ca) = reqwest::Certificate::from_pem(&network.ca_pem)
            && let Ok(client) = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .tls_certs_merge([ca])
                .build()
        {
            return crate::outbound::capped_transport(Arc::new(client));
        }
        self.http.azure_transport().await
    }
}

/// No key at all: everything sealed fails (closed).
struct NoKey;

#[async_trait]
impl KeySource for NoKey {
    async fn keys(&self) -> Result<seal::KeyMaterial, seal::SealError> {
        Err(seal::SealError::KeyUnavailable)
    }
    fn look_again(&self) {}
}
