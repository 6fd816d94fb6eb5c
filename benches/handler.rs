//! End-to-end benchmark of the real `handler` binary (not a test: it prints figures, asserts
//! nothing about them). Run with `cargo bench --bench handler`; the figures go to
//! docs/PERFORMANCE.md.
//!
//! - cold start: spawn → first `initialize` answered, over 25 spawns;
//! - idle memory: resident set after start-up and one request;
//! - `tools/call` throughput and p50/p99 latency at 1, 16 and 64 keep-alive connections:
//!   `server_info` (the request path alone), and `get_my_profile` against the devstack's Graph
//!   stand-in with the Graph token cached and with an on-behalf-of exchange on every call.
//!
//! Authentication is on, as in production: tokens come from an in-process devstack (the local
//! stand-ins), and every request's token is fully validated. Cold start includes the first fetch
//! of the signing keys. The stand-ins share this process and one thread, so `get_my_profile`
//! figures are bounded by them as much as by the handler.
//!
//! `BENCH_HANDLER=function-app/handler cargo bench --bench handler` measures the deployed
//! (static musl) package instead of this build's binary.
//!
//! The load generator is a minimal HTTP/1.1 client on raw sockets so that, on a small machine,
//! it takes as little CPU from the server as possible.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use devstack::{Devstack, tenant};
use m365_mcp::{
    config::settings::{
        FUNCTIONS_CUSTOMHANDLER_PORT, MCP_GATEWAY_PROOF_REQUIRED, MCP_LOG, MCP_PUBLIC_URL,
    },
    local_mode::handler_env,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The binary under test: this build's, or another (the musl package) via `BENCH_HANDLER`.
fn handler() -> String {
    std::env::var("BENCH_HANDLER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_handler").to_owned())
}
const COLD_STARTS: usize = 25;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn request_bytes(port: u16, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
const CALL: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"server_info","arguments":{}}}"#;
const PROFILE: &str = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_my_profile","arguments":{}}}"#;

fn spawn(port: u16, devstack: &Devstack) -> Child {
    Command::new(handler())
        .env_clear()
        .envs(handler_env(devstack.handler_settings()))
        .env(FUNCTIONS_CUSTOMHANDLER_PORT.name, port.to_string())
        .env(MCP_PUBLIC_URL.name, format!("http://127.0.0.1:{port}/mcp"))
        .env(MCP_LOG.name, "warn")
        // Loopback only: no gateway in front, as in the tests.
        .env(MCP_GATEWAY_PROOF_REQUIRED.name, "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// One blocking request on a fresh connection; the status code when the server answered.
fn answer_status(port: u16, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(request).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Spawn → `GET /` answered (what the Functions host waits for), and spawn → the first
/// `initialize` answered (which includes fetching the tenant's signing keys).
fn cold_start(devstack: &Devstack, token: &str) -> (Vec<Duration>, Vec<Duration>) {
    let readiness = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".to_vec();
    let mut ready = Vec::new();
    let mut initialized = Vec::new();
    for _ in 0..COLD_STARTS {
        for (body, into) in [(None, &mut ready), (Some(INITIALIZE), &mut initialized)] {
            let port = free_port();
            let request = body.map_or(readiness.clone(), |body| request_bytes(port, token, body));
            let started = Instant::now();
            let mut child = spawn(port, devstack);
            into.push(first_answer(port, &request, started));
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
    (ready, initialized)
}

fn first_answer(port: u16, request: &[u8], started: Instant) -> Duration {
    loop {
        if answer_status(port, request) == Some(200) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_micros(200));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never answered"
        );
    }
}

/// Starts a handler and waits until it serves MCP.
fn started(devstack: &Devstack, token: &str) -> (Child, u16) {
    let port = free_port();
    let child = spawn(port, devstack);
    first_answer(
        port,
        &request_bytes(port, token, INITIALIZE),
        Instant::now(),
    );
    (child, port)
}

/// Loads `body` at 1, 16 and 64 connections and prints a table; returns the requests measured.
fn table(
    runtime: &tokio::runtime::Runtime,
    port: u16,
    token: &str,
    title: &str,
    body: &str,
) -> usize {
    let request = Arc::new(request_bytes(port, token, body));
    println!("\n## {title}\n");
    println!("| connections | requests/s | p50 | p99 |\n|---|---|---|---|");
    let mut measured = 0;
    for connections in [1, 16, 64] {
        let result = runtime.block_on(load(port, connections, request.clone()));
        measured += result.requests;
        let mut latencies = result.latencies;
        latencies.sort();
        println!(
            "| {connections} | {:.0} | {} | {} |",
            result.requests as f64 / result.seconds,
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99))
        );
    }
    measured
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status.
async fn read_response(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> u16 {
    buffer.clear();
    let mut chunk = [0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed");
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buffer[..end]).unwrap();
        let status: u16 = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            let read = stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "connection closed");
            buffer.extend_from_slice(&chunk[..read]);
        }
        return status;
    }
}

