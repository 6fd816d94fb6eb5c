//! Sealing: AES-256-GCM with a key from Key Vault, so what the broker keeps or hands out cannot
//! be read or changed by anyone without the key.
//!
//! One secret (`MCP_BROKER_SEALING_KEY_SECRET_NAME`, 32 or more random bytes, hex or base64)
//! yields a
//! key per purpose through HKDF-SHA256 (Entra refresh tokens at rest, code records, pending
//! consents, dynamic registrations sealed into `client_id`, the sign-in state that travels
//! through Entra), so a value sealed for one purpose never opens as another. The purpose and a
//! caller-chosen binding (say, the storage key) are the AEAD's associated data: a sealed value
//! moved to another record does not open either.
//!
//! A sealed value names its key by a short id. During a rotation both the current and the
//! previous enabled versions of the secret open values; a value sealed with a key older than
//! that no longer opens (its holder signs in again). A value naming a key this instance does not
//! know never waits for Key Vault: anyone can send such values, as many as they like. It starts
//! a re-read in the background (at most one a minute, however many arrive) and is answered
//! [`SealError::KeyUnavailable`] ("try again") while that re-read may still bring the key
//! (another instance saw a rotation first), [`SealError::Invalid`] afterwards.
//!
//! Layout: `0x01 | key id (8) | nonce (12) | ciphertext | tag (16)`, base64url without padding
//! where it travels as text.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey},
    digest, hkdf,
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use tokio::time::Instant;

use crate::secrets::{KeyVaultSecrets, SecretVersions};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MIN_KEY_BYTES: usize = 32;
const HKDF_SALT: &[u8] = b"m365-mcp-handler broker sealing v1";
/// After a value named an unknown key, how long such values are answered "try again": the
/// background re-read it started usually lands well within it.
const UNKNOWN_KEY_SETTLE: Duration = Duration::from_secs(5);
/// Least time between two re-reads started by unknown keys; between the settling time and the
/// next re-read, unknown keys are invalid.
const UNKNOWN_KEY_INTERVAL: Duration = Duration::from_secs(60);

/// What a sealed value is for; each purpose has its own derived key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Entra's refresh token inside a refresh-token family.
    EntraRefreshToken,
    /// The tokens an authorization code stands for.
    Code,
    /// A sign-in waiting for the user's consent.
    PendingConsent,
    /// A dynamic registration, sealed into the `client_id` it is answered with.
    Registration,
    /// The state that travels to Entra and back.
    SignInState,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::EntraRefreshToken => "entra-refresh-token",
            Purpose::Code => "code",
            Purpose::PendingConsent => "pending-consent",
            Purpose::Registration => "registration",
            Purpose::SignInState => "sign-in-state",
        }
    }
}

/// Raw key material, current first.
#[derive(Clone)]
pub struct KeyMaterial {
    pub current: Vec<u8>,
    pub previous: Option<Vec<u8>>,
}

/// Why nothing could be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The key could not be read (Key Vault down and nothing cached).
    KeyUnavailable,
    /// The secret is not usable key material (operator error, reported once in the log).
    BadKey,
    /// Not a sealed value, tampered with, for another purpose or binding, or sealed with a key
    /// that is no longer accepted.
    Invalid,
}

/// Where the key material comes from.
#[async_trait]
pub trait KeySource: Send + Sync + 'static {
    async fn keys(&self) -> Result<KeyMaterial, SealError>;
    /// Starts a re-read in the background (a value named a key this instance does not know);
    /// never waits.
    fn look_again(&self);
}

/// The sealing key in Key Vault.
pub struct VaultKey {
    secrets: Arc<KeyVaultSecrets>,
    name: String,
}

impl VaultKey {
    pub fn new(secrets: Arc<KeyVaultSecrets>, name: String) -> Self {
        Self { secrets, name }
    }
}

#[async_trait]
impl KeySource for VaultKey {
    async fn keys(&self) -> Result<KeyMaterial, SealError> {
        let versions = self
            .secrets
            .versions(&self.name)
            .await
            .map_err(|_| SealError::KeyUnavailable)?;
        material(&versions)
    }

    fn look_again(&self) {
        self.secrets.look_again(&self.name);
    }
}

fn material(versions: &SecretVersions) -> Result<KeyMaterial, SealError> {
    let now = std::time::SystemTime::now();
    if versions.current.expired_at(now) {
        tracing::error!("the broker's sealing key has expired in Key Vault");
        return Err(SealError::KeyUnavailable);
    }
    let current = decode_key(versions.current.value.expose()).ok_or_else(|| {
        tracing::error!("the broker's sealing key is not 32 or more bytes of base64");
        SealError::BadKey
    })?;
    // A malformed or expired previous version only costs the values sealed with it.
    let previous = versions
        .previous
        .as_ref()
        .filter(|previous| !previous.expired_at(now))
        .and_then(|previous| decode_key(previous.value.expose()));
    Ok(KeyMaterial { current, previous })
}

fn decode_key(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    // Hex (what `azd up` generates: 64 hex digits from two GUIDs, 244 random bits) or base64.
    if text.len() >= 2 * MIN_KEY_BYTES
        && text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
            .collect();
    }
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()?;
    (bytes.len() >= MIN_KEY_BYTES).then_some(bytes)
}

