//! Values this server hands out and later takes back, unforgeable and bound to whoever received
//! them: paging cursors and write confirmations.
//!
//! Nothing is stored between requests, so any instance can take back what another handed out.
//! Instead each value carries an HMAC-SHA256 over what it is for ([`Purpose`]), whom it was
//! given to (the *binding*: tenant, user, tool, and for a confirmation the arguments), when it
//! was issued, and its payload. A value altered in any byte, issued to another user or for
//! another tool, or older than its purpose allows, is refused before anything else happens.
//!
//! The key comes from a Key Vault secret (`MCP_SIGNING_KEY_SECRET_NAME`), read through the
//! managed identity like the gateway proof: values are signed with its current version and
//! accepted under the current one and, for as long as a value sealed under the previous one can
//! still be in use (its purpose's lifetime after the rotation), the previous one. So a rotation
//! invalidates nothing in use, and an emergency rotation retires a leaked key within that time.
//! Instances read the secret at different moments: a value that matches no key this process
//! holds makes it read the secret again (at most once per `MIN_REREAD`) before refusing it, so
//! a value sealed by an instance that saw the new version first is taken by every other. Each purpose signs with its own key derived from the secret, so a cursor can
//! never pass as a confirmation. Without a configured secret (local development only; start-up
//! refuses it under the Functions host) a random key lives as long as the process.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{constant_time, digest, hmac, rand};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::secrets::{KeyVaultSecrets, SecretVersions};

/// What a signed value is for; each purpose has its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Where a listing continues.
    Cursor,
    /// Permission to carry out a write the caller has seen a preview of.
    Confirmation,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Cursor => b"m365-mcp cursor v1",
            Purpose::Confirmation => b"m365-mcp confirmation v1",
        }
    }
}

/// The signing key could not be read (Key Vault unreachable and nothing cached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysUnavailable;

/// Why a value handed back was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a value this server issued to this caller for this purpose (or altered since).
    Forged,
    /// Issued by this server, but longer ago than the purpose allows.
    Expired,
    /// The key could not be read, so nothing can be checked right now.
    KeysUnavailable,
}

/// Where the key comes from.
enum Source {
    Vault {
        secrets: Arc<KeyVaultSecrets>,
        name: String,
    },
    /// A random key for this process alone.
    Process(Arc<[u8; 32]>),
}

pub struct SigningKeys {
    source: Source,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// Issued at, Unix seconds.
    iat: u64,
    #[serde(rename = "v")]
    value: T,
}

impl SigningKeys {
    /// Keys from the Key Vault secret `name`.
    pub fn from_vault(secrets: Arc<KeyVaultSecrets>, name: String) -> Self {
        Self {
            source: Source::Vault { secrets, name },
        }
    }

    /// A random key that dies with the process: values do not survive a restart and are not
    /// accepted by other instances.
    pub fn for_this_process() -> Self {
        let mut key = [0u8; 32];
        rand::fill(&mut key).expect("system randomness");
        Self {
            source: Source::Process(Arc::new(key)),
        }
    }

