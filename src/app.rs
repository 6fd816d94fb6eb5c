//! The HTTP application: every route and the layers in front of them, in request order.
//!
//! ```text
//! request ─▶ catch panics ─▶ drain unread body ─▶ request log ─▶ route label
//!   ├─ GET /  readiness (the host's probe: nothing else)
//!   ├─ gateway proof ─┬─ GET /.well-known/oauth-protected-resource…
//!   │                 └─ broker mode: /authorize, /token, /register, … (authorization)
//!   └─ POST /mcp  process slot ─▶ gateway proof ─▶ authenticate ─▶ caller's slot ─▶ envelope
//!                 rules ─▶ authorize tool ─▶ rmcp (Host, Origin, Accept, dispatch) ─▶ tool
//!                 registry ─▶ on-behalf-of (managed identity) ─▶ Graph
//! ```
//!
//! The two slots ([`overload`]) bound the `/mcp` requests in flight: all of them, counted
//! before anything is checked (so unauthenticated load is bounded too), and each caller's,
//! counted once the token says who it is. A request that gets no slot is answered 503 with
//! `Retry-After` at once.
//!
//! Cross-cutting concerns are tower layers here; handlers and tools stay thin. Authentication
//! runs before the body is read, so an unauthenticated client cannot make the server parse a
//! megabyte. A refused request's unread body is only read and discarded (up to
//! `DRAIN_LIMIT_BYTES`, see [`hosting::keep_connection_usable`]) so that the client's
//! connection stays usable for its next request.

use std::sync::Arc;

use axum::{Router, middleware, response::IntoResponse};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::{
    authorization::{self, Broker},
    config::{Config, ProofSourceConfig},
    graph::GraphClient,
    hosting,
    identity::{GraphTokens, ManagedIdentity, obo::OnBehalfOf},
    inbound_auth::{
        self, InboundAuth, ToolAuthorization,
        gateway_proof::{self, ConfiguredProof, GatewayProof, ProofSource},
        metadata,
    },
    outbound::OutboundHttp,
    overload::{self, Overload},
    secrets::{KeyVaultSecrets, gateway_proof::VaultProof},
    signing::SigningKeys,
    telemetry,
    tools::{self, Registry, delegated::DelegatedGraph},
    transport::{
        self, MAX_BODY_BYTES, McpServer,
        envelope::{self, EnvelopeRules},
    },
};

/// The largest refused request body read (and discarded) so that its connection stays usable;
/// a larger one gets `Connection: close`.
const DRAIN_LIMIT_BYTES: usize = 4 * MAX_BODY_BYTES;

/// Everything the request path needs, built from the configuration: the managed identity, the
/// on-behalf-of exchange, the Graph client, the tools, Key Vault (when configured).
pub fn build(config: &Config, http: OutboundHttp) -> Router {
    let outbound = &config.outbound;
    let identity = ManagedIdentity::new(outbound.managed_identity_client_id.clone(), http.clone());
    let obo = OnBehalfOf::new(
        http.clone(),
        format!(
            "{}/{}/oauth2/v2.0/token",
            config.auth.authority_host.as_str().trim_end_matches('/'),
            config.auth.tenant_id
        ),
        config.auth.client_id.clone(),
        identity.clone(),
    );
    // One Key Vault client for every secret: the gateway proof, the signing key, the broker's
    // sealing key (one cache, one managed-identity token, one re-read at a time per secret).
    let secrets = outbound.key_vault_url.as_ref().map(|vault| {
        KeyVaultSecrets::new(
            vault.clone(),
            identity.clone(),
            http.clone(),
            outbound.secret_refresh,
        )
    });
    let keys = match (&outbound.signing_key_secret, &secrets) {
        (Some(name), Some(secrets)) => SigningKeys::from_vault(Arc::clone(secrets), name.clone()),
        _ => {
            tracing::warn!(
                "MCP_SIGNING_KEY_SECRET_NAME is not set: cursors and confirmations are signed \
                 with a key of this process alone, so no other instance accepts them"
            );
            SigningKeys::for_this_process()
        }
    };
    let graph = Arc::new(DelegatedGraph::new(
        GraphTokens::OnBehalfOf(Box::new(obo)),
        GraphClient::new(http.clone(), &outbound.graph_base_url),
        &outbound.graph_base_url,
        config.auth.client_id.clone(),
        keys,
    ));
    let registry = tools::registry(
        &config.toolsets,
        config.outbound.tool_deadline,
        tools::ServedAt {
            tenant_id: config.auth.tenant_id.clone(),
            endpoint: config.public_url.to_string(),
        },
        graph,
    );

    let gateway_proof = match &config.auth.gateway_proof {
        None => None,
        Some(proof) => {
            let source: Arc<dyn ProofSource> = match &proof.source {
                ProofSourceConfig::Values(values) => Arc::new(ConfiguredProof::new(values)),
                ProofSourceConfig::KeyVaultSecret {
                    name,
                    rotation_grace,
                } => {
                    let secrets = secrets
                        .clone()
                        .expect("configuration checks a vault is set");
                    Arc::new(VaultProof::new(secrets, name.clone(), *rotation_grace))
                }
            };
            Some(GatewayProof {
                header: proof.header.clone(),
                source,
            })
        }
    };
    router(config, registry, http, gateway_proof, &identity, secrets)
}

fn router(
    config: &Config,
    registry: Arc<Registry>,
    http: OutboundHttp,
    gateway_proof: Option<GatewayProof>,
    identity: &ManagedIdentity,
    secrets: Option<Arc<KeyVaultSecrets>>,
) -> Router {
    let auth = InboundAuth::new(config, http.clone());
    let envelope_rules = EnvelopeRules {
        max_body_bytes: MAX_BODY_BYTES,
        tool_names: registry.names().into(),
    };
    let tool_authorization = ToolAuthorization {
        auth: Arc::clone(&auth),
        tools: registry.clone(),
    };
    let gateway_proof =
        gateway_proof.map(|proof| middleware::from_fn_with_state(proof, gateway_proof::check));
    let overload = Overload::new(config.concurrency);
    let mcp = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            overload.clone(),
            overload::admit,
        ))
        .option_layer(gateway_proof.clone())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&auth),
            inbound_auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            overload,
            overload::per_caller,
        ))
        .layer(middleware::from_fn_with_state(
            envelope_rules,
            envelope::check,
        ))
        .layer(middleware::from_fn_with_state(
            tool_authorization,
            inbound_auth::authorize_tool,
        ))
        .map_response(IntoResponse::into_response)
        .service(transport::service(config, McpServer::new(registry)));
    let mut metadata = metadata::routes(config);
    if let Some(broker_config) = config.authorization.broker() {
        let broker = Broker::new(
            config,
            broker_config,
            &http,
            identity,
            Arc::clone(&auth),
            secrets,
        );
        metadata = metadata.merge(authorization::routes(broker, broker_config));
    }
    let metadata = metadata.route_layer(ServiceBuilder::new().option_layer(gateway_proof));
    hosting::readiness()
        .merge(metadata)
        .route_service("/mcp", mcp)
        .route_layer(middleware::from_fn(telemetry::route_label))
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::new())
                .layer(middleware::from_fn_with_state(
                    DRAIN_LIMIT_BYTES,
                    hosting::keep_connection_usable,
                ))
                .layer(middleware::from_fn(telemetry::request_log)),
        )
}
