//! Consent, remembered per user and client: the record that lets a client's next sign-in skip
//! the consent page, and that every refresh checks. Revoking it (the user's consent list at
//! `/consents`) deletes it; refresh-token families name the consent they were issued under, so
//! they stop working at their next refresh, and a new approval is a new consent.
//!
//! Key: `consents/{tid}.{oid}/{hash of client_id}`. A consent covers the scopes and redirect
//! URIs the user saw; asking for more, or for another redirect URI, shows the page again.

use serde::{Deserialize, Serialize};

use super::{
    clients::client_key,
    store::{ETag, StateStore, StoreError, prefix},
};

/// Consents stay until revoked; the lifecycle rule removes those untouched for a year.
pub const LIFETIME: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 60 * 60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consent {
    /// Changes with every approval: families issued under a revoked consent stay dead.
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub granted_at: u64,
}

impl Consent {
    pub fn covers(&self, scopes: &[String], redirect_uri: &str) -> bool {
        scopes.iter().all(|scope| self.scopes.contains(scope))
            && self.redirect_uris.iter().any(|uri| uri == redirect_uri)
    }
}

pub fn user_prefix(tenant_id: &str, object_id: &str) -> String {
    format!("{}{tenant_id}.{object_id}/", prefix::CONSENTS)
}

pub fn key(tenant_id: &str, object_id: &str, client_id: &str) -> String {
    format!(
        "{}{}",
        user_prefix(tenant_id, object_id),
        client_key(client_id)
    )
}

pub async fn find(
    store: &dyn StateStore,
    tenant_id: &str,
    object_id: &str,
    client_id: &str,
) -> Result<Option<(Consent, ETag)>, StoreError> {
    let Some(entry) = store.read(&key(tenant_id, object_id, client_id)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Consent>(&entry.value)
        .ok()
        .filter(|consent| consent.client_id == client_id)
        .map(|consent| (consent, entry.etag)))
}

/// Records an approval (a new consent id, the union of what was approved before).
pub async fn grant(
    store: &dyn StateStore,
    tenant_id: &str,
    object_id: &str,
    mut consent: Consent,
) -> Result<Consent, StoreError> {
    let key = key(tenant_id, object_id, &consent.client_id);
    for _ in 0..3 {
        match find(store, tenant_id, object_id, &consent.client_id).await? {
            None => {
                let value = serde_json::to_vec(&consent).expect("a consent serializes");
                match store.create(&key, value, LIFETIME).await {
                    Ok(_) => return Ok(consent),
                    Err(StoreError::AlreadyExists) => continue,
                    Err(error) => return Err(error),
                }
            }
            Some((existing, etag)) => {
                for scope in existing.scopes {
                    if !consent.scopes.contains(&scope) {
                        consent.scopes.push(scope);
                    }
                }
                for uri in existing.redirect_uris {
                    if !consent.redirect_uris.contains(&uri) {
                        consent.redirect_uris.push(uri);
                    }
                }
                let value = serde_json::to_vec(&consent).expect("a consent serializes");
                match store.replace(&key, value, &etag, LIFETIME).await {
                    Ok(_) => return Ok(consent),
                    Err(StoreError::Conflict) => continue,
                    Err(error) => return Err(error),
                }
            }
        }
    }
    Err(StoreError::Conflict)
}

/// Every consent of one user.
pub async fn list(
    store: &dyn StateStore,
    tenant_id: &str,
    object_id: &str,
) -> Result<Vec<(String, Consent)>, StoreError> {
    let mut consents = Vec::new();
    for key in store.list(&user_prefix(tenant_id, object_id)).await? {
        if let Some(entry) = store.read(&key).await?
            && let Ok(consent) = serde_json::from_slice::<Consent>(&entry.value)
        {
            let client = key.rsplit('/').next().unwrap_or_default().to_owned();
            consents.push((client, consent));
        }
    }
    consents.sort_by_key(|(_, consent)| std::cmp::Reverse(consent.granted_at));
    Ok(consents)
}

/// Revokes the consent of one user for the client whose key is `client_key`.
pub async fn revoke(
    store: &dyn StateStore,
    tenant_id: &str,
    object_id: &str,
    client_key: &str,
) -> Result<(), StoreError> {
    if client_key.len() != 64 || !client_key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    store
        .delete(&format!(
            "{}{client_key}",
            user_prefix(tenant_id, object_id)
        ))
        .await
}
