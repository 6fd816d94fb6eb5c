//! The Azure Functions custom-handler contract, tested against the real binary: port selection,
//! readiness, start-up configuration errors, `--help`, graceful shutdown.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Command,
    time::Duration,
};

use crate::harness::*;
use devstack::Devstack;
use m365_mcp::{
    config::{SETTINGS, STDIO_SETTINGS},
    local_mode,
};

#[test]
fn listens_on_the_port_the_functions_host_assigns_and_answers_readiness() {
    let server = TestServer::start();
    let handler = &server.handler;
    assert_eq!(probe_root(handler.port), Some(200));
    let ready = handler
        .output
        .wait_for_event(|event| event["message"] == "handler ready: MCP at /mcp");
    assert_eq!(ready["listen"], format!("127.0.0.1:{}", handler.port));
}

#[test]
fn without_the_host_port_it_listens_on_mcp_listen_addr() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env = handler_env(&devstack);
    env.push((MCP_LISTEN_ADDR.name.into(), listen));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut handler = Handler::start(&env, None);
    handler.port = port;
    handler.wait_ready();
    assert_eq!(probe_root(port), Some(200));
}

#[test]
fn the_host_port_wins_over_mcp_listen_addr() {
    let other = free_port();
    let server = TestServer::start_with(&[(MCP_LISTEN_ADDR.name, &format!("127.0.0.1:{other}"))]);
    assert_eq!(probe_root(server.handler.port), Some(200));
    assert_eq!(probe_root(other), None, "MCP_LISTEN_ADDR must be ignored");
}

#[test]
fn every_configuration_problem_is_reported_at_once_with_a_fix() {
    let mut handler = Handler::start(
        &[
            (FUNCTIONS_CUSTOMHANDLER_PORT.name, "not-a-port"),
            (MCP_PUBLIC_URL.name, "http://mcp.contoso.com/mcp"),
            (MCP_ALLOWED_ORIGINS.name, "contoso.com"),
            (MCP_SHUTDOWN_GRACE_SECONDS.name, "forever"),
            (MCP_LOG.name, "loud"),
            (MCP_TENANT_ID.name, "contoso.onmicrosoft.com"),
            (MCP_APP_ID_URI.name, "api://m365-mcp/"),
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
        ],
        None,
    );
    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(78), "EX_CONFIG");
    let stderr = handler.output.stderr().join("\n");
    assert!(
        stderr.contains("12 configuration problem(s)"),
        "stderr:\n{stderr}"
    );
    for setting in [
        FUNCTIONS_CUSTOMHANDLER_PORT.name,
        MCP_PUBLIC_URL.name,
        MCP_ALLOWED_ORIGINS.name,
        MCP_TENANT_ID.name,
        MCP_CLIENT_ID.name,
        MCP_APP_ID_URI.name,
        MCP_GATEWAY_PROOF_HEADER.name,
        MANAGED_IDENTITY_CLIENT_ID.name,
        IDENTITY_ENDPOINT.name,
        IDENTITY_HEADER.name,
        MCP_SHUTDOWN_GRACE_SECONDS.name,
        MCP_LOG.name,
    ] {
        assert!(
            stderr.contains(&format!("  - {setting}: ")),
            "{setting} missing:\n{stderr}"
        );
    }
    assert!(stderr.contains("  - MCP_CLIENT_ID: is not set"), "{stderr}");
    assert_eq!(stderr.matches("    fix: ").count(), 12, "{stderr}");
    assert!(
        handler.output.stdout().is_empty(),
        "nothing served, nothing logged"
    );
}

