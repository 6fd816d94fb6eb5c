//! `GET /authorize` → Entra sign-in → `GET /callback` → consent page (`GET /consent`,
//! `POST /consent`) → the client's redirect URI with a code.
//!
//! 1. **`/authorize`** checks, in RFC 6749 §4.1.2.1's order, the client and its redirect URI
//!    first (a failure there is an error page: nothing may be sent to an unverified redirect),
//!    then the rest (failures go back to the client): `response_type=code`, PKCE with `S256`
//!    only, `resource` equal to this server's protected resource (RFC 8707), scopes of this API
//!    only. Then the browser goes to Entra with a **sealed state** (everything the request
//!    said, the broker's own PKCE verifier, an expiry) and a cookie binding the flow to this
//!    browser, so nobody can complete a sign-in they did not start (login CSRF).
//! 2. **`/callback`** opens the state (tampered or expired: error page), checks the browser
//!    binding, redeems Entra's code as a confidential client (the managed identity's assertion),
//!    and validates the access token exactly as `/mcp` would. The user is known now.
//! 3. If that user already consented to this client, for these scopes and this redirect URI, the
//!    code goes to the client at once. Otherwise the sign-in waits (`pending/{id}`, sealed,
//!    ten minutes) and the browser is sent to the **consent page**, which names the client, who
//!    vouches for it, the exact redirect URI (its host highlighted) and what it may do. Only an
//!    approval posted with the page's CSRF token, from the browser that started the flow, issues
//!    a code; a denial sends `access_denied`.
//!
//! The MCP security best practices ask proxies to check consent *before* redirecting to the
//! third-party authorization server, because consent there is per static client id and a
//! consent cookie could skip it. Here consent is the broker's own, per user and per client, and
//! no code is issued before it: the page comes after sign-in so it can name the user and be
//! remembered for them (`Maintain a registry of approved client_id values per user`). An
//! attacker's registration with their own redirect URI still needs the user to approve it on
//! a page that shows that redirect URI.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Query, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    Broker,
    clients::{Client, ClientError, ClientKind, client_key, hex},
    consents::{self, Consent},
    pages::{self, error_page, escape},
    random_token, redirect,
    seal::{Purpose, SealError},
    store::{StoreError, prefix},
    unix_now,
};

/// How long a sign-in may take, Entra and consent included.
const SIGN_IN_LIFETIME: u64 = 10 * 60;
/// How long an authorization code may wait for redemption.
pub const CODE_LIFETIME: u64 = 2 * 60;
const MAX_STATE: usize = 2048;
const MAX_LOGIN_HINT: usize = 256;

/// What travels to Entra and back in `state`, sealed.
#[derive(Serialize, Deserialize)]
pub struct SignInState {
    /// `authorize` or `manage` (the consent list).
    pub kind: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    /// The broker's PKCE verifier for Entra.
    pub verifier: String,
    /// The flow's cookie name suffix and the hash of its value.
    pub cookie: String,
    pub browser: String,
    pub expires: u64,
}

/// A signed-in user waiting on the consent page (or the consent list), sealed at
/// `pending/{id}`.
#[derive(Serialize, Deserialize, Clone)]
pub struct Pending {
    pub kind: String,
    pub client_id: String,
    pub client_name: String,
    pub client_host: Option<String>,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    pub tenant_id: String,
    pub object_id: String,
    pub user_name: String,
    pub user_login: String,
    pub access_token: String,
    pub access_expires: u64,
    pub entra_refresh_token: String,
    pub csrf: String,
    pub cookie: String,
    pub browser: String,
    pub expires: u64,
    pub used: bool,
}

/// What an authorization code stands for, sealed at `codes/{hash of the code}`.
#[derive(Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    pub tenant_id: String,
    pub object_id: String,
    pub consent_id: String,
    pub access_token: String,
    pub access_expires: u64,
    pub entra_refresh_token: String,
    pub expires: u64,
}

