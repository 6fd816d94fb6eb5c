//! The device authorization grant (RFC 8628) as Entra speaks it: how a client without a
//! browser of its own (a CLI, a local MCP server talking stdio) signs its user in.
//!
//! ```text
//! POST {tenant}/oauth2/v2.0/devicecode   client_id, scope
//!   → device_code, user_code, verification_uri, expires_in, interval, message
//! (the user opens verification_uri elsewhere, enters user_code, signs in, consents)
//! POST {tenant}/oauth2/v2.0/token        grant_type=urn:ietf:params:oauth:grant-type:device_code,
//!                                        client_id, device_code      (every `interval` seconds)
//!   → authorization_pending | slow_down | authorization_declined | expired_token
//!     | bad_verification_code | the tokens
//! ```
//!
//! Entra documents the `error` values and the client's duty for each (keep polling, stop); the
//! AADSTS numbers for pending (70016) and expired (70020) are the ones Entra sends, declined is
//! AADSTS65004 ("the user declined to consent"); for an unknown device code Entra's number is
//! not documented, and the devstack uses 70000. RFC 8628's `slow_down` means "add 5 seconds to
//! your interval"; Entra does not document sending it, but a client must honour it, and the
//! devstack sends it whenever a client polls sooner than its interval allows, then expects the
//! longer interval from that client. Entra's `access_denied` spelling of a refusal is RFC
//! 8628's; Entra's own is `authorization_declined`.
//!
//! Who signs in, and when, is scripted: each device code follows a list of answers
//! ([`DeviceAnswer`]) that tests queue for the next sign-ins. Without a script, the sample user
//! approves after the first poll, so `handler stdio` works offline with no one at a browser. A
//! test can also leave the code waiting ([`DeviceAnswer::Wait`]) and decide later by its user
//! code, as a person at the verification page ([`page`]) would.
//!
//! Entra's interval is 5 seconds; the devstack's is 1 (tests can change it), so a sign-in in a
//! test or a newcomer's first run takes a second or two. Codes live 15 minutes, as Entra's do.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{Issuer, error::EntraError, random_urlsafe, sign_in::SignInScopes};
use crate::tenant::{self, ClientApp, DEFAULT_USER, User};

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a user has to sign in: Entra's `expires_in`.
pub const LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The devstack's polling interval, in seconds (Entra's is 5).
pub const DEFAULT_INTERVAL_SECONDS: u64 = 1;
/// What RFC 8628 tells a client to add to its interval on `slow_down`.
pub const SLOW_DOWN_STEP_SECONDS: u64 = 5;
/// Where the user enters the code, under the authority host (Entra's is
/// `https://microsoft.com/devicelogin`).
pub const VERIFICATION_PATH: &str = "/devicelogin";

/// One answer of a scripted device sign-in, to one poll of the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAnswer {
    /// `authorization_pending`: the user has not finished.
    Pending,
    /// `slow_down`: the client must add 5 seconds to its interval from now on.
    SlowDown,
    /// The user (by key) signs in and consents to what was asked: the tokens.
    Approve(&'static str),
    /// `authorization_declined`: the user refused.
    Decline,
    /// `expired_token`: the user did not finish in time.
    Expire,
    /// `authorization_pending` until the code is decided by its user code
    /// ([`DeviceCodes::decide`]), as when a person is at the verification page.
    Wait,
}

