//! Signing in with a browser on this machine (`--browser`): authorization code with PKCE
//! (S256), back through a loopback redirect.
//!
//! For the length of one sign-in only, a listener on `127.0.0.1` and a port the OS picks
//! receives the browser's redirect, `http://localhost:<port>/?code=…&state=…`: Entra accepts
//! any port for a registered `http://localhost` redirect URI (Mobile and desktop
//! applications). It is bound to loopback alone, answers nothing but the redirect, and closes
//! as soon as the redirect came or the sign-in expired; the server itself never listens. A
//! redirect without this sign-in's `state` is turned away and the sign-in keeps waiting, so
//! nothing another page makes the browser send can sign the server in as someone else.
//!
//! The code is redeemed with the PKCE verifier, which never left this process. The browser is
//! opened with the platform's opener (`xdg-open`, `open`, `explorer`), its output discarded:
//! stdout belongs to MCP. When no browser opens, the address is on stderr to open by hand.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_lc_rs::{digest, rand};
use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use tokio::{net::TcpListener, sync::mpsc};

use super::{Posted, Prompt, PublicClient, Settings, SignInFailure, post};
use crate::{
    config::SecretString,
    identity::entra::{EntraError, TokenAnswer},
};

/// How long the listener waits for the browser: the user may have to sign in, pass MFA and
/// consent.
const WAIT_FOR_BROWSER: Duration = Duration::from_secs(10 * 60);

/// A browser sign-in under way: the listener, and what redeeming the code needs.
pub struct Started {
    pub prompt: Prompt,
    listener: TcpListener,
    redirect_uri: String,
    verifier: SecretString,
    state: String,
}

/// Binds the loopback listener and builds the authorization URL for `scope`.
pub async fn start(
    settings: &Settings,
    scope: &str,
    claims: Option<&str>,
) -> Result<Started, SignInFailure> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| SignInFailure::NoLoopback(error.to_string()))?;
    let port = listener
        .local_addr()
        .map_err(|error| SignInFailure::NoLoopback(error.to_string()))?
        .port();
    let redirect_uri = format!("http://localhost:{port}");
    let verifier = random_urlsafe(32);
    let state = random_urlsafe(16);
    let mut url = url::Url::parse(&settings.endpoint("oauth2/v2.0/authorize"))
        .map_err(|_| SignInFailure::InvalidAnswer("the authority is not a URL".into()))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", &settings.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(claims) = claims {
            query.append_pair("claims", claims);
        }
    }
    Ok(Started {
        prompt: Prompt {
            url: url.into(),
            user_code: None,
        },
        listener,
        redirect_uri,
        verifier: SecretString::from(verifier),
        state,
    })
}

impl Started {
    /// Waits for the browser's redirect, then redeems the code for `scope`.
    pub async fn finish(
        self,
        client: &PublicClient,
        scope: &str,
    ) -> Result<TokenAnswer, SignInFailure> {
        let code = receive_code(self.listener, self.state).await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", client.settings.client_id.as_str()),
            ("code", code.expose()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", self.verifier.expose()),
            ("scope", scope),
        ];
        let endpoint = client.settings.endpoint("oauth2/v2.0/token");
        let deadline = tokio::time::Instant::now() + super::ATTEMPT_TIMEOUT;
        match post(&client.http, &endpoint, &form, deadline).await {
            Posted::Tokens { answer, .. } => Ok(answer),
            Posted::Refused(error) => Err(SignInFailure::from_entra(&error)),
            Posted::Unreachable => Err(SignInFailure::Unreachable),
        }
    }
}

/// Serves the loopback listener until the redirect of this sign-in arrives.
async fn receive_code(listener: TcpListener, state: String) -> Result<SecretString, SignInFailure> {
    let (sender, mut received) = mpsc::channel(1);
    let callback = Arc::new(Callback { state, sender });
    let router = Router::new()
        .route("/", get(redirected))
        .with_state(callback);
    let server = tokio::spawn(async move {
        // Ends when the task is aborted below: the listener closes with it.
        let _ = axum::serve(listener, router).await;
    });
    let outcome = tokio::time::timeout(WAIT_FOR_BROWSER, received.recv()).await;
    server.abort();
    match outcome {
        Ok(Some(outcome)) => outcome,
        Ok(None) | Err(_) => Err(SignInFailure::Expired),
    }
}

