//! The devstack: local stand-ins for the cloud services the handler depends on, speaking the
//! services' real wire protocols, so the handler runs and is tested with no cloud at all.
//!
//! One implementation serves two purposes. `cargo run` starts it next to the server, so a
//! newcomer can get a token from a local sample tenant and call tools offline; the integration
//! tests link the library and drive a [`Devstack`] directly, minting tokens, forging them,
//! rotating keys and simulating outages. The handler reaches it only through settings real
//! deployments have anyway (the authority host, for sovereign clouds), so no production code
//! path knows it exists. The deployed build leaves it out (`--no-default-features`).
//!
//! Every stand-in shares one router on one loopback port, each under its own path namespace:
//!
//! | path | stand-in | module |
//! |---|---|---|
//! | `/{tenant}/…` | Entra ID authority: discovery, JWKS, authorize, token | `issuer` |
//! | `/devstack/token` | dev-only token minting (no Entra equivalent) | `mint` |
//!
//! Managed identity (`/msi/…`), Graph (`/v1.0/…`) and Key Vault (`/vault/…`) join the same
//! router. The stand-ins share the sample directory ([`tenant`]) and the request recorder
//! ([`record`]).
//!
//! The server runs on a dedicated thread with its own single-threaded tokio runtime, so a
//! [`Devstack`] works the same from a plain `#[test]`, a `#[tokio::test]` and the handler's
//! `main`. Dropping it stops the server and closes the port.

mod issuer;
pub mod keys;
pub mod local;
mod mint;
pub mod record;
pub mod tenant;

use std::{
    fmt,
    future::IntoFuture,
    io,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    thread::{self, JoinHandle},
};

use axum::Router;
use serde_json::Value;
use tokio::sync::oneshot;

use self::{
    issuer::Issuer,
    record::{Recorder, recorded, with_unrouted_fallback},
    tenant::{DEV_CLIENT_ID, SERVER_CLIENT_ID, TENANT_ID},
};
pub use self::{issuer::pkce, record::Recorded};

/// How to start a [`Devstack`]; more stand-ins add more options.
#[derive(Debug, Clone)]
pub struct DevstackOptions {
    /// A loopback address; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The server app's identifier URI: the prefix of its scopes and the only `resource` value
    /// the issuer accepts. `None` means `api://{server client id}`. Set it to the MCP URL the
    /// handler advertises as its resource to mirror a deployment on a custom domain.
    pub identifier_uri: Option<String>,
}

impl Default for DevstackOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            identifier_uri: None,
        }
    }
}

