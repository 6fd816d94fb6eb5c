//! The in-process store: what `cargo run` uses in broker mode when no Blob endpoint is set. Same
//! conditional semantics as the Blob store, for one process only. Expired entries are dropped
//! as new ones are written, and the store refuses to grow past a bound.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;

use super::{ETag, Entry, StateStore, StoreError};

const CAPACITY: usize = 100_000;

struct Stored {
    value: Vec<u8>,
    version: u64,
    expires: Instant,
}

#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<(u64, HashMap<String, Stored>)>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut u64, &mut HashMap<String, Stored>) -> T) -> T {
        let mut guard = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (counter, map) = &mut *guard;
        f(counter, map)
    }
}

fn etag(version: u64) -> ETag {
    ETag(format!("\"{version}\""))
}

fn live(stored: &Stored) -> bool {
    Instant::now() < stored.expires
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn create(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<ETag, StoreError> {
        self.with(|counter, map| {
            if map.get(key).is_some_and(live) {
                return Err(StoreError::AlreadyExists);
            }
            if map.len() >= CAPACITY {
                map.retain(|_, stored| live(stored));
                if map.len() >= CAPACITY {
                    return Err(StoreError::Unavailable(
                        "the in-process store is full".into(),
                    ));
                }
            }
            *counter += 1;
            map.insert(
                key.to_owned(),
                Stored {
                    value,
                    version: *counter,
                    expires: Instant::now() + ttl,
                },
            );
            Ok(etag(*counter))
        })
    }

    async fn read(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.with(|_, map| {
            map.get(key)
                .filter(|stored| live(stored))
                .map(|stored| Entry {
                    value: stored.value.clone(),
                    etag: etag(stored.version),
                })
        }))
    }

    async fn replace(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: &ETag,
        ttl: Duration,
    ) -> Result<ETag, StoreError> {
        self.with(|counter, map| match map.get_mut(key) {
            Some(stored) if live(stored) && &etag(stored.version) == expected => {
                *counter += 1;
                stored.value = value;
                stored.version = *counter;
                stored.expires = Instant::now() + ttl;
                Ok(etag(*counter))
            }
            _ => Err(StoreError::Conflict),
        })
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .with(|_, map| map.remove(key))
            .is_some_and(|stored| live(&stored)))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self.with(|_, map| {
            map.iter()
                .filter(|(key, stored)| key.starts_with(prefix) && live(stored))
                .map(|(key, _)| key.clone())
                .collect()
        });
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn create_is_single_use_and_replace_needs_the_current_etag() {
        let store = MemoryStore::default();
        let first = store.create("codes/a", b"1".to_vec(), TTL).await.unwrap();
        assert_eq!(
            store.create("codes/a", b"2".to_vec(), TTL).await,
            Err(StoreError::AlreadyExists)
        );
        let second = store
            .replace("codes/a", b"3".to_vec(), &first, TTL)
            .await
            .unwrap();
        assert_eq!(
            store.replace("codes/a", b"4".to_vec(), &first, TTL).await,
            Err(StoreError::Conflict),
            "a stale etag loses"
        );
        let entry = store.read("codes/a").await.unwrap().unwrap();
        assert_eq!((&entry.value, &entry.etag), (&b"3".to_vec(), &second));
        assert_eq!(
            store.list("codes/").await.unwrap(),
            vec!["codes/a".to_owned()]
        );
        assert!(store.delete("codes/a").await.unwrap(), "deleted");
        assert!(store.read("codes/a").await.unwrap().is_none());
        assert!(
            !store.delete("codes/a").await.unwrap(),
            "nothing left to delete"
        );
        assert_eq!(
            store
                .replace("codes/a", b"5".to_vec(), &entry.etag, TTL)
                .await,
            Err(StoreError::Conflict)
        );
    }

    #[tokio::test]
    async fn expired_entries_are_gone() {
        let store = MemoryStore::default();
        store
            .create("pending/x", b"1".to_vec(), Duration::ZERO)
            .await
            .unwrap();
        assert!(store.read("pending/x").await.unwrap().is_none());
        store
            .create("pending/x", b"2".to_vec(), TTL)
            .await
            .expect("an expired key can be taken again");
    }
}
