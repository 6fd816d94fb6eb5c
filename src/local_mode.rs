//! Local development mode (builds with the `devstack` feature): `cargo run` with no tenant
//! configured runs the handler against the local stand-ins of the `devstack` crate on loopback,
//! and `handler dev-token` asks them for a token.
//!
//! The handler itself does not change: the devstack's addresses are handed to it as the same
//! settings a real deployment uses (tenant, client id, identifier URI, authority host, Graph
//! base URL, Key Vault URL, managed identity). One thing cannot be a setting: Key Vault's SDK
//! talks only to https vaults, so its requests reach the stand-in through a transport that
//! [`OutboundHttp`] carries. The identifier URI is the MCP URL itself, as on
//! a custom domain, because MCP SDK clients send it as the RFC 8707 `resource` and Entra only
//! accepts an identifier URI there.
//!
//! One pair of settings cannot travel in the settings map: `azure_identity`'s managed identity
//! credential reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` from the process environment, as
//! the platform sets them. So `main` uses [`enter`], which decides the devstack's address and
//! identity secret first, writes both into the process environment while the process is still
//! single-threaded, and only then starts the devstack. [`prepare`] does the rest without
//! touching the process environment, for tests.
//!
//! `handler stdio` with no tenant configured ([`prepare_stdio`]) signs its user in at the
//! devstack's Entra ID instead (which approves the device code for the sample user by
//! itself) and calls the devstack's Graph: a newcomer sees the tools work offline with one
//! command. The stand-ins listen on an ephemeral loopback port for as long as the process
//! runs, as they do for `cargo run`; the sign-in stays in memory, because the next process's
//! stand-ins will not know its refresh token.
//!
//! Local mode refuses to start where it could be reached by anyone but the developer: under
//! the Azure Functions host, on an App Service instance, or on a non-loopback address.

use std::{collections::HashMap, net::SocketAddr};

use devstack::{Devstack, DevstackOptions, HandlerSettings, MANAGED_IDENTITY_PATH, tenant};

use crate::{
    config::{
        Setting,
        settings::{
            FUNCTIONS_CUSTOMHANDLER_PORT, GRAPH_BASE_URL, IDENTITY_ENDPOINT, IDENTITY_HEADER,
            KEY_VAULT_URL, MANAGED_IDENTITY_CLIENT_ID, MCP_APP_ID_URI, MCP_AUTHORITY_HOST,
            MCP_CLIENT_ID, MCP_LISTEN_ADDR, MCP_PUBLIC_CLIENT_ID, MCP_PUBLIC_URL,
            MCP_SIGNING_KEY_SECRET_NAME, MCP_TENANT_ID,
        },
    },
    hosting::Environment,
    outbound::{OutboundHttp, TestNetwork},
};

pub const MCP_DEVSTACK_ADDR: Setting = Setting {
    name: "MCP_DEVSTACK_ADDR",
    default: "127.0.0.1:7072 (for `handler stdio`: 127.0.0.1 and a free port)",
    help: "Local development only: where `cargo run` (with no MCP_TENANT_ID) starts the local \
           stand-ins for Entra ID, managed identity, Key Vault and Graph, and where `handler \
           dev-token` finds them; also where `handler stdio` starts its own when no \
           MCP_TENANT_ID is set.",
};

pub const MCP_DEVSTACK_VAULT_ADDR: Setting = Setting {
    name: "MCP_DEVSTACK_VAULT_ADDR",
    default: "unset: Key Vault at KEY_VAULT_URL",
    help: "Local development only: the devstack's address (host:port). The Key Vault client \
           then sends its requests there over plain HTTP, while KEY_VAULT_URL keeps naming the \
           https vault, so the SDK's TLS and challenge checks still run. Set by `cargo run` and \
           the tests; never in Azure. Refused unless it is a loopback address and \
           MCP_AUTHORITY_HOST is one too (a local tenant).",
};

