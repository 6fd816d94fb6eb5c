//! Refresh tokens: for the server app as a confidential client (broker mode), and for public
//! clients that call Graph themselves (`handler stdio`, see [`super::sign_in`]).
//!
//! Entra issues one when the sign-in asked for `offline_access`, and the `refresh_token` grant
//! trades it (with the client's credential, if it has one) for a new access token and a new
//! refresh token.
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

/// What a refresh token can be traded for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// These permissions of the server's API (broker mode's sign-ins).
    ServerApi(ApiScopes),
    /// Whatever Graph permissions the user consented to for the client.
    Graph,
}

#[derive(Debug, Clone)]
pub struct Issued {
    pub client_id: String,
    pub user: &'static User,
    pub reach: Reach,
    /// Issue order, for tests that ask which token is the newest.
    sequence: usize,
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
    pub fn issue(&self, client_id: &str, user: &'static User, reach: Reach) -> String {
        let token = format!("devstack-rt.{}", random_urlsafe(48));
        let mut issued = self.lock();
        let sequence = issued.len();
        issued.insert(
            token.clone(),
            Issued {
                client_id: client_id.to_owned(),
                user,
                reach,
                sequence,
                revoked: false,
            },
        );
        token
    }

    /// The refresh tokens issued to `client_id` for `user`, oldest first.
    pub fn issued_to(&self, client_id: &str, user: &User) -> Vec<String> {
        let issued = self.lock();
        let mut tokens: Vec<(&String, &Issued)> = issued
            .iter()
            .filter(|(_, issued)| {
                issued.user.key == user.key && issued.client_id.eq_ignore_ascii_case(client_id)
            })
            .collect();
        tokens.sort_by_key(|(_, issued)| issued.sequence);
        tokens.into_iter().map(|(token, _)| token.clone()).collect()
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
