//! The one HTTP client for calls out of the process (the tenant's OpenID metadata and keys, the
//! token endpoint, the managed identity endpoint, Key Vault, Graph), shared so connections and
//! TLS sessions are reused.
//!
//! Building it costs a few milliseconds (rustls loads the system's root certificates), which
//! must not delay the port the Functions host is polling. So it is built once, on a blocking
//! thread, starting right after the port is bound, and the first outbound call waits for it.
//!
//! Plain http to a loopback address (the local stand-ins, and any issuer a test or benchmark runs
//! on this machine) needs no certificate at all: [`OutboundHttp::client_for`] hands such URLs a
//! second client, built in well under a millisecond because it loads no certificate store, and
//! trusting no certificate whatsoever, so it cannot complete a TLS handshake with anyone. When
//! the tenant's issuer is such a URL, [`OutboundHttp::warm_up_for`] does not load the store in
//! the background either (on a one-core instance that would delay the first request by the
//! milliseconds it takes): the main client is then built on its first use.
//!
//! **No answer is read whole without a cap.** Each caller reads bodies with [`read_capped`] and
//! the limit that fits what it expects (Graph, the token endpoint, the OpenID metadata and
//! keys); the Azure SDK clients (managed identity, Key Vault) get transports whose answers are
//! capped the same way ([`SDK_MAX_BODY_BYTES`]). A `Content-Length` over the cap is refused
//! before anything is read, and the bytes actually received are counted as they arrive, so a
//! body without a length, or with a false one, stops at the cap too.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use azure_core::http::{AsyncRawResponse, HttpClient, Request, Transport};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::{sync::OnceCell, time::Instant};
use url::Url;

use crate::config::is_loopback_host;

use crate::telemetry::CallRecord;

/// The largest answer the Azure SDK clients may read: managed identity tokens and Key Vault
/// secrets are a few kilobytes.
pub const SDK_MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every outbound call made for one MCP request carries: when it must end, and which
/// request it serves. Each outbound log event names that request (`request_id`, as the request
/// event does), so an operator can tie a Graph call or a token exchange to its MCP request, and
/// records what the request event says about them.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub deadline: Instant,
    pub request_id: &'a str,
    pub record: &'a CallRecord,
}

#[derive(Clone, Default)]
pub struct OutboundHttp {
    client: Arc<OnceCell<reqwest::Client>>,
    /// For plain http to loopback addresses only (see the module documentation).
    loopback: Arc<std::sync::OnceLock<reqwest::Client>>,
    /// Where Key Vault's requests go instead, if anywhere (see [`OutboundHttp::with_key_vault_client`]).
    key_vault_client: Option<Arc<dyn HttpClient>>,
    /// Test hosts the broker may reach (see [`TestNetwork`]); `None` in every deployment.
    test_network: Option<Arc<TestNetwork>>,
}

/// What only the tests' network has: an https server on loopback whose certificate a test CA
/// signed (Azurite, a host serving Client ID Metadata Documents), and names for it. Only local
/// mode builds one, from settings that only the devstack build reads; the deployed build has no
/// code that sets it. The broker trusts the CA only for a loopback Blob endpoint and for these
/// names, and the names may only point at loopback addresses.
#[derive(Debug, Clone)]
pub struct TestNetwork {
    /// PEM certificate of the test CA.
    pub ca_pem: Vec<u8>,
    /// Host names and the loopback address each stands for.
    pub hosts: Vec<(String, std::net::IpAddr)>,
}

impl OutboundHttp {
    /// Hands Key Vault's requests to `client` instead of the shared client. Only the local
    /// stand-ins need this: the Key Vault SDK sends nothing to a vault that is not https and
    /// under `vault.azure.net` (which is right), so the stand-in is reached through a client
    /// that delivers the vault's requests to it, after every SDK policy has checked them.
    pub fn with_key_vault_client(client: Arc<dyn HttpClient>) -> Self {
        Self {
            key_vault_client: Some(client),
            ..Self::default()
        }
    }

    /// Lets the broker reach the tests' https hosts (see [`TestNetwork`]).
    pub fn with_test_network(mut self, network: TestNetwork) -> Self {
        self.test_network = Some(Arc::new(network));
        self
    }

    pub fn test_network(&self) -> Option<&Arc<TestNetwork>> {
        self.test_network.as_ref()
    }

