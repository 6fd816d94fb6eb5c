//! What the integration tests share: spawn the real `handler` binary the way the Azure Functions host does
//! (a port in `FUNCTIONS_CUSTOMHANDLER_PORT`, `GET /` polled until it answers), then talk HTTP.

pub mod proxy;

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use devstack::{Devstack, DevstackOptions, tenant};
pub use m365_mcp::{config::settings::*, local_mode::MCP_DEVSTACK_ADDR};
use serde_json::{Value, json};

pub const HANDLER: &str = env!("CARGO_BIN_EXE_handler");

/// The binary the tests spawn as the handler: this build's, or another via `IT_HANDLER`
/// (`scripts/soak` runs the long soak against a release build, as `BENCH_HANDLER` does for the
/// benchmark).
fn handler_binary() -> PathBuf {
    std::env::var_os("IT_HANDLER").map_or_else(|| PathBuf::from(HANDLER), PathBuf::from)
}

/// The tools a signed-in user sees with the default toolsets, in the order they are listed.
pub const USER_TOOLS: &[&str] = &[
    "server_info",
    "get_my_profile",
    "list_events",
    "get_event",
    "find_meeting_times",
    "search_mail",
    "read_mail",
    "find_people",
    "get_user",
    "search_files",
    "list_files",
    "read_file",
    "list_tasks",
    "search_m365",
];

/// [`USER_TOOLS`] and `server_status`: what an operator sees.
pub fn operator_tools() -> Vec<&'static str> {
    USER_TOOLS
        .iter()
        .copied()
        .chain(["server_status"])
        .collect()
}
pub const LATEST: &str = "2025-11-25";

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A free loopback port (the OS picks it; the race with other tests is harmless in practice).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lines the process wrote, in order, per stream.
#[derive(Clone, Default)]
pub struct Output {
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Output {
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
    pub fn all(&self) -> String {
        let mut text = self.stdout().join("\n");
        text.push('\n');
        text.push_str(&self.stderr().join("\n"));
        text
    }
    /// Waits (bounded) until an event matching `predicate` was written, and returns it.
    pub fn wait_for_event(&self, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(event) = self.events().into_iter().find(|event| predicate(event)) {
                return event;
            }
            assert!(
                Instant::now() < deadline,
                "no matching event in:\n{}",
                self.all()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The JSON events on stdout.
    pub fn events(&self) -> Vec<Value> {
        self.stdout()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Collects `stream`'s lines into `into` on a thread of its own, which ends at end of stream.
pub fn capture(
    stream: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => into.lock().unwrap().push(line),
                Err(_) => break,
            }
        }
    })
}

/// The settings that point a handler at `devstack`.
pub fn handler_env(devstack: &Devstack) -> Vec<(String, String)> {
    m365_mcp::local_mode::handler_env(devstack.handler_settings())
}

/// A devstack and a handler pointed at it, as in production but with local stand-ins. The
/// identifier URI is the MCP URL itself, as on a custom domain (what SDK clients need).
pub struct TestServer {
    pub handler: Handler,
    pub devstack: Devstack,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// Starts with `extra` settings on top of the ones that point at the devstack. Unless
    /// `extra` says otherwise, no gateway proof is required: the tests stand in for APIM's
    /// network isolation (tests of the proof set `MCP_GATEWAY_PROOF_HEADER`).
    pub fn start_with(extra: &[(&str, &str)]) -> TestServer {
        let port = free_port();
        let public_url = format!("http://127.0.0.1:{port}/mcp");
        let devstack = Devstack::start_with(DevstackOptions {
            identifier_uri: Some(public_url.clone()),
            ..DevstackOptions::default()
        })
        .expect("devstack starts");
        let mut env = handler_env(&devstack);
        env.push((MCP_PUBLIC_URL.name.into(), public_url));
        env.push((MCP_GATEWAY_PROOF_REQUIRED.name.into(), "false".into()));
        for (name, value) in extra {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.to_string()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut handler = Handler::start(&env, Some(port));
        handler.wait_ready();
        TestServer { handler, devstack }
    }

    /// A valid delegated token: Adele, with the required scope.
    pub fn token(&self) -> String {
        self.devstack
            .user_token(tenant::DEFAULT_USER, &[tenant::USER_IMPERSONATION])
    }

    /// An HTTP client that sends [`TestServer::token`] with every request.
    pub fn client(&self) -> ::reqwest::Client {
        client_with_token(&self.token())
    }

    pub fn mcp_url(&self) -> String {
        self.handler.mcp_url()
    }

    /// Calls `tool` as Adele ([`TestServer::token`]); the HTTP status and the JSON body.
    pub async fn call_tool(&self, tool: &str, arguments: Value) -> (::reqwest::StatusCode, Value) {
        let response = call_tool(&self.mcp_url(), &self.token(), tool, arguments).await;
        (response.status(), response.json().await.unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        self.handler.url(path)
    }
}

pub fn client_with_token(token: &str) -> ::reqwest::Client {
    let mut headers = ::reqwest::header::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .expect("token is a header value"),
    );
    ::reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The handler process; killed when dropped.
pub struct Handler {
    child: Child,
    pub port: u16,
    pub output: Output,
}

impl Handler {
    /// Starts `handler` without waiting for anything.
    pub fn start(env: &[(&str, &str)], port: Option<u16>) -> Handler {
        let mut command = Command::new(handler_binary());
        command
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(port) = port {
            command.env(FUNCTIONS_CUSTOMHANDLER_PORT.name, port.to_string());
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("handler binary starts");
        let output = Output::default();
        capture(child.stdout.take().unwrap(), output.stdout.clone());
        capture(child.stderr.take().unwrap(), output.stderr.clone());
        Handler {
            child,
            port: port.unwrap_or_default(),
            output,
        }
    }

    /// Polls `GET /` every 25 ms, as the Functions host does.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "handler exited with {status} before it was ready:\n{}",
                    self.output.all()
                );
            }
            if probe_root(self.port).is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "handler never answered GET /:\n{}",
                self.output.all()
            );
            thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The one `request` event (the audit line) of the request that got `response`; the
    /// outbound events it caused carry the same `request_id`.
    pub fn event_of(&self, response: &::reqwest::Response) -> Value {
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        self.output.wait_for_event(|event| {
            event["message"] == "request" && event["request_id"] == request_id.as_str()
        })
    }

