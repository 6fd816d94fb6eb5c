//! The integration tests: one binary, a module per concern. Each test spawns the real `handler`
//! binary the way the Azure Functions host does and talks to it over HTTP, against the local
//! stand-ins of the `devstack` crate; [`harness`] holds what they share.

mod architecture;
mod broker;
mod clients;
mod graph_client;
mod harness;
mod hosting;
mod inbound_auth;
mod no_client_secret;
mod operator_view;
mod outbound;
mod tools;
mod transport;
