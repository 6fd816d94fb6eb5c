//! The Azure Functions custom-handler contract.
//!
//! The host starts `handler`, exports `FUNCTIONS_CUSTOMHANDLER_PORT`, and polls
//! `GET http://127.0.0.1:<port>/` every 25 ms until anything answers; only then does it proxy
//! traffic. So the port is bound before anything slow happens (key downloads, Key Vault reads
//! are all lazy) and `GET /` answers at once without touching any other part of the server.
//!
//! On SIGTERM (or Ctrl-C) the listener closes, requests already in flight get
//! `MCP_SHUTDOWN_GRACE_SECONDS` to finish, and the process exits 0 either way: the host is
//! recycling the instance and a non-zero exit would only add noise to its logs.
//!
//! **Connections stay usable after a refusal.** Refusals are answered before the body is read
//! (a bad token, a missing gateway proof, a declared body over the limit). HTTP/1.1 cannot find
//! the next request on a connection before the rest of this one's body, and hyper gives such a
//! connection up right after the answer, without saying so: a client that pools connections then
//! sends its next request into a closed connection and gets a broken pipe instead of an answer.
//! So [`keep_connection_usable`] reads and discards what is left of a refused request's body
//! before answering, up to a limit and for at most [`DRAIN_TIMEOUT`]; when it cannot (more than
//! the limit, or too slow), the answer says `Connection: close`, and the client opens a new
//! connection for its next request.

use std::{
    collections::HashMap,
    future::IntoFuture,
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, BodyDataStream, Bytes, HttpBody},
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
    routing::get,
};
use futures::{Stream, StreamExt};
use tokio::{net::TcpListener, sync::oneshot};
use tokio_util::sync::CancellationToken;

use crate::outbound::OutboundHttp;

/// What the process runs with: the settings it reads (the host's app settings), its outbound
/// HTTP, and a notice for whoever started it.
pub struct Environment {
    pub settings: HashMap<String, String>,
    pub http: OutboundHttp,
    /// Printed on stderr once the configuration is known to be good (local mode's banner).
    pub notice: Option<String>,
}

impl Environment {
    /// The environment as the host set it, nothing added.
    pub fn as_given(settings: HashMap<String, String>) -> Self {
        Self {
            settings,
            http: OutboundHttp::default(),
            notice: None,
        }
    }
}

/// `GET /`: the host's readiness probe.
pub fn readiness() -> Router {
    Router::new().route("/", get(|| async { "ready" }))
}

pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler installs");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        cancel.cancel();
    });
    token
}

/// Serves until `shutdown` is cancelled, then drains in-flight requests for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> io::Result<()> {
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        () = shutdown.cancelled() => {
            tracing::info!(grace_seconds = grace.as_secs(), "shutting down: draining in-flight requests");
            match tokio::time::timeout(grace, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!("shutdown grace period over: requests still in flight are dropped");
                    Ok(())
                }
            }
        }
    }
}

/// How long the rest of a refused request's body may take to arrive.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What is left of a request body nobody read to the end, and how much of it was read.
type Leftover = (BodyDataStream, usize);

/// A request body that hands back what is left of it when it is dropped unfinished.
struct Tracked {
    inner: BodyDataStream,
    read: usize,
    done: bool,
    leftover: Option<oneshot::Sender<Leftover>>,
}

impl Stream for Tracked {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(None) => self.done = true,
            Poll::Ready(Some(Ok(data))) => self.read += data.len(),
            _ => {}
        }
        polled
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.done
            && let Some(leftover) = self.leftover.take()
        {
            let rest = std::mem::replace(&mut self.inner, Body::empty().into_data_stream());
            let _ = leftover.send((rest, self.read));
        }
    }
}

/// Outer layer: after the answer is known, reads and discards what the layers inside left
/// unread of the request body (at most `limit` bytes in all, within [`DRAIN_TIMEOUT`]), so the
/// connection can carry the client's next request; if that is not possible, the answer says
/// `Connection: close`.
pub async fn keep_connection_usable(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    // A client that waits for `100 Continue` sends no body unless asked: do not ask for one
    // only to discard it.
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (parts, body) = request.into_parts();
    let (leftover, mut unfinished) = oneshot::channel();
    let body = Body::from_stream(Tracked {
        inner: body.into_data_stream(),
        read: 0,
        done: false,
        leftover: Some(leftover),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let drained = match unfinished.try_recv() {
        // Read to the end by the layers inside.
        Err(oneshot::error::TryRecvError::Closed) => return response,
        // Still held somewhere: it cannot be drained here.
        Err(oneshot::error::TryRecvError::Empty) => false,
        Ok(_) if declared.is_some_and(|length| length > limit) => false,
        Ok((_, 0)) if expects_continue => false,
        Ok((rest, read)) => drain(rest, limit.saturating_sub(read)).await,
    };
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads `rest` to its end if it holds at most `budget` bytes and arrives in time.
async fn drain(mut rest: BodyDataStream, budget: usize) -> bool {
    let to_the_end = async move {
        let mut left = budget;
        while let Some(data) = rest.next().await {
            let Ok(data) = data else {
                return false;
            };
            if data.len() > left {
                return false;
            }
            left -= data.len();
        }
        true
    };
    tokio::time::timeout(DRAIN_TIMEOUT, to_the_end)
        .await
        .unwrap_or(false)
}
