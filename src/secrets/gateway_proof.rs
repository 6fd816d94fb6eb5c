//! The gateway proof as Key Vault holds it: one secret, which APIM reads through its own managed
//! identity and this server through its own.
//!
//! Accepted are the current version (the newest usable one: enabled, within its activation and
//! expiry dates) and, for a bounded grace period after the current one was created, the version
//! before it, because APIM and this server switch to a new version at different moments. After
//! the grace period only the current version is accepted, so a rotation really retires a leaked
//! value; disabling the leaked version in Key Vault retires it at the next read. A version whose
//! value is shorter than [`MIN_PROOF_LENGTH`] is never accepted, as in configuration.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use super::{KeyVaultSecrets, SecretVersion, SecretVersions};
use crate::{
    config::MIN_PROOF_LENGTH,
    inbound_auth::gateway_proof::{ProofDigest, ProofFuture, ProofSource, ProofUnavailable},
};

/// Least time between two warnings about unusable versions.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The accepted versions of a Key Vault secret.
pub struct VaultProof {
    secrets: Arc<KeyVaultSecrets>,
    name: String,
    rotation_grace: Duration,
    last_warning: Mutex<Option<Instant>>,
}

impl VaultProof {
    pub fn new(secrets: Arc<KeyVaultSecrets>, name: String, rotation_grace: Duration) -> Self {
        Self {
            secrets,
            name,
            rotation_grace,
            last_warning: Mutex::default(),
        }
    }

    fn warn(&self, why: &str, version: &SecretVersion) {
        let mut last = self
            .last_warning
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(
                secret = %self.name,
                version = %version.id,
                why,
                "a gateway proof version in Key Vault is not accepted"
            );
        }
    }
}

/// The values of `versions` accepted at `now`.
fn accepted_values<'a>(
    versions: &'a SecretVersions,
    now: SystemTime,
    rotation_grace: Duration,
    mut refuse: impl FnMut(&str, &SecretVersion),
) -> Vec<&'a str> {
    let mut usable = |version: &'a SecretVersion| {
        if version.expired_at(now) {
            refuse("expired", version);
            None
        } else if version.value.len() < MIN_PROOF_LENGTH {
            refuse("shorter than the minimum length", version);
            None
        } else {
            Some(version.value.expose())
        }
    };
    let mut accepted: Vec<&str> = usable(&versions.current).into_iter().collect();
    let within_grace = versions
        .current
        .created
        .checked_add(rotation_grace)
        .is_none_or(|grace_ends| now < grace_ends);
    if let Some(previous) = versions.previous.as_ref().filter(|_| within_grace) {
        accepted.extend(usable(previous));
    }
    accepted
}

impl ProofSource for VaultProof {
    fn accepted(&self) -> ProofFuture<'_> {
        Box::pin(async move {
            let versions = self
                .secrets
                .versions(&self.name)
                .await
                .map_err(|_| ProofUnavailable)?;
            let accepted: Arc<[ProofDigest]> = accepted_values(
                &versions,
                SystemTime::now(),
                self.rotation_grace,
                |why, version| self.warn(why, version),
            )
            .into_iter()
            .map(ProofDigest::of)
            .collect();
            if accepted.is_empty() {
                // Nothing in the vault can be accepted: fail closed, as when it is unreachable.
                return Err(ProofUnavailable);
            }
            Ok(accepted)
        })
    }

    fn mismatched(&self) {
        // APIM may have switched to a version this server has not read yet.
        self.secrets.look_again(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::tests::version;

    const HOUR: Duration = Duration::from_secs(3600);

    fn accepted(versions: &SecretVersions, grace: Duration) -> Vec<&str> {
        accepted_values(versions, SystemTime::now(), grace, |_, _| {})
    }

    #[test]
    fn the_previous_version_counts_only_within_the_grace_period_after_the_current_was_created() {
        let versions = SecretVersions {
            current: version("v2", "current-value-0123456789", 2 * HOUR),
            previous: Some(version("v1", "previous-value-0123456789", 48 * HOUR)),
        };
        assert_eq!(
            accepted(&versions, 3 * HOUR),
            vec!["current-value-0123456789", "previous-value-0123456789"]
        );
        assert_eq!(accepted(&versions, HOUR), vec!["current-value-0123456789"]);
        assert_eq!(
            accepted(&versions, Duration::ZERO),
            vec!["current-value-0123456789"]
        );
    }

    #[test]
    fn short_or_expired_versions_are_never_accepted() {
        let mut expired = version("v2", "expired-value-0123456789", HOUR);
        expired.expires = Some(SystemTime::now() - Duration::from_secs(1));
        let versions = SecretVersions {
            current: expired,
            previous: Some(version("v1", "short-value", 2 * HOUR)),
        };
        let mut refused = Vec::new();
        let values = accepted_values(&versions, SystemTime::now(), 8 * HOUR, |why, version| {
            refused.push((why.to_owned(), version.id.clone()))
        });
        assert!(values.is_empty());
        assert_eq!(
            refused,
            vec![
                ("expired".to_owned(), "v2".to_owned()),
                (
                    "shorter than the minimum length".to_owned(),
                    "v1".to_owned()
                )
            ]
        );
    }
}
