//! Outbound identity without secrets: Graph tokens for the user a tool acts for.
//!
//! Two sources of delegated Graph tokens ([`GraphTokens`]), so every tool works the same in
//! both ways the binary runs:
//!
//! - **The server** owns no client secret and no certificate. Its user-assigned managed
//!   identity is its only credential: the platform hands out its tokens (`IDENTITY_ENDPOINT`),
//!   and `azure_identity` fetches and caches them. For Key Vault, the identity's token
//!   authenticates directly. For Microsoft Graph, the server acts **on behalf of** the caller
//!   ([`obo`]): it presents the caller's token as the assertion and its managed identity's token
//!   for `api://AzureADTokenExchange` as the client assertion, which the app registration trusts
//!   through a federated identity credential. Entra answers with a Graph token for that user and
//!   exactly the scopes asked for. The caller's token goes to the Entra token endpoint and
//!   nowhere else; the Graph token is opaque to this server and never leaves it.
//! - **`handler stdio`** serves one user, who signs in to the process itself as a public
//!   client of their own app registration ([`public_client`]): no secret either, and no server
//!   in between; Graph tokens come straight from the user's refresh token.

pub mod entra;
pub mod obo;
pub mod public_client;

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use azure_core::{
    credentials::TokenCredential,
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions},
};
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use tokio::{sync::OnceCell, time::Instant};

use crate::{
    caller::Caller,
    config::SecretString,
    outbound::{Call, OutboundHttp},
};
use obo::OnBehalfOf;
use public_client::{Account, PublicClient};

/// The audience of a managed-identity token used as a federated client assertion in the
/// public cloud (national clouds use their own, see docs/DEPLOY.md).
const TOKEN_EXCHANGE_SCOPE: &str = "api://AzureADTokenExchange/.default";

/// The managed identity could not produce a token.
#[derive(Debug)]
pub struct IdentityUnavailable(pub String);

/// The server's user-assigned managed identity.
///
/// The credential is built on first use, not at start-up, and sends its requests through the
/// process's shared HTTP client: building an Azure SDK pipeline with its own client would load
/// the system's root certificates again, before the port could answer.
#[derive(Clone)]
pub struct ManagedIdentity {
    client_id: String,
    http: OutboundHttp,
    credential: Arc<OnceCell<Arc<ManagedIdentityCredential>>>,
}

impl ManagedIdentity {
    pub fn new(client_id: String, http: OutboundHttp) -> Self {
        Self {
            client_id,
            http,
            credential: Arc::default(),
        }
    }

    /// The credential, for Azure SDK clients (Key Vault).
    pub async fn credential(&self) -> Result<Arc<dyn TokenCredential>, IdentityUnavailable> {
        self.managed_identity_credential()
            .await
            .map(|credential| credential as Arc<dyn TokenCredential>)
    }

    /// A token for `api://AzureADTokenExchange`: the client assertion of the on-behalf-of
    /// exchange (a credential: its `Debug` is redacted). `azure_identity` caches it and fetches
    /// a new one before it expires.
    pub async fn federation_assertion(&self) -> Result<SecretString, IdentityUnavailable> {
        self.managed_identity_credential()
            .await?
            .get_token(&[TOKEN_EXCHANGE_SCOPE], None)
            .await
            .map(|token| SecretString::from(token.token.secret()))
            .map_err(|error| IdentityUnavailable(error.kind().to_string()))
    }

    async fn managed_identity_credential(
        &self,
    ) -> Result<Arc<ManagedIdentityCredential>, IdentityUnavailable> {
        self.credential
            .get_or_try_init(|| async {
                let transport = self.http.azure_transport().await;
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: Some(UserAssignedId::ClientId(self.client_id.clone())),
                    client_options: ClientOptions {
                        retry: quick_retries(),
                        transport: Some(transport),
                        ..ClientOptions::default()
                    },
                }))
                .map_err(|error| IdentityUnavailable(error.to_string()))
            })
            .await
            .cloned()
    }
}

/// Azure SDK retries that fit inside a tool call: the SDK's default retries the identity
/// endpoint for up to a minute.
pub fn quick_retries() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(200),
        max_retries: 2,
        max_total_elapsed: azure_core::time::Duration::seconds(5),
        max_delay: azure_core::time::Duration::seconds(2),
    })
}

/// A cached Graph token is replaced this long before it expires (less for very short-lived
/// tokens).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A Graph access token. Opaque: never parsed, logged or returned to a client.
#[derive(Clone)]
pub struct GraphToken {
    value: Arc<str>,
    refresh_after: Instant,
    /// Shared with the cached copy: set when Graph refused the token.
    refused: Arc<AtomicBool>,
}

impl GraphToken {
    /// A token received at `received`, valid for `expires_in` seconds.
    fn new(value: String, received: Instant, expires_in: u64) -> Self {
        let lifetime = Duration::from_secs(expires_in);
        let margin = EXPIRY_MARGIN.min(lifetime / 2);
        Self {
            value: value.into(),
            refresh_after: received + lifetime - margin,
            refused: Arc::default(),
        }
    }