pub fn code_key(code: &str) -> String {
    format!("{}{}", prefix::CODES, digest_hex(code))
}

pub fn digest_hex(text: &str) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref())
}

fn pending_key(id: &str) -> String {
    format!("{}{id}", prefix::PENDING)
}

/// The parameters of a request, refusing any given twice (RFC 6749 §3.1).
pub fn single_params(query: Option<&str>) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(format!("the parameter {name} is given more than once"));
        }
    }
    Ok(params)
}

pub async fn authorize(State(broker): State<Arc<Broker>>, RawQuery(query): RawQuery) -> Response {
    let params = match single_params(query.as_deref()) {
        Ok(params) => params,
        Err(why) => return error_page(StatusCode::BAD_REQUEST, "Invalid sign-in request", &why),
    };
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    // The client and its redirect URI first: until both are verified, nothing goes back.
    let Some(client_id) = get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid sign-in request",
            "The application did not say who it is (client_id is missing).",
        );
    };
    let client = match broker.clients.resolve(client_id).await {
        Ok(client) => client,
        Err(ClientError::Invalid(why)) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                &format!("This server cannot identify the application: {why}."),
            );
        }
        Err(ClientError::Unavailable) => return unavailable_page(),
        Err(ClientError::Busy { retry_after }) => return busy_page(retry_after),
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid sign-in request",
            "The application did not say where to return (redirect_uri is missing).",
        );
    };
    if let Err(why) = may_return_to(&broker, &client, redirect_uri) {
        return error_page(StatusCode::BAD_REQUEST, "Invalid sign-in request", why);
    }
    let Ok(return_to) = Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid sign-in request",
            "The redirect_uri is not a URL.",
        );
    };
    let state = get("state").map(str::to_owned);
    let back = |error: &str, description: &str| {
        error_redirect(&broker, &return_to, state.as_deref(), error, description)
    };
    if let Some(state) = &state
        && state.len() > MAX_STATE
    {
        return back("invalid_request", "state is too long");
    }

    match get("response_type") {
        Some("code") => {}
        Some(_) => {
            return back(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
        None => return back("invalid_request", "response_type is missing"),
    }
    let Some(code_challenge) = get("code_challenge") else {
        return back(
            "invalid_request",
            "PKCE is required: code_challenge is missing",
        );
    };
    match get("code_challenge_method") {
        Some("S256") => {}
        Some("plain") => {
            return back(
                "invalid_request",
                "PKCE method plain is not allowed; use S256",
            );
        }
        Some(_) => return back("invalid_request", "the PKCE method must be S256"),
        None => {
            return back(
                "invalid_request",
                "code_challenge_method is missing (plain, its default, is not allowed; use S256)",
            );
        }
    }
    if !is_s256_challenge(code_challenge) {
        return back(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value",
        );
    }
    if let Some(resource) = get("resource")
        && !broker.settings.is_resource(resource)
    {
        return back(
            "invalid_target",
            "resource must be this MCP server's URL (its protected resource metadata's resource)",
        );
    }
    let scopes = match broker.settings.parse_scopes(get("scope")) {
        Ok(scopes) => scopes,
        Err(why) => return back("invalid_scope", &why),
    };
    let login_hint = get("login_hint").filter(|hint| hint.len() <= MAX_LOGIN_HINT);

    let verifier = random_token(32);
    let cookie_name = random_token(6);
    let cookie_value = random_token(32);
    let sign_in = SignInState {
        kind: "authorize".into(),
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state,
        code_challenge: code_challenge.to_owned(),
        scopes: scopes.clone(),
        verifier: verifier.clone(),
        cookie: cookie_name.clone(),
        browser: digest_hex(&cookie_value),
        expires: unix_now() + SIGN_IN_LIFETIME,
    };
    start_entra_sign_in(&broker, &sign_in, &cookie_name, &cookie_value, login_hint).await
}

/// Seals `sign_in`, sets the flow cookie and sends the browser to Entra.
pub async fn start_entra_sign_in(
    broker: &Broker,
    sign_in: &SignInState,
    cookie_name: &str,
    cookie_value: &str,
    login_hint: Option<&str>,
) -> Response {
    let plaintext = serde_json::to_vec(sign_in).expect("the sign-in state serializes");
    let Ok(sealed) = broker
        .sealer
        .seal_text(Purpose::SignInState, b"state", &plaintext)
        .await
    else {
        return unavailable_page();
    };
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, sign_in.verifier.as_bytes()).as_ref(),
    );
    let location = broker.entra.authorize_url(
        &broker.settings.callback,
        &broker.settings.entra_scope(&sign_in.scopes, true),
        &sealed,
        &challenge,
        login_hint,
    );
    let mut response = pages::redirect(&location);
    pages::set_cookie(
        &mut response,
        &broker
            .settings
            .cookie(cookie_name, cookie_value, SIGN_IN_LIFETIME),
    );
    response
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(sealed) = query.state.as_deref() else {
        return invalid_state_page();
    };
    let sign_in: SignInState = match broker
        .sealer
        .open_text(Purpose::SignInState, b"state", sealed)
        .await
    {
        Ok(plaintext) => match serde_json::from_slice(&plaintext) {
            Ok(sign_in) => sign_in,
            Err(_) => return invalid_state_page(),
        },
        Err(SealError::Invalid) => return invalid_state_page(),
        Err(_) => return unavailable_page(),
    };
    if sign_in.expires < unix_now() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The sign-in took too long",
            "The sign-in expired before it was finished.",
        );
    }
    let Some(cookie_value) = broker.settings.read_cookie(&headers, &sign_in.cookie) else {
        return wrong_browser_page();
    };
    if !same(&digest_hex(&cookie_value), &sign_in.browser) {
        return wrong_browser_page();
    }
    let manage = sign_in.kind == "manage";
    let return_to = Url::parse(&sign_in.redirect_uri).ok();
    let back = |error: &str, description: &str| match (&return_to, manage) {
        (Some(return_to), false) => error_redirect(
            &broker,
            return_to,
            sign_in.state.as_deref(),
            error,
            description,
        ),
        _ => error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in did not complete",
            description,
        ),
    };
    if let Some(error) = query.error.as_deref() {
        let error = callback_error(error);
        tracing::info!(entra_error = error, "Entra sign-in ended without a code");
        return match error {
            "access_denied" | "consent_required" | "interaction_required" | "login_required" => {
                back("access_denied", "the sign-in at Entra ID was not completed")
            }
            _ => back("server_error", "Entra ID could not sign the user in"),
        };
    }
    let Some(code) = query.code.as_deref() else {
        return back("server_error", "Entra ID returned no code");
    };
    let tokens = match broker
        .entra
        .redeem_code(
            code,
            &broker.settings.callback,
            &sign_in.verifier,
            &broker.settings.entra_scope(&sign_in.scopes, true),
        )
        .await
    {
        Ok(tokens) => tokens,
        Err(super::entra::EntraError::Refused { .. }) => {
            return back("access_denied", "Entra ID refused the sign-in");
        }
        Err(_) => {
            return back(
                "temporarily_unavailable",
                "Entra ID could not be reached; try again",
            );
        }
    };
    let caller = match broker.validator.validate_bearer(&tokens.access_token).await {
        Ok(caller) => caller,
        Err(reason) => {
            tracing::warn!(
                reason,
                "the access token Entra issued to the broker was not accepted"
            );
            return back(
                "access_denied",
                "the signed-in account may not use this server",
            );
        }
    };
    let (user_name, user_login) = display_claims(&tokens.access_token);
    let Some(entra_refresh_token) = tokens.refresh_token else {
        return back("server_error", "Entra ID issued no refresh token");
    };
    let now = unix_now();
    let mut pending = Pending {
        kind: sign_in.kind.clone(),
        client_id: sign_in.client_id.clone(),
        client_name: String::new(),
        client_host: None,
        redirect_uri: sign_in.redirect_uri.clone(),
        state: sign_in.state.clone(),
        code_challenge: sign_in.code_challenge.clone(),
        scopes: sign_in.scopes.clone(),
        tenant_id: caller.tenant_id.clone(),
        object_id: caller.object_id.clone(),
        user_name,
        user_login,
        access_token: tokens.access_token,
        access_expires: now + tokens.expires_in,
        entra_refresh_token,
        csrf: random_token(32),
        cookie: sign_in.cookie.clone(),
        browser: sign_in.browser.clone(),
        expires: now + SIGN_IN_LIFETIME,
        used: false,
    };
    if manage {
        pending.access_token = String::new();
        pending.entra_refresh_token = String::new();
        return match save_pending(&broker, &pending).await {
            Ok(id) => {
                pages::see_other(&broker.settings.endpoint(&format!("/consents?session={id}")))
            }
            Err(_) => unavailable_page(),
        };
    }

    // The client may have changed its metadata since, its registration expired, or the
    // operator's policy changed: check again.
    let client = match broker.clients.resolve(&sign_in.client_id).await {
        Ok(client) => match may_return_to(&broker, &client, &sign_in.redirect_uri) {
            Ok(()) => client,
            Err(why) => {
                return error_page(StatusCode::BAD_REQUEST, "Unknown application", why);
            }
        },
        Err(ClientError::Invalid(_)) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The application's registration changed during the sign-in; nothing was sent to \
                 it.",
            );
        }
        Err(ClientError::Unavailable) => return unavailable_page(),
        Err(ClientError::Busy { retry_after }) => return busy_page(retry_after),
    };
    pending.client_name = client.name.clone();
    pending.client_host = match &client.kind {
        ClientKind::MetadataDocument { host } => Some(host.clone()),
        ClientKind::Registered => None,
    };

    match consents::find(
        broker.store.as_ref(),
        &pending.tenant_id,
        &pending.object_id,
        &pending.client_id,
    )
    .await
    {
        Ok(Some((consent, _))) if consent.covers(&pending.scopes, &pending.redirect_uri) => {
            tracing::info!(
                tid = %pending.tenant_id,
                oid = %pending.object_id,
                client = %client_key(&pending.client_id),
                "consent remembered: code issued"
            );
            let mut response = issue_code(&broker, &pending, &consent.id).await;
            clear_cookie(&broker, &mut response, &pending.cookie);
            response
        }
        Ok(_) => match save_pending(&broker, &pending).await {
            Ok(id) => {
                pages::see_other(&broker.settings.endpoint(&format!("/consent?request={id}")))
            }
            Err(_) => unavailable_page(),
        },
        Err(_) => unavailable_page(),
    }
}

