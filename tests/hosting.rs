//! The Azure Functions custom-handler contract, tested against the real binary: port selection,
//! readiness, start-up configuration errors, `--help`, graceful shutdown.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Command,
    time::Duration,
};

use common::*;
use m365_mcp::config::SETTINGS;

#[test]
fn listens_on_the_port_the_functions_host_assigns_and_answers_readiness() {
    let handler = Handler::spawn(&[]);
    assert_eq!(probe_root(handler.port), Some(200));
    let ready = handler
        .output
        .events()
        .into_iter()
        .find(|event| event["message"] == "handler ready: MCP at /mcp")
        .expect("a ready event");
    assert_eq!(ready["listen"], format!("127.0.0.1:{}", handler.port));
}

#[test]
fn without_the_host_port_it_listens_on_mcp_listen_addr() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut handler = Handler::start(&[("MCP_LISTEN_ADDR", &listen)], None);
    handler.port = port;
    handler.wait_ready();
    assert_eq!(probe_root(port), Some(200));
}

#[test]
fn the_host_port_wins_over_mcp_listen_addr() {
    let other = free_port();
    let handler = Handler::spawn(&[("MCP_LISTEN_ADDR", &format!("127.0.0.1:{other}"))]);
    assert_eq!(probe_root(handler.port), Some(200));
    assert_eq!(probe_root(other), None, "MCP_LISTEN_ADDR must be ignored");
}

#[test]
fn every_configuration_problem_is_reported_at_once_with_a_fix() {
    let mut handler = Handler::start(
        &[
            ("FUNCTIONS_CUSTOMHANDLER_PORT", "not-a-port"),
            ("MCP_PUBLIC_URL", "http://mcp.contoso.com/mcp"),
            ("MCP_ALLOWED_ORIGINS", "contoso.com"),
            ("MCP_SHUTDOWN_GRACE_SECONDS", "forever"),
            ("MCP_LOG", "loud"),
        ],
        None,
    );
    let status = handler.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(78), "EX_CONFIG");
    let stderr = handler.output.stderr().join("\n");
    assert!(
        stderr.contains("5 configuration problem(s)"),
        "stderr:\n{stderr}"
    );
    for setting in [
        "FUNCTIONS_CUSTOMHANDLER_PORT",
        "MCP_PUBLIC_URL",
        "MCP_ALLOWED_ORIGINS",
        "MCP_SHUTDOWN_GRACE_SECONDS",
        "MCP_LOG",
    ] {
        assert!(
            stderr.contains(&format!("  - {setting}: ")),
            "{setting} missing:\n{stderr}"
        );
    }
    assert_eq!(stderr.matches("    fix: ").count(), 5, "{stderr}");
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
    for setting in SETTINGS {
        assert!(
            help.contains(&format!("\n  {}\n", setting.name)),
            "{} missing from --help",
            setting.name
        );
        assert!(help.contains(setting.help.split_whitespace().next().unwrap()));
    }
    assert!(help.contains("USAGE"));
}

#[test]
fn unknown_arguments_are_refused() {
    let output = Command::new(HANDLER).arg("--bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unknown argument `--bogus`"), "{stderr}");
}

/// Sends the head of an MCP POST and half its body, leaving the request in flight.
fn start_slow_request(port: u16) -> (TcpStream, Vec<u8>) {
    let body = serde_json::to_vec(&initialize(LATEST)).unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
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
    let mut handler = Handler::spawn(&[("MCP_SHUTDOWN_GRACE_SECONDS", "30")]);
    let (mut stream, rest) = start_slow_request(handler.port);
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
    let mut handler = Handler::spawn(&[("MCP_SHUTDOWN_GRACE_SECONDS", "1")]);
    let (_stream, _never_sent) = start_slow_request(handler.port);
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
    for setting in SETTINGS {
        assert!(
            readme.contains(&format!("| `{}` |", setting.name)),
            "README's configuration table misses {}",
            setting.name
        );
    }
}
