//! Faults a test can make Graph produce, to exercise a client's resilience: an error status
//! (throttling, an outage) with or without `Retry-After`, a slow answer, a connection that
//! dies without any answer, or an answer far larger than any client should read.
//!
//! Faults are queued per path prefix and consumed in order by the requests they match; once a
//! queue is empty, service is normal again. A fault applies before authentication, as a
//! gateway's would: a throttled request is refused whatever its token.

use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::error::GraphError;

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