    pub fn bearer(&self) -> &str {
        &self.value
    }

    /// Graph refused this token (HTTP 401: revoked, say): it leaves the cache, and the next call
    /// for the same caller and scopes gets a new one.
    pub fn refused_by_graph(&self) {
        self.refused.store(true, Ordering::SeqCst);
    }

    /// Whether a cache may still hand it out.
    fn usable(&self, now: Instant) -> bool {
        now < self.refresh_after && !self.refused.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for GraphToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GraphToken(<redacted>)")
    }
}

/// Why no Graph token could be obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// The caller is an application: there is no user to act for.
    NotAUser,
    /// The user or an administrator has not consented to these permissions (AADSTS65001).
    ConsentRequired,
    /// Conditional Access needs the user to sign in again satisfying `claims`.
    ClaimsChallenge { claims: String },
    /// The managed identity gave no token.
    IdentityUnavailable,
    /// Entra did not answer usefully before the deadline.
    EntraUnreachable,
    /// Entra refused for another reason: usually the server's own configuration.
    Rejected { error: String, code: Option<u32> },
    /// `handler stdio`: the user must finish an interactive sign-in first, at `url` (with
    /// `user_code` for the device code flow). The prompt is on stderr too.
    SignInPending {
        url: String,
        user_code: Option<String>,
    },
    /// `handler stdio`: the interactive sign-in failed; what happened, and what fixes it.
    SignInFailed { reason: String, fix: String },
}

/// What to do when the user has not consented to some of the permissions asked for. Only a
/// source that can ask the user (`handler stdio`'s sign-in) acts on it: for permissions a tool
/// can do without, it does not interrupt the user with a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingConsent {
    /// Ask the user to consent (incremental consent: an interactive sign-in).
    AskTheUser,
    /// Refuse with [`ExchangeError::ConsentRequired`].
    Refuse,
}

/// Where delegated Graph tokens come from: the one seam between the tools and how the binary
/// runs.
pub enum GraphTokens {
    /// The server: each caller's token exchanged on behalf of them.
    OnBehalfOf(Box<OnBehalfOf>),
    /// `handler stdio`: the one user signed in to this process as a public client.
    PublicClient(Arc<PublicClient>),
}

impl GraphTokens {
    /// A Graph token with `scopes` (full names) for `caller`, and the caller it acts for: the
    /// caller itself, or for `handler stdio` the account that signed in.
    pub async fn graph_token(
        &self,
        caller: &Arc<Caller>,
        scopes: &[String],
        call: Call<'_>,
        missing: MissingConsent,
    ) -> Result<(GraphToken, Arc<Caller>), ExchangeError> {
        match self {
            GraphTokens::OnBehalfOf(obo) => obo
                .graph_token(caller, scopes, call)
                .await
                .map(|token| (token, Arc::clone(caller))),
            GraphTokens::PublicClient(client) => {
                let (token, account) = client.graph_token(scopes, call, missing).await?;
                Ok((token, Arc::new(acting_as(caller, &account))))
            }
        }
    }
}

/// `caller` (the local user's access rules) with the identity of the account that signed in.
fn acting_as(caller: &Caller, account: &Account) -> Caller {
    Caller {
        tenant_id: account.tenant_id.clone(),
        object_id: account.object_id.clone(),
        ..caller.clone()
    }
}

/// One set of scopes, however ordered or repeated: a cache key.
fn scope_key(scopes: &[String]) -> String {
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_graph_token() {
        let token = GraphToken::new("graph-token-value-1f2e3d".into(), Instant::now(), 3600);
        let shown = format!("{token:?} {:?}", Some(&token));
        assert!(!shown.contains("graph-token-value-1f2e3d"), "{shown}");
    }

    #[test]
    fn a_token_graph_refused_is_no_longer_handed_out_by_any_copy() {
        let token = GraphToken::new("graph-token-value-1f2e3d".into(), Instant::now(), 3600);
        let cached = token.clone();
        assert!(cached.usable(Instant::now()));
        token.refused_by_graph();
        assert!(!cached.usable(Instant::now()));
    }

    #[test]
    fn a_token_is_replaced_before_it_expires() {
        let received = Instant::now();
        let hour = GraphToken::new("t".into(), received, 3600);
        assert_eq!(hour.refresh_after, received + Duration::from_secs(3300));
        let short = GraphToken::new("t".into(), received, 60);
        assert_eq!(short.refresh_after, received + Duration::from_secs(30));
    }

    #[test]
    fn scope_keys_ignore_order_and_repetition() {
        let key =
            |scopes: &[&str]| scope_key(&scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(key(&["b", "a", "b"]), key(&["a", "b"]));
        assert_ne!(key(&["a"]), key(&["a", "b"]));
    }
}
