//! The protected-resource metadata (RFC 9728): public, and naming the tenant's issuer and scope.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::harness::*;

#[tokio::test]
async fn the_protected_resource_metadata_is_public_and_names_the_tenant_and_scope() {
    let public_url = "https://mcp.contoso.example/m365/mcp";
    let server = TestServer::start_with(&[(MCP_PUBLIC_URL.name, public_url)]);
    let expected = json!({
        "resource": public_url,
        "authorization_servers": [server.devstack.issuer()],
        "scopes_supported": [format!("{}/{USER_IMPERSONATION}", server.devstack.identifier_uri())],
        "bearer_methods_supported": ["header"],
        "resource_name": "Microsoft 365 MCP server",
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource/m365/mcp",
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let document: Value = response.json().await.unwrap();
        assert_eq!(document, expected, "{path}");
    }
    // Challenges point at the public path-inserted URL, not at the Host the handler saw.
    let response = mcp_post(&Client::new(), &server.mcp_url())
        .header("host", "mcp.contoso.example")
        .json(&tools_list())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(
            "resource_metadata=\"https://mcp.contoso.example/.well-known/oauth-protected-resource/m365/mcp\""
        ),
        "{challenge}"
    );
}
