//! Refresh tokens are the broker's own: opaque, rotated on every use, and grouped in a
//! *family* per sign-in, so that using one twice revokes them all (OAuth 2.1 §4.3.1, RFC 9700
//! §4.14.2: a refresh token used twice was stolen, and the server cannot tell by whom).
//!
//! A token is `mrt1.{family id}.{secret}`. The family (`families/{id}`) keeps the hash of the
//! current secret, the hashes of the ones it replaced, the user, the client, the consent it was
//! issued under, and **Entra's refresh token, sealed** with the key from Key Vault (the broker
//! needs it to get new access tokens; it never leaves the server). Rotation is a conditional
//! write on the family's ETag, so two instances racing on one token cannot both win: the loser
//! sees a token that was already used and revokes the family.
//!
//! A refresh succeeds only if the family is not revoked, not idle for [`IDLE`], younger than
//! [`ABSOLUTE`], presented by its client, and the user's consent for that client is still the
//! one it was issued under. Then Entra's refresh token buys a new access token for this API
//! (the one handed out), and usually a new Entra refresh token, sealed in its place.

use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use serde::{Deserialize, Serialize};

use super::{
    clients::{client_key, hex},
    consents,
    entra::{EntraClient, EntraError, EntraTokens},
    random_token,
    seal::{Purpose, SealError, Sealer},
    store::{StateStore, StoreError, prefix},
    unix_now,
};

const TOKEN_PREFIX: &str = "mrt1";
/// A family unused this long is dead.
pub const IDLE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// No family lives longer than this, however often it is used (Entra's own limit is 90 days).
pub const ABSOLUTE: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// Replaced secrets remembered, to recognise reuse.
const RETIRED_KEPT: usize = 64;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Family {
    tid: String,
    oid: String,
    client_key: String,
    consent_id: String,
    scopes: Vec<String>,
    /// Entra's refresh token, sealed (bound to this family's key).
    entra_refresh_token: String,
    current: String,
    retired: Vec<String>,
    created: u64,
    used: u64,
    revoked: bool,
}

/// What a new family is for.
pub struct NewFamily<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub object_id: &'a str,
    pub client_id: &'a str,
    pub consent_id: &'a str,
    pub scopes: &'a [String],
    pub entra_refresh_token: &'a str,
}

/// Why a refresh failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    /// `invalid_grant`, with the reason for the client.
    Invalid(&'static str),
    /// The token had been used before: the family is revoked now.
    Reused,
    /// The store, the key or Entra is unavailable: nothing changed, try again.
    Unavailable,
}

impl From<StoreError> for RefreshError {
    fn from(_: StoreError) -> Self {
        RefreshError::Unavailable
    }
}

impl From<SealError> for RefreshError {
    fn from(error: SealError) -> Self {
        match error {
            SealError::Invalid => RefreshError::Invalid("the refresh token can no longer be used"),
            SealError::KeyUnavailable | SealError::BadKey => RefreshError::Unavailable,
        }
    }
}

/// A refreshed grant: Entra's new access token and the family's new refresh token.
pub struct Refreshed {
    pub tokens: EntraTokens,
    pub refresh_token: String,
    pub scopes: Vec<String>,
}

pub fn new_family_id() -> String {
    random_token(16)
}

fn key(family_id: &str) -> String {
    format!("{}{family_id}", prefix::FAMILIES)
}

fn digest(secret: &str) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes()).as_ref())
}

fn token(family_id: &str, secret: &str) -> String {
    format!("{TOKEN_PREFIX}.{family_id}.{secret}")
}

/// The family id and secret of a presented token, if it has our shape.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let mut parts = token.splitn(3, '.');
    let (prefix, family, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let shaped = |part: &str| {
        (16..=64).contains(&part.len())
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (prefix == TOKEN_PREFIX && shaped(family) && shaped(secret)).then_some((family, secret))
}

pub struct Families<'a> {
    pub store: &'a dyn StateStore,
    pub sealer: &'a Sealer,
}

