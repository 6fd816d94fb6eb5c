//! PKCE (RFC 7636): proof that whoever redeems an authorization code also started the sign-in.
//!
//! A public client cannot keep a secret, so anyone who intercepts the code on its way back
//! through the browser could redeem it. With PKCE the client first makes a random *verifier*,
//! sends only its SHA-256 hash (the *challenge*, method `S256`) with the authorization request,
//! and must present the verifier itself when it redeems the code. The `plain` method sends the
//! verifier as the challenge and so proves nothing to an eavesdropper; OAuth 2.1 and MCP
//! require `S256`, and so does the devstack.

use aws_lc_rs::{constant_time, digest};

use crate::keys::base64url;

/// The only challenge method the devstack accepts.
pub const S256: &str = "S256";

/// `BASE64URL(SHA256(verifier))`, the `S256` challenge for `verifier`.
pub fn s256_challenge(verifier: &str) -> String {
    base64url(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// A new random verifier (32 random bytes, 43 characters, as RFC 7636 recommends) and its
/// challenge, for clients and tests.
pub fn new_pair() -> (String, String) {
    let verifier = super::random_urlsafe(32);
    let challenge = s256_challenge(&verifier);
    (verifier, challenge)
}

/// Whether `verifier` is well formed (43 to 128 unreserved characters) and hashes to
/// `challenge`.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed
        && constant_time::verify_slices_are_equal(
            s256_challenge(verifier).as_bytes(),
            challenge.as_bytes(),
        )
        .is_ok()
}

/// Whether `challenge` could be an `S256` challenge: 43 base64url characters.
pub fn is_s256_shaped(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(verifies(VERIFIER, CHALLENGE));
    }

    #[test]
    fn a_wrong_verifier_does_not_verify() {
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
        assert!(!verifies(other, CHALLENGE));
    }

    #[test]
    fn the_plain_method_does_not_verify() {
        // With `plain`, the challenge is the verifier itself.
        assert!(!verifies(VERIFIER, VERIFIER));
    }

    #[test]
    fn malformed_verifiers_are_refused_even_when_they_hash_right() {
        let short = "abc";
        assert!(!verifies(short, &s256_challenge(short)));
        let long = "a".repeat(129);
        assert!(!verifies(&long, &s256_challenge(&long)));
        let spaced = format!("{} ", &VERIFIER[..43]);
        assert!(!verifies(&spaced, &s256_challenge(&spaced)));
    }

    #[test]
    fn new_pairs_verify_and_differ() {
        let (verifier, challenge) = new_pair();
        assert_eq!(verifier.len(), 43);
        assert!(verifies(&verifier, &challenge));
        assert!(is_s256_shaped(&challenge));
        assert_ne!(new_pair().0, verifier);
    }

    #[test]
    fn challenge_shape() {
        assert!(is_s256_shaped(CHALLENGE));
        assert!(!is_s256_shaped("short"));
        assert!(!is_s256_shaped(&format!("{}=", &CHALLENGE[..42])));
    }
}