async fn save_pending(broker: &Broker, pending: &Pending) -> Result<String, ()> {
    let id = random_token(24);
    let key = pending_key(&id);
    let plaintext = serde_json::to_vec(pending).expect("a pending sign-in serializes");
    let sealed = broker
        .sealer
        .seal(Purpose::PendingConsent, key.as_bytes(), &plaintext)
        .await
        .map_err(|_| ())?;
    broker
        .store
        .create(
            &key,
            sealed,
            std::time::Duration::from_secs(SIGN_IN_LIFETIME),
        )
        .await
        .map_err(|_| ())?;
    Ok(id)
}

/// A pending sign-in, if `id` names one this browser started and it is still open.
pub async fn load_pending(
    broker: &Broker,
    headers: &HeaderMap,
    id: &str,
    kind: &str,
) -> Result<(Pending, super::store::ETag), Response> {
    if id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(expired_page());
    }
    let key = pending_key(id);
    let entry = match broker.store.read(&key).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return Err(expired_page()),
        Err(_) => return Err(unavailable_page()),
    };
    let pending: Pending = match broker
        .sealer
        .open(Purpose::PendingConsent, key.as_bytes(), &entry.value)
        .await
    {
        Ok(plaintext) => serde_json::from_slice(&plaintext).map_err(|_| expired_page())?,
        Err(SealError::Invalid) => return Err(expired_page()),
        Err(_) => return Err(unavailable_page()),
    };
    if pending.kind != kind || pending.used || pending.expires < unix_now() {
        return Err(expired_page());
    }
    match broker.settings.read_cookie(headers, &pending.cookie) {
        Some(value) if same(&digest_hex(&value), &pending.browser) => Ok((pending, entry.etag)),
        _ => Err(wrong_browser_page()),
    }
}

