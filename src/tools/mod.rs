//! The tools this server offers, one small file per tool, grouped by toolset, and the registry
//! that serves them.
//!
//! A tool is a type implementing [`Tool`] (tools that touch no Microsoft 365 data) or
//! [`GraphTool`] (every other one): typed input and output, whose JSON Schemas are derived so the
//! advertised schema and the parser cannot disagree, and a [`ToolSpec`] declaring everything a
//! reviewer or an administrator needs before enabling it: its toolset, what it changes, who may
//! call it, and the delegated Graph permissions it asks for. A [`GraphTool`] is handed a
//! [`delegated::Session`] holding a Graph token for exactly its declared permissions; the
//! session explains every failure in words the AI client can act on.
//!
//! Adding a tool: one file under its toolset's folder, one line in [`every_tool`].
//!
//! The [`Registry`] turns tools into MCP: it serves the enabled toolsets' tools, shows each
//! caller only those it may call, validates arguments against the input type (a failure is a
//! tool result with `isError: true`, per SEP-1303, so the model can correct itself), and
//! answers with `structuredContent` plus a short text rendering of it.

mod arguments;
mod calendar;
pub mod delegated;
mod files;
mod mail;
mod people;
mod profile;
mod search;
mod server;
mod shapes;
mod tasks;
pub mod untrusted;
mod write;

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};

use rmcp::{
    ErrorData,
    handler::server::common::{schema_for_output, schema_for_type},
    model::{CallToolResult, ContentBlock, JsonObject, ProtocolVersion, ToolAnnotations},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::time::Instant;

pub use server::{OPERATOR_ROLE, ToolSummary};

use crate::{
    caller::{Access, Caller},
    config::{EnabledToolsets, Toolset},
    inbound_auth::{ClaimsChallenge, ToolAccess},
    outbound::Call,
    telemetry::{CallRecord, RequestId},
};
use delegated::{DelegatedGraph, Session};

/// The app role a user needs for the write tools.
pub const WRITER_ROLE: &str = "MCP.Writer";

/// What calling a tool does to the caller's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    ReadOnly,
    /// Creates data but never changes or removes what exists.
    Additive,
    Destructive,
}

/// The delegated Microsoft Graph permissions a tool asks the on-behalf-of exchange for: always
/// the `required` ones, and the `optional` ones when the tenant consented to them (without
/// them, the tool does less and says so).
#[derive(Debug, Clone, Copy)]
pub struct GraphPermissions {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

impl GraphPermissions {
    pub const NONE: GraphPermissions = GraphPermissions::only(&[]);

    pub const fn only(required: &'static [&'static str]) -> Self {
        Self {
            required,
            optional: &[],
        }
    }

    /// Every permission the tool may ask for.
    pub fn all(&self) -> impl Iterator<Item = &'static str> {
        self.required.iter().chain(self.optional).copied()
    }
}

/// A tool's declaration, fixed at compile time.
#[derive(Debug)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    /// When to use the tool, in a sentence or two: it is sent to the model with every turn.
    pub description: &'static str,
    pub toolset: Toolset,
    pub effect: Effect,
    /// Whether the tool reaches systems outside this server (Graph counts).
    pub open_world: bool,
    /// What the caller must hold to see and call the tool.
    pub access: Access,
    pub graph: GraphPermissions,
}

