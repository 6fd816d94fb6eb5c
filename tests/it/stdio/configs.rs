//! The client configurations people copy: this repository's `.vscode/mcp.json` stdio entry, and
//! the README's VS Code and Claude Desktop examples. Each must be valid JSON that starts
//! `handler stdio` with settings it reads; the repository's entry must work as it stands.

use serde_json::{Value, json};

use super::{StdioHandler, text_of};
use crate::harness::*;
use m365_mcp::config::STDIO_READS;

/// The ```json blocks of the README.
fn readme_json_blocks() -> Vec<Value> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    readme
        .split("```json\n")
        .skip(1)
        .map(|block| {
            let json = block.split("```").next().unwrap();
            serde_json::from_str(json).unwrap_or_else(|error| panic!("{error}: {json}"))
        })
        .collect()
}

/// Asserts `server` starts `handler stdio` with settings `handler stdio` reads.
fn assert_starts_handler_stdio(server: &Value) {
    let args: Vec<&str> = server["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    assert_eq!(args.last(), Some(&"stdio"), "{server}");
    let env = server["env"].as_object().unwrap();
    for name in [MCP_TENANT_ID.name, MCP_PUBLIC_CLIENT_ID.name] {
        assert!(env.contains_key(name), "{name} in {server}");
    }
    for name in env.keys() {
        assert!(
            STDIO_READS.iter().any(|setting| setting.name == name),
            "handler stdio does not read {name}"
        );
    }
}

#[test]
fn the_readme_shows_vs_code_and_claude_desktop_configurations_that_start_handler_stdio() {
    let blocks = readme_json_blocks();
    let vscode = blocks
        .iter()
        .find_map(|block| block.get("servers"))
        .expect("a VS Code configuration (servers)");
    let server = vscode.as_object().unwrap().values().next().unwrap();
    assert_eq!(server["type"], "stdio");
    assert_starts_handler_stdio(server);
    let claude = blocks
        .iter()
        .find_map(|block| block.get("mcpServers"))
        .expect("a Claude Desktop configuration (mcpServers)");
    assert_starts_handler_stdio(claude.as_object().unwrap().values().next().unwrap());
}

#[test]
fn the_repositorys_vs_code_stdio_entry_works_offline_as_it_stands() {
    let text = std::fs::read_to_string(repo_root().join(".vscode/mcp.json")).unwrap();
    let config: Value = serde_json::from_str(&text).unwrap();
    let (_, server) = config["servers"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, server)| server["type"] == "stdio")
        .expect("a stdio entry");
    assert_starts_handler_stdio(server);
    assert_eq!(
        server["command"], "cargo",
        "it builds and runs this checkout"
    );

    // What VS Code starts when the inputs are left empty: the arguments after `--`, and the
    // settings with the inputs substituted.
    let args: Vec<&str> = server["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .skip_while(|arg| *arg != "--")
        .skip(1)
        .collect();
    assert_eq!(args, ["stdio"]);
    let env: Vec<(String, String)> = server["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            let value = value.as_str().unwrap();
            let substituted = if value.starts_with("${input:") {
                ""
            } else {
                value
            };
            (name.clone(), substituted.to_owned())
        })
        .collect();
    let mut handler = StdioHandler::start(&[], &env);
    handler.initialize();
    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{}", text_of(&profile));
    assert_eq!(profile["structuredContent"]["displayName"], "Adele Vance");
}
