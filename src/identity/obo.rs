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
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_lc_rs::digest;

use tokio::time::Instant;

use super::{
    ExchangeError, GraphToken, ManagedIdentity,
    entra::{EntraError, MAX_ANSWER_BYTES, TokenAnswer},
};
use crate::{
    caller::{BearerToken, Caller, CallerKind},
    outbound::{BodyError, Call, OutboundHttp, jitter, read_capped},
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Entries kept at most; beyond it, expired entries go first.
const CAPACITY: usize = 10_000;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

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
            ExchangeError::SignInPending { .. } => "sign_in_pending",
            ExchangeError::SignInFailed { .. } => "sign_in_failed",
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
    fn new(token: &BearerToken, scopes: String) -> Self {
        let digest = digest::digest(&digest::SHA256, token.expose().as_bytes());
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
        // Only the local user of `handler stdio` comes without a token, and it never gets here.
        let Some(assertion) = caller.token.as_ref() else {
            return Err(ExchangeError::Rejected {
                error: "the caller presented no token to exchange".into(),
                code: None,
            });
        };
        let key = CacheKey::new(assertion, super::scope_key(scopes));
        let slot = self.slot(&key);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.usable(Instant::now())) {
            call.record.exchange("cached");
            return Ok(token.clone());
        }
        let exchanged = self.exchange(caller, assertion, &key.scopes, call).await;
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
        assertion: &BearerToken,
        scopes: &str,
        call: Call<'_>,
    ) -> Result<GraphToken, ExchangeError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.attempt(assertion, scopes, call.deadline).await {
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

    async fn attempt(&self, user_token: &BearerToken, scopes: &str, deadline: Instant) -> Attempt {
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
            ("assertion", user_token.expose()),
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
                Ok(answer) => Ok(GraphToken::new(
                    answer.access_token,
                    received,
                    answer.expires_in,
                )),
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
    let code = error.code();
    if error.is_consent_required() {
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