#[test]
fn help_documents_every_setting() {
    let output = Command::new(HANDLER).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for setting in SETTINGS
        .iter()
        .chain(STDIO_SETTINGS)
        .chain(local_mode::SETTINGS)
    {
        assert!(
            help.contains(&format!("\n  {}\n", setting.name)),
            "{} missing from --help",
            setting.name
        );
        assert!(help.contains(setting.help.split_whitespace().next().unwrap()));
    }
    assert!(help.contains("USAGE"));
    assert!(help.contains("handler dev-token"));
    assert!(help.contains("handler stdio [--browser]"));
    assert!(help.contains("handler logout"));
    assert!(help.contains("\n      default: (required)\n"));
    for command in ["stdio", "logout"] {
        let output = Command::new(HANDLER)
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success());
        assert_eq!(String::from_utf8(output.stdout).unwrap(), help);
    }
}

#[test]
fn unknown_arguments_are_refused() {
    let output = Command::new(HANDLER).arg("--bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unknown argument `--bogus`"), "{stderr}");
}

/// Sends the head of an MCP POST and half its body, leaving the request in flight.
fn start_slow_request(server: &TestServer) -> (TcpStream, Vec<u8>) {
    let port = server.handler.port;
    let body = serde_json::to_vec(&initialize(LATEST)).unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\n\r\n",
        server.token(),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let half = body.len() / 2;
    stream.write_all(&body[..half]).unwrap();
    stream.flush().unwrap();
    (stream, body[half..].to_vec())
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let mut server = TestServer::start_with(&[(MCP_SHUTDOWN_GRACE_SECONDS.name, "30")]);
    let (mut stream, rest) = start_slow_request(&server);
    let handler = &mut server.handler;
    // Let the server read the head before the signal arrives.
    std::thread::sleep(Duration::from_millis(200));
    handler.signal("TERM");
    std::thread::sleep(Duration::from_millis(200));

    // New connections are refused once shutdown began...
    assert_eq!(probe_root(handler.port), None);
    // ...but the request in flight completes.
    stream.write_all(&rest).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""protocolVersion":"2025-11-25""#));

    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_shutdown_is_bounded_by_the_grace_period() {
    let mut server = TestServer::start_with(&[(MCP_SHUTDOWN_GRACE_SECONDS.name, "1")]);
    let (_stream, _never_sent) = start_slow_request(&server);
    let handler = &mut server.handler;
    std::thread::sleep(Duration::from_millis(200));
    handler.signal("TERM");
    // The stalled client never finishes; the process must still exit, and with 0.
    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let events = handler.output.events();
    assert!(
        events.iter().any(|event| event["message"]
            .as_str()
            .unwrap_or_default()
            .contains("grace period over")),
        "{}",
        handler.output.all()
    );
}

#[test]
fn the_readme_configuration_table_lists_every_setting() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for setting in SETTINGS
        .iter()
        .chain(STDIO_SETTINGS)
        .chain(local_mode::SETTINGS)
    {
        assert!(
            readme.contains(&format!("| `{}` |", setting.name)),
            "README's configuration table misses {}",
            setting.name
        );
    }
}

#[test]
fn without_a_tenant_local_mode_refuses_to_run_under_the_functions_host() {
    // The host sets the port; nothing sets a tenant: this is a misconfigured deployment, and a
    // local issuer that signs tokens for anyone must not start.
    let mut handler = Handler::start(&[], Some(free_port()));
    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(78));
    let stderr = handler.output.stderr().join("\n");
    assert!(
        stderr.contains("local development mode refuses to run here: FUNCTIONS_CUSTOMHANDLER_PORT"),
        "{stderr}"
    );
}

#[test]
fn without_a_tenant_local_mode_refuses_a_public_listen_address() {
    let mut handler = Handler::start(&[(MCP_LISTEN_ADDR.name, "0.0.0.0:7391")], None);
    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(78));
    assert!(
        handler
            .output
            .stderr()
            .join("\n")
            .contains("only listens on loopback"),
        "{}",
        handler.output.all()
    );
}