/// Fixed key material, for tests and the in-process development store.
pub struct StaticKeys(pub KeyMaterial);

#[async_trait]
impl KeySource for StaticKeys {
    async fn keys(&self) -> Result<KeyMaterial, SealError> {
        Ok(self.0.clone())
    }
    fn look_again(&self) {}
}

/// Seals and opens values with the broker's key.
#[derive(Clone)]
pub struct Sealer {
    source: Arc<dyn KeySource>,
    /// When an unknown key last started a re-read.
    looked_again: Arc<Mutex<Option<Instant>>>,
}

impl Sealer {
    pub fn new(source: Arc<dyn KeySource>) -> Self {
        Self {
            source,
            looked_again: Arc::default(),
        }
    }

    /// `plaintext` sealed for `purpose`, bound to `binding`.
    pub async fn seal(
        &self,
        purpose: Purpose,
        binding: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let keys = self.source.keys().await?;
        let key_id = key_id(&keys.current);
        let key = derive(&keys.current, purpose);
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::KeyUnavailable)?;
        let mut sealed = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.push(VERSION);
        sealed.extend_from_slice(&key_id);
        sealed.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(purpose, binding)),
            &mut body,
        )
        .map_err(|_| SealError::KeyUnavailable)?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// The plaintext of `sealed`, if it was sealed for `purpose` and `binding` with an accepted
    /// key.
    pub async fn open(
        &self,
        purpose: Purpose,
        binding: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + KEY_ID_LEN + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(SealError::Invalid);
        }
        let named: [u8; KEY_ID_LEN] = sealed[1..1 + KEY_ID_LEN].try_into().expect("length");
        let keys = self.source.keys().await?;
        let material = find(&keys, &named).ok_or_else(|| self.unknown_key())?;
        let key = derive(material, purpose);
        let nonce: [u8; NONCE_LEN] = sealed[1 + KEY_ID_LEN..1 + KEY_ID_LEN + NONCE_LEN]
            .try_into()
            .expect("length");
        let mut body = sealed[1 + KEY_ID_LEN + NONCE_LEN..].to_vec();
        let plaintext = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose, binding)),
                &mut body,
            )
            .map_err(|_| SealError::Invalid)?;
        Ok(plaintext.to_vec())
    }

    /// What a value naming an unknown key gets, without waiting: the first one in a while
    /// starts a re-read and, like those right after it, hears "try again"; later ones, once the
    /// re-read had time to bring a rotated key, are invalid. However many arrive, Key Vault sees
    /// at most one re-read per [`UNKNOWN_KEY_INTERVAL`].
    fn unknown_key(&self) -> SealError {
        let mut looked_again = self.looked_again.lock().unwrap_or_else(|e| e.into_inner());
        match *looked_again {
            Some(at) if at.elapsed() < UNKNOWN_KEY_SETTLE => SealError::KeyUnavailable,
            Some(at) if at.elapsed() < UNKNOWN_KEY_INTERVAL => SealError::Invalid,
            _ => {
                *looked_again = Some(Instant::now());
                self.source.look_again();
                SealError::KeyUnavailable
            }
        }
    }

    /// [`Sealer::seal`] as base64url text.
    pub async fn seal_text(
        &self,
        purpose: Purpose,
        binding: &[u8],
        plaintext: &[u8],
    ) -> Result<String, SealError> {
        Ok(URL_SAFE_NO_PAD.encode(self.seal(purpose, binding, plaintext).await?))
    }

    /// [`Sealer::open`] for base64url text.
    pub async fn open_text(
        &self,
        purpose: Purpose,
        binding: &[u8],
        sealed: &str,
    ) -> Result<Vec<u8>, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Invalid)?;
        self.open(purpose, binding, &bytes).await
    }
}

fn find<'a>(keys: &'a KeyMaterial, id: &[u8; KEY_ID_LEN]) -> Option<&'a [u8]> {
    std::iter::once(&keys.current)
        .chain(keys.previous.iter())
        .find(|material| &key_id(material) == id)
        .map(Vec::as_slice)
}

fn key_id(material: &[u8]) -> [u8; KEY_ID_LEN] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"m365-mcp-handler broker key id");
    context.update(material);
    context.finish().as_ref()[..KEY_ID_LEN]
        .try_into()
        .expect("a SHA-256 digest is longer")
}

fn derive(material: &[u8], purpose: Purpose) -> LessSafeKey {
    struct Len;
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(material);
    let info = [purpose.label().as_bytes()];
    let okm = prk
        .expand(&info, Len)
        .expect("32 bytes is a valid HKDF length");
    let mut bytes = [0u8; 32];
    okm.fill(&mut bytes).expect("32 bytes");
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).expect("a 32-byte AES key"))
}

fn aad(purpose: Purpose, binding: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(purpose.label().len() + 1 + binding.len());
    aad.extend_from_slice(purpose.label().as_bytes());
    aad.push(0);
    aad.extend_from_slice(binding);
    aad
}