/// Marks a pending sign-in used; `false` if someone else did first.
pub async fn use_pending(
    broker: &Broker,
    id: &str,
    pending: &Pending,
    etag: &super::store::ETag,
) -> Result<bool, Response> {
    let key = pending_key(id);
    let mut used = pending.clone();
    used.used = true;
    used.access_token = String::new();
    used.entra_refresh_token = String::new();
    let plaintext = serde_json::to_vec(&used).expect("a pending sign-in serializes");
    let sealed = broker
        .sealer
        .seal(Purpose::PendingConsent, key.as_bytes(), &plaintext)
        .await
        .map_err(|_| unavailable_page())?;
    match broker
        .store
        .replace(
            &key,
            sealed,
            etag,
            std::time::Duration::from_secs(SIGN_IN_LIFETIME),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(_) => Err(unavailable_page()),
    }
}

#[derive(Deserialize)]
pub struct ConsentQuery {
    request: Option<String>,
}

/// `GET /consent?request=…`: the consent page.
pub async fn consent_page(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    Query(query): Query<ConsentQuery>,
) -> Response {
    let Some(id) = query.request.as_deref() else {
        return expired_page();
    };
    let (pending, _) = match load_pending(&broker, &headers, id, "authorize").await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    render_consent(&broker, id, &pending)
}

