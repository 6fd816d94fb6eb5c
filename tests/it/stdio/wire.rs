//! stdout is the MCP transport: nothing but JSON-RPC may ever appear there, whatever the log
//! level and whatever happens (a sign-in, tool errors, a protocol error). The log on stderr
//! carries no token, device code or other secret, at any level. And serving over stdio opens
//! no listening port.

use serde_json::{Value, json};

use super::LocalTenant;
use crate::harness::*;

#[test]
fn stdout_carries_nothing_but_json_rpc_and_the_log_goes_to_stderr() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[(MCP_LOG.name, "trace")]);
    handler.initialize();
    handler.request("tools/list", json!({}));
    handler.wait_for_stderr("signed in as adele@contoso.example");
    handler.call_tool("get_my_profile", json!({}));
    // A tool error, an unknown tool and a notification.
    let refused = handler.call_tool("read_mail", json!({ "message_id": "" }));
    assert_eq!(refused["isError"], true, "{refused}");
    let unknown = handler.request("tools/call", json!({ "name": "no_such_tool" }));
    assert!(unknown["error"].is_object(), "{unknown}");
    handler.send(&json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": { "requestId": 999 }
    }));
    handler.request("ping", json!({}));
    let (status, output) = handler.close();
    assert!(status.success());

    let stdout = output.stdout();
    assert!(stdout.len() >= 6, "{stdout:?}");
    for line in &stdout {
        let message: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON on stdout: {line}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        assert!(
            message.get("result").is_some() || message.get("error").is_some(),
            "only answers to the client's requests: {line}"
        );
    }
    let stderr = output.stderr();
    assert!(
        stderr.iter().any(|line| line.contains(r#""level":"TRACE""#)
            || line.contains(r#""level":"DEBUG""#)
            || line.contains(r#""level":"INFO""#)),
        "the log is on stderr"
    );
    assert!(stderr.iter().any(|line| line.contains("enter the code")));
}

/// Every secret the handler sent the stand-ins: the access tokens it presented to Graph, and
/// the refresh tokens and device codes it redeemed at the token endpoint.
fn secrets_sent(tenant: &LocalTenant) -> Vec<String> {
    let mut secrets = Vec::new();
    for request in tenant.devstack.requests() {
        if let Some(bearer) = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
        {
            secrets.push(bearer.to_owned());
        }
        for (name, value) in url::form_urlencoded::parse(request.body.as_bytes()) {
            if ["refresh_token", "device_code", "code", "code_verifier"].contains(&name.as_ref()) {
                secrets.push(value.into_owned());
            }
        }
    }
    secrets
}

#[test]
fn no_token_or_device_code_reaches_the_log_even_at_trace_level() {
    let tenant = LocalTenant::new();
    let trace = [(MCP_LOG.name, "trace")];
    let mut first = tenant.start(&[], &trace);
    first.initialize();
    first.wait_for_startup_sign_in();
    first.call_tool("get_my_profile", json!({}));
    first.call_tool("list_events", json!({}));
    let (_, first) = first.close();
    // The next run reads the stored refresh token and refreshes it.
    let mut second = tenant.start(&[], &trace);
    second.initialize();
    second.wait_for_startup_sign_in();
    second.call_tool("get_my_profile", json!({}));
    let (_, second) = second.close();

    let sent = secrets_sent(&tenant);
    let issued = tenant.devstack.refresh_tokens_of("local", "adele");
    assert!(
        tenant
            .devstack
            .requests()
            .iter()
            .any(|request| request.service == "graph" && request.header("authorization").is_some()),
        "access tokens were presented"
    );
    assert!(
        sent.iter().any(|secret| issued.contains(secret)),
        "refresh tokens were redeemed"
    );
    assert!(
        tenant
            .devstack
            .requests()
            .iter()
            .any(|request| request.body.contains("device_code=")),
        "a device code was redeemed"
    );
    let log: Vec<String> = first.stderr().into_iter().chain(second.stderr()).collect();
    assert!(
        log.iter()
            .any(|line| line.contains("graph token from the refresh token")),
        "the log tells of the token requests"
    );
    for line in &log {
        for secret in sent.iter().chain(&issued) {
            assert!(
                !line.contains(secret.as_str()),
                "a secret in the log: {line}"
            );
        }
        // ID tokens (never sent anywhere, so not among those) are JWTs, whose encoded header
        // starts so.
        assert!(!line.contains("eyJ"), "a JWT in the log: {line}");
    }
}

/// The inodes of the TCP sockets listening on this machine (Linux's `/proc/net/tcp*`).
#[cfg(target_os = "linux")]
fn listening_inodes() -> std::collections::HashSet<String> {
    let mut inodes = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // st == 0A: LISTEN.
            if fields.len() > 9 && fields[3] == "0A" {
                inodes.insert(fields[9].to_owned());
            }
        }
    }
    inodes
}

/// The socket inodes process `pid` holds open.
#[cfg(target_os = "linux")]
fn socket_inodes(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned)
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn serving_over_stdio_listens_on_no_port() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("signed in as adele@contoso.example");
    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");

    let sockets = socket_inodes(handler.pid());
    assert!(
        !sockets.is_empty(),
        "it does hold connections (to Entra and Graph)"
    );
    let listening = listening_inodes();
    let listeners: Vec<&String> = sockets
        .iter()
        .filter(|inode| listening.contains(*inode))
        .collect();
    assert!(listeners.is_empty(), "handler stdio listens: {listeners:?}");
}
