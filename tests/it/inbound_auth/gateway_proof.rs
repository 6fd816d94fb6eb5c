//! The gateway proof: checked before anything else, and a bare refusal that says nothing.

use reqwest::StatusCode;

use super::*;
use crate::harness::*;

#[tokio::test]
async fn the_gateway_proof_is_checked_first_and_says_nothing() {
    let current = "proof-current-5f2b9d1c7a4e8036";
    let previous = "proof-previous-0c9e3a7b1d5f4462";
    let server = TestServer::start_with(&[
        (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
        (MCP_GATEWAY_PROOF.name, &format!("{current},{previous}")),
    ]);
    let token = server.token();
    let send = |proof: Option<&str>, token: Option<&str>| {
        let mut request = mcp_post(&Client::new(), &server.mcp_url()).json(&tools_list());
        if let Some(proof) = proof {
            request = request.header("x-mcp-gateway-proof", proof);
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request
    };
    for (case, proof, token, status, reason) in [
        (
            "current proof",
            Some(current),
            Some(token.as_str()),
            200,
            "accepted",
        ),
        (
            "previous proof, during rotation",
            Some(previous),
            Some(token.as_str()),
            200,
            "accepted",
        ),
        (
            "no proof",
            None,
            Some(token.as_str()),
            403,
            "gateway_proof_missing",
        ),
        (
            "wrong proof",
            Some("proof-wrong-000000000000000000"),
            Some(token.as_str()),
            403,
            "gateway_proof_mismatch",
        ),
        (
            "prefix of the proof",
            Some(&current[..10]),
            Some(token.as_str()),
            403,
            "gateway_proof_mismatch",
        ),
        (
            "no proof, no token: proof first",
            None,
            None,
            403,
            "gateway_proof_missing",
        ),
        ("proof, no token", Some(current), None, 401, "no_token"),
    ] {
        let response = send(proof, token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        let event = server.handler.event_of(&response);
        if status == 403 {
            assert!(
                response.headers().get("www-authenticate").is_none(),
                "{case}"
            );
            assert!(
                response.bytes().await.unwrap().is_empty(),
                "{case}: no detail"
            );
        }
        if reason == "accepted" {
            assert_eq!(event["outcome"], "accepted", "{case}");
        } else {
            assert_eq!(event["reason"], reason, "{case}");
        }
    }
    // A value that is not visible ASCII is refused as such, not compared as an empty string.
    let non_ascii =
        reqwest::header::HeaderValue::from_bytes(b"proof-\xe9\xe9-0c9e3a7b1d5f4462").unwrap();
    let response = send(None, Some(&token))
        .header("x-mcp-gateway-proof", non_ascii)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        server.handler.event_of(&response)["reason"],
        "gateway_proof_malformed"
    );
    // Two proof headers are not one proof.
    let twice = send(Some(current), Some(&token)).header("x-mcp-gateway-proof", current);
    assert_eq!(twice.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    // The metadata is behind the gateway too; the host's readiness probe is not.
    let metadata = reqwest::get(server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::FORBIDDEN);
    assert_eq!(probe_root(server.handler.port), Some(200));
}
