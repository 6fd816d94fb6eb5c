//! What Entra ID's token endpoint answers, for every grant this server uses: on-behalf-of
//! (the server), and device code, authorization code and refresh token (`handler stdio`).

use serde::Deserialize;

/// The token endpoint's answers are a few kilobytes; nothing larger is read.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A successful answer. The access token is opaque to this server.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub expires_in: u64,
    /// With `offline_access`: the new refresh token (Entra rotates them on every use).
    pub refresh_token: Option<String>,
    /// With `openid`: who signed in.
    pub id_token: Option<String>,
}

/// A refusal, in Entra's shape: the OAuth `error`, the AADSTS numbers, a claims challenge
/// for Conditional Access, and the ids support asks for.
#[derive(Deserialize, Default, Debug)]
pub struct EntraError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_codes: Vec<u32>,
    /// `consent_required`, `basic_action`, ...: Entra's finer reason.
    pub suberror: Option<String>,
    pub claims: Option<String>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl EntraError {
    /// The first AADSTS number.
    pub fn code(&self) -> Option<u32> {
        self.error_codes.first().copied()
    }

    /// Missing consent to what was asked (AADSTS65001).
    pub fn is_consent_required(&self) -> bool {
        self.error_codes.contains(&65001) || self.suberror.as_deref() == Some("consent_required")
    }
}
