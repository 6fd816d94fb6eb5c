//! Local development mode: `cargo run` with no tenant configured runs the handler against a
//! devstack on loopback, and `handler dev-token` asks that devstack for a token.
//!
//! The handler itself does not change: the devstack's addresses are handed to it as the same
//! settings a real deployment uses (tenant, client id, identifier URI, authority host). The
//! identifier URI is the MCP URL itself, as on a custom domain, because MCP SDK clients send it
//! as the RFC 8707 `resource` and Entra only accepts an identifier URI there.
//!
//! Local mode refuses to start where it could be reached by anyone but the developer: under
//! the Azure Functions host, on an App Service instance, or on a non-loopback address.

use std::{collections::HashMap, net::SocketAddr};

use super::{Devstack, DevstackOptions, tenant};
use crate::config::Setting;

/// Settings read only in builds with the devstack.
pub const SETTINGS: &[Setting] = &[Setting {
    name: "MCP_DEVSTACK_ADDR",
    default: "127.0.0.1:7072",
    help: "Local development only: where `cargo run` (with no MCP_TENANT_ID) starts the local \
           Entra ID stand-in, and where `handler dev-token` finds it.",
}];

/// Set by the Functions host or App Service: local mode must not run there.
const HOSTED_MARKERS: [&str; 3] = [
    "FUNCTIONS_CUSTOMHANDLER_PORT",
    "WEBSITE_INSTANCE_ID",
    "WEBSITE_SITE_NAME",
];

/// The environment the handler reads, and the devstack that must outlive it in local mode.
pub struct Prepared {
    pub env: HashMap<String, String>,
    pub devstack: Option<Devstack>,
}

/// With `MCP_TENANT_ID` set, returns `env` unchanged. Without it, starts a devstack and adds
/// the settings that point the handler at it.
pub fn prepare(mut env: HashMap<String, String>) -> Result<Prepared, String> {
    let set = |name: &str| env.get(name).is_some_and(|value| !value.trim().is_empty());
    if set("MCP_TENANT_ID") {
        return Ok(Prepared {
            env,
            devstack: None,
        });
    }
    if let Some(marker) = HOSTED_MARKERS.iter().find(|name| set(name)) {
        return Err(format!(
            "MCP_TENANT_ID is not set, and local development mode refuses to run here: {marker} \
             says this is Azure Functions or App Service.\n    fix: set MCP_TENANT_ID, \
             MCP_CLIENT_ID and MCP_APP_ID_URI (run `handler --help` for every setting)."
        ));
    }
    let listen: SocketAddr = env
        .get("MCP_LISTEN_ADDR")
        .map_or("127.0.0.1:7071", String::as_str)
        .trim()
        .parse()
        .map_err(|_| "MCP_LISTEN_ADDR is not an IP address and port".to_owned())?;
    if !listen.ip().is_loopback() {
        return Err(format!(
            "MCP_TENANT_ID is not set, and local development mode only listens on loopback, not \
             {listen}: its local issuer gives a token to anyone who asks.\n    fix: use \
             MCP_LISTEN_ADDR=127.0.0.1:<port>, or configure a real tenant."
        ));
    }
    let devstack_addr = devstack_addr(&env)?;
    let public_url = env
        .get("MCP_PUBLIC_URL")
        .cloned()
        .unwrap_or_else(|| format!("http://{listen}/mcp"));
    let devstack = Devstack::start_with(DevstackOptions {
        addr: devstack_addr,
        identifier_uri: Some(public_url.clone()),
    })
    .map_err(|error| {
        format!(
            "the local Entra ID stand-in cannot listen on {devstack_addr}: {error}\n    fix: \
             set MCP_DEVSTACK_ADDR to a free loopback address and port"
        )
    })?;
    for (name, value) in devstack.handler_env() {
        env.entry(name).or_insert(value);
    }
    env.entry("MCP_PUBLIC_URL".to_owned()).or_insert(public_url);
    Ok(Prepared {
        env,
        devstack: Some(devstack),
    })
}

fn devstack_addr(env: &HashMap<String, String>) -> Result<SocketAddr, String> {
    env.get("MCP_DEVSTACK_ADDR")
        .map_or("127.0.0.1:7072", String::as_str)
        .trim()
        .parse()
        .map_err(|_| "MCP_DEVSTACK_ADDR is not an IP address and port".to_owned())
}

/// What a newcomer needs to know, printed once on stderr (stdout carries the JSON log).
pub fn banner(devstack: &Devstack, public_url: &str) -> String {
    let users: Vec<&str> = tenant::USERS.iter().map(|user| user.key).collect();
    format!(
        "\nLocal development: MCP_TENANT_ID is not set, so the handler trusts a local Entra ID \
         stand-in.\n  \
         MCP endpoint      {public_url}\n  \
         Local Entra ID    {issuer} (sample users: {users})\n  \
         Get a token       cargo run -q -- dev-token                 Adele Vance, scope user_impersonation\n                    \
         cargo run -q -- dev-token --user megan    Megan Bowen, who holds the MCP.Operator role\n  \
         Try it            npx @modelcontextprotocol/inspector --cli {public_url} --transport http \
         --method tools/list --header \"Authorization: Bearer $(cargo run -q -- dev-token)\"\n",
        issuer = devstack.issuer(),
        users = users.join(", "),
    )
}

