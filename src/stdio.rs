//! `handler stdio`: the same tools for one user, over MCP's stdio transport, signed in as a
//! public client of the user's own app registration. For VS Code, Claude Desktop and any MCP
//! client that starts its servers as processes, with no Azure at all.
//!
//! What differs from the server is only where things come from; the tools are the same code:
//!
//! - **Transport**: JSON-RPC on stdin and stdout (rmcp's stdio transport). Nothing listens: no
//!   port is opened, except the loopback listener of a `--browser` sign-in while it lasts
//!   ([`crate::identity::public_client`]). stdout carries MCP messages and nothing else; logs
//!   and the sign-in prompt go to stderr.
//! - **Caller**: no token arrives with a request. The caller is the one user who signed in to
//!   the process; who they are (tenant, object id) comes from the ID token of the sign-in. Until
//!   then tools are listed for a user without an identity, and a tool that needs Graph waits for
//!   the sign-in. The user is also the server's only operator: `server_status` is theirs, and
//!   the write tools need only `write` in `MCP_TOOLSETS` (every write still asks for a
//!   confirmation).
//! - **Graph tokens**: from the user's refresh token ([`GraphTokens::PublicClient`]), not the
//!   on-behalf-of exchange; no managed identity, no Key Vault.
//! - **Cursors and confirmations** are sealed with a key of this process: they work across the
//!   calls of one run, which is all a single local user needs.
//!
//! `handler logout` ([`logout`]) removes the stored sign-in.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use rmcp::ServiceExt;

use crate::{
    caller::{Caller, CallerKind},
    config::{StdioConfig, settings::MCP_TOKEN_STORE_DIR},
    graph::GraphClient,
    identity::{
        GraphTokens,
        public_client::{Flow, PublicClient, Settings, TokenStore},
    },
    outbound::OutboundHttp,
    signing::SigningKeys,
    tools::{self, OPERATOR_ROLE, ServedAt, WRITER_ROLE, delegated::DelegatedGraph},
    transport::{LocalUser, McpServer},
};

/// Serves MCP on stdin and stdout until stdin closes. The sign-in starts at once, in the
/// background; `store` keeps it between runs.
pub async fn serve(
    config: StdioConfig,
    http: OutboundHttp,
    store: TokenStore,
    flow: Flow,
) -> Result<(), String> {
    http.warm_up();
    let resource = config
        .graph_base_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let client = PublicClient::new(
        Settings {
            authority_host: config.authority_host.clone(),
            tenant_id: config.tenant_id.clone(),
            client_id: config.client_id.clone(),
            sign_in_permissions: tools::required_permissions(&config.toolsets)
                .iter()
                .map(|permission| format!("{resource}/{permission}"))
                .collect(),
            flow,
        },
        http.clone(),
        store,
        Box::new(|line| eprintln!("{line}")),
    );
    client.start();
    let graph = Arc::new(DelegatedGraph::new(
        GraphTokens::PublicClient(Arc::clone(&client)),
        GraphClient::new(http, &config.graph_base_url),
        &config.graph_base_url,
        config.client_id.clone(),
        SigningKeys::for_this_process(),
    ));
    let registry = tools::registry(
        &config.toolsets,
        config.tool_deadline,
        ServedAt {
            tenant_id: config.tenant_id.clone(),
            endpoint: "stdio".to_owned(),
        },
        graph,
    );
    let server = McpServer::for_local_user(registry, local_user(&config, client));
    tracing::info!("serving MCP over stdio");
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| format!("the MCP session did not start: {error}"))?;
    running
        .waiting()
        .await
        .map_err(|error| format!("the MCP session ended abnormally: {error}"))?;
    Ok(())
}

/// The caller of every request: the user who signed in, or, until someone has, a user without
/// an identity (enough to list the tools; a tool that needs Graph waits for the sign-in).
fn local_user(config: &StdioConfig, client: Arc<PublicClient>) -> LocalUser {
    let anyone = Arc::new(Caller {
        tenant_id: config.tenant_id.clone(),
        object_id: String::new(),
        client_app_id: config.client_id.clone(),
        kind: CallerKind::User,
        scopes: Vec::new(),
        roles: vec![OPERATOR_ROLE.to_owned(), WRITER_ROLE.to_owned()],
        token: None,
    });
    Arc::new(move || match client.account() {
        Some(account) => Arc::new(Caller {
            tenant_id: account.tenant_id,
            object_id: account.object_id,
            ..(*anyone).clone()
        }),
        None => Arc::clone(&anyone),
    })
}

/// `handler logout`: removes the stored sign-in; what was removed, for the user.
pub fn logout(env: &HashMap<String, String>) -> Result<String, String> {
    let dir = env
        .get(MCP_TOKEN_STORE_DIR.name)
        .map(|dir| dir.trim())
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    if dir.as_ref().is_some_and(|dir| !dir.is_absolute()) {
        return Err(format!(
            "{} is not an absolute path",
            MCP_TOKEN_STORE_DIR.name
        ));
    }
    let store = TokenStore::locate(dir, &|name| env.get(name).cloned())?;
    let path = store
        .path()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let who = match store.stored() {
        Ok(Some(stored)) => format!(
            "the sign-in of {} (tenant {}, app {})",
            stored.account.username, stored.binding.tenant_id, stored.binding.client_id
        ),
        Ok(None) => String::new(),
        Err(_) => "a sign-in this handler does not use".to_owned(),
    };
    match store.remove() {
        Ok(true) => Ok(format!(
            "Removed {path}: {who}. Its refresh token is gone from this machine; Entra ID keeps \
             it valid until it expires or an administrator revokes your sessions.\n"
        )),
        Ok(false) => Ok(format!(
            "No sign-in is stored at {path}; nothing to remove.\n"
        )),
        Err(error) => Err(format!("{path} cannot be removed: {error}")),
    }
}
