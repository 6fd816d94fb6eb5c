//! The device code flow (RFC 8628) as Entra speaks it: the sign-in that works anywhere, with
//! any browser on any device, headless or over SSH.
//!
//! `POST {authority}/{tenant}/oauth2/v2.0/devicecode` (`client_id`, `scope`, and the `claims`
//! Conditional Access asked for) answers a `device_code` (kept here, never shown), a
//! `user_code` and a `verification_uri` (shown to the user: that is what they are for), how
//! long they are valid and the polling `interval`. The token endpoint is then polled with
//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` every `interval` seconds
//! ([`Polling`]): `authorization_pending` means keep polling, `slow_down` means keep polling 5
//! seconds slower from now on, `authorization_declined` (Entra) or `access_denied` (RFC 8628)
//! and `expired_token` end the sign-in, as does anything else Entra refuses with. An
//! unreachable token endpoint is polled again at the same pace until the code expires.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::{Posted, PublicClient, SignInFailure, post};
use crate::{
    config::SecretString,
    identity::entra::{EntraError, TokenAnswer},
};

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: what `slow_down` adds to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// RFC 8628's default when the answer names no interval.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Never poll faster than this, whatever the server says.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
struct Authorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: Option<u64>,
}

/// A device sign-in the user has been asked to complete.
pub struct Started {
    pub prompt: super::Prompt,
    device_code: SecretString,
    polling: Polling,
}

/// Asks Entra for a device code for `scope`.
pub async fn start(
    client: &PublicClient,
    scope: &str,
    claims: Option<&str>,
    deadline: Instant,
) -> Result<Started, SignInFailure> {
    let endpoint = client.settings.endpoint("oauth2/v2.0/devicecode");
    let mut form = vec![
        ("client_id", client.settings.client_id.as_str()),
        ("scope", scope),
    ];
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    let answer = post_authorization(client, &endpoint, &form, deadline).await?;
    let prompt = super::Prompt {
        url: checked_uri(&answer.verification_uri)?,
        user_code: Some(checked_code(&answer.user_code)?),
    };
    Ok(Started {
        prompt,
        device_code: SecretString::from(answer.device_code),
        polling: Polling::new(
            answer.interval.map(Duration::from_secs),
            Duration::from_secs(answer.expires_in),
            Instant::now(),
        ),
    })
}

async fn post_authorization(
    client: &PublicClient,
    endpoint: &str,
    form: &[(&str, &str)],
    deadline: Instant,
) -> Result<Authorization, SignInFailure> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let response = client
        .http
        .client()
        .await
        .post(endpoint)
        .form(form)
        .timeout(remaining.min(super::ATTEMPT_TIMEOUT))
        .send()
        .await
        .map_err(|_| SignInFailure::Unreachable)?;
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(SignInFailure::Unreachable);
    }
    let body = crate::outbound::read_capped(response, crate::identity::entra::MAX_ANSWER_BYTES)
        .await
        .map_err(|_| SignInFailure::Unreachable)?;
    if status.is_success() {
        serde_json::from_slice(&body).map_err(|_| {
            SignInFailure::InvalidAnswer("the device code answer is not Entra's".into())
        })
    } else {
        let error: EntraError = serde_json::from_slice(&body).unwrap_or_else(|_| EntraError {
            error: format!("HTTP {}", status.as_u16()),
            ..EntraError::default()
        });
        Err(SignInFailure::from_entra(&error))
    }
}

/// The verification URI, if it is one a user may be sent to: https, or http on loopback (the
/// local stand-in).
fn checked_uri(uri: &str) -> Result<String, SignInFailure> {
    let url = url::Url::parse(uri)
        .map_err(|_| SignInFailure::InvalidAnswer("the verification URI is not a URL".into()))?;
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        Ok(url.into())
    } else {
        Err(SignInFailure::InvalidAnswer(
            "the verification URI is not https".into(),
        ))
    }
}

/// The user code, if it is a short code and nothing else (it goes to a terminal).
fn checked_code(code: &str) -> Result<String, SignInFailure> {
    let plain = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
    if plain {
        Ok(code.to_owned())
    } else {
        Err(SignInFailure::InvalidAnswer(
            "the user code is not a plain code".into(),
        ))
    }
}

impl Started {
    /// Polls until the user finishes, declines, or the code expires.
    pub async fn finish(mut self, client: &PublicClient) -> Result<TokenAnswer, SignInFailure> {
        let endpoint = client.settings.endpoint("oauth2/v2.0/token");
        let mut next = self.polling.first();
        loop {
            let wait = match next {
                Next::PollAfter(wait) => wait,
                Next::Stop(failure) => return Err(failure),
            };
            tokio::time::sleep(wait).await;
            let form = [
                ("grant_type", GRANT),
                ("client_id", client.settings.client_id.as_str()),
                ("device_code", self.device_code.expose()),
            ];
            // Each poll gets its own short deadline; the code's lifetime bounds the whole.
            let answer = match post(
                &client.http,
                &endpoint,
                &form,
                Instant::now() + super::ATTEMPT_TIMEOUT,
            )
            .await
            {
                Posted::Tokens { answer, .. } => return Ok(answer),
                Posted::Refused(error) => PollAnswer::Refused(error),
                Posted::Unreachable => PollAnswer::Unreachable,
            };
            next = self.polling.after(&answer, Instant::now());
        }
    }
}

