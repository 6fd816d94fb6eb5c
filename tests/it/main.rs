//! The integration tests: one binary, a module per concern. Each test spawns the real `handler`
//! binary the way the Azure Functions host does and talks to it over HTTP (or, in [`stdio`],
//! the way MCP clients start local servers, over pipes), against the local stand-ins of the
//! `devstack` crate; [`harness`] holds what they share.

mod architecture;
mod broker;
mod clients;
mod direct_path;
mod graph_client;
mod harness;
mod hosting;
mod inbound_auth;
mod log_lines;
mod no_client_secret;
mod operator_view;
mod outbound;
mod reliability;
mod stdio;
mod tools;
mod transport;
