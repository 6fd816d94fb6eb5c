//! A remote MCP server for Microsoft 365 data, built to run as an Azure Functions custom
//! handler behind Azure API Management.
//!
//! # Layout
//!
//! One request travels through the modules in this order:
//!
//! - [`hosting`]: the Functions custom-handler contract: which port, the readiness probe,
//!   graceful shutdown, the environment the process runs with, and keeping the host's
//!   connection usable when an answer comes before the request body was read.
//! - [`app`]: the HTTP routes and the tower layers in front of them, in request order.
//! - [`telemetry`]: one JSON line per request on stdout, never a token or a body.
//! - [`overload`]: load shedding. Past a bound on `/mcp` requests in flight (for the process,
//!   counted before authentication, and per caller, right after it) a request gets 503 with
//!   `Retry-After` at once instead of waiting.
//! - [`inbound_auth`]: the gateway proof, in-process validation of every Entra ID token, per-tool
//!   authorization, 401/403 challenges and the protected-resource metadata. It yields a
//!   [`caller::Caller`].
//! - [`authorization`] (broker mode, `MCP_AUTHORIZATION=broker`): the OAuth 2.1 authorization
//!   server for MCP clients Entra cannot serve (Client ID Metadata Documents, Dynamic Client
//!   Registration, RFC 8707 `resource` without a custom domain), which signs users in at Entra
//!   as a secretless confidential client, asks their consent, and keeps its state in Blob
//!   Storage. Its routes sit beside `/mcp`, not in front of it.
//! - [`transport`]: MCP Streamable HTTP (rmcp, stateless, JSON responses) and the envelope
//!   rules in front of it (body size, parse errors, batches, protocol versions).
//! - [`tools`]: one file per tool family and the registry that serves them.
//! - [`identity`]: where delegated Graph tokens come from: the managed identity and the
//!   on-behalf-of exchange, or (`handler stdio`) the user's own sign-in as a public client.
//! - [`graph`]: Microsoft Graph over HTTP: deadlines, retries, paging, safe request building.
//!
//! Beside the path:
//!
//! - [`caller`]: who is calling and what a tool may demand of them: what `inbound_auth`
//!   produces and `tools` and `identity` consume.
//! - [`protocol`]: the server's name and version and the MCP revisions it speaks.
//! - [`secrets`]: Key Vault secrets through the managed identity, cached and refreshed (the
//!   gateway proof is one); [`signing`]: the cursors and confirmations the server hands out,
//!   sealed with a key from Key Vault.
//! - [`content`]: untrusted Microsoft 365 content (HTML bodies, files, any string) reduced
//!   to the text a person would see, with invisible characters removed and sizes bounded.
//! - [`outbound`]: the one HTTP client for calls out of the process, and what each call
//!   carries (deadline, request id).
//! - [`local_time`]: dates and times in the user's mailbox time zone: tool inputs read as
//!   wall clocks there, outputs with their UTC offset, Graph's `dateTimeTimeZone`, and Windows
//!   zone names mapped to IANA.
//! - [`config`]: every setting, declared once, read and validated at start-up; [`cli`]: the
//!   arguments.
//!
//! The other way to run the same tools, `handler stdio`, takes its own short path:
//!
//! - [`stdio`]: MCP over stdin and stdout for one local user (rmcp's stdio transport, the same
//!   [`transport::McpServer`] and [`tools`]), who signs in to the process as a public client of
//!   their own app registration ([`identity::public_client`]); no listening port, no inbound
//!   token, no managed identity, no Key Vault.
//!
//! `fuzzing` (hidden) opens the functions that read client input to the fuzz targets in
//! `fuzz/` and to property tests; nothing on the request path calls it.
//!
//! Modules depend on each other without cycles (a test checks it). `local_mode` (the `devstack`
//! cargo feature, on by default and left out of the deployed build) runs the handler against
//! the local stand-ins of the `devstack` crate, a workspace member that speaks the real wire
//! protocols of Entra ID, the managed identity endpoint, Key Vault and Microsoft Graph.

pub mod app;
pub mod authorization;
pub mod caller;
pub mod cli;
pub mod config;
pub mod content;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod hosting;
pub mod identity;
pub mod inbound_auth;
#[cfg(feature = "devstack")]
pub mod local_mode;
pub mod local_time;
pub mod outbound;
pub mod overload;
pub mod protocol;
pub mod secrets;
pub mod signing;
pub mod stdio;
pub mod telemetry;
pub mod tools;
pub mod transport;
