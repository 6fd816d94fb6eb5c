//! The tools this server offers, one file per tool family, and the registry that serves them.
//!
//! A tool is a type implementing [`Tool`]: typed input and output (their JSON Schemas are
//! derived, so the advertised schema and the parser cannot disagree) plus a [`ToolSpec`] that
//! declares everything a reviewer or an administrator needs to know before enabling it: what it
//! changes, whether it reaches outside the tenant, and which Graph permissions it uses.
//!
//! The [`Registry`] turns tools into MCP: it validates arguments against the input type
//! (a failure is a tool result with `isError: true`, per SEP-1303, so the model can correct
//! itself) and answers with `structuredContent` plus the same JSON as text, as the spec asks
//! for clients that predate structured output.

mod server_info;
mod server_status;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use rmcp::{
    ErrorData, RoleServer,
    handler::server::common::{schema_for_output, schema_for_type},
    model::{CallToolResult, ContentBlock, JsonObject, ProtocolVersion, ToolAnnotations},
    service::RequestContext,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use server_info::ServerInfo;
pub use server_status::{OPERATOR_ROLE, ServerStatus, ToolSummary};

use crate::{
    config::Config,
    inbound_auth::{Access, Caller, ToolAccess},
    telemetry::RequestId,
};

/// What calling a tool does to the caller's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    ReadOnly,
    /// Creates data but never changes or removes what exists.
    Additive,
    Destructive,
}

/// A tool's declaration, fixed at compile time.
#[derive(Debug)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub effect: Effect,
    /// Whether the tool reaches systems outside this server (Graph counts).
    pub open_world: bool,
    /// What the caller must hold to see and call the tool.
    pub access: Access,
    /// Delegated Microsoft Graph permissions the tool's calls need; empty for local tools.
    pub graph_scopes: &'static [&'static str],
}

impl ToolSpec {
    fn annotations(&self) -> ToolAnnotations {
        ToolAnnotations::with_title(self.title)
            .read_only(self.effect == Effect::ReadOnly)
            .destructive(self.effect == Effect::Destructive)
            .open_world(self.open_world)
    }
}

/// The input of tools that take no arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// A tool failure the AI client can act on: what went wrong and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    pub message: String,
    pub next_step: String,
}

impl ToolError {
    pub fn new(message: impl Into<String>, next_step: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            next_step: next_step.into(),
        }
    }

    fn into_result(self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(format!(
            "{} What to do: {}",
            self.message, self.next_step
        ))])
    }
}

/// What a tool knows about the request it serves.
#[derive(Debug, Clone)]
pub struct ToolContext {
    pub request_id: Option<RequestId>,
    /// The authenticated caller. Always present behind the authentication layer; a request
    /// without one sees no tools and can call none.
    pub caller: Option<Arc<Caller>>,
    /// The protocol version in force for this request (negotiated, or from the header).
    pub protocol_version: ProtocolVersion,
}

impl ToolContext {
    pub fn from_request(context: &RequestContext<RoleServer>) -> Self {
        let parts = context.extensions.get::<http::request::Parts>();
        Self {
            request_id: parts.and_then(|parts| parts.extensions.get::<RequestId>().cloned()),
            caller: parts.and_then(|parts| parts.extensions.get::<Arc<Caller>>().cloned()),
            protocol_version: context
                .protocol_version()
                .unwrap_or(ProtocolVersion::V_2025_03_26),
        }
    }
}

