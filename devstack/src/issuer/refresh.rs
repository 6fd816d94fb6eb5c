//! Refresh tokens: for the server app as a confidential client (broker mode), and for public
//! clients that call Graph themselves (`handler stdio`, see [`super::sign_in`]).
//!
//! Entra issues one when the sign-in asked for `offline_access`, and the `refresh_token` grant
//! trades it (with the client's credential, if it has one) for a new access token and a new
//! refresh token.
//! Like Entra's, a refresh token stays valid after use until it expires or the user's sessions
//! are revoked (the broker rotates its own tokens; Entra's replace themselves but the old ones
//! keep working). They are opaque and random here; Entra's are opaque and encrypted. A test can
//! revoke a user's sessions, after which every refresh for them fails with AADSTS50173, or let
//! their refresh tokens expire (Entra's last 90 days unused), failing with AADSTS700082.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use super::{error::EntraError, random_urlsafe, scope::ApiScopes};
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
    /// Why it no longer works, if it does not.
    dead: Option<Dead>,
}

#[derive(Debug, Clone, Copy)]
enum Dead {
    Revoked,
    Expired,
}

#[derive(Debug, Default)]
pub struct RefreshTokens {
    issued: Mutex<HashMap<String, Issued>>,
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
                dead: None,
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

    /// What `token` was issued for, or Entra's answer to a refresh token that no longer
    /// works.
    pub fn redeem(&self, token: &str) -> Result<Issued, EntraError> {
        match self.lock().get(token) {
            Some(issued) => match issued.dead {
                None => Ok(issued.clone()),
                Some(Dead::Revoked) => Err(invalid_grant(
                    50_173,
                    "The provided grant has expired due to it being revoked, a fresh auth token \
                     is needed. The user might have changed or reset their password.",
                )),
                Some(Dead::Expired) => Err(invalid_grant(
                    700_082,
                    "The refresh token has expired due to inactivity. The token was issued on \
                     a date more than 90 days ago and was inactive for 90.00:00:00.",
                )),
            },
            None => Err(invalid_grant(
                9_002_313,
                "Invalid request. Request is malformed or invalid.",
            )),
        }
    }

    /// Revokes every refresh token of `user` (as "revoke sessions" does in Entra).
    pub fn revoke_user(&self, user: &User) {
        self.kill_user(user, Dead::Revoked);
    }

    /// Ends every refresh token of `user` as if 90 days had passed without its use.
    pub fn expire_user(&self, user: &User) {
        self.kill_user(user, Dead::Expired);
    }

    fn kill_user(&self, user: &User, why: Dead) {
        for issued in self.lock().values_mut() {
            if issued.user.key == user.key {
                issued.dead = Some(why);
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

fn invalid_grant(code: u32, message: &str) -> EntraError {
    EntraError::new("invalid_grant", code, message)
}
