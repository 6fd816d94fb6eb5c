//! What Entra checks about the user before it issues a delegated token for another API: consent
//! and Conditional Access. Both can fail an on-behalf-of exchange whose tokens are otherwise
//! perfect, and both need the user back at an interactive sign-in, which is why a middle tier
//! has to pass them back to its client instead of retrying.
//!
//! - **Consent**: an application may use a delegated permission for a user only if an
//!   administrator consented to it for everyone, or the user consented for themselves. Entra
//!   checks every requested permission; `.default` means "whatever is consented".
//! - **Consent to a client's own Graph permissions**: an app that calls Graph itself (a local
//!   public client, see [`super::sign_in`]) has what each user consented to at its sign-ins,
//!   nothing before the first.
//! - **Conditional Access**: a policy may demand more than the user's sign-in proved, here
//!   multifactor authentication. Entra refuses with `interaction_required` and a *claims
//!   challenge* naming the policy, which the client replays at its next sign-in.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, PoisonError},
};

use crate::tenant::{
    ADMIN_CONSENTED_GRAPH_PERMISSIONS, ClientApp, GRAPH_PERMISSIONS,
    USER_CONSENTED_GRAPH_PERMISSIONS, User,
};

/// The tenant's consent grants and Conditional Access state for the server app's users.
#[derive(Debug)]
pub struct Policy {
    /// The administrator's tenant-wide consent; [`ADMIN_CONSENTED_GRAPH_PERMISSIONS`] unless a
    /// test changed it (a deployment without `grantAdminConsent` has none).
    admin_consent: Mutex<Vec<&'static str>>,
    /// Per-user consent, by user key, where a test changed it; everyone else has
    /// [`USER_CONSENTED_GRAPH_PERMISSIONS`].
    user_consent: Mutex<HashMap<&'static str, Vec<&'static str>>>,
    /// Keys of the users a multifactor policy applies to.
    mfa_required: Mutex<HashSet<&'static str>>,
    /// What each user consented to for each client that asks for Graph permissions itself, by
    /// (user key, client id).
    client_consent: Mutex<HashMap<(&'static str, &'static str), Vec<&'static str>>>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            admin_consent: Mutex::new(ADMIN_CONSENTED_GRAPH_PERMISSIONS.to_vec()),
            user_consent: Mutex::default(),
            mfa_required: Mutex::default(),
            client_consent: Mutex::default(),
        }
    }
}

