//! Who a `client_id` is: a Client ID Metadata Document (the MCP 2025-11-25 default) or a
//! dynamic registration (RFC 7591), both resolved to one [`Client`].
//!
//! - **Client ID Metadata Document**: the `client_id` is an https URL with a path; the document
//!   there (fetched by [`super::fetch`], with its SSRF defences) must name exactly that URL as
//!   `client_id`, and carries `client_name` and `redirect_uris`. Its host vouches for it; the
//!   consent page names that host.
//! - **Dynamic registration**: [`super::registration`] seals what was registered into the
//!   `client_id` it answers with (`dcr.<sealed>`), so nothing is stored per registration and a
//!   flood of registrations fills no storage. Such a client is unverified: the consent page says
//!   so. Nothing can be revoked or changed in a sealed registration, so it expires after
//!   [`MAX_REGISTRATION_AGE`], and its redirect URIs are checked against the operator's policy
//!   at every use, not only when it registered (see [`super::authorize`]).
//!
//! Only public clients exist here (`token_endpoint_auth_method: none`, PKCE): the broker issues
//! no client credentials.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    fetch::{FetchError, SafeFetcher},
    redirect,
    seal::{Purpose, SealError, Sealer},
    unix_now,
};

/// Most redirect URIs a client may have.
pub const MAX_REDIRECT_URIS: usize = 8;
/// Longest client name shown.
pub const MAX_NAME: usize = 80;
/// Longest `client_id` accepted (a metadata URL or a sealed registration).
pub const MAX_CLIENT_ID: usize = 2048;
pub const REGISTERED_PREFIX: &str = "dcr.";
/// How long a dynamic registration starts sign-ins: twice the longest a refresh-token family
/// lives ([`super::families::ABSOLUTE`]), so a client that signs in again when its family ends
/// usually still can; then it registers again. Sign-ins already made are not cut short (the
/// token endpoint does not look at the registration).
pub const MAX_REGISTRATION_AGE: Duration = Duration::from_secs(180 * 24 * 60 * 60);
const REGISTRATION_BINDING: &[u8] = b"registration";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKind {
    /// Identified by its metadata document on this https host.
    MetadataDocument { host: String },
    /// Registered dynamically: nobody vouches for it.
    Registered,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub kind: ClientKind,
}

/// Why a `client_id` names no usable client (`invalid_client`), or could not be checked now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    Invalid(String),
    Unavailable,
    /// Its metadata document cannot be fetched now: this instance is at its fetch limits (see
    /// [`super::fetch`]). Try again after this many seconds.
    Busy {
        retry_after: u64,
    },
}

/// What a dynamic registration keeps, sealed into its `client_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "r")]
    pub redirect_uris: Vec<String>,
    #[serde(rename = "t")]
    pub issued_at: u64,
}

/// A metadata document's fields this server reads.
#[derive(Deserialize)]
struct MetadataDocument {
    client_id: Option<String>,
    client_name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
}

pub struct Clients {
    fetcher: SafeFetcher,
    sealer: Sealer,
}

impl Clients {
    pub fn new(fetcher: SafeFetcher, sealer: Sealer) -> Self {
        Self { fetcher, sealer }
    }

    /// The client `client_id` names.
    pub async fn resolve(&self, client_id: &str) -> Result<Client, ClientError> {
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
            return Err(ClientError::Invalid(
                "the client_id is empty or too long".into(),
            ));
        }
        if let Some(sealed) = client_id.strip_prefix(REGISTERED_PREFIX) {
            return self.registered(client_id, sealed).await;
        }
        if client_id.starts_with("https://") {
            return self.metadata_document(client_id).await;
        }
        Err(ClientError::Invalid(
            "the client_id is neither a Client ID Metadata Document URL (https) nor one this \
             server registered"
                .into(),
        ))
    }

    async fn registered(&self, client_id: &str, sealed: &str) -> Result<Client, ClientError> {
        let plaintext = self
            .sealer
            .open_text(Purpose::Registration, REGISTRATION_BINDING, sealed)
            .await
            .map_err(|error| match error {
                SealError::Invalid => ClientError::Invalid(
                    "the client_id was not registered here, or its registration has expired \
                     (register again)"
                        .into(),
                ),
                SealError::KeyUnavailable | SealError::BadKey => ClientError::Unavailable,
            })?;
        let registration: Registration = serde_json::from_slice(&plaintext)
            .map_err(|_| ClientError::Invalid("the registration cannot be read".into()))?;
        if unix_now().saturating_sub(registration.issued_at) > MAX_REGISTRATION_AGE.as_secs() {
            return Err(ClientError::Invalid(format!(
                "the client's registration is older than {} days and has expired (register again)",
                MAX_REGISTRATION_AGE.as_secs() / (24 * 60 * 60)
            )));
        }
        Ok(Client {
            client_id: client_id.to_owned(),
            name: registration.name,
            redirect_uris: registration.redirect_uris,
            kind: ClientKind::Registered,
        })
    }

    /// Seals `registration` into a new `client_id`.
    pub async fn seal_registration(
        &self,
        registration: &Registration,
    ) -> Result<String, SealError> {
        let plaintext = serde_json::to_vec(registration).expect("a registration serializes");
        let sealed = self
            .sealer
            .seal_text(Purpose::Registration, REGISTRATION_BINDING, &plaintext)
            .await?;
        Ok(format!("{REGISTERED_PREFIX}{sealed}"))
    }

    async fn metadata_document(&self, client_id: &str) -> Result<Client, ClientError> {
        let url = check_metadata_url(client_id).map_err(ClientError::Invalid)?;
        let body = self
            .fetcher
            .fetch(&url)
            .await
            .map_err(|error| match error {
                FetchError::Busy { retry_after } => ClientError::Busy { retry_after },
                other => ClientError::Invalid(other.describe()),
            })?;
        parse_document(client_id, &url, &body).map_err(ClientError::Invalid)
    }
}

