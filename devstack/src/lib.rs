//! The devstack: local stand-ins for the cloud services the handler depends on, speaking the
//! services' real wire protocols, so the handler runs and is tested with no cloud at all.
//!
//! One implementation serves two purposes. `cargo run` starts it next to the server, so a
//! newcomer can get a token from a local sample tenant and call tools offline; the integration
//! tests link the library and drive a [`Devstack`] directly, minting tokens, forging them,
//! rotating keys, withdrawing consent and simulating outages. The handler reaches it only
//! through settings real deployments have anyway (the authority host, the Graph base URL,
//! `IDENTITY_ENDPOINT`, the Key Vault URL), so no production code path knows it exists. The
//! deployed build leaves it out (`--no-default-features`).
//!
//! Every stand-in shares one router on one loopback port, each under its own paths, and each
//! recorded under its own name:
//!
//! | path | stand-in | recorded as | module |
//! |---|---|---|---|
//! | `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`, `/{tenant}/oauth2/v2.0/authorize`, `/{tenant}/oauth2/v2.0/devicecode`, `/devicelogin` | Entra ID authority: discovery, JWKS, sign-in (browser and device code) | `issuer` | `issuer` |
//! | `/{tenant}/oauth2/v2.0/token` | Entra ID token endpoint, including the on-behalf-of and device code grants | `token` | `issuer` |
//! | `/msi/token` | App Service managed identity endpoint (`IDENTITY_ENDPOINT`) | `managed_identity` | `managed_identity` |
//! | `/secrets/{name}`, `/secrets/{name}/{version}`, `/secrets/{name}/versions` | Key Vault secrets, reached through [`vault_transport`] | `key_vault` | `key_vault` |
//! | `/v1.0/…`, `/_layouts/15/download.aspx` | Microsoft Graph, and OneDrive's pre-authenticated downloads | `graph` | `graph` |
//! | `/devstack/token` | dev-only token minting (no Entra equivalent) | `mint` | `mint` |
//! | anything else | 404 | `unrouted` | [`record`] |
//!
//! The stand-ins share the sample directory ([`tenant`]), the issuer's keys (every token is
//! signed by the issuer, whoever hands it out), and the request recorder ([`record`]). The
//! Microsoft 365 data Graph serves (mail, calendars, To Do, files, a SharePoint site) is
//! generated around the devstack's start; [`sample`] names what tests look for in it.
//!
//! Any stand-in can be made to misbehave until a test says otherwise ([`UpstreamFault`]: hang,
//! answer late, throttle, break off mid-body, answer garbage or too much), and the devstack can
//! advertise itself at addresses in front of it ([`DevstackOptions::base_url`],
//! [`DevstackOptions::graph_base_url`]), so a test can put a door there that refuses
//! connections.
//!
//! The server runs on a dedicated thread with its own single-threaded tokio runtime, so a
//! [`Devstack`] works the same from a plain `#[test]`, a `#[tokio::test]` and the handler's
//! `main`. It accepts connections through a listener whose connections a stand-in can cut
//! (`connection`), for Graph's simulated network failures. Dropping it stops the server and
//! closes the port.

pub mod child_test;
mod connection;
mod datetime;
mod graph;
mod graph_token;
mod issuer;
mod key_vault;
pub mod keys;
mod managed_identity;
mod mint;
pub mod record;
pub mod sample;
pub mod tenant;
mod upstream_fault;
mod vault_transport;

use std::{
    fmt,
    future::IntoFuture,
    io,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    thread::{self, JoinHandle},
    time::Duration,
};

use axum::Router;
use serde_json::Value;
use tokio::sync::oneshot;

