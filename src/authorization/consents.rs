//! Consent, remembered per user and client: the record that lets a client's next sign-in skip
//! the consent page, and that every refresh checks. Revoking it (the user's consent list at
//! `/consents`) deletes it; refresh-token families name the consent they were issued under, so
//! they stop working at their next refresh, and an approval after that is a new consent.
//! Approving more (another scope, another redirect URI) extends the consent that exists and
//! keeps its id: the client's earlier sign-ins keep working.
//!
//! Key: `consents/{tid}.{oid}/{hash of client_id}`. A consent covers the scopes and redirect
//! URIs the user saw; asking for more, or for another redirect URI, shows the page again. A
//! loopback redirect URI on another port is the same one (RFC 8252 §7.3: a native app listens
//! on whatever port is free when it starts).

use serde::{Deserialize, Serialize};

use super::{
    clients::client_key,
    redirect,
    store::{ETag, StateStore, StoreError, prefix},
};

/// Consents stay until revoked; the lifecycle rule removes those untouched for a year.
pub const LIFETIME: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 60 * 60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consent {
    /// Kept while the consent exists, new once it was revoked: families issued under a revoked
    /// consent stay dead.
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
            && self
                .redirect_uris
                .iter()
                .any(|uri| redirect::matches(uri, redirect_uri))
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

/// Records an approval: a new consent, or the one that exists extended by it (its id kept, the
/// union of what was approved).
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
                consent.id = existing.id;
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

/// Revokes the consent of one user for the client whose key is `client_key` (the form sends it:
/// anything but a client key is ignored). The key of the consent deleted, if one was.
pub async fn revoke(
    store: &dyn StateStore,
    tenant_id: &str,
    object_id: &str,
    client_key: &str,
) -> Result<Option<String>, StoreError> {
    if client_key.len() != 64
        || !client_key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok(None);
    }
    let deleted = store
        .delete(&format!(
            "{}{client_key}",
            user_prefix(tenant_id, object_id)
        ))
        .await?;
    Ok(deleted.then(|| client_key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::store::memory::MemoryStore;

    fn approval(id: &str, scopes: &[&str], redirect_uri: &str) -> Consent {
        Consent {
            id: id.into(),
            client_id: "dcr.client".into(),
            client_name: "Client".into(),
            scopes: scopes.iter().map(|scope| scope.to_string()).collect(),
            redirect_uris: vec![redirect_uri.into()],
            granted_at: 1,
        }
    }

    #[tokio::test]
    async fn extending_a_consent_keeps_its_id_and_revoking_it_does_not() {
        let store = MemoryStore::default();
        let first = grant(
            &store,
            "t",
            "o",
            approval("first", &["a"], "http://127.0.0.1:1/"),
        )
        .await
        .unwrap();
        assert_eq!(first.id, "first");
        let extended = grant(
            &store,
            "t",
            "o",
            approval("second", &["b"], "https://vscode.dev/redirect"),
        )
        .await
        .unwrap();
        assert_eq!(extended.id, "first", "earlier families stay valid");
        assert_eq!(extended.scopes, ["b", "a"]);
        assert!(extended.covers(&["a".into(), "b".into()], "https://vscode.dev/redirect"));
        let (stored, _) = find(&store, "t", "o", "dcr.client").await.unwrap().unwrap();
        assert_eq!(stored.id, "first");

        let key = client_key("dcr.client");
        assert_eq!(
            revoke(&store, "t", "o", &key).await.unwrap(),
            Some(key.clone())
        );
        assert_eq!(
            revoke(&store, "t", "o", &key).await.unwrap(),
            None,
            "nothing left"
        );
        assert_eq!(revoke(&store, "t", "o", "not a key").await.unwrap(), None);
        let again = grant(
            &store,
            "t",
            "o",
            approval("third", &["a"], "http://127.0.0.1:1/"),
        )
        .await
        .unwrap();
        assert_eq!(again.id, "third", "a revoked consent's families stay dead");
    }

    #[test]
    fn a_loopback_redirect_is_covered_on_any_port_and_nothing_else_is() {
        let consent = approval("c", &["a"], "http://127.0.0.1:33418/callback");
        let scopes = ["a".to_owned()];
        assert!(consent.covers(&scopes, "http://127.0.0.1:33418/callback"));
        assert!(consent.covers(&scopes, "http://127.0.0.1:54321/callback"));
        for other in [
            "http://127.0.0.1:54321/other",
            "http://localhost:33418/callback",
            "https://127.0.0.1:33418/callback",
        ] {
            assert!(!consent.covers(&scopes, other), "{other}");
        }
        assert!(!consent.covers(&["b".into()], "http://127.0.0.1:33418/callback"));
        let https = approval("c", &["a"], "https://vscode.dev/redirect");
        assert!(!https.covers(&scopes, "https://vscode.dev:8443/redirect"));
    }
}