pub const MCP_DEVSTACK_TEST_CA: Setting = Setting {
    name: "MCP_DEVSTACK_TEST_CA",
    default: "unset",
    help: "Tests only: a PEM file with a test CA certificate. Broker mode then also trusts it, \
           for a loopback Blob endpoint (Azurite over https) and for the MCP_DEVSTACK_RESOLVE \
           names. Refused on App Service; never in Azure.",
};

pub const MCP_DEVSTACK_RESOLVE: Setting = Setting {
    name: "MCP_DEVSTACK_RESOLVE",
    default: "unset",
    help: "Tests only: `name=ip` pairs (comma-separated, loopback addresses only) that broker \
           mode's Client ID Metadata Document fetcher resolves to, so a test can serve documents \
           over https on loopback while every other name must still resolve to public \
           addresses. Refused on App Service; never in Azure.",
};

/// Settings read only in builds with the devstack.
pub const SETTINGS: &[&Setting] = &[
    &MCP_DEVSTACK_ADDR,
    &MCP_DEVSTACK_VAULT_ADDR,
    &MCP_DEVSTACK_TEST_CA,
    &MCP_DEVSTACK_RESOLVE,
];

/// Set by the Functions host or App Service: local mode must not run there.
const HOSTED_MARKERS: [&str; 3] = [
    FUNCTIONS_CUSTOMHANDLER_PORT.name,
    "WEBSITE_INSTANCE_ID",
    "WEBSITE_SITE_NAME",
];

/// The environment the handler reads, and the devstack that must outlive it in local mode.
pub struct Prepared {
    pub env: HashMap<String, String>,
    pub devstack: Option<Devstack>,
}

/// Enters local mode when no tenant is configured, and otherwise passes `env` through; either
/// way, honours `MCP_DEVSTACK_VAULT_ADDR`. The devstack, if one started, stops when the returned
/// guard is dropped.
///
/// # Safety
///
/// As [`prepare_process`]: call it only while the process has a single thread.
pub unsafe fn enter(
    env: HashMap<String, String>,
) -> Result<(Environment, Option<Devstack>), String> {
    // SAFETY: the caller's guarantee.
    let Prepared { env, devstack } = unsafe { prepare_process(env) }?;
    let mut http = match vault_transport_from(&env)? {
        Some(client) => OutboundHttp::with_key_vault_client(client),
        None => OutboundHttp::default(),
    };
    if let Some(network) = test_network_from(&env)? {
        http = http.with_test_network(network);
    }
    let notice = devstack.as_ref().map(|devstack| {
        let public_url = env.get(MCP_PUBLIC_URL.name).map_or("", String::as_str);
        banner(devstack, public_url)
    });
    let environment = Environment {
        settings: env,
        http,
        notice,
    };
    Ok((environment, devstack))
}

/// What `handler stdio` runs with: its settings, the devstack it signs in at when no tenant
/// is configured (stopped when dropped), and a notice for stderr.
pub struct PreparedStdio {
    pub env: HashMap<String, String>,
    pub devstack: Option<Devstack>,
    pub notice: Option<String>,
}

