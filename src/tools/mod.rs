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

pub mod delegated;
mod profile;
mod server_info;
mod server_status;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use rmcp::{
    ErrorData, RoleServer,
    handler::server::common::{schema_for_output, schema_for_type},
    model::{CallToolResult, ContentBlock, JsonObject, ProtocolVersion, ToolAnnotations},
    service::RequestContext,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use profile::GetMyProfile;
pub use server_info::ServerInfo;
pub use server_status::{OPERATOR_ROLE, ServerStatus, ToolSummary};

use tokio::time::Instant;

use crate::{
    caller::{Access, Caller},
    config::Config,
    inbound_auth::{ClaimsChallenge, ToolAccess},
    outbound::Call,
    telemetry::RequestId,
};
use delegated::SharedGraph;

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
#[derive(Clone)]
pub struct ToolContext {
    /// The request's id, as the request log names it (empty only outside the HTTP stack).
    pub request_id: String,
    /// The authenticated caller. Always present behind the authentication layer; a request
    /// without one sees no tools and can call none.
    pub caller: Option<Arc<Caller>>,
    /// Where a Conditional Access claims challenge goes (see [`ClaimsChallenge`]).
    pub claims_challenge: Option<ClaimsChallenge>,
    /// The protocol version in force for this request (negotiated, or from the header).
    pub protocol_version: ProtocolVersion,
    /// The whole tool call, retries included, ends by then.
    pub deadline: Instant,
    /// How long a tool call may take (what `deadline` was computed from).
    pub time_limit: Duration,
}

impl ToolContext {
    /// What this tool call's outbound calls carry: its deadline and request id.
    pub fn call(&self) -> Call<'_> {
        Call {
            deadline: self.deadline,
            request_id: &self.request_id,
        }
    }

    pub fn from_request(context: &RequestContext<RoleServer>, time_limit: Duration) -> Self {
        let parts = context.extensions.get::<http::request::Parts>();
        Self {
            request_id: parts
                .and_then(|parts| parts.extensions.get::<RequestId>())
                .map(|id| id.0.clone())
                .unwrap_or_default(),
            caller: parts.and_then(|parts| parts.extensions.get::<Arc<Caller>>().cloned()),
            claims_challenge: parts
                .and_then(|parts| parts.extensions.get::<ClaimsChallenge>().cloned()),
            deadline: Instant::now() + time_limit,
            time_limit,
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
pub struct Registry {
    entries: Vec<Entry>,
    by_name: HashMap<&'static str, usize>,
    time_limit: Duration,
}

impl Registry {
    /// An empty registry whose tool calls each get `time_limit`.
    pub fn new(time_limit: Duration) -> Self {
        Self {
            entries: Vec::new(),
            by_name: HashMap::new(),
            time_limit,
        }
    }

    /// How long one tool call may take.
    pub fn time_limit(&self) -> Duration {
        self.time_limit
    }

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
        // A backstop: tools keep their deadline themselves, this catches one that does not.
        let backstop = ctx.deadline + Duration::from_secs(1);
        match tokio::time::timeout_at(backstop, entry.tool.call(ctx, arguments)).await {
            Ok(result) => Ok(result),
            Err(_) => Ok(ToolError::new(
                format!(
                    "`{name}` did not finish within its {}-second limit.",
                    self.time_limit.as_secs()
                ),
                "Try again; if you asked for much data, ask for less.",
            )
            .into_result()),
        }
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
pub fn registry(config: &Config, graph: SharedGraph) -> Arc<Registry> {
    let mut registry = Registry::new(config.outbound.tool_deadline);
    registry.register(ServerInfo);
    registry.register(GetMyProfile::new(graph));
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
