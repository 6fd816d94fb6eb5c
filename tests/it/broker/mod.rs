//! Broker mode (`MCP_AUTHORIZATION=broker`) end to end: the real handler as the authorization
//! server, the devstack as Entra, Azurite as Blob Storage (the real Blob code path, over https
//! with a test CA), and an https host on loopback serving Client ID Metadata Documents.
//!
//! - [`flow`]: metadata, DCR and CIMD sign-ins, VS Code's redirect shape, remembered consent,
//!   refresh rotation, revocation.
//! - [`abuse`]: the confused-deputy and abuse cases (redirects, PKCE, code replay across
//!   instances, state tampering, consent skipped, SSRF through metadata documents, DCR floods,
//!   refresh-token reuse).
//! - [`store_faults`]: Azurite down or hanging.
//! - [`sdk_clients`]: the official TypeScript and Python SDK clients sign in on their own.
//! - [`browser`]: headless Chromium on the consent page.
//! - [`local_mode`]: `cargo run` with `MCP_AUTHORIZATION=broker` brokers the local stand-in.

mod abuse;
mod azurite;
mod browser;
mod flow;
mod local_mode;
mod sdk_clients;
mod store_faults;
mod tls;

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use devstack::{Devstack, DevstackOptions};
use reqwest::{StatusCode, header::LOCATION};
use serde_json::{Value, json};
use url::Url;

use crate::harness::{Handler, free_port, handler_env};
pub use crate::harness::{
    MCP_AUTHORIZATION, MCP_BROKER_BLOB_CONTAINER, MCP_BROKER_BLOB_ENDPOINT,
    MCP_GATEWAY_PROOF_REQUIRED, MCP_PUBLIC_URL,
};
use azurite::{Azurite, CONTAINER};
use tls::{CIMD_HOST, DocumentHost, TestCa};

/// Where test clients say they want to be sent back (nothing listens there: the scripted
/// browser stops at the redirect and reads it).
pub const CLIENT_REDIRECT: &str = "http://127.0.0.1:33418/callback";

/// One broker deployment on loopback: Entra, Key Vault and Graph (devstack), Blob (Azurite),
/// a metadata document host, and one or more handler instances sharing them.
pub struct BrokerStack {
    pub handler: Handler,
    pub documents: DocumentHost,
    pub azurite: Azurite,
    pub devstack: Devstack,
    /// Kept for its files (certificates Azurite and the handler read).
    _ca: TestCa,
    pub public_url: String,
    env: Vec<(String, String)>,
}

