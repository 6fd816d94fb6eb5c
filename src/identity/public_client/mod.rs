//! `handler stdio`'s Graph tokens: its one user signs in to the process as a public client of
//! their own app registration, and Graph tokens come from that sign-in directly, with no
//! server and no secret in between.
//!
//! **Signing in.** With the device code flow by default ([`device_code`]: it works headless
//! and over SSH), or with a browser and a loopback redirect ([`browser`], `--browser`). Either
//! way the prompt goes to stderr, never stdout (stdout carries only MCP). The sign-in asks for
//! the delegated Graph permissions the enabled toolsets require, `offline_access` (a refresh
//! token) and `openid profile` (an ID token saying who signed in, see [`id_token`]). It starts
//! as soon as the server starts, unless a stored sign-in still works, so the prompt is there
//! before the first tool call.
//!
//! **Graph tokens** are asked for per tool, for exactly the tool's permissions, with the
//! refresh token (`grant_type=refresh_token`); Entra rotates the refresh token each time, and
//! the new one is stored at once ([`store`]). Refreshes take turns, so each rotation is stored
//! in order. Tokens are cached per set of permissions until shortly before they expire; a
//! Graph 401 drops one.
//!
//! **When a refresh is refused**, the user is asked to sign in again, on stderr and in the tool
//! call's answer (which says where, and with which code), and the call waits for the sign-in a
//! short while ([`SIGN_IN_WAIT`], within its deadline) before answering with those instructions:
//!
//! - missing consent to a permission the tool needs (AADSTS65001): incremental consent, a
//!   sign-in asking for it. Permissions a tool can do without are never worth a prompt.
//! - the refresh token expired or was revoked (`invalid_grant`), or Conditional Access wants
//!   more (`interaction_required`, with its claims passed on): a new sign-in. The dead token
//!   is removed from the store.
//!
//! Only the account that signed in first may sign in again: a sign-in completed by anyone else
//! (a user code read out to the wrong person) is refused, so the tools never switch to another
//! mailbox behind the user's back. `handler logout` forgets the account.

mod browser;
mod device_code;
mod id_token;
pub mod store;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::{
    sync::watch,
    time::{Instant, timeout_at},
};
use url::Url;

use super::{
    ExchangeError, GraphToken, MissingConsent,
    entra::{EntraError, MAX_ANSWER_BYTES, TokenAnswer},
    scope_key,
};
use crate::{
    config::SecretString,
    outbound::{BodyError, Call, OutboundHttp, jitter, read_capped},
    telemetry::CallRecord,
};
use store::{Binding, StoredSignIn};
pub use store::{Loaded, TokenStore};

/// How long a tool call waits for a sign-in it asked for before it answers with the
/// instructions (less if its deadline comes first). Long enough for a sign-in that needs no
/// one (a stand-in, a browser with a session), short enough that the AI client gets the
/// instructions while the code is fresh.
pub const SIGN_IN_WAIT: Duration = Duration::from_secs(20);
/// What a tool call keeps of its deadline after waiting for a sign-in, to answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);
/// One request to the token endpoint.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The startup check of a stored sign-in (or the first sign-in) gets this long before it leaves
/// the sign-in to finish on its own.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// What every sign-in asks for besides Graph permissions: an ID token, a refresh token.
const SIGN_IN_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// How the user signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// A code to enter at Entra's device login page, from any browser on any machine.
    DeviceCode,
    /// Authorization code with PKCE in a browser on this machine, back through a loopback
    /// redirect.
    Browser,
}

/// Who signed in. The identity is `tid` + `oid`; the user name is for people to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub tenant_id: String,
    pub object_id: String,
    pub username: String,
}

/// Where the user goes to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub url: String,
    /// The code to enter there (device code flow).
    pub user_code: Option<String>,
}

/// What the client is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub authority_host: Url,
    pub tenant_id: String,
    pub client_id: String,
    /// Full Graph scopes every sign-in asks for: what the enabled toolsets require.
    pub sign_in_permissions: Vec<String>,
    pub flow: Flow,
}