use self::{
    connection::{Connection, ResettableListener},
    graph::Graph,
    issuer::Issuer,
    key_vault::KeyVault,
    managed_identity::ManagedIdentity,
    record::{Recorder, recorded, with_unrouted_fallback},
    tenant::{
        DEV_CLIENT_ID, GATEWAY_PROOF_SECRET, LOCAL_CLIENT_ID, MANAGED_IDENTITY_CLIENT_ID,
        MANAGED_IDENTITY_PRINCIPAL_ID, SERVER_CLIENT_ID, SIGNING_KEY_SECRET, TENANT_ID,
    },
    upstream_fault::{UpstreamFaults, issuer_path, with_faults},
};
pub use self::{
    graph::GraphFault,
    issuer::DeviceAnswer,
    issuer::pkce,
    managed_identity::PATH as MANAGED_IDENTITY_PATH,
    record::Recorded,
    upstream_fault::{GARBAGE, Upstream, UpstreamFault},
    vault_transport::{vault_http_client, vault_transport},
};

/// How to start a [`Devstack`].
#[derive(Debug, Clone)]
pub struct DevstackOptions {
    /// A loopback address; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The server app's identifier URI: the prefix of its scopes and the only `resource` value
    /// the issuer accepts. `None` means `api://{server client id}`. Set it to the MCP URL the
    /// handler advertises as its resource to mirror a deployment on a custom domain.
    pub identifier_uri: Option<String>,
    /// The secret the managed identity endpoint requires in `X-IDENTITY-HEADER` (the
    /// platform's `IDENTITY_HEADER`). `None` picks a random one.
    pub identity_header: Option<String>,
    /// The web redirect URIs registered on the server app, for broker mode's sign-in (the
    /// handler's `{issuer}/callback`). Empty: the server app cannot sign users in.
    pub server_redirect_uris: Vec<String>,
    /// Where clients reach the devstack, when something stands in front of it (a test's door
    /// that can refuse connections): the authority host, the issuer's `iss`, and every URL the
    /// stand-ins hand out. `None`: `http://{addr}`. Must be a loopback `http://host:port`.
    pub base_url: Option<String>,
    /// Where clients reach Graph, when that differs from [`DevstackOptions::base_url`] (Graph
    /// has a host of its own, as `graph.microsoft.com` is not `login.microsoftonline.com`):
    /// Graph's links and the scope prefix the on-behalf-of grant accepts for Graph. `None`:
    /// the base URL.
    pub graph_base_url: Option<String>,
}

impl Default for DevstackOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            identifier_uri: None,
            identity_header: None,
            server_redirect_uris: Vec::new(),
            base_url: None,
            graph_base_url: None,
        }
    }
}

/// The values a handler is configured with to run against a devstack, as a real deployment is
/// configured for its tenant. The handler's settings name them; this crate does not. Not `Debug`:
/// the identity header is a secret.
#[derive(Clone)]
pub struct HandlerSettings {
    pub tenant_id: String,
    /// The server app registration's client id: the token audience.
    pub client_id: String,
    pub identifier_uri: String,
    /// `http://127.0.0.1:<port>`, in place of `https://login.microsoftonline.com`.
    pub authority_host: String,
    /// The managed identity endpoint and the secret header it requires.
    pub identity_endpoint: String,
    pub identity_header: String,
    pub managed_identity_client_id: String,
    pub graph_base_url: String,
    /// An https vault URL, as the Key Vault SDK insists on; its traffic goes to `vault_addr`
    /// through [`vault_transport`].
    pub key_vault_url: String,
    pub vault_addr: SocketAddr,
    /// The vault secret that keys cursors and confirmations.
    pub signing_key_secret: String,
    /// The public client a user registers for `handler stdio`: it signs its one user in
    /// itself and calls Graph directly.
    pub public_client_id: String,
}

