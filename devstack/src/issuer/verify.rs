//! How the devstack checks tokens it issued itself. Two stand-ins receive Entra tokens: the
//! token endpoint (the caller's token and the managed identity's assertion in an
//! on-behalf-of exchange) and Key Vault (its bearer tokens). Both trust exactly what the issuer
//! publishes: an RS256 signature by a key in the current JWKS, so a token signed with a key
//! withdrawn in an emergency rotation fails here as it fails everywhere else.
//!
//! Checking the signature is separate from checking the lifetime and the claims, because each
//! service reports those failures in its own words.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

use super::Issuer;

/// Entra and Key Vault tolerate this much clock difference on `nbf` and `exp`.
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// Why a token's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not three base64url JSON segments, or not RS256.
    Malformed,
    /// No published key has the token's `kid` (or it has none).
    UnknownKey(String),
    /// A published key, but the signature does not verify.
    BadSignature(String),
}

/// Where a token stands in its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Valid,
    NotYetValid { nbf: i64 },
    Expired { exp: i64 },
}

impl Issuer {
    /// The claims of `token` if one of the published keys signed it.
    pub fn verify(&self, token: &str) -> Result<Value, Rejection> {
        let header = decode_header(token).map_err(|_| Rejection::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(Rejection::Malformed);
        }
        let kid = header.kid.unwrap_or_default();
        let key = self
            .keys
            .published()
            .into_iter()
            .find(|key| key.kid() == kid)
            .ok_or_else(|| Rejection::UnknownKey(kid.clone()))?;
        let jwk = key.public_jwk();
        let decoding_key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().expect("a JWK has n"),
            jwk["e"].as_str().expect("a JWK has e"),
        )
        .expect("the issuer's own key decodes");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        decode::<Value>(token, &decoding_key, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => Rejection::BadSignature(kid),
                _ => Rejection::Malformed,
            })
    }
}

/// Checks `nbf` and `exp` (both required) against `now`, with the usual clock skew.
pub fn lifetime(claims: &Value, now: i64) -> Lifetime {
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let nbf = claims["nbf"].as_i64().unwrap_or(0);
    if now + CLOCK_SKEW_SECONDS < nbf {
        Lifetime::NotYetValid { nbf }
    } else if now - CLOCK_SKEW_SECONDS >= exp {
        Lifetime::Expired { exp }
    } else {
        Lifetime::Valid
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::{sign_hs256, unsigned};

    fn issuer() -> Issuer {
        Issuer::new("http://127.0.0.1:1".to_owned(), "api://x".to_owned())
    }

    #[test]
    fn tokens_signed_with_a_published_key_verify() {
        let issuer = issuer();
        let claims = json!({ "sub": "someone", "exp": 1 });
        let token = issuer.sign_current(&claims);
        assert_eq!(issuer.verify(&token), Ok(claims.clone()));

        let next = issuer.keys().publish_next();
        issuer.keys().promote_next();
        assert_eq!(issuer.token_header()["kid"], next.as_str());
        assert_eq!(
            issuer.verify(&token),
            Ok(claims),
            "the old key is still published"
        );
    }

    #[test]
    fn forgeries_and_withdrawn_keys_are_rejected() {
        let issuer = issuer();
        let claims = json!({ "sub": "someone" });
        let header = issuer.token_header();
        let kid = header["kid"].as_str().unwrap().to_owned();

        let hs256 = sign_hs256(b"secret", &json!({ "alg": "HS256", "kid": kid }), &claims);
        assert_eq!(issuer.verify(&hs256), Err(Rejection::Malformed));
        let none = unsigned(&json!({ "alg": "none", "kid": kid }), &claims);
        assert_eq!(issuer.verify(&none), Err(Rejection::Malformed));
        assert_eq!(issuer.verify("not a token"), Err(Rejection::Malformed));

        let other = Issuer::new("http://127.0.0.1:2".to_owned(), "api://x".to_owned());
        let mut borrowed_kid = other.token_header();
        borrowed_kid["kid"] = json!(kid);
        let forged = other.sign(&borrowed_kid, &claims);
        assert_eq!(
            issuer.verify(&forged),
            Err(Rejection::BadSignature(kid.clone()))
        );

        let token = issuer.sign_current(&claims);
        issuer.keys().rotate();
        assert_eq!(issuer.verify(&token), Err(Rejection::UnknownKey(kid)));
    }

    #[test]
    fn lifetimes_allow_five_minutes_of_skew() {
        let claims = json!({ "nbf": 1000, "exp": 2000 });
        assert_eq!(lifetime(&claims, 1500), Lifetime::Valid);
        assert_eq!(lifetime(&claims, 701), Lifetime::Valid);
        assert_eq!(lifetime(&claims, 699), Lifetime::NotYetValid { nbf: 1000 });
        assert_eq!(lifetime(&claims, 2299), Lifetime::Valid);
        assert_eq!(lifetime(&claims, 2300), Lifetime::Expired { exp: 2000 });
        assert_eq!(
            lifetime(&json!({}), 1000),
            Lifetime::Expired { exp: 0 },
            "no exp is no lifetime"
        );
    }
}
