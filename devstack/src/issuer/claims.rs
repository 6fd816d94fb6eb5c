//! The claims of the access tokens Entra issues for the server's API, in the v2 format (the
//! app registration sets `requestedAccessTokenVersion: 2`).
//!
//! A *delegated* token says "this client acts for this user": `oid` is the user, `azp` the
//! client, `scp` the delegated permissions the user consented to, and `roles` any app roles
//! the user is assigned. An *app-only* token says "this application acts for itself": `oid`
//! and `sub` are the client's service principal, `roles` the app roles it was granted, there
//! is no `scp`, and `idtyp: app` (an optional claim the registration turns on) says so
//! outright.
//!
//! A *managed identity* token is an app-only token for whichever resource the identity asked
//! for (Key Vault, or `api://AzureADTokenExchange` for a federated credential exchange). It
//! names the identity twice (`appid` and `azp` are its client id; `oid` and `sub` its
//! principal id), carries its Azure resource id as `xms_mirid`, and lives about a day.
//!
//! `sub` is pairwise: the same user has a different `sub` for every client, so a validator
//! must key users by `tid` + `oid`. Lifetimes are random between 60 and 90 minutes, like
//! Entra's, so nothing can come to rely on exactly one hour. `aio`, `rh` and `uti` are Entra's
//! opaque internal values; they only have to be present and unique.

use aws_lc_rs::hmac;
use serde_json::{Value, json};

use super::random_urlsafe;
use crate::{
    datetime::now_seconds,
    keys::base64url,
    tenant::{
        ClientApp, ClientKind, MANAGED_IDENTITY_CLIENT_ID, MANAGED_IDENTITY_PRINCIPAL_ID,
        MANAGED_IDENTITY_RESOURCE_ID, SERVER_CLIENT_ID, STORAGE_RESOURCE, TENANT_ID, User,
    },
};

const MIN_LIFETIME_SECONDS: i64 = 60 * 60;
const MAX_LIFETIME_SECONDS: i64 = 90 * 60;
/// Managed identity tokens live a day; the platform caches them for hours.
pub const MANAGED_IDENTITY_LIFETIME_SECONDS: i64 = 24 * 60 * 60;

/// Claims of a delegated token: `client` acting for `user`. `scopes` are short names (empty
/// leaves `scp` out); `roles` are app roles (empty leaves `roles` out).
pub fn delegated(
    issuer: &str,
    user: &User,
    client: &ClientApp,
    scopes: &[&str],
    roles: &[&str],
) -> Value {
    let mut claims = common(issuer, client);
    claims["name"] = json!(user.display_name);
    claims["oid"] = json!(user.object_id);
    claims["preferred_username"] = json!(user.user_principal_name);
    claims["sub"] = json!(pairwise_subject(user.object_id, client.client_id));
    if !scopes.is_empty() {
        claims["scp"] = json!(scopes.join(" "));
    }
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    claims
}

/// Claims of an app-only token: `client` acting for itself with `roles`.
pub fn app_only(issuer: &str, client: &ClientApp, roles: &[&str]) -> Value {
    let mut claims = common(issuer, client);
    claims["idtyp"] = json!("app");
    claims["oid"] = json!(client.service_principal_id);
    claims["sub"] = json!(client.service_principal_id);
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    claims
}

/// Claims of the handler's managed identity's token for `resource`. Azure Storage gets a v1
/// token (issuer `https://sts.windows.net/{tenant}/`, `ver` 1.0), as from Azure.
pub fn managed_identity(issuer: &str, resource: &str) -> Value {
    let mut claims = managed_identity_v2(issuer, resource);
    if resource == STORAGE_RESOURCE {
        claims["iss"] = json!(format!("https://sts.windows.net/{TENANT_ID}/"));
        claims["idp"] = claims["iss"].clone();
        claims["ver"] = json!("1.0");
    }
    claims
}

fn managed_identity_v2(issuer: &str, resource: &str) -> Value {
    let now = now_seconds();
    json!({
        "aud": resource,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + MANAGED_IDENTITY_LIFETIME_SECONDS,
        "aio": random_urlsafe(48),
        "appid": MANAGED_IDENTITY_CLIENT_ID,
        "appidacr": "2",
        "azp": MANAGED_IDENTITY_CLIENT_ID,
        "azpacr": "2",
        "idp": issuer,
        "idtyp": "app",
        "oid": MANAGED_IDENTITY_PRINCIPAL_ID,
        "rh": format!("1.A{}", random_urlsafe(48)),
        "sub": MANAGED_IDENTITY_PRINCIPAL_ID,
        "tid": TENANT_ID,
        "uti": random_urlsafe(16),
        "ver": "2.0",
        "xms_mirid": MANAGED_IDENTITY_RESOURCE_ID,
    })
}

/// Seconds until `claims` expire, for the token response's `expires_in`.
pub fn expires_in(claims: &Value) -> u64 {
    let remaining = claims["exp"].as_i64().unwrap_or(0) - now_seconds();
    u64::try_from(remaining).unwrap_or(0)
}

fn common(issuer: &str, client: &ClientApp) -> Value {
    let now = now_seconds();
    json!({
        "aud": SERVER_CLIENT_ID,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + random_lifetime(),
        "aio": random_urlsafe(48),
        "azp": client.client_id,
        "azpacr": authentication_class(client.kind),
        "rh": format!("1.A{}", random_urlsafe(48)),
        "tid": TENANT_ID,
        "uti": random_urlsafe(16),
        "ver": "2.0",
    })
}

