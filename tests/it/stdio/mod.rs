//! `handler stdio`: the same tools over MCP's stdio transport, for one user signed in as a
//! public client of their own app registration. Each test starts the real binary with pipes,
//! as MCP clients do, against a devstack whose Entra ID answers the device code flow as a
//! test scripts it (or against the stand-ins the binary starts itself, with no tenant
//! configured), and reads its stdout (MCP only) and stderr (the prompt and the log) apart.

mod clients;
mod configs;
mod sign_in;
mod token_store;
mod toolsets;
mod wire;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use devstack::Devstack;
use serde_json::{Value, json};

use crate::harness::*;

/// Long enough for any sign-in and tool call of these tests on a loaded machine; only a bound
/// on waiting, never a measurement.
const PATIENCE: Duration = Duration::from_secs(90);

/// A directory of the test's own, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("m365-stdio-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tenant of the test's own (a devstack in this process) and the directory `handler stdio`
/// keeps its sign-in in.
pub struct LocalTenant {
    pub devstack: Devstack,
    home: TempDir,
}

impl LocalTenant {
    pub fn new() -> Self {
        let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).expect("devstack starts");
        LocalTenant {
            devstack,
            home: TempDir::new("tenant"),
        }
    }

    /// `MCP_TOKEN_STORE_DIR`: a directory that does not exist yet, as on a first run.
    pub fn store_dir(&self) -> PathBuf {
        self.home.0.join("config").join("m365-mcp-handler")
    }

    pub fn sign_in_file(&self) -> PathBuf {
        self.store_dir().join("sign-in.json")
    }

    /// The stored sign-in, parsed.
    pub fn stored(&self) -> Value {
        let text = std::fs::read_to_string(self.sign_in_file()).expect("a stored sign-in");
        serde_json::from_str(&text).unwrap()
    }

    /// The settings of a developer with this tenant and their own public client.
    pub fn env(&self) -> Vec<(String, String)> {
        let settings = self.devstack.handler_settings();
        vec![
            (MCP_TENANT_ID.name.into(), settings.tenant_id),
            (MCP_AUTHORITY_HOST.name.into(), settings.authority_host),
            (GRAPH_BASE_URL.name.into(), settings.graph_base_url),
            (MCP_PUBLIC_CLIENT_ID.name.into(), settings.public_client_id),
            (
                MCP_TOKEN_STORE_DIR.name.into(),
                self.store_dir().display().to_string(),
            ),
        ]
    }

    /// `handler stdio` with `args` and this tenant's settings plus `extra`.
    pub fn start(&self, args: &[&str], extra: &[(&str, &str)]) -> StdioHandler {
        let mut env = self.env();
        for (name, value) in extra {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.to_string()));
        }
        StdioHandler::start(args, &env)
    }

    /// How many device sign-ins were started at this tenant.
    pub fn device_sign_ins(&self) -> usize {
        self.devstack
            .requests()
            .iter()
            .filter(|request| request.path.ends_with("/oauth2/v2.0/devicecode"))
            .count()
    }
}

/// `handler stdio` with its stdin, stdout and stderr piped; killed when dropped.
pub struct StdioHandler {
    child: Child,
    stdin: Option<ChildStdin>,
    pub output: Output,
    /// The threads reading stdout and stderr: done once the process and anything it started
    /// have closed them.
    readers: Vec<thread::JoinHandle<()>>,
    next_id: u64,
}

impl StdioHandler {
    /// Starts `handler stdio <args>` with exactly `env` (nothing inherited).
    pub fn start(args: &[&str], env: &[(String, String)]) -> Self {
        let mut command = Command::new(HANDLER);
        command
            .arg("stdio")
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("handler binary starts");
        let output = Output::default();
        let readers = vec![
            capture(child.stdout.take().unwrap(), output.stdout.clone()),
            capture(child.stderr.take().unwrap(), output.stderr.clone()),
        ];
        let stdin = child.stdin.take();
        StdioHandler {
            child,
            stdin,
            output,
            readers,
            next_id: 1,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one JSON-RPC message, newline-delimited as the stdio transport frames them.
    pub fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and waits for its response.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let answer = self.output.stdout().iter().find_map(|line| {
                serde_json::from_str::<Value>(line)
                    .ok()
                    .filter(|message| message["id"] == id)
            });
            if let Some(answer) = answer {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "no answer to {method}:\n{}",
                self.output.all()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `initialize` and `notifications/initialized`; the initialize result.
    pub fn initialize(&mut self) -> Value {
        let answer = self.request(
            "initialize",
            json!({
                "protocolVersion": LATEST,
                "capabilities": {},
                "clientInfo": { "name": "tests", "version": "0" }
            }),
        );
        self.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        answer["result"].clone()
    }

    /// Calls `tool`; the result (`isError` true for tool errors).
    pub fn call_tool(&mut self, tool: &str, arguments: Value) -> Value {
        let answer = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        );
        assert!(answer.get("error").is_none(), "{answer}");
        answer["result"].clone()
    }

    /// Waits (bounded) for a stderr line containing `needle`, and returns it.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(line) = self
                .output
                .stderr()
                .into_iter()
                .find(|line| line.contains(needle))
            {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no `{needle}` on stderr:\n{}",
                self.output.all()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the start-up check is done: signed in, and the refresh that follows (which
    /// rotates the refresh token) stored. Its log event says so.
    pub fn wait_for_startup_sign_in(&self) {
        self.wait_for_stderr(r#""message":"signed in""#);
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Closes stdin, as a client does when it is done, and waits for the process to end.
    pub fn close(mut self) -> (ExitStatus, Output) {
        drop(self.stdin.take());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Every line it wrote is collected once the readers reach end of stream.
                for reader in self.readers.drain(..) {
                    reader.join().unwrap();
                }
                return (status, self.output.clone());
            }
            assert!(
                Instant::now() < deadline,
                "handler stdio still running after stdin closed:\n{}",
                self.output.all()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for StdioHandler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a tool result's first content block.
pub fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The device code prompt's URL and code, from its stderr line.
pub fn prompt_of(line: &str) -> (String, String) {
    let after_open = line.split(" open ").nth(1).expect("the prompt names a URL");
    let url = after_open.split_whitespace().next().unwrap().to_owned();
    let code = line
        .rsplit("enter the code ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    (url, code)
}

/// The mode bits of `path`.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