impl ToolSpec {
    /// The hints clients show or act on, defaults left out: the title is the tool's own,
    /// `destructiveHint` means nothing for a read-only tool, `openWorldHint` is true unless
    /// said otherwise.
    fn annotations(&self) -> ToolAnnotations {
        let mut annotations = ToolAnnotations::new();
        if self.effect == Effect::ReadOnly {
            annotations = annotations.read_only(true);
        } else {
            annotations = annotations.destructive(self.effect == Effect::Destructive);
        }
        if !self.open_world {
            annotations = annotations.open_world(false);
        }
        annotations
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

    /// An argument the caller can fix; says which and how.
    pub fn argument(name: &str, problem: impl std::fmt::Display, fix: impl Into<String>) -> Self {
        Self::new(format!("The argument `{name}` is invalid: {problem}."), fix)
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
    /// What the request event says about this call's exchange, Graph calls and outcome.
    pub record: CallRecord,
    /// The protocol version in force for this request (negotiated, or from the header).
    pub protocol_version: ProtocolVersion,
    /// The whole tool call, retries included, ends by then.
    pub deadline: Instant,
    /// How long a tool call may take (what `deadline` was computed from).
    pub time_limit: Duration,
    /// Microsoft 365 on behalf of the caller.
    pub graph: Arc<DelegatedGraph>,
}

impl ToolContext {
    /// What this tool call's outbound calls carry: its deadline and request id.
    pub fn call(&self) -> Call<'_> {
        Call {
            deadline: self.deadline,
            request_id: &self.request_id,
            record: &self.record,
        }
    }
}

/// One tool: typed input and output and the code that turns one into the other.
pub trait Tool: Send + Sync + 'static {
    type Input: DeserializeOwned + JsonSchema + Send + 'static;
    type Output: Serialize + JsonSchema + Send + 'static;

    const SPEC: ToolSpec;

    fn call(
        &self,
        ctx: &ToolContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;

    /// The text block of the result, for clients that show text; `None`: the structured
    /// content's JSON itself.
    fn render(_output: &Self::Output) -> Option<String> {
        None
    }
}

/// A tool that reads or writes Microsoft 365 data on the caller's behalf. The session it gets
/// holds a Graph token for exactly [`ToolSpec::graph`]; failures to get one never reach it.
pub trait GraphTool: Send + Sync + 'static {
    type Input: DeserializeOwned + JsonSchema + Send + 'static;
    type Output: Serialize + JsonSchema + Send + 'static;

    const SPEC: ToolSpec;

    fn call(
        &self,
        session: &Session<'_>,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;

    /// As [`Tool::render`].
    fn render(_output: &Self::Output) -> Option<String> {
        None
    }
}

impl<T: GraphTool> Tool for T {
    type Input = T::Input;
    type Output = T::Output;

    const SPEC: ToolSpec = T::SPEC;

    async fn call(&self, ctx: &ToolContext, input: Self::Input) -> Result<Self::Output, ToolError> {
        let session = ctx.graph.session(ctx, T::SPEC.name, T::SPEC.graph).await?;
        GraphTool::call(self, &session, input).await
    }

