//! Entry points for the fuzz targets (`fuzz/`, cargo-fuzz) and the property tests into the
//! functions that read what a client sends. Each one runs raw input through exactly the function
//! the request path uses, no copy of it, so a fuzzer reaches the code a client's bytes reach.
//! Nothing in the handler calls these; they exist because those functions are private to their
//! modules. The other inputs fuzzed are public already: sealed values
//! ([`crate::signing::SigningKeys::open`]) and HTML ([`crate::content::html::visible_text`]).

use url::Url;

use crate::{
    caller::Caller,
    config::AuthConfig,
    graph::GraphClient,
    inbound_auth::token::{self, Refusal},
    outbound::OutboundHttp,
    transport::envelope,
};

/// The envelope rules on a POST body to `/mcp`: the JSON-RPC method and tool as the request log
/// records them (only names the server knows, `tools` listing the tool names it serves), or the
/// JSON-RPC error code the client gets.
pub fn envelope(
    body: &[u8],
    tools: &[&'static str],
) -> Result<(Option<&'static str>, Option<&'static str>), i64> {
    envelope::facts_of(body, tools)
        .map(|facts| (facts.method, facts.tool))
        .map_err(|(code, _)| code)
}

/// The checks on an `Authorization` header value made before any key is looked up (bearer
/// scheme, token shape, JOSE header): the key id to look up, or the audit reason code.
pub fn jwt_header(authorization: &[u8]) -> Result<String, &'static str> {
    let mut headers = http::HeaderMap::new();
    let value =
        http::HeaderValue::from_bytes(authorization).map_err(|_| Refusal::NoToken.code())?;
    headers.insert(http::header::AUTHORIZATION, value);
    let token = token::bearer_token(&headers).map_err(Refusal::code)?;
    token::check_header(token).map_err(|invalid| Refusal::Invalid(invalid).code())
}

/// The rules on the claims (a JSON object) of a token whose signature, `exp`, `nbf`, `iss` and
/// `aud` were verified: the caller, or the audit reason code.
pub fn jwt_claims(config: &AuthConfig, claims: &[u8]) -> Result<Caller, &'static str> {
    // jsonwebtoken reads the claims into the same type with serde_json.
    let claims = serde_json::from_slice(claims).map_err(|_| "malformed_token")?;
    token::caller_from(config, claims, "token").map_err(|(refusal, _)| refusal.code())
}

/// Where a listing continues from a cursor's continuation (a next link relative to the Graph
/// API root under `graph_base`): the URL the next Graph request goes to, or `None`.
pub fn continuation(graph_base: &Url, relative: &str) -> Option<Url> {
    GraphClient::new(OutboundHttp::default(), graph_base).continuation_url(relative)
}

/// What becomes of a Graph `@odata.nextLink`: the continuation a cursor carries, if the link
/// points under the API root.
pub fn next_link(graph_base: &Url, link: &str) -> Option<String> {
    let graph = GraphClient::new(OutboundHttp::default(), graph_base);
    let url = graph.own_link(link)?;
    graph
        .cursor_for(&url)
        .map(|cursor| cursor.as_str().to_owned())
}