impl Policy {
    /// Every Graph permission the server app may use for `user`: the administrator's
    /// tenant-wide consent and the user's own, in [`GRAPH_PERMISSIONS`] order.
    pub fn consented(&self, user: &User) -> Vec<&'static str> {
        let user_consent = self
            .user_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let own = user_consent
            .get(user.key)
            .map_or(USER_CONSENTED_GRAPH_PERMISSIONS, Vec::as_slice);
        let admin = self
            .admin_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        GRAPH_PERMISSIONS
            .iter()
            .copied()
            .filter(|permission| admin.contains(permission) || own.contains(permission))
            .collect()
    }

    /// Replaces the administrator's tenant-wide consent (canonical permission names).
    pub fn set_admin_consent(&self, permissions: Vec<&'static str>) {
        *self
            .admin_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = permissions;
    }

    /// Replaces what `user` consented to for themselves (canonical permission names). The
    /// administrator's consent stays.
    pub fn set_consent(&self, user: &'static User, permissions: Vec<&'static str>) {
        self.user_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.key, permissions);
    }

    /// Takes `permission` out of what `user` consented to for themselves. `false` if the
    /// administrator consented to it for everyone: that consent cannot be withdrawn per user.
    pub fn withdraw(&self, user: &'static User, permission: &'static str) -> bool {
        let admin = self
            .admin_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&permission);
        if admin {
            return false;
        }
        let mut user_consent = self
            .user_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        user_consent
            .entry(user.key)
            .or_insert_with(|| USER_CONSENTED_GRAPH_PERMISSIONS.to_vec())
            .retain(|consented| *consented != permission);
        true
    }

    /// `user` consents to `permissions` for `client` (at an interactive sign-in).
    pub fn consent_for_client(
        &self,
        user: &'static User,
        client: &'static ClientApp,
        permissions: &[&'static str],
    ) {
        let mut consent = self
            .client_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let consented = consent.entry((user.key, client.client_id)).or_default();
        for permission in permissions {
            if !consented.contains(permission) {
                consented.push(permission);
            }
        }
    }

    /// What `user` consented to for `client`, in [`GRAPH_PERMISSIONS`] order.
    pub fn client_consented(&self, user: &User, client: &ClientApp) -> Vec<&'static str> {
        let consent = self
            .client_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let consented = consent
            .get(&(user.key, client.client_id))
            .map_or(&[][..], Vec::as_slice);
        GRAPH_PERMISSIONS
            .iter()
            .copied()
            .filter(|permission| consented.contains(permission))
            .collect()
    }

    /// Takes `permission` out of what `user` consented to for `client`.
    pub fn withdraw_client_consent(
        &self,
        user: &'static User,
        client: &'static ClientApp,
        permission: &'static str,
    ) {
        if let Some(consented) = self
            .client_consent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&(user.key, client.client_id))
        {
            consented.retain(|consented| *consented != permission);
        }
    }

    pub fn require_mfa(&self, user: &'static User, required: bool) {
        let mut users = self
            .mfa_required
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if required {
            users.insert(user.key);
        } else {
            users.remove(user.key);
        }
    }

    pub fn mfa_required(&self, user: &User) -> bool {
        self.mfa_required
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(user.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant;

    #[test]
    fn users_have_the_admin_consent_and_their_own() {
        let policy = Policy::default();
        let adele = tenant::user("adele").unwrap();
        let consented = policy.consented(adele);
        for permission in ADMIN_CONSENTED_GRAPH_PERMISSIONS
            .iter()
            .chain(USER_CONSENTED_GRAPH_PERMISSIONS)
        {
            assert!(consented.contains(permission), "{permission}");
        }

        policy.set_consent(adele, vec!["Files.Read.All"]);
        assert_eq!(
            policy.consented(adele),
            ["User.Read", "MailboxSettings.Read", "Files.Read.All"]
        );
        policy.set_consent(adele, vec![]);
        assert_eq!(
            policy.consented(adele),
            ADMIN_CONSENTED_GRAPH_PERMISSIONS,
            "the administrator's consent cannot be withdrawn per user"
        );
        let alex = tenant::user("alex").unwrap();
        assert!(
            policy.consented(alex).contains(&"Mail.Read"),
            "others keep theirs"
        );
    }

    #[test]
    fn one_permission_is_withdrawn_per_user_but_not_the_admins() {
        let policy = Policy::default();
        let adele = tenant::user("adele").unwrap();
        assert!(policy.withdraw(adele, "Calendars.Read"));
        let consented = policy.consented(adele);
        assert!(!consented.contains(&"Calendars.Read"));
        assert!(consented.contains(&"Mail.Read"), "the rest stays");
        assert!(
            policy
                .consented(tenant::user("alex").unwrap())
                .contains(&"Calendars.Read")
        );
        assert!(!policy.withdraw(adele, "User.Read"), "admin-consented");
        assert!(policy.consented(adele).contains(&"User.Read"));
    }

    #[test]
    fn consent_to_a_clients_own_permissions_grows_per_sign_in_and_can_be_withdrawn() {
        let policy = Policy::default();
        let adele = tenant::user("adele").unwrap();
        let local = tenant::client("local").unwrap();
        assert!(policy.client_consented(adele, local).is_empty());
        policy.consent_for_client(adele, local, &["Mail.Read", "User.Read"]);
        policy.consent_for_client(adele, local, &["User.Read", "Tasks.Read"]);
        assert_eq!(
            policy.client_consented(adele, local),
            ["User.Read", "Mail.Read", "Tasks.Read"]
        );
        policy.withdraw_client_consent(adele, local, "Mail.Read");
        assert_eq!(
            policy.client_consented(adele, local),
            ["User.Read", "Tasks.Read"]
        );
        let alex = tenant::user("alex").unwrap();
        assert!(policy.client_consented(alex, local).is_empty(), "per user");
        assert!(
            !policy.consented(adele).is_empty(),
            "the server app's consent is another matter"
        );
    }

    #[test]
    fn mfa_applies_to_the_users_named() {
        let policy = Policy::default();
        let adele = tenant::user("adele").unwrap();
        assert!(!policy.mfa_required(adele));
        policy.require_mfa(adele, true);
        assert!(policy.mfa_required(adele));
        assert!(!policy.mfa_required(tenant::user("alex").unwrap()));
        policy.require_mfa(adele, false);
        assert!(!policy.mfa_required(adele));
    }
}
