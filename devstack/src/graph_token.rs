//! The Microsoft Graph access tokens the on-behalf-of grant issues and the Graph stand-in
//! accepts.
//!
//! Real Graph tokens are JWTs, but not for the client to read: Entra may change their format
//! or encrypt them, and Graph's tokens carry a `nonce` header that makes standard signature
//! validation fail anyway. A client that parses one works by accident. So the devstack's Graph
//! tokens are opaque on purpose, random strings that mean something only to the devstack: it
//! remembers whom each one acts for, which permissions it carries, and when it expires.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use crate::{datetime::now_seconds, keys::base64url, tenant::User};

/// Entra's average access-token lifetime (it randomizes between 60 and 90 minutes).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(75 * 60);

/// What a Graph token stands for. The user implies the tenant: the devstack has one.
#[derive(Debug, Clone)]
pub struct GraphGrant {
    pub user: &'static User,
    /// Delegated Graph permissions, canonical names (`Mail.Read`).
    pub permissions: Vec<&'static str>,
    /// Unix seconds.
    pub expires_at: i64,
}

impl GraphGrant {
    pub fn allows(&self, permission: &str) -> bool {
        self.permissions.contains(&permission)
    }
}

/// What a presented token turned out to be.
#[derive(Debug, Clone)]
pub enum Presented {
    Valid(GraphGrant),
    Expired,
    Unknown,
}

#[derive(Debug)]
pub struct GraphTokens {
    grants: Mutex<HashMap<String, GraphGrant>>,
    lifetime: Mutex<Duration>,
}

impl Default for GraphTokens {
    fn default() -> Self {
        Self {
            grants: Mutex::default(),
            lifetime: Mutex::new(DEFAULT_LIFETIME),
        }
    }
}

impl GraphTokens {
    /// A new token for `user` carrying `permissions`, and its lifetime in seconds.
    pub fn issue(&self, user: &'static User, permissions: Vec<&'static str>) -> (String, u64) {
        let lifetime = *self.lifetime.lock().unwrap_or_else(PoisonError::into_inner);
        let seconds = lifetime.as_secs();
        let now = now_seconds();
        let token = random_token();
        let mut grants = self.grants.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget long-expired tokens so a long `cargo run` stays small.
        grants.retain(|_, grant| grant.expires_at > now - 3600);
        grants.insert(
            token.clone(),
            GraphGrant {
                user,
                permissions,
                expires_at: now + i64::try_from(seconds).unwrap_or(i64::MAX / 2),
            },
        );
        (token, seconds)
    }

    pub fn check(&self, token: &str) -> Presented {
        let grants = self.grants.lock().unwrap_or_else(PoisonError::into_inner);
        match grants.get(token) {
            Some(grant) if grant.expires_at <= now_seconds() => Presented::Expired,
            Some(grant) => Presented::Valid(grant.clone()),
            None => Presented::Unknown,
        }
    }

    /// How long tokens issued from now on live. Zero issues tokens that are already expired.
    pub fn set_lifetime(&self, lifetime: Duration) {
        *self.lifetime.lock().unwrap_or_else(PoisonError::into_inner) = lifetime;
    }
}

/// 48 random bytes, base64url: nothing a client could decode.
fn random_token() -> String {
    let mut bytes = [0; 48];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    base64url(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant;

    #[test]
    fn issued_tokens_are_opaque_and_remember_their_grant() {
        let tokens = GraphTokens::default();
        let adele = tenant::user("adele").unwrap();
        let (token, lifetime) = tokens.issue(adele, vec!["User.Read", "Mail.Read"]);
        assert_eq!(lifetime, 75 * 60);
        assert_eq!(token.len(), 64);
        assert!(!token.contains('.'), "not a JWT");

        let Presented::Valid(grant) = tokens.check(&token) else {
            panic!("the token is valid");
        };
        assert_eq!(grant.user.key, "adele");
        assert!(grant.allows("Mail.Read"));
        assert!(!grant.allows("Files.Read"));
        assert!(matches!(tokens.check("made-up"), Presented::Unknown));
        assert_ne!(tokens.issue(adele, vec![]).0, token);
    }

    #[test]
    fn the_lifetime_is_adjustable_down_to_already_expired() {
        let tokens = GraphTokens::default();
        let adele = tenant::user("adele").unwrap();
        tokens.set_lifetime(Duration::from_secs(120));
        let (token, lifetime) = tokens.issue(adele, vec![]);
        assert_eq!(lifetime, 120);
        assert!(matches!(tokens.check(&token), Presented::Valid(_)));

        tokens.set_lifetime(Duration::ZERO);
        let (expired, _) = tokens.issue(adele, vec![]);
        assert!(matches!(tokens.check(&expired), Presented::Expired));
    }
}