/// A running devstack. Dropping it shuts the server down.
pub struct Devstack {
    addr: SocketAddr,
    base_url: String,
    graph_base_url: String,
    issuer: Arc<Issuer>,
    managed_identity: Arc<ManagedIdentity>,
    key_vault: Arc<KeyVault>,
    graph: Arc<Graph>,
    recorder: Arc<Recorder>,
    faults: Arc<UpstreamFaults>,
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
        let addr = listener.local_addr()?;
        let base_url = match options.base_url {
            Some(url) => loopback_base(url)?,
            None => format!("http://{addr}"),
        };
        let graph_base_url = match options.graph_base_url {
            Some(url) => loopback_base(url)?,
            None => base_url.clone(),
        };
        let identifier_uri = options
            .identifier_uri
            .unwrap_or_else(|| format!("api://{SERVER_CLIENT_ID}"));
        let issuer = Arc::new(Issuer::with_server_redirect_uris(
            base_url.clone(),
            identifier_uri,
            options.server_redirect_uris,
        ));
        issuer.set_graph_base_url(graph_base_url.clone());
        let identity_header = options
            .identity_header
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let managed_identity = Arc::new(ManagedIdentity::new(issuer.clone(), identity_header));
        let key_vault = Arc::new(KeyVault::new(issuer.clone(), &base_url));
        let graph = Arc::new(Graph::new(
            graph_base_url.clone(),
            issuer.graph_tokens().clone(),
        ));
        let recorder = Arc::new(Recorder::default());
        let faults = Arc::new(UpstreamFaults::default());
        let router = router(
            &StandIns {
                issuer: &issuer,
                managed_identity: &managed_identity,
                key_vault: &key_vault,
                graph: &graph,
                faults: &faults,
            },
            &recorder,
        );

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
                        _ = axum::serve(
                            ResettableListener(listener),
                            router.into_make_service_with_connect_info::<Connection>(),
                        ).into_future() => {}
                        _ = stop => {}
                    }
                });
                // Dropping the runtime here cancels the connections still open.
            })?;

        Ok(Self {
            addr,
            base_url,
            graph_base_url,
            issuer,
            managed_identity,
            key_vault,
            graph,
            recorder,
            faults,
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:<port>`: the authority host, Graph's base URL, and the base of every
    /// stand-in.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The loopback address and port the devstack listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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

    /// Everything a handler needs to use this devstack as its tenant and cloud: the tenant and
    /// authority, the managed identity endpoint, Graph and Key Vault. The gateway proof is not
    /// among them: tests that want it configure it themselves.
    pub fn handler_settings(&self) -> HandlerSettings {
        HandlerSettings {
            tenant_id: self.tenant_id().to_owned(),
            client_id: self.server_client_id().to_owned(),
            identifier_uri: self.identifier_uri().to_owned(),
            authority_host: self.base_url().to_owned(),
            identity_endpoint: self.identity_endpoint(),
            identity_header: self.identity_header().to_owned(),
            managed_identity_client_id: MANAGED_IDENTITY_CLIENT_ID.to_owned(),
            graph_base_url: self.graph_base_url().to_owned(),
            key_vault_url: self.vault_url(),
            vault_addr: self.addr,
            signing_key_secret: SIGNING_KEY_SECRET.to_owned(),
            public_client_id: LOCAL_CLIENT_ID.to_owned(),
        }
    }

    /// The claims of a delegated token from the dev client for `user` (key, object id or UPN)
    /// with delegated `scopes` (short names; none leaves `scp` out) and the user's assigned
    /// app roles. Mutate them and [`Devstack::sign`] them to forge a token.
    ///
    /// # Panics
    ///
    /// If `user` is not in the sample directory.
    pub fn user_claims(&self, user: &str, scopes: &[&str]) -> Value {
        let user = known_user(user);
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

    /// `{base}/msi/token`: the handler's `IDENTITY_ENDPOINT`.
    pub fn identity_endpoint(&self) -> String {
        format!("{}{}", self.base_url, managed_identity::PATH)
    }

    /// The secret the identity endpoint requires: the handler's `IDENTITY_HEADER`.
    pub fn identity_header(&self) -> &str {
        self.managed_identity.secret()
    }

    pub fn managed_identity_client_id(&self) -> &str {
        MANAGED_IDENTITY_CLIENT_ID
    }

    pub fn managed_identity_principal_id(&self) -> &str {
        MANAGED_IDENTITY_PRINCIPAL_ID
    }

    /// The claims of the managed identity's token for `resource`. Mutate them and
    /// [`Devstack::sign`] them to forge a client assertion.
    pub fn managed_identity_claims(&self, resource: &str) -> Value {
        self.issuer.managed_identity_claims(resource)
    }

    /// A token exactly as the identity endpoint hands it out for `resource`.
    pub fn managed_identity_token(&self, resource: &str) -> String {
        self.managed_identity.token(resource)
    }

    /// `false` makes the identity endpoint answer 500, as when the platform cannot reach Entra.
    pub fn set_managed_identity_available(&self, available: bool) {
        self.managed_identity.set_available(available);
    }

    /// Replaces the Graph permissions `user` consented to for the server app; the tenant-wide
    /// admin consent (`User.Read`, `MailboxSettings.Read`) stays. Each user starts with
    /// [`tenant::USER_CONSENTED_GRAPH_PERMISSIONS`].
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory or a permission is not one Graph exposes.
    pub fn set_consent(&self, user: &str, permissions: &[&str]) {
        let permissions = permissions
            .iter()
            .map(|name| known_permission(name))
            .collect();
        self.issuer
            .policy()
            .set_consent(known_user(user), permissions);
    }

    /// Withdraws `user`'s own consent to one Graph permission, leaving the rest: the
    /// on-behalf-of grant then answers AADSTS65001 (`consent_required`) to any request that
    /// names it, and `.default` no longer includes it.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory, the permission is not one Graph exposes, or the
    /// administrator consented to it for everyone (`User.Read`, `MailboxSettings.Read` by
    /// default): use [`Devstack::set_admin_consent`] for those.
    pub fn withdraw_consent(&self, user: &str, permission: &str) {
        let permission = known_permission(permission);
        assert!(
            self.issuer.policy().withdraw(known_user(user), permission),
            "{permission} is admin-consented for the whole tenant; withdraw it with \
             set_admin_consent"
        );
    }

    /// Every Graph permission the server app may use for `user` now: the administrator's
    /// consent and the user's own.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn consented_graph_permissions(&self, user: &str) -> Vec<&'static str> {
        self.issuer.policy().consented(known_user(user))
    }

    /// Replaces the administrator's tenant-wide consent (default: `User.Read`,
    /// `MailboxSettings.Read`), as a deployment without admin consent would have it.
    ///
    /// # Panics
    ///
    /// If a permission is not one Graph exposes.
    pub fn set_admin_consent(&self, permissions: &[&str]) {
        let permissions = permissions
            .iter()
            .map(|name| known_permission(name))
            .collect();
        self.issuer.policy().set_admin_consent(permissions);
    }

    /// Whether a Conditional Access policy demands multifactor authentication from `user`:
    /// their on-behalf-of exchanges then fail with `interaction_required` and a claims
    /// challenge.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn require_mfa(&self, user: &str, required: bool) {
        self.issuer.policy().require_mfa(known_user(user), required);
    }

    /// Revokes every Entra refresh token of `user`, as an administrator's "revoke sessions"
    /// does: their next refresh fails with AADSTS50173.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn revoke_sessions(&self, user: &str) {
        self.issuer.revoke_sessions(known_user(user));
    }

    /// Lets every Entra refresh token of `user` expire, as 90 days without use do: their next
    /// refresh fails with AADSTS700082.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn expire_refresh_tokens(&self, user: &str) {
        self.issuer.expire_refresh_tokens(known_user(user));
    }

    /// How many Entra refresh tokens the authority has issued (each refresh issues one).
    pub fn refresh_tokens_issued(&self) -> usize {
        self.issuer.refresh_tokens_issued()
    }

    /// The refresh tokens the authority issued to `client` (key or client id) for `user`,
    /// oldest first: the last is the newest rotation.
    ///
    /// # Panics
    ///
    /// If `client` or `user` is not in the directory.
    pub fn refresh_tokens_of(&self, client: &str, user: &str) -> Vec<String> {
        self.issuer
            .refresh_tokens_of(known_client(client), known_user(user))
    }

    /// The next device sign-in (device code) follows `answers`, one per poll; after the
    /// last, it stays pending unless that one was final. Sign-ins without a script have one
    /// pending poll, then the default user approves.
    pub fn script_device_sign_in(&self, answers: Vec<DeviceAnswer>) {
        self.issuer.device_codes().script_next(answers);
    }

    /// A person at the verification page approves the waiting device sign-in `user_code` as
    /// `user`; `false` if no such sign-in waits.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn approve_device_sign_in(&self, user_code: &str, user: &str) -> bool {
        self.issuer
            .device_codes()
            .decide(user_code, Some(known_user(user)))
    }

    /// A person at the verification page declines the waiting device sign-in `user_code`.
    pub fn decline_device_sign_in(&self, user_code: &str) -> bool {
        self.issuer.device_codes().decide(user_code, None)
    }

    /// What every poll of a device code was told so far, in order, as `(user code, answer)`:
    /// `approved` or the error (`authorization_pending`, `slow_down`, ...). A client that
    /// polls sooner than its interval is told `slow_down` without a script asking for it.
    pub fn device_code_answers(&self) -> Vec<(String, &'static str)> {
        self.issuer.device_codes().answers()
    }

    /// The polling interval device codes issued from now on ask for (default 1 second;
    /// Entra's is 5).
    pub fn set_device_code_interval(&self, interval: Duration) {
        self.issuer.device_codes().set_interval(interval);
    }

    /// The Graph permissions `user` consented to for `client` (key or client id), a client
    /// that calls Graph itself: what its sign-ins asked for.
    ///
    /// # Panics
    ///
    /// If `client` or `user` is not in the directory.
    pub fn client_consented_graph_permissions(
        &self,
        client: &str,
        user: &str,
    ) -> Vec<&'static str> {
        self.issuer
            .policy()
            .client_consented(known_user(user), known_client(client))
    }

    /// Withdraws `user`'s consent to `permission` for `client`, a client that calls Graph
    /// itself: its refreshes asking for it then fail with AADSTS65001 until the user signs in
    /// again and consents.
    ///
    /// # Panics
    ///
    /// If `client` or `user` is not in the directory or the permission is not one Graph
    /// exposes.
    pub fn withdraw_client_consent(&self, client: &str, user: &str, permission: &str) {
        self.issuer.policy().withdraw_client_consent(
            known_user(user),
            known_client(client),
            known_permission(permission),
        );
    }

    /// How many on-behalf-of requests reached the token endpoint, successful or not.
    pub fn obo_exchanges(&self) -> usize {
        self.issuer.obo_exchanges()
    }

    /// How long Graph tokens issued from now on live (default 75 minutes; zero issues tokens
    /// that are expired on arrival).
    pub fn set_graph_token_lifetime(&self, lifetime: Duration) {
        self.issuer.graph_tokens().set_lifetime(lifetime);
    }

    /// `false` makes the token endpoint answer 503 to every grant.
    pub fn set_token_endpoint_available(&self, available: bool) {
        self.issuer.set_token_endpoint_available(available);
    }

    /// A Graph token for `user` with `permissions`, as the on-behalf-of grant would issue it
    /// but without consent or Conditional Access: for testing Graph calls on their own.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory or a permission is not one Graph exposes.
    pub fn graph_token(&self, user: &str, permissions: &[&str]) -> String {
        let permissions = permissions
            .iter()
            .map(|name| known_permission(name))
            .collect();
        self.issuer
            .graph_tokens()
            .issue(known_user(user), permissions)
            .0
    }

    /// Graph's base URL (the devstack's): the handler's `GRAPH_BASE_URL`, and a scope prefix
    /// the on-behalf-of grant accepts besides `https://graph.microsoft.com`.
    pub fn graph_base_url(&self) -> &str {
        &self.graph_base_url
    }

    /// Makes `upstream` misbehave for every request it gets from now on ([`UpstreamFault`]);
    /// `None` ends the fault and releases any request it holds.
    pub fn set_upstream_fault(&self, upstream: Upstream, fault: Option<UpstreamFault>) {
        self.faults.set(upstream, fault);
    }

    /// How many requests to `upstream` a `Hang` or `Delay` holds right now: non-zero while
    /// one is in flight and not yet answered (a client that gives up releases its request).
    pub fn held_requests(&self, upstream: Upstream) -> usize {
        self.faults.held(upstream)
    }

    /// How many requests to `upstream` met a standing fault since the devstack started.
    pub fn upstream_fault_hits(&self, upstream: Upstream) -> usize {
        self.faults.hits(upstream)
    }

    /// Queues faults for Graph requests whose path starts with `path_prefix`; each matching
    /// request consumes the next one, then service is normal again.
    pub fn inject_graph_faults(&self, path_prefix: &str, faults: Vec<GraphFault>) {
        self.graph.inject_faults(path_prefix, faults);
    }

    /// When the Graph sample data was generated: its "now", around which "today" and
    /// "tomorrow" are counted in each user's time zone ([`sample`]).
    pub fn graph_sample_time(&self) -> std::time::SystemTime {
        let seconds = u64::try_from(self.graph.sample_time()).expect("after 1970");
        std::time::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// The events `user` created with `POST /me/events`, oldest first, as their calendar shows
    /// them (times in UTC, HTML bodies): what a create-event tool actually sent.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn created_events(&self, user: &str) -> Vec<Value> {
        self.graph.created_events(known_user(user))
    }

    /// The messages `user` sent with `POST /me/sendMail`, oldest first, as Graph renders a
    /// message (recipients, subject, HTML body; a text body is wrapped in HTML as Outlook
    /// does): what a send-mail tool actually sent. Each also landed in the sender's Sent Items
    /// (unless `saveToSentItems` was false) and in the inboxes of recipients in the tenant.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn sent_mail(&self, user: &str) -> Vec<Value> {
        self.graph.sent_mail(known_user(user))
    }

    /// The id of the newest message with exactly this subject in `user`'s mailbox (for
    /// instance one of [`sample`]'s hostile messages), for tests that read a message directly.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn message_id(&self, user: &str, subject: &str) -> Option<String> {
        self.graph.message_id(known_user(user), subject)
    }

    /// `(drive id, item id)` of the item at `path` (`/`-separated, e.g. `Projects/Project
    /// plan.md`) in `user`'s OneDrive: what `/drives/{drive-id}/items/{item-id}` takes. For the
    /// files [`sample`] names.
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn drive_item_id(&self, user: &str, path: &str) -> Option<(String, String)> {
        self.graph.drive_item_id(known_user(user), path)
    }

    /// Slows every Graph request whose path starts with `path_prefix` by `latency` until it is
    /// set to zero (the longest matching prefix wins). An Outlook request keeps its mailbox's
    /// concurrency slot while it waits, so a latency holds requests in flight.
    pub fn set_graph_latency(&self, path_prefix: &str, latency: Duration) {
        self.graph.set_latency(path_prefix, latency);
    }

    /// The most Outlook requests (mail, calendar, people, To Do, mailbox settings) that were
    /// ever in flight at once against `user`'s mailbox, counting those refused for going over
    /// Outlook's limit of four (which get 429 `ApplicationThrottled`).
    ///
    /// # Panics
    ///
    /// If `user` is not in the directory.
    pub fn max_concurrent_graph_requests(&self, user: &str) -> usize {
        self.graph.peak_concurrency(known_user(user))
    }

    /// `https://devstack.vault.azure.net/`: the vault URL the handler gives the SDK, whose
    /// bytes [`vault_transport`] delivers to [`Devstack::addr`].
    pub fn vault_url(&self) -> String {
        KeyVault::url()
    }

    /// Adds a version of secret `name` holding `value`, which becomes current; returns the
    /// version id.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        self.key_vault.set_secret(name, value)
    }

    /// Disables a version: reading it, even as the current version, is then 403.
    ///
    /// # Panics
    ///
    /// If the secret or version does not exist.
    pub fn disable_secret_version(&self, name: &str, version: &str) {
        self.key_vault.disable_version(name, version);
    }

    /// `false` makes Key Vault answer 503 to everything.
    pub fn set_vault_available(&self, available: bool) {
        self.key_vault.set_available(available);
    }

    /// Gives a secret version a validity window: `nbf` and `exp` in Unix seconds (`None`:
    /// none). Key Vault still serves the value outside it; clients must honour it.
    ///
    /// # Panics
    ///
    /// If the secret or version does not exist.
    pub fn set_secret_validity(
        &self,
        name: &str,
        version: &str,
        not_before: Option<i64>,
        expires: Option<i64>,
    ) {
        self.key_vault
            .set_validity(name, version, not_before, expires);
    }

    /// A slow Key Vault: with `Some(delay)`, every request from now on waits that long before
    /// it is answered; `None` answers at once again.
    pub fn set_vault_delay(&self, delay: Option<Duration>) {
        self.key_vault.set_delay(delay);
    }

    /// How many Key Vault requests are waiting out the slow mode's delay right now: non-zero
    /// while a read is in flight.
    pub fn vault_requests_waiting(&self) -> usize {
        self.key_vault.waiting()
    }

    /// The gateway proof: the current value of the `mcp-gateway-proof` secret (64 random hex
    /// digits at start).
    pub fn gateway_proof(&self) -> String {
        self.key_vault
            .current_value(GATEWAY_PROOF_SECRET)
            .expect("the gateway proof is seeded")
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

/// `url` without a trailing slash, if it is a loopback `http://host:port`: the devstack hands
/// out tokens to anyone who asks, so nothing may advertise it anywhere else.
fn loopback_base(url: String) -> io::Result<String> {
    let parsed = url::Url::parse(&url).ok();
    let loopback = parsed.as_ref().is_some_and(|parsed| {
        parsed.scheme() == "http"
            && parsed.port().is_some()
            && matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            && parsed.path() == "/"
            && parsed.query().is_none()
    });
    if loopback {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the devstack's URLs must be loopback http://127.x.x.x:port, not {url}"),
        ))
    }
}

