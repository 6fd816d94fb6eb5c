//! Where the broker keeps what must outlive one request: authorization codes (and the marker
//! that says one was redeemed), sign-ins waiting for consent, refresh-token families, consents.
//!
//! The store is a key-value store with two conditional writes, which is all correctness across
//! instances needs:
//!
//! - [`StateStore::create`] succeeds only if the key does not exist (`If-None-Match: *`): the
//!   first instance to redeem a code wins, every other gets [`StoreError::AlreadyExists`].
//! - [`StateStore::replace`] succeeds only if the entry is unchanged since it was read (its
//!   ETag, `If-Match`): two refreshes racing on one family cannot both rotate it.
//!
//! [`blob`] keeps entries in an Azure Blob container through the managed identity (deployed;
//! the tests run it against Azurite); [`memory`] keeps them in this process (`cargo run`).
//! Values are opaque bytes: whatever is secret in them is sealed before it gets here. Keys are
//! hashes or random ids under a few fixed prefixes, never client-chosen text.

pub mod blob;
pub mod memory;

use std::time::Duration;

use async_trait::async_trait;

/// An entry's version, as the store reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(pub String);

#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Vec<u8>,
    pub etag: ETag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// `create` found the key taken.
    AlreadyExists,
    /// `replace` found the entry changed (or gone) since it was read.
    Conflict,
    /// The store did not answer usefully in time; nothing can be concluded.
    Unavailable(String),
}

#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Writes `value` under `key` only if nothing is there. `ttl` is how long the entry matters
    /// (the Blob store leaves expiry to the container's lifecycle rule).
    async fn create(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<ETag, StoreError>;
    async fn read(&self, key: &str) -> Result<Option<Entry>, StoreError>;
    /// Overwrites `key` only if it still has `etag`.
    async fn replace(
        &self,
        key: &str,
        value: Vec<u8>,
        etag: &ETag,
        ttl: Duration,
    ) -> Result<ETag, StoreError>;
    /// Removes `key`; removing nothing is fine. Whether there was something to remove.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Keys starting with `prefix` (bounded: the broker lists one user's consents).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}

/// The key prefixes, one per kind of entry (the lifecycle rule in infra/ uses the same).
pub mod prefix {
    pub const CODES: &str = "codes/";
    pub const REDEMPTIONS: &str = "redemptions/";
    pub const PENDING: &str = "pending/";
    pub const FAMILIES: &str = "families/";
    pub const CONSENTS: &str = "consents/";
}
