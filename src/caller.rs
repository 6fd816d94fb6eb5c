//! The authenticated caller: who is calling (from a token this server validated), and what a
//! tool may demand of them.
//!
//! [`inbound_auth`](crate::inbound_auth) produces a [`Caller`] for every accepted request; tools
//! check it against their [`Access`], and the on-behalf-of exchange presents its
//! [`BearerToken`] to Entra ID. `handler stdio` has one caller, the user who signed in to it,
//! and no inbound token. Nothing here knows about HTTP.

use std::fmt;

use crate::telemetry::CallerIdentity;

/// The caller's access token, kept only for the on-behalf-of exchange. It never appears in
/// `Debug` output, logs or responses.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token taken from an `Authorization` header, once it has been validated.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the one place allowed to send it anywhere: the Entra token
    /// endpoint, as the on-behalf-of assertion.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// A delegated token: a signed-in user through a client application.
    User,
    /// An app-only token: an application acting as itself.
    Application,
}

/// Who is calling, from a validated token. Identity is `tid` + `oid`, never a name or e-mail.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub object_id: String,
    /// `azp` (v2) or `appid` (v1): the client application.
    pub client_app_id: String,
    pub kind: CallerKind,
    /// Delegated scopes of this API (`scp`), short names.
    pub scopes: Vec<String>,
    /// App roles of this API (`roles`).
    pub roles: Vec<String>,
    /// The token the caller presented; `None` for the one local user of `handler stdio`, who
    /// signed in to the process itself and presents nothing.
    pub token: Option<BearerToken>,
}

impl Caller {
    pub fn identity(&self) -> CallerIdentity {
        CallerIdentity {
            tenant_id: self.tenant_id.clone(),
            object_id: self.object_id.clone(),
            client_app_id: self.client_app_id.clone(),
        }
    }

    /// Whether this caller may see and call a tool that needs `access`.
    pub fn may(&self, access: Access) -> bool {
        match access {
            Access::AnyCaller => true,
            Access::User { scopes } => {
                self.kind == CallerKind::User
                    && scopes
                        .iter()
                        .all(|scope| self.scopes.iter().any(|s| s == scope))
            }
            Access::AppRole(role) => self.holds(role),
            Access::UserWithRole(role) => self.kind == CallerKind::User && self.holds(role),
        }
    }

    fn holds(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }
}

/// What a caller must hold for a tool, on top of being accepted by the server at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any caller the server accepted, user or application.
    AnyCaller,
    /// A signed-in user whose token carries these delegated scopes of this API (beyond the
    /// required one). Tools that act in Graph on a user's behalf need a user: an application has
    /// no one to act for.
    User { scopes: &'static [&'static str] },
    /// A caller holding this app role (a user assigned to it, or an application granted it).
    AppRole(&'static str),
    /// A signed-in user assigned this app role: tools that change a user's data act for a user,
    /// and only for users an administrator trusted with it.
    UserWithRole(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_callers_token() {
        let caller = Caller {
            tenant_id: "t".into(),
            object_id: "o".into(),
            client_app_id: "a".into(),
            kind: CallerKind::User,
            scopes: vec!["user_impersonation".into()],
            roles: Vec::new(),
            token: Some(BearerToken::new("eyJ-caller-token-8c7b6a".into())),
        };
        let shown = format!("{caller:?} {:?}", caller.token);
        assert!(!shown.contains("eyJ-caller-token-8c7b6a"), "{shown}");
    }
}