/// # Panics
///
/// If `user` is not in the sample directory: a test bug.
fn known_user(user: &str) -> &'static tenant::User {
    tenant::user(user).unwrap_or_else(|| panic!("no user `{user}` in the devstack tenant"))
}

/// # Panics
///
/// If `client` is not registered in the sample directory: a test bug.
fn known_client(client: &str) -> &'static tenant::ClientApp {
    tenant::client(client).unwrap_or_else(|| panic!("no client `{client}` in the devstack tenant"))
}

/// A Graph permission's canonical name.
///
/// # Panics
///
/// If Graph exposes no such delegated permission: a test bug.
fn known_permission(name: &str) -> &'static str {
    tenant::graph_permission(name)
        .unwrap_or_else(|| panic!("Graph has no delegated permission `{name}`"))
}

struct StandIns<'a> {
    issuer: &'a Arc<Issuer>,
    managed_identity: &'a Arc<ManagedIdentity>,
    key_vault: &'a Arc<KeyVault>,
    graph: &'a Arc<Graph>,
    faults: &'a Arc<UpstreamFaults>,
}

/// Every stand-in on one router, each recorded under its own name.
fn router(stand_ins: &StandIns<'_>, recorder: &Arc<Recorder>) -> Router {
    let record = |service, routes| recorded(recorder.clone(), service, routes);
    // Standing faults apply inside the recorder: a faulted request is still recorded.
    let faulted = |routes, classify| with_faults(routes, stand_ins.faults.clone(), classify);
    let router = Router::new()
        .merge(record(
            "issuer",
            faulted(issuer::routes(stand_ins.issuer.clone()), issuer_path),
        ))
        .merge(record(
            "token",
            faulted(issuer::token_routes(stand_ins.issuer.clone()), |_| {
                Some(Upstream::TokenEndpoint)
            }),
        ))
        .merge(record(
            "managed_identity",
            faulted(
                managed_identity::routes(stand_ins.managed_identity.clone()),
                |_| Some(Upstream::ManagedIdentity),
            ),
        ))
        .merge(record(
            "key_vault",
            faulted(key_vault::routes(stand_ins.key_vault.clone()), |_| {
                Some(Upstream::KeyVault)
            }),
        ))
        .merge(record(
            "graph",
            faulted(graph::routes(stand_ins.graph.clone()), |_| {
                Some(Upstream::Graph)
            }),
        ))
        .merge(record("mint", mint::routes(stand_ins.issuer.clone())));
    with_unrouted_fallback(router, recorder.clone())
}

#[cfg(test)]
mod tests;
