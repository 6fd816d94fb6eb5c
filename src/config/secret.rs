//! A string that must never be shown: a secret value from configuration or Key Vault, or a
//! credential. Its `Debug` is redacted, it has no `Display`, and the value is reached only
//! through [`SecretString::expose`], so every place that uses the value names it.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Box<str>);

impl SecretString {
    pub fn new(value: impl Into<Box<str>>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one comparison or request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes (no secret: the length rules are public).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value.into())
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.into())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_value() {
        let secret = SecretString::from("secret-value-6d2a91f0");
        let shown = format!("{secret:?} {:?} {:#?}", Some(&secret), vec![secret.clone()]);
        assert!(!shown.contains("secret-value-6d2a91f0"), "{shown}");
        assert!(shown.contains("redacted"));
        assert_eq!(secret.expose(), "secret-value-6d2a91f0");
    }
}