impl Settings {
    fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.authority())
    }

    /// `{authority host}/{tenant}`.
    fn authority(&self) -> String {
        format!(
            "{}/{}",
            self.authority_host.as_str().trim_end_matches('/'),
            self.tenant_id
        )
    }

    fn binding(&self) -> Binding {
        Binding {
            authority: self
                .authority_host
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
        }
    }

    /// The `scope` of a sign-in that must also grant `scopes`.
    fn sign_in_scope(&self, scopes: &[String]) -> String {
        let mut all: Vec<&str> = Vec::new();
        for scope in self
            .sign_in_permissions
            .iter()
            .chain(scopes)
            .map(String::as_str)
            .chain(SIGN_IN_SCOPES)
        {
            if !all.contains(&scope) {
                all.push(scope);
            }
        }
        all.join(" ")
    }
}

/// Why an interactive sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFailure {
    Declined,
    Expired,
    /// Someone other than the account signed in before completed the sign-in.
    OtherAccount {
        expected: String,
        got: String,
    },
    /// AADSTS7000218: the registration does not allow public client flows.
    PublicClientFlowsOff,
    /// AADSTS700016: no such app registration in the tenant.
    AppNotFound,
    /// AADSTS65001 at sign-in: the user may not consent; an administrator must.
    AdminConsentNeeded,
    Unreachable,
    /// The answer cannot be used (no refresh token, an ID token that does not check out).
    InvalidAnswer(String),
    /// The browser's redirect cannot be received.
    NoLoopback(String),
    Refused {
        error: String,
        code: Option<u32>,
    },
}

impl SignInFailure {
    /// What Entra's refusal of a sign-in means.
    fn from_entra(error: &EntraError) -> Self {
        match (error.error.as_str(), error.code()) {
            ("authorization_declined" | "access_denied", _) => SignInFailure::Declined,
            ("expired_token" | "code_expired", _) => SignInFailure::Expired,
            (_, Some(7_000_218)) => SignInFailure::PublicClientFlowsOff,
            ("unauthorized_client", _) | (_, Some(700_016)) => SignInFailure::AppNotFound,
            _ if error.is_consent_required() => SignInFailure::AdminConsentNeeded,
            (error_code, code) => SignInFailure::Refused {
                error: error_code.to_owned(),
                code,
            },
        }
    }

    /// What happened and what fixes it, in words for the user.
    fn explain(&self, settings: &Settings) -> (String, String) {
        let client = &settings.client_id;
        let tenant = &settings.tenant_id;
        match self {
            SignInFailure::Declined => (
                "The sign-in to Microsoft 365 was declined.".into(),
                "Call the tool again for a new sign-in, and accept it.".into(),
            ),
            SignInFailure::Expired => (
                "The sign-in to Microsoft 365 was not finished in time.".into(),
                "Call the tool again for a new sign-in, and finish it within 15 minutes.".into(),
            ),
            SignInFailure::OtherAccount { expected, got } => (
                format!(
                    "The sign-in was completed as {got}, but this server is signed in as \
                     {expected}; it does not switch accounts."
                ),
                format!(
                    "Sign in as {expected}. To use another account, run `handler logout` and \
                     restart the server."
                ),
            ),
            SignInFailure::PublicClientFlowsOff => (
                format!(
                    "Microsoft Entra ID refused the sign-in (AADSTS7000218): the app \
                     registration {client} does not allow public client flows."
                ),
                "In the Entra admin center, open App registrations > this app > \
                 Authentication, set \"Allow public client flows\" to Yes, and sign in again \
                 (or start the server with --browser)."
                    .into(),
            ),
            SignInFailure::AppNotFound => (
                format!(
                    "Microsoft Entra ID has no app registration {client} in tenant {tenant} \
                     (AADSTS700016)."
                ),
                "Check MCP_PUBLIC_CLIENT_ID and MCP_TENANT_ID in the server's configuration."
                    .into(),
            ),
            SignInFailure::AdminConsentNeeded => (
                format!(
                    "Microsoft Entra ID needs an administrator's consent before you can use the \
                     app registration {client} with these permissions (AADSTS65001)."
                ),
                format!(
                    "Ask an administrator to grant admin consent to it (`az ad app permission \
                     admin-consent --id {client}`), then call the tool again."
                ),
            ),
            SignInFailure::Unreachable => (
                "Microsoft Entra ID could not be reached to sign in.".into(),
                "Check the network connection, then call the tool again.".into(),
            ),
            SignInFailure::InvalidAnswer(why) => (
                format!("Microsoft Entra ID's answer to the sign-in cannot be used: {why}."),
                "Call the tool again; if it keeps happening, check MCP_TENANT_ID and \
                 MCP_AUTHORITY_HOST."
                    .into(),
            ),
            SignInFailure::NoLoopback(why) => (
                format!("The browser's sign-in cannot return to this server: {why}."),
                "Start the server without --browser to sign in with a device code.".into(),
            ),
            SignInFailure::Refused { error, code } => (
                format!(
                    "Microsoft Entra ID refused the sign-in ({}{error}).",
                    code.map(|code| format!("AADSTS{code}: "))
                        .unwrap_or_default()
                ),
                format!(
                    "Check the app registration {client}: a public client with the delegated \
                     Microsoft Graph permissions listed by `handler --help`."
                ),
            ),
        }
    }

