//! Fetching a Client ID Metadata Document without becoming a proxy into the network the server
//! runs in (SSRF).
//!
//! The URL is the client's to choose, so every defence holds at connection time, not just when
//! the URL is first looked at:
//!
//! - `https` only, a host name or a public IP literal, the default port or any other, no user
//!   information.
//! - The connection goes only to public addresses: the client's own resolver refuses a name when
//!   *any* address it resolves to is loopback, private, link-local, shared, reserved, multicast,
//!   documentation or otherwise special (IPv4-mapped and NAT64 forms included), and the
//!   addresses it checked are the ones connected to, so a DNS answer cannot change in between
//!   (rebinding). IP literals are checked before any connection.
//! - Redirects are followed by hand, at most [`MAX_REDIRECTS`], each target checked like the
//!   first URL; a redirect to `http` or to a special address is refused.
//! - [`TIME_LIMIT`] for the whole fetch, redirects included; [`SIZE_LIMIT`] bytes at most (a
//!   larger `Content-Length` is refused before reading, a body growing past it is cut off).
//! - No proxy, no cookies, no credentials of this server: a plain GET.
//! - Answers are cached by their `Cache-Control` (`max-age` up to a day; `no-store`/`no-cache`
//!   not at all; 60 seconds when the document says nothing), and failures for 30 seconds, so
//!   one client id cannot make the server fetch over and over.
//! - Many client ids cannot either: an instance fetches at most [`MAX_CONCURRENT_FETCHES`]
//!   documents at once and [`FETCHES_PER_MINUTE`] a minute (answers from the cache do not
//!   count). Beyond that a fetch is refused at once ([`FetchError::Busy`]), not queued: a
//!   flood of authorization requests naming made-up documents costs the server no connections
//!   and no waiting requests.
//!
//! Tests reach a document server on loopback through [`TestNetwork`] (names mapped to loopback
//! addresses, a test CA): only local mode in a devstack build sets it, so a deployment cannot.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    header::{CACHE_CONTROL, CONTENT_LENGTH, LOCATION},
};
use url::{Host, Url};

use super::rate_limit::RateLimit;
use crate::outbound::TestNetwork;

pub const TIME_LIMIT: Duration = Duration::from_secs(5);
pub const SIZE_LIMIT: usize = 16 * 1024;
pub const MAX_REDIRECTS: usize = 3;
const DEFAULT_FRESHNESS: Duration = Duration::from_secs(60);
const MAX_FRESHNESS: Duration = Duration::from_secs(24 * 60 * 60);
const FAILURE_FRESHNESS: Duration = Duration::from_secs(30);
const CACHE_CAPACITY: usize = 1000;
/// Documents an instance fetches at once; each may hold a connection for [`TIME_LIMIT`].
pub const MAX_CONCURRENT_FETCHES: usize = 4;
/// Documents an instance fetches a minute (burst: a third of it): real clients are few and
/// their documents cached.
pub const FETCHES_PER_MINUTE: u32 = 60;

/// Why a document could not be fetched, in words safe to show the user and the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not an https URL this server may fetch.
    NotAllowed(&'static str),
    /// The host resolves to an address that is not public.
    PrivateAddress,
    TooManyRedirects,
    TooLarge,
    TimedOut,
    /// Not answered with 200 (the status).
    Status(u16),
    Unreachable,
    /// This instance is fetching as many documents as it may: nothing was fetched; try again
    /// after this many seconds.
    Busy {
        retry_after: u64,
    },
}

impl FetchError {
    pub fn describe(&self) -> String {
        match self {
            FetchError::NotAllowed(why) => format!("the client metadata URL is not allowed: {why}"),
            FetchError::PrivateAddress => {
                "the client metadata URL leads to an address that is not public".to_owned()
            }
            FetchError::TooManyRedirects => format!(
                "fetching the client metadata document took more than {MAX_REDIRECTS} redirects"
            ),
            FetchError::TooLarge => {
                format!("the client metadata document is larger than {SIZE_LIMIT} bytes")
            }
            FetchError::TimedOut => format!(
                "the client metadata document did not arrive within {} seconds",
                TIME_LIMIT.as_secs()
            ),
            FetchError::Status(status) => {
                format!("the client metadata URL answered HTTP {status}")
            }
            FetchError::Unreachable => "the client metadata URL could not be reached".to_owned(),
            FetchError::Busy { .. } => {
                "this server is fetching too many client metadata documents right now".to_owned()
            }
        }
    }
}

#[derive(Clone)]
struct Cached {
    result: Result<Vec<u8>, FetchError>,
    until: Instant,
}

pub struct SafeFetcher {
    client: reqwest::Client,
    overrides: Arc<Vec<(String, IpAddr)>>,
    cache: Mutex<HashMap<String, Cached>>,
    fetching: tokio::sync::Semaphore,
    rate: RateLimit,
}

