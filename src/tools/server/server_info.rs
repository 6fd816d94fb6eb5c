//! `server_info`: who this server is and which protocol revision the request runs under.
//!
//! Harmless by design: it touches no user data, so it proves the whole request path (transport,
//! registry, schemas) end to end before any Graph permission is granted.

use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    caller::Access,
    config::Toolset,
    protocol::{SERVER_NAME, SERVER_VERSION, SUPPORTED_PROTOCOL_VERSIONS},
    tools::{Effect, GraphPermissions, NoArguments, Tool, ToolContext, ToolError, ToolSpec},
};

pub struct ServerInfo;

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfoOutput {
    /// The server implementation's name.
    pub name: String,
    /// The server implementation's version.
    pub version: String,
    /// The MCP protocol revision this request was served under.
    pub protocol_version: String,
    /// Every MCP protocol revision this server implements.
    pub supported_protocol_versions: Vec<String>,
}

impl Tool for ServerInfo {
    type Input = NoArguments;
    type Output = ServerInfoOutput;

    const SPEC: ToolSpec = ToolSpec {
        name: "server_info",
        title: "Server information",
        description: "Returns this MCP server's name and version and the MCP protocol revision \
                      in use. Touches no user data.",
        toolset: Toolset::Server,
        effect: Effect::ReadOnly,
        open_world: false,
        access: Access::AnyCaller,
        graph: GraphPermissions::NONE,
    };

    async fn call(
        &self,
        ctx: &ToolContext,
        _input: NoArguments,
    ) -> Result<ServerInfoOutput, ToolError> {
        Ok(ServerInfoOutput {
            name: SERVER_NAME.to_owned(),
            version: SERVER_VERSION.to_owned(),
            protocol_version: ctx.protocol_version.to_string(),
            supported_protocol_versions: SUPPORTED_PROTOCOL_VERSIONS
                .iter()
                .map(ToString::to_string)
                .collect(),
        })
    }
}