/// With `MCP_TENANT_ID` set, returns `env` unchanged. Without it, starts a devstack on a
/// loopback port (`MCP_DEVSTACK_ADDR`, or any free one) and points `handler stdio` at it:
/// its tenant and authority, its Graph, and the public client a user would register.
pub fn prepare_stdio(mut env: HashMap<String, String>) -> Result<PreparedStdio, String> {
    let set = |name: &str| env.get(name).is_some_and(|value| !value.trim().is_empty());
    if set(MCP_TENANT_ID.name) {
        return Ok(PreparedStdio {
            env,
            devstack: None,
            notice: None,
        });
    }
    if let Some(marker) = HOSTED_MARKERS.iter().find(|name| set(name)) {
        return Err(format!(
            "MCP_TENANT_ID is not set, and the local stand-ins refuse to run here: {marker} \
             says this is Azure Functions or App Service.\n    fix: set MCP_TENANT_ID and \
             MCP_PUBLIC_CLIENT_ID (run `handler --help` for every setting)."
        ));
    }
    let addr = match env.get(MCP_DEVSTACK_ADDR.name) {
        Some(_) => devstack_addr(&env)?,
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    if !addr.ip().is_loopback() {
        return Err(format!(
            "MCP_DEVSTACK_ADDR must be a loopback address, not {addr}: the local stand-ins \
             hand out tokens to anyone who asks.\n    fix: use MCP_DEVSTACK_ADDR=127.0.0.1:<port>."
        ));
    }
    let devstack = Devstack::start_with(DevstackOptions {
        addr,
        ..DevstackOptions::default()
    })
    .map_err(|error| {
        format!(
            "the local stand-ins cannot listen on {addr}: {error}\n    fix: set \
             MCP_DEVSTACK_ADDR to a free loopback address and port"
        )
    })?;
    let settings = devstack.handler_settings();
    for (name, value) in [
        (MCP_TENANT_ID.name, settings.tenant_id),
        (MCP_AUTHORITY_HOST.name, settings.authority_host),
        (GRAPH_BASE_URL.name, settings.graph_base_url),
        (MCP_PUBLIC_CLIENT_ID.name, settings.public_client_id),
    ] {
        env.insert(name.to_owned(), value);
    }
    let user = tenant::user(tenant::DEFAULT_USER).expect("the default user exists");
    let notice = format!(
        "\nOffline: MCP_TENANT_ID is not set, so `handler stdio` signs in at a local Entra ID \
         stand-in ({issuer}) and reads the sample tenant from a local Graph stand-in. The \
         device code shown next is approved for {name} ({upn}) by the stand-in itself, and the \
         sign-in is kept in memory only. Set MCP_TENANT_ID and MCP_PUBLIC_CLIENT_ID to use \
         your own tenant.\n",
        issuer = devstack.issuer(),
        name = user.display_name,
        upn = user.user_principal_name,
    );
    Ok(PreparedStdio {
        env,
        devstack: Some(devstack),
        notice: Some(notice),
    })
}

/// The settings that point a handler at `devstack`, by the names the handler reads.
pub fn handler_env(settings: HandlerSettings) -> Vec<(String, String)> {
    [
        (MCP_TENANT_ID.name, settings.tenant_id),
        (MCP_CLIENT_ID.name, settings.client_id),
        (MCP_APP_ID_URI.name, settings.identifier_uri),
        (MCP_AUTHORITY_HOST.name, settings.authority_host),
        (IDENTITY_ENDPOINT.name, settings.identity_endpoint),
        (IDENTITY_HEADER.name, settings.identity_header),
        (
            MANAGED_IDENTITY_CLIENT_ID.name,
            settings.managed_identity_client_id,
        ),
        (GRAPH_BASE_URL.name, settings.graph_base_url),
        (KEY_VAULT_URL.name, settings.key_vault_url),
        (
            MCP_DEVSTACK_VAULT_ADDR.name,
            settings.vault_addr.to_string(),
        ),
        (
            MCP_SIGNING_KEY_SECRET_NAME.name,
            settings.signing_key_secret,
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// What local mode will start, decided before anything runs.
#[derive(Debug)]
struct Plan {
    devstack_addr: SocketAddr,
    public_url: String,
}

/// With `MCP_TENANT_ID` set, returns `env` unchanged. Without it, starts a devstack and adds
/// the settings that point the handler at it. Leaves the process environment alone.
pub fn prepare(env: HashMap<String, String>) -> Result<Prepared, String> {
    match plan(&env)? {
        None => Ok(Prepared {
            env,
            devstack: None,
        }),
        Some(plan) => start(plan, env, None),
    }
}

/// [`prepare`] for `main`: in local mode, also points the process's managed identity variables
/// (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`) at the devstack, because the handler's credential
/// reads them from the process environment. The devstack's port must be fixed for that
/// (not 0): the endpoint is written before the devstack starts.
///
/// # Safety
///
/// Call it only while the process has a single thread: it writes the process environment,
/// which is undefined behaviour if another thread reads or writes it at the same time.
pub unsafe fn prepare_process(env: HashMap<String, String>) -> Result<Prepared, String> {
    let Some(plan) = plan(&env)? else {
        return Ok(Prepared {
            env,
            devstack: None,
        });
    };
    if plan.devstack_addr.port() == 0 {
        return Err(
            "MCP_DEVSTACK_ADDR needs a fixed port in local development mode: the managed \
             identity endpoint is announced to the process before the stand-ins start.\n    fix: \
             set MCP_DEVSTACK_ADDR=127.0.0.1:<port>, or leave it unset (127.0.0.1:7072)."
                .to_owned(),
        );
    }
    let identity_header = uuid::Uuid::new_v4().to_string();
    // SAFETY: the caller guarantees this process has one thread; the devstack's thread and the
    // handler's runtime start later.
    unsafe {
        std::env::set_var(
            IDENTITY_ENDPOINT.name,
            identity_endpoint(plan.devstack_addr),
        );
        std::env::set_var(IDENTITY_HEADER.name, &identity_header);
    }
    start(plan, env, Some(identity_header))
}

fn identity_endpoint(devstack_addr: SocketAddr) -> String {
    format!("http://{devstack_addr}{MANAGED_IDENTITY_PATH}")
}

/// `None` when a tenant is configured; otherwise where local mode will listen, if it may run.
fn plan(env: &HashMap<String, String>) -> Result<Option<Plan>, String> {
    let set = |name: &str| env.get(name).is_some_and(|value| !value.trim().is_empty());
    if set(MCP_TENANT_ID.name) {
        return Ok(None);
    }
    if let Some(marker) = HOSTED_MARKERS.iter().find(|name| set(name)) {
        return Err(format!(
            "MCP_TENANT_ID is not set, and local development mode refuses to run here: {marker} \
             says this is Azure Functions or App Service.\n    fix: set MCP_TENANT_ID, \
             MCP_CLIENT_ID and MCP_APP_ID_URI (run `handler --help` for every setting)."
        ));
    }
    let listen: SocketAddr = env
        .get(MCP_LISTEN_ADDR.name)
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
    let devstack_addr = devstack_addr(env)?;
    if !devstack_addr.ip().is_loopback() {
        return Err(format!(
            "MCP_DEVSTACK_ADDR must be a loopback address, not {devstack_addr}: the local \
             stand-ins hand out tokens to anyone who asks.\n    fix: use \
             MCP_DEVSTACK_ADDR=127.0.0.1:<port>."
        ));
    }
    let public_url = env
        .get(MCP_PUBLIC_URL.name)
        .cloned()
        .unwrap_or_else(|| format!("http://{listen}/mcp"));
    Ok(Some(Plan {
        devstack_addr,
        public_url,
    }))
}

fn start(
    plan: Plan,
    mut env: HashMap<String, String>,
    identity_header: Option<String>,
) -> Result<Prepared, String> {
    let Plan {
        devstack_addr,
        public_url,
    } = plan;
    // Broker mode signs users in at the stand-in with `{issuer}/callback`: registered always,
    // as a deployment's app registration lists it.
    let server_redirect_uris = url::Url::parse(&public_url)
        .map(|url| vec![format!("{}/callback", crate::config::issuer_of(&url))])
        .unwrap_or_default();
    let devstack = Devstack::start_with(DevstackOptions {
        addr: devstack_addr,
        identifier_uri: Some(public_url.clone()),
        identity_header,
        server_redirect_uris,
        ..DevstackOptions::default()
    })
    .map_err(|error| {
        format!(
            "the local stand-ins cannot listen on {devstack_addr}: {error}\n    fix: set \
             MCP_DEVSTACK_ADDR to a free loopback address and port"
        )
    })?;
    for (name, value) in handler_env(devstack.handler_settings()) {
        // Local mode's managed identity is the devstack's, whatever the shell said: the
        // credential reads these from the process, where prepare_process put the devstack's.
        if name == IDENTITY_ENDPOINT.name || name == IDENTITY_HEADER.name {
            env.insert(name, value);
        } else {
            env.entry(name).or_insert(value);
        }
    }
    env.entry(MCP_PUBLIC_URL.name.to_owned())
        .or_insert(public_url);
    Ok(Prepared {
        env,
        devstack: Some(devstack),
    })
}

fn devstack_addr(env: &HashMap<String, String>) -> Result<SocketAddr, String> {
    env.get(MCP_DEVSTACK_ADDR.name)
        .map_or("127.0.0.1:7072", String::as_str)
        .trim()
        .parse()
        .map_err(|_| "MCP_DEVSTACK_ADDR is not an IP address and port".to_owned())
}

/// The Key Vault client `MCP_DEVSTACK_VAULT_ADDR` asks for: requests still addressed to the
/// https `KEY_VAULT_URL`, delivered to the local stand-in.
///
/// Refused unless both ends are local: the address must be loopback, and the tenant must not be
/// a real one (its authority host, `MCP_AUTHORITY_HOST`, default the public cloud's, must be
/// loopback too). Otherwise the managed identity's real Key Vault token would go to whatever
/// listens at that address.
pub fn vault_transport_from(
    env: &HashMap<String, String>,
) -> Result<Option<std::sync::Arc<dyn azure_core::http::HttpClient>>, String> {
    let Some(addr) = env.get(MCP_DEVSTACK_VAULT_ADDR.name) else {
        return Ok(None);
    };
    let addr: SocketAddr = addr.trim().parse().map_err(|_| {
        format!(
            "{} is not an IP address and port",
            MCP_DEVSTACK_VAULT_ADDR.name
        )
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{} must be a loopback address, not {addr}: it receives the managed identity's Key \
             Vault token.\n    fix: unset it (it is for the local stand-ins only), or use \
             127.0.0.1:<port>.",
            MCP_DEVSTACK_VAULT_ADDR.name
        ));
    }
    let authority = env
        .get(MCP_AUTHORITY_HOST.name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .unwrap_or("https://login.microsoftonline.com");
    let local_tenant =
        url::Url::parse(authority).is_ok_and(|url| crate::config::is_loopback_host(&url));
    if !local_tenant {
        return Err(format!(
            "{} is set, but a real tenant is configured ({} is {authority}, not a loopback \
             address): the local Key Vault stand-in would receive the real managed identity's \
             token.\n    fix: unset {}; it is for the local stand-ins only.",
            MCP_DEVSTACK_VAULT_ADDR.name, MCP_AUTHORITY_HOST.name, MCP_DEVSTACK_VAULT_ADDR.name
        ));
    }
    Ok(Some(devstack::vault_http_client(addr)))
}

/// The test network `MCP_DEVSTACK_TEST_CA` and `MCP_DEVSTACK_RESOLVE` describe, if any.
/// Refused on App Service (where tests never run), with a real tenant (as the vault address
/// is: the tenant's authority must be a loopback stand-in), and for names that would not stay
/// on loopback.
pub fn test_network_from(env: &HashMap<String, String>) -> Result<Option<TestNetwork>, String> {
    let set = |name: &str| env.get(name).is_some_and(|value| !value.trim().is_empty());
    if !set(MCP_DEVSTACK_TEST_CA.name) && !set(MCP_DEVSTACK_RESOLVE.name) {
        return Ok(None);
    }
    if let Some(marker) = ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME"]
        .iter()
        .find(|name| set(name))
    {
        return Err(format!(
            "{} and {} are for tests on this machine only, and {marker} says this is App \
             Service.\n    fix: remove them.",
            MCP_DEVSTACK_TEST_CA.name, MCP_DEVSTACK_RESOLVE.name
        ));
    }
    let authority = env
        .get(MCP_AUTHORITY_HOST.name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .unwrap_or("https://login.microsoftonline.com");
    if !url::Url::parse(authority).is_ok_and(|url| crate::config::is_loopback_host(&url)) {
        return Err(format!(
            "{} and {} are set, but a real tenant is configured ({} is {authority}): they are \
             for tests against the local stand-ins only.\n    fix: remove them.",
            MCP_DEVSTACK_TEST_CA.name, MCP_DEVSTACK_RESOLVE.name, MCP_AUTHORITY_HOST.name
        ));
    }
    let ca_pem = match env.get(MCP_DEVSTACK_TEST_CA.name).map(|path| path.trim()) {
        Some(path) if !path.is_empty() => std::fs::read(path)
            .map_err(|error| format!("{} cannot be read: {error}", MCP_DEVSTACK_TEST_CA.name))?,
        _ => Vec::new(),
    };
    let mut hosts = Vec::new();
    for pair in env
        .get(MCP_DEVSTACK_RESOLVE.name)
        .map_or("", String::as_str)
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let (name, ip) = pair
            .split_once('=')
            .ok_or_else(|| format!("{}: `{pair}` is not name=ip", MCP_DEVSTACK_RESOLVE.name))?;
        let ip: std::net::IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| format!("{}: `{ip}` is not an IP address", MCP_DEVSTACK_RESOLVE.name))?;
        if !ip.is_loopback() {
            return Err(format!(
                "{}: {ip} is not a loopback address; test names may only point at this machine",
                MCP_DEVSTACK_RESOLVE.name
            ));
        }
        hosts.push((name.trim().to_ascii_lowercase(), ip));
    }
    Ok(Some(TestNetwork { ca_pem, hosts }))
}

/// What a newcomer needs to know, printed once on stderr (stdout carries the JSON log).
fn banner(devstack: &Devstack, public_url: &str) -> String {
    let users: Vec<&str> = tenant::USERS.iter().map(|user| user.key).collect();
    format!(
        "\nLocal development: MCP_TENANT_ID is not set, so the handler trusts a local Entra ID \
         stand-in.\n  \
         MCP endpoint      {public_url}\n  \
         Local Entra ID    {issuer} (sample users: {users})\n  \
         Local Graph       {graph}/v1.0 (their mail, calendars and files), managed identity \
         and Key Vault on the same port\n  \
         Get a token       cargo run -q -- dev-token                 Adele Vance, scope user_impersonation\n                    \
         cargo run -q -- dev-token --user megan    Megan Bowen, who holds the MCP.Operator role\n  \
         Try it (Node 22+) npx @modelcontextprotocol/inspector --cli {public_url} --transport http \
         --method tools/list --header \"Authorization: Bearer $(cargo run -q -- dev-token)\"\n  \
         (older Node: see the README's \"Connecting a client\")\n",
        issuer = devstack.issuer(),
        graph = devstack.graph_base_url(),
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
    use devstack::child_test::{child_value, run_child, test_name};

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_configured_tenant_means_no_local_mode() {
        let prepared = prepare(env(&[(MCP_TENANT_ID.name, "x")])).unwrap();
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
        let error = prepare(env(&[(MCP_LISTEN_ADDR.name, "0.0.0.0:7071")]))
            .err()
            .unwrap();
        assert!(error.contains("only listens on loopback"), "{error}");
    }

    #[test]
    fn local_mode_points_the_handler_at_a_devstack_whose_identifier_uri_is_the_mcp_url() {
        let prepared = prepare(env(&[
            (MCP_LISTEN_ADDR.name, "127.0.0.1:7171"),
            (MCP_DEVSTACK_ADDR.name, "127.0.0.1:0"),
        ]))
        .unwrap();
        let devstack = prepared.devstack.as_ref().unwrap();
        assert_eq!(
            prepared.env[MCP_PUBLIC_URL.name],
            "http://127.0.0.1:7171/mcp"
        );
        assert_eq!(
            prepared.env[MCP_APP_ID_URI.name],
            "http://127.0.0.1:7171/mcp"
        );
        assert_eq!(prepared.env[MCP_AUTHORITY_HOST.name], devstack.base_url());
        assert_eq!(prepared.env[MCP_TENANT_ID.name], devstack.tenant_id());
    }

    #[test]
    fn local_mode_points_the_handler_at_every_stand_in_without_touching_the_process() {
        let before = std::env::var_os(IDENTITY_ENDPOINT.name);
        let prepared = prepare(env(&[
            (MCP_DEVSTACK_ADDR.name, "127.0.0.1:0"),
            (
                IDENTITY_ENDPOINT.name,
                "http://169.254.169.254/somewhere-else",
            ),
            (KEY_VAULT_URL.name, "https://mine.vault.azure.net/"),
        ]))
        .unwrap();
        let devstack = prepared.devstack.as_ref().unwrap();
        assert_eq!(
            prepared.env[IDENTITY_ENDPOINT.name],
            devstack.identity_endpoint(),
            "local mode's identity is the devstack's"
        );
        assert_eq!(
            prepared.env[IDENTITY_HEADER.name],
            devstack.identity_header()
        );
        assert_eq!(prepared.env[GRAPH_BASE_URL.name], devstack.graph_base_url());
        assert_eq!(
            prepared.env[KEY_VAULT_URL.name], "https://mine.vault.azure.net/",
            "other settings can still be overridden"
        );
        assert_eq!(
            prepared.env[MCP_DEVSTACK_VAULT_ADDR.name],
            devstack.addr().to_string()
        );
        assert_eq!(std::env::var_os(IDENTITY_ENDPOINT.name), before);
    }

    #[test]
    fn the_process_variant_needs_a_fixed_loopback_port() {
        let fixed = plan(&env(&[(MCP_DEVSTACK_ADDR.name, "127.0.0.1:7999")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            identity_endpoint(fixed.devstack_addr),
            "http://127.0.0.1:7999/msi/token"
        );
        let error = plan_error(&[(MCP_DEVSTACK_ADDR.name, "0.0.0.0:7072")]);
        assert!(error.contains("loopback"), "{error}");
        assert!(plan(&env(&[(MCP_TENANT_ID.name, "x")])).unwrap().is_none());
    }

    #[test]
    fn the_vault_transport_is_only_for_a_local_tenant_on_loopback() {
        let loopback_vault = (MCP_DEVSTACK_VAULT_ADDR.name, "127.0.0.1:7072");
        let local_authority = (MCP_AUTHORITY_HOST.name, "http://127.0.0.1:7072");
        assert!(
            vault_transport_from(&env(&[loopback_vault, local_authority]))
                .unwrap()
                .is_some()
        );
        assert!(
            vault_transport_from(&env(&[local_authority]))
                .unwrap()
                .is_none()
        );
        for (case, pairs, says) in [
            (
                "no authority host: the public cloud",
                vec![loopback_vault],
                "real tenant",
            ),
            (
                "a sovereign cloud",
                vec![
                    loopback_vault,
                    (MCP_AUTHORITY_HOST.name, "https://login.microsoftonline.us"),
                ],
                "real tenant",
            ),
            (
                "a remote vault address",
                vec![
                    (MCP_DEVSTACK_VAULT_ADDR.name, "10.20.30.40:443"),
                    local_authority,
                ],
                "loopback",
            ),
            (
                "the unspecified address",
                vec![
                    (MCP_DEVSTACK_VAULT_ADDR.name, "0.0.0.0:7072"),
                    local_authority,
                ],
                "loopback",
            ),
        ] {
            let error = vault_transport_from(&env(&pairs))
                .err()
                .unwrap_or_else(|| panic!("{case}: accepted"));
            assert!(error.contains(says), "{case}: {error}");
            assert!(
                error.contains(MCP_DEVSTACK_VAULT_ADDR.name),
                "{case}: {error}"
            );
        }
    }

    fn plan_error(pairs: &[(&str, &str)]) -> String {
        plan(&env(pairs)).unwrap_err()
    }

    /// `main`'s path, in a child process so the environment it writes is its own.
    #[test]
    fn main_announces_the_devstacks_managed_identity_to_the_process() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stdout = run_child(
            &test_name(module_path!(), "prepare_process_child"),
            &[("DEVSTACK_CHILD_PORT".to_owned(), port.to_string())],
        );
        assert_eq!(child_value(&stdout, "result"), "ok");
    }

    #[test]
    #[ignore = "run by main_announces_the_devstacks_managed_identity_to_the_process in a child \
                process, which it may give a new environment"]
    fn prepare_process_child() {
        use azure_core::credentials::TokenCredential;
        use azure_identity::{
            ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
        };

        let port = std::env::var("DEVSTACK_CHILD_PORT").unwrap();
        let zero_port = env(&[(MCP_DEVSTACK_ADDR.name, "127.0.0.1:0")]);
        // SAFETY: this process runs this test alone; nothing else reads or writes the
        // environment while it runs.
        let refused = unsafe { prepare_process(zero_port) }.err().unwrap();
        assert!(refused.contains("fixed port"), "{refused}");
        assert!(
            std::env::var_os(IDENTITY_HEADER.name).is_none(),
            "nothing written"
        );

        let addr = format!("127.0.0.1:{port}");
        let settings = env(&[
            (MCP_DEVSTACK_ADDR.name, &addr),
            (MCP_LISTEN_ADDR.name, "127.0.0.1:7171"),
        ]);
        // SAFETY: as above.
        let prepared = unsafe { prepare_process(settings) }.unwrap();
        let devstack = prepared.devstack.as_ref().unwrap();
        assert_eq!(
            std::env::var(IDENTITY_ENDPOINT.name).unwrap(),
            devstack.identity_endpoint()
        );
        assert_eq!(
            std::env::var(IDENTITY_HEADER.name).unwrap(),
            devstack.identity_header()
        );
        assert_eq!(
            prepared.env[IDENTITY_HEADER.name],
            devstack.identity_header()
        );

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let token = runtime.block_on(async {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: Some(UserAssignedId::ClientId(
                    prepared.env[MANAGED_IDENTITY_CLIENT_ID.name].clone(),
                )),
                ..ManagedIdentityCredentialOptions::default()
            }))
            .unwrap()
            .get_token(&["https://vault.azure.net/.default"], None)
            .await
        });
        assert!(
            token.is_ok(),
            "the credential finds the devstack: {token:?}"
        );
        println!("result=ok");
    }

    #[test]
    fn stdio_without_a_tenant_signs_in_at_a_devstack_on_a_free_loopback_port() {
        let prepared = prepare_stdio(env(&[])).unwrap();
        let devstack = prepared.devstack.as_ref().unwrap();
        assert!(devstack.addr().ip().is_loopback());
        assert_ne!(devstack.addr().port(), 7072, "a free port, not cargo run's");
        assert_eq!(prepared.env[MCP_TENANT_ID.name], devstack.tenant_id());
        assert_eq!(prepared.env[MCP_AUTHORITY_HOST.name], devstack.base_url());
        assert_eq!(prepared.env[GRAPH_BASE_URL.name], devstack.graph_base_url());
        assert_eq!(
            prepared.env[MCP_PUBLIC_CLIENT_ID.name],
            devstack.handler_settings().public_client_id
        );
        assert!(prepared.notice.unwrap().contains("Adele Vance"));

        let configured = prepare_stdio(env(&[(MCP_TENANT_ID.name, "x")])).unwrap();
        assert!(configured.devstack.is_none() && configured.notice.is_none());
        for marker in HOSTED_MARKERS {
            let error = prepare_stdio(env(&[(marker, "1")])).err().unwrap();
            assert!(error.contains(marker), "{error}");
        }
        let error = prepare_stdio(env(&[(MCP_DEVSTACK_ADDR.name, "0.0.0.0:0")]))
            .err()
            .unwrap();
        assert!(error.contains("loopback"), "{error}");
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
