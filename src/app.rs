//! The HTTP application: every route and the layers in front of them, in request order.
//!
//! ```text
//! request ─▶ catch panics ─▶ request log ─┬─ GET /      readiness
//!                                         └─ POST /mcp  envelope rules ─▶ rmcp (Host, Origin,
//!                                                       Accept, dispatch) ─▶ tool registry
//! ```
//!
//! Cross-cutting concerns are tower layers here; handlers and tools stay thin.

use std::sync::Arc;

use axum::{Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    config::Config,
    hosting, telemetry,
    tools::Registry,
    transport::{
        self, MAX_BODY_BYTES, McpServer,
        envelope::{self, EnvelopeRules},
    },
};

pub fn router(config: &Config, registry: Arc<Registry>) -> Router {
    let envelope_rules = EnvelopeRules {
        max_body_bytes: MAX_BODY_BYTES,
        tool_names: registry.names().into(),
    };
    let mcp = Router::new()
        .route_service("/mcp", transport::service(config, McpServer::new(registry)))
        .layer(middleware::from_fn_with_state(
            envelope_rules,
            envelope::check,
        ));
    hosting::readiness()
        .merge(mcp)
        .layer(middleware::from_fn(telemetry::request_log))
        .layer(CatchPanicLayer::new())
}
