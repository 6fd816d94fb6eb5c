//! Secrets from Key Vault, read with the managed identity: no connection string, no key, no
//! client secret.
//!
//! One [`SecretClient`] lives for the whole process: its first call costs a managed-identity
//! token and Key Vault's authentication challenge, later calls reuse both. For each secret the
//! two newest versions that are *usable* are kept: enabled, past their activation date (`nbf`)
//! and before their expiry (`exp`). They are the current one and the previous one, because the
//! other side of a shared secret (APIM's named value) switches to a new version at a different
//! moment than this server does. Whoever uses them decides how long the previous one still
//! counts ([`gateway_proof`]).
//!
//! **Key Vault never holds up a request that a cached value can serve.** No lock is held across
//! a call to the vault:
//!
//! - Values are cached. Once older than the refresh interval, the next request starts a re-read
//!   in the background and is served from the cache, as are all requests until the re-read
//!   ends; a Key Vault outage costs nothing while a value is cached.
//! - A caller that saw a value it did not expect may ask for a re-read ([`KeyVaultSecrets::look_again`]):
//!   it starts one in the background, never waits for it, and is ignored while a read is in
//!   flight or ended less than [`MIN_REREAD`] ago. A caller that cannot answer without the
//!   newest version (a cursor sealed by another instance that read it first) waits for such a
//!   re-read ([`KeyVaultSecrets::read_again`]), under the same bounds. However many wrong values arrive, the vault
//!   sees at most one read at a time, and none within [`MIN_REREAD`] of the previous one.
//! - Only while nothing is cached does a request wait: for the one read in flight, whoever
//!   started it (single flight). If that read fails, the request gets an error (fail closed) and
//!   the next read waits [`MIN_REREAD`], so a vault that is down is not asked once per request.

pub mod gateway_proof;

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use azure_core::http::ClientOptions;
use azure_security_keyvault_secrets::{
    SecretClient, SecretClientOptions, models::SecretClientGetSecretOptions,
};
use futures::TryStreamExt;
use tokio::{sync::watch, time::Instant};
use url::Url;

use crate::{
    config::SecretString,
    identity::{ManagedIdentity, quick_retries},
    outbound::OutboundHttp,
};

/// Least time between the end of one read of a secret and the start of the next one that a
/// request asks for (a mismatch, or a retry after a failure).
pub const MIN_REREAD: Duration = Duration::from_secs(2);
/// Key Vault calls fail fast: a request waiting on an outage helps no one.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One usable version of a secret.
#[derive(Debug, Clone)]
pub struct SecretVersion {
    /// Key Vault's version id (no secret; logged).
    pub id: String,
    /// The value; its `Debug` is redacted.
    pub value: SecretString,
    /// When the version was created.
    pub created: SystemTime,
    /// When it stops being usable (`exp`), if ever.
    pub expires: Option<SystemTime>,
}

impl SecretVersion {
    /// Whether the version is past its expiry at `now` (it was not when it was read).
    pub fn expired_at(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }
}

/// The values a secret currently has.
#[derive(Debug, Clone)]
pub struct SecretVersions {
    /// The newest usable version.
    pub current: SecretVersion,
    /// The usable version before it, if any.
    pub previous: Option<SecretVersion>,
}

impl SecretVersions {
    /// Version ids, newest first, for logs (never the values).
    pub fn version_ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|version| version.id.as_str())
            .collect()
    }
}

/// Key Vault could not be read, and nothing was cached.
#[derive(Debug)]
pub struct SecretUnavailable(pub String);

pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = Result<SecretVersions, String>> + Send + 'a>>;

/// Where the versions of a secret are read from: Key Vault ([`KeyVaultSecrets::new`]), or in
/// unit tests, a stand-in.
pub trait VersionSource: Send + Sync + 'static {
    /// The current and previous usable versions of `name`.
    fn read<'a>(&'a self, name: &'a str) -> ReadFuture<'a>;
}

struct Cached {
    versions: Arc<SecretVersions>,
    fetched_at: Instant,
}

#[derive(Default)]
struct Entry {
    cached: Option<Cached>,
    /// When the last read started, or ended if it has.
    last_attempt: Option<Instant>,
    last_error: Option<String>,
    /// Set while a read is in flight: becomes `true` when it ends.
    reading: Option<watch::Receiver<bool>>,
}

pub struct KeyVaultSecrets {
    source: Arc<dyn VersionSource>,
    refresh: Duration,
    /// Held only to look at or update an entry, never across a read.
    entries: Mutex<HashMap<String, Entry>>,
}

