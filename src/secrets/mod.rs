//! Secrets from Key Vault, read with the managed identity: no connection string, no key, no
//! client secret.
//!
//! One [`SecretClient`] lives for the whole process: its first call costs a managed-identity
//! token and Key Vault's authentication challenge, later calls reuse both. For each secret the
//! two newest *enabled* versions are kept: the current one and the previous one, because the
//! other side of a shared secret (APIM's named value) switches to a new version at a different
//! moment than this server does.
//!
//! Values are cached. Once older than the refresh interval they are re-read in the background
//! while the cached ones keep serving, so a rotation is picked up without a restart and a
//! Key Vault outage costs nothing while a value is cached. Only the very first read waits, and
//! if it fails the caller gets an error (fail closed); further attempts wait [`MIN_REREAD`]. A caller that just saw a value it did not
//! expect may ask for an immediate re-read, at most once per [`MIN_REREAD`].

pub mod gateway_proof;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use azure_core::http::ClientOptions;
use azure_security_keyvault_secrets::{
    SecretClient, SecretClientOptions, models::SecretClientGetSecretOptions,
};
use futures::TryStreamExt;
use url::Url;

use crate::{
    identity::{ManagedIdentity, quick_retries},
    outbound::OutboundHttp,
};

/// Least time between two reads of one secret forced by a caller.
pub const MIN_REREAD: Duration = Duration::from_secs(2);
/// Key Vault calls fail fast: a request waiting on an outage helps no one.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The values a secret currently has.
#[derive(Debug)]
pub struct SecretVersions {
    pub current: String,
    /// The previous enabled version, if any.
    pub previous: Option<String>,
    /// Version ids, for logs (never the values).
    pub version_ids: Vec<String>,
}

/// Key Vault could not be read, and nothing was cached.
#[derive(Debug)]
pub struct SecretUnavailable(pub String);

struct Cached {
    versions: Arc<SecretVersions>,
    fetched_at: Instant,
}

#[derive(Default)]
struct Entry {
    cached: Option<Cached>,
    last_attempt: Option<Instant>,
}

pub struct KeyVaultSecrets {
    vault_url: Url,
    identity: ManagedIdentity,
    http: OutboundHttp,
    client: tokio::sync::OnceCell<SecretClient>,
    refresh: Duration,
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Entry>>>>,
}

