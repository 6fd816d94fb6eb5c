//! A remote MCP server for Microsoft 365 data, built to run as an Azure Functions custom
//! handler behind Azure API Management.
//!
//! # Layout
//!
//! One request travels through the modules in this order:
//!
//! - [`hosting`]: the Functions custom-handler contract: which port, the readiness probe,
//!   graceful shutdown.
//! - [`app`]: the HTTP routes and the tower layers in front of them, in request order.
//! - [`telemetry`]: one JSON line per request on stdout, never a token or a body.
//! - [`inbound_auth`]: the gateway proof, in-process validation of every Entra ID token, the
//!   [`inbound_auth::Caller`] it yields, per-tool authorization, 401/403 challenges and the
//!   protected-resource metadata.
//! - [`transport`]: MCP Streamable HTTP (rmcp, stateless, JSON responses) and the envelope
//!   rules in front of it (body size, parse errors, batches, protocol versions).
//! - [`tools`]: one file per tool family and the registry that serves them.
//! - [`identity`]: the managed identity and the on-behalf-of exchange for Graph tokens.
//! - [`graph`]: Microsoft Graph over HTTP: deadlines, retries, paging, safe request building.
//! - [`secrets`]: Key Vault secrets through the managed identity, cached and refreshed.
//!
//! [`config`] reads and validates every setting at start-up; [`cli`] parses the arguments;
//! [`outbound`] is the one HTTP client for calls out of the process.
//!
//! `devstack` (the `devstack` cargo feature, on by default and left out of the deployed build)
//! holds local stand-ins for Entra ID and the other cloud services, speaking their real wire
//! protocols, for `cargo run` and the integration tests.

pub mod app;
pub mod cli;
pub mod config;
#[cfg(feature = "devstack")]
pub mod devstack;
pub mod graph;
pub mod hosting;
pub mod identity;
pub mod inbound_auth;
pub mod outbound;
pub mod secrets;
pub mod telemetry;
pub mod tools;
pub mod transport;