    pub fn mcp_url(&self) -> String {
        self.url("/mcp")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (liveness bound only; not a timing assertion).
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Give the capture threads a moment to drain the pipes.
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "handler still running after {within:?}:\n{}",
                self.output.all()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw `GET /` over a fresh connection, as the host's readiness poll does: the status code,
/// or `None` while nothing listens.
pub fn probe_root(port: u16) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// JSON-RPC request body.
pub fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

pub fn initialize(version: &str) -> Value {
    rpc(
        1,
        "initialize",
        json!({
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": { "name": "tests", "version": "0" }
        }),
    )
}

/// The JSON-RPC body of `tools/call` for `tool` with `arguments`.
pub fn tool_call(tool: &str, arguments: Value) -> Value {
    rpc(
        1,
        "tools/call",
        json!({ "name": tool, "arguments": arguments }),
    )
}

/// The JSON-RPC body of `tools/list`.
pub fn tools_list() -> Value {
    rpc(1, "tools/list", json!({}))
}

/// Calls `tool` at `mcp_url` as the holder of `token`; the HTTP response.
pub async fn call_tool(
    mcp_url: &str,
    token: &str,
    tool: &str,
    arguments: Value,
) -> ::reqwest::Response {
    mcp_post(&client_with_token(token), mcp_url)
        .json(&tool_call(tool, arguments))
        .send()
        .await
        .unwrap()
}

/// `tools/list` at `mcp_url` as the holder of `token`; the HTTP response.
pub async fn list_tools(mcp_url: &str, token: &str) -> ::reqwest::Response {
    mcp_post(&client_with_token(token), mcp_url)
        .json(&tools_list())
        .send()
        .await
        .unwrap()
}

/// A POST to `/mcp` with the headers every MCP client sends.
pub fn mcp_post(client: &::reqwest::Client, url: &str) -> ::reqwest::RequestBuilder {
    client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

/// The names of the tools `tools/list` shows the holder of `token`.
pub async fn tool_names(mcp_url: &str, token: &str) -> Vec<String> {
    let body: Value = list_tools(mcp_url, token).await.json().await.unwrap();
    body["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tool list: {body}"))
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Path to a tool the test command installs (`scripts/test`); a clear failure if it is missing.
pub fn installed_tool(relative: &str) -> PathBuf {
    let path = repo_root().join(relative);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test once, it installs the test clients",
        path.display()
    );
    path
}