impl SafeFetcher {
    pub fn new(test_network: Option<&TestNetwork>) -> Self {
        let overrides: Arc<Vec<(String, IpAddr)>> = Arc::new(
            test_network
                .map(|network| {
                    network
                        .hosts
                        .iter()
                        .filter(|(_, ip)| ip.is_loopback())
                        .map(|(name, ip)| (name.to_ascii_lowercase(), *ip))
                        .collect()
                })
                .unwrap_or_default(),
        );
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("m365-mcp-handler/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .no_proxy()
            .connect_timeout(TIME_LIMIT)
            .timeout(TIME_LIMIT)
            .dns_resolver(PublicOnly {
                overrides: Arc::clone(&overrides),
            });
        if let Some(network) = test_network {
            match reqwest::Certificate::from_pem(&network.ca_pem) {
                Ok(ca) => builder = builder.tls_certs_merge([ca]),
                Err(_) => tracing::warn!("the test CA is not a PEM certificate; ignored"),
            }
        }
        Self {
            client: builder.build().expect("the metadata HTTP client builds"),
            overrides,
            cache: Mutex::default(),
            fetching: tokio::sync::Semaphore::new(MAX_CONCURRENT_FETCHES),
            rate: RateLimit::new(FETCHES_PER_MINUTE, FETCHES_PER_MINUTE / 3),
        }
    }

    /// The document at `url`, from the cache or fetched now.
    pub async fn fetch(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let key = url.as_str().to_owned();
        if let Some(cached) = self.cached(&key) {
            return cached;
        }
        // A refusal here says nothing about the document: it is not cached.
        let Ok(_fetching) = self.fetching.try_acquire() else {
            tracing::warn!("client metadata document fetches: concurrency limit reached");
            return Err(FetchError::Busy {
                retry_after: TIME_LIMIT.as_secs(),
            });
        };
        if let Err(retry_after) = self.rate.take() {
            tracing::warn!("client metadata document fetches: rate limit reached");
            return Err(FetchError::Busy { retry_after });
        }
        let started = Instant::now();
        let (result, freshness) = match tokio::time::timeout(TIME_LIMIT, self.fetch_now(url)).await
        {
            Ok(Ok((body, freshness))) => (Ok(body), freshness),
            Ok(Err(error)) => (Err(error), Some(FAILURE_FRESHNESS)),
            Err(_) => (Err(FetchError::TimedOut), Some(FAILURE_FRESHNESS)),
        };
        tracing::info!(
            outcome = match &result {
                Ok(_) => "fetched",
                Err(_) => "refused",
            },
            reason = result.as_ref().err().map(|error| format!("{error:?}")),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "client metadata document"
        );
        if let Some(freshness) = freshness {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= CACHE_CAPACITY {
                let now = Instant::now();
                cache.retain(|_, cached| cached.until > now);
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
            }
            cache.insert(
                key,
                Cached {
                    result: result.clone(),
                    until: Instant::now() + freshness,
                },
            );
        }
        result
    }

    fn cached(&self, key: &str) -> Option<Result<Vec<u8>, FetchError>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|cached| cached.until > Instant::now())
            .map(|cached| cached.result.clone())
    }

    /// The body and how long it may be cached (`None`: not at all).
    async fn fetch_now(&self, url: &Url) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.check_url(&current)?;
            let response = self
                .client
                .get(current.clone())
                .header("accept", "application/json")
                .send()
                .await
                .map_err(classify)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or(FetchError::Status(status.as_u16()))?;
                current = current
                    .join(location)
                    .map_err(|_| FetchError::NotAllowed("a redirect target is not a URL"))?;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                return Err(FetchError::Status(status.as_u16()));
            }
            let declared = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<u64>().ok());
            if declared.is_some_and(|length| length > SIZE_LIMIT as u64) {
                return Err(FetchError::TooLarge);
            }
            let freshness = freshness(
                response
                    .headers()
                    .get(CACHE_CONTROL)
                    .and_then(|value| value.to_str().ok()),
            );
            let mut response = response;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > SIZE_LIMIT {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            return Ok((body, freshness));
        }
        Err(FetchError::TooManyRedirects)
    }

    fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if url.scheme() != "https" {
            return Err(FetchError::NotAllowed("it must use https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::NotAllowed(
                "it must not contain user information",
            ));
        }
        match url.host() {
            None => Err(FetchError::NotAllowed("it has no host")),
            Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(FetchError::PrivateAddress),
            Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(FetchError::PrivateAddress),
            Some(Host::Domain(domain))
                if domain.eq_ignore_ascii_case("localhost")
                    || domain.to_ascii_lowercase().ends_with(".localhost") =>
            {
                // Names that resolve to loopback by definition (RFC 6761), unless a test host.
                if self
                    .overrides
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case(domain))
                {
                    Ok(())
                } else {
                    Err(FetchError::PrivateAddress)
                }
            }
            Some(_) => Ok(()),
        }
    }
}

