//! People as Outlook names them in mail and meetings: an `emailAddress` with a display name
//! and an SMTP address, which may be anyone's, inside the tenant or not.

use serde_json::{Value, json};

use crate::tenant::{USERS, User};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    pub name: String,
    pub address: String,
}

impl EmailAddress {
    pub fn new(name: &str, address: &str) -> Self {
        Self {
            name: name.to_owned(),
            address: address.to_owned(),
        }
    }

    pub fn of(user: &User) -> Self {
        Self::new(user.display_name, user.user_principal_name)
    }

    /// The directory user with this address, if it is one of the tenant's mailboxes.
    pub fn user(&self) -> Option<&'static User> {
        USERS
            .iter()
            .find(|user| user.user_principal_name.eq_ignore_ascii_case(&self.address))
    }

    /// `{ "name": …, "address": … }`
    pub fn json(&self) -> Value {
        json!({ "name": self.name, "address": self.address })
    }
}
