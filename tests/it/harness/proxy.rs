//! A loopback reverse proxy that adds an `Authorization` header to every request and forwards
//! everything else as received, including `Host` and `Origin`. The conformance suite cannot
//! send headers (modelcontextprotocol/conformance#453); behind this proxy it tests the server
//! with authentication on, as APIM would front it.

use std::{net::SocketAddr, thread};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode},
    response::Response,
};
use tokio::sync::oneshot;

pub struct AuthProxy {
    shutdown: Option<oneshot::Sender<()>>,
}

#[derive(Clone)]
struct Forward {
    target: SocketAddr,
    authorization: HeaderValue,
    client: reqwest::Client,
}

impl AuthProxy {
    /// Binds now (so the address is known before the handler starts) and forwards to `target`.
    pub fn start(listener: std::net::TcpListener, target: SocketAddr, token: &str) -> AuthProxy {
        listener.set_nonblocking(true).unwrap();
        let forward = Forward {
            target,
            authorization: format!("Bearer {token}").parse().unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let (shutdown, stop) = oneshot::channel::<()>();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = Router::new().fallback(forward_request).with_state(forward);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop.await;
                    })
                    .await
                    .unwrap();
            });
        });
        AuthProxy {
            shutdown: Some(shutdown),
        }
    }
}

impl Drop for AuthProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn forward_request(State(forward): State<Forward>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("http://{}{path}", forward.target);
    let mut headers = parts.headers.clone();
    headers.insert("authorization", forward.authorization.clone());
    let body = to_bytes(body, usize::MAX).await.unwrap();
    let upstream = forward
        .client
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(upstream) = upstream else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        response = response.header(name, value);
    }
    response
        .body(Body::from(upstream.bytes().await.unwrap_or_default()))
        .unwrap()
}
