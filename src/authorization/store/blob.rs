//! The state store in an Azure Blob container, through the managed identity (role: Storage Blob
//! Data Contributor on that container), with the official `azure_storage_blob` client on the
//! process's shared HTTP client.
//!
//! Each entry is one block blob named by its key. `create` is a Put Blob with
//! `If-None-Match: *` (Azure answers 409 `BlobAlreadyExists` when the name is taken); `replace`
//! is a Put Blob with `If-Match: <etag>` (412 `ConditionNotMet` when someone wrote in between).
//! Expired entries are deleted by the container's lifecycle rule (infra/), not by the handler.
//!
//! Every call has a deadline, and the SDK retries transient failures only briefly: a sign-in
//! waiting on storage helps no one. An outage is reported as [`StoreError::Unavailable`] and
//! never read as "absent" or "already there": the callers then fail closed.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use azure_core::{
    credentials::TokenCredential,
    error::ErrorKind,
    http::{ClientOptions, RequestContent, StatusCode, Transport},
};
use azure_storage_blob::{
    BlobContainerClient, BlobContainerClientOptions,
    models::{
        BlobClientDeleteOptions, BlobClientDownloadOptions, BlobClientUploadOptions,
        BlobContainerClientListBlobsOptions,
    },
};
use futures::TryStreamExt;
use tokio::sync::OnceCell;
use url::Url;

use super::{ETag, Entry, StateStore, StoreError};
use crate::identity::quick_retries;

/// One store call, retries included, ends within this.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// Listing stops here: one user's consents are far fewer.
const MAX_LISTED: usize = 1000;

/// How the store gets its credential and transport, on first use.
#[async_trait]
pub trait BlobAccess: Send + Sync + 'static {
    async fn credential(&self) -> Result<Arc<dyn TokenCredential>, String>;
    async fn transport(&self) -> Transport;
}

pub struct BlobStore {
    container_url: Url,
    access: Arc<dyn BlobAccess>,
    client: OnceCell<BlobContainerClient>,
}

impl BlobStore {
    /// `endpoint` is the service endpoint (ends with `/`), `container` the container's name.
    pub fn new(endpoint: &Url, container: &str, access: Arc<dyn BlobAccess>) -> Self {
        let container_url = endpoint
            .join(container)
            .expect("a container name joins a service URL");
        Self {
            container_url,
            access,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&BlobContainerClient, StoreError> {
        self.client
            .get_or_try_init(|| async {
                let credential = self
                    .access
                    .credential()
                    .await
                    .map_err(StoreError::Unavailable)?;
                let options = BlobContainerClientOptions {
                    client_options: ClientOptions {
                        retry: quick_retries(),
                        transport: Some(self.access.transport().await),
                        ..ClientOptions::default()
                    },
                    ..BlobContainerClientOptions::default()
                };
                BlobContainerClient::new(
                    self.container_url.clone(),
                    Some(credential),
                    Some(options),
                )
                .map_err(|error| StoreError::Unavailable(format!("Blob client: {}", error.kind())))
            })
            .await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        condition: Condition<'_>,
    ) -> Result<ETag, StoreError> {
        let client = self.client().await?;
        let blob = client.blob_client(key);
        let mut options = BlobClientUploadOptions {
            blob_content_type: Some("application/octet-stream".to_owned()),
            ..BlobClientUploadOptions::default()
        };
        match condition {
            Condition::Absent => options.if_none_match = Some("*".into()),
            Condition::Unchanged(etag) => options.if_match = Some(etag.0.clone().into()),
        }
        let put = blob.upload(RequestContent::from(value), Some(options));
        let result = deadline(put).await?;
        match result {
            Ok(uploaded) => Ok(ETag(
                uploaded.etag.map(|etag| etag.to_string()).ok_or_else(|| {
                    StoreError::Unavailable("Blob answered without an ETag".into())
                })?,
            )),
            Err(error) => Err(match (condition, status_and_code(&error)) {
                (Condition::Absent, (Some(StatusCode::Conflict), _))
                | (Condition::Absent, (Some(StatusCode::PreconditionFailed), _)) => {
                    StoreError::AlreadyExists
                }
                (Condition::Unchanged(_), (Some(StatusCode::PreconditionFailed), _))
                | (Condition::Unchanged(_), (Some(StatusCode::NotFound), _)) => {
                    StoreError::Conflict
                }
                _ => unavailable("write", &error),
            }),
        }
    }
}

#[derive(Clone, Copy)]
enum Condition<'a> {
    Absent,
    Unchanged(&'a ETag),
}

async fn deadline<T>(call: impl Future<Output = T>) -> Result<T, StoreError> {
    tokio::time::timeout(CALL_TIMEOUT, call).await.map_err(|_| {
        StoreError::Unavailable(format!(
            "Blob storage did not answer within {CALL_TIMEOUT:?}"
        ))
    })
}

fn status_and_code(error: &azure_core::Error) -> (Option<StatusCode>, Option<String>) {
    match error.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => (Some(*status), error_code.clone()),
        _ => (None, None),
    }
}

/// What went wrong, without anything from the request (the key is a hash, but is left out too).
fn unavailable(operation: &str, error: &azure_core::Error) -> StoreError {
    let (status, code) = status_and_code(error);
    let described = match (status, code) {
        (Some(status), Some(code)) => format!("{} {code}", u16::from(status)),
        (Some(status), None) => u16::from(status).to_string(),
        _ => error.kind().to_string(),
    };
    StoreError::Unavailable(format!("Blob {operation} failed: {described}"))
}

#[async_trait]
impl StateStore for BlobStore {
    async fn create(&self, key: &str, value: Vec<u8>, _ttl: Duration) -> Result<ETag, StoreError> {
        self.put(key, value, Condition::Absent).await
    }

