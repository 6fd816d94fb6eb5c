//! Connections a stand-in can cut, to simulate a network failure in the middle of a request.
//!
//! An HTTP handler can only answer: whatever it returns, hyper writes a response, and a client
//! that gets a response (even a 500) has not seen a network failure. To fail like a network,
//! the connection itself must die before the response head is written. So the devstack
//! accepts connections through [`ResettableListener`], whose streams carry a shared switch, and
//! hands each request a [`Connection`] (through axum's `ConnectInfo`) that can throw it. Once
//! thrown, the stream refuses every read and write, hyper drops the connection without writing
//! anything, and closing the socket with a zero linger sends a TCP reset: the client sees
//! "connection reset", exactly as when a proxy or load balancer gives up.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    extract::connect_info::Connected,
    serve::{IncomingStream, Listener},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

/// Accepts TCP connections that can be reset from a request handler.
pub struct ResettableListener(pub TcpListener);

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (
            ResettableStream {
                stream,
                reset: Arc::default(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream that fails every operation once its connection has been reset.
pub struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    /// Once reset: makes the close abortive (RST, not FIN) and fails the operation.
    fn check(&self) -> io::Result<()> {
        if self.reset.load(Ordering::SeqCst) {
            // Best effort: if the option cannot be set the close is a FIN, still no response.
            let _ = self.stream.set_zero_linger();
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// The connection a request arrived on, as `ConnectInfo<Connection>`.
#[derive(Debug, Clone)]
pub struct Connection {
    reset: Arc<AtomicBool>,
}

impl Connection {
    /// Cuts the connection: no response will be written, and the client sees a reset.
    pub fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        Self {
            reset: stream.io().reset.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;

    use axum::{Router, extract::ConnectInfo, routing::get};

    use super::*;

    async fn serve() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/ok", get(|| async { "fine" })).route(
            "/cut",
            get(
                |ConnectInfo(connection): ConnectInfo<Connection>| async move {
                    connection.reset();
                    "this is never sent"
                },
            ),
        );
        tokio::spawn(
            axum::serve(
                ResettableListener(listener),
                router.into_make_service_with_connect_info::<Connection>(),
            )
            .into_future(),
        );
        addr
    }

    #[tokio::test]
    async fn a_reset_connection_is_a_network_error_not_a_response() {
        let addr = serve().await;
        let client = reqwest::Client::new();
        let ok = client
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "fine");

        let error = client
            .get(format!("http://{addr}/cut"))
            .send()
            .await
            .expect_err("no response arrives");
        assert!(error.is_request() || error.is_connect(), "{error:?}");
        assert!(error.status().is_none());

        let after = client
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 200, "other connections are unaffected");
    }
}
