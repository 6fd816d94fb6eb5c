//! Every MCP Streamable HTTP transport rule, as raw HTTP against the real binary: each check
//! asserts the status, the headers that matter and the body.

use crate::harness::*;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

async fn json_of(response: Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

fn assert_json_content_type(response: &Response) {
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

async fn post(server: &TestServer, body: &Value) -> Response {
    mcp_post(&server.client(), &server.mcp_url())
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn initialize_negotiates_each_supported_version_and_names_this_server() {
    let server = TestServer::start();
    for version in ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] {
        let response = post(&server, &initialize(version)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_json_content_type(&response);
        assert!(
            response.headers().get("mcp-session-id").is_none(),
            "stateless: no session id"
        );
        let body = json_of(response).await;
        assert_eq!(body["id"], 1);
        assert_eq!(body["result"]["protocolVersion"], version);
        assert_eq!(body["result"]["serverInfo"]["name"], "m365-mcp-handler");
        assert_eq!(
            body["result"]["serverInfo"]["version"],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(body["result"]["capabilities"]["tools"], json!({}));
    }
}

#[tokio::test]
async fn initialize_with_an_unknown_or_newer_version_gets_the_latest() {
    let server = TestServer::start();
    for version in ["1999-01-01", "2026-07-28"] {
        let body = json_of(post(&server, &initialize(version)).await).await;
        assert_eq!(body["result"]["protocolVersion"], LATEST, "asked {version}");
    }
}

#[tokio::test]
async fn tools_list_works_without_initialize_and_declares_schemas_and_annotations() {
    let server = TestServer::start();
    let response = post(&server, &tools_list()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    let tools = body["result"]["tools"].as_array().unwrap();
    let info = tools
        .iter()
        .find(|tool| tool["name"] == "server_info")
        .expect("server_info listed");
    assert_eq!(info["inputSchema"]["type"], "object");
    assert_eq!(info["inputSchema"]["additionalProperties"], false);
    assert_eq!(info["outputSchema"]["type"], "object");
    assert_eq!(
        info["outputSchema"]["required"],
        json!([
            "name",
            "version",
            "protocolVersion",
            "supportedProtocolVersions"
        ])
    );
    assert_eq!(info["annotations"]["readOnlyHint"], true);
    assert_eq!(info["annotations"]["destructiveHint"], false);
    assert_eq!(info["annotations"]["openWorldHint"], false);
    assert!(info["description"].as_str().unwrap().len() > 20);
}

#[tokio::test]
async fn tools_call_returns_structured_content_and_the_same_json_as_text() {
    let server = TestServer::start();
    let response = mcp_post(&server.client(), &server.mcp_url())
        .header("mcp-protocol-version", "2025-06-18")
        .json(&tool_call("server_info", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    let result = &body["result"];
    assert_eq!(result["isError"], false);
    let structured = &result["structuredContent"];
    assert_eq!(structured["name"], "m365-mcp-handler");
    assert_eq!(
        structured["protocolVersion"], "2025-06-18",
        "the version in force comes from the header"
    );
    assert_eq!(
        structured["supportedProtocolVersions"],
        json!(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
    );
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(&text, structured);
}

#[tokio::test]
async fn invalid_tool_arguments_are_a_tool_error_the_model_can_read() {
    let server = TestServer::start();
    let body = json_of(
        post(
            &server,
            &tool_call("server_info", json!({ "unexpected": 1 })),
        )
        .await,
    )
    .await;
    assert_eq!(body["result"]["isError"], true);
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("arguments for `server_info` are invalid"),
        "{text}"
    );
    assert!(text.contains("What to do:"), "{text}");
}

#[tokio::test]
async fn an_unknown_tool_is_a_protocol_error() {
    let server = TestServer::start();
    let request = tool_call("no_such_tool", json!({}));
    let body = json_of(post(&server, &request).await).await;
    assert_eq!(body["id"], request["id"]);
    assert_eq!(body["error"]["code"], -32602);
    assert!(body.get("result").is_none());
}

#[tokio::test]
async fn a_notification_is_accepted_with_202_and_an_empty_body() {
    let server = TestServer::start();
    let response = post(
        &server,
        &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_jsonrpc_response_from_the_client_is_refused() {
    let server = TestServer::start();
    let response = post(&server, &json!({ "jsonrpc": "2.0", "id": 9, "result": {} })).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn get_and_delete_are_405_allowing_only_post() {
    let server = TestServer::start();
    let client = server.client();
    for request in [
        client
            .get(server.mcp_url())
            .header("accept", "text/event-stream"),
        client.delete(server.mcp_url()),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "POST");
    }
}

async fn assert_jsonrpc_refusal(response: Response, status: StatusCode, code: i64, says: &str) {
    assert_eq!(response.status(), status);
    assert_json_content_type(&response);
    let body = json_of(response).await;
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], Value::Null);
    assert_eq!(body["error"]["code"], code);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn a_batch_is_refused_with_400_invalid_request() {
    let server = TestServer::start();
    let response = post(
        &server,
        &json!([rpc(1, "ping", json!({})), rpc(2, "ping", json!({}))]),
    )
    .await;
    assert_jsonrpc_refusal(response, StatusCode::BAD_REQUEST, -32600, "batches").await;
}

#[tokio::test]
async fn malformed_json_is_400_parse_error() {
    let server = TestServer::start();
    let response = mcp_post(&server.client(), &server.mcp_url())
        .body(r#"{"jsonrpc": "2.0", "id": 1, "method": "#)
        .send()
        .await
        .unwrap();
    assert_jsonrpc_refusal(response, StatusCode::BAD_REQUEST, -32700, "Parse error").await;
}

#[tokio::test]
async fn json_that_is_not_an_object_is_400_invalid_request() {
    let server = TestServer::start();
    let response = mcp_post(&server.client(), &server.mcp_url())
        .body(r#""initialize""#)
        .send()
        .await
        .unwrap();
    assert_jsonrpc_refusal(
        response,
        StatusCode::BAD_REQUEST,
        -32600,
        "one JSON-RPC message",
    )
    .await;
}

fn oversized_body() -> String {
    let padding = "x".repeat(1024 * 1024);
    serde_json::to_string(&rpc(1, "ping", json!({ "padding": padding }))).unwrap()
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_whether_declared_or_streamed() {
    let server = TestServer::start();
    let declared = mcp_post(&server.client(), &server.mcp_url())
        .body(oversized_body())
        .send()
        .await
        .unwrap();
    assert_jsonrpc_refusal(
        declared,
        StatusCode::PAYLOAD_TOO_LARGE,
        -32600,
        "1048576-byte",
    )
    .await;

    // Chunked, no Content-Length: the limit holds while streaming.
    let chunks: Vec<Result<String, std::io::Error>> = oversized_body()
        .as_bytes()
        .chunks(64 * 1024)
        .map(|chunk| Ok(String::from_utf8(chunk.to_vec()).unwrap()))
        .collect();
    let streamed = mcp_post(&server.client(), &server.mcp_url())
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_jsonrpc_refusal(
        streamed,
        StatusCode::PAYLOAD_TOO_LARGE,
        -32600,
        "1048576-byte",
    )
    .await;

    // Just under the limit is fine.
    let fits = "x".repeat(1024 * 1024 - 200);
    let response = post(&server, &rpc(2, "ping", json!({ "padding": fits }))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unsupported_protocol_version_header_is_400() {
    let server = TestServer::start();
    for version in ["2099-01-01", "2026-07-28", "garbage"] {
        let response = mcp_post(&server.client(), &server.mcp_url())
            .header("mcp-protocol-version", version)
            .json(&tools_list())
            .send()
            .await
            .unwrap();
        assert_jsonrpc_refusal(
            response,
            StatusCode::BAD_REQUEST,
            -32600,
            "Supported versions: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25",
        )
        .await;
    }
}

#[tokio::test]
async fn for_initialize_the_body_governs_negotiation_whatever_the_header_says() {
    let server = TestServer::start();
    for (header, asked, answered) in [
        ("2025-06-18", "2025-11-25", "2025-11-25"),
        ("2025-11-25", "2025-03-26", "2025-03-26"),
        ("2024-11-05", "1999-01-01", LATEST),
    ] {
        let response = mcp_post(&server.client(), &server.mcp_url())
            .header("mcp-protocol-version", header)
            .json(&initialize(asked))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "header {header}, asked {asked}"
        );
        let body = json_of(response).await;
        assert_eq!(body["result"]["protocolVersion"], answered, "{body}");
    }
    // A header naming a version this server does not speak is still refused.
    let response = mcp_post(&server.client(), &server.mcp_url())
        .header("mcp-protocol-version", "2099-01-01")
        .json(&initialize("2025-11-25"))
        .send()
        .await
        .unwrap();
    assert_jsonrpc_refusal(
        response,
        StatusCode::BAD_REQUEST,
        -32600,
        "Unsupported MCP-Protocol-Version",
    )
    .await;
}

#[tokio::test]
async fn a_message_without_jsonrpc_2_0_is_400_invalid_request() {
    let server = TestServer::start();
    for body in [
        json!({ "id": 1, "method": "ping", "params": {} }),
        json!({ "jsonrpc": "1.0", "id": 1, "method": "ping", "params": {} }),
        json!({ "jsonrpc": 2.0, "id": 1, "method": "tools/list" }),
    ] {
        let response = post(&server, &body).await;
        assert_jsonrpc_refusal(response, StatusCode::BAD_REQUEST, -32600, "jsonrpc").await;
    }
}

#[tokio::test]
async fn accept_must_list_json_and_event_stream_and_content_type_must_be_json() {
    let server = TestServer::start();
    let client = server.client();
    let only_json = client
        .post(server.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .json(&rpc(1, "ping", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(only_json.status(), StatusCode::NOT_ACCEPTABLE);

    let text = client
        .post(server.mcp_url())
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .body(serde_json::to_string(&rpc(1, "ping", json!({}))).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn status_with(server: &TestServer, header: &str, value: &str) -> StatusCode {
    mcp_post(&server.client(), &server.mcp_url())
        .header(header, value)
        .json(&rpc(1, "ping", json!({})))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn origin_is_validated_against_the_allowlist() {
    let server = TestServer::start_with(&[
        (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/mcp"),
        (MCP_ALLOWED_ORIGINS.name, "https://copilot.contoso.com"),
    ]);
    assert_eq!(
        status_with(&server, "origin", "https://evil.example").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_with(&server, "origin", "http://mcp.contoso.com").await,
        StatusCode::FORBIDDEN,
        "scheme is part of the origin"
    );
    assert_eq!(
        status_with(&server, "origin", "null").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_with(&server, "origin", "https://mcp.contoso.com").await,
        StatusCode::OK,
        "the public URL's own origin"
    );
    assert_eq!(
        status_with(&server, "origin", "https://copilot.contoso.com").await,
        StatusCode::OK,
        "a configured origin"
    );
    // No Origin at all (non-browser clients) is accepted.
    assert_eq!(
        post(&server, &rpc(1, "ping", json!({}))).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn host_is_validated_loopback_and_the_public_host_by_default() {
    let server = TestServer::start_with(&[
        (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/mcp"),
        (MCP_ALLOWED_HOSTS.name, "func-m365.azurewebsites.net"),
    ]);
    for (host, expected) in [
        ("evil.example", StatusCode::FORBIDDEN),
        ("mcp.contoso.com.evil.example", StatusCode::FORBIDDEN),
        ("mcp.contoso.com", StatusCode::OK),
        ("func-m365.azurewebsites.net", StatusCode::OK),
        ("localhost", StatusCode::OK),
        (
            &format!("127.0.0.1:{}", server.handler.port),
            StatusCode::OK,
        ),
    ] {
        assert_eq!(
            status_with(&server, "host", host).await,
            expected,
            "Host: {host}"
        );
    }
}

#[tokio::test]
async fn the_request_log_has_one_event_per_request_with_its_facts() {
    let server = TestServer::start();
    let response = post(&server, &tool_call("server_info", json!({}))).await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.bytes().await;

    let event = server
        .handler
        .output
        .wait_for_event(|event| event["request_id"] == request_id.as_str());
    let same_id = server
        .handler
        .output
        .events()
        .iter()
        .filter(|event| event["request_id"] == request_id.as_str())
        .count();
    assert_eq!(same_id, 1, "exactly one event per request");
    assert_eq!(event["message"], "request");
    assert_eq!(event["http_method"], "POST");
    assert_eq!(event["path"], "/mcp");
    assert_eq!(event["rpc_method"], "tools/call");
    assert_eq!(event["tool"], "server_info");
    assert_eq!(event["status"], 200);
    assert!(event["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(event["level"], "INFO");

    // Names the server does not know are not copied from the client into the log.
    let response = post(&server, &tool_call("made_up_tool", json!({}))).await;
    let event = server.handler.event_of(&response);
    assert_eq!(event["tool"], "unknown");
    let response = post(&server, &rpc(9, "made/up", json!({}))).await;
    let event = server.handler.event_of(&response);
    assert_eq!(event["rpc_method"], "other");
}

#[tokio::test]
async fn logs_never_contain_header_values_query_strings_or_bodies() {
    let server = TestServer::start_with(&[(MCP_LOG.name, "trace")]);
    let token = server.token();
    let canary_header = "canary-header-3f9a7c";
    let canary_query = "canary-query-81d2e4";
    let canary_body = "canary-body-5b6c0d";
    let canary_path = "canary-path-c41f0e";
    let canary_invocation = "canary-invocation-9e27b3";
    for request in [
        tool_call("server_info", json!({ "x": canary_body })),
        rpc(2, "tools/list", json!({ "cursor": canary_body })),
        json!({ "jsonrpc": "2.0", "id": 3, "method": canary_body }),
    ] {
        let response = mcp_post(&client_with_token(&token), &server.mcp_url())
            .query(&[("access_token", canary_query)])
            .header("x-api-key", canary_header)
            .header("x-ms-invocation-id", canary_invocation)
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // A token or an address put in the path is not logged: an unknown path is `unknown`.
    for path in [
        format!("/{canary_path}"),
        format!("/mcp/{canary_path}"),
        format!("/.well-known/oauth-protected-resource/{canary_path}"),
    ] {
        let response = client_with_token(&token)
            .get(server.url(&path))
            .header("x-ms-invocation-id", canary_invocation)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let event = server.handler.event_of(&response);
        assert_eq!(event["path"], "unknown", "{path}");
        assert!(event.get("invocation_id").is_none(), "{event}");
    }
    // The host's invocation id is logged when it is what the host sends: a GUID.
    let invocation = "6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8";
    let response = mcp_post(&client_with_token(&token), &server.mcp_url())
        .header("x-ms-invocation-id", invocation)
        .json(&tools_list())
        .send()
        .await
        .unwrap();
    let event = server.handler.event_of(&response);
    assert_eq!(event["path"], "/mcp");
    assert_eq!(event["invocation_id"], invocation.to_ascii_lowercase());
    // A token that is refused is not logged either.
    let refused = mcp_post(&client_with_token(canary_header), &server.mcp_url())
        .json(&tools_list())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let _ = mcp_post(&server.client(), &server.mcp_url())
        .body(format!("{{{canary_body}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await;
    // Wait for the last request's event (the malformed body, 400): the others came before.
    server
        .handler
        .output
        .wait_for_event(|event| event["status"] == 400 && event["path"] == "/mcp");
    let logs = server.handler.output.all();
    for canary in [
        canary_header,
        canary_query,
        canary_body,
        canary_path,
        canary_invocation,
        token.as_str(),
    ] {
        assert!(
            !logs.contains(canary),
            "{canary} leaked into the logs:\n{logs}"
        );
    }
    // Not even a recognisable piece of the token (its signature).
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(&signature[..20]));
}

/// A raw HTTP/1.1 request: the head (request line and headers) and the body bytes.
type RawRequest = (String, Vec<u8>);

/// One HTTP/1.1 answer as read from a raw connection.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
}

/// Writes a request on `stream` (the head, a pause, then the body, as a client on a slow link
/// would) and reads one answer; `None` if the connection gave none.
fn raw_exchange(stream: &mut std::net::TcpStream, head: &str, body: &[u8]) -> Option<RawAnswer> {
    use std::io::Write;
    stream.write_all(head.as_bytes()).ok()?;
    stream.flush().ok()?;
    if !body.is_empty() {
        // The server has the headers well before the body: what it does with an unread body
        // is what this is about.
        std::thread::sleep(std::time::Duration::from_millis(200));
        stream.write_all(body).ok()?;
    }
    read_raw_answer(stream)
}

fn read_raw_answer(stream: &mut std::net::TcpStream) -> Option<RawAnswer> {
    use std::io::Read;
    let mut buffer = Vec::new();
    let mut byte = [0u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buffer.push(byte[0]);
    }
    let head = String::from_utf8(buffer).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.get(9..12)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.clone())
    };
    if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                if stream.read(&mut byte).ok()? == 0 {
                    return None;
                }
                line.push(byte[0]);
            }
            let size = usize::from_str_radix(std::str::from_utf8(&line).ok()?.trim(), 16).ok()?;
            let mut chunk = vec![0u8; size + 2];
            stream.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
        }
    } else {
        let length: usize = header("content-length").map_or(Some(0), |v| v.parse().ok())?;
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).ok()?;
    }
    Some(RawAnswer { status, headers })
}

#[test]
fn refusals_keep_the_connection_usable_for_the_next_request() {
    let server = TestServer::start();
    let port = server.handler.port;
    let token = server.token();
    let request = |authorization: &str, extra: &str, body: &[u8]| {
        (
            format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nAuthorization: {authorization}\r\n\
                 {extra}Content-Length: {}\r\n\r\n",
                body.len()
            ),
            body.to_vec(),
        )
    };
    let call = serde_json::to_vec(&tool_call("server_info", json!({}))).unwrap();
    let valid = format!("Bearer {token}");
    let padded = |bytes: usize| {
        serde_json::to_vec(&rpc(1, "ping", json!({ "padding": "x".repeat(bytes) }))).unwrap()
    };
    let chunked = {
        let body = padded(1536 * 1024);
        let mut encoded = Vec::new();
        for chunk in body.chunks(64 * 1024) {
            encoded.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            encoded.extend_from_slice(chunk);
            encoded.extend_from_slice(b"\r\n");
        }
        encoded.extend_from_slice(b"0\r\n\r\n");
        (
            format!(
                "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
                 Accept: application/json, text/event-stream\r\nAuthorization: {valid}\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
            ),
            encoded,
        )
    };
    let steps: Vec<(&str, RawRequest, u16)> = vec![
        ("a valid call", request(&valid, "", &call), 200),
        (
            "a bad token, with a body",
            request("Bearer not-a-token", "", &padded(256 * 1024)),
            401,
        ),
        (
            "a valid call after the 401",
            request(&valid, "", &call),
            200,
        ),
        (
            "a declared body over the limit",
            request(&valid, "", &padded(1088 * 1024)),
            413,
        ),
        (
            "a valid call after the 413",
            request(&valid, "", &call),
            200,
        ),
        (
            "an unsupported protocol version, with a body",
            request(
                &valid,
                "MCP-Protocol-Version: 2099-01-01\r\n",
                &padded(64 * 1024),
            ),
            400,
        ),
        (
            "a valid call after the 400",
            request(&valid, "", &call),
            200,
        ),
        ("a streamed body over the limit", chunked, 413),
        (
            "a valid call after the streamed 413",
            request(&valid, "", &call),
            200,
        ),
    ];
    // One connection for everything: a raw socket, so no client can quietly open another.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    for (step, (head, body), status) in steps {
        let answer = raw_exchange(&mut stream, &head, &body)
            .unwrap_or_else(|| panic!("{step}: no HTTP answer on the kept-alive connection"));
        assert_eq!(answer.status, status, "{step}");
        assert!(
            !answer
                .headers
                .iter()
                .any(|(name, value)| name == "connection" && value.eq_ignore_ascii_case("close")),
            "{step}: the connection was given up"
        );
    }
}

#[test]
fn a_refused_body_too_large_to_discard_gets_connection_close() {
    let server = TestServer::start();
    let port = server.handler.port;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // Declared far beyond what the server reads to keep a connection: it answers at once and
    // says the connection ends, instead of leaving the client to find out.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\n\r\n",
        server.token(),
        64 * 1024 * 1024
    );
    let answer = raw_exchange(&mut stream, &head, &[]).expect("an HTTP answer");
    assert_eq!(answer.status, 413);
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, value)| name == "connection" && value.eq_ignore_ascii_case("close")),
        "{:?}",
        answer.headers
    );
}
