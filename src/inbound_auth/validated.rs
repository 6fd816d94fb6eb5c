//! Tokens this process has already validated, so a client that sends the same token with every
//! request (as MCP clients do, for an hour) pays for the RS256 signature check once.
//!
//! The rules, each tested:
//!
//! - **Keyed by a SHA-256 of the token**, and a hit must also present the very same token: a
//!   token that differs anywhere (a tampered signature with the same header and claims) is a
//!   different key, and even a hash collision would not make it valid.
//! - **Only successes are cached.** A refused token (bad signature, wrong audience, missing
//!   scope, anything) is validated again, in full, every time it is presented.
//! - **An entry lives until the token's `exp` and never past it**: at `exp` it is gone, even
//!   though full validation would still accept the token for the clock-skew leeway after it.
//! - **Dropped when its signing key leaves the JWKS**: a hit is only served while the tenant's
//!   key set still publishes the very key that verified the token, and a refresh that retires
//!   keys purges their entries.
//! - **Bounded**: at most [`CAPACITY`] entries; when full, expired entries go first, then an
//!   arbitrary one. An evicted token is simply validated again.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use aws_lc_rs::digest::{SHA256, digest};
use jsonwebtoken::DecodingKey;

use crate::caller::Caller;

/// The most tokens remembered. Each entry holds the token (about 2 KiB for Entra) and its
/// caller: about 3 MiB when full.
pub const CAPACITY: usize = 1024;

/// A SHA-256 of the token.
pub type TokenDigest = [u8; 32];

pub fn token_digest(token: &str) -> TokenDigest {
    digest(&SHA256, token.as_bytes())
        .as_ref()
        .try_into()
        .expect("SHA-256 has 32 bytes")
}

struct Entry {
    caller: Arc<Caller>,
    /// The token's `exp` (seconds since the epoch): the entry is gone from then on.
    expires_at: u64,
    /// The key id and the key that verified the signature.
    kid: Arc<str>,
    key: Arc<DecodingKey>,
}

/// What a hit needs to know about the tenant's current keys.
pub trait KeySet {
    /// The key published now under `kid`, if any.
    fn published(&self, kid: &str) -> Option<Arc<DecodingKey>>;
}

pub struct ValidatedTokens {
    entries: RwLock<HashMap<TokenDigest, Entry>>,
    capacity: usize,
}

