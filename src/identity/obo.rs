//! The on-behalf-of exchange: the caller's token in, a Graph token for that user out.
//!
//! `POST {authority}/{tenant}/oauth2/v2.0/token` with the `jwt-bearer` grant,
//! `requested_token_use=on_behalf_of`, the caller's token as `assertion`, and the managed
//! identity's token as `client_assertion` (no secret: a federated credential). `azure_identity`
//! has no on-behalf-of credential, so this is the form post itself.
//!
//! Graph tokens are cached per (SHA-256 of the caller's token, scopes), as MSAL's on-behalf-of
//! cache keys them, until shortly before they expire, and exchanged at most once at a time per
//! key: however many calls with one token arrive together, one exchange runs and the others
//! wait for its token. Never per user alone: a Graph token obtained for one of a user's tokens
//! must not serve another (another client application, or a token Conditional Access would
//! block) without Entra evaluating it. When Graph refuses a cached token (401), the tool marks it
//! ([`GraphToken::refused_by_graph`]) and the next call exchanges again. The cache is bounded.
//!
//! Entra's answers map to what the caller can act on: missing consent (AADSTS65001) and
//! Conditional Access claims challenges are distinct errors; an unreachable Entra is retried
//! with backoff inside the request's deadline.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use aws_lc_rs::digest;

use serde::Deserialize;
use tokio::time::Instant;

use super::ManagedIdentity;
use crate::{
    caller::{Caller, CallerKind},
    outbound::{BodyError, Call, OutboundHttp, jitter, read_capped},
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A cached token is replaced this long before it expires (less for very short-lived tokens).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Entries kept at most; beyond it, expired entries go first.
const CAPACITY: usize = 10_000;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The token endpoint's answers are a few kilobytes; nothing larger is read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A Graph access token. Opaque: never parsed, logged or returned to a client.
#[derive(Clone)]
pub struct GraphToken {
    value: Arc<str>,
    refresh_after: Instant,
    /// Shared with the cached copy: set when Graph refused the token.
    refused: Arc<AtomicBool>,
}

impl GraphToken {
    pub fn bearer(&self) -> &str {
        &self.value
    }

    /// Graph refused this token (HTTP 401: revoked, say): it leaves the cache, and the next call
    /// for the same caller token and scopes exchanges again.
    pub fn refused_by_graph(&self) {
        self.refused.store(true, Ordering::SeqCst);
    }

    /// Whether the cache may still hand it out.
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
}

impl ExchangeError {
    /// A stable code for logs and alerts; never the text Entra sent.
    pub fn code(&self) -> &'static str {
        match self {
            ExchangeError::NotAUser => "not_a_user",
            ExchangeError::ConsentRequired => "consent_required",
            ExchangeError::ClaimsChallenge { .. } => "claims_challenge",
            ExchangeError::IdentityUnavailable => "identity_unavailable",
            ExchangeError::EntraUnreachable => "entra_unreachable",
            ExchangeError::Rejected { .. } => "rejected",
        }
    }
}

/// One caller token (by its SHA-256, which is no use to anyone who reads it from memory) and
/// one set of scopes.
#[derive(Hash, PartialEq, Eq, Clone)]
struct CacheKey {
    token_digest: [u8; 32],
    scopes: String,
}