/// Options of `handler dev-token`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DevTokenRequest {
    pub user: Option<String>,
    pub app: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
}

pub const DEV_TOKEN_USAGE: &str = "handler dev-token [--user <key|upn>] [--scope <name>]... \
     [--app <client key|id>] [--role <name>]...";

pub fn parse_dev_token(args: &[String]) -> Result<DevTokenRequest, String> {
    let mut request = DevTokenRequest::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("`{flag}` needs a value; usage: {DEV_TOKEN_USAGE}"))
        };
        match flag.as_str() {
            "--user" => request.user = Some(value()?),
            "--app" => request.app = Some(value()?),
            "--scope" => request.scopes.push(value()?),
            "--role" => request.roles.push(value()?),
            other => {
                return Err(format!(
                    "unknown option `{other}`; usage: {DEV_TOKEN_USAGE}"
                ));
            }
        }
    }
    if request.user.is_none() && request.app.is_none() {
        request.user = Some(tenant::DEFAULT_USER.to_owned());
    }
    Ok(request)
}

/// Asks the running devstack for a token and returns it.
pub fn dev_token(request: &DevTokenRequest) -> Result<String, String> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let addr = devstack_addr(&env)?;
    let mut body = serde_json::json!({ "user": request.user, "app": request.app });
    if !request.scopes.is_empty() {
        body["scopes"] = request.scopes.clone().into();
    }
    if !request.roles.is_empty() {
        body["roles"] = request.roles.clone().into();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/devstack/token"))
            .json(&body)
            .send()
            .await
            .map_err(|_| {
                format!(
                    "no local Entra ID stand-in answers at {addr}: start the server with \
                     `cargo run` (no MCP_TENANT_ID) first"
                )
            })?;
        let status = response.status();
        let answer: serde_json::Value = response
            .json()
            .await
            .map_err(|_| format!("the stand-in at {addr} did not answer with JSON"))?;
        match answer["access_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => Err(format!(
                "the local Entra ID refused: {}",
                answer["error"].as_str().unwrap_or("no reason given")
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_configured_tenant_means_no_local_mode() {
        let prepared = prepare(env(&[("MCP_TENANT_ID", "x")])).unwrap();
        assert!(prepared.devstack.is_none());
        assert_eq!(prepared.env.len(), 1);
    }

    #[test]
    fn local_mode_refuses_to_run_under_the_functions_host_or_app_service() {
        for marker in HOSTED_MARKERS {
            let error = prepare(env(&[(marker, "1")])).err().unwrap();
            assert!(error.contains(marker), "{error}");
        }
    }

    #[test]
    fn local_mode_refuses_a_non_loopback_listen_address() {
        let error = prepare(env(&[("MCP_LISTEN_ADDR", "0.0.0.0:7071")]))
            .err()
            .unwrap();
        assert!(error.contains("only listens on loopback"), "{error}");
    }

    #[test]
    fn local_mode_points_the_handler_at_a_devstack_whose_identifier_uri_is_the_mcp_url() {
        let prepared = prepare(env(&[
            ("MCP_LISTEN_ADDR", "127.0.0.1:7171"),
            ("MCP_DEVSTACK_ADDR", "127.0.0.1:0"),
        ]))
        .unwrap();
        let devstack = prepared.devstack.as_ref().unwrap();
        assert_eq!(prepared.env["MCP_PUBLIC_URL"], "http://127.0.0.1:7171/mcp");
        assert_eq!(prepared.env["MCP_APP_ID_URI"], "http://127.0.0.1:7171/mcp");
        assert_eq!(prepared.env["MCP_AUTHORITY_HOST"], devstack.base_url());
        assert_eq!(prepared.env["MCP_TENANT_ID"], devstack.tenant_id());
    }

    #[test]
    fn dev_token_arguments() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_dev_token(&[]).unwrap().user.as_deref(),
            Some(tenant::DEFAULT_USER)
        );
        let request =
            parse_dev_token(&args(&["--app", "daemon", "--role", "MCP.Operator"])).unwrap();
        assert_eq!(request.user, None);
        assert_eq!(request.app.as_deref(), Some("daemon"));
        assert_eq!(request.roles, vec!["MCP.Operator"]);
        assert!(parse_dev_token(&args(&["--scope"])).is_err());
        assert!(parse_dev_token(&args(&["--bogus"])).is_err());
    }
}
