//! `server_status`: for operators (app role `MCP.Operator`), what this server is and what it
//! may do with Microsoft Graph: each tool with the access it requires, the Graph permissions it
//! uses and whether it changes data. Platform teams use it to review least privilege against the
//! app registration's consented permissions.

use std::time::Instant;

use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    caller::Access,
    config::Toolset,
    protocol::{SERVER_NAME, SERVER_VERSION},
    tools::{Effect, GraphPermissions, NoArguments, Tool, ToolContext, ToolError, ToolSpec},
};

pub const OPERATOR_ROLE: &str = "MCP.Operator";

pub struct ServerStatus {
    started: Instant,
    tenant_id: String,
    public_url: String,
    tools: Vec<ToolSummary>,
}

impl ServerStatus {
    pub fn new(tenant_id: String, public_url: String, tools: Vec<ToolSummary>) -> Self {
        Self {
            started: Instant::now(),
            tenant_id,
            public_url,
            tools,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolSummary {
    pub name: String,
    pub toolset: String,
    /// `any caller`, `user`, `user with scopes …`, `app role …` or `user with app role …`.
    pub requires: String,
    /// Delegated Microsoft Graph permissions the tool uses.
    pub graph_scopes: Vec<String>,
    /// Of those, the ones it does without (doing less) when they are not consented.
    pub optional_graph_scopes: Vec<String>,
    /// `read-only`, `additive` or `destructive`.
    pub effect: String,
}

impl ToolSummary {
    pub fn of(spec: &ToolSpec) -> Self {
        Self {
            name: spec.name.to_owned(),
            toolset: spec.toolset.name().to_owned(),
            requires: match spec.access {
                Access::AnyCaller => "any caller".to_owned(),
                Access::User { scopes: [] } => "user".to_owned(),
                Access::User { scopes } => format!("user with scopes {}", scopes.join(" ")),
                Access::AppRole(role) => format!("app role {role}"),
                Access::UserWithRole(role) => format!("user with app role {role}"),
            },
            graph_scopes: spec.graph.all().map(str::to_owned).collect(),
            optional_graph_scopes: spec
                .graph
                .optional
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            effect: match spec.effect {
                Effect::ReadOnly => "read-only",
                Effect::Additive => "additive",
                Effect::Destructive => "destructive",
            }
            .to_owned(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatusOutput {
    pub name: String,
    pub version: String,
    pub uptime_seconds: u64,
    /// The Entra tenant whose tokens this server accepts.
    pub tenant_id: String,
    /// The MCP endpoint as clients reach it.
    pub public_url: String,
    /// Every tool this server serves, including the ones the caller may not see.
    pub tools: Vec<ToolSummary>,
}

impl Tool for ServerStatus {
    type Input = NoArguments;
    type Output = ServerStatusOutput;

    const SPEC: ToolSpec = ToolSpec {
        name: "server_status",
        title: "Server status (operators)",
        description: "For operators: version, uptime, tenant, public URL, and every tool with \
                      the access and Graph permissions it needs.",
        toolset: Toolset::Server,
        effect: Effect::ReadOnly,
        open_world: false,
        access: Access::AppRole(OPERATOR_ROLE),
        graph: GraphPermissions::NONE,
    };

    async fn call(
        &self,
        _ctx: &ToolContext,
        _input: NoArguments,
    ) -> Result<ServerStatusOutput, ToolError> {
        Ok(ServerStatusOutput {
            name: SERVER_NAME.to_owned(),
            version: SERVER_VERSION.to_owned(),
            uptime_seconds: self.started.elapsed().as_secs(),
            tenant_id: self.tenant_id.clone(),
            public_url: self.public_url.clone(),
            tools: self.tools.clone(),
        })
    }
}