    /// `value` sealed for `purpose` and `binding`.
    pub async fn seal<T: Serialize>(
        &self,
        purpose: Purpose,
        binding: &str,
        value: &T,
    ) -> Result<String, KeysUnavailable> {
        let keys = self.master_keys(Duration::ZERO).await?;
        let payload = serde_json::to_vec(&Envelope {
            iat: unix_now(),
            value,
        })
        .expect("a serializable value serializes");
        let tag = tag(&keys[0], purpose, binding, &payload);
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    /// The value inside `sealed`, if this server sealed it for `purpose` and `binding` at most
    /// `max_age` ago.
    pub async fn open<T: DeserializeOwned>(
        &self,
        purpose: Purpose,
        binding: &str,
        sealed: &str,
        max_age: Duration,
    ) -> Result<T, Refused> {
        let (payload, tag_text) = sealed.split_once('.').ok_or(Refused::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Refused::Forged)?;
        let presented = URL_SAFE_NO_PAD
            .decode(tag_text)
            .map_err(|_| Refused::Forged)?;
        // Every key is tried, so timing does not tell which one matched.
        let matches = |keys: &[[u8; 32]]| {
            keys.iter().fold(false, |matched, key| {
                let expected = tag(key, purpose, binding, &payload);
                constant_time::verify_slices_are_equal(expected.as_ref(), &presented).is_ok()
                    | matched
            })
        };
        let keys = self
            .master_keys(max_age)
            .await
            .map_err(|KeysUnavailable| Refused::KeysUnavailable)?;
        // After a rotation, another instance may have read the new version first and sealed
        // this value with it: this process reads the secret again before calling it forged.
        let matched = matches(&keys)
            || self
                .newer_master_keys(max_age, &keys)
                .await
                .is_some_and(|keys| matches(&keys));
        if !matched {
            return Err(Refused::Forged);
        }
        let envelope: Envelope<T> =
            serde_json::from_slice(&payload).map_err(|_| Refused::Forged)?;
        let age = unix_now().saturating_sub(envelope.iat);
        // A value from the future (clock skew between instances) is fine within a minute.
        if age > max_age.as_secs() || envelope.iat > unix_now() + 60 {
            return Err(Refused::Expired);
        }
        Ok(envelope.value)
    }

    /// The master keys, current first; the previous one only while the current one is younger
    /// than `previous_for` (values sealed before the rotation may still be that young).
    async fn master_keys(&self, previous_for: Duration) -> Result<Vec<[u8; 32]>, KeysUnavailable> {
        match &self.source {
            Source::Process(key) => Ok(vec![**key]),
            Source::Vault { secrets, name } => {
                let versions = secrets.versions(name).await.map_err(|_| KeysUnavailable)?;
                Ok(keys_of(&versions, previous_for))
            }
        }
    }

    /// The master keys after reading the secret again (at most one read per
    /// [`crate::secrets::MIN_REREAD`], however many values fail), when they differ from `known`.
    async fn newer_master_keys(
        &self,
        previous_for: Duration,
        known: &[[u8; 32]],
    ) -> Option<Vec<[u8; 32]>> {
        let Source::Vault { secrets, name } = &self.source else {
            return None;
        };
        let versions = secrets.read_again(name).await.ok()?;
        Some(keys_of(&versions, previous_for)).filter(|keys| keys.as_slice() != known)
    }
}

fn keys_of(versions: &SecretVersions, previous_for: Duration) -> Vec<[u8; 32]> {
    let rotated_recently = SystemTime::now()
        .duration_since(versions.current.created)
        .is_ok_and(|age| age <= previous_for);
    std::iter::once(&versions.current)
        .chain(versions.previous.as_ref().filter(|_| rotated_recently))
        .map(|version| master_key(version.value.expose()))
        .collect()
}

/// A secret of any length as a 256-bit key.
fn master_key(secret: &str) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, secret.as_bytes());
    digest.as_ref().try_into().expect("SHA-256 is 32 bytes")
}

