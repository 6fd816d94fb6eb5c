//! The tenant's token-signing keys, fetched from its OpenID metadata and cached.
//!
//! Entra publishes signing keys at the `jwks_uri` of
//! `{authority}/{tenant}/v2.0/.well-known/openid-configuration` and rolls them without notice in
//! emergencies. The cache follows Entra's guidance:
//!
//! - **Lazy**: nothing is fetched before the first token arrives, so start-up stays instant.
//! - **Scheduled refresh**: keys older than a day are refreshed in the background while the
//!   cached ones keep serving.
//! - **Unknown `kid`**: one refresh, at most once per cooldown (default five minutes), so a
//!   stream of tokens with made-up key ids cannot turn the server into a JWKS hammer. The
//!   cooldown runs from the last refresh an unknown key id caused, not from the first fetch or a
//!   scheduled refresh: an emergency rotation minutes after start-up is picked up by its first
//!   token.
//! - **Single flight**: however many requests need a refresh, one fetch runs; the others wait for
//!   it and then read its result.
//! - **Last known good**: a failed refresh keeps the keys we have. With no keys at all, requests
//!   are refused as *unavailable* (503), never accepted, and fetches are retried at most every
//!   few seconds rather than once per request. The same holds for a key id the cache lacks while
//!   the last fetch failed: the key may well be the issuer's (a rotation during the outage), so
//!   the token is not called invalid (401, which sends a client to sign in again for nothing)
//!   but unverifiable for now (503 with `Retry-After`), and the keys are fetched again after a
//!   few seconds rather than after the cooldown.
//!
//! Only RSA signature keys are kept; the URL in the metadata must be https (loopback http for
//! local development), like the authority itself. Neither document is read beyond
//! [`MAX_DOCUMENT_BYTES`]: Entra's are a few kilobytes.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::{
    DecodingKey,
    jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse},
};
use serde::Deserialize;
use url::Url;

use super::validated::KeySet;
use crate::{
    config::is_loopback_host,
    outbound::{BodyError, OutboundHttp, read_capped},
};

/// Keys older than this are refreshed in the background.
const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// With no keys at all, the least time between two fetch attempts.
pub const EMPTY_RETRY: Duration = Duration::from_secs(5);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest OpenID metadata or JWKS document read.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The answer for one key id.
pub enum KeyLookup {
    Found(Arc<DecodingKey>),
    /// The issuer does not (or no longer) publish this key.
    Unknown,
    /// No keys are available: the issuer has not been reachable yet.
    Unavailable,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    /// When an unknown key id last caused a fetch: the cooldown counts from here.
    last_unknown_key_fetch: Option<Instant>,
    /// Counts fetch attempts, so a waiter can tell that a refresh happened while it waited.
    attempts: u64,
    /// The last fetch failed: a key id not in the cache may be the issuer's all the same.
    last_failed: bool,
}

pub struct SigningKeys {
    http: OutboundHttp,
    discovery_url: String,
    expected_issuer: String,
    cooldown: Duration,
    cache: RwLock<Cache>,
    refresh: tokio::sync::Mutex<()>,
    /// Counts the key sets installed, so whoever remembers what a key verified can tell that the
    /// set changed.
    generation: AtomicU64,
}