/// What became of a device code.
#[derive(Debug, Clone, Copy)]
enum Decision {
    Undecided,
    Approved(&'static User),
    Declined,
    Expired,
    /// Approved and its tokens handed out: the code is used up.
    Redeemed,
}

#[derive(Debug)]
struct DeviceSignIn {
    user_code: String,
    client: &'static ClientApp,
    scopes: SignInScopes,
    offline_access: bool,
    openid: bool,
    issued: Instant,
    last_poll: Instant,
    interval: Duration,
    script: VecDeque<DeviceAnswer>,
    decision: Decision,
}

/// The answer to one poll.
#[derive(Debug)]
pub enum Poll {
    /// The user approved: issue tokens for this sign-in.
    Approved(Approval),
    Refused(EntraError),
}

/// A finished device sign-in, for the token endpoint to turn into tokens.
#[derive(Debug)]
pub struct Approval {
    pub client: &'static ClientApp,
    pub user: &'static User,
    pub scopes: SignInScopes,
    pub offline_access: bool,
    pub openid: bool,
}

/// The device codes issued, the scripts for the next sign-ins, and what every poll was told.
#[derive(Debug)]
pub struct DeviceCodes {
    state: Mutex<Codes>,
}

#[derive(Debug)]
struct Codes {
    by_device_code: HashMap<String, DeviceSignIn>,
    /// Scripts for the next device codes, in issue order.
    scripts: VecDeque<Vec<DeviceAnswer>>,
    interval: Duration,
    /// `(user code, answer)` for every poll, in order: `approved`, or the error sent.
    answers: Vec<(String, &'static str)>,
}

impl Default for DeviceCodes {
    fn default() -> Self {
        Self {
            state: Mutex::new(Codes {
                by_device_code: HashMap::new(),
                scripts: VecDeque::new(),
                interval: Duration::from_secs(DEFAULT_INTERVAL_SECONDS),
                answers: Vec::new(),
            }),
        }
    }
}

/// The default script: one pending poll, then the sample user approves.
const UNSCRIPTED: [DeviceAnswer; 2] = [DeviceAnswer::Pending, DeviceAnswer::Approve(DEFAULT_USER)];

impl DeviceCodes {
    /// The next device code issued follows `answers` (in order; after the last, it stays
    /// pending unless the last was final).
    pub fn script_next(&self, answers: Vec<DeviceAnswer>) {
        self.lock().scripts.push_back(answers);
    }

    /// The interval device codes issued from now on ask clients to keep.
    pub fn set_interval(&self, interval: Duration) {
        self.lock().interval = interval;
    }

    /// Every poll's answer so far, as `(user code, answer)`.
    pub fn answers(&self) -> Vec<(String, &'static str)> {
        self.lock().answers.clone()
    }

    /// A person at the verification page decides the undecided code `user_code`: `Some(user)`
    /// approves as that user, `None` declines. `false` if no such code waits for a decision.
    pub fn decide(&self, user_code: &str, user: Option<&'static User>) -> bool {
        let mut state = self.lock();
        let Some(sign_in) = state
            .by_device_code
            .values_mut()
            .find(|sign_in| sign_in.user_code.eq_ignore_ascii_case(user_code.trim()))
        else {
            return false;
        };
        if !matches!(sign_in.decision, Decision::Undecided) || sign_in.issued.elapsed() >= LIFETIME
        {
            return false;
        }
        sign_in.decision = user.map_or(Decision::Declined, Decision::Approved);
        true
    }

    /// Issues a device code for `client` asking for `scopes`.
    fn issue(
        &self,
        client: &'static ClientApp,
        scopes: SignInScopes,
        offline_access: bool,
        openid: bool,
    ) -> (String, String, Duration) {
        let mut state = self.lock();
        let now = Instant::now();
        state
            .by_device_code
            .retain(|_, sign_in| sign_in.issued.elapsed() < LIFETIME * 2);
        let script = state
            .scripts
            .pop_front()
            .unwrap_or_else(|| UNSCRIPTED.to_vec());
        let device_code = random_urlsafe(48);
        let user_code = user_code();
        let interval = state.interval;
        state.by_device_code.insert(
            device_code.clone(),
            DeviceSignIn {
                user_code: user_code.clone(),
                client,
                scopes,
                offline_access,
                openid,
                issued: now,
                last_poll: now,
                interval,
                script: script.into(),
                decision: Decision::Undecided,
            },
        );
        (device_code, user_code, interval)
    }