fn tag(master: &[u8; 32], purpose: Purpose, binding: &str, payload: &[u8]) -> hmac::Tag {
    let purpose_key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, master), purpose.label());
    let key = hmac::Key::new(hmac::HMAC_SHA256, purpose_key.as_ref());
    let mut context = hmac::Context::with_key(&key);
    // The binding's length goes first, so no binding/payload split can pass for another.
    context.update(&(binding.len() as u64).to_be_bytes());
    context.update(binding.as_bytes());
    context.update(payload);
    context.sign()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    async fn sealed(keys: &SigningKeys, binding: &str) -> String {
        keys.seal(Purpose::Cursor, binding, &"next-page")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_sealed_value_opens_for_the_same_purpose_and_binding_only() {
        let keys = SigningKeys::for_this_process();
        let value = sealed(&keys, "tid/oid/list_events").await;
        let opened: String = keys
            .open(Purpose::Cursor, "tid/oid/list_events", &value, HOUR)
            .await
            .unwrap();
        assert_eq!(opened, "next-page");
        let other_user = keys
            .open::<String>(Purpose::Cursor, "tid/other/list_events", &value, HOUR)
            .await;
        assert_eq!(other_user.unwrap_err(), Refused::Forged);
        let other_purpose = keys
            .open::<String>(Purpose::Confirmation, "tid/oid/list_events", &value, HOUR)
            .await;
        assert_eq!(other_purpose.unwrap_err(), Refused::Forged);
        let other_process = SigningKeys::for_this_process()
            .open::<String>(Purpose::Cursor, "tid/oid/list_events", &value, HOUR)
            .await;
        assert_eq!(other_process.unwrap_err(), Refused::Forged);
    }

    #[tokio::test]
    async fn any_changed_byte_is_refused() {
        let keys = SigningKeys::for_this_process();
        let value = sealed(&keys, "b").await;
        for index in 0..value.len() {
            let mut bytes = value.clone().into_bytes();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            let Ok(altered) = String::from_utf8(bytes) else {
                continue;
            };
            if altered == value {
                continue;
            }
            let opened = keys
                .open::<String>(Purpose::Cursor, "b", &altered, HOUR)
                .await;
            assert!(opened.is_err(), "byte {index} changed and still accepted");
        }
        for garbage in ["", ".", "abc", "abc.def", "😀.😀"] {
            let opened = keys
                .open::<String>(Purpose::Cursor, "b", garbage, HOUR)
                .await;
            assert_eq!(opened.unwrap_err(), Refused::Forged, "{garbage}");
        }
    }

    #[tokio::test]
    async fn an_old_value_is_expired_not_forged() {
        let keys = SigningKeys::for_this_process();
        let Source::Process(key) = &keys.source else {
            unreachable!()
        };
        let payload = serde_json::to_vec(&Envelope {
            iat: unix_now() - 700,
            value: "x",
        })
        .unwrap();
        let tag = tag(key, Purpose::Confirmation, "b", &payload);
        let old = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        );
        let ten_minutes = Duration::from_secs(600);
        let opened = keys
            .open::<String>(Purpose::Confirmation, "b", &old, ten_minutes)
            .await;
        assert_eq!(opened.unwrap_err(), Refused::Expired);
        let opened: String = keys
            .open(Purpose::Confirmation, "b", &old, HOUR)
            .await
            .unwrap();
        assert_eq!(opened, "x");
    }

    proptest::proptest! {
        // The same properties as the `sealed` fuzz target.
        #[test]
        fn whatever_a_client_makes_up_is_refused_as_forged(text in "\\PC{0,200}") {
            let keys = SigningKeys::for_this_process();
            for purpose in [Purpose::Cursor, Purpose::Confirmation] {
                let opened = futures::executor::block_on(
                    keys.open::<serde_json::Value>(purpose, "b", &text, HOUR),
                );
                proptest::prop_assert_eq!(opened.unwrap_err(), Refused::Forged);
            }
        }

        #[test]
        fn a_sealed_value_opens_to_what_was_sealed(value in "\\PC{0,200}", binding in "\\PC{0,40}") {
            let keys = SigningKeys::for_this_process();
            let sealed = futures::executor::block_on(keys.seal(Purpose::Confirmation, &binding, &value)).unwrap();
            let opened: String = futures::executor::block_on(
                keys.open(Purpose::Confirmation, &binding, &sealed, HOUR),
            )
            .unwrap();
            proptest::prop_assert_eq!(opened, value);
        }
    }

    #[test]
    fn the_binding_cannot_borrow_from_the_payload() {
        let key = master_key("secret");
        assert_ne!(
            tag(&key, Purpose::Cursor, "ab", b"c").as_ref(),
            tag(&key, Purpose::Cursor, "a", b"bc").as_ref()
        );
    }
}