impl Families<'_> {
    /// Starts a family; returns its first refresh token.
    pub async fn start(&self, new: NewFamily<'_>) -> Result<String, RefreshError> {
        let secret = random_token(32);
        let now = unix_now();
        let family = Family {
            tid: new.tenant_id.to_owned(),
            oid: new.object_id.to_owned(),
            client_key: client_key(new.client_id),
            consent_id: new.consent_id.to_owned(),
            scopes: new.scopes.to_vec(),
            entra_refresh_token: self
                .sealer
                .seal_text(
                    Purpose::EntraRefreshToken,
                    key(new.id).as_bytes(),
                    new.entra_refresh_token.as_bytes(),
                )
                .await?,
            current: digest(&secret),
            retired: Vec::new(),
            created: now,
            used: now,
            revoked: false,
        };
        let value = serde_json::to_vec(&family).expect("a family serializes");
        match self.store.create(&key(new.id), value, ABSOLUTE).await {
            Ok(_) => Ok(token(new.id, &secret)),
            Err(StoreError::AlreadyExists) => {
                Err(RefreshError::Invalid("the grant was already used"))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Marks a family revoked (idempotent; a missing family is already as good as revoked).
    pub async fn revoke(&self, family_id: &str) -> Result<(), StoreError> {
        for _ in 0..5 {
            let Some(entry) = self.store.read(&key(family_id)).await? else {
                return Ok(());
            };
            let Ok(mut family) = serde_json::from_slice::<Family>(&entry.value) else {
                return self.store.delete(&key(family_id)).await.map(|_| ());
            };
            if family.revoked {
                return Ok(());
            }
            family.revoked = true;
            family.entra_refresh_token = String::new();
            let value = serde_json::to_vec(&family).expect("a family serializes");
            match self
                .store
                .replace(&key(family_id), value, &entry.etag, ABSOLUTE)
                .await
            {
                Ok(_) => {
                    tracing::warn!(tid = %family.tid, oid = %family.oid, "refresh-token family revoked");
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Revokes the family of `presented` if `client_id` holds it (RFC 7009); unknown tokens are
    /// ignored, as the RFC asks.
    pub async fn revoke_token(&self, presented: &str, client_id: &str) -> Result<(), StoreError> {
        let Some((family_id, secret)) = parse(presented) else {
            return Ok(());
        };
        let Some(entry) = self.store.read(&key(family_id)).await? else {
            return Ok(());
        };
        let Ok(family) = serde_json::from_slice::<Family>(&entry.value) else {
            return Ok(());
        };
        let known = same(&family.current, &digest(secret))
            || family.retired.iter().any(|old| same(old, &digest(secret)));
        if known && family.client_key == client_key(client_id) {
            self.revoke(family_id).await?;
        }
        Ok(())
    }

    /// Rotates: checks `presented`, asks Entra for new tokens, and writes the new secret.
    pub async fn refresh(
        &self,
        presented: &str,
        client_id: &str,
        requested_scopes: Option<&[String]>,
        entra: &EntraClient,
        entra_scope: impl Fn(&[String]) -> String,
    ) -> Result<Refreshed, RefreshError> {
        let (family_id, secret) = parse(presented).ok_or(RefreshError::Invalid(
            "the refresh token is not one of ours",
        ))?;
        let entry = self
            .store
            .read(&key(family_id))
            .await?
            .ok_or(RefreshError::Invalid(
                "the refresh token is unknown or expired",
            ))?;
        let family: Family = serde_json::from_slice(&entry.value)
            .map_err(|_| RefreshError::Invalid("the refresh token is unknown or expired"))?;
        if family.revoked {
            return Err(RefreshError::Invalid("the refresh token has been revoked"));
        }
        let presented_digest = digest(secret);
        if !same(&family.current, &presented_digest) {
            if family
                .retired
                .iter()
                .any(|old| same(old, &presented_digest))
            {
                self.revoke(family_id).await?;
                return Err(RefreshError::Reused);
            }
            return Err(RefreshError::Invalid(
                "the refresh token is unknown or expired",
            ));
        }
        if family.client_key != client_key(client_id) {
            return Err(RefreshError::Invalid(
                "the refresh token was issued to another client",
            ));
        }
        let now = unix_now();
        if now.saturating_sub(family.used) > IDLE.as_secs()
            || now.saturating_sub(family.created) > ABSOLUTE.as_secs()
        {
            return Err(RefreshError::Invalid("the refresh token has expired"));
        }
        let scopes = match requested_scopes {
            None => family.scopes.clone(),
            Some(requested) => {
                if requested.iter().any(|scope| !family.scopes.contains(scope)) {
                    return Err(RefreshError::Invalid(
                        "the requested scope exceeds what was granted",
                    ));
                }
                requested.to_vec()
            }
        };
        let consent = consents::find(self.store, &family.tid, &family.oid, client_id).await?;
        if consent.is_none_or(|(consent, _)| consent.id != family.consent_id) {
            self.revoke(family_id).await?;
            return Err(RefreshError::Invalid(
                "the user revoked this client's access; sign in again",
            ));
        }
        let entra_refresh_token = self
            .sealer
            .open_text(
                Purpose::EntraRefreshToken,
                key(family_id).as_bytes(),
                &family.entra_refresh_token,
            )
            .await?;
        let entra_refresh_token = String::from_utf8(entra_refresh_token)
            .map_err(|_| RefreshError::Invalid("the refresh token can no longer be used"))?;
        let tokens = match entra
            .refresh(&entra_refresh_token, &entra_scope(&scopes))
            .await
        {
            Ok(tokens) => tokens,
            Err(EntraError::Refused { .. }) => {
                // Entra will not refresh for this user any more (sessions revoked, password
                // changed, consent withdrawn at Entra): the family is useless.
                self.revoke(family_id).await?;
                return Err(RefreshError::Invalid(
                    "Entra ID requires the user to sign in again",
                ));
            }
            Err(EntraError::Unreachable | EntraError::IdentityUnavailable) => {
                return Err(RefreshError::Unavailable);
            }
        };
        let new_secret = random_token(32);
        let mut rotated = family.clone();
        if let Some(new_entra) = &tokens.refresh_token {
            rotated.entra_refresh_token = self
                .sealer
                .seal_text(
                    Purpose::EntraRefreshToken,
                    key(family_id).as_bytes(),
                    new_entra.as_bytes(),
                )
                .await?;
        }
        rotated.retired.push(family.current.clone());
        if rotated.retired.len() > RETIRED_KEPT {
            rotated.retired.remove(0);
        }
        rotated.current = digest(&new_secret);
        rotated.used = now;
        let value = serde_json::to_vec(&rotated).expect("a family serializes");
        match self
            .store
            .replace(&key(family_id), value, &entry.etag, ABSOLUTE)
            .await
        {
            Ok(_) => Ok(Refreshed {
                tokens,
                refresh_token: token(family_id, &new_secret),
                scopes,
            }),
            Err(StoreError::Conflict) => {
                // Another request rotated this family with the same token meanwhile.
                self.revoke(family_id).await?;
                Err(RefreshError::Reused)
            }
            Err(error) => Err(error.into()),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_our_shape_or_are_not_ours() {
        let id = new_family_id();
        let secret = random_token(32);
        let token = token(&id, &secret);
        assert_eq!(parse(&token), Some((id.as_str(), secret.as_str())));
        for bad in [
            "",
            "mrt1",
            "mrt1.a.b",
            "rt1.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbb",
            "mrt1.aaaaaaaaaaaaaaaaaaaaaa.bbb/bbbbbbbbbbbbbbbbbbbbb",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