struct LoadResult {
    requests: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

async fn load(port: u16, connections: usize, request: Arc<Vec<u8>>) -> LoadResult {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (request, measuring, stop) = (request.clone(), measuring.clone(), stop.clone());
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = Vec::with_capacity(16 * 1024);
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    stream.write_all(&request).await.unwrap();
                    let status = read_response(&mut stream, &mut buffer).await;
                    assert_eq!(status, 200);
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(started.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(MEASURE).await;
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    LoadResult {
        requests: latencies.len(),
        seconds,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn main() {
    let binary = handler();
    println!("handler binary: {binary}");
    println!(
        "binary size: {:.1} MiB",
        std::fs::metadata(&binary).unwrap().len() as f64 / (1024.0 * 1024.0)
    );

    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let token = devstack.user_token(tenant::DEFAULT_USER, &[tenant::USER_IMPERSONATION]);
    let (mut ready, mut initialized) = cold_start(&devstack, &token);
    println!("\n## Cold start, {COLD_STARTS} spawns each\n");
    println!("| spawn → | min | median | p90 | max |\n|---|---|---|---|---|");
    for (what, starts) in [
        ("`GET /` answered (the host's readiness probe)", &mut ready),
        (
            "first `initialize` answered (includes the signing-key fetch)",
            &mut initialized,
        ),
    ] {
        starts.sort();
        println!(
            "| {what} | {} | {} | {} | {} |",
            ms(starts[0]),
            ms(percentile(starts, 0.5)),
            ms(percentile(starts, 0.9)),
            ms(starts[starts.len() - 1])
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (mut child, port) = started(&devstack, &token);
    let idle_rss = rss_kib(child.id());
    table(&runtime, port, &token, "tools/call server_info", CALL);
    table(
        &runtime,
        port,
        &token,
        "tools/call get_my_profile, Graph token cached (two Graph calls per request)",
        PROFILE,
    );
    let loaded_rss = rss_kib(child.id());
    child.kill().unwrap();
    child.wait().unwrap();

    // A fresh handler, and Graph tokens that expire at once: every call exchanges again.
    devstack.set_graph_token_lifetime(Duration::ZERO);
    let (mut child, port) = started(&devstack, &token);
    let exchanges_before = devstack.obo_exchanges();
    let measured = table(
        &runtime,
        port,
        &token,
        "tools/call get_my_profile, an on-behalf-of exchange on every request",
        PROFILE,
    );
    println!(
        "\non-behalf-of exchanges: {} for {measured} measured requests (warm-up requests exchange too)",
        devstack.obo_exchanges() - exchanges_before
    );
    child.kill().unwrap();
    child.wait().unwrap();

    println!("\n## Memory (resident set)\n");
    println!("| idle after start-up | after the load runs |\n|---|---|");
    println!(
        "| {:.1} MiB | {:.1} MiB |",
        idle_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0
    );
}
