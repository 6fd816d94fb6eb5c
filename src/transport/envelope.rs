//! The JSON-RPC envelope rules that sit in front of rmcp.
//!
//! rmcp answers some malformed input with statuses the MCP and JSON-RPC specs do not
//! describe (a parse error or a batch becomes 415) and accepts a protocol version header
//! this server never negotiates (`2026-07-28`). This layer reads the POST body once, under the
//! size limit, and answers:
//!
//! | input | answer |
//! |---|---|
//! | `MCP-Protocol-Version` not one this server supports | 400, JSON-RPC -32600 |
//! | body over the limit (declared or streamed) | 413, JSON-RPC -32600 |
//! | body that is not JSON | 400, JSON-RPC -32700 (parse error) |
//! | a JSON array (batch, removed in 2025-06-18) | 400, JSON-RPC -32600 |
//! | JSON that is not an object | 400, JSON-RPC -32600 |
//! | an object without `"jsonrpc": "2.0"` | 400, JSON-RPC -32600 |
//!
//! For `initialize`, the body governs negotiation (spec 2025-11-25, lifecycle): the server
//! answers with the version `params.protocolVersion` asks for when it supports it, otherwise with
//! its latest. A supported `MCP-Protocol-Version` header that says otherwise is therefore not
//! passed on (rmcp would refuse the difference); an unsupported one is still a 400.
//!
//! Everything else goes on to rmcp with the body it already read, and with [`RpcFacts`] (the
//! method and, for `tools/call`, the tool name) in the request extensions for the layers after
//! it and in the response extensions for the request log.

use std::{borrow::Cow, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::protocol::SUPPORTED_PROTOCOL_VERSIONS;
use crate::telemetry::RpcFacts;

const PARSE_ERROR: i64 = -32700;
const OTHER_METHOD: &str = "other";
const UNKNOWN_TOOL: &str = "unknown";
const INVALID_REQUEST: i64 = -32600;

/// Limits applied before rmcp sees a request.
#[derive(Debug, Clone)]
pub struct EnvelopeRules {
    pub max_body_bytes: usize,
    /// Names of the tools this server serves; any other name is recorded as unknown.
    pub tool_names: Arc<[&'static str]>,
}

/// Client-to-server methods of MCP 2025-11-25; any other method is recorded as `other`.
const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "notifications/tasks/status",
];

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

pub async fn check(State(rules): State<EnvelopeRules>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    if let Some(rejection) = unsupported_version(request.headers()) {
        return rejection;
    }
    if declared_length(request.headers()).is_some_and(|length| length > rules.max_body_bytes) {
        return too_large(rules.max_body_bytes);
    }

    let (mut parts, body) = request.into_parts();
    let bytes = match Limited::new(body, rules.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return too_large(rules.max_body_bytes);
        }
        Err(_) => {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "The request body could not be read completely.",
            );
        }
    };

    let facts = match facts_of(&bytes, &rules.tool_names) {
        Ok(facts) => facts,
        Err((code, message)) => return jsonrpc_error(StatusCode::BAD_REQUEST, code, message),
    };
    if facts.method == Some("initialize") {
        // The body's protocolVersion governs; the header (already known to be supported) must
        // not contradict it on the way to rmcp.
        parts.headers.remove("mcp-protocol-version");
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(facts);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(facts);
    response
}