fn render_consent(broker: &Broker, id: &str, pending: &Pending) -> Response {
    let redirect = Url::parse(&pending.redirect_uri).ok();
    let redirect_host = redirect
        .as_ref()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let shown_redirect = match redirect.as_ref() {
        Some(url) => {
            let text = url.as_str();
            match text.find(&redirect_host) {
                Some(at) if !redirect_host.is_empty() => format!(
                    "{}<span class=\"host\">{}</span>{}",
                    escape(&text[..at]),
                    escape(&redirect_host),
                    escape(&text[at + redirect_host.len()..])
                ),
                _ => escape(text),
            }
        }
        None => escape(&pending.redirect_uri),
    };
    let identity = match &pending.client_host {
        Some(host) => format!(
            "Identified by its metadata document on <span class=\"host\">{}</span>.",
            escape(host)
        ),
        None => "Registered itself with this server: its name is its own claim, not verified."
            .to_owned(),
    };
    let scopes: String = pending
        .scopes
        .iter()
        .map(|scope| {
            format!(
                "<li>Use this server's tools as you (<code>{}</code>): they read your Microsoft \
                 365 data, such as your profile, mail, calendar and files, as this server's \
                 administrator set them up.</li>",
                escape(scope)
            )
        })
        .collect();
    let form_targets: Vec<String> = redirect
        .as_ref()
        .map(|url| vec![url.origin().ascii_serialization()])
        .unwrap_or_default();
    let body = format!(
        "<h1>Allow {client} to use {server} as you?</h1>\
         <p>You are signed in as <strong>{user}</strong>{login}.</p>\
         <dl>\
         <dt>Application</dt><dd>{client}<br><span class=\"note\">{identity}</span></dd>\
         <dt>Where you will be sent, with access for the application</dt><dd>{redirect}</dd>\
         <dt>What it will be able to do</dt><dd><ul>{scopes}</ul></dd>\
         </dl>\
         <p class=\"note\">Allow only an application you are connecting yourself, right now. \
         You can take access back at any time: <a href=\"{manage}\">applications you allowed</a>.</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <div class=\"actions\">\
         <button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\
         <button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         </div></form>",
        client = escape(&pending.client_name),
        server = escape(super::RESOURCE_NAME),
        user = escape(&pending.user_name),
        login = if pending.user_login.is_empty() {
            String::new()
        } else {
            format!(" ({})", escape(&pending.user_login))
        },
        identity = identity,
        redirect = shown_redirect,
        scopes = scopes,
        manage = escape(&broker.settings.endpoint("/consents")),
        action = escape(&broker.settings.endpoint("/consent")),
        id = escape(id),
        csrf = escape(&pending.csrf),
    );
    pages::page(
        StatusCode::OK,
        &format!("Allow {}?", pending.client_name),
        &body,
        &form_targets,
    )
}

