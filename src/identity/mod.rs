//! Outbound identity without secrets.
//!
//! The server owns no client secret and no certificate. Its user-assigned managed identity is
//! the only credential: the platform hands out its tokens (`IDENTITY_ENDPOINT`), and
//! `azure_identity` fetches and caches them.
//!
//! - For Key Vault, the identity's token authenticates directly.
//! - For Microsoft Graph, the server acts **on behalf of** the caller ([`obo`]): it presents the
//!   caller's token as the assertion and its managed identity's token for
//!   `api://AzureADTokenExchange` as the client assertion, which the app registration trusts
//!   through a federated identity credential. Entra answers with a Graph token for that user and
//!   exactly the scopes asked for. The caller's token goes to the Entra token endpoint and nowhere
//!   else; the Graph token is opaque to this server and never leaves it.

pub mod obo;

use std::sync::Arc;

use azure_core::{
    credentials::TokenCredential,
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions},
};
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use tokio::sync::OnceCell;

use crate::{config::SecretString, outbound::OutboundHttp};

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
