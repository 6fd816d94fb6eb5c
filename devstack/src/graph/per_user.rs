//! One collection per sample user (messages, events, drive items), generated once when the
//! devstack starts.

use std::collections::HashMap;

use crate::tenant::{USERS, User};

#[derive(Debug)]
pub struct PerUser<T>(HashMap<&'static str, Vec<T>>);

impl<T> PerUser<T> {
    pub fn generate(mut make: impl FnMut(&'static User) -> Vec<T>) -> Self {
        Self(USERS.iter().map(|user| (user.key, make(user))).collect())
    }

    pub fn of(&self, user: &User) -> &[T] {
        self.0.get(user.key).map_or(&[], Vec::as_slice)
    }
}