#[derive(Deserialize)]
pub struct ConsentForm {
    request: Option<String>,
    csrf: Option<String>,
    decision: Option<String>,
}

/// `POST /consent`: the user's decision.
pub async fn decide(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ConsentForm>,
) -> Response {
    let Some(id) = form.request.as_deref() else {
        return expired_page();
    };
    let (pending, etag) = match load_pending(&broker, &headers, id, "authorize").await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let csrf_ok = form
        .csrf
        .as_deref()
        .is_some_and(|csrf| same(csrf, &pending.csrf));
    if !csrf_ok {
        tracing::warn!("consent form posted without its CSRF token");
        return error_page(
            StatusCode::FORBIDDEN,
            "This request was refused",
            "The consent form was not sent from this server's page (its CSRF token is missing \
             or wrong). Nothing was granted.",
        );
    }
    match use_pending(&broker, id, &pending, &etag).await {
        Ok(true) => {}
        Ok(false) => return expired_page(),
        Err(response) => return response,
    }
    let Ok(return_to) = Url::parse(&pending.redirect_uri) else {
        return expired_page();
    };
    let mut response = match form.decision.as_deref() {
        Some("approve") => {
            let consent = Consent {
                id: random_token(16),
                client_id: pending.client_id.clone(),
                client_name: pending.client_name.clone(),
                scopes: pending.scopes.clone(),
                redirect_uris: vec![pending.redirect_uri.clone()],
                granted_at: unix_now(),
            };
            match consents::grant(
                broker.store.as_ref(),
                &pending.tenant_id,
                &pending.object_id,
                consent,
            )
            .await
            {
                Ok(consent) => {
                    tracing::info!(
                        tid = %pending.tenant_id,
                        oid = %pending.object_id,
                        client = %client_key(&pending.client_id),
                        "consent granted"
                    );
                    issue_code(&broker, &pending, &consent.id).await
                }
                Err(_) => unavailable_page(),
            }
        }
        Some("deny") => {
            tracing::info!(
                tid = %pending.tenant_id,
                oid = %pending.object_id,
                client = %client_key(&pending.client_id),
                "consent denied"
            );
            error_redirect(
                &broker,
                &return_to,
                pending.state.as_deref(),
                "access_denied",
                "the user denied access",
            )
        }
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid consent request",
                "The form did not say whether to allow or deny.",
            );
        }
    };
    clear_cookie(&broker, &mut response, &pending.cookie);
    response
}

/// Stores a code for `pending` and sends it to the client.
async fn issue_code(broker: &Broker, pending: &Pending, consent_id: &str) -> Response {
    let code = random_token(32);
    let key = code_key(&code);
    let record = CodeRecord {
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        scopes: pending.scopes.clone(),
        tenant_id: pending.tenant_id.clone(),
        object_id: pending.object_id.clone(),
        consent_id: consent_id.to_owned(),
        access_token: pending.access_token.clone(),
        access_expires: pending.access_expires,
        entra_refresh_token: pending.entra_refresh_token.clone(),
        expires: unix_now() + CODE_LIFETIME,
    };
    let plaintext = serde_json::to_vec(&record).expect("a code record serializes");
    let Ok(sealed) = broker
        .sealer
        .seal(Purpose::Code, key.as_bytes(), &plaintext)
        .await
    else {
        return unavailable_page();
    };
    if broker
        .store
        .create(&key, sealed, std::time::Duration::from_secs(CODE_LIFETIME))
        .await
        .is_err()
    {
        return unavailable_page();
    }
    let Ok(mut location) = Url::parse(&pending.redirect_uri) else {
        return expired_page();
    };
    {
        let mut query = location.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = &pending.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &broker.settings.issuer);
    }
    pages::see_other(location.as_str())
}