    async fn read(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let client = self.client().await?;
        let blob = client.blob_client(key);
        let read = async {
            let downloaded = blob
                .download(Some(BlobClientDownloadOptions::default()))
                .await?;
            let etag = downloaded.properties.etag.clone();
            let body = downloaded.body.collect().await?;
            Ok::<_, azure_core::Error>((body, etag))
        };
        match deadline(read).await? {
            Ok((body, Some(etag))) => Ok(Some(Entry {
                value: body.to_vec(),
                etag: ETag(etag.to_string()),
            })),
            Ok((_, None)) => Err(StoreError::Unavailable(
                "Blob answered without an ETag".into(),
            )),
            Err(error) if status_and_code(&error).0 == Some(StatusCode::NotFound) => {
                // A missing container is an operator error, not an absent entry.
                match status_and_code(&error).1.as_deref() {
                    Some("ContainerNotFound") => Err(unavailable("read", &error)),
                    _ => Ok(None),
                }
            }
            Err(error) => Err(unavailable("read", &error)),
        }
    }

    async fn replace(
        &self,
        key: &str,
        value: Vec<u8>,
        etag: &ETag,
        _ttl: Duration,
    ) -> Result<ETag, StoreError> {
        self.put(key, value, Condition::Unchanged(etag)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let blob = client.blob_client(key);
        match deadline(blob.delete(Some(BlobClientDeleteOptions::default()))).await? {
            Ok(_) => Ok(true),
            Err(error) if status_and_code(&error).0 == Some(StatusCode::NotFound) => Ok(false),
            Err(error) => Err(unavailable("delete", &error)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let listing = async {
            let mut pages = client
                .list_blobs(Some(BlobContainerClientListBlobsOptions {
                    prefix: Some(prefix.to_owned()),
                    ..BlobContainerClientListBlobsOptions::default()
                }))?
                .into_pages();
            let mut names = Vec::new();
            while let Some(page) = pages.try_next().await? {
                let page = page.into_model()?;
                for item in page.blob_items {
                    if let Some(name) = item.name {
                        names.push(name);
                    }
                }
                if names.len() >= MAX_LISTED {
                    break;
                }
            }
            Ok::<_, azure_core::Error>(names)
        };
        match deadline(listing).await? {
            Ok(mut names) => {
                names.truncate(MAX_LISTED);
                Ok(names)
            }
            Err(error) => Err(unavailable("list", &error)),
        }
    }
}
