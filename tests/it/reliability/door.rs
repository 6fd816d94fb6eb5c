//! A door in front of an upstream: a loopback TCP forwarder that can be shut, so that
//! connecting to it is *refused* (nothing listens on the port, the kernel answers the SYN with
//! a reset), and opened again on the same port. Shutting it also drops every connection through
//! it, so a pooled connection cannot carry on as if nothing happened. While shut, the door keeps
//! its port bound without listening, so no other socket takes it meanwhile.
//!
//! The devstack serves every stand-in on one port; each upstream the handler reaches at an
//! address of its own (the authority host, Graph, the managed identity endpoint, Key Vault)
//! goes through a door of its own, so each can refuse connections alone.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use tokio::{
    net::{TcpSocket, TcpStream},
    runtime::Runtime,
    task::AbortHandle,
};

pub struct Door {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    runtime: Option<Runtime>,
    /// Holds the port while the door is shut: bound, not listening (connections are refused).
    placeholder: Mutex<Option<TcpSocket>>,
    /// The accept loop and every connection through the door, while it is open.
    open: Mutex<Vec<AbortHandle>>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Door {
    /// Binds a free loopback port (so its address is known before the upstream starts); the
    /// door opens with [`Door::open_to`].
    pub fn bind() -> Door {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let placeholder = {
            let _context = runtime.enter();
            bound(SocketAddr::from(([127, 0, 0, 1], 0)))
        };
        Door {
            addr: placeholder.local_addr().unwrap(),
            target: Arc::default(),
            runtime: Some(runtime),
            placeholder: Mutex::new(Some(placeholder)),
            open: Mutex::default(),
            connections: Arc::default(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Opens the door, forwarding to `target` from now on.
    pub fn open_to(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = Some(target);
        self.open();
    }

    /// Opens the door again on the same port.
    pub fn open(&self) {
        let mut open = self.open.lock().unwrap();
        if !open.is_empty() {
            return;
        }
        let runtime = self.runtime.as_ref().unwrap();
        let listener = {
            let _context = runtime.enter();
            drop(self.placeholder.lock().unwrap().take());
            bound(self.addr).listen(1024).unwrap()
        };
        let target = self.target.lock().unwrap().expect("the door has a target");
        let connections = self.connections.clone();
        let accept = runtime.spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                let forward = tokio::spawn(forward(inbound, target));
                let mut connections = connections.lock().unwrap();
                connections.retain(|connection| !connection.is_finished());
                connections.push(forward.abort_handle());
            }
        });
        open.push(accept.abort_handle());
    }

    /// Shuts the door: the port closes (connecting is refused) and every connection through it
    /// is dropped. Returns once a connection attempt is refused.
    pub fn shut(&self) {
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut placeholder = self.placeholder.lock().unwrap();
        loop {
            // The listener is gone once its task is: then the port can be held again.
            if placeholder.is_none() {
                let _context = self.runtime.as_ref().unwrap().enter();
                *placeholder = try_bound(self.addr);
            }
            if placeholder.is_some() && std::net::TcpStream::connect(self.addr).is_err() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the door at {} stays open",
                self.addr
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Door {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A socket bound to `addr`, not listening yet; it may take the port over from connections of
/// the door's that are still closing.
fn bound(addr: SocketAddr) -> TcpSocket {
    try_bound(addr).unwrap_or_else(|| panic!("cannot bind {addr}"))
}

fn try_bound(addr: SocketAddr) -> Option<TcpSocket> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.set_reuseaddr(true).ok()?;
    socket.bind(addr).ok()?;
    Some(socket)
}

async fn forward(mut inbound: TcpStream, target: SocketAddr) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}
