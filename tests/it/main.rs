//! The integration tests: one binary, a module per concern. Each test spawns the real `handler`
//! binary the way the Azure Functions host does and talks to it over HTTP, against the local
//! stand-ins of the `devstack` crate; [`harness`] holds what they share.

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
mod outbound;
mod tools;
mod transport;
