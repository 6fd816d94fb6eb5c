//! The claims of a verified token through the claim rules (src/inbound_auth/token.rs): a caller
//! comes out only for the configured tenant, with a GUID object id and client id, and either
//! the required scope (a user) or an allowed app role (an application).
#![no_main]

use std::{sync::LazyLock, time::Duration};

use libfuzzer_sys::fuzz_target;
use m365_mcp::{caller::CallerKind, config::AuthConfig, fuzzing};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

static CONFIG: LazyLock<AuthConfig> = LazyLock::new(|| AuthConfig {
    tenant_id: TENANT.into(),
    client_id: "5e3b9a55-9d1b-4c43-a43c-1b1b4e8a0001".into(),
    app_id_uri: "api://5e3b9a55-9d1b-4c43-a43c-1b1b4e8a0001".into(),
    required_scope: "user_impersonation".into(),
    allowed_client_apps: Vec::new(),
    allowed_app_roles: vec!["MCP.Operator".into()],
    accept_v1_tokens: false,
    authority_host: "https://login.microsoftonline.com".parse().unwrap(),
    jwks_refresh_cooldown: Duration::from_secs(300),
    gateway_proof: None,
});

fuzz_target!(|claims: &[u8]| {
    let Ok(caller) = fuzzing::jwt_claims(&CONFIG, claims) else {
        return;
    };
    assert_eq!(caller.tenant_id, TENANT);
    for id in [&caller.object_id, &caller.client_app_id] {
        assert_eq!(id.len(), 36, "{id}");
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{id}"
        );
    }
    match caller.kind {
        CallerKind::User => assert!(
            caller
                .scopes
                .iter()
                .any(|scope| scope == "user_impersonation")
        ),
        CallerKind::Application => {
            assert!(caller.roles.iter().any(|role| role == "MCP.Operator"))
        }
    }
});
