//! The broker's side of Entra ID: this server's app registration as a **confidential client**
//! whose credential is the managed identity's federated assertion (no secret, no certificate).
//!
//! - Sign-in: the browser goes to `{authority}/{tenant}/oauth2/v2.0/authorize` with this app's
//!   client id, the broker's callback as redirect URI, PKCE (S256) of the broker's own, the
//!   API's scopes plus `offline_access openid profile`, and a sealed state.
//! - Code redemption and refresh: `POST {authority}/{tenant}/oauth2/v2.0/token` with
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and the
//!   managed identity's token for `api://AzureADTokenExchange` as `client_assertion`, trusted
//!   through the app's federated identity credential, exactly as the on-behalf-of exchange.
//!
//! What comes back is an access token **for this API** (its audience is this app; the broker
//! hands it to the MCP client, and inbound validation checks it like any other) and Entra's
//! refresh token (kept sealed in a refresh-token family, never given out). Graph tokens are
//! never requested here: they come only from the on-behalf-of exchange, per tool call.

use std::time::Duration;

use serde::{Deserialize, de::DeserializeOwned};
use url::Url;

use crate::{
    identity::ManagedIdentity,
    outbound::{BodyError, OutboundHttp, read_capped},
};

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPTS: usize = 2;
/// The largest answer read from Entra's token endpoint: tokens are a few kilobytes, and an
/// answer is never read whole without a cap (see [`crate::outbound`]).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Tokens from Entra. Opaque; never logged.
pub struct EntraTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntraError {
    /// Entra refused (`error` as Entra named it, its AADSTS codes). A refused refresh means the
    /// user must sign in again.
    Refused { error: String, codes: Vec<u32> },
    /// Entra did not answer usefully.
    Unreachable,
    /// The managed identity gave no assertion.
    IdentityUnavailable,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_codes: Vec<u32>,
}

pub struct EntraClient {
    http: OutboundHttp,
    identity: ManagedIdentity,
    authorize_endpoint: String,
    token_endpoint: String,
    client_id: String,
}

impl EntraClient {
    pub fn new(
        http: OutboundHttp,
        identity: ManagedIdentity,
        authority: &str,
        tenant_id: &str,
        client_id: String,
    ) -> Self {
        let base = format!(
            "{}/{tenant_id}/oauth2/v2.0",
            authority.trim_end_matches('/')
        );
        Self {
            http,
            identity,
            authorize_endpoint: format!("{base}/authorize"),
            token_endpoint: format!("{base}/token"),
            client_id,
        }
    }

    /// Where the browser signs in.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        code_challenge: &str,
        login_hint: Option<&str>,
    ) -> String {
        let mut url = Url::parse(&self.authorize_endpoint).expect("the authority forms a URL");
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("response_type", "code")
                .append_pair("response_mode", "query")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", scope)
                .append_pair("state", state)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        url.into()
    }

    /// Redeems the code Entra sent to the broker's callback.
    pub async fn redeem_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
        scope: &str,
    ) -> Result<EntraTokens, EntraError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("scope", scope),
        ])
        .await
    }

    /// A new access token (and usually a new refresh token) from Entra's refresh token.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        scope: &str,
    ) -> Result<EntraTokens, EntraError> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", scope),
        ])
        .await
    }

    async fn token(&self, grant: &[(&str, &str)]) -> Result<EntraTokens, EntraError> {
        let assertion = self
            .identity
            .federation_assertion()
            .await
            .map_err(|_| EntraError::IdentityUnavailable)?;
        let mut form: Vec<(&str, &str)> = vec![
            ("client_id", &self.client_id),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.expose()),
        ];
        form.extend_from_slice(grant);
        let grant_type = grant
            .iter()
            .find(|(name, _)| *name == "grant_type")
            .map_or("", |(_, value)| value);
        let client = self.http.client().await;
        let mut last = EntraError::Unreachable;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let sent = client
                .post(&self.token_endpoint)
                .timeout(ATTEMPT_TIMEOUT)
                .form(&form)
                .send()
                .await;
            let Ok(response) = sent else {
                continue;
            };
            let status = response.status();
            if status.is_success() {
                let answer: TokenAnswer =
                    read_answer(response).await.ok_or(EntraError::Unreachable)?;
                tracing::info!(grant_type, "Entra token request for the broker");
                return Ok(EntraTokens {
                    access_token: answer.access_token,
                    refresh_token: answer.refresh_token,
                    expires_in: answer.expires_in,
                });
            }
            if status.is_server_error() {
                continue;
            }
            let answer: ErrorAnswer = read_answer(response).await.unwrap_or_default();
            tracing::warn!(
                grant_type,
                status = status.as_u16(),
                error = %answer.error,
                codes = ?answer.error_codes,
                "Entra refused the broker's token request"
            );
            last = EntraError::Refused {
                error: answer.error,
                codes: answer.error_codes,
            };
            break;
        }
        Err(last)
    }
}

/// A token endpoint answer as `T`, read up to [`MAX_ANSWER_BYTES`]; `None` if it is larger,
/// broke off, or is not `T`.
async fn read_answer<T: DeserializeOwned>(response: reqwest::Response) -> Option<T> {
    match read_capped(response, MAX_ANSWER_BYTES).await {
        Ok(body) => serde_json::from_slice(&body).ok(),
        Err(BodyError::TooLarge { limit }) => {
            tracing::warn!(limit, "Entra's answer to the broker exceeded the size cap");
            None
        }
        Err(BodyError::Interrupted { .. }) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::{Router, body::Body, response::Response, routing::get};
    use bytes::Bytes;

    use super::*;

    /// A server answering with `body`, chunked (no `Content-Length` to refuse up front).
    async fn serve(body: String) -> SocketAddr {
        let answer = move || {
            let body = body.clone();
            async move {
                let chunks: Vec<Result<Bytes, std::io::Error>> = body
                    .into_bytes()
                    .chunks(4096)
                    .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
                    .collect();
                Response::new(Body::from_stream(futures::stream::iter(chunks)))
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, Router::new().route("/", get(answer)))
                .await
                .unwrap()
        });
        addr
    }

    async fn read(body: String) -> Option<TokenAnswer> {
        let addr = serve(body).await;
        read_answer(reqwest::get(format!("http://{addr}/")).await.unwrap()).await
    }

    #[tokio::test]
    async fn token_answers_are_read_up_to_the_cap_only() {
        let token = |padding: usize| {
            serde_json::json!({
                "access_token": "x".repeat(padding),
                "refresh_token": "r",
                "expires_in": 3600,
            })
            .to_string()
        };
        let answer = read(token(1000)).await.expect("a token answer");
        assert_eq!(answer.expires_in, 3600);
        assert!(read(token(MAX_ANSWER_BYTES)).await.is_none());
        assert!(read("not json".into()).await.is_none());
    }
}