/// One tool: typed input and output and the code that turns one into the other.
pub trait Tool: Send + Sync + 'static {
    type Input: DeserializeOwned + JsonSchema + Send + 'static;
    type Output: Serialize + JsonSchema + 'static;

    const SPEC: ToolSpec;

    fn call(
        &self,
        ctx: &ToolContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

type ToolFuture<'a> = Pin<Box<dyn Future<Output = CallToolResult> + Send + 'a>>;

/// [`Tool`] with its types erased so tools of every kind fit in one registry.
trait ErasedTool: Send + Sync {
    fn call<'a>(&'a self, ctx: &'a ToolContext, arguments: JsonObject) -> ToolFuture<'a>;
}

impl<T: Tool> ErasedTool for T {
    fn call<'a>(&'a self, ctx: &'a ToolContext, arguments: JsonObject) -> ToolFuture<'a> {
        Box::pin(async move {
            let input: T::Input = match serde_json::from_value(arguments.into()) {
                Ok(input) => input,
                Err(error) => {
                    return ToolError::new(
                        format!("The arguments for `{}` are invalid: {error}.", T::SPEC.name),
                        "Call the tool again with arguments that match its inputSchema.",
                    )
                    .into_result();
                }
            };
            match Tool::call(self, ctx, input).await {
                Ok(output) => match serde_json::to_value(&output) {
                    Ok(value) => CallToolResult::structured(value),
                    Err(_) => ToolError::new(
                        "The tool produced a result that could not be encoded.",
                        "Report this to the server's operators; retrying will not help.",
                    )
                    .into_result(),
                },
                Err(error) => error.into_result(),
            }
        })
    }
}

struct Entry {
    spec: &'static ToolSpec,
    definition: rmcp::model::Tool,
    tool: Box<dyn ErasedTool>,
}

/// Every tool this process serves, in registration order.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
    by_name: HashMap<&'static str, usize>,
}

impl Registry {
    pub fn register<T: Tool>(&mut self, tool: T) -> &mut Self {
        let spec = &T::SPEC;
        assert!(
            !self.by_name.contains_key(spec.name),
            "tool `{}` registered twice",
            spec.name
        );
        let definition =
            rmcp::model::Tool::new(spec.name, spec.description, schema_for_type::<T::Input>())
                .with_title(spec.title)
                .with_raw_output_schema(schema_for_output::<T::Output>())
                .with_annotations(spec.annotations());
        self.by_name.insert(spec.name, self.entries.len());
        self.entries.push(Entry {
            spec,
            definition,
            tool: Box::new(tool),
        });
        self
    }

    /// Every tool's name, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|entry| entry.spec.name).collect()
    }

    pub fn definition(&self, name: &str) -> Option<&rmcp::model::Tool> {
        self.entry(name).map(|entry| &entry.definition)
    }

    /// The tools this request's caller may call, and only those.
    pub fn visible_to(&self, ctx: &ToolContext) -> Vec<rmcp::model::Tool> {
        self.entries
            .iter()
            .filter(|entry| permits(ctx, entry.spec.access))
            .map(|entry| entry.definition.clone())
            .collect()
    }

    /// Runs a tool; an unknown name is a protocol error (-32602), as the spec shows.
    pub async fn call(
        &self,
        name: &str,
        ctx: &ToolContext,
        arguments: JsonObject,
    ) -> Result<CallToolResult, ErrorData> {
        // A tool the caller may not use is as unknown as one that does not exist. The HTTP layer
        // already answered such calls with a 403 challenge; this holds even if it did not.
        let entry = self
            .entry(name)
            .filter(|entry| permits(ctx, entry.spec.access))
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    "Unknown tool. Call tools/list for the tools available to you.",
                    None,
                )
            })?;
        Ok(entry.tool.call(ctx, arguments).await)
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).map(|&index| &self.entries[index])
    }
}

impl ToolAccess for Registry {
    fn access_for(&self, tool: &str) -> Option<Access> {
        self.entry(tool).map(|entry| entry.spec.access)
    }
}

fn permits(ctx: &ToolContext, access: Access) -> bool {
    ctx.caller.as_ref().is_some_and(|caller| caller.may(access))
}

/// The registry of every tool this build ships.
pub fn registry(config: &Config) -> Arc<Registry> {
    let mut registry = Registry::default();
    registry.register(ServerInfo);
    // The operator view lists every tool, itself included.
    let mut summaries: Vec<ToolSummary> = registry
        .entries
        .iter()
        .map(|entry| ToolSummary::of(entry.spec))
        .collect();
    summaries.push(ToolSummary::of(&ServerStatus::SPEC));
    registry.register(ServerStatus::new(
        config.auth.tenant_id.clone(),
        config.public_url.to_string(),
        summaries,
    ));
    Arc::new(registry)
}