/// What a poll that brought no tokens was told.
#[derive(Debug)]
pub enum PollAnswer {
    Refused(EntraError),
    Unreachable,
}

/// What to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    PollAfter(Duration),
    Stop(SignInFailure),
}

/// The polling state machine: the interval, which `slow_down` lengthens, and the code's
/// expiry, past which polling stops.
#[derive(Debug)]
pub struct Polling {
    interval: Duration,
    expires_at: Instant,
}

impl Polling {
    pub fn new(interval: Option<Duration>, expires_in: Duration, now: Instant) -> Self {
        Self {
            interval: interval.unwrap_or(DEFAULT_INTERVAL).max(MIN_INTERVAL),
            expires_at: now + expires_in,
        }
    }

    /// Before the first poll: the user needs at least an interval anyway.
    pub fn first(&self) -> Next {
        Next::PollAfter(self.interval)
    }

    /// After a poll answered `answer` at `now`.
    pub fn after(&mut self, answer: &PollAnswer, now: Instant) -> Next {
        match answer {
            PollAnswer::Refused(error) => match error.error.as_str() {
                "authorization_pending" => {}
                "slow_down" => self.interval += SLOW_DOWN_STEP,
                _ => return Next::Stop(SignInFailure::from_entra(error)),
            },
            PollAnswer::Unreachable => {}
        }
        if now + self.interval >= self.expires_at {
            return Next::Stop(match answer {
                PollAnswer::Unreachable => SignInFailure::Unreachable,
                PollAnswer::Refused(_) => SignInFailure::Expired,
            });
        }
        Next::PollAfter(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(error: &str) -> PollAnswer {
        PollAnswer::Refused(EntraError {
            error: error.into(),
            ..EntraError::default()
        })
    }

    fn polling() -> (Polling, Instant) {
        let now = Instant::now();
        (
            Polling::new(Some(Duration::from_secs(5)), Duration::from_secs(900), now),
            now,
        )
    }

    #[test]
    fn pending_keeps_the_interval_and_slow_down_adds_five_seconds_each_time() {
        let (mut polling, now) = polling();
        assert_eq!(polling.first(), Next::PollAfter(Duration::from_secs(5)));
        let pending = refused("authorization_pending");
        assert_eq!(
            polling.after(&pending, now),
            Next::PollAfter(Duration::from_secs(5))
        );
        let slow_down = refused("slow_down");
        assert_eq!(
            polling.after(&slow_down, now),
            Next::PollAfter(Duration::from_secs(10))
        );
        assert_eq!(
            polling.after(&slow_down, now),
            Next::PollAfter(Duration::from_secs(15))
        );
        assert_eq!(
            polling.after(&pending, now),
            Next::PollAfter(Duration::from_secs(15)),
            "slower for good"
        );
    }

    #[test]
    fn declined_either_spelling_expired_and_other_refusals_stop() {
        let (mut polling, now) = polling();
        for (error, failure) in [
            ("authorization_declined", SignInFailure::Declined),
            ("access_denied", SignInFailure::Declined),
            ("expired_token", SignInFailure::Expired),
            (
                "bad_verification_code",
                SignInFailure::Refused {
                    error: "bad_verification_code".into(),
                    code: None,
                },
            ),
        ] {
            assert_eq!(
                polling.after(&refused(error), now),
                Next::Stop(failure),
                "{error}"
            );
        }
    }

    #[test]
    fn an_unreachable_endpoint_is_polled_again_until_the_code_expires() {
        let (mut polling, now) = polling();
        assert_eq!(
            polling.after(&PollAnswer::Unreachable, now),
            Next::PollAfter(Duration::from_secs(5))
        );
        let late = now + Duration::from_secs(896);
        assert_eq!(
            polling.after(&PollAnswer::Unreachable, late),
            Next::Stop(SignInFailure::Unreachable)
        );
        assert_eq!(
            polling.after(&refused("authorization_pending"), late),
            Next::Stop(SignInFailure::Expired),
            "no poll after the code's lifetime"
        );
    }

    #[test]
    fn the_interval_has_a_default_and_a_floor() {
        let now = Instant::now();
        let none = Polling::new(None, Duration::from_secs(900), now);
        assert_eq!(none.first(), Next::PollAfter(Duration::from_secs(5)));
        let zero = Polling::new(Some(Duration::ZERO), Duration::from_secs(900), now);
        assert_eq!(zero.first(), Next::PollAfter(Duration::from_secs(1)));
    }

    #[test]
    fn what_reaches_the_terminal_is_checked() {
        assert!(checked_uri("https://microsoft.com/devicelogin").is_ok());
        assert!(checked_uri("http://127.0.0.1:7072/devicelogin").is_ok());
        assert!(checked_uri("http://evil.example/devicelogin").is_err());
        assert!(checked_uri("javascript:alert(1)").is_err());
        assert!(checked_code("ABCD-2345").is_ok());
        assert!(checked_code("ABCD\u{1b}[2J").is_err());
        assert!(checked_code("").is_err());
    }
}