/// 32 random bytes as base64: a new sealing key (what `azd up` and local mode store).
pub fn new_key_text() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Vec<u8> {
        vec![byte; 32]
    }

    fn sealer(current: u8, previous: Option<u8>) -> Sealer {
        Sealer::new(Arc::new(StaticKeys(KeyMaterial {
            current: key(current),
            previous: previous.map(key),
        })))
    }

    #[tokio::test]
    async fn a_sealed_value_opens_only_for_its_purpose_and_binding() {
        let sealer = sealer(1, None);
        let sealed = sealer
            .seal(Purpose::Code, b"codes/abc", b"secret")
            .await
            .unwrap();
        assert_eq!(
            sealer
                .open(Purpose::Code, b"codes/abc", &sealed)
                .await
                .unwrap(),
            b"secret"
        );
        assert_eq!(
            sealer.open(Purpose::Code, b"codes/abd", &sealed).await,
            Err(SealError::Invalid)
        );
        assert_eq!(
            sealer
                .open(Purpose::PendingConsent, b"codes/abc", &sealed)
                .await,
            Err(SealError::Invalid)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            sealer.open(Purpose::Code, b"codes/abc", &tampered).await,
            Err(SealError::Invalid)
        );
        assert_eq!(
            sealer.open(Purpose::Code, b"codes/abc", b"short").await,
            Err(SealError::Invalid)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_previous_key_still_opens_and_an_older_one_does_not() {
        let old = sealer(1, None)
            .seal_text(Purpose::EntraRefreshToken, b"f", b"rt")
            .await
            .unwrap();
        let rotated = sealer(2, Some(1));
        assert_eq!(
            rotated
                .open_text(Purpose::EntraRefreshToken, b"f", &old)
                .await
                .unwrap(),
            b"rt"
        );
        let twice = sealer(3, Some(2));
        // "Try again" while a re-read might still bring the key, then invalid.
        assert_eq!(
            twice
                .open_text(Purpose::EntraRefreshToken, b"f", &old)
                .await,
            Err(SealError::KeyUnavailable)
        );
        tokio::time::sleep(UNKNOWN_KEY_SETTLE).await;
        assert_eq!(
            twice
                .open_text(Purpose::EntraRefreshToken, b"f", &old)
                .await,
            Err(SealError::Invalid)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_key_never_waits_for_the_vault_and_starts_one_re_read_at_most() {
        use crate::secrets::{
            KeyVaultSecrets, SecretVersions,
            tests::{FakeVault, version},
        };
        let hex = |byte: u8| format!("{byte:02x}").repeat(32);
        let vault = FakeVault::new(
            SecretVersions {
                current: version("v1", &hex(1), Duration::from_secs(60)),
                previous: None,
            },
            Duration::from_secs(1),
        );
        let secrets = KeyVaultSecrets::with_source(vault.clone(), Duration::from_secs(300));
        let instance = Sealer::new(Arc::new(VaultKey::new(secrets, "sealing".into())));
        let own = instance.seal(Purpose::Code, b"c", b"mine").await.unwrap();
        assert_eq!(vault.reads(), 1);
        tokio::time::sleep(crate::secrets::MIN_REREAD).await;

        // Another instance rotated first: its values name a key this one has not read yet.
        *vault.versions.lock().unwrap() = Ok(SecretVersions {
            current: version("v2", &hex(2), Duration::ZERO),
            previous: Some(version("v1", &hex(1), Duration::from_secs(60))),
        });
        let rotated = sealer(2, Some(1))
            .seal(Purpose::Code, b"c", b"theirs")
            .await
            .unwrap();
        let forged = sealer(9, None)
            .seal(Purpose::Code, b"c", b"forged")
            .await
            .unwrap();
        for sealed in [&rotated, &forged].repeat(50) {
            let answer =
                tokio::time::timeout(Duration::ZERO, instance.open(Purpose::Code, b"c", sealed))
                    .await
                    .expect("answered without waiting for Key Vault");
            assert_eq!(answer, Err(SealError::KeyUnavailable));
        }
        settle().await;
        assert_eq!(vault.reads(), 2, "one re-read, in the background");
        assert_eq!(
            instance.open(Purpose::Code, b"c", &own).await.unwrap(),
            b"mine"
        );

        // The re-read brought the rotated key; a key nobody has stays unknown, and invalid.
        tokio::time::sleep(UNKNOWN_KEY_SETTLE).await;
        assert_eq!(
            instance.open(Purpose::Code, b"c", &rotated).await.unwrap(),
            b"theirs"
        );
        for _ in 0..50 {
            assert_eq!(
                instance.open(Purpose::Code, b"c", &forged).await,
                Err(SealError::Invalid)
            );
        }
        settle().await;
        assert_eq!(vault.reads(), 2);
    }

    /// Lets spawned reads run (time is paused).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn key_material_must_be_long_base64() {
        assert!(decode_key(&new_key_text()).is_some());
        assert_eq!(decode_key(&"ab".repeat(32)).unwrap(), vec![0xab; 32]);
        assert!(decode_key("c2hvcnQ=").is_none());
        assert!(decode_key("not base64 at all!").is_none());
    }
}
