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

use std::{collections::HashMap, future::IntoFuture, io, net::SocketAddr, time::Duration};

use axum::{Router, routing::get};
use tokio::net::TcpListener;
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
