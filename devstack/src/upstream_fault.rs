//! Standing faults: one upstream misbehaves for every request it gets until the test clears
//! the fault, so a test can watch a client *while* an upstream is slow, throttling or broken,
//! and then watch it recover.
//!
//! Graph also has queued, one-shot faults per path ([`crate::GraphFault`]); these are the
//! other kind, and every stand-in has them: the issuer's discovery document and its keys (each
//! on its own), the token endpoint, the managed identity endpoint, Key Vault and Graph. A fault
//! applies before the stand-in looks at the request (as a gateway's would): a throttled request
//! is refused whatever it carries.
//!
//! A connection *refused* is not here: every stand-in shares one port, and a refusal happens
//! before any path is known. A test refuses connections with a door of its own in front of the
//! devstack ([`crate::DevstackOptions::base_url`], [`crate::DevstackOptions::graph_base_url`]).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{connection::Connection, graph};

/// An upstream of the handler, as the devstack stands in for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upstream {
    /// The issuer's OpenID discovery document (`/{tenant}/v2.0/.well-known/openid-configuration`).
    Discovery,
    /// The issuer's signing keys (`/{tenant}/discovery/v2.0/keys`).
    Jwks,
    /// The token endpoint (`/{tenant}/oauth2/v2.0/token`): the on-behalf-of grant.
    TokenEndpoint,
    /// The managed identity endpoint (`IDENTITY_ENDPOINT`).
    ManagedIdentity,
    /// Key Vault's secrets.
    KeyVault,
    /// Microsoft Graph (and OneDrive's downloads).
    Graph,
}

impl Upstream {
    pub const ALL: [Upstream; 6] = [
        Upstream::Discovery,
        Upstream::Jwks,
        Upstream::TokenEndpoint,
        Upstream::ManagedIdentity,
        Upstream::KeyVault,
        Upstream::Graph,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// How an upstream misbehaves, for every request it gets while the fault stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamFault {
    /// Never answer: each request is held until the fault is cleared (then answered normally),
    /// or until the client gives up.
    Hang,
    /// Answer normally, but only after this long (sooner if the fault is cleared meanwhile).
    Delay(Duration),
    /// Refuse every request, alternately with 429 and 503 (per path, starting with 429), in
    /// the upstream's own error shape; `retry_after` is sent verbatim as `Retry-After`.
    Storm { retry_after: Option<String> },
    /// Answer normally (status, headers, the full `Content-Length`), send the first half of the
    /// body, then reset the connection.
    ResetMidBody,
    /// Answer 200 with a JSON content type and a body that is not JSON: a proxy's error page
    /// with binary noise in it.
    Garbage,
    /// Answer 200 with a JSON-looking body of `bytes` bytes that never ends properly, produced
    /// while it is sent; with `declared`, `Content-Length` announces it, otherwise it is chunked.
    Oversized { bytes: u64, declared: bool },
}

/// The body [`UpstreamFault::Garbage`] sends.
pub const GARBAGE: &[u8] =
    b"<html><head><title>502 Bad Gateway</title></head>\x00\xff\xfe\x1b[0m{\"access_token\":";

#[derive(Debug)]
struct Slot {
    fault: Mutex<Option<UpstreamFault>>,
    /// Bumped whenever the fault changes, so held requests notice a clear.
    generation: watch::Sender<u64>,
    /// Requests held by a `Hang` or `Delay` right now.
    held: AtomicUsize,
    /// Requests the fault was applied to, since the devstack started.
    hits: AtomicUsize,
    /// Alternates a storm's statuses, per path: concurrent calls to different paths each see
    /// the same sequence.
    storm: Mutex<HashMap<String, usize>>,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            fault: Mutex::default(),
            generation: watch::channel(0).0,
            held: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
            storm: Mutex::default(),
        }
    }
}

/// The standing fault of every upstream.
#[derive(Debug, Default)]
pub struct UpstreamFaults {
    slots: [Slot; 6],
}

impl UpstreamFaults {
    /// Sets (`Some`) or clears (`None`) the fault of `upstream`; held requests are released on
    /// any change.
    pub fn set(&self, upstream: Upstream, fault: Option<UpstreamFault>) {
        let slot = self.slot(upstream);
        *slot.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
        slot.generation.send_modify(|generation| *generation += 1);
    }

    pub fn held(&self, upstream: Upstream) -> usize {
        self.slot(upstream).held.load(Ordering::SeqCst)
    }

    pub fn hits(&self, upstream: Upstream) -> usize {
        self.slot(upstream).hits.load(Ordering::SeqCst)
    }

    fn slot(&self, upstream: Upstream) -> &Slot {
        &self.slots[upstream.index()]
    }