    fn to_error(&self, settings: &Settings) -> ExchangeError {
        let (reason, fix) = self.explain(settings);
        ExchangeError::SignInFailed { reason, fix }
    }
}

/// The interactive sign-in in progress, or how the last one ended.
#[derive(Debug, Clone)]
enum SignInState {
    Idle,
    Pending(Prompt),
    Done,
    Failed(SignInFailure),
}

/// The account signed in and its refresh token.
struct Held {
    account: Account,
    refresh_token: SecretString,
}

/// Why a refresh got no token.
enum Refusal {
    /// Missing consent to a requested permission.
    ConsentRequired,
    /// The refresh token is no good, or Conditional Access wants more: sign in again.
    SignInAgain {
        claims: Option<String>,
        why: String,
    },
    Failed(ExchangeError),
}

/// What the token endpoint answered.
enum Posted {
    Tokens {
        answer: TokenAnswer,
        received: Instant,
    },
    Refused(EntraError),
    Unreachable,
}

/// Writes a line for the user: stderr in `handler stdio`.
pub type Say = Box<dyn Fn(&str) + Send + Sync>;

pub struct PublicClient {
    settings: Settings,
    http: OutboundHttp,
    store: TokenStore,
    say: Say,
    /// The account and its refresh token; refreshes take turns on it.
    session: tokio::sync::Mutex<Option<Held>>,
    /// Who signed in, readable without waiting; kept when a refresh token dies, so the next
    /// sign-in must be the same account.
    account: Mutex<Option<Account>>,
    /// Graph tokens by scope set.
    cache: Mutex<HashMap<String, GraphToken>>,
    sign_in: watch::Sender<SignInState>,
    /// Held while a sign-in is being started, so two calls start one.
    starting: tokio::sync::Mutex<()>,
}

impl PublicClient {
    /// A client that starts from what `store` holds for `settings`.
    pub fn new(settings: Settings, http: OutboundHttp, store: TokenStore, say: Say) -> Arc<Self> {
        let held = match store.load(&settings.binding()) {
            Loaded::SignIn(stored) => {
                say(&format!(
                    "m365-mcp-handler: using the stored sign-in of {}{}.",
                    stored.account.username,
                    store
                        .path()
                        .map(|path| format!(" ({})", path.display()))
                        .unwrap_or_default()
                ));
                Some(Held {
                    account: stored.account,
                    refresh_token: stored.refresh_token,
                })
            }
            Loaded::SetAside(why) => {
                say(&format!(
                    "m365-mcp-handler: {why}; you will be asked to sign in again."
                ));
                None
            }
            Loaded::Nothing => None,
        };
        let account = held.as_ref().map(|held| held.account.clone());
        Arc::new(Self {
            settings,
            http,
            store,
            say,
            session: tokio::sync::Mutex::new(held),
            account: Mutex::new(account),
            cache: Mutex::default(),
            sign_in: watch::Sender::new(SignInState::Idle),
            starting: tokio::sync::Mutex::default(),
        })
    }

    /// Who signed in, if anyone has yet.
    pub fn account(&self) -> Option<Account> {
        self.account.lock().expect("account lock").clone()
    }

