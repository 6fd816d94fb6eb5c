//! The tests' own https: a test CA (made fresh per run with rcgen), certificates it signs, and
//! an https server on loopback that serves Client ID Metadata Documents the way a test says
//! (a document, a redirect, a huge or slow answer).
//!
//! The handler trusts the CA only because the test tells it so through the devstack-only
//! setting `MCP_DEVSTACK_TEST_CA`, and reaches the document host only through the names
//! `MCP_DEVSTACK_RESOLVE` maps to loopback; every other name still has to resolve to public
//! addresses.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

/// The name the document host answers to; `.test` is reserved (RFC 6761) and never resolves.
pub const CIMD_HOST: &str = "cimd.devstack.test";

/// A CA for this test run, its certificate in a file the handler is pointed at.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    pub ca_pem: String,
    pub dir: PathBuf,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "m365-mcp-handler test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&key).unwrap().pem();
        let dir = std::env::temp_dir().join(format!(
            "m365-broker-tls-{}-{}",
            std::process::id(),
            uuid_like()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), &ca_pem).unwrap();
        TestCa {
            params,
            key,
            ca_pem,
            dir,
        }
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A certificate for `names` (DNS names or IP addresses): PEM certificate and key.
    pub fn leaf(&self, names: &[&str]) -> (String, String) {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a leaf for `names` to files; their paths.
    pub fn leaf_files(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let (cert, key) = self.leaf(names);
        let cert_path = self.dir.join(format!("{stem}.pem"));
        let key_path = self.dir.join(format!("{stem}.key"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        (cert_path, key_path)
    }

    pub fn acceptor(&self, names: &[&str]) -> TlsAcceptor {
        let (cert, key) = self.leaf(names);
        let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }

    /// A reqwest client that trusts this CA (for the tests' own calls to Azurite).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap()])
            .build()
            .unwrap()
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the document host answers for a path.
#[derive(Clone)]
pub enum Answer {
    Json(Value),
    /// 302 to this location.
    Redirect(String),
    /// A body of this many bytes (no Content-Length: chunked, so only the reader can stop it).
    Huge(usize),
    /// Waits this long before answering.
    Slow(Duration),
}

#[derive(Clone, Default)]
struct Host {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
}

/// An https server on loopback for metadata documents, on its own thread and runtime.
pub struct DocumentHost {
    pub port: u16,
    host: Host,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DocumentHost {
    pub fn start(ca: &TestCa) -> DocumentHost {
        let acceptor = ca.acceptor(&[CIMD_HOST]);
        let host = Host::default();
        let state = host.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let app = Router::new().fallback(answer).with_state(state);
                serve_tls(listener, acceptor, app, stopped).await;
            });
        });
        DocumentHost {
            port: port_rx.recv().unwrap(),
            host,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The URL of `path` on this host, by its test name.
    pub fn url(&self, path: &str) -> String {
        format!("https://{CIMD_HOST}:{}{path}", self.port)
    }

    pub fn set(&self, path: &str, answer: Answer) {
        self.host
            .answers
            .lock()
            .unwrap()
            .insert(path.to_owned(), answer);
    }

    /// How many requests reached `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.host
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for DocumentHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn answer(State(host): State<Host>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    host.total.fetch_add(1, Ordering::SeqCst);
    *host.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let answer = host.answers.lock().unwrap().get(&path).cloned();
    match answer {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Answer::Json(document)) => (
            [(header::CONTENT_TYPE, "application/json")],
            document.to_string(),
        )
            .into_response(),
        Some(Answer::Redirect(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Some(Answer::Huge(size)) => {
            let chunk = vec![b' '; 8192];
            let chunks = size.div_ceil(chunk.len());
            let stream = futures::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Some(Answer::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{}".to_owned(),
            )
                .into_response()
        }
    }
}

/// axum over TLS: each accepted connection is handshaken, then served.
async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TlsListener { listener, acceptor };
    tokio::select! {
        _ = axum::serve(listener, app).into_future() => {}
        _ = stopped => {}
    }
}

struct TlsListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.listener.accept().await else {
                continue;
            };
            if let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await
            {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

use std::future::IntoFuture;