impl Default for ValidatedTokens {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl ValidatedTokens {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::with_capacity(capacity.min(64))),
            capacity,
        }
    }

    /// The caller of a token validated before, if it is still good at `now` (seconds since the
    /// epoch) and the key that verified it is still published.
    pub fn get(
        &self,
        digest: &TokenDigest,
        token: &str,
        now: u64,
        keys: &impl KeySet,
    ) -> Option<Arc<Caller>> {
        {
            let entries = self.entries.read().expect("validated tokens lock");
            let entry = entries.get(digest)?;
            let current = now < entry.expires_at
                && keys
                    .published(&entry.kid)
                    .is_some_and(|key| Arc::ptr_eq(&key, &entry.key));
            if current
                && entry
                    .caller
                    .token
                    .as_ref()
                    .is_some_and(|held| held.expose() == token)
            {
                return Some(Arc::clone(&entry.caller));
            }
        }
        // Expired, its key retired, or (never seen) another token with the same digest.
        self.entries
            .write()
            .expect("validated tokens lock")
            .remove(digest);
        None
    }

    /// Remembers a token that passed every check, until `expires_at`.
    pub fn insert(
        &self,
        digest: TokenDigest,
        caller: Arc<Caller>,
        expires_at: u64,
        kid: &str,
        key: Arc<DecodingKey>,
        now: u64,
    ) {
        if expires_at <= now {
            return;
        }
        let mut entries = self.entries.write().expect("validated tokens lock");
        if entries.len() >= self.capacity && !entries.contains_key(&digest) {
            entries.retain(|_, entry| now < entry.expires_at);
            if entries.len() >= self.capacity
                && let Some(victim) = entries.keys().next().copied()
            {
                entries.remove(&victim);
            }
        }
        entries.insert(
            digest,
            Entry {
                caller,
                expires_at,
                kid: kid.into(),
                key,
            },
        );
    }

    /// Drops every entry whose key `keys` no longer publishes (after a key-set refresh).
    pub fn retain_published(&self, keys: &impl KeySet) {
        self.entries
            .write()
            .expect("validated tokens lock")
            .retain(|_, entry| {
                keys.published(&entry.kid)
                    .is_some_and(|key| Arc::ptr_eq(&key, &entry.key))
            });
    }

    pub fn len(&self) -> usize {
        self.entries.read().expect("validated tokens lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::caller::{BearerToken, CallerKind};

    /// A key set the test edits.
    #[derive(Default)]
    struct Keys(RwLock<HashMap<String, Arc<DecodingKey>>>);

    impl Keys {
        fn publish(&self, kid: &str) -> Arc<DecodingKey> {
            let key = Arc::new(DecodingKey::from_secret(kid.as_bytes()));
            self.0
                .write()
                .unwrap()
                .insert(kid.to_owned(), Arc::clone(&key));
            key
        }

        fn retire(&self, kid: &str) {
            self.0.write().unwrap().remove(kid);
        }
    }

    impl KeySet for Keys {
        fn published(&self, kid: &str) -> Option<Arc<DecodingKey>> {
            self.0.read().unwrap().get(kid).cloned()
        }
    }

    fn caller(token: &str) -> Arc<Caller> {
        Arc::new(Caller {
            tenant_id: "t".into(),
            object_id: "o".into(),
            client_app_id: "a".into(),
            kind: CallerKind::User,
            scopes: vec!["user_impersonation".into()],
            roles: Vec::new(),
            token: Some(BearerToken::new(token.to_owned())),
        })
    }

    fn remember(cache: &ValidatedTokens, keys: &Keys, token: &str, kid: &str, exp: u64) {
        let key = keys.published(kid).unwrap();
        cache.insert(token_digest(token), caller(token), exp, kid, key, 1000);
    }

    fn hit(cache: &ValidatedTokens, keys: &Keys, token: &str, now: u64) -> bool {
        cache.get(&token_digest(token), token, now, keys).is_some()
    }

    #[test]
    fn the_key_is_a_sha256_of_the_token() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            token_digest("abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "{:x?}",
            token_digest("abc")
        );
    }

    #[test]
    fn an_entry_lives_until_exp_and_never_past_it() {
        let (cache, keys) = (ValidatedTokens::default(), Keys::default());
        keys.publish("k1");
        remember(&cache, &keys, "token-a", "k1", 2000);
        assert!(hit(&cache, &keys, "token-a", 1000));
        assert!(hit(&cache, &keys, "token-a", 1999));
        assert!(!hit(&cache, &keys, "token-a", 2000), "gone at exp");
        assert!(cache.is_empty(), "and removed, not just hidden");
        // Nor does it come back for an earlier clock.
        assert!(!hit(&cache, &keys, "token-a", 1500));
    }

    #[test]
    fn a_token_already_expired_is_not_remembered() {
        let (cache, keys) = (ValidatedTokens::default(), Keys::default());
        keys.publish("k1");
        // Full validation accepts a token within the leeway after its exp; the cache does not.
        remember(&cache, &keys, "token-a", "k1", 1000);
        remember(&cache, &keys, "token-b", "k1", 999);
        assert!(cache.is_empty());
    }

    #[test]
    fn an_entry_is_dropped_when_its_signing_key_leaves_the_key_set() {
        let (cache, keys) = (ValidatedTokens::default(), Keys::default());
        keys.publish("k1");
        keys.publish("k2");
        remember(&cache, &keys, "token-a", "k1", 2000);
        remember(&cache, &keys, "token-b", "k2", 2000);
        keys.retire("k1");
        assert!(!hit(&cache, &keys, "token-a", 1000), "its key is gone");
        assert!(hit(&cache, &keys, "token-b", 1000), "the other key stays");
        // A refresh purges entries whose key went, without waiting for their next use.
        keys.retire("k2");
        cache.retain_published(&keys);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_key_republished_under_the_same_id_with_other_material_does_not_serve_old_entries() {
        let (cache, keys) = (ValidatedTokens::default(), Keys::default());
        keys.publish("k1");
        remember(&cache, &keys, "token-a", "k1", 2000);
        keys.publish("k1"); // a new key object under the same kid
        assert!(!hit(&cache, &keys, "token-a", 1000));
    }

    #[test]
    fn a_tampered_token_with_the_same_prefix_is_not_served() {
        let (cache, keys) = (ValidatedTokens::default(), Keys::default());
        keys.publish("k1");
        let genuine = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJvIn0.c2lnbmF0dXJl";
        remember(&cache, &keys, genuine, "k1", 2000);
        let tampered = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJvIn0.c2lnbmF0dXJm";
        assert!(!hit(&cache, &keys, tampered, 1000));
        // Even presented under the genuine token's digest, only the genuine token is served.
        assert!(
            cache
                .get(&token_digest(genuine), tampered, 1000, &keys)
                .is_none()
        );
    }

    #[test]
    fn the_cache_is_bounded_and_expired_entries_go_first() {
        let (cache, keys) = (ValidatedTokens::with_capacity(8), Keys::default());
        keys.publish("k1");
        remember(&cache, &keys, "short-lived", "k1", 1001);
        for index in 0..7 {
            remember(&cache, &keys, &format!("token-{index}"), "k1", 5000);
        }
        assert_eq!(cache.len(), 8);
        // Full: inserting at a time when `short-lived` has expired evicts it, not a live one.
        let key = keys.published("k1").unwrap();
        cache.insert(
            token_digest("token-7"),
            caller("token-7"),
            5000,
            "k1",
            key,
            1002,
        );
        assert_eq!(cache.len(), 8);
        assert!((0..8).all(|index| hit(&cache, &keys, &format!("token-{index}"), 1002)));
        // Full of live entries: one of them makes room, the bound holds.
        for index in 8..100 {
            remember(&cache, &keys, &format!("token-{index}"), "k1", 5000);
            assert!(cache.len() <= 8);
        }
        assert!(hit(&cache, &keys, "token-99", 1000));
    }
}
