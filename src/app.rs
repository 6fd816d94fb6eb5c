//! The HTTP application: every route and the layers in front of them, in request order.
//!
//! ```text
//! request ─▶ catch panics ─▶ request log ─┬─ GET /  readiness (the host's probe: nothing else)
//!                                         └─ gateway proof ─┬─ GET /.well-known/oauth-protected-resource…
//!                                                           └─ POST /mcp  authenticate ─▶ envelope
//!                                                              rules ─▶ authorize tool ─▶ rmcp
//!                                                              (Host, Origin, Accept, dispatch)
//!                                                              ─▶ tool registry
//! ```
//!
//! Cross-cutting concerns are tower layers here; handlers and tools stay thin. Authentication
//! runs before the body is read, so an unauthenticated client cannot make the server read and
//! parse a megabyte.

use std::sync::Arc;

use axum::{Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    config::Config,
    hosting,
    inbound_auth::{
        self, InboundAuth, ToolAuthorization,
        gateway_proof::{self, ConfiguredProof, GatewayProof},
        metadata,
    },
    outbound::OutboundHttp,
    telemetry,
    tools::Registry,
    transport::{
        self, MAX_BODY_BYTES, McpServer,
        envelope::{self, EnvelopeRules},
    },
};

pub fn router(config: &Config, registry: Arc<Registry>, http: OutboundHttp) -> Router {
    let auth = InboundAuth::new(config, http);
    let envelope_rules = EnvelopeRules {
        max_body_bytes: MAX_BODY_BYTES,
        tool_names: registry.names().into(),
    };
    let tool_authorization = ToolAuthorization {
        auth: Arc::clone(&auth),
        tools: registry.clone(),
    };
    let mcp = Router::new()
        .route_service("/mcp", transport::service(config, McpServer::new(registry)))
        .route_layer(middleware::from_fn_with_state(
            tool_authorization,
            inbound_auth::authorize_tool,
        ))
        .route_layer(middleware::from_fn_with_state(
            envelope_rules,
            envelope::check,
        ))
        .route_layer(middleware::from_fn_with_state(
            auth,
            inbound_auth::authenticate,
        ));
    let mut behind_gateway = mcp.merge(metadata::routes(config));
    if let Some(proof) = &config.auth.gateway_proof {
        let proof = GatewayProof {
            header: proof.header.clone(),
            source: Arc::new(ConfiguredProof::new(&proof.values)),
        };
        behind_gateway =
            behind_gateway.route_layer(middleware::from_fn_with_state(proof, gateway_proof::check));
    }
    hosting::readiness()
        .merge(behind_gateway)
        .layer(middleware::from_fn(telemetry::request_log))
        .layer(CatchPanicLayer::new())
}
