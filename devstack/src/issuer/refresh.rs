//! Refresh tokens, for the server app as a confidential client (broker mode).
//!
//! Entra issues one when the sign-in asked for `offline_access`, and the `refresh_token` grant
//! trades it, with the client's credential, for a new access token and a new refresh token.
//! Like Entra's, a refresh token stays valid after use until it expires or the user's sessions
//! are revoked (the broker rotates its own tokens; Entra's replace themselves but the old ones
//! keep working). They are opaque and random here; Entra's are opaque and encrypted. A test can
//! revoke a user's sessions, after which every refresh for them fails with AADSTS50173.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use super::{random_urlsafe, scope::ApiScopes};
use crate::tenant::User;

#[derive(Debug, Clone)]
pub struct Issued {
    pub client_id: String,
    pub user: &'static User,
    pub scopes: ApiScopes,
    revoked: bool,
}

#[derive(Debug, Default)]
pub struct RefreshTokens {
    issued: Mutex<HashMap<String, Issued>>,
}

/// What redeeming a refresh token found.
#[derive(Debug)]
pub enum Lookup {
    Valid(Issued),
    Revoked,
    Unknown,
}

impl RefreshTokens {
    pub fn issue(&self, client_id: &str, user: &'static User, scopes: ApiScopes) -> String {
        let token = format!("devstack-rt.{}", random_urlsafe(48));
        self.lock().insert(
            token.clone(),
            Issued {
                client_id: client_id.to_owned(),
                user,
                scopes,
                revoked: false,
            },
        );
        token
    }

    pub fn lookup(&self, token: &str) -> Lookup {
        match self.lock().get(token) {
            Some(issued) if issued.revoked => Lookup::Revoked,
            Some(issued) => Lookup::Valid(issued.clone()),
            None => Lookup::Unknown,
        }
    }

    /// Revokes every refresh token of `user` (as "revoke sessions" does in Entra).
    pub fn revoke_user(&self, user: &User) {
        for issued in self.lock().values_mut() {
            if issued.user.key == user.key {
                issued.revoked = true;
            }
        }
    }

    /// How many refresh tokens were issued (rotation issues one per use).
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