impl CacheKey {
    fn new(caller: &Caller, scopes: String) -> Self {
        let digest = digest::digest(&digest::SHA256, caller.token.expose().as_bytes());
        Self {
            token_digest: digest.as_ref().try_into().expect("SHA-256 is 32 bytes"),
            scopes,
        }
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<GraphToken>>>;

pub struct OnBehalfOf {
    http: OutboundHttp,
    token_endpoint: String,
    client_id: String,
    identity: ManagedIdentity,
    cache: Mutex<HashMap<CacheKey, Slot>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct EntraError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_codes: Vec<u32>,
    claims: Option<String>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

enum Attempt {
    Done(Result<GraphToken, ExchangeError>),
    Retry,
}

impl OnBehalfOf {
    pub fn new(
        http: OutboundHttp,
        token_endpoint: String,
        client_id: String,
        identity: ManagedIdentity,
    ) -> Self {
        Self {
            http,
            token_endpoint,
            client_id,
            identity,
            cache: Mutex::default(),
        }
    }

    /// A Graph token for `caller` with `scopes` (full names, e.g.
    /// `https://graph.microsoft.com/User.Read`), from the cache or from one exchange.
    pub async fn graph_token(
        &self,
        caller: &Caller,
        scopes: &[String],
        call: Call<'_>,
    ) -> Result<GraphToken, ExchangeError> {
        if caller.kind != CallerKind::User {
            return Err(ExchangeError::NotAUser);
        }
        let mut sorted = scopes.to_vec();
        sorted.sort();
        sorted.dedup();
        let key = CacheKey::new(caller, sorted.join(" "));
        let slot = self.slot(&key);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.usable(Instant::now())) {
            call.record.exchange("cached");
            return Ok(token.clone());
        }
        let exchanged = self.exchange(caller, &key.scopes, call).await;
        call.record.exchange(match &exchanged {
            Ok(_) => "exchanged",
            Err(error) => error.code(),
        });
        let token = exchanged?;
        *cached = Some(token.clone());
        Ok(token)
    }

    fn slot(&self, key: &CacheKey) -> Slot {
        let mut cache = self.cache.lock().expect("token cache lock");
        if let Some(slot) = cache.get(key) {
            return Arc::clone(slot);
        }
        if cache.len() >= CAPACITY {
            evict(&mut cache);
        }
        Arc::clone(cache.entry(key.clone()).or_default())
    }

    async fn exchange(
        &self,
        caller: &Caller,
        scopes: &str,
        call: Call<'_>,
    ) -> Result<GraphToken, ExchangeError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.attempt(caller, scopes, call.deadline).await {
                Attempt::Done(result) => {
                    match &result {
                        Ok(_) => tracing::info!(
                            request_id = call.request_id,
                            tid = %caller.tenant_id,
                            oid = %caller.object_id,
                            scopes,
                            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                            "on-behalf-of exchange"
                        ),
                        Err(error) => tracing::warn!(
                            request_id = call.request_id,
                            tid = %caller.tenant_id,
                            oid = %caller.object_id,
                            scopes,
                            ?error,
                            "on-behalf-of exchange refused"
                        ),
                    }
                    return result;
                }
                Attempt::Retry => {
                    let wait = backoff + jitter(backoff / 2);
                    if Instant::now() + wait >= call.deadline {
                        tracing::warn!(
                            request_id = call.request_id,
                            scopes,
                            "Entra unreachable until the deadline"
                        );
                        return Err(ExchangeError::EntraUnreachable);
                    }
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn attempt(&self, caller: &Caller, scopes: &str, deadline: Instant) -> Attempt {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Attempt::Done(Err(ExchangeError::EntraUnreachable));
        }
        let assertion =
            match tokio::time::timeout(remaining, self.identity.federation_assertion()).await {
                Ok(Ok(assertion)) => assertion,
                Ok(Err(why)) => {
                    tracing::warn!(why = %why.0, "managed identity gave no token");
                    return Attempt::Done(Err(ExchangeError::IdentityUnavailable));
                }
                Err(_) => return Attempt::Done(Err(ExchangeError::IdentityUnavailable)),
            };
        let form = [
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "on_behalf_of"),
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.expose()),
            ("assertion", caller.token.expose()),
            ("scope", scopes),
        ];
        let timeout = remaining.min(ATTEMPT_TIMEOUT);
        let sent = self
            .http
            .client()
            .await
            .post(&self.token_endpoint)
            .form(&form)
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(
                    timeout = error.is_timeout(),
                    connect = error.is_connect(),
                    "token endpoint unreachable"
                );
                return Attempt::Retry;
            }
        };
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Attempt::Retry;
        }
        let received = Instant::now();
        let body = match read_capped(response, MAX_ANSWER_BYTES).await {
            Ok(body) => body,
            Err(BodyError::TooLarge { limit }) => {
                tracing::warn!(limit, "the token endpoint's answer exceeded the size cap");
                return Attempt::Done(Err(ExchangeError::Rejected {
                    error: format!("the token endpoint answered with more than {limit} bytes"),
                    code: None,
                }));
            }
            Err(BodyError::Interrupted { timeout }) => {
                tracing::warn!(timeout, "the token endpoint's answer broke off");
                return Attempt::Retry;
            }
        };
        if status.is_success() {
            return Attempt::Done(match serde_json::from_slice::<TokenAnswer>(&body) {
                Ok(answer) => {
                    let lifetime = Duration::from_secs(answer.expires_in);
                    let margin = EXPIRY_MARGIN.min(lifetime / 2);
                    Ok(GraphToken {
                        value: answer.access_token.into(),
                        refresh_after: received + lifetime - margin,
                        refused: Arc::default(),
                    })
                }
                Err(_) => Err(ExchangeError::Rejected {
                    error: "the token endpoint's answer was not a token".into(),
                    code: None,
                }),
            });
        }
        let error: EntraError = serde_json::from_slice(&body).unwrap_or_default();
        tracing::warn!(
            status = status.as_u16(),
            error = %error.error,
            codes = ?error.error_codes,
            trace_id = error.trace_id.as_deref(),
            correlation_id = error.correlation_id.as_deref(),
            "token endpoint refused the on-behalf-of exchange"
        );
        Attempt::Done(Err(classify(error)))
    }
}

fn classify(error: EntraError) -> ExchangeError {
    let code = error.error_codes.first().copied();
    if error.error_codes.contains(&65001) {
        return ExchangeError::ConsentRequired;
    }
    match (error.error.as_str(), error.claims) {
        ("interaction_required", Some(claims)) if !claims.is_empty() => {
            ExchangeError::ClaimsChallenge { claims }
        }
        _ => ExchangeError::Rejected {
            error: error.error,
            code,
        },
    }
}

/// Drops expired, refused or empty entries; if none are, drops arbitrary idle ones.
fn evict(cache: &mut HashMap<CacheKey, Slot>) {
    let now = Instant::now();
    cache.retain(|_, slot| match slot.try_lock() {
        Ok(token) => token.as_ref().is_some_and(|token| token.usable(now)),
        Err(_) => true,
    });
    let excess = (cache.len() + 1).saturating_sub(CAPACITY);
    let idle: Vec<CacheKey> = cache
        .iter()
        .filter(|(_, slot)| slot.try_lock().is_ok())
        .map(|(key, _)| key.clone())
        .take(excess)
        .collect();
    for key in idle {
        cache.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_graph_token() {
        let token = GraphToken {
            value: "graph-token-value-1f2e3d".into(),
            refresh_after: Instant::now(),
            refused: Arc::default(),
        };
        let shown = format!("{token:?} {:?}", Some(&token));
        assert!(!shown.contains("graph-token-value-1f2e3d"), "{shown}");
    }

    #[test]
    fn a_token_graph_refused_is_no_longer_handed_out_by_any_copy() {
        let token = GraphToken {
            value: "graph-token-value-1f2e3d".into(),
            refresh_after: Instant::now() + Duration::from_secs(3600),
            refused: Arc::default(),
        };
        let cached = token.clone();
        assert!(cached.usable(Instant::now()));
        token.refused_by_graph();
        assert!(!cached.usable(Instant::now()));
    }
}
