//! A record of every request the stand-ins receive, so tests can assert on exactly what left
//! the handler: which service was called, with which headers and which body. The rule it
//! exists for: the caller's token may reach the token endpoint (as the on-behalf-of
//! assertion) and nothing else.
//!
//! Each stand-in's routes are wrapped with [`recorded`] under the stand-in's name; requests no
//! stand-in serves are recorded by [`with_unrouted_fallback`]. Records hold tokens verbatim and stay in
//! memory: nothing here writes them anywhere.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};

/// Bodies larger than this are refused rather than recorded; no stand-in needs more.
const MAX_RECORDED_BODY: usize = 1024 * 1024;

/// One request as a stand-in received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The stand-in that received it (`issuer`, `token`, `managed_identity`, `key_vault`,
    /// `graph`, `mint`) or `unrouted`.
    pub service: &'static str,
    pub method: String,
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: Option<String>,
    /// Every header in arrival order; names are lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
}

impl Recorded {
    /// The first value of a header (the name is case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether `needle` appears anywhere the request could carry it: path, query, any header
    /// value, or body.
    pub fn contains(&self, needle: &str) -> bool {
        self.path.contains(needle)
            || self.query.as_deref().is_some_and(|q| q.contains(needle))
            || self.headers.iter().any(|(_, value)| value.contains(needle))
            || self.body.contains(needle)
    }
}

/// The shared list of recorded requests.
#[derive(Debug, Default)]
pub struct Recorder {
    requests: Mutex<Vec<Recorded>>,
}

impl Recorder {
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn push(&self, request: Recorded) {
        self.lock().push(request);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Recorded>> {
        // A test that panicked while holding the lock leaves the list intact: keep using it.
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `routes` with every request they serve recorded under `service`.
pub fn recorded(recorder: Arc<Recorder>, service: &'static str, routes: Router) -> Router {
    routes.layer(middleware::from_fn_with_state(
        (recorder, service),
        record_then_run,
    ))
}

/// `router` with a fallback for paths no stand-in serves: recorded as `unrouted`, answered
/// 404. Clients probe well-known URLs that Entra does not serve; the record shows which ones
/// they tried.
pub fn with_unrouted_fallback(router: Router, recorder: Arc<Recorder>) -> Router {
    router.fallback(move |request: Request| {
        let recorder = recorder.clone();
        async move {
            match capture(&recorder, "unrouted", request).await {
                Ok(_) => StatusCode::NOT_FOUND.into_response(),
                Err(refusal) => refusal,
            }
        }
    })
}

async fn record_then_run(
    State((recorder, service)): State<(Arc<Recorder>, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    match capture(&recorder, service, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

/// Records the request and hands it back with its body restored.
async fn capture(
    recorder: &Recorder,
    service: &'static str,
    request: Request,
) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_RECORDED_BODY).await else {
        return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    };
    recorder.push(Recorded {
        service,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    fn app(recorder: &Arc<Recorder>) -> Router {
        let echo = Router::new().route("/echo", post(|body: String| async move { body }));
        with_unrouted_fallback(recorded(recorder.clone(), "echo", echo), recorder.clone())
    }

    #[tokio::test]
    async fn a_request_is_recorded_and_still_served() {
        let recorder = Arc::new(Recorder::default());
        let response = app(&recorder)
            .oneshot(
                Request::post("/echo?x=1")
                    .header("Authorization", "Bearer abc")
                    .body(Body::from("hello"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let served = to_bytes(response.into_body(), 100).await.unwrap();
        assert_eq!(&served[..], b"hello", "the handler still gets the body");

        let requests = recorder.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.service, "echo");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/echo");
        assert_eq!(request.query.as_deref(), Some("x=1"));
        assert_eq!(request.header("authorization"), Some("Bearer abc"));
        assert_eq!(request.body, "hello");
        assert!(request.contains("abc"));
        assert!(!request.contains("xyz"));
    }

    #[tokio::test]
    async fn unrouted_requests_are_recorded_once_and_answered_404() {
        let recorder = Arc::new(Recorder::default());
        let response = app(&recorder)
            .oneshot(Request::get("/nowhere").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let requests = recorder.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].service, "unrouted");
        assert_eq!(requests[0].path, "/nowhere");

        recorder.clear();
        assert!(recorder.requests().is_empty());
    }
}