    /// One poll of the token endpoint with `device_code` by `client_id`.
    pub fn poll(&self, device_code: &str, client_id: &str) -> Poll {
        let mut state = self.lock();
        let Codes {
            by_device_code,
            answers,
            ..
        } = &mut *state;
        let Some(sign_in) = by_device_code
            .get_mut(device_code)
            .filter(|sign_in| sign_in.client.client_id.eq_ignore_ascii_case(client_id))
        else {
            answers.push((String::new(), "bad_verification_code"));
            return Poll::Refused(bad_verification_code());
        };
        let outcome = answer(sign_in);
        let label = match &outcome {
            Poll::Approved(_) => "approved",
            Poll::Refused(error) => error.error,
        };
        answers.push((sign_in.user_code.clone(), label));
        outcome
    }

    fn lock(&self) -> MutexGuard<'_, Codes> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What `sign_in` tells this poll, advancing its script.
fn answer(sign_in: &mut DeviceSignIn) -> Poll {
    let now = Instant::now();
    let too_soon = now.duration_since(sign_in.last_poll) < sign_in.interval;
    sign_in.last_poll = now;
    if let Decision::Undecided = sign_in.decision {
        if sign_in.issued.elapsed() >= LIFETIME {
            sign_in.decision = Decision::Expired;
        } else if too_soon {
            return slow_down(sign_in);
        }
    }
    loop {
        match sign_in.decision {
            Decision::Approved(user) => {
                sign_in.decision = Decision::Redeemed;
                return Poll::Approved(Approval {
                    client: sign_in.client,
                    user,
                    scopes: sign_in.scopes.clone(),
                    offline_access: sign_in.offline_access,
                    openid: sign_in.openid,
                });
            }
            Decision::Declined => return Poll::Refused(declined()),
            Decision::Expired => return Poll::Refused(expired()),
            Decision::Redeemed => {
                return Poll::Refused(EntraError::new(
                    "invalid_grant",
                    54_005,
                    "The device code was already redeemed.",
                ));
            }
            Decision::Undecided => {}
        }
        match sign_in.script.pop_front() {
            None | Some(DeviceAnswer::Pending) => return Poll::Refused(pending()),
            Some(DeviceAnswer::Wait) => {
                sign_in.script.push_front(DeviceAnswer::Wait);
                return Poll::Refused(pending());
            }
            Some(DeviceAnswer::SlowDown) => return slow_down(sign_in),
            Some(DeviceAnswer::Approve(user)) => {
                sign_in.decision = Decision::Approved(
                    tenant::user(user).unwrap_or_else(|| panic!("no user `{user}` to approve")),
                );
            }
            Some(DeviceAnswer::Decline) => sign_in.decision = Decision::Declined,
            Some(DeviceAnswer::Expire) => sign_in.decision = Decision::Expired,
        }
    }
}

fn slow_down(sign_in: &mut DeviceSignIn) -> Poll {
    sign_in.interval += Duration::from_secs(SLOW_DOWN_STEP_SECONDS);
    Poll::Refused(EntraError::new(
        "slow_down",
        70_016,
        "The client is polling too often. Add five seconds to the polling interval.",
    ))
}

fn pending() -> EntraError {
    EntraError::new(
        "authorization_pending",
        70_016,
        "The provided request has not yet been authorized by the user. The user must input \
         their code.",
    )
}

fn declined() -> EntraError {
    EntraError::new(
        "authorization_declined",
        65_004,
        "User declined to consent to access the app.",
    )
}

fn expired() -> EntraError {
    EntraError::new(
        "expired_token",
        70_020,
        "The provided value for the input parameter 'device_code' is not valid. This device \
         code has expired.",
    )
}

fn bad_verification_code() -> EntraError {
    EntraError::new(
        "bad_verification_code",
        70_000,
        "The provided value for the input parameter 'device_code' is not valid.",
    )
}

/// Eight characters from an alphabet without look-alikes, as Entra's user codes read.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct DeviceCodeRequest {
    client_id: Option<String>,
    scope: Option<String>,
}

/// `POST {tenant}/oauth2/v2.0/devicecode`.
pub async fn device_code(
    State(issuer): State<Arc<Issuer>>,
    Path(tenant): Path<String>,
    Form(request): Form<DeviceCodeRequest>,
) -> Response {
    match start(&issuer, &tenant, &request) {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

fn start(
    issuer: &Issuer,
    tenant: &str,
    request: &DeviceCodeRequest,
) -> Result<serde_json::Value, EntraError> {
    super::known_tenant(tenant)?;
    let client_id = request
        .client_id
        .as_deref()
        .ok_or_else(|| EntraError::missing("client_id"))?;
    let client = super::registered_client(client_id)?;
    let scope = request
        .scope
        .as_deref()
        .ok_or_else(|| EntraError::missing("scope"))?;
    let scopes = SignInScopes::parse(issuer, client, scope)?;
    let has = |name: &str| scope.split_whitespace().any(|s| s == name);
    let (device_code, user_code, interval) =
        issuer
            .device_codes
            .issue(client, scopes, has("offline_access"), has("openid"));
    let verification_uri = format!("{}{VERIFICATION_PATH}", issuer.base_url);
    Ok(serde_json::json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": LIFETIME.as_secs(),
        "interval": interval.as_secs(),
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the \
             code {user_code} to authenticate."
        ),
    }))
}

/// The verification page: where a person enters the user code and signs in (no password: the
/// devstack has none), or declines.
pub async fn page() -> Html<&'static str> {
    Html(
        "<!DOCTYPE html><html><head><title>Enter code</title></head><body>\
         <h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>\
         <form method=\"post\">\
         <label>Code <input name=\"user_code\" autocomplete=\"off\"></label>\
         <label>Sign in as <input name=\"login_hint\" value=\"adele\"></label>\
         <button name=\"decision\" value=\"approve\">Sign in</button>\
         <button name=\"decision\" value=\"decline\">Cancel</button>\
         </form></body></html>",
    )
}

