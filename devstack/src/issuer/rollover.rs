//! Signing-key rollover: which key signs now and which keys the JWKS publishes.
//!
//! Entra rolls keys in two ways, and a validator has to survive both:
//!
//! - **Planned**: the next key is published first, tokens switch to it later, and the old key
//!   stays published until its tokens have expired. A validator that refreshes its JWKS on an
//!   unknown `kid` never notices.
//! - **Emergency**: the current key is withdrawn at once and a new one signs and is the only
//!   one published. Tokens signed with the old key must now fail.

use std::sync::{Arc, RwLock};

use crate::keys::SigningKey;

#[derive(Debug)]
struct Keys {
    current: Arc<SigningKey>,
    /// Every key in the JWKS, oldest first; always includes `current`.
    published: Vec<Arc<SigningKey>>,
}

#[derive(Debug)]
pub struct KeyRing {
    keys: RwLock<Keys>,
}

impl KeyRing {
    pub fn new() -> Self {
        let current = Arc::new(SigningKey::generate());
        Self {
            keys: RwLock::new(Keys {
                published: vec![current.clone()],
                current,
            }),
        }
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> Arc<SigningKey> {
        self.read().current.clone()
    }

    /// The keys the JWKS lists.
    pub fn published(&self) -> Vec<Arc<SigningKey>> {
        self.read().published.clone()
    }

    /// Emergency rotation: a new key signs and is the only one published.
    pub fn rotate(&self) {
        let key = Arc::new(SigningKey::generate());
        let mut keys = self.write();
        keys.published = vec![key.clone()];
        keys.current = key;
    }

    /// Planned rotation, step one: publish a new key that does not sign yet. Returns its `kid`.
    pub fn publish_next(&self) -> String {
        let key = Arc::new(SigningKey::generate());
        let kid = key.kid().to_owned();
        self.write().published.push(key);
        kid
    }

    /// Planned rotation, step two: the most recently published key signs from now on; the
    /// previous one stays published so its tokens keep validating.
    ///
    /// # Panics
    ///
    /// If no key was published with [`KeyRing::publish_next`] since the last switch.
    pub fn promote_next(&self) {
        let mut keys = self.write();
        let next = keys
            .published
            .last()
            .expect("the JWKS is never empty")
            .clone();
        assert!(
            !Arc::ptr_eq(&next, &keys.current),
            "publish the next key before promoting it"
        );
        keys.current = next;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kids(ring: &KeyRing) -> Vec<String> {
        ring.published()
            .iter()
            .map(|key| key.kid().to_owned())
            .collect()
    }

    #[test]
    fn a_new_ring_publishes_its_signing_key() {
        let ring = KeyRing::new();
        assert_eq!(kids(&ring), [ring.current().kid()]);
    }

    #[test]
    fn emergency_rotation_withdraws_the_old_key() {
        let ring = KeyRing::new();
        let old = ring.current().kid().to_owned();
        ring.rotate();
        let new = ring.current().kid().to_owned();
        assert_ne!(old, new);
        assert_eq!(kids(&ring), [new]);
    }

    #[test]
    fn planned_rotation_publishes_before_signing_and_keeps_the_old_key() {
        let ring = KeyRing::new();
        let old = ring.current().kid().to_owned();
        let next = ring.publish_next();
        assert_eq!(ring.current().kid(), old, "the next key does not sign yet");
        assert_eq!(kids(&ring), [old.clone(), next.clone()]);

        ring.promote_next();
        assert_eq!(ring.current().kid(), next);
        assert_eq!(kids(&ring), [old, next]);
    }

    #[test]
    #[should_panic(expected = "publish the next key")]
    fn promoting_without_a_next_key_is_a_test_bug() {
        KeyRing::new().promote_next();
    }
}