    fn render(output: &Self::Output) -> Option<String> {
        T::render(output)
    }
}

type ToolFuture<'a> = Pin<Box<dyn Future<Output = CallToolResult> + Send + 'a>>;

/// [`Tool`] with its types erased so tools of every kind fit in one registry.
trait ErasedTool: Send + Sync {
    fn call<'a>(&'a self, ctx: &'a ToolContext, arguments: JsonObject) -> ToolFuture<'a>;
}

impl<T: Tool> ErasedTool for T {
    fn call<'a>(&'a self, ctx: &'a ToolContext, arguments: JsonObject) -> ToolFuture<'a> {
        Box::pin(async move {
            let arguments = serde_json::Value::Object(arguments);
            let input: T::Input = match serde_path_to_error::deserialize(arguments) {
                Ok(input) => input,
                Err(error) => {
                    let path = error.path().to_string();
                    let error = error.into_inner();
                    let problem = if path == "." {
                        format!("The arguments for `{}` are invalid: {error}.", T::SPEC.name)
                    } else {
                        format!(
                            "The argument `{path}` of `{}` is invalid: {error}.",
                            T::SPEC.name
                        )
                    };
                    return ToolError::new(
                        problem,
                        "Call the tool again with arguments that match its inputSchema.",
                    )
                    .into_result();
                }
            };
            match Tool::call(self, ctx, input).await {
                Ok(output) => match serde_json::to_value(&output) {
                    Ok(mut value) => {
                        // An absent field is how an output says "none": schemas say so too.
                        drop_nulls(&mut value);
                        let mut result = CallToolResult::structured(value);
                        if let Some(text) = T::render(&output) {
                            result.content = vec![ContentBlock::text(text)];
                        }
                        result
                    }
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
    toolsets: EnabledToolsets,
    time_limit: Duration,
    graph: Arc<DelegatedGraph>,
}

impl Registry {
    /// The tools of the enabled toolsets; each call gets `time_limit` and reaches Microsoft 365
    /// through `graph`.
    fn new(toolsets: EnabledToolsets, time_limit: Duration, graph: Arc<DelegatedGraph>) -> Self {
        Self {
            entries: Vec::new(),
            by_name: HashMap::new(),
            toolsets,
            time_limit,
            graph,
        }
    }
}

/// Where [`every_tool`] puts the tools: the registry, or a catalog of their declarations.
trait Register {
    fn register<T: Tool>(&mut self, tool: T) -> &mut Self;
}

impl Register for Registry {
    /// Registers `tool` if its toolset is enabled.
    fn register<T: Tool>(&mut self, tool: T) -> &mut Self {
        let spec = &T::SPEC;
        if !self.toolsets.contains(spec.toolset) {
            return self;
        }
        assert!(
            !self.by_name.contains_key(spec.name),
            "tool `{}` registered twice",
            spec.name
        );
        let definition = definition::<T>();
        self.by_name.insert(spec.name, self.entries.len());
        self.entries.push(Entry {
            spec,
            definition,
            tool: Box::new(tool),
        });
        self
    }
}

impl Registry {
    /// Every tool's declaration, in registration order.
    pub fn specs(&self) -> impl Iterator<Item = &'static ToolSpec> + '_ {
        self.entries.iter().map(|entry| entry.spec)
    }

    /// Every tool's name, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.specs().map(|spec| spec.name).collect()
    }

    pub fn definition(&self, name: &str) -> Option<&rmcp::model::Tool> {
        self.entry(name).map(|entry| &entry.definition)
    }

    /// What a tool call knows, from the request's HTTP parts and its protocol version.
    pub fn context(
        &self,
        parts: Option<&http::request::Parts>,
        protocol_version: ProtocolVersion,
    ) -> ToolContext {
        ToolContext {
            request_id: parts
                .and_then(|parts| parts.extensions.get::<RequestId>())
                .map(|id| id.0.clone())
                .unwrap_or_default(),
            caller: parts.and_then(|parts| parts.extensions.get::<Arc<Caller>>().cloned()),
            claims_challenge: parts
                .and_then(|parts| parts.extensions.get::<ClaimsChallenge>().cloned()),
            record: parts
                .and_then(|parts| parts.extensions.get::<CallRecord>().cloned())
                .unwrap_or_default(),
            deadline: Instant::now() + self.time_limit,
            time_limit: self.time_limit,
            protocol_version,
            graph: Arc::clone(&self.graph),
        }
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
            Ok(result) => {
                let failed = result.is_error == Some(true);
                ctx.record.tool_outcome(if failed { "error" } else { "ok" });
                Ok(result)
            }
            Err(_) => {
                ctx.record.tool_outcome("deadline");
                Ok(ToolError::new(
                    format!(
                        "`{name}` did not finish within its {}-second limit.",
                        self.time_limit.as_secs()
                    ),
                    "Try again; if you asked for much data, ask for less.",
                )
                .into_result())
            }
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

/// Removes every `null` member of every object in `value`.
fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            members.retain(|_, member| !member.is_null());
            members.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// How `tools/list` shows `T`.
fn definition<T: Tool>() -> rmcp::model::Tool {
    let spec = &T::SPEC;
    rmcp::model::Tool::new(
        spec.name,
        spec.description,
        compact(schema_for_type::<T::Input>(), Schema::Input),
    )
    .with_title(spec.title)
    .with_raw_output_schema(compact(schema_for_output::<T::Output>(), Schema::Output))
    .with_annotations(spec.annotations())
}

/// Which schema [`compact`] works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Schema {
    Input,
    Output,
}

/// A schema without what only costs the model tokens (every tool definition is sent with every
/// turn): schemars' `$schema`, type-name titles and integer formats, `null` alternatives for
/// optional fields (an absent field is how this server says "none", and a client never needs
/// to send null), and, in output schemas, descriptions and `required`: the
/// model reads what a field means from the tool's description and the rendered text, and
/// clients validate the types.
fn compact(schema: Arc<JsonObject>, kind: Schema) -> Arc<JsonObject> {
    let mut value = serde_json::Value::Object(Arc::unwrap_or_clone(schema));
    prune(&mut value, kind);
    match value {
        serde_json::Value::Object(schema) => Arc::new(schema),
        _ => unreachable!("a schema stays an object"),
    }
}

fn prune(value: &mut serde_json::Value, kind: Schema) {
    use serde_json::Value;
    match value {
        Value::Object(object) => {
            for key in ["$schema", "title", "format"] {
                object.remove(key);
            }
            if kind == Schema::Output {
                object.remove("description");
                object.remove("required");
            }
            if object.get("minimum") == Some(&Value::from(0)) {
                object.remove("minimum");
            }
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    object.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(choices)) = object.get("anyOf")
                && choices.len() == 2
                && let Some(other) = choices
                    .iter()
                    .find(|c| c.get("type") != Some(&Value::from("null")))
                && choices
                    .iter()
                    .any(|c| c.get("type") == Some(&Value::from("null")))
            {
                let other = other.clone();
                object.remove("anyOf");
                if let Value::Object(other) = other {
                    object.extend(other);
                }
            }
            for (key, child) in object.iter_mut() {
                // Property names are data, not schema keywords: prune inside them only.
                if key == "properties" || key == "$defs" {
                    if let Value::Object(children) = child {
                        children.values_mut().for_each(|child| prune(child, kind));
                    }
                } else {
                    prune(child, kind);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| prune(item, kind)),
        _ => {}
    }
}

/// Every tool's declaration.
struct Catalog(Vec<(&'static ToolSpec, rmcp::model::Tool)>);

impl Register for Catalog {
    fn register<T: Tool>(&mut self, _tool: T) -> &mut Self {
        self.0.push((&T::SPEC, definition::<T>()));
        self
    }
}

/// Every tool this build ships, one line each; the registry keeps those of enabled toolsets.
fn every_tool(registry: &mut impl Register) {
    registry
        .register(server::ServerInfo)
        .register(profile::GetMyProfile)
        .register(calendar::ListEvents)
        .register(calendar::GetEvent)
        .register(calendar::FindMeetingTimes)
        .register(mail::SearchMail)
        .register(mail::ReadMail)
        .register(people::FindPeople)
        .register(people::GetUser)
        .register(files::SearchFiles)
        .register(files::ListFiles)
        .register(files::ReadFile)
        .register(tasks::ListTasks)
        .register(search::SearchM365)
        .register(write::SendMail)
        .register(write::CreateEvent);
}

/// Where the tools are served, as `server_status` reports it.
pub struct ServedAt {
    /// The tenant whose users call.
    pub tenant_id: String,
    /// The MCP endpoint as clients reach it (`stdio` over stdio).
    pub endpoint: String,
}

/// The registry of every tool of the enabled `toolsets`, `server_status` last (it lists the
/// others, itself included); each call gets `time_limit`.
pub fn registry(
    toolsets: &EnabledToolsets,
    time_limit: Duration,
    served_at: ServedAt,
    graph: Arc<DelegatedGraph>,
) -> Arc<Registry> {
    let mut registry = Registry::new(toolsets.clone(), time_limit, graph);
    every_tool(&mut registry);
    let mut summaries: Vec<ToolSummary> = registry.specs().map(ToolSummary::of).collect();
    summaries.push(ToolSummary::of(&server::ServerStatus::SPEC));
    registry.register(server::ServerStatus::new(
        served_at.tenant_id,
        served_at.endpoint,
        summaries,
    ));
    Arc::new(registry)
}

/// The delegated Graph permissions the tools of `toolsets` require (not the optional ones), in
/// registration order: what a user signing in for them is asked to consent to.
pub fn required_permissions(toolsets: &EnabledToolsets) -> Vec<&'static str> {
    let mut permissions = Vec::new();
    for spec in catalog()
        .into_iter()
        .filter(|spec| toolsets.contains(spec.toolset))
    {
        for permission in spec.graph.required {
            if !permissions.contains(permission) {
                permissions.push(*permission);
            }
        }
    }
    permissions
}

/// Every tool this build could serve, whatever is enabled: for `--help` and the check that the
/// app registration asks for exactly the tools' permissions.
pub fn catalog() -> Vec<&'static ToolSpec> {
    full_catalog().into_iter().map(|(spec, _)| spec).collect()
}

fn full_catalog() -> Vec<(&'static ToolSpec, rmcp::model::Tool)> {
    let mut catalog = Catalog(Vec::new());
    every_tool(&mut catalog);
    catalog.register(server::ServerStatus::new(
        String::new(),
        String::new(),
        Vec::new(),
    ));
    catalog.0
}

/// The size of the `tools/list` answer (its JSON, in bytes) for a caller who sees the tools
/// `shown` keeps: every tool definition goes to the model with every turn.
pub fn tools_list_bytes(shown: impl Fn(&ToolSpec) -> bool) -> usize {
    let tools: Vec<rmcp::model::Tool> = full_catalog()
        .into_iter()
        .filter(|(spec, _)| shown(spec))
        .map(|(_, definition)| definition)
        .collect();
    let answer = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "result": rmcp::model::ListToolsResult::with_all_items(tools),
    });
    serde_json::to_vec(&answer)
        .expect("tool definitions serialize")
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read tools: what a signed-in user with the default toolsets sees.
    fn read_tool(spec: &ToolSpec) -> bool {
        spec.effect == Effect::ReadOnly && spec.access != Access::AppRole(OPERATOR_ROLE)
    }

    #[test]
    fn the_tool_list_stays_small_enough_to_send_with_every_turn() {
        let read = tools_list_bytes(read_tool);
        let all = tools_list_bytes(|_| true);
        assert!(read < 16 * 1024, "the read tools take {read} bytes");
        assert!(all < 20 * 1024, "every tool takes {all} bytes");
        assert!(read < all);
    }

    #[test]
    fn every_tool_of_every_toolset_is_in_the_catalog_once() {
        let specs = catalog();
        let mut names: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), specs.len());
        for toolset in Toolset::SELECTABLE {
            assert!(
                specs.iter().any(|spec| spec.toolset == toolset),
                "{toolset}"
            );
        }
    }

    #[test]
    fn a_sign_in_asks_for_what_the_enabled_tools_require_and_nothing_optional() {
        let profile = EnabledToolsets::parse("profile").unwrap();
        assert_eq!(required_permissions(&profile), ["User.Read"]);
        let calendar = EnabledToolsets::parse("profile,calendar").unwrap();
        assert_eq!(
            required_permissions(&calendar),
            [
                "User.Read",
                "Calendars.ReadBasic",
                "MailboxSettings.Read",
                "Calendars.Read",
                "Calendars.Read.Shared"
            ]
        );
        let everything = required_permissions(&EnabledToolsets::all());
        assert!(
            !everything.contains(&"User.Read.All"),
            "optional for get_user"
        );
        assert!(everything.contains(&"Mail.Send"));
    }

    #[test]
    fn schemas_lose_only_what_costs_tokens() {
        let mut schema = serde_json::json!({
            "$schema": "x", "title": "Input", "type": "object", "additionalProperties": false,
            "properties": {
                "title": { "type": ["string", "null"], "description": "kept in inputs" },
                "n": { "type": "integer", "format": "uint32", "minimum": 0 },
                "m": { "type": "integer", "minimum": 1 },
                "who": { "anyOf": [{ "$ref": "#/$defs/Contact" }, { "type": "null" }] }
            }
        });
        prune(&mut schema, Schema::Input);
        assert_eq!(
            schema,
            serde_json::json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "title": { "type": "string", "description": "kept in inputs" },
                    "n": { "type": "integer" },
                    "m": { "type": "integer", "minimum": 1 },
                    "who": { "$ref": "#/$defs/Contact" }
                }
            })
        );
    }
}