#[tokio::test]
async fn local_mode_serves_tools_with_a_token_from_dev_token() {
    // What the README's `cargo run` does, then `cargo run -- dev-token`.
    let (port, devstack_port) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let devstack_addr = format!("127.0.0.1:{devstack_port}");
    let mut handler = Handler::start(
        &[
            (MCP_LISTEN_ADDR.name, &listen),
            (MCP_DEVSTACK_ADDR.name, &devstack_addr),
        ],
        None,
    );
    handler.port = port;
    handler.wait_ready();
    let banner = handler.output.stderr().join("\n");
    assert!(banner.contains("Local development"), "{banner}");
    assert!(banner.contains(&format!("http://{listen}/mcp")), "{banner}");

    let token = |args: &[&str]| {
        let output = Command::new(HANDLER)
            .arg("dev-token")
            .args(args)
            .env(MCP_DEVSTACK_ADDR.name, &devstack_addr)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    assert_eq!(
        tool_names(&handler.mcp_url(), &token(&[])).await,
        USER_TOOLS
    );
    assert_eq!(
        tool_names(&handler.mcp_url(), &token(&["--user", "megan"])).await,
        operator_tools(),
        "Megan holds MCP.Operator"
    );
    // The whole chain runs locally: managed identity, on-behalf-of, the Graph sample tenant.
    let body: serde_json::Value = call_tool(
        &handler.mcp_url(),
        &token(&[]),
        "get_my_profile",
        serde_json::json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["displayName"], "Adele Vance",
        "{body}"
    );

    let refused = Command::new(HANDLER)
        .args(["dev-token", "--user", "nobody"])
        .env(MCP_DEVSTACK_ADDR.name, &devstack_addr)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused"));
}

/// The settings that point a handler at `devstack` under the Functions host, with `extra` on top.
fn hosted_env(devstack: &Devstack, port: u16, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = handler_env(devstack);
    env.push((
        MCP_PUBLIC_URL.name.into(),
        format!("http://127.0.0.1:{port}/mcp"),
    ));
    for (name, value) in extra {
        env.retain(|(existing, _)| existing != name);
        env.push((name.to_string(), value.to_string()));
    }
    env
}

#[test]
fn under_the_functions_host_a_missing_gateway_proof_is_a_configuration_error() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = free_port();
    let env = hosted_env(&devstack, port, &[]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut handler = Handler::start(&env, Some(port));
    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(78), "{}", handler.output.all());
    let stderr = handler.output.stderr().join("\n");
    assert!(
        stderr.contains("  - MCP_GATEWAY_PROOF_HEADER: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("MCP_GATEWAY_PROOF_REQUIRED=false"),
        "{stderr}"
    );

    // Saying the function app is network-isolated lets it start without one.
    let port = free_port();
    let env = hosted_env(
        &devstack,
        port,
        &[(MCP_GATEWAY_PROOF_REQUIRED.name, "false")],
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut handler = Handler::start(&env, Some(port));
    handler.wait_ready();
    assert_eq!(probe_root(port), Some(200));
}

#[test]
fn the_devstack_vault_transport_is_refused_for_a_real_tenant_or_a_remote_address() {
    let devstack = Devstack::start("127.0.0.1:0".parse().unwrap()).unwrap();
    for (case, extra, says) in [
        (
            "the public cloud's authority",
            vec![(MCP_AUTHORITY_HOST.name, "https://login.microsoftonline.com")],
            "real tenant",
        ),
        (
            "a remote vault address",
            vec![("MCP_DEVSTACK_VAULT_ADDR", "10.20.30.40:443")],
            "loopback",
        ),
    ] {
        let port = free_port();
        let mut extra = extra;
        extra.push((MCP_GATEWAY_PROOF_REQUIRED.name, "false"));
        let env = hosted_env(&devstack, port, &extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut handler = Handler::start(&env, Some(port));
        let status = handler.wait_exit(Duration::from_secs(20));
        assert_eq!(status.code(), Some(78), "{case}: {}", handler.output.all());
        let stderr = handler.output.stderr().join("\n");
        assert!(
            stderr.contains("MCP_DEVSTACK_VAULT_ADDR"),
            "{case}: {stderr}"
        );
        assert!(stderr.contains(says), "{case}: {stderr}");
    }
}