/// `azpacr`: how the client authenticated. Public clients cannot (0); this product's
/// confidential clients use certificates or federated credentials, never secrets (2).
fn authentication_class(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Public => "0",
        ClientKind::Confidential => "2",
    }
}

/// A stable per-(user, client) subject, opaque like Entra's: an HMAC of both ids under a
/// tenant-specific key.
fn pairwise_subject(object_id: &str, client_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, TENANT_ID.as_bytes());
    base64url(hmac::sign(
        &key,
        format!("{object_id}|{client_id}").as_bytes(),
    ))
}

fn random_lifetime() -> i64 {
    let mut bytes = [0; 2];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    MIN_LIFETIME_SECONDS
        + i64::from(u16::from_le_bytes(bytes)) % (MAX_LIFETIME_SECONDS - MIN_LIFETIME_SECONDS + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{self, MCP_OPERATOR};

    const ISSUER: &str = "http://127.0.0.1:1/tenant/v2.0";

    #[test]
    fn delegated_claims_describe_the_user_and_the_client() {
        let adele = tenant::user("adele").unwrap();
        let dev = tenant::client("dev").unwrap();
        let claims = delegated(ISSUER, adele, dev, &["user_impersonation"], &[]);

        assert_eq!(claims["aud"], SERVER_CLIENT_ID);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["tid"], TENANT_ID);
        assert_eq!(claims["oid"], adele.object_id);
        assert_eq!(claims["azp"], dev.client_id);
        assert_eq!(claims["azpacr"], "0");
        assert_eq!(claims["name"], "Adele Vance");
        assert_eq!(claims["preferred_username"], "adele@contoso.example");
        assert_eq!(claims["scp"], "user_impersonation");
        assert_eq!(claims["ver"], "2.0");
        assert!(claims.get("roles").is_none());
        assert!(claims.get("idtyp").is_none());
        for opaque in ["aio", "rh", "uti", "sub"] {
            assert!(
                claims[opaque].as_str().is_some_and(|v| !v.is_empty()),
                "{opaque}"
            );
        }
    }

    #[test]
    fn lifetimes_are_between_60_and_90_minutes() {
        let adele = tenant::user("adele").unwrap();
        let dev = tenant::client("dev").unwrap();
        for _ in 0..50 {
            let claims = delegated(ISSUER, adele, dev, &[], &[]);
            let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
            assert!((3600..=5400).contains(&lifetime), "{lifetime}");
            assert_eq!(claims["nbf"], claims["iat"]);
            assert!(claims.get("scp").is_none(), "no scopes, no scp");
            assert!(expires_in(&claims) <= lifetime);
        }
    }

    #[test]
    fn subjects_are_pairwise_and_stable() {
        let adele = tenant::user("adele").unwrap();
        let alex = tenant::user("alex").unwrap();
        let dev = tenant::client("dev").unwrap();
        let vscode = tenant::client("vscode").unwrap();
        let sub = |user: &User, client: &ClientApp| {
            delegated(ISSUER, user, client, &[], &[])["sub"].clone()
        };
        assert_eq!(sub(adele, dev), sub(adele, dev));
        assert_ne!(sub(adele, dev), sub(adele, vscode));
        assert_ne!(sub(adele, dev), sub(alex, dev));
        assert_ne!(sub(adele, dev), json!(adele.object_id));
    }

    #[test]
    fn unique_token_ids() {
        let adele = tenant::user("adele").unwrap();
        let dev = tenant::client("dev").unwrap();
        let first = delegated(ISSUER, adele, dev, &[], &[]);
        let second = delegated(ISSUER, adele, dev, &[], &[]);
        assert_ne!(first["uti"], second["uti"]);
        assert_ne!(first["aio"], second["aio"]);
    }

    #[test]
    fn managed_identity_claims_name_the_identity_and_the_resource() {
        let claims = managed_identity(ISSUER, "api://AzureADTokenExchange");
        assert_eq!(claims["aud"], "api://AzureADTokenExchange");
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], MANAGED_IDENTITY_PRINCIPAL_ID);
        assert_eq!(claims["oid"], MANAGED_IDENTITY_PRINCIPAL_ID);
        assert_eq!(claims["appid"], MANAGED_IDENTITY_CLIENT_ID);
        assert_eq!(claims["azp"], MANAGED_IDENTITY_CLIENT_ID);
        assert_eq!(claims["idtyp"], "app");
        assert_eq!(claims["tid"], TENANT_ID);
        assert_eq!(claims["xms_mirid"], MANAGED_IDENTITY_RESOURCE_ID);
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 24 * 3600);
    }

    #[test]
    fn app_only_claims_describe_the_service_principal() {
        let daemon = tenant::client("daemon").unwrap();
        let claims = app_only(ISSUER, daemon, &[MCP_OPERATOR]);
        assert_eq!(claims["idtyp"], "app");
        assert_eq!(claims["oid"], daemon.service_principal_id);
        assert_eq!(claims["sub"], daemon.service_principal_id);
        assert_eq!(claims["azp"], tenant::DAEMON_CLIENT_ID);
        assert_eq!(claims["azpacr"], "2");
        assert_eq!(claims["roles"], json!([MCP_OPERATOR]));
        assert!(claims.get("scp").is_none());
        assert!(claims.get("name").is_none());
    }
}