    /// Starts building the client in the background.
    pub fn warm_up(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            this.client().await;
        });
    }

    /// Starts building the client in the background, unless the tenant's issuer (what the first
    /// request needs) is plain http on loopback: then nothing needs the certificates yet.
    pub fn warm_up_for(&self, authority_host: &Url) {
        if !is_loopback_http(authority_host) {
            self.warm_up();
        }
    }

    /// The client for a call to `url`: [`OutboundHttp::client`], or for plain http to a loopback
    /// address the client that loads no certificates and trusts none.
    pub async fn client_for(&self, url: &Url) -> &reqwest::Client {
        if is_loopback_http(url) {
            return self.loopback.get_or_init(|| {
                builder()
                    .tls_certs_only(std::iter::empty::<reqwest::Certificate>())
                    .build()
                    .expect("HTTP client builds")
            });
        }
        self.client().await
    }

    pub async fn client(&self) -> &reqwest::Client {
        self.client
            .get_or_init(|| async {
                tokio::task::spawn_blocking(build)
                    .await
                    .expect("building the HTTP client does not panic")
            })
            .await
    }
}

impl OutboundHttp {
    /// The same client as an Azure SDK transport, so SDK clients share its connections and
    /// certificates instead of building their own; answers are capped at
    /// [`SDK_MAX_BODY_BYTES`].
    pub async fn azure_transport(&self) -> Transport {
        capped_transport(Arc::new(self.client().await.clone()))
    }

    /// The transport for Key Vault's SDK client, capped as [`OutboundHttp::azure_transport`].
    pub async fn key_vault_transport(&self) -> Transport {
        match &self.key_vault_client {
            Some(client) => capped_transport(Arc::clone(client)),
            None => self.azure_transport().await,
        }
    }
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("m365-mcp-handler/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
}

fn build() -> reqwest::Client {
    builder().build().expect("HTTP client builds")
}

fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http" && is_loopback_host(url)
}

/// A random wait in `[0, up_to]`, so retries from many instances do not line up.
pub fn jitter(up_to: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    let millis = up_to.as_millis() as u64;
    Duration::from_millis(u64::from_le_bytes(bytes) % (millis + 1))
}

/// Why an answer's body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than `limit` bytes: declared so, or more bytes arrived.
    TooLarge { limit: usize },
    /// The connection broke, timed out, or ended before the declared length.
    Interrupted { timeout: bool },
}

/// Reads `response`'s body, but never more than `limit` bytes: a `Content-Length` over it is
/// refused before anything is read, and the bytes received are counted as they arrive.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = BytesMut::with_capacity(declared.map_or(8 * 1024, |length| length as usize));
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|error| BodyError::Interrupted {
                timeout: error.is_timeout(),
            })?;
        let Some(chunk) = chunk else {
            return Ok(body.freeze());
        };
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
}

/// `client` as an SDK transport whose answers stop at [`SDK_MAX_BODY_BYTES`].
pub fn capped_transport(client: Arc<dyn HttpClient>) -> Transport {
    Transport::new(Arc::new(CappedBodies {
        inner: client,
        limit: SDK_MAX_BODY_BYTES,
    }))
}

/// An SDK HTTP client whose answers are capped: a larger `Content-Length` is an error before the
/// body is read, and the body stream fails as soon as it exceeds the cap.
#[derive(Debug)]
struct CappedBodies {
    inner: Arc<dyn HttpClient>,
    limit: usize,
}

fn too_large(limit: usize) -> azure_core::Error {
    tracing::warn!(
        limit,
        "an Azure SDK answer exceeded the size cap and was not read"
    );
    azure_core::Error::with_message(
        azure_core::error::ErrorKind::DataConversion,
        format!("the answer exceeds the {limit}-byte cap"),
    )
}

type Pending<'a> = Pin<Box<dyn Future<Output = azure_core::Result<AsyncRawResponse>> + Send + 'a>>;