/// How long an answer may be cached, from its `Cache-Control`.
fn freshness(cache_control: Option<&str>) -> Option<Duration> {
    let Some(value) = cache_control else {
        return Some(DEFAULT_FRESHNESS);
    };
    let mut max_age = None;
    for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" || directive == "private" {
            return None;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse::<u64>().ok();
        }
    }
    match max_age {
        Some(0) => None,
        Some(seconds) => Some(Duration::from_secs(seconds).min(MAX_FRESHNESS)),
        None => Some(DEFAULT_FRESHNESS),
    }
}

/// The error a refused resolution carries, so the fetch can say why.
#[derive(Debug)]
struct NotPublic;

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves to an address that is not public")
    }
}

impl std::error::Error for NotPublic {}

fn classify(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if current.is::<NotPublic>() {
            return FetchError::PrivateAddress;
        }
        source = current.source();
    }
    if error.is_timeout() {
        FetchError::TimedOut
    } else {
        FetchError::Unreachable
    }
}

/// A resolver that answers only with public addresses (and the test names, when configured).
struct PublicOnly {
    overrides: Arc<Vec<(String, IpAddr)>>,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let overrides = Arc::clone(&self.overrides);
        Box::pin(async move {
            if let Some((_, ip)) = overrides.iter().find(|(name, _)| *name == host) {
                let addrs: Addrs = Box::new(std::iter::once(SocketAddr::new(*ip, 0)));
                return Ok(addrs);
            }
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if resolved.is_empty() || resolved.iter().any(|addr| !is_public(addr.ip())) {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(resolved.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `ip` is a globally reachable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = ip.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = Ipv4Addr::new(
                    (segments[6] >> 8) as u8,
                    segments[6] as u8,
                    (segments[7] >> 8) as u8,
                    segments[7] as u8,
                );
                return is_public_v4(v4);
            }
            !(ip.is_unspecified()
                || ip.is_loopback()
                || ip.is_multicast()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                || (segments[0] & 0xffc0) == 0xfec0 // site-local
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || (segments[0] == 0x2001 && segments[1] < 0x0200) // IETF protocol assignments
                || segments[0] == 0x0100 && segments[1..4] == [0, 0, 0] // discard-only
                || is_ipv4_compatible(&ip))
        }
    }
}

fn is_ipv4_compatible(ip: &Ipv6Addr) -> bool {
    ip.segments()[..6] == [0, 0, 0, 0, 0, 0]
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "::127.0.0.1",
            "fec0::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["20.190.128.1", "8.8.8.8", "2603:1030::1", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn cache_control_decides_freshness() {
        assert_eq!(freshness(None), Some(DEFAULT_FRESHNESS));
        assert_eq!(
            freshness(Some("max-age=300")),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            freshness(Some("public, max-age=999999")),
            Some(MAX_FRESHNESS)
        );
        assert_eq!(freshness(Some("no-store")), None);
        assert_eq!(freshness(Some("max-age=60, no-cache")), None);
        assert_eq!(freshness(Some("max-age=0")), None);
    }

    #[tokio::test]
    async fn names_resolving_to_special_addresses_are_refused_at_connection_time() {
        let resolver = PublicOnly {
            overrides: Arc::new(Vec::new()),
        };
        let refused = resolver
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost resolves to loopback");
        assert!(refused.is::<NotPublic>(), "{refused}");
        // Through a client, the refusal is recognised in the error chain.
        let client = reqwest::Client::builder()
            .dns_resolver(PublicOnly {
                overrides: Arc::new(Vec::new()),
            })
            .build()
            .unwrap();
        let error = client.get("http://localhost:9/").send().await.unwrap_err();
        assert_eq!(classify(error), FetchError::PrivateAddress);
        // A test name maps only where the test network says.
        let resolver = PublicOnly {
            overrides: Arc::new(vec![(
                "cimd.devstack.test".into(),
                "127.0.0.1".parse().unwrap(),
            )]),
        };
        let mapped: Vec<SocketAddr> = resolver
            .resolve("cimd.devstack.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(mapped, vec!["127.0.0.1:0".parse().unwrap()]);
    }

    #[tokio::test]
    async fn urls_that_cannot_be_fetched_are_refused_before_any_connection() {
        let fetcher = SafeFetcher::new(None);
        for (url, error) in [
            (
                "http://client.example/doc.json",
                FetchError::NotAllowed("it must use https"),
            ),
            ("https://127.0.0.1/doc.json", FetchError::PrivateAddress),
            ("https://10.0.0.1/doc.json", FetchError::PrivateAddress),
            (
                "https://169.254.169.254/metadata",
                FetchError::PrivateAddress,
            ),
            ("https://[::1]/doc.json", FetchError::PrivateAddress),
            (
                "https://[::ffff:192.168.0.1]/doc.json",
                FetchError::PrivateAddress,
            ),
            ("https://localhost/doc.json", FetchError::PrivateAddress),
            ("https://app.localhost/doc.json", FetchError::PrivateAddress),
            (
                "https://user:pw@client.example/doc.json",
                FetchError::NotAllowed("it must not contain user information"),
            ),
        ] {
            assert_eq!(
                fetcher.fetch(&Url::parse(url).unwrap()).await,
                Err(error),
                "{url}"
            );
        }
    }
}