fn unsupported_version(headers: &HeaderMap) -> Option<Response> {
    let value = headers.get("mcp-protocol-version")?;
    let supported = value.to_str().is_ok_and(|version| {
        SUPPORTED_PROTOCOL_VERSIONS
            .iter()
            .any(|known| known.as_str() == version)
    });
    if supported {
        return None;
    }
    let list: Vec<&str> = SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .map(|version| version.as_str())
        .collect();
    Some(jsonrpc_error(
        StatusCode::BAD_REQUEST,
        INVALID_REQUEST,
        &format!(
            "Unsupported MCP-Protocol-Version header. Supported versions: {}.",
            list.join(", ")
        ),
    ))
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Why a body was refused: a JSON-RPC error code and its message.
pub(crate) type Refusal = (i64, &'static str);

pub(crate) fn facts_of(bytes: &[u8], tool_names: &[&'static str]) -> Result<RpcFacts, Refusal> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'[') {
        return Err((
            INVALID_REQUEST,
            "JSON-RPC batches are not supported: send one message per request.",
        ));
    }
    // JSON is UTF-8 throughout (RFC 8259). serde_json checks only the strings it keeps, so a
    // byte that is not UTF-8 inside a member it skips would otherwise pass for JSON here and be
    // refused later by the MCP layer (found by the `envelope` fuzz target).
    let text = std::str::from_utf8(bytes)
        .map_err(|_| (PARSE_ERROR, "Parse error: the body is not valid JSON."))?;
    let envelope: Envelope = serde_json::from_str(text).map_err(|error| {
        if error.is_data() {
            (
                INVALID_REQUEST,
                "The body must be one JSON-RPC message object.",
            )
        } else {
            (PARSE_ERROR, "Parse error: the body is not valid JSON.")
        }
    })?;
    if envelope.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        return Err((
            INVALID_REQUEST,
            "The message must carry \"jsonrpc\": \"2.0\".",
        ));
    }
    // Names come from the client and end up in logs and authorization decisions: only names
    // this server knows are kept verbatim.
    let method = envelope.method.as_deref().map(|method| {
        KNOWN_METHODS
            .iter()
            .find(|known| **known == method)
            .map_or(OTHER_METHOD, |known| *known)
    });
    let tool = match (method, envelope.params) {
        (Some("tools/call"), Some(params)) => Some(
            serde_json::from_str::<CallParams>(params.get())
                .ok()
                .and_then(|params| {
                    tool_names
                        .iter()
                        .find(|known| **known == params.name)
                        .copied()
                })
                .unwrap_or(UNKNOWN_TOOL),
        ),
        _ => None,
    };
    Ok(RpcFacts { method, tool })
}

fn too_large(limit: usize) -> Response {
    jsonrpc_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        INVALID_REQUEST,
        &format!("The request body exceeds the {limit}-byte limit."),
    )
}

/// A JSON-RPC error response without an id: the request was not read far enough to have one.
pub(crate) fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    //! The same properties the `envelope` fuzz target checks, on generated bodies.

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    const TOOLS: &[&str] = &["get_my_profile", "read_mail"];

    /// What a body may hold where the envelope looks: known and unknown names, wrong types.
    fn member() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!("2.0")),
            Just(json!(2.0)),
            proptest::sample::select(KNOWN_METHODS).prop_map(Value::from),
            proptest::sample::select(TOOLS).prop_map(Value::from),
            "[a-z/]{0,12}".prop_map(Value::from),
            Just(Value::Null),
            Just(json!({ "name": "read_mail" })),
            Just(json!({ "name": 7 })),
            Just(json!([])),
        ]
    }

    fn message() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map(
            proptest::sample::select(&["jsonrpc", "method", "params", "id", "name"][..]),
            member(),
            0..5,
        )
        .prop_map(|members| {
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        })
    }

    fn check(body: &[u8]) -> Result<(), TestCaseError> {
        match facts_of(body, TOOLS) {
            Ok(RpcFacts { method, tool }) => {
                let message: Value = serde_json::from_slice(body)
                    .map_err(|error| TestCaseError::fail(format!("let through: {error}")))?;
                prop_assert_eq!(&message["jsonrpc"], "2.0");
                if let Some(method) = method {
                    prop_assert!(method == OTHER_METHOD || message["method"] == method);
                }
                if let Some(tool) = tool {
                    prop_assert_eq!(method, Some("tools/call"));
                    prop_assert!(tool == UNKNOWN_TOOL || message["params"]["name"] == tool);
                }
            }
            Err((code, _)) => prop_assert!(code == PARSE_ERROR || code == INVALID_REQUEST),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_bytes_are_refused_with_a_json_rpc_code_or_let_through_as_a_message(
            body in proptest::collection::vec(any::<u8>(), 0..256)
        ) {
            check(&body)?;
        }

        #[test]
        fn message_shaped_bodies_record_only_names_the_server_knows(message in message()) {
            check(message.to_string().as_bytes())?;
        }
    }

    #[test]
    fn each_refusal_has_its_code() {
        let code = |body: &str| {
            facts_of(body.as_bytes(), TOOLS)
                .map(|_| ())
                .map_err(|e| e.0)
        };
        assert_eq!(code("{"), Err(PARSE_ERROR));
        assert_eq!(code(" [{}]"), Err(INVALID_REQUEST));
        assert_eq!(code("7"), Err(INVALID_REQUEST));
        assert_eq!(code(r#"{"jsonrpc":"1.0"}"#), Err(INVALID_REQUEST));
        assert_eq!(code(r#"{"jsonrpc":"2.0","method":"ping"}"#), Ok(()));
        // Not UTF-8 in a member the envelope skips (the fuzz target's find).
        let skipped = b"{\"jsonrpc\":\"2.0\",\"met\":\"\xe9\"}";
        assert_eq!(
            facts_of(skipped, TOOLS).map_err(|e| e.0).err(),
            Some(PARSE_ERROR)
        );
    }
}