// `HttpClient` is an `async_trait`; this is the method that macro would generate.
impl HttpClient for CappedBodies {
    fn execute_request<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: &'life1 Request,
    ) -> Pending<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let limit = self.limit;
            let (status, headers, body) = self.inner.execute_request(request).await?.deconstruct();
            let declared = headers
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(
                    "content-length",
                ))
                .and_then(|length| length.parse::<u64>().ok());
            if declared.is_some_and(|length| length > limit as u64) {
                return Err(too_large(limit));
            }
            let mut received = 0usize;
            let capped = body.map(move |chunk| {
                let chunk = chunk?;
                received += chunk.len();
                if received > limit {
                    return Err(too_large(limit));
                }
                Ok(chunk)
            });
            Ok(AsyncRawResponse::new(status, headers, Box::pin(capped)))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::{Router, body::Body, http::header, response::Response, routing::get};

    use super::*;

    /// A server answering `/{bytes}` with that many bytes: `declared` says how long the body
    /// claims to be (`None`: chunked).
    async fn serve(bytes: usize, declared: Option<usize>) -> SocketAddr {
        let answer = move || async move {
            let chunks = (0..bytes.div_ceil(4096)).map(move |index| {
                let len = (bytes - index * 4096).min(4096);
                Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; len]))
            });
            let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
            if let Some(declared) = declared {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, declared.into());
            }
            response
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, Router::new().route("/", get(answer)))
                .await
                .unwrap()
        });
        addr
    }

    async fn fetch(addr: SocketAddr) -> reqwest::Response {
        reqwest::get(format!("http://{addr}/")).await.unwrap()
    }

    #[tokio::test]
    async fn bodies_up_to_the_cap_are_read_and_larger_ones_refused_declared_or_not() {
        let fits = serve(1000, Some(1000)).await;
        assert_eq!(
            read_capped(fetch(fits).await, 1000).await.unwrap().len(),
            1000
        );
        let chunked_fits = serve(1000, None).await;
        assert_eq!(
            read_capped(fetch(chunked_fits).await, 1000)
                .await
                .unwrap()
                .len(),
            1000
        );
        for (bytes, declared) in [
            (1001, Some(1001)),
            (1 << 20, None),
            (1 << 20, Some(1 << 20)),
        ] {
            let addr = serve(bytes, declared).await;
            assert_eq!(
                read_capped(fetch(addr).await, 1000).await,
                Err(BodyError::TooLarge { limit: 1000 }),
                "{bytes} bytes, declared {declared:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_shorter_than_declared_is_an_interruption_not_a_value() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A server that promises 1000 bytes, sends 500 and hangs up.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await.unwrap();
            let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
            answer.extend_from_slice(&[b'x'; 500]);
            stream.write_all(&answer).await.unwrap();
        });
        assert_eq!(
            read_capped(fetch(addr).await, 4000).await,
            Err(BodyError::Interrupted { timeout: false })
        );
    }

    #[tokio::test]
    async fn loopback_http_gets_a_client_that_trusts_no_certificate() {
        let http = OutboundHttp::default();
        let addr = serve(10, Some(10)).await;
        let url = Url::parse(&format!("http://{addr}/")).unwrap();
        let answer = http.client_for(&url).await.get(url.clone()).send().await;
        assert_eq!(answer.unwrap().status(), 200);
        assert!(http.client.get().is_none(), "the main client is not built");
        // The same client refuses every TLS server: it trusts no root at all. A local TLS
        // server with a certificate from a CA of its own stands in for any server.
        let loopback = http.loopback.get().unwrap();
        let tls = tls_server().await;
        let error = loopback
            .get(format!("https://localhost:{}/", tls.port()))
            .send()
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        // https, even on loopback, goes through the main client.
        let https = Url::parse("https://127.0.0.1/").unwrap();
        assert!(!std::ptr::eq(http.client_for(&https).await, loopback));
    }

    /// A TLS server on loopback with a self-signed certificate for `localhost`.
    async fn tls_server() -> SocketAddr {
        use tokio_rustls::{TlsAcceptor, rustls};
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = acceptor.accept(stream).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn sdk_answers_are_capped_declared_or_streamed() {
        let client: Arc<dyn HttpClient> = Arc::new(reqwest::Client::new());
        let capped = CappedBodies {
            inner: client,
            limit: 1000,
        };
        let read = |addr: SocketAddr| {
            let request = Request::new(
                format!("http://{addr}/").parse().unwrap(),
                azure_core::http::Method::Get,
            );
            let capped = &capped;
            async move {
                let response = capped.execute_request(&request).await?;
                response.into_body().collect().await
            }
        };
        assert_eq!(read(serve(1000, None).await).await.unwrap().len(), 1000);
        for declared in [Some(1 << 20), None] {
            let error = read(serve(1 << 20, declared).await).await.unwrap_err();
            assert!(
                error.to_string().contains("1000-byte cap"),
                "{declared:?}: {error}"
            );
        }
    }
}