/// A `client_id` that may be a metadata document URL: https, a path, no fragment, no user
/// information, no dot segments.
fn check_metadata_url(client_id: &str) -> Result<Url, String> {
    let url = Url::parse(client_id).map_err(|_| "the client_id is not a valid URL".to_owned())?;
    if url.scheme() != "https" {
        return Err("a client_id URL must use https".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err("a client_id URL must have a path".into());
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("a client_id URL must not contain a fragment or user information".into());
    }
    if url.as_str() != client_id {
        return Err(
            "a client_id URL must be in canonical form (lower-case host, no default port, no \
             dot segments)"
                .into(),
        );
    }
    Ok(url)
}

fn parse_document(client_id: &str, url: &Url, body: &[u8]) -> Result<Client, String> {
    let document: MetadataDocument = serde_json::from_slice(body).map_err(|_| {
        "the client metadata document is not a JSON object of the expected shape".to_owned()
    })?;
    if document.client_id.as_deref() != Some(client_id) {
        return Err("the client metadata document's client_id is not exactly its own URL".into());
    }
    let name = clean_name(document.client_name.as_deref().unwrap_or_default())
        .ok_or("the client metadata document has no client_name")?;
    let redirect_uris = document
        .redirect_uris
        .filter(|uris| !uris.is_empty())
        .ok_or("the client metadata document lists no redirect_uris")?;
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(format!(
            "the client metadata document lists more than {MAX_REDIRECT_URIS} redirect_uris"
        ));
    }
    for uri in &redirect_uris {
        redirect::check_shape(uri)?;
    }
    match document.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(_) => {
            return Err(
                "this server accepts only public clients (token_endpoint_auth_method none, \
                 with PKCE)"
                    .into(),
            );
        }
    }
    if document
        .grant_types
        .is_some_and(|grants| !grants.iter().any(|grant| grant == "authorization_code"))
    {
        return Err("the client's grant_types do not include authorization_code".into());
    }
    if document
        .response_types
        .is_some_and(|types| !types.iter().any(|kind| kind == "code"))
    {
        return Err("the client's response_types do not include code".into());
    }
    Ok(Client {
        client_id: client_id.to_owned(),
        name,
        redirect_uris,
        kind: ClientKind::MetadataDocument {
            host: url.host_str().unwrap_or_default().to_owned(),
        },
    })
}

/// A display name: trimmed, without control characters, at most [`MAX_NAME`] characters.
pub fn clean_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// The storage key of a client (its id hashed: ids can be long and are client-chosen).
pub fn client_key(client_id: &str) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, client_id.as_bytes()).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::authorization::seal::{KeyMaterial, StaticKeys};

    const ID: &str = "https://app.example/oauth/client.json";

    fn parse(body: serde_json::Value) -> Result<Client, String> {
        parse_document(ID, &Url::parse(ID).unwrap(), body.to_string().as_bytes())
    }

    #[test]
    fn a_document_must_name_itself_and_its_redirects() {
        let good = serde_json::json!({
            "client_id": ID,
            "client_name": "  Example\u{7} App ",
            "redirect_uris": ["http://127.0.0.1:3000/callback"],
            "token_endpoint_auth_method": "none",
        });
        let client = parse(good.clone()).unwrap();
        assert_eq!(client.name, "Example App");
        assert_eq!(
            client.kind,
            ClientKind::MetadataDocument {
                host: "app.example".into()
            }
        );
        for (field, value) in [
            (
                "client_id",
                serde_json::json!("https://other.example/client.json"),
            ),
            ("client_name", serde_json::json!("")),
            ("redirect_uris", serde_json::json!([])),
            (
                "redirect_uris",
                serde_json::json!(["http://evil.example/cb"]),
            ),
            (
                "token_endpoint_auth_method",
                serde_json::json!("private_key_jwt"),
            ),
            ("grant_types", serde_json::json!(["client_credentials"])),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert!(parse(bad).is_err(), "{field}");
        }
        assert!(parse_document(ID, &Url::parse(ID).unwrap(), b"[1,2]").is_err());
    }

    #[tokio::test]
    async fn a_registration_expires() {
        let clients = Clients::new(
            SafeFetcher::new(None),
            Sealer::new(Arc::new(StaticKeys(KeyMaterial {
                current: vec![7; 32],
                previous: None,
            }))),
        );
        let registered = |age: u64| Registration {
            name: "Client".into(),
            redirect_uris: vec!["http://127.0.0.1/".into()],
            issued_at: unix_now() - age,
        };
        let young = clients
            .seal_registration(&registered(MAX_REGISTRATION_AGE.as_secs() - 60))
            .await
            .unwrap();
        assert_eq!(clients.resolve(&young).await.unwrap().name, "Client");
        let old = clients
            .seal_registration(&registered(MAX_REGISTRATION_AGE.as_secs() + 1))
            .await
            .unwrap();
        assert!(matches!(
            clients.resolve(&old).await,
            Err(ClientError::Invalid(why)) if why.contains("expired")
        ));
    }

    #[test]
    fn metadata_urls_must_be_https_with_a_path() {
        assert!(check_metadata_url(ID).is_ok());
        for bad in [
            "http://app.example/client.json",
            "https://app.example",
            "https://app.example/",
            "https://app.example/a/../client.json",
            "https://user@app.example/client.json",
            "https://app.example/client.json#x",
            "https://APP.example/client.json",
        ] {
            assert!(check_metadata_url(bad).is_err(), "{bad}");
        }
    }
}