    fn current(&self, upstream: Upstream) -> Option<UpstreamFault> {
        self.slot(upstream)
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Which upstream a path of one stand-in's router belongs to (`None`: never faulted).
pub type Classify = fn(&str) -> Option<Upstream>;

/// `routes` with the standing faults of the upstreams `classify` names applied first.
pub fn with_faults(routes: Router, faults: Arc<UpstreamFaults>, classify: Classify) -> Router {
    routes.layer(middleware::from_fn_with_state((faults, classify), apply))
}

/// The issuer's routes: discovery and keys are separate upstreams; sign-in is not faulted.
pub fn issuer_path(path: &str) -> Option<Upstream> {
    if path.ends_with("/.well-known/openid-configuration") {
        Some(Upstream::Discovery)
    } else if path.ends_with("/discovery/v2.0/keys") {
        Some(Upstream::Jwks)
    } else {
        None
    }
}

async fn apply(
    State((faults, classify)): State<(Arc<UpstreamFaults>, Classify)>,
    request: Request,
    next: Next,
) -> Response {
    let Some(upstream) = classify(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(fault) = faults.current(upstream) else {
        return next.run(request).await;
    };
    let slot = faults.slot(upstream);
    slot.hits.fetch_add(1, Ordering::SeqCst);
    match fault {
        UpstreamFault::Hang => {
            hold(slot, None).await;
            next.run(request).await
        }
        UpstreamFault::Delay(delay) => {
            hold(slot, Some(delay)).await;
            next.run(request).await
        }
        UpstreamFault::Storm { retry_after } => {
            let seen = {
                let mut storm = slot.storm.lock().unwrap_or_else(PoisonError::into_inner);
                let seen = storm.entry(request.uri().path().to_owned()).or_default();
                *seen += 1;
                *seen
            };
            let status = if seen % 2 == 1 {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let mut response = refusal(upstream, status);
            if let Some(retry_after) = retry_after {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&retry_after).expect("Retry-After is a header value"),
                );
            }
            response
        }
        UpstreamFault::ResetMidBody => {
            let ConnectInfo(connection) = request
                .extensions()
                .get::<ConnectInfo<Connection>>()
                .expect("the devstack serves through its resettable listener")
                .clone();
            let response = next.run(request).await;
            graph::cut_mid_body(response, connection).await
        }
        UpstreamFault::Garbage => {
            let mut response = Response::new(Body::from(Bytes::from_static(GARBAGE)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        UpstreamFault::Oversized { bytes, declared } => graph::oversized_response(bytes, declared),
    }
}

/// Holds the request until the fault changes, or `delay` has passed; counted while it waits,
/// also when the client gives up and the wait is dropped.
async fn hold(slot: &Slot, delay: Option<Duration>) {
    struct Held<'a>(&'a AtomicUsize);
    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let mut changes = slot.generation.subscribe();
    slot.held.fetch_add(1, Ordering::SeqCst);
    let _held = Held(&slot.held);
    let cleared = changes.changed();
    match delay {
        Some(delay) => {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cleared => {}
            }
        }
        None => {
            let _ = cleared.await;
        }
    }
}

/// The upstream's own refusal for `status`.
fn refusal(upstream: Upstream, status: StatusCode) -> Response {
    let throttled = status == StatusCode::TOO_MANY_REQUESTS;
    let body: Value = match upstream {
        Upstream::Discovery | Upstream::Jwks | Upstream::TokenEndpoint => json!({
            "error": "temporarily_unavailable",
            "error_description": if throttled {
                "AADSTS90055: The tenant is throttled: too many requests."
            } else {
                "AADSTS90033: A transient error has occurred. Please try again."
            },
            "error_codes": [if throttled { 90_055 } else { 90_033 }],
        }),
        Upstream::ManagedIdentity => json!({
            "statusCode": status.as_u16(),
            "message": if throttled { "Too many requests." } else { "The token service is unavailable." },
            "correlationId": uuid::Uuid::new_v4().to_string(),
        }),
        Upstream::KeyVault => json!({
            "error": {
                "code": if throttled { "Throttled" } else { "ServiceUnavailable" },
                "message": if throttled {
                    "Operations per second limit exceeded."
                } else {
                    "The service is temporarily unavailable. Please retry later."
                },
            }
        }),
        Upstream::Graph => {
            return graph::status_response(status.as_u16(), None);
        }
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;

    use axum::routing::get;

    use super::*;
    use crate::connection::ResettableListener;

    async fn serve(faults: Arc<UpstreamFaults>) -> String {
        let routes = Router::new()
            .route("/graph", get(|| async { Json(json!({ "value": "fine" })) }))
            .route("/other", get(|| async { "untouched" }));
        let router = with_faults(routes, faults, |path| {
            (path == "/graph").then_some(Upstream::Graph)
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            axum::serve(
                ResettableListener(listener),
                router.into_make_service_with_connect_info::<Connection>(),
            )
            .into_future(),
        );
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_standing_fault_applies_to_every_request_until_cleared() {
        let faults = Arc::new(UpstreamFaults::default());
        let base = serve(faults.clone()).await;
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{base}{path}")).send();

        faults.set(
            Upstream::Graph,
            Some(UpstreamFault::Storm {
                retry_after: Some("7".into()),
            }),
        );
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let response = get("/graph").await.unwrap();
            assert_eq!(response.headers()[header::RETRY_AFTER], "7");
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [429, 503, 429, 503]);
        assert_eq!(
            get("/other").await.unwrap().text().await.unwrap(),
            "untouched"
        );
        assert_eq!(faults.hits(Upstream::Graph), 4);

        faults.set(Upstream::Graph, Some(UpstreamFault::Garbage));
        let garbage = get("/graph").await.unwrap().bytes().await.unwrap();
        assert_eq!(&garbage[..], GARBAGE);

        faults.set(Upstream::Graph, Some(UpstreamFault::ResetMidBody));
        let cut = get("/graph").await.unwrap().bytes().await;
        assert!(cut.is_err(), "the body breaks off");

        faults.set(Upstream::Graph, None);
        assert_eq!(get("/graph").await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn a_hang_holds_requests_until_the_fault_is_cleared() {
        let faults = Arc::new(UpstreamFaults::default());
        let base = serve(faults.clone()).await;
        faults.set(Upstream::Graph, Some(UpstreamFault::Hang));
        let held = tokio::spawn(reqwest::get(format!("{base}/graph")));
        while faults.held(Upstream::Graph) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!held.is_finished());
        faults.set(Upstream::Graph, None);
        let response = held.await.unwrap().unwrap();
        assert_eq!(response.status(), 200, "answered normally once released");
        assert_eq!(faults.held(Upstream::Graph), 0);
    }
}