#[derive(Debug, Deserialize)]
pub struct Verification {
    user_code: String,
    login_hint: Option<String>,
    decision: String,
}

/// The verification page's form.
pub async fn verify(State(issuer): State<Arc<Issuer>>, Form(form): Form<Verification>) -> Response {
    let user = match form.decision.as_str() {
        "approve" => {
            let hint = form.login_hint.as_deref().unwrap_or(DEFAULT_USER);
            match tenant::user(hint) {
                Some(user) => Some(user),
                None => {
                    return (
                        StatusCode::BAD_REQUEST,
                        Html("No such user in this tenant."),
                    )
                        .into_response();
                }
            }
        }
        _ => None,
    };
    if issuer.device_codes.decide(&form.user_code, user) {
        let done = if user.is_some() {
            "You have signed in. You can close this window."
        } else {
            "You declined to sign in. You can close this window."
        };
        Html(done).into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            Html("That code is not valid or has expired. Check it and try again."),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_in(script: &[DeviceAnswer], interval: Duration) -> DeviceSignIn {
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(60))
            .unwrap_or_else(Instant::now);
        DeviceSignIn {
            user_code: "ABCD2345".to_owned(),
            client: tenant::client("local").unwrap(),
            scopes: SignInScopes::Graph(
                super::super::graph_scope::GraphScopes::parse("User.Read", "http://x").unwrap(),
            ),
            offline_access: true,
            openid: true,
            issued: long_ago,
            last_poll: long_ago,
            interval,
            script: script.iter().copied().collect(),
            decision: Decision::Undecided,
        }
    }

    fn error(poll: Poll) -> &'static str {
        match poll {
            Poll::Refused(error) => error.error,
            Poll::Approved(_) => "approved",
        }
    }

    #[test]
    fn a_script_is_followed_poll_by_poll_and_the_code_is_used_once() {
        let mut signing_in = sign_in(
            &[
                DeviceAnswer::Pending,
                DeviceAnswer::SlowDown,
                DeviceAnswer::Approve("megan"),
            ],
            Duration::ZERO,
        );
        assert_eq!(error(answer(&mut signing_in)), "authorization_pending");
        assert_eq!(error(answer(&mut signing_in)), "slow_down");
        assert_eq!(signing_in.interval, Duration::from_secs(5));
        signing_in.last_poll = signing_in.issued;
        match answer(&mut signing_in) {
            Poll::Approved(approval) => assert_eq!(approval.user.key, "megan"),
            Poll::Refused(error) => panic!("{error:?}"),
        }
        assert_eq!(error(answer(&mut signing_in)), "invalid_grant");
    }

    #[test]
    fn polling_sooner_than_the_interval_is_slowed_down() {
        let mut signing_in = sign_in(&[DeviceAnswer::Pending], Duration::from_secs(3600));
        signing_in.last_poll = Instant::now();
        assert_eq!(error(answer(&mut signing_in)), "slow_down");
        assert_eq!(signing_in.interval, Duration::from_secs(3605));
        assert_eq!(signing_in.script.len(), 1, "the script waits");
    }

    #[test]
    fn declined_and_expired_codes_stay_so() {
        let mut declined = sign_in(&[DeviceAnswer::Decline], Duration::ZERO);
        assert_eq!(error(answer(&mut declined)), "authorization_declined");
        assert_eq!(error(answer(&mut declined)), "authorization_declined");
        let mut expired = sign_in(&[DeviceAnswer::Expire], Duration::ZERO);
        assert_eq!(error(answer(&mut expired)), "expired_token");
        assert_eq!(error(answer(&mut expired)), "expired_token");
        let mut old = sign_in(&[DeviceAnswer::Approve("adele")], Duration::ZERO);
        let Some(issued) = Instant::now().checked_sub(LIFETIME) else {
            return; // the monotonic clock started too recently to look back that far
        };
        old.issued = issued;
        assert_eq!(error(answer(&mut old)), "expired_token");
    }

    #[test]
    fn a_waiting_code_is_decided_by_its_user_code() {
        let codes = DeviceCodes::default();
        codes.script_next(vec![DeviceAnswer::Wait]);
        let client = tenant::client("local").unwrap();
        let scopes = sign_in(&[], Duration::ZERO).scopes;
        codes.set_interval(Duration::ZERO);
        let (device_code, user_code, _) = codes.issue(client, scopes, true, true);
        assert_eq!(
            error(codes.poll(&device_code, client.client_id)),
            "authorization_pending"
        );
        assert_eq!(
            error(codes.poll(&device_code, client.client_id)),
            "authorization_pending"
        );
        assert!(!codes.decide("NOPE1234", None));
        assert!(codes.decide(&user_code.to_lowercase(), tenant::user("alex")));
        assert!(!codes.decide(&user_code, None), "decided once");
        match codes.poll(&device_code, client.client_id) {
            Poll::Approved(approval) => assert_eq!(approval.user.key, "alex"),
            Poll::Refused(error) => panic!("{error:?}"),
        }
        assert_eq!(
            error(codes.poll(&device_code, tenant::DEV_CLIENT_ID)),
            "bad_verification_code",
            "another client's poll"
        );
        assert_eq!(
            error(codes.poll("made-up", client.client_id)),
            "bad_verification_code"
        );
        let answers: Vec<&str> = codes.answers().iter().map(|(_, a)| *a).collect();
        assert_eq!(
            answers,
            [
                "authorization_pending",
                "authorization_pending",
                "approved",
                "bad_verification_code",
                "bad_verification_code"
            ]
        );
    }

    #[test]
    fn user_codes_are_eight_unambiguous_characters() {
        let code = user_code();
        assert_eq!(code.len(), 8);
        assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
        assert_ne!(user_code(), code);
    }
}