/// A running devstack. Dropping it shuts the server down.
pub struct Devstack {
    base_url: String,
    issuer: Arc<Issuer>,
    recorder: Arc<Recorder>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Devstack {
    /// Starts a devstack on `addr` with default options.
    pub fn start(addr: SocketAddr) -> io::Result<Self> {
        Self::start_with(DevstackOptions {
            addr,
            ..DevstackOptions::default()
        })
    }

    /// Starts a devstack. The port is bound before this returns, so requests may follow at
    /// once.
    ///
    /// Refuses non-loopback addresses: the devstack hands out tokens to anyone who asks.
    pub fn start_with(options: DevstackOptions) -> io::Result<Self> {
        if !options.addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the devstack mints tokens for anyone who asks, so it listens on loopback \
                     addresses only, not {}",
                    options.addr
                ),
            ));
        }
        let listener = std::net::TcpListener::bind(options.addr)?;
        listener.set_nonblocking(true)?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let identifier_uri = options
            .identifier_uri
            .unwrap_or_else(|| format!("api://{SERVER_CLIENT_ID}"));
        let issuer = Arc::new(Issuer::new(base_url.clone(), identifier_uri));
        let recorder = Arc::new(Recorder::default());
        let router = router(&issuer, &recorder);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = thread::Builder::new()
            .name("devstack".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        // Serving only ends on error; a test then fails on connection errors.
                        _ = axum::serve(listener, router).into_future() => {}
                        _ = stop => {}
                    }
                });
                // Dropping the runtime here cancels the connections still open.
            })?;

        Ok(Self {
            base_url,
            issuer,
            recorder,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:<port>`: the authority host, and the base of every stand-in.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn tenant_id(&self) -> &str {
        TENANT_ID
    }

    pub fn server_client_id(&self) -> &str {
        SERVER_CLIENT_ID
    }

    pub fn identifier_uri(&self) -> &str {
        self.issuer.identifier_uri()
    }

    /// `{base}/{tenant}/v2.0`: the `iss` of every token and the OpenID discovery base.
    pub fn issuer(&self) -> String {
        self.issuer.issuer_url()
    }

    /// The settings that point a handler at this devstack.
    pub fn handler_env(&self) -> Vec<(String, String)> {
        [
            ("MCP_TENANT_ID", self.tenant_id()),
            ("MCP_CLIENT_ID", self.server_client_id()),
            ("MCP_APP_ID_URI", self.identifier_uri()),
            ("MCP_AUTHORITY_HOST", self.base_url()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    /// The claims of a delegated token from the dev client for `user` (key, object id or UPN)
    /// with delegated `scopes` (short names; none leaves `scp` out) and the user's assigned
    /// app roles. Mutate them and [`Devstack::sign`] them to forge a token.
    ///
    /// # Panics
    ///
    /// If `user` is not in the sample directory.
    pub fn user_claims(&self, user: &str, scopes: &[&str]) -> Value {
        let user =
            tenant::user(user).unwrap_or_else(|| panic!("no user `{user}` in the devstack tenant"));
        let dev_client = tenant::client(DEV_CLIENT_ID).expect("the dev client is registered");
        self.issuer
            .delegated_claims(user, dev_client, scopes, user.app_roles)
    }

    /// A valid delegated token, exactly as a sign-in through the dev client would produce.
    ///
    /// # Panics
    ///
    /// If `user` is not in the sample directory.
    pub fn user_token(&self, user: &str, scopes: &[&str]) -> String {
        self.issuer.sign_current(&self.user_claims(user, scopes))
    }

    /// The claims of an app-only token for `client` (key or client id) holding `roles`.
    ///
    /// # Panics
    ///
    /// If `client` is not registered in the sample directory.
    pub fn app_claims(&self, client: &str, roles: &[&str]) -> Value {
        let client = tenant::client(client)
            .unwrap_or_else(|| panic!("no client `{client}` in the devstack tenant"));
        self.issuer.app_claims(client, roles)
    }

    /// A valid app-only token for `client` holding `roles`.
    ///
    /// # Panics
    ///
    /// If `client` is not registered in the sample directory.
    pub fn app_token(&self, client: &str, roles: &[&str]) -> String {
        self.issuer.sign_current(&self.app_claims(client, roles))
    }

    /// The header the issuer puts on tokens now (the current `kid`).
    pub fn token_header(&self) -> Value {
        self.issuer.token_header()
    }

    /// Signs any header and claims with the current key, as given.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.issuer.sign(header, claims)
    }

    /// Emergency rotation: a new key signs, and the JWKS publishes only it.
    pub fn rotate_signing_key(&self) {
        self.issuer.keys().rotate();
    }

    /// Planned rotation, step one: publishes a new key that does not sign yet; returns its
    /// `kid`.
    pub fn publish_next_key(&self) -> String {
        self.issuer.keys().publish_next()
    }

    /// Planned rotation, step two: the key from [`Devstack::publish_next_key`] signs from now
    /// on; the previous key stays published.
    ///
    /// # Panics
    ///
    /// If no next key was published.
    pub fn promote_next_key(&self) {
        self.issuer.keys().promote_next();
    }

    /// `false` simulates an Entra outage: discovery and the JWKS answer 503.
    pub fn set_issuer_available(&self, available: bool) {
        self.issuer.set_available(available);
    }

    /// How many requests reached the JWKS endpoint, including those answered 503.
    pub fn jwks_fetches(&self) -> usize {
        self.issuer.jwks_fetches()
    }

    /// Every request any stand-in received, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.recorder.requests()
    }

    pub fn clear_requests(&self) {
        self.recorder.clear();
    }
}

/// Names the devstack only: its state holds tokens and authorization codes.
impl fmt::Debug for Devstack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devstack")
            .field("base_url", &self.base_url)
            .field("identifier_uri", &self.identifier_uri())
            .finish_non_exhaustive()
    }
}

impl Drop for Devstack {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server thread may be gone already; then there is nothing to stop.
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            // A panic on the server thread has already been reported; do not panic in drop.
            let _ = server.join();
        }
    }
}

/// Every stand-in on one router, each recorded under its own name.
fn router(issuer: &Arc<Issuer>, recorder: &Arc<Recorder>) -> Router {
    let stand_ins = Router::new()
        .merge(recorded(
            recorder.clone(),
            "issuer",
            issuer::routes(issuer.clone()),
        ))
        .merge(recorded(
            recorder.clone(),
            "mint",
            mint::routes(issuer.clone()),
        ));
    with_unrouted_fallback(stand_ins, recorder.clone())
}

#[cfg(test)]
mod tests;