/// Why a fetch is wanted, which decides how soon after an earlier one it may run.
#[derive(Clone, Copy)]
enum Reason {
    /// The keys are older than [`MAX_AGE`].
    Scheduled,
    /// A token names a key id the cache lacks.
    UnknownKey,
    /// No keys, or the last fetch failed: retried every [`EMPTY_RETRY`].
    Unavailable,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl SigningKeys {
    pub fn new(
        http: OutboundHttp,
        expected_issuer: String,
        cooldown: Duration,
    ) -> Arc<SigningKeys> {
        Arc::new(SigningKeys {
            http,
            discovery_url: format!("{expected_issuer}/.well-known/openid-configuration"),
            expected_issuer,
            cooldown,
            cache: RwLock::default(),
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        })
    }

    /// How many key sets were installed so far: it changes whenever keys may have been retired.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The key with id `kid`, fetching or refreshing the set when the rules above allow.
    pub async fn find(self: &Arc<Self>, kid: &str) -> KeyLookup {
        let (found, stale, unsure, attempts) = {
            let cache = self.cache.read().expect("key cache lock");
            (
                cache.keys.get(kid).cloned(),
                cache.fetched_at.is_none_or(|at| at.elapsed() > MAX_AGE),
                cache.keys.is_empty() || cache.last_failed,
                cache.attempts,
            )
        };
        if let Some(key) = found {
            if stale {
                let keys = Arc::clone(self);
                tokio::spawn(async move { keys.refresh(attempts, Reason::Scheduled).await });
            }
            return KeyLookup::Found(key);
        }
        let reason = if unsure {
            Reason::Unavailable
        } else {
            Reason::UnknownKey
        };
        self.refresh(attempts, reason).await;
        let cache = self.cache.read().expect("key cache lock");
        match cache.keys.get(kid) {
            Some(key) => KeyLookup::Found(Arc::clone(key)),
            None if cache.keys.is_empty() || cache.last_failed => KeyLookup::Unavailable,
            None => KeyLookup::Unknown,
        }
    }

    /// Fetches the key set, once for everyone who observed `seen_attempts`: a caller that waited
    /// while another fetch ran uses that fetch's result instead of starting its own, and no
    /// fetch starts sooner after an earlier one than its `reason` allows. Both are decided under
    /// the single-flight lock, so a request that arrives during a fetch waits for it.
    async fn refresh(&self, seen_attempts: u64, reason: Reason) {
        let _single_flight = self.refresh.lock().await;
        {
            let mut cache = self.cache.write().expect("key cache lock");
            let within =
                |at: Option<Instant>, interval| at.is_some_and(|at| at.elapsed() < interval);
            let too_soon = match reason {
                Reason::Scheduled => within(cache.last_attempt, self.cooldown),
                Reason::UnknownKey => within(cache.last_unknown_key_fetch, self.cooldown),
                Reason::Unavailable => within(cache.last_attempt, EMPTY_RETRY),
            };
            if cache.attempts != seen_attempts || too_soon {
                return;
            }
            cache.attempts += 1;
            let now = Instant::now();
            cache.last_attempt = Some(now);
            if matches!(reason, Reason::UnknownKey) {
                cache.last_unknown_key_fetch = Some(now);
            }
        }
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "token signing keys refreshed");
                let mut cache = self.cache.write().expect("key cache lock");
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                cache.last_failed = false;
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
            Err(why) => {
                tracing::warn!(%why, "token signing keys could not be refreshed; keeping the last known keys");
                self.cache.write().expect("key cache lock").last_failed = true;
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
        let discovery: Discovery = self.get_json(&self.discovery_url).await?;
        if discovery.issuer != self.expected_issuer {
            return Err(format!(
                "the OpenID metadata names issuer {} instead of {}: check MCP_AUTHORITY_HOST and MCP_TENANT_ID",
                discovery.issuer, self.expected_issuer
            ));
        }
        let jwks_uri = Url::parse(&discovery.jwks_uri)
            .map_err(|_| "the OpenID metadata's jwks_uri is not a URL".to_owned())?;
        if jwks_uri.scheme() != "https"
            && !(jwks_uri.scheme() == "http" && is_loopback_host(&jwks_uri))
        {
            return Err("the OpenID metadata's jwks_uri is not https".to_owned());
        }
        let set: JwkSet = self.get_json(jwks_uri.as_str()).await?;
        let keys: HashMap<_, _> = set
            .keys
            .iter()
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
            .filter(|jwk| {
                matches!(
                    jwk.common.public_key_use,
                    None | Some(PublicKeyUse::Signature)
                )
            })
            .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, Arc::new(key)))
            })
            .collect();
        if keys.is_empty() {
            return Err("the JWKS holds no RSA signing key".to_owned());
        }
        Ok(keys)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        // Plain http on loopback (a local issuer) needs no certificates: see `client_for`.
        let parsed = Url::parse(url).map_err(|_| format!("{url} is not a URL"))?;
        let response = self
            .http
            .client_for(&parsed)
            .await
            .get(parsed)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|error| format!("GET {url} failed: {}", without_url(&error)))?;
        if !response.status().is_success() {
            return Err(format!("GET {url} answered {}", response.status()));
        }
        let body =
            read_capped(response, MAX_DOCUMENT_BYTES)
                .await
                .map_err(|error| match error {
                    BodyError::TooLarge { limit } => {
                        format!("GET {url} answered with more than {limit} bytes; not read on")
                    }
                    BodyError::Interrupted { timeout: true } => format!("GET {url} timed out"),
                    BodyError::Interrupted { timeout: false } => {
                        format!("GET {url}: the answer broke off")
                    }
                })?;
        serde_json::from_slice(&body)
            .map_err(|_| format!("GET {url} did not return the expected JSON"))
    }
}

impl KeySet for SigningKeys {
    fn published(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.cache
            .read()
            .expect("key cache lock")
            .keys
            .get(kid)
            .cloned()
    }
}

/// reqwest's messages repeat the URL; the caller already names it.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request error"
    };
    kind.to_owned()
}
