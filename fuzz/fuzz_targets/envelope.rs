//! A POST body to `/mcp` through the envelope rules (src/transport/envelope.rs): they never
//! panic, refuse with a parse error (-32700) or an invalid request (-32600) only, and let
//! through only a JSON object with `"jsonrpc": "2.0"`, recording a method or tool name only when
//! the server knows it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use m365_mcp::fuzzing;

const TOOLS: &[&str] = &["get_my_profile", "read_mail", "send_mail"];

fuzz_target!(|body: &[u8]| {
    match fuzzing::envelope(body, TOOLS) {
        Ok((method, tool)) => {
            let message: serde_json::Value =
                serde_json::from_slice(body).expect("a body let through is JSON");
            assert_eq!(message["jsonrpc"], "2.0", "let through without jsonrpc 2.0");
            if let Some(tool) = tool {
                assert_eq!(method, Some("tools/call"));
                assert!(tool == "unknown" || TOOLS.contains(&tool), "{tool}");
            }
            if let Some(method) = method {
                assert!(method == "other" || message["method"] == method, "{method}");
            }
        }
        Err(code) => assert!(code == -32700 || code == -32600, "{code}"),
    }
});