/// Whether `client` may be sent to `redirect_uri`: one of its redirect URIs and, for a client
/// that registered itself, one the operator's policy admits now. Its registration is sealed into
/// its client id, where a policy narrowed since it registered would never reach it. `Err` says
/// why not, for the error page.
fn may_return_to(broker: &Broker, client: &Client, redirect_uri: &str) -> Result<(), &'static str> {
    if redirect::find(&client.redirect_uris, redirect_uri).is_none() {
        return Err(
            "The return address (redirect_uri) is not one the application registered. Nothing \
             was sent to it.",
        );
    }
    let admitted = Url::parse(redirect_uri)
        .is_ok_and(|url| redirect::admitted(&broker.settings.redirect_policy, &url));
    if client.kind == ClientKind::Registered && !admitted {
        return Err(
            "The return address (redirect_uri) is no longer allowed by this server's policy for \
             applications that registered themselves. Nothing was sent to it.",
        );
    }
    Ok(())
}

/// Sends an OAuth error to the client's (verified) redirect URI.
fn error_redirect(
    broker: &Broker,
    redirect_uri: &Url,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut location = redirect_uri.clone();
    {
        let mut query = location.query_pairs_mut();
        query.append_pair("error", error);
        query.append_pair("error_description", description);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &broker.settings.issuer);
    }
    pages::redirect(location.as_str())
}

pub fn clear_cookie(broker: &Broker, response: &mut Response, name: &str) {
    pages::set_cookie(response, &broker.settings.cookie(name, "", 0));
}

/// `name` and `preferred_username` of a token this server just validated, for display only.
fn display_claims(token: &str) -> (String, String) {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .unwrap_or_default();
    let text = |name: &str| {
        claims[name]
            .as_str()
            .map(|value| {
                value
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(120)
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    let name = text("name");
    let login = text("preferred_username");
    match (name.is_empty(), login.is_empty()) {
        (true, true) => ("your account".to_owned(), String::new()),
        (true, false) => (login, String::new()),
        _ => (name, login),
    }
}

/// The `error` at the callback as one of the codes OAuth 2.0 (RFC 6749 §4.1.2.1) and OpenID
/// Connect (Core §3.1.2.6) define, or `other`: anyone can write that query, so what it says is
/// never logged as it came.
fn callback_error(error: &str) -> &'static str {
    const CODES: &[&str] = &[
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    ];
    CODES
        .iter()
        .find(|code| **code == error)
        .copied()
        .unwrap_or("other")
}

/// A base64url SHA-256: 43 characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

pub fn unavailable_page() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "This server cannot complete sign-ins right now (its storage or key is unavailable). \
         Nothing was granted.",
    )
}

/// The application could not be looked up now (its metadata document: this instance is at its
/// fetch limits). Nothing goes to the client: it is not verified yet.
fn busy_page(retry_after: u64) -> Response {
    let mut response = error_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Try again in a moment",
        "This server is looking up many applications right now and could not look up this one \
         (temporarily_unavailable). Nothing was sent to the application.",
    );
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, retry_after.into());
    response
}

fn invalid_state_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "The sign-in could not be completed",
        "The sign-in's state is missing, was changed, or was not issued by this server.",
    )
}

pub fn wrong_browser_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "The sign-in could not be completed",
        "This sign-in was started in another browser or window (or its cookie expired). For your \
         protection it can only be finished where it started.",
    )
}

pub fn expired_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This page has expired",
        "The sign-in it belonged to was finished, denied or timed out.",
    )
}
