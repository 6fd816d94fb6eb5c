//! The gateway proof as Key Vault holds it: the current and previous enabled versions of one
//! secret, which APIM reads through its own managed identity and this server through its own.

use std::sync::Arc;

use super::KeyVaultSecrets;
use crate::inbound_auth::gateway_proof::{ProofDigest, ProofFuture, ProofSource, ProofUnavailable};

/// The current and previous enabled versions of a Key Vault secret.
pub struct VaultProof {
    secrets: Arc<KeyVaultSecrets>,
    name: String,
}

impl VaultProof {
    pub fn new(secrets: Arc<KeyVaultSecrets>, name: String) -> Self {
        Self { secrets, name }
    }
}

impl ProofSource for VaultProof {
    fn accepted(&self, after_mismatch: bool) -> ProofFuture<'_> {
        Box::pin(async move {
            let versions = if after_mismatch {
                self.secrets.reread(&self.name).await
            } else {
                self.secrets.versions(&self.name).await
            }
            .map_err(|_| ProofUnavailable)?;
            Ok(std::iter::once(&versions.current)
                .chain(versions.previous.as_ref())
                .map(|value| ProofDigest::of(value))
                .collect())
        })
    }
}
