//! Faults a test can make Graph produce, to exercise a client's resilience: an error status
//! (throttling, an outage) with or without `Retry-After`, a slow answer, a connection that
//! dies without any answer, one that dies halfway through the body of a good answer, or an
//! answer far larger than any client should read.
//!
//! Faults are queued per path prefix and consumed in order by the requests they match; once a
//! queue is empty, service is normal again. A status or a reset applies before
//! authentication, as a gateway's would: a throttled request is refused whatever its token.
//!
//! Separately from the queues, a *latency* per path prefix slows every matching request until
//! it is cleared ([`Latencies`]): a test uses it to hold requests in flight, for instance to
//! see how many a client runs at once against one mailbox.

use std::{
    collections::VecDeque,
    io,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use axum::{
    body::{Body, to_bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{StreamExt, stream};

use super::error::GraphError;
use crate::connection::Connection;

/// One misbehaviour of Graph for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphFault {
    /// Answer with this status and Graph's error body; `retry_after` is sent verbatim as
    /// `Retry-After` (seconds, or an HTTP date).
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// Answer normally, but only after this long.
    Delay(Duration),
    /// Drop the connection without answering.
    Reset,
    /// Answer 200 with a JSON-looking body of `bytes` bytes, produced while it is sent (the
    /// stand-in holds none of it); with `declared`, `Content-Length` announces the size,
    /// otherwise the body is chunked.
    Oversized { bytes: u64, declared: bool },
    /// Answer normally (status, headers with the full `Content-Length`), send the first half
    /// of the body, then drop the connection: the client reads a truncated body and a reset.
    ResetMidBody,
}

#[derive(Debug, Default)]
pub struct Faults {
    /// Queues by path prefix, in the order they were first injected.
    queues: Mutex<Vec<(String, VecDeque<GraphFault>)>>,
}

impl Faults {
    pub fn inject(&self, path_prefix: &str, faults: Vec<GraphFault>) {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        match queues.iter_mut().find(|(prefix, _)| prefix == path_prefix) {
            Some((_, queue)) => queue.extend(faults),
            None => queues.push((path_prefix.to_owned(), faults.into())),
        }
    }

    /// The next fault for a request to `path`, if any queue matches.
    pub fn take(&self, path: &str) -> Option<GraphFault> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = queues
            .iter_mut()
            .find(|(prefix, queue)| path.starts_with(prefix.as_str()) && !queue.is_empty())
            .and_then(|(_, queue)| queue.pop_front());
        queues.retain(|(_, queue)| !queue.is_empty());
        fault
    }
}

/// Latencies by path prefix; the longest matching prefix applies.
#[derive(Debug, Default)]
pub struct Latencies(Mutex<Vec<(String, Duration)>>);

impl Latencies {
    /// Slows requests under `path_prefix` by `latency` from now on; zero clears it.
    pub fn set(&self, path_prefix: &str, latency: Duration) {
        let mut latencies = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        latencies.retain(|(prefix, _)| prefix != path_prefix);
        if !latency.is_zero() {
            latencies.push((path_prefix.to_owned(), latency));
        }
    }

    pub fn of(&self, path: &str) -> Option<Duration> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, latency)| *latency)
    }
}

/// `response` with its body cut in half, the connection reset after the first half is out.
pub async fn cut_mid_body(response: Response, connection: Connection) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        connection.reset();
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let first = bytes.slice(..bytes.len() / 2);
    let head = stream::once(async move { Ok::<_, io::Error>(first) });
    let cut = stream::once(async move {
        // Time for hyper to write the first half before the connection dies under it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        connection.reset();
        Err(io::Error::from(io::ErrorKind::ConnectionReset))
    });
    Response::from_parts(parts, Body::from_stream(head.chain(cut)))
}

/// Graph's answer for an injected status.
pub fn status_response(status: u16, retry_after: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).expect("a fault's status is an HTTP status");
    let (code, message) = match status.as_u16() {
        429 => ("TooManyRequests", "Please retry again later."),
        500 => ("InternalServerError", "An internal server error occurred."),
        502 => (
            "BadGateway",
            "The server received an invalid response from upstream.",
        ),
        503 => (
            "ServiceNotAvailable",
            "The service is temporarily unavailable. You may repeat the request after a delay, \
             which may be specified in a Retry-After header.",
        ),
        504 => (
            "GatewayTimeout",
            "The server, while acting as a proxy, did not receive a timely response from the \
             upstream server.",
        ),
        _ => ("UnknownError", "An injected fault."),
    };
    let mut response = GraphError::new(status, code, message).into_response();
    if let Some(retry_after) = retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(retry_after).expect("Retry-After is a valid header value"),
        );
    }
    response
}

/// A 200 whose body is `bytes` long: `{"value":"xxx…`, never finished.
pub fn oversized_response(bytes: u64, declared: bool) -> Response {
    const CHUNK: u64 = 64 * 1024;
    let prefix = b"{\"value\":\"";
    let chunks = (0..bytes.div_ceil(CHUNK)).map(move |index| {
        let len = (bytes - index * CHUNK).min(CHUNK) as usize;
        let mut chunk = vec![b'x'; len];
        if index == 0 {
            let start = prefix.len().min(len);
            chunk[..start].copy_from_slice(&prefix[..start]);
        }
        Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk))
    });
    let mut response = Response::new(axum::body::Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if declared {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_by_matching_requests() {
        let faults = Faults::default();
        faults.inject(
            "/v1.0/me/messages",
            vec![
                GraphFault::Reset,
                GraphFault::Delay(Duration::from_millis(5)),
            ],
        );
        faults.inject(
            "/v1.0/me",
            vec![GraphFault::Status {
                status: 503,
                retry_after: None,
            }],
        );
        faults.inject("/v1.0/me/messages", vec![GraphFault::Reset]);

        assert_eq!(faults.take("/v1.0/users"), None);
        assert_eq!(faults.take("/v1.0/me/messages/1"), Some(GraphFault::Reset));
        assert_eq!(
            faults.take("/v1.0/me"),
            Some(GraphFault::Status {
                status: 503,
                retry_after: None
            })
        );
        assert_eq!(
            faults.take("/v1.0/me/messages"),
            Some(GraphFault::Delay(Duration::from_millis(5)))
        );
        assert_eq!(faults.take("/v1.0/me/messages"), Some(GraphFault::Reset));
        assert_eq!(
            faults.take("/v1.0/me/messages"),
            None,
            "normal service resumes"
        );
        assert_eq!(faults.take("/v1.0/me"), None);
    }

    #[test]
    fn the_longest_latency_prefix_applies_until_cleared() {
        let latencies = Latencies::default();
        latencies.set("/v1.0/me", Duration::from_millis(10));
        latencies.set("/v1.0/me/messages", Duration::from_millis(20));
        assert_eq!(
            latencies.of("/v1.0/me/messages/x"),
            Some(Duration::from_millis(20))
        );
        assert_eq!(latencies.of("/v1.0/me"), Some(Duration::from_millis(10)));
        assert_eq!(latencies.of("/v1.0/users"), None);
        latencies.set("/v1.0/me/messages", Duration::ZERO);
        assert_eq!(
            latencies.of("/v1.0/me/messages"),
            Some(Duration::from_millis(10))
        );
    }

    #[test]
    fn status_faults_carry_retry_after_verbatim() {
        let response = status_response(429, Some("Wed, 21 Oct 2037 07:28:00 GMT"));
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.headers()[header::RETRY_AFTER],
            "Wed, 21 Oct 2037 07:28:00 GMT"
        );
        assert!(
            status_response(503, None)
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
    }
}
