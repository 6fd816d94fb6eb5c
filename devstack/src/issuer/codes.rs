//! Authorization codes: what the authorization endpoint hands the client through the browser,
//! and the token endpoint exchanges for a token.
//!
//! A code is a one-time, short-lived reference to a finished sign-in. It remembers who it was
//! issued to (client id and redirect URI, both checked again on redemption), the PKCE
//! challenge, the user and the scopes. Redeeming it consumes it: a second redemption, by the
//! same client or by someone who copied the code from a log, fails with AADSTS54005.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{random_urlsafe, sign_in::SignInScopes};
use crate::tenant::User;

/// How long a code may wait for redemption. Entra allows about ten minutes; five is plenty
/// for a loopback redirect and keeps stale codes out of tests.
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Everything a sign-in established, waiting for the client to redeem it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub user: &'static User,
    pub scopes: SignInScopes,
    /// The sign-in asked for `offline_access`: redeeming issues a refresh token (for the
    /// server's API, confidential clients only, in the devstack).
    pub offline_access: bool,
    /// The sign-in asked for `openid`: a client that calls Graph itself gets an ID token.
    pub openid: bool,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum Redemption {
    Valid(Grant),
    AlreadyRedeemed,
    Expired,
    Unknown,
}

#[derive(Debug)]
enum Entry {
    Issued { grant: Grant, issued_at: Instant },
    Redeemed { issued_at: Instant },
}

impl Entry {
    fn issued_at(&self) -> Instant {
        match self {
            Entry::Issued { issued_at, .. } | Entry::Redeemed { issued_at } => *issued_at,
        }
    }
}

#[derive(Debug, Default)]
pub struct CodeStore {
    entries: Mutex<HashMap<String, Entry>>,
}

impl CodeStore {
    /// Stores `grant` under a new random code and returns the code.
    pub fn issue(&self, grant: Grant) -> String {
        self.issue_at(grant, Instant::now())
    }

    fn issue_at(&self, grant: Grant, issued_at: Instant) -> String {
        let code = random_urlsafe(32);
        let mut entries = self.lock();
        // Forget codes that can no longer be redeemed so a long `cargo run` stays small.
        entries.retain(|_, entry| entry.issued_at().elapsed() < CODE_LIFETIME * 2);
        entries.insert(code.clone(), Entry::Issued { grant, issued_at });
        code
    }

    /// Consumes `code`. Any redemption attempt uses it up, successful or not.
    pub fn redeem(&self, code: &str) -> Redemption {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(code) else {
            return Redemption::Unknown;
        };
        let issued_at = entry.issued_at();
        match std::mem::replace(entry, Entry::Redeemed { issued_at }) {
            Entry::Redeemed { .. } => Redemption::AlreadyRedeemed,
            Entry::Issued { .. } if issued_at.elapsed() >= CODE_LIFETIME => Redemption::Expired,
            Entry::Issued { grant, .. } => Redemption::Valid(grant),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant;

    fn grant() -> Grant {
        Grant {
            client_id: tenant::DEV_CLIENT_ID.to_owned(),
            redirect_uri: "http://localhost:1234/".to_owned(),
            code_challenge: "challenge".to_owned(),
            user: tenant::user("adele").unwrap(),
            scopes: SignInScopes::ServerApi(crate::issuer::scope::ApiScopes {
                resource: "api://x".to_owned(),
                names: vec!["user_impersonation".to_owned()],
            }),
            offline_access: false,
            openid: false,
        }
    }

    #[test]
    fn a_code_is_redeemed_once() {
        let store = CodeStore::default();
        let code = store.issue(grant());
        assert!(matches!(store.redeem(&code), Redemption::Valid(g) if g.user.key == "adele"));
        assert!(matches!(store.redeem(&code), Redemption::AlreadyRedeemed));
    }

    #[test]
    fn unknown_codes_are_unknown() {
        let store = CodeStore::default();
        store.issue(grant());
        assert!(matches!(store.redeem("made-up"), Redemption::Unknown));
    }

    #[test]
    fn old_codes_expire() {
        let store = CodeStore::default();
        let Some(long_ago) = Instant::now().checked_sub(CODE_LIFETIME + Duration::from_secs(1))
        else {
            return; // the monotonic clock started too recently to look back that far
        };
        let code = store.issue_at(grant(), long_ago);
        assert!(matches!(store.redeem(&code), Redemption::Expired));
        assert!(matches!(store.redeem(&code), Redemption::AlreadyRedeemed));
    }

    #[test]
    fn codes_are_random() {
        let store = CodeStore::default();
        assert_ne!(store.issue(grant()), store.issue(grant()));
    }
}