impl KeyVaultSecrets {
    /// Secrets from the vault at `vault_url`; the client is built on first use, sharing the
    /// process's HTTP client.
    pub fn new(
        vault_url: Url,
        identity: ManagedIdentity,
        http: OutboundHttp,
        refresh: Duration,
    ) -> Arc<Self> {
        Self::with_source(
            Arc::new(KeyVaultSource {
                vault_url,
                identity,
                http,
                client: tokio::sync::OnceCell::new(),
            }),
            refresh,
        )
    }

    /// Secrets read from `source`, cached and refreshed as from Key Vault.
    pub fn with_source(source: Arc<dyn VersionSource>, refresh: Duration) -> Arc<Self> {
        Arc::new(Self {
            source,
            refresh,
            entries: Mutex::default(),
        })
    }

    /// The secret's values: cached, refreshed in the background once stale. Waits only while
    /// nothing is cached.
    pub async fn versions(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<Arc<SecretVersions>, SecretUnavailable> {
        let mut done = {
            let mut entries = self.lock();
            let entry = entries.entry(name.to_owned()).or_default();
            if let Some(cached) = &entry.cached {
                let versions = Arc::clone(&cached.versions);
                if cached.fetched_at.elapsed() >= self.refresh && may_start(entry) {
                    self.start_read(name, entry);
                }
                return Ok(versions);
            }
            match in_flight(entry) {
                Some(reading) => reading,
                // A read just failed: fail fast rather than queue every request behind another
                // attempt at a vault that is down.
                None if !may_start(entry) => {
                    return Err(SecretUnavailable(
                        entry
                            .last_error
                            .clone()
                            .unwrap_or_else(|| "Key Vault was unreachable moments ago".into()),
                    ));
                }
                None => self.start_read(name, entry),
            }
        };
        // Ends when the read does (or its task is gone); the entry then says how it went.
        let _ = done.wait_for(|done| *done).await;
        let entries = self.lock();
        let entry = entries.get(name);
        match entry.and_then(|entry| entry.cached.as_ref()) {
            Some(cached) => Ok(Arc::clone(&cached.versions)),
            None => Err(SecretUnavailable(
                entry
                    .and_then(|entry| entry.last_error.clone())
                    .unwrap_or_else(|| "the Key Vault read did not finish".into()),
            )),
        }
    }

    /// Asks for a re-read of `name` in the background, because a caller saw a value it did not
    /// expect: ignored while a read is in flight or ended less than [`MIN_REREAD`] ago. Never
    /// waits.
    pub fn look_again(self: &Arc<Self>, name: &str) {
        let mut entries = self.lock();
        let entry = entries.entry(name.to_owned()).or_default();
        if may_start(entry) {
            self.start_read(name, entry);
        }
    }

    /// Reads `name` again and waits for the read, because a caller holds a value made with a
    /// version this process may not have seen yet (another instance read it first). Bounded
    /// like [`Self::look_again`]: it joins a read in flight, and within [`MIN_REREAD`] of the
    /// last read it answers from the cache without asking the vault.
    pub async fn read_again(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<Arc<SecretVersions>, SecretUnavailable> {
        let reading = {
            let mut entries = self.lock();
            let entry = entries.entry(name.to_owned()).or_default();
            match in_flight(entry) {
                Some(reading) => Some(reading),
                None if may_start(entry) => Some(self.start_read(name, entry)),
                None => None,
            }
        };
        if let Some(mut done) = reading {
            let _ = done.wait_for(|done| *done).await;
        }
        self.versions(name).await
    }

    /// Starts a read in its own task; the returned receiver turns `true` when it ends.
    fn start_read(self: &Arc<Self>, name: &str, entry: &mut Entry) -> watch::Receiver<bool> {
        let (done_tx, done) = watch::channel(false);
        entry.reading = Some(done.clone());
        entry.last_attempt = Some(Instant::now());
        let (this, name) = (Arc::clone(self), name.to_owned());
        tokio::spawn(async move {
            let read = tokio::time::timeout(CALL_TIMEOUT, this.source.read(&name))
                .await
                .unwrap_or_else(|_| {
                    Err(format!("Key Vault did not answer within {CALL_TIMEOUT:?}"))
                });
            match &read {
                Ok(versions) => tracing::info!(
                    secret = %name,
                    versions = ?versions.version_ids(),
                    "secret read from Key Vault"
                ),
                Err(why) => {
                    tracing::warn!(secret = %name, %why, "secret could not be read from Key Vault")
                }
            }
            {
                let mut entries = this.lock();
                let entry = entries.entry(name).or_default();
                entry.reading = None;
                entry.last_attempt = Some(Instant::now());
                match read {
                    Ok(versions) => {
                        entry.cached = Some(Cached {
                            versions: Arc::new(versions),
                            fetched_at: Instant::now(),
                        });
                        entry.last_error = None;
                    }
                    // The cached values, if any, keep serving.
                    Err(why) => entry.last_error = Some(why),
                }
            }
            let _ = done_tx.send(true);
        });
        done
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The read in flight, if any (a read whose task is gone without a word is none).
fn in_flight(entry: &Entry) -> Option<watch::Receiver<bool>> {
    entry
        .reading
        .as_ref()
        .filter(|reading| reading.has_changed().is_ok())
        .cloned()
}

/// Whether a read may start now: none is in flight, and the last one is old enough.
fn may_start(entry: &Entry) -> bool {
    in_flight(entry).is_none()
        && entry
            .last_attempt
            .is_none_or(|at| at.elapsed() >= MIN_REREAD)
}

/// The secrets of one vault, through the SDK.
struct KeyVaultSource {
    vault_url: Url,
    identity: ManagedIdentity,
    http: OutboundHttp,
    client: tokio::sync::OnceCell<SecretClient>,
}

impl KeyVaultSource {
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

    /// The two newest usable versions, newest first.
    async fn read_versions(&self, name: &str) -> Result<SecretVersions, String> {
        let described = |error: azure_core::Error| format!("Key Vault: {}", error.kind());
        let client = self.client().await?;
        let now = azure_core::time::OffsetDateTime::now_utc();
        let mut listed = Vec::new();
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
            let (Some(true), Some(created), Some(version)) =
                (attributes.enabled, attributes.created, version)
            else {
                continue;
            };
            // Key Vault serves values outside their dates; honouring them is the reader's job.
            let active = attributes
                .not_before
                .is_none_or(|not_before| not_before <= now);
            let live = attributes.expires.is_none_or(|expires| expires > now);
            if active && live {
                listed.push((created, version, attributes.expires));
            }
        }
        // Key Vault stamps versions in whole seconds: two versions written within one second
        // have no order, which a rotation (minutes apart from the last) never produces.
        listed.sort_by_key(|(created, ..)| std::cmp::Reverse(*created));
        listed.truncate(2);
        if listed.is_empty() {
            return Err(format!(
                "secret `{name}` has no enabled version within its dates"
            ));
        }
        let mut versions = Vec::with_capacity(listed.len());
        for (created, version, expires) in listed {
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
            versions.push(SecretVersion {
                id: version,
                value: secret.value.ok_or("a secret version has no value")?.into(),
                created: created.into(),
                expires: expires.map(SystemTime::from),
            });
        }
        let mut versions = versions.into_iter();
        Ok(SecretVersions {
            current: versions.next().expect("one usable version at least"),
            previous: versions.next(),
        })
    }
}

impl VersionSource for KeyVaultSource {
    fn read<'a>(&'a self, name: &'a str) -> ReadFuture<'a> {
        Box::pin(self.read_versions(name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A vault stand-in: answers `versions` after `delay`, counting reads.
    pub(crate) struct FakeVault {
        pub(crate) versions: Mutex<Result<SecretVersions, String>>,
        pub(crate) delay: Duration,
        pub(crate) reads: AtomicUsize,
    }

    impl FakeVault {
        pub(crate) fn new(versions: SecretVersions, delay: Duration) -> Arc<Self> {
            Arc::new(Self {
                versions: Mutex::new(Ok(versions)),
                delay,
                reads: AtomicUsize::new(0),
            })
        }

        pub(crate) fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl VersionSource for FakeVault {
        fn read<'a>(&'a self, _name: &'a str) -> ReadFuture<'a> {
            Box::pin(async move {
                self.reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                self.versions.lock().unwrap().clone()
            })
        }
    }

    pub(crate) fn version(id: &str, value: &str, age: Duration) -> SecretVersion {
        SecretVersion {
            id: id.into(),
            value: value.into(),
            created: SystemTime::now() - age,
            expires: None,
        }
    }

    fn versions(current: &str) -> SecretVersions {
        SecretVersions {
            current: version("v2", current, Duration::from_secs(60)),
            previous: Some(version(
                "v1",
                "previous-value-0a1b",
                Duration::from_secs(3600),
            )),
        }
    }

    /// Lets spawned reads run (time is paused: sleeping advances it).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret_value() {
        let versions = SecretVersions {
            current: version("0f3a", "secret-current-4b1f9e2a", Duration::ZERO),
            previous: Some(version("9c1e", "secret-previous-7d3c8a51", Duration::ZERO)),
        };
        let shown = format!("{versions:?} {:?}", versions.current);
        for value in ["secret-current-4b1f9e2a", "secret-previous-7d3c8a51"] {
            assert!(!shown.contains(value), "{shown}");
        }
        assert!(shown.contains("0f3a"), "version ids are no secret: {shown}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_value_keeps_serving_while_one_refresh_runs_in_the_background() {
        let vault = FakeVault::new(versions("first-value-5c2d"), Duration::from_secs(5));
        let secrets = KeyVaultSecrets::with_source(vault.clone(), Duration::from_secs(10));
        // Cold: the first request waits for the first read.
        let first = secrets.versions("proof").await.unwrap();
        assert_eq!(first.current.value.expose(), "first-value-5c2d");
        assert_eq!(vault.reads(), 1);

        tokio::time::sleep(Duration::from_secs(11)).await;
        *vault.versions.lock().unwrap() = Ok(versions("second-value-9e8f"));
        // Stale: every request is answered from the cache at once, while one read runs.
        for _ in 0..50 {
            let served = tokio::time::timeout(Duration::ZERO, secrets.versions("proof"))
                .await
                .expect("answered without waiting")
                .unwrap();
            assert_eq!(served.current.value.expose(), "first-value-5c2d");
        }
        settle().await;
        assert_eq!(vault.reads(), 2, "one background refresh");
        tokio::time::sleep(Duration::from_secs(6)).await;
        let refreshed = secrets.versions("proof").await.unwrap();
        assert_eq!(refreshed.current.value.expose(), "second-value-9e8f");
    }

    #[tokio::test(start_paused = true)]
    async fn looking_again_never_waits_and_starts_at_most_one_read_per_interval() {
        let vault = FakeVault::new(versions("first-value-5c2d"), Duration::from_secs(5));
        let secrets = KeyVaultSecrets::with_source(vault.clone(), Duration::from_secs(300));
        secrets.versions("proof").await.unwrap();
        assert_eq!(vault.reads(), 1);

        // Right after a read: nothing, however often asked.
        for _ in 0..100 {
            secrets.look_again("proof");
        }
        settle().await;
        assert_eq!(vault.reads(), 1);

        // Later: one read, and none more while it is in flight or just after it ended.
        tokio::time::sleep(MIN_REREAD).await;
        for _ in 0..100 {
            secrets.look_again("proof");
            let served = tokio::time::timeout(Duration::ZERO, secrets.versions("proof")).await;
            assert!(served.is_ok(), "served from the cache while the read runs");
        }
        settle().await;
        assert_eq!(vault.reads(), 2);
        tokio::time::sleep(Duration::from_secs(5)).await;
        settle().await;
        secrets.look_again("proof");
        settle().await;
        assert_eq!(vault.reads(), 2, "the last read ended moments ago");
        tokio::time::sleep(MIN_REREAD).await;
        secrets.look_again("proof");
        settle().await;
        assert_eq!(vault.reads(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn reading_again_waits_for_one_shared_read_at_most_once_per_interval() {
        let vault = FakeVault::new(versions("first-value-5c2d"), Duration::from_secs(1));
        let secrets = KeyVaultSecrets::with_source(vault.clone(), Duration::from_secs(300));
        secrets.versions("proof").await.unwrap();
        *vault.versions.lock().unwrap() = Ok(versions("second-value-9e8f"));

        // Right after a read: the cache answers, the vault is not asked.
        let cached = secrets.read_again("proof").await.unwrap();
        assert_eq!(cached.current.value.expose(), "first-value-5c2d");
        assert_eq!(vault.reads(), 1);

        // Later: every caller waits for the same one read and gets its result.
        tokio::time::sleep(MIN_REREAD).await;
        let waiting = (0..20).map(|_| secrets.read_again("proof"));
        for read in futures::future::join_all(waiting).await {
            assert_eq!(read.unwrap().current.value.expose(), "second-value-9e8f");
        }
        assert_eq!(vault.reads(), 2, "one read for all of them");
        secrets.read_again("proof").await.unwrap();
        assert_eq!(vault.reads(), 2, "the last read ended moments ago");
    }

    #[tokio::test(start_paused = true)]
    async fn cold_requests_share_one_read_and_fail_closed_then_fast() {
        let vault = FakeVault::new(versions("first-value-5c2d"), Duration::from_secs(1));
        *vault.versions.lock().unwrap() = Err("Key Vault: service unavailable".into());
        let secrets = KeyVaultSecrets::with_source(vault.clone(), Duration::from_secs(300));
        let waiting = (0..10).map(|_| secrets.versions("proof"));
        for result in futures::future::join_all(waiting).await {
            let error = result.unwrap_err();
            assert!(error.0.contains("service unavailable"), "{error:?}");
        }
        assert_eq!(vault.reads(), 1, "single flight");
        // Right after the failure: refused at once, without another read.
        assert!(secrets.versions("proof").await.is_err());
        assert_eq!(vault.reads(), 1);
        *vault.versions.lock().unwrap() = Ok(versions("first-value-5c2d"));
        tokio::time::sleep(MIN_REREAD).await;
        assert!(secrets.versions("proof").await.is_ok());
        assert_eq!(vault.reads(), 2);
    }
}
