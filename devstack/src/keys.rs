//! Token signing keys and the compact form of a signed JSON Web Token.
//!
//! A JWT travels as three base64url segments, `header.claims.signature`; the signature covers
//! the first two segments exactly as sent. Entra signs access tokens with RS256 (RSASSA-PKCS1
//! v1.5 over SHA-256): it keeps the private key and publishes the public half in its JWKS, and
//! the header's `kid` tells a validator which published key to check against. When Entra rolls
//! its keys a new `kid` appears in tokens, which is why validators re-read the JWKS on an
//! unknown `kid` instead of trusting one fixed key.
//!
//! Entra's `kid` and `x5t` are both the SHA-1 thumbprint of the key's X.509 certificate. The
//! devstack has no certificate, so it thumbprints the DER-encoded public key instead: the
//! same shape (27 base64url characters), which is all a validator may rely on.
//!
//! [`sign_hs256`] and [`unsigned`] make the forgeries every validator must refuse: a token
//! "signed" with a shared secret (alg confusion: an RS256 validator that hands the public key
//! to an HMAC verifier accepts it) and a token with `alg: none` and no signature at all.

use std::fmt;

use aws_lc_rs::{
    digest, hmac,
    rand::SystemRandom,
    rsa::{KeyPair, KeySize, PublicKeyComponents},
    signature::{KeyPair as _, RSA_PKCS1_SHA256},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// base64url without padding, the encoding of every JWT segment and JWK number.
pub fn base64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA 2048 key pair and the `kid` tokens signed with it carry.
pub struct SigningKey {
    kid: String,
    key_pair: KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key pair. Takes tens of milliseconds: RSA key generation searches for primes.
    pub fn generate() -> Self {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA 2048 key generation");
        let thumbprint = digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            key_pair.public_key().as_ref(),
        );
        Self {
            kid: base64url(thumbprint),
            key_pair,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, shaped like an entry of Entra's JWKS.
    pub fn public_jwk(&self) -> Value {
        let components = PublicKeyComponents::<Vec<u8>>::from(self.key_pair.public_key());
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": base64url(&components.n),
            "e": base64url(&components.e),
        })
    }

    /// A compact JWS over `header` and `claims`, signed RS256. The header is used exactly as
    /// given, so a test can forge one (a wrong `kid`, a lying `alg`).
    pub fn sign_rs256(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a buffer of the modulus length");
        format!("{input}.{}", base64url(signature))
    }
}

/// A compact JWS signed HS256 with `secret`.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", base64url(tag))
}

/// An unsecured JWT: the header as given (normally `alg: none`) and an empty signature.
pub fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.", signing_input(header, claims))
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        base64url(header.to_string()),
        base64url(claims.to_string())
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

    use super::*;

    fn claims() -> Value {
        json!({ "sub": "someone", "aud": "api", "exp": 4_102_444_800_u64 })
    }

    fn validation(alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.set_audience(&["api"]);
        validation
    }

    fn decoding_key(jwk: &Value) -> DecodingKey {
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap()
    }

    fn segment(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn an_rs256_token_verifies_with_the_published_key() {
        let key = SigningKey::generate();
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid() });
        let token = key.sign_rs256(&header, &claims());

        let data = decode::<Value>(
            &token,
            &decoding_key(&key.public_jwk()),
            &validation(Algorithm::RS256),
        )
        .expect("the token verifies");
        assert_eq!(data.claims, claims());
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
    }

    #[test]
    fn another_keys_token_does_not_verify() {
        let signer = SigningKey::generate();
        let other = SigningKey::generate();
        let token = signer.sign_rs256(&json!({ "alg": "RS256" }), &claims());
        assert!(
            decode::<Value>(
                &token,
                &decoding_key(&other.public_jwk()),
                &validation(Algorithm::RS256)
            )
            .is_err()
        );
    }

    #[test]
    fn a_tampered_token_does_not_verify() {
        let key = SigningKey::generate();
        let token = key.sign_rs256(&json!({ "alg": "RS256" }), &claims());
        let mut forged_claims = claims();
        forged_claims["sub"] = json!("someone else");
        let (head, rest) = token.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        let forged = format!(
            "{head}.{}.{signature}",
            base64url(forged_claims.to_string())
        );
        assert!(
            decode::<Value>(
                &forged,
                &decoding_key(&key.public_jwk()),
                &validation(Algorithm::RS256)
            )
            .is_err()
        );
    }

    #[test]
    fn the_header_is_signed_as_given() {
        let key = SigningKey::generate();
        let header = json!({ "alg": "RS256", "kid": "not-the-real-kid", "jku": "https://evil" });
        let token = key.sign_rs256(&header, &claims());
        assert_eq!(segment(&token, 0), header);
        assert_eq!(segment(&token, 1), claims());
    }

    #[test]
    fn the_jwk_looks_like_entras() {
        let key = SigningKey::generate();
        let jwk = key.public_jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["x5t"], key.kid());
        assert_eq!(jwk["e"], "AQAB", "exponent 65537");
        let modulus = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(
            modulus.len(),
            256,
            "2048-bit modulus without a leading zero"
        );
        assert_eq!(key.kid().len(), 27, "a base64url SHA-1 thumbprint");
        assert_ne!(key.kid(), SigningKey::generate().kid());
        assert!(
            jwk.get("d").is_none() && jwk.get("p").is_none(),
            "no private parts"
        );
    }

    #[test]
    fn hs256_tokens_verify_with_the_secret_only() {
        let header = json!({ "typ": "JWT", "alg": "HS256" });
        let token = sign_hs256(b"shared secret", &header, &claims());
        assert_eq!(segment(&token, 0), header);
        let verified = decode::<Value>(
            &token,
            &DecodingKey::from_secret(b"shared secret"),
            &validation(Algorithm::HS256),
        );
        assert_eq!(verified.unwrap().claims, claims());
        assert!(
            decode::<Value>(
                &token,
                &DecodingKey::from_secret(b"another secret"),
                &validation(Algorithm::HS256)
            )
            .is_err()
        );
    }

    #[test]
    fn unsigned_tokens_have_an_empty_signature() {
        let header = json!({ "typ": "JWT", "alg": "none" });
        let token = unsigned(&header, &claims());
        assert!(token.ends_with('.'));
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(segment(&token, 0), header);
        assert_eq!(segment(&token, 1), claims());
    }
}
