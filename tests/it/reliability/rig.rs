//! A handler whose upstreams can each fail on their own: the devstack behind four doors (the
//! authority host, Graph, the managed identity endpoint, Key Vault), each of which can refuse
//! connections, plus the devstack's standing faults for everything an upstream can do wrong
//! once connected.

use devstack::{Devstack, DevstackOptions, Upstream, UpstreamFault, tenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::door::Door;
use crate::harness::*;
use m365_mcp::local_mode::MCP_DEVSTACK_VAULT_ADDR;

/// The gateway proof header, when a rig checks one.
pub const PROOF_HEADER: &str = "x-mcp-gateway-proof";

pub struct Rig {
    pub handler: Handler,
    pub devstack: Devstack,
    pub authority: Door,
    pub graph: Door,
    pub managed_identity: Door,
    pub key_vault: Door,
    /// The gateway proof every request carries, when the rig checks one.
    pub proof: Option<String>,
}

impl Rig {
    /// A handler with `extra` settings on top of the ones that point it at the devstack through
    /// the doors.
    pub fn start(extra: &[(&str, &str)]) -> Rig {
        let (authority, graph, managed_identity, key_vault) =
            (Door::bind(), Door::bind(), Door::bind(), Door::bind());
        let port = free_port();
        let public_url = format!("http://127.0.0.1:{port}/mcp");
        let devstack = Devstack::start_with(DevstackOptions {
            identifier_uri: Some(public_url.clone()),
            base_url: Some(authority.url()),
            graph_base_url: Some(graph.url()),
            ..DevstackOptions::default()
        })
        .expect("devstack starts");
        for door in [&authority, &graph, &managed_identity, &key_vault] {
            door.open_to(devstack.addr());
        }
        let mut env = handler_env(&devstack);
        env.push((MCP_PUBLIC_URL.name.into(), public_url));
        env.push((MCP_GATEWAY_PROOF_REQUIRED.name.into(), "false".into()));
        env.push((
            IDENTITY_ENDPOINT.name.into(),
            format!(
                "{}{}",
                managed_identity.url(),
                devstack::MANAGED_IDENTITY_PATH
            ),
        ));
        env.push((
            MCP_DEVSTACK_VAULT_ADDR.name.into(),
            key_vault.addr().to_string(),
        ));
        for (name, value) in extra {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.to_string()));
        }
        let proof = env
            .iter()
            .any(|(name, _)| name == MCP_GATEWAY_PROOF_SECRET_NAME.name)
            .then(|| devstack.gateway_proof());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut handler = Handler::start(&env, Some(port));
        handler.wait_ready();
        Rig {
            handler,
            devstack,
            authority,
            graph,
            managed_identity,
            key_vault,
            proof,
        }
    }

    /// The door in front of `upstream`: the authority host serves discovery, the keys and the
    /// token endpoint alike, as `login.microsoftonline.com` does.
    pub fn door(&self, upstream: Upstream) -> &Door {
        match upstream {
            Upstream::Discovery | Upstream::Jwks | Upstream::TokenEndpoint => &self.authority,
            Upstream::ManagedIdentity => &self.managed_identity,
            Upstream::KeyVault => &self.key_vault,
            Upstream::Graph => &self.graph,
        }
    }

    pub fn set_fault(&self, upstream: Upstream, fault: Option<UpstreamFault>) {
        self.devstack.set_upstream_fault(upstream, fault);
    }

    /// A fresh token for `user` (a new `uti`: its own on-behalf-of cache entry).
    pub fn token(&self, user: &str) -> String {
        self.devstack
            .user_token(user, &[tenant::USER_IMPERSONATION])
    }

    /// Calls `tool` as the holder of `token`, with the gateway proof when the rig has one.
    pub async fn call(&self, token: &str, tool: &str, arguments: Value) -> Answer {
        self.post(token, &tool_call(tool, arguments)).await
    }

    pub async fn post(&self, token: &str, body: &Value) -> Answer {
        let mut request = mcp_post(&client_with_token(token), &self.handler.mcp_url()).json(body);
        if let Some(proof) = &self.proof {
            request = request.header(PROOF_HEADER, proof);
        }
        let response = request.send().await.expect("the handler answers");
        Answer::read(&self.handler, response).await
    }

    /// Whether the process still answers the host's readiness probe.
    pub fn serving(&self) -> bool {
        probe_root(self.handler.port) == Some(200)
    }
}

/// An answer of the handler, with what its request event says.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub retry_after: Option<String>,
    /// The request event's `reason` (refusals).
    pub reason: Option<String>,
}

impl Answer {
    pub async fn read(handler: &Handler, response: reqwest::Response) -> Answer {
        let event = handler.event_of(&response);
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            body,
            retry_after,
            reason: event["reason"].as_str().map(str::to_owned),
        }
    }

    /// A tool's successful result.
    pub fn served(&self) -> bool {
        self.status == StatusCode::OK
            && self.body["result"].is_object()
            && self.body["result"]["isError"] != json!(true)
    }

    /// A tool's error text, if it was one.
    pub fn tool_error(&self) -> Option<&str> {
        (self.status == StatusCode::OK && self.body["result"]["isError"] == json!(true))
            .then(|| self.body["result"]["content"][0]["text"].as_str())
            .flatten()
    }
}