struct Callback {
    state: String,
    sender: mpsc::Sender<Result<SecretString, SignInFailure>>,
}

async fn redirected(
    State(callback): State<Arc<Callback>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match judge(&query, &callback.state) {
        None => (
            StatusCode::BAD_REQUEST,
            Html("This is not the sign-in this server started. You can close this tab."),
        )
            .into_response(),
        Some(outcome) => {
            let page = match &outcome {
                Ok(_) => "Signed in. You can close this tab and go back to your MCP client.",
                Err(_) => {
                    "The sign-in did not complete; the server says why. You can close \
                           this tab."
                }
            };
            let _ = callback.sender.try_send(outcome);
            Html(page).into_response()
        }
    }
}

/// What a redirect says: the code, Entra's refusal, or `None` when it is not this sign-in's
/// (no or another `state`).
fn judge(
    query: &HashMap<String, String>,
    state: &str,
) -> Option<Result<SecretString, SignInFailure>> {
    let presented = query.get("state")?;
    if aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), state.as_bytes())
        .is_err()
    {
        return None;
    }
    if let Some(error) = query.get("error") {
        return Some(Err(SignInFailure::from_entra(&EntraError {
            error: error.clone(),
            ..EntraError::default()
        })));
    }
    query
        .get("code")
        .filter(|code| !code.is_empty())
        .map(|code| Ok(SecretString::from(code.as_str())))
}

/// Opens `url` in the user's browser, best effort; its output never reaches stdout.
pub fn open(url: &str) {
    let (program, args): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("explorer", &[])
    } else {
        ("xdg-open", &[])
    };
    let spawned = std::process::Command::new(program)
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background: the opener returns at once, the browser lives on.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(error) => tracing::info!(%error, program, "no browser opened"),
    }
}

/// The S256 challenge of `verifier`.
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

fn random_urlsafe(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer).expect("system randomness");
    URL_SAFE_NO_PAD.encode(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_a_redirect_with_this_sign_ins_state_counts() {
        assert!(judge(&query(&[("code", "c")]), "s1").is_none());
        assert!(judge(&query(&[("code", "c"), ("state", "s2")]), "s1").is_none());
        assert!(
            judge(&query(&[("state", "s1")]), "s1").is_none(),
            "no code yet"
        );
        let Some(Ok(code)) = judge(&query(&[("code", "c"), ("state", "s1")]), "s1") else {
            panic!("the code");
        };
        assert_eq!(code.expose(), "c");
        assert!(matches!(
            judge(&query(&[("error", "access_denied"), ("state", "s1")]), "s1"),
            Some(Err(SignInFailure::Declined))
        ));
    }

    #[test]
    fn the_challenge_is_rfc_7636s_s256() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random_urlsafe(32).len(), 43);
    }

    #[tokio::test]
    async fn the_authorization_url_carries_pkce_state_and_a_loopback_redirect() {
        let settings = Settings {
            authority_host: url::Url::parse("https://login.microsoftonline.com").unwrap(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            client_id: "0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27".into(),
            sign_in_permissions: Vec::new(),
            flow: super::super::Flow::Browser,
        };
        let started = start(&settings, "User.Read openid", Some("{\"c\":1}"))
            .await
            .unwrap();
        let url = url::Url::parse(&started.prompt.url).unwrap();
        assert_eq!(
            url.path(),
            "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize"
        );
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(
            query["code_challenge"],
            challenge(started.verifier.expose())
        );
        assert_eq!(query["state"], started.state);
        assert_eq!(query["claims"], "{\"c\":1}");
        let port = started.listener.local_addr().unwrap();
        assert!(port.ip().is_loopback());
        assert_eq!(
            query["redirect_uri"],
            format!("http://localhost:{}", port.port())
        );
        assert!(started.prompt.user_code.is_none());
    }
}
