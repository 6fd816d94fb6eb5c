//! Inbound authorization: no request reaches a tool without a token this server validated
//! itself, even behind APIM (which is the first wall, not the only one).
//!
//! In request order, as tower layers around `/mcp` (see [`crate::app`]):
//!
//! 1. [`gateway_proof`]: the request came through our gateway (when configured).
//! 2. [`authenticate`]: the bearer token is an RS256 Entra token from the configured tenant, for
//!    this API, carrying the required scope (users) or an admitted app role (applications),
//!    from an allowed client application. The result is a [`Caller`] in the request extensions.
//!    Every request and every method is authenticated: a session never stands in for a token.
//! 3. [`authorize_tool`]: for `tools/call`, the caller holds what that tool declares it needs
//!    ([`Access`]). Calling a tool that needs scopes the user's token lacks is a 403
//!    `insufficient_scope` challenge naming them, so a client can step up. A tool gated by an
//!    app role, or one that acts for a user when the caller is an application, is a plain 403
//!    saying who can fix it (an administrator assigns the role), with no scope challenge: no
//!    scope can satisfy it. `tools/list` shows each caller only the tools it may call, so a
//!    well-behaved client never gets there.
//!
//! [`metadata`] serves the protected-resource metadata document the challenges point to, and
//! [`challenge`] shapes every refusal.

pub mod challenge;
pub mod gateway_proof;
pub mod keys;
pub mod metadata;
pub mod token;
pub mod validated;

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use crate::{
    caller::{Access, Caller, CallerKind},
    config::Config,
    outbound::OutboundHttp,
    telemetry::{AuthFacts, RpcFacts},
};
use challenge::Challenges;
use keys::SigningKeys;
use token::TokenValidator;

/// Where a tool reports that Conditional Access wants the user to sign in again: the
/// on-behalf-of exchange answered with a claims challenge. [`authenticate`] gives every request
/// one and turns a filled one into the 401 challenge Entra's on-behalf-of documentation
/// prescribes, because only a new sign-in by the client can satisfy it.
#[derive(Clone, Default)]
pub struct ClaimsChallenge(Arc<std::sync::Mutex<Option<String>>>);

impl ClaimsChallenge {
    /// Records the claims (the JSON Entra returned).
    pub fn demand(&self, claims: String) {
        *self.0.lock().expect("claims challenge lock") = Some(claims);
    }

    fn take(&self) -> Option<String> {
        self.0.lock().expect("claims challenge lock").take()
    }
}

/// Looks up what a tool needs; implemented by the tool registry.
pub trait ToolAccess: Send + Sync + 'static {
    /// `None` for a name that is not a tool (the registry answers it as unknown).
    fn access_for(&self, tool: &str) -> Option<Access>;
}

/// Everything the authentication layers share.
pub struct InboundAuth {
    validator: TokenValidator,
    challenges: Challenges,
}

impl InboundAuth {
    pub fn new(config: &Config, http: OutboundHttp) -> Arc<Self> {
        let auth = Arc::new(config.auth.clone());
        let keys = SigningKeys::new(http, auth.v2_issuer(), auth.jwks_refresh_cooldown);
        Arc::new(Self {
            validator: TokenValidator::new(auth, keys),
            challenges: Challenges::new(config),
        })
    }
}

impl InboundAuth {
    /// Validates `token` as if it came in an `Authorization` header: the broker checks the
    /// access token Entra issued it before handing it to a client. The refusal's audit code on
    /// failure.
    pub async fn validate_bearer(&self, token: &str) -> Result<Caller, &'static str> {
        let mut headers = http::HeaderMap::new();
        let value =
            http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| "malformed")?;
        headers.insert(http::header::AUTHORIZATION, value);
        self.validator
            .validate(&headers)
            .await
            .map(Arc::unwrap_or_clone)
            .map_err(|(refusal, _)| refusal.code())
    }
}

/// Validates the token; on success the [`Caller`] goes into the request extensions.
pub async fn authenticate(
    State(auth): State<Arc<InboundAuth>>,
    mut request: Request,
    next: Next,
) -> Response {
    match auth.validator.validate(request.headers()).await {
        Ok(caller) => {
            let identity = caller.identity();
            let claims_challenge = ClaimsChallenge::default();
            request.extensions_mut().insert(caller);
            request.extensions_mut().insert(claims_challenge.clone());
            let mut response = next.run(request).await;
            if let Some(claims) = claims_challenge.take() {
                let mut challenge = auth.challenges.claims(&claims);
                challenge
                    .extensions_mut()
                    .insert(AuthFacts::refused("claims_challenge", Some(identity)));
                return challenge;
            }
            // A layer further in (tool authorization) may already have recorded a refusal.
            if response.extensions().get::<AuthFacts>().is_none() {
                response
                    .extensions_mut()
                    .insert(AuthFacts::accepted(identity));
            }
            response
        }
        Err((refusal, identity)) => {
            let mut response = auth.challenges.refusal(refusal);
            response
                .extensions_mut()
                .insert(AuthFacts::refused(refusal.code(), identity));
            response
        }
    }
}

/// The state [`authorize_tool`] needs.
#[derive(Clone)]
pub struct ToolAuthorization {
    pub auth: Arc<InboundAuth>,
    pub tools: Arc<dyn ToolAccess>,
}

/// Refuses `tools/call` for a tool the caller may not use, with a step-up challenge.
pub async fn authorize_tool(
    State(state): State<ToolAuthorization>,
    request: Request,
    next: Next,
) -> Response {
    let tool = request
        .extensions()
        .get::<RpcFacts>()
        .filter(|rpc| rpc.method == Some("tools/call"))
        .and_then(|rpc| rpc.tool);
    let caller = request.extensions().get::<Arc<Caller>>().cloned();
    let (Some(tool), Some(caller)) = (tool, caller) else {
        return next.run(request).await;
    };
    let Some(access) = state.tools.access_for(tool) else {
        return next.run(request).await;
    };
    if caller.may(access) {
        return next.run(request).await;
    }
    let challenges = &state.auth.challenges;
    let mut response = match access {
        Access::User { scopes } if caller.kind == CallerKind::User => {
            let mut needed = vec![challenges.base_scope().to_owned()];
            needed.extend(scopes.iter().map(|scope| challenges.scope(scope)));
            challenges.insufficient_scope(
                &needed,
                "This tool needs a scope the access token does not carry.",
            )
        }
        Access::User { .. } => challenges.forbidden(
            "user_required",
            "This tool acts on a signed-in user's behalf, and the caller is an application: no \
             scope or role changes that. Call it with a token for a signed-in user.",
        ),
        Access::UserWithRole(_) if caller.kind == CallerKind::Application => challenges.forbidden(
            "user_required",
            "This tool acts on a signed-in user's behalf, and the caller is an application: no \
             scope or role changes that. Call it with a token for a signed-in user.",
        ),
        Access::AppRole(role) | Access::UserWithRole(role) => challenges.forbidden(
            "app_role_required",
            &format!(
                "This tool needs the app role `{role}` of this server, which the caller does not \
                 hold, and no scope can grant it: an administrator must assign the role `{role}` \
                 to the user (or a group they are in) or grant it to the calling application, \
                 in the Entra admin center under Enterprise applications > this server > Users \
                 and groups. Then get a new token."
            ),
        ),
        Access::AnyCaller => unreachable!("every caller may use it"),
    };
    response.extensions_mut().insert(AuthFacts::refused(
        "tool_not_permitted",
        Some(caller.identity()),
    ));
    response
}