impl BrokerStack {
    pub async fn start() -> BrokerStack {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[(&str, &str)]) -> BrokerStack {
        let ca = TestCa::new();
        let azurite = Azurite::start(&ca);
        let documents = DocumentHost::start(&ca);
        let port = free_port();
        let public_url = format!("http://127.0.0.1:{port}/mcp");
        let devstack = Devstack::start_with(DevstackOptions {
            identifier_uri: Some(public_url.clone()),
            server_redirect_uris: vec![format!("http://127.0.0.1:{port}/callback")],
            ..DevstackOptions::default()
        })
        .expect("devstack starts");
        azurite.create_container(&devstack).await;
        let mut env = handler_env(&devstack);
        env.push((MCP_PUBLIC_URL.name.into(), public_url.clone()));
        // The tests stand in for APIM's network isolation, as TestServer's do; one test turns
        // the gateway proof on to see it guard the broker's routes too.
        env.push((MCP_GATEWAY_PROOF_REQUIRED.name.into(), "false".into()));
        env.push((MCP_AUTHORIZATION.name.into(), "broker".into()));
        env.push((MCP_BROKER_BLOB_ENDPOINT.name.into(), azurite.endpoint()));
        env.push((MCP_BROKER_BLOB_CONTAINER.name.into(), CONTAINER.into()));
        env.push((
            "MCP_DEVSTACK_TEST_CA".into(),
            ca.ca_path().display().to_string(),
        ));
        env.push((
            "MCP_DEVSTACK_RESOLVE".into(),
            format!("{CIMD_HOST}=127.0.0.1"),
        ));
        for (name, value) in extra {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.to_string()));
        }
        let handler = start_handler(&env, port);
        BrokerStack {
            handler,
            documents,
            azurite,
            devstack,
            _ca: ca,
            public_url,
            env,
        }
    }

    /// Another instance of the same deployment (same store, vault and tenant), on its own port.
    pub fn another_instance(&self) -> Handler {
        start_handler(&self.env, free_port())
    }

    /// Another instance with `changed` settings, as after the operator changed them.
    pub fn another_instance_with(&self, changed: &[(&str, &str)]) -> Handler {
        let mut env = self.env.clone();
        for (name, value) in changed {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.to_string()));
        }
        start_handler(&env, free_port())
    }

    pub fn issuer(&self) -> String {
        self.handler.url("")
    }

    pub fn url(&self, path: &str) -> String {
        self.handler.url(path)
    }

    /// The scope clients ask for (the protected resource metadata's).
    pub fn scope(&self) -> String {
        format!("{}/user_impersonation", self.public_url)
    }

    /// Registers a client dynamically; status and answer.
    pub async fn register(&self, body: Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(self.url("/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// A client registered with [`CLIENT_REDIRECT`]; its id.
    pub async fn registered_client(&self, name: &str) -> String {
        let (status, body) = self
            .register(json!({
                "client_name": name,
                "redirect_uris": [CLIENT_REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// Serves a valid metadata document at `path`; its URL (the client id).
    pub fn metadata_document(&self, path: &str, name: &str, redirect_uris: &[&str]) -> String {
        let client_id = self.documents.url(path);
        self.documents.set(
            path,
            tls::Answer::Json(json!({
                "client_id": client_id,
                "client_name": name,
                "redirect_uris": redirect_uris,
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            })),
        );
        client_id
    }

    /// An authorization request as MCP clients send it.
    pub fn authorize_url(&self, request: &AuthorizationRequest) -> String {
        let mut url = Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in request.params() {
                query.append_pair(&name, &value);
            }
        }
        url.into()
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        token_at(&self.url("/token"), form).await
    }

    pub async fn redeem(&self, client_id: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", verifier),
            ("resource", &self.public_url),
        ])
        .await
    }

    pub async fn refresh(&self, client_id: &str, refresh_token: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            ("resource", &self.public_url),
        ])
        .await
    }

    /// Signs `user` in for `client_id` and approves the consent page when shown; the code.
    pub async fn sign_in(&self, browser: &mut Browser, request: &AuthorizationRequest) -> String {
        let outcome = browser.open(&self.authorize_url(request)).await;
        let outcome = match outcome {
            Outcome::Page { status, body, .. } => {
                assert_eq!(status, StatusCode::OK, "{body}");
                browser
                    .submit_consent(&self.issuer(), &body, "approve")
                    .await
            }
            other => other,
        };
        outcome.code()
    }

    /// A whole sign-in and code redemption: the token answer.
    pub async fn tokens_for(&self, client_id: &str, user: &str) -> Value {
        let mut browser = Browser::new(self);
        let request = AuthorizationRequest::new(client_id, &self.scope(), &self.public_url)
            .with("login_hint", user);
        let code = self.sign_in(&mut browser, &request).await;
        let (status, body) = self.redeem(client_id, &code, &request.verifier).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn start_handler(env: &[(String, String)], port: u16) -> Handler {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut handler = Handler::start(&env, Some(port));
    handler.wait_ready();
    handler
}

pub async fn token_at(url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "token answers are never cached"
    );
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The parameters of one authorization request, with its PKCE verifier.
#[derive(Clone)]
pub struct AuthorizationRequest {
    pub verifier: String,
    params: Vec<(String, String)>,
}

impl AuthorizationRequest {
    pub fn new(client_id: &str, scope: &str, resource: &str) -> Self {
        let verifier = random(32);
        let challenge = URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        );
        AuthorizationRequest {
            verifier,
            params: vec![
                ("response_type".into(), "code".into()),
                ("client_id".into(), client_id.into()),
                ("redirect_uri".into(), CLIENT_REDIRECT.into()),
                ("scope".into(), scope.into()),
                ("state".into(), "client-state-123".into()),
                ("code_challenge".into(), challenge),
                ("code_challenge_method".into(), "S256".into()),
                ("resource".into(), resource.into()),
            ],
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(param, _)| param != name);
        self.params.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.params.retain(|(param, _)| param != name);
        self
    }

    pub fn params(&self) -> Vec<(String, String)> {
        self.params.clone()
    }
}

pub fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer).unwrap();
    URL_SAFE_NO_PAD.encode(buffer)
}

/// Where a browser navigation ended.
#[derive(Debug)]
pub enum Outcome {
    /// Sent to the client's redirect URI (not followed).
    Redirected(Url),
    /// A page of the broker (or an error page).
    Page {
        status: StatusCode,
        body: String,
        headers: reqwest::header::HeaderMap,
    },
}

impl Outcome {
    /// The query of the redirect to the client.
    pub fn query(&self) -> HashMap<String, String> {
        match self {
            Outcome::Redirected(url) => url.query_pairs().into_owned().collect(),
            Outcome::Page { status, body, .. } => {
                panic!("expected a redirect to the client, got a page ({status}):\n{body}")
            }
        }
    }

    pub fn code(&self) -> String {
        let query = self.query();
        query
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {query:?}"))
    }

    pub fn page(&self) -> (StatusCode, &str) {
        match self {
            Outcome::Page { status, body, .. } => (*status, body),
            Outcome::Redirected(url) => panic!("expected a page, got a redirect to {url}"),
        }
    }
}

/// A scripted user agent: follows redirects between the broker and Entra, keeps cookies, stops
/// at the client's redirect URI, and can fill in the consent form as a person would.
pub struct Browser {
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    /// Origins whose redirects are followed (the broker's instances, the devstack); a redirect
    /// anywhere else is where the client would take over.
    follows: Vec<String>,
}

impl Browser {
    pub fn new(stack: &BrokerStack) -> Browser {
        Browser::following(&[&stack.issuer(), stack.devstack.base_url()])
    }

    /// A browser that follows redirects to the origins of `urls`.
    pub fn following(urls: &[&str]) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            follows: urls.iter().map(|url| origin(url)).collect(),
        }
    }

    pub async fn open(&mut self, url: &str) -> Outcome {
        let response = self.send(self.client.get(url)).await;
        self.follow(response).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Outcome {
        let response = self.send(self.client.post(url).form(form)).await;
        self.follow(response).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie.join("; "))
        };
        let response = request.send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = text.contains("Max-Age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    async fn follow(&mut self, mut response: reqwest::Response) -> Outcome {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                let status = response.status();
                let headers = response.headers().clone();
                return Outcome::Page {
                    status,
                    headers,
                    body: response.text().await.unwrap(),
                };
            }
            let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
            let url = Url::parse(&location).unwrap();
            if !self.follows.contains(&url.origin().ascii_serialization()) {
                return Outcome::Redirected(url);
            }
            response = self.send(self.client.get(url)).await;
        }
        panic!("too many redirects");
    }

    /// Posts the consent form found in `page` with `decision`.
    pub async fn submit_consent(&mut self, issuer: &str, page: &str, decision: &str) -> Outcome {
        let request = hidden(page, "request");
        let csrf = hidden(page, "csrf");
        self.post_form(
            &format!("{issuer}/consent"),
            &[
                ("request", request.as_str()),
                ("csrf", csrf.as_str()),
                ("decision", decision),
            ],
        )
        .await
    }
}

fn origin(url: &str) -> String {
    Url::parse(url).unwrap().origin().ascii_serialization()
}

/// The value of the hidden input `name` in `page`.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in:\n{page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}
