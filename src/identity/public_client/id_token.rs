//! Who signed in, from the ID token the token endpoint returned with the tokens.
//!
//! The ID token comes straight from Entra's token endpoint in the answer to this process's own
//! request, over TLS to the configured authority. OpenID Connect Core (3.1.3.7) lets a client
//! rely on the TLS server's identity instead of the token's signature in exactly that case, so
//! the signature is not checked here (and no key download sits in the way of a sign-in). The
//! claims are checked as they must be: the issuer is the configured tenant's v2 issuer at the
//! configured authority, the audience is this public client, `tid` is the configured tenant,
//! `oid` is a GUID, and the token is not expired. The account's identity is `tid` + `oid`; the
//! user name is for people to read (the sign-in line, `handler logout`), never to decide
//! anything.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

use super::Account;
use crate::config::normalize_guid;

/// Leeway for clock differences, as for access tokens.
const LEEWAY_SECONDS: i64 = 60;

/// What the ID token must say.
pub struct Expected<'a> {
    /// `{authority}/{tenant}/v2.0`.
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub tenant_id: &'a str,
}

/// The account `id_token` names, or why it cannot be relied on.
pub fn account(id_token: &str, expected: &Expected<'_>, now: i64) -> Result<Account, String> {
    let mut parts = id_token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the ID token is not a JWT".into());
    };
    let claims: Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(Value::is_object)
        .ok_or("the ID token's claims are not JSON")?;
    let text = |name: &str| claims[name].as_str().unwrap_or_default();
    if text("iss") != expected.issuer {
        return Err(format!(
            "the ID token was issued by {}, not {}",
            text("iss"),
            expected.issuer
        ));
    }
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => aud.eq_ignore_ascii_case(expected.client_id),
        Value::Array(auds) => auds.iter().any(|aud| {
            aud.as_str()
                .is_some_and(|aud| aud.eq_ignore_ascii_case(expected.client_id))
        }),
        _ => false,
    };
    if !audience_ok {
        return Err("the ID token is for another application".into());
    }
    let tenant_id = normalize_guid(text("tid"))
        .filter(|tid| tid == expected.tenant_id)
        .ok_or_else(|| {
            format!(
                "the ID token is from tenant {}, not {}",
                text("tid"),
                expected.tenant_id
            )
        })?;
    let object_id = normalize_guid(text("oid")).ok_or("the ID token names no user (oid)")?;
    match claims["exp"].as_i64() {
        Some(exp) if exp + LEEWAY_SECONDS >= now => {}
        _ => return Err("the ID token has expired".into()),
    }
    let username = ["preferred_username", "upn", "email", "name"]
        .iter()
        .map(|name| text(name))
        .find(|value| !value.is_empty())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(256)
        .collect();
    Ok(Account {
        tenant_id,
        object_id,
        username,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ISSUER: &str =
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27";
    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            tenant_id: TENANT,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": CLIENT, "tid": TENANT,
            "oid": "DAD36CB3-638F-4DEF-A708-7BCBB5E43A7E",
            "preferred_username": "adele@contoso.example", "name": "Adele Vance",
            "exp": NOW + 3600, "iat": NOW,
        })
    }

    /// An unsigned JWT: this module never looks at the signature.
    fn token(claims: &Value) -> String {
        format!(
            "{}.{}.signature",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn the_account_is_tid_and_oid_with_a_name_to_show() {
        let account = account(&token(&claims()), &expected(), NOW).unwrap();
        assert_eq!(account.tenant_id, TENANT);
        assert_eq!(account.object_id, "dad36cb3-638f-4def-a708-7bcbb5e43a7e");
        assert_eq!(account.username, "adele@contoso.example");
    }

    #[test]
    fn every_claim_that_binds_the_sign_in_is_checked() {
        for (claim, value, says) in [
            (
                "iss",
                json!("https://login.microsoftonline.com/other/v2.0"),
                "issued by",
            ),
            (
                "aud",
                json!("00000000-0000-0000-0000-000000000001"),
                "another application",
            ),
            (
                "aud",
                json!(["00000000-0000-0000-0000-000000000001"]),
                "another application",
            ),
            (
                "tid",
                json!("00000000-0000-0000-0000-000000000001"),
                "from tenant",
            ),
            ("oid", json!("not-a-guid"), "names no user"),
            ("exp", json!(NOW - 3600), "expired"),
            ("exp", json!(null), "expired"),
        ] {
            let mut claims = claims();
            claims[claim] = value;
            let error = account(&token(&claims), &expected(), NOW).unwrap_err();
            assert!(error.contains(says), "{claim}: {error}");
        }
        let mut listed = claims();
        listed["aud"] = json!(["x", CLIENT]);
        assert!(account(&token(&listed), &expected(), NOW).is_ok());
        for garbage in ["", "a.b", "a.!!!.c", "a.b.c.d"] {
            assert!(account(garbage, &expected(), NOW).is_err(), "{garbage}");
        }
    }

    #[test]
    fn the_name_shown_has_no_control_characters() {
        let mut claims = claims();
        claims["preferred_username"] = json!("adele\u{1b}[31m@contoso.example");
        let account = account(&token(&claims), &expected(), NOW).unwrap();
        assert_eq!(account.username, "adele[31m@contoso.example");
    }
}