impl KeyVaultSecrets {
    /// The client is built on first use, sharing the process's HTTP client.
    pub fn new(
        vault_url: Url,
        identity: ManagedIdentity,
        http: OutboundHttp,
        refresh: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            vault_url,
            identity,
            http,
            client: tokio::sync::OnceCell::new(),
            refresh,
            entries: Mutex::default(),
        })
    }

    async fn client(&self) -> Result<&SecretClient, String> {
        self.client
            .get_or_try_init(|| async {
                let credential = self.identity.credential().await.map_err(|why| why.0)?;
                let transport = self.http.key_vault_transport().await;
                let options = SecretClientOptions {
                    client_options: ClientOptions {
                        retry: quick_retries(),
                        transport: Some(transport),
                        ..ClientOptions::default()
                    },
                    ..SecretClientOptions::default()
                };
                SecretClient::new(self.vault_url.as_str(), credential, Some(options))
                    .map_err(|error| format!("Key Vault client: {error}"))
            })
            .await
    }

    /// The secret's values: cached, refreshed in the background once stale.
    pub async fn versions(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<Arc<SecretVersions>, SecretUnavailable> {
        let entry = self.entry(name);
        let mut guard = entry.lock().await;
        if let Some(cached) = &guard.cached {
            let versions = Arc::clone(&cached.versions);
            if cached.fetched_at.elapsed() >= self.refresh
                && guard
                    .last_attempt
                    .is_none_or(|at| at.elapsed() >= MIN_REREAD)
            {
                guard.last_attempt = Some(Instant::now());
                drop(guard);
                let (this, name) = (Arc::clone(self), name.to_owned());
                tokio::spawn(async move {
                    let entry = this.entry(&name);
                    let mut guard = entry.lock().await;
                    this.read_into(&name, &mut guard).await.ok();
                });
            }
            return Ok(versions);
        }
        // Nothing cached and a read just failed: fail fast rather than queue every request
        // behind another attempt at a vault that is down.
        if guard
            .last_attempt
            .is_some_and(|at| at.elapsed() < MIN_REREAD)
        {
            return Err(SecretUnavailable(
                "Key Vault was unreachable moments ago".into(),
            ));
        }
        self.read_into(name, &mut guard).await
    }

    /// Re-reads now, unless a read happened less than [`MIN_REREAD`] ago; returns the values
    /// that are current afterwards.
    pub async fn reread(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<Arc<SecretVersions>, SecretUnavailable> {
        let entry = self.entry(name);
        let mut guard = entry.lock().await;
        let recent = guard
            .last_attempt
            .is_some_and(|at| at.elapsed() < MIN_REREAD);
        match (&guard.cached, recent) {
            (Some(cached), true) => Ok(Arc::clone(&cached.versions)),
            _ => self.read_into(name, &mut guard).await,
        }
    }

    fn entry(&self, name: &str) -> Arc<tokio::sync::Mutex<Entry>> {
        let mut entries = self.entries.lock().expect("secret cache lock");
        Arc::clone(entries.entry(name.to_owned()).or_default())
    }

    /// Reads the secret into `entry`, keeping the cached values if the read fails.
    async fn read_into(
        &self,
        name: &str,
        entry: &mut Entry,
    ) -> Result<Arc<SecretVersions>, SecretUnavailable> {
        entry.last_attempt = Some(Instant::now());
        let read = tokio::time::timeout(CALL_TIMEOUT, self.read(name))
            .await
            .unwrap_or_else(|_| Err(format!("Key Vault did not answer within {CALL_TIMEOUT:?}")));
        match read {
            Ok(versions) => {
                tracing::info!(
                    secret = name,
                    versions = ?versions.version_ids,
                    "secret read from Key Vault"
                );
                let versions = Arc::new(versions);
                entry.cached = Some(Cached {
                    versions: Arc::clone(&versions),
                    fetched_at: Instant::now(),
                });
                Ok(versions)
            }
            Err(why) => {
                tracing::warn!(secret = name, %why, "secret could not be read from Key Vault");
                match &entry.cached {
                    Some(cached) => Ok(Arc::clone(&cached.versions)),
                    None => Err(SecretUnavailable(why)),
                }
            }
        }
    }

    /// The two newest enabled versions, newest first.
    async fn read(&self, name: &str) -> Result<SecretVersions, String> {
        let described = |error: azure_core::Error| format!("Key Vault: {}", error.kind());
        let client = self.client().await?;
        let mut listed: Vec<(azure_core::time::OffsetDateTime, String)> = Vec::new();
        let mut pages = client
            .list_secret_properties_versions(name, None)
            .map_err(described)?;
        while let Some(properties) = pages.try_next().await.map_err(described)? {
            let attributes = properties.attributes.unwrap_or_default();
            let version = properties
                .id
                .as_deref()
                .and_then(|id| id.rsplit('/').next())
                .map(str::to_owned);
            if let (Some(true), Some(created), Some(version)) =
                (attributes.enabled, attributes.created, version)
            {
                listed.push((created, version));
            }
        }
        // Key Vault stamps versions in whole seconds: two versions written within one second
        // have no order, which a rotation (minutes apart from the last) never produces.
        listed.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        listed.truncate(2);
        if listed.is_empty() {
            return Err(format!("secret `{name}` has no enabled version"));
        }
        let mut values = Vec::with_capacity(listed.len());
        for (_, version) in &listed {
            let secret = client
                .get_secret(
                    name,
                    Some(SecretClientGetSecretOptions {
                        secret_version: Some(version.clone()),
                        ..Default::default()
                    }),
                )
                .await
                .map_err(described)?
                .into_model()
                .map_err(described)?;
            values.push(secret.value.ok_or("a secret version has no value")?);
        }
        let mut values = values.into_iter();
        Ok(SecretVersions {
            current: values.next().expect("one enabled version at least"),
            previous: values.next(),
            version_ids: listed.into_iter().map(|(_, version)| version).collect(),
        })
    }
}