    /// Checks the stored sign-in (a refresh, which also rotates it), or starts the first
    /// sign-in, in the background: the prompt is on stderr before any tool is called.
    pub fn start(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            // Nothing logs a record for the start-up sign-in: it is no request's.
            let record = CallRecord::default();
            let call = Call {
                deadline: Instant::now() + STARTUP_DEADLINE,
                request_id: "startup",
                record: &record,
            };
            let permissions = this.settings.sign_in_permissions.clone();
            match this
                .graph_token(&permissions, call, MissingConsent::AskTheUser)
                .await
            {
                Ok(_) => tracing::info!("signed in"),
                Err(error) => tracing::info!(?error, "not signed in yet"),
            }
        });
    }

    /// A Graph token with `scopes` (full names) for the signed-in user, and who that is.
    pub async fn graph_token(
        self: &Arc<Self>,
        scopes: &[String],
        call: Call<'_>,
        missing: MissingConsent,
    ) -> Result<(GraphToken, Account), ExchangeError> {
        let key = scope_key(scopes);
        // One interactive sign-in per call at most: a second refusal is the answer.
        let mut signed_in = false;
        loop {
            if let Some(found) = self.cached(&key) {
                return Ok(found);
            }
            let mut session = self.session.lock().await;
            if let Some(found) = self.cached(&key) {
                return Ok(found);
            }
            let Some(held) = session.as_mut() else {
                drop(session);
                if signed_in {
                    return Err(SignInFailure::InvalidAnswer(
                        "the sign-in finished, but left no usable refresh token".into(),
                    )
                    .to_error(&self.settings));
                }
                self.sign_in_and_wait(scopes, None, call).await?;
                signed_in = true;
                continue;
            };
            match self.refresh(held, scopes, call).await {
                Ok(token) => {
                    let account = held.account.clone();
                    self.cache
                        .lock()
                        .expect("token cache lock")
                        .insert(key, token.clone());
                    return Ok((token, account));
                }
                Err(Refusal::ConsentRequired)
                    if missing == MissingConsent::AskTheUser && !signed_in =>
                {
                    drop(session);
                    (self.say)(&format!(
                        "m365-mcp-handler: Microsoft Entra ID needs your consent before a tool \
                         can use {}.",
                        permission_names(scopes)
                    ));
                    self.sign_in_and_wait(scopes, None, call).await?;
                    signed_in = true;
                }
                Err(Refusal::ConsentRequired) => return Err(ExchangeError::ConsentRequired),
                Err(Refusal::SignInAgain { claims, why }) if !signed_in => {
                    (self.say)(&format!(
                        "m365-mcp-handler: the stored sign-in no longer works ({why}); sign in \
                         again."
                    ));
                    *session = None;
                    if let Err(error) = self.store.remove() {
                        tracing::warn!(%error, "the dead sign-in could not be removed");
                    }
                    drop(session);
                    self.sign_in_and_wait(scopes, claims.as_deref(), call)
                        .await?;
                    signed_in = true;
                }
                Err(Refusal::SignInAgain { why, .. }) => {
                    return Err(SignInFailure::InvalidAnswer(format!(
                        "a refresh right after signing in was refused ({why})"
                    ))
                    .to_error(&self.settings));
                }
                Err(Refusal::Failed(error)) => return Err(error),
            }
        }
    }

    fn cached(&self, key: &str) -> Option<(GraphToken, Account)> {
        let token = self
            .cache
            .lock()
            .expect("token cache lock")
            .get(key)
            .filter(|token| token.usable(Instant::now()))
            .cloned()?;
        Some((token, self.account()?))
    }

    /// Asks the user to sign in (or joins the sign-in under way), and waits for it within
    /// [`SIGN_IN_WAIT`] and the call's deadline.
    async fn sign_in_and_wait(
        self: &Arc<Self>,
        scopes: &[String],
        claims: Option<&str>,
        call: Call<'_>,
    ) -> Result<(), ExchangeError> {
        let prompt = self.begin_sign_in(scopes, claims, call.deadline).await?;
        let until = (Instant::now() + SIGN_IN_WAIT).min(
            call.deadline
                .checked_sub(ANSWER_MARGIN)
                .unwrap_or(call.deadline),
        );
        let mut state = self.sign_in.subscribe();
        let finished = timeout_at(
            until,
            state.wait_for(|state| !matches!(state, SignInState::Pending(_))),
        )
        .await;
        match finished {
            Ok(Ok(state)) => match &*state {
                SignInState::Failed(failure) => Err(failure.to_error(&self.settings)),
                _ => Ok(()),
            },
            Ok(Err(_)) | Err(_) => Err(ExchangeError::SignInPending {
                url: prompt.url,
                user_code: prompt.user_code,
            }),
        }
    }

    /// Starts an interactive sign-in for `scopes` (with the claims Conditional Access asked
    /// for), unless one is under way; the prompt either way.
    async fn begin_sign_in(
        self: &Arc<Self>,
        scopes: &[String],
        claims: Option<&str>,
        deadline: Instant,
    ) -> Result<Prompt, ExchangeError> {
        let _starting = self.starting.lock().await;
        if let SignInState::Pending(prompt) = &*self.sign_in.borrow() {
            return Ok(prompt.clone());
        }
        let scope = self.settings.sign_in_scope(scopes);
        let this = Arc::clone(self);
        let prompt = match self.settings.flow {
            Flow::DeviceCode => {
                let started = device_code::start(self, &scope, claims, deadline)
                    .await
                    .map_err(|failure| self.failed(failure))?;
                let prompt = started.prompt.clone();
                self.announce(&prompt, &scope);
                tokio::spawn(async move {
                    let outcome = started.finish(&this).await;
                    this.finish(outcome).await;
                });
                prompt
            }
            Flow::Browser => {
                let started = browser::start(&self.settings, &scope, claims)
                    .await
                    .map_err(|failure| self.failed(failure))?;
                let prompt = started.prompt.clone();
                self.announce(&prompt, &scope);
                browser::open(&prompt.url);
                tokio::spawn(async move {
                    let outcome = started.finish(&this, &scope).await;
                    this.finish(outcome).await;
                });
                prompt
            }
        };
        Ok(prompt)
    }

    /// Tells the user where to sign in, and marks the sign-in pending (before its task can
    /// finish it).
    fn announce(&self, prompt: &Prompt, scope: &str) {
        let permissions = permission_names(
            &scope
                .split_whitespace()
                .filter(|scope| !SIGN_IN_SCOPES.contains(scope))
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
        let line = match &prompt.user_code {
            Some(code) => format!(
                "m365-mcp-handler: to sign in to Microsoft 365 (permissions: {permissions}), \
                 open {} and enter the code {code}",
                prompt.url
            ),
            None => format!(
                "m365-mcp-handler: to sign in to Microsoft 365 (permissions: {permissions}), \
                 open this address in a browser on this machine (it may have opened already): \
                 {}",
                prompt.url
            ),
        };
        (self.say)(&line);
        tracing::info!(flow = ?self.settings.flow, "sign-in started");
        self.sign_in
            .send_replace(SignInState::Pending(prompt.clone()));
    }

    fn failed(&self, failure: SignInFailure) -> ExchangeError {
        let error = failure.to_error(&self.settings);
        if let ExchangeError::SignInFailed { reason, fix } = &error {
            (self.say)(&format!("m365-mcp-handler: {reason} {fix}"));
        }
        error
    }

    /// Takes in the outcome of a sign-in.
    async fn finish(&self, outcome: Result<TokenAnswer, SignInFailure>) {
        match outcome.and_then(|answer| self.signed_in(answer)) {
            Ok(held) => {
                let username = held.account.username.clone();
                *self.account.lock().expect("account lock") = Some(held.account.clone());
                self.persist(&held);
                *self.session.lock().await = Some(held);
                // Tokens cached before were for a session that is over.
                self.cache.lock().expect("token cache lock").clear();
                (self.say)(&format!("m365-mcp-handler: signed in as {username}."));
                tracing::info!("sign-in finished");
                self.sign_in.send_replace(SignInState::Done);
            }
            Err(failure) => {
                self.failed(failure.clone());
                tracing::warn!(?failure, "sign-in failed");
                self.sign_in.send_replace(SignInState::Failed(failure));
            }
        }
    }

    /// The account and refresh token a sign-in's answer establishes.
    fn signed_in(&self, answer: TokenAnswer) -> Result<Held, SignInFailure> {
        let id_token = answer
            .id_token
            .ok_or_else(|| SignInFailure::InvalidAnswer("it has no ID token".into()))?;
        let issuer = format!("{}/v2.0", self.settings.authority());
        let account = id_token::account(
            &id_token,
            &id_token::Expected {
                issuer: &issuer,
                client_id: &self.settings.client_id,
                tenant_id: &self.settings.tenant_id,
            },
            unix_now(),
        )
        .map_err(SignInFailure::InvalidAnswer)?;
        if let Some(known) = self.account()
            && (known.tenant_id != account.tenant_id || known.object_id != account.object_id)
        {
            return Err(SignInFailure::OtherAccount {
                expected: known.username,
                got: account.username,
            });
        }
        let refresh_token = answer
            .refresh_token
            .ok_or_else(|| SignInFailure::InvalidAnswer("it has no refresh token".into()))?;
        Ok(Held {
            account,
            refresh_token: SecretString::from(refresh_token),
        })
    }

    /// Stores `held`; a failure leaves the sign-in working for this run, and says so.
    fn persist(&self, held: &Held) {
        let stored = StoredSignIn {
            binding: self.settings.binding(),
            account: held.account.clone(),
            refresh_token: held.refresh_token.clone(),
        };
        if let Err(error) = self.store.save(&stored) {
            (self.say)(&format!(
                "m365-mcp-handler: the sign-in cannot be stored ({error}); it lasts until the \
                 server stops."
            ));
        }
    }

    /// One Graph token from `held`'s refresh token, storing the rotated refresh token.
    async fn refresh(
        &self,
        held: &mut Held,
        scopes: &[String],
        call: Call<'_>,
    ) -> Result<GraphToken, Refusal> {
        let scope = scopes
            .iter()
            .map(String::as_str)
            .chain(["offline_access"])
            .collect::<Vec<_>>()
            .join(" ");
        let token_endpoint = self.settings.endpoint("oauth2/v2.0/token");
        let mut backoff = FIRST_BACKOFF;
        loop {
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", self.settings.client_id.as_str()),
                ("refresh_token", held.refresh_token.expose()),
                ("scope", scope.as_str()),
            ];
            match post(&self.http, &token_endpoint, &form, call.deadline).await {
                Posted::Tokens { answer, received } => {
                    if let Some(rotated) = answer.refresh_token {
                        held.refresh_token = SecretString::from(rotated);
                        self.persist(held);
                    }
                    tracing::info!(
                        request_id = call.request_id,
                        scopes = scope.as_str(),
                        "graph token from the refresh token"
                    );
                    return Ok(GraphToken::new(
                        answer.access_token,
                        received,
                        answer.expires_in,
                    ));
                }
                Posted::Refused(error) => {
                    tracing::warn!(
                        request_id = call.request_id,
                        error = %error.error,
                        codes = ?error.error_codes,
                        trace_id = error.trace_id.as_deref(),
                        correlation_id = error.correlation_id.as_deref(),
                        "the token endpoint refused the refresh token"
                    );
                    return Err(self.classify(error));
                }
                Posted::Unreachable => {
                    let wait = backoff + jitter(backoff / 2);
                    if Instant::now() + wait >= call.deadline {
                        return Err(Refusal::Failed(ExchangeError::EntraUnreachable));
                    }
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// What a refused refresh means.
    fn classify(&self, error: EntraError) -> Refusal {
        let code = error.code();
        let why = code.map_or_else(|| error.error.clone(), |code| format!("AADSTS{code}"));
        if error.is_consent_required() {
            return Refusal::ConsentRequired;
        }
        match error.error.as_str() {
            "invalid_grant" | "interaction_required" => Refusal::SignInAgain {
                claims: error.claims.filter(|claims| !claims.is_empty()),
                why,
            },
            "invalid_client" | "unauthorized_client" => {
                Refusal::Failed(SignInFailure::from_entra(&error).to_error(&self.settings))
            }
            _ => Refusal::Failed(ExchangeError::Rejected {
                error: error.error,
                code,
            }),
        }
    }
}

/// `User.Read, Mail.Read` from full scopes.
fn permission_names(scopes: &[String]) -> String {
    scopes
        .iter()
        .map(|scope| scope.rsplit('/').next().unwrap_or(scope))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One form POST to the token endpoint, within `deadline`.
async fn post(http: &OutboundHttp, url: &str, form: &[(&str, &str)], deadline: Instant) -> Posted {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Posted::Unreachable;
    }
    let sent = http
        .client()
        .await
        .post(url)
        .form(form)
        .timeout(remaining.min(ATTEMPT_TIMEOUT))
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
            return Posted::Unreachable;
        }
    };
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return Posted::Unreachable;
    }
    let received = Instant::now();
    let body = match read_capped(response, MAX_ANSWER_BYTES).await {
        Ok(body) => body,
        Err(BodyError::TooLarge { limit }) => {
            return Posted::Refused(EntraError {
                error: format!("the token endpoint answered with more than {limit} bytes"),
                ..EntraError::default()
            });
        }
        Err(BodyError::Interrupted { .. }) => return Posted::Unreachable,
    };
    if status.is_success() {
        return match serde_json::from_slice::<TokenAnswer>(&body) {
            Ok(answer) => Posted::Tokens { answer, received },
            Err(_) => Posted::Refused(EntraError {
                error: "the token endpoint's answer was not a token".into(),
                ..EntraError::default()
            }),
        };
    }
    Posted::Refused(
        serde_json::from_slice(&body).unwrap_or_else(|_| EntraError {
            error: format!("HTTP {}", status.as_u16()),
            ..EntraError::default()
        }),
    )
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            authority_host: Url::parse("https://login.microsoftonline.com").unwrap(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            client_id: "0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27".into(),
            sign_in_permissions: vec![
                "https://graph.microsoft.com/User.Read".into(),
                "https://graph.microsoft.com/Mail.Read".into(),
            ],
            flow: Flow::DeviceCode,
        }
    }

    fn entra(error: &str, codes: &[u32]) -> EntraError {
        EntraError {
            error: error.into(),
            error_codes: codes.to_vec(),
            ..EntraError::default()
        }
    }

    #[test]
    fn a_sign_in_asks_for_the_toolsets_permissions_and_what_the_tool_needs_once_each() {
        let scope = settings().sign_in_scope(&[
            "https://graph.microsoft.com/Mail.Read".into(),
            "https://graph.microsoft.com/Tasks.Read".into(),
        ]);
        assert_eq!(
            scope,
            "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read \
             https://graph.microsoft.com/Tasks.Read openid profile offline_access"
        );
        assert_eq!(
            settings().endpoint("oauth2/v2.0/devicecode"),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/devicecode"
        );
    }

    #[test]
    fn entras_sign_in_refusals_become_failures_a_user_can_act_on() {
        for (error, codes, expected) in [
            (
                "authorization_declined",
                &[65_004][..],
                SignInFailure::Declined,
            ),
            ("access_denied", &[], SignInFailure::Declined),
            ("expired_token", &[70_020], SignInFailure::Expired),
            (
                "invalid_client",
                &[7_000_218],
                SignInFailure::PublicClientFlowsOff,
            ),
            (
                "unauthorized_client",
                &[700_016],
                SignInFailure::AppNotFound,
            ),
            (
                "invalid_grant",
                &[65_001],
                SignInFailure::AdminConsentNeeded,
            ),
        ] {
            assert_eq!(
                SignInFailure::from_entra(&entra(error, codes)),
                expected,
                "{error}"
            );
        }
        assert_eq!(
            SignInFailure::from_entra(&entra("bad_verification_code", &[70_000])),
            SignInFailure::Refused {
                error: "bad_verification_code".into(),
                code: Some(70_000)
            }
        );
        let (reason, fix) = SignInFailure::PublicClientFlowsOff.explain(&settings());
        assert!(
            reason.contains("0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27"),
            "{reason}"
        );
        assert!(fix.contains("Allow public client flows"), "{fix}");
    }

    #[test]
    fn refused_refreshes_ask_for_consent_or_a_new_sign_in_or_fail() {
        let client = PublicClient::new(
            settings(),
            OutboundHttp::default(),
            TokenStore::in_memory(),
            Box::new(|_| {}),
        );
        let mut consent = entra("invalid_grant", &[65_001]);
        consent.suberror = Some("consent_required".into());
        assert!(matches!(client.classify(consent), Refusal::ConsentRequired));
        for (error, codes) in [
            ("invalid_grant", &[50_173][..]),
            ("invalid_grant", &[700_082]),
            ("interaction_required", &[50_076]),
        ] {
            assert!(
                matches!(
                    client.classify(entra(error, codes)),
                    Refusal::SignInAgain { .. }
                ),
                "{error} {codes:?}"
            );
        }
        let mut challenge = entra("interaction_required", &[50_079]);
        challenge.claims = Some(r#"{"access_token":{}}"#.into());
        let Refusal::SignInAgain { claims, why } = client.classify(challenge) else {
            panic!("a claims challenge means signing in again");
        };
        assert_eq!(claims.as_deref(), Some(r#"{"access_token":{}}"#));
        assert_eq!(why, "AADSTS50079");
        assert!(matches!(
            client.classify(entra("invalid_client", &[7_000_218])),
            Refusal::Failed(ExchangeError::SignInFailed { .. })
        ));
        assert!(matches!(
            client.classify(entra("invalid_scope", &[70_011])),
            Refusal::Failed(ExchangeError::Rejected {
                code: Some(70_011),
                ..
            })
        ));
    }
}
