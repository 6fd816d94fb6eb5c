//! The one HTTP client for calls out of the process (the tenant's OpenID metadata and keys, the
//! token endpoint, the managed identity endpoint, Key Vault, Graph), shared so connections and
//! TLS sessions are reused.
//!
//! Building it costs a few milliseconds (rustls loads the system's root certificates), which
//! must not delay the port the Functions host is polling. So it is built once, on a blocking
//! thread, starting right after the port is bound, and the first outbound call waits for it.

use std::{sync::Arc, time::Duration};

use tokio::{sync::OnceCell, time::Instant};

/// What every outbound call made for one MCP request carries: when it must end, and which
/// request it serves. Each outbound log event names that request (`request_id`, as the request
/// event does), so an operator can tie a Graph call or a token exchange to its MCP request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub deadline: Instant,
    pub request_id: &'a str,
}

#[derive(Clone, Default)]
pub struct OutboundHttp {
    client: Arc<OnceCell<reqwest::Client>>,
    /// Where Key Vault's requests go instead, if anywhere (see [`OutboundHttp::with_key_vault_transport`]).
    key_vault_transport: Option<azure_core::http::Transport>,
    /// Test hosts the broker may reach (see [`TestNetwork`]); `None` in every deployment.
    test_network: Option<Arc<TestNetwork>>,
}

/// What only the tests' network has: an https server on loopback whose certificate a test CA
/// signed (Azurite, a host serving Client ID Metadata Documents), and names for it. Only local
/// mode builds one, from settings that only the devstack build reads; the deployed build has no
/// code that sets it. The broker trusts the CA only for a loopback Blob endpoint and for these
/// names, and the names may only point at loopback addresses.
#[derive(Debug, Clone)]
pub struct TestNetwork {
    /// PEM certificate of the test CA.
    pub ca_pem: Vec<u8>,
    /// Host names and the loopback address each stands for.
    pub hosts: Vec<(String, std::net::IpAddr)>,
}

impl OutboundHttp {
    /// Hands Key Vault's requests to `transport` instead of the shared client. Only the local
    /// stand-ins need this: the Key Vault SDK sends nothing to a vault that is not https and
    /// under `vault.azure.net` (which is right), so the stand-in is reached through a transport
    /// that delivers the vault's requests to it, after every SDK policy has checked them.
    pub fn with_key_vault_transport(transport: azure_core::http::Transport) -> Self {
        Self {
            key_vault_transport: Some(transport),
            ..Self::default()
        }
    }

    /// Lets the broker reach the tests' https hosts (see [`TestNetwork`]).
    pub fn with_test_network(mut self, network: TestNetwork) -> Self {
        self.test_network = Some(Arc::new(network));
        self
    }

    pub fn test_network(&self) -> Option<&Arc<TestNetwork>> {
        self.test_network.as_ref()
    }

    /// Starts building the client in the background.
    pub fn warm_up(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            this.client().await;
        });
    }

    pub async fn client(&self) -> &reqwest::Client {
        self.client
            .get_or_init(|| async {
                tokio::task::spawn_blocking(build)
                    .await
                    .expect("building the HTTP client does not panic")
            })
            .await
    }
}

impl OutboundHttp {
    /// The same client as an Azure SDK transport, so SDK clients share its connections and
    /// certificates instead of building their own.
    pub async fn azure_transport(&self) -> azure_core::http::Transport {
        azure_core::http::Transport::new(Arc::new(self.client().await.clone()))
    }

    /// The transport for Key Vault's SDK client.
    pub async fn key_vault_transport(&self) -> azure_core::http::Transport {
        match &self.key_vault_transport {
            Some(transport) => transport.clone(),
            None => self.azure_transport().await,
        }
    }
}

fn build() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("m365-mcp-handler/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
        .build()
        .expect("HTTP client builds")
}

/// A random wait in `[0, up_to]`, so retries from many instances do not line up.
pub fn jitter(up_to: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    let millis = up_to.as_millis() as u64;
    Duration::from_millis(u64::from_le_bytes(bytes) % (millis + 1))
}
