//! Typed settings, read once from the environment (Functions app settings) at start-up.
//!
//! Every setting is declared once, in [`settings`]: `handler --help` prints that table, so the help
//! text cannot drift from what is read. Reading never stops at the first bad value: each
//! problem is collected with the fix, and start-up prints them all at once.

use std::{fmt, net::SocketAddr, time::Duration};

use url::Url;

mod auth;
mod authorization;
mod outbound;
mod secret;
pub mod settings;
pub mod toolsets;

pub(crate) use auth::normalize_guid;
pub use auth::{AuthConfig, GatewayProofConfig, MIN_PROOF_LENGTH, ProofSourceConfig};
pub use authorization::{
    AuthorizationMode, BrokerConfig, BrokerStoreConfig, DEFAULT_REDIRECTS, RedirectRule, issuer_of,
    parse_redirect_rule,
};
pub use outbound::OutboundConfig;
pub use secret::SecretString;
use settings::*;
pub use settings::{SETTINGS, Setting};
pub use toolsets::{EnabledToolsets, Toolset};

/// Where the listening address came from; the Functions host's port always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenSource {
    FunctionsHost,
    Setting,
    Default,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub listen_source: ListenSource,
    /// The MCP endpoint as clients address it.
    pub public_url: Url,
    /// Complete Host allowlist handed to the transport (never empty).
    pub allowed_hosts: Vec<String>,
    /// Complete Origin allowlist handed to the transport.
    pub allowed_origins: Vec<String>,
    pub shutdown_grace: Duration,
    pub log_level: tracing::Level,
    pub auth: AuthConfig,
    pub outbound: OutboundConfig,
    pub toolsets: EnabledToolsets,
    /// Entra ID directly, or the built-in authorization server (broker mode).
    pub authorization: AuthorizationMode,
}

/// A setting that could not be used, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub setting: &'static str,
    pub message: String,
    pub fix: String,
}

/// Every problem found in one pass over the settings.
#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the handler cannot start: {} configuration problem(s)",
            self.problems.len()
        )?;
        for problem in &self.problems {
            writeln!(f, "  - {}: {}", problem.setting, problem.message)?;
            writeln!(f, "    fix: {}", problem.fix)?;
        }
        write!(f, "Run `handler --help` for every setting and its default.")
    }
}

impl std::error::Error for ConfigError {}

/// Collects problems while settings are read, so one run reports all of them.
pub(crate) struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    /// The trimmed value, with empty values treated as absent (app settings cannot be unset).
    pub(crate) fn raw(&self, setting: &Setting) -> Option<String> {
        (self.lookup)(setting.name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub(crate) fn problem(
        &mut self,
        setting: &'static Setting,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.problems.push(Problem {
            setting: setting.name,
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Parses a present value; a value that does not parse is recorded and `None` returned.
    pub(crate) fn parse<T>(
        &mut self,
        setting: &'static Setting,
        fix: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.raw(setting)?;
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(why) => {
                self.problem(setting, why, fix);
                None
            }
        }
    }

    /// A setting that must be present: its absence is a problem.
    pub(crate) fn required(&mut self, setting: &'static Setting, fix: &str) -> Option<String> {
        let value = self.raw(setting);
        if value.is_none() {
            self.problem(setting, "is not set", fix);
        }
        value
    }

    pub(crate) fn list(&self, setting: &Setting) -> Vec<String> {
        self.raw(setting)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

const DEFAULT_LISTEN: &str = "127.0.0.1:7071";
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl Config {
    /// Reads settings through `lookup`, reporting every problem at once.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(lookup);

        let host_port = reader.parse(
            &FUNCTIONS_CUSTOMHANDLER_PORT,
            "leave it to the Functions host; it sets a free port number",
            |value| match value.parse::<u16>() {
                Ok(0) | Err(_) => Err(format!("`{value}` is not a port number (1-65535)")),
                Ok(port) => Ok(port),
            },
        );
        let listen_setting = reader.parse(
            &MCP_LISTEN_ADDR,
            "use an IP address and port, for example 127.0.0.1:7071",
            |value| {
                value
                    .parse::<SocketAddr>()
                    .map_err(|_| format!("`{value}` is not an IP address and port"))
            },
        );
        let (listen, listen_source) = match (host_port, listen_setting) {
            // The host dials 127.0.0.1 (WorkerConstants.HostName): bind nothing wider.
            (Some(port), _) => (
                SocketAddr::from(([127, 0, 0, 1], port)),
                ListenSource::FunctionsHost,
            ),
            (None, Some(addr)) => (addr, ListenSource::Setting),
            (None, None) => (
                DEFAULT_LISTEN.parse().expect("default address parses"),
                ListenSource::Default,
            ),
        };

        let public_url_fix =
            "use the absolute URL of the MCP endpoint, for example https://mcp.contoso.com/mcp";
        let public_url = match reader.parse(&MCP_PUBLIC_URL, public_url_fix, parse_public_url) {
            Some(url) => url,
            None => {
                // Behind the host, a loopback default would be advertised to every client.
                if listen_source == ListenSource::FunctionsHost
                    && reader.raw(&MCP_PUBLIC_URL).is_none()
                {
                    reader.problem(
                        &MCP_PUBLIC_URL,
                        "is not set, and under the Functions host no default can be right",
                        public_url_fix,
                    );
                }
                Url::parse(&format!("http://{listen}/mcp")).expect("listen address forms a URL")
            }
        };

        let mut allowed_hosts: Vec<String> =
            LOOPBACK_HOSTS.iter().map(|host| host.to_string()).collect();
        if let Some(host) = public_url.host_str() {
            push_unique(&mut allowed_hosts, host.trim_matches(['[', ']']).to_owned());
        }
        for host in reader.list(&MCP_ALLOWED_HOSTS) {
            if host.contains('/') || host.contains('*') {
                reader.problem(
                    &MCP_ALLOWED_HOSTS,
                    format!("`{host}` is not a host name or host:port"),
                    "list bare host names such as mcp.contoso.com or mcp.contoso.com:8443",
                );
            } else {
                push_unique(&mut allowed_hosts, host);
            }
        }

        let mut allowed_origins = vec![origin_of(&public_url)];
        if is_loopback_host(&public_url) {
            // A local server is the same server whichever loopback name the browser used.
            let port = public_url.port_or_known_default().unwrap_or_default();
            for host in ["localhost", "127.0.0.1", "[::1]"] {
                push_unique(
                    &mut allowed_origins,
                    format!("{}://{host}:{port}", public_url.scheme()),
                );
            }
        }
        for origin in reader.list(&MCP_ALLOWED_ORIGINS) {
            match parse_origin(&origin) {
                Ok(origin) => push_unique(&mut allowed_origins, origin),
                Err(why) => reader.problem(
                    &MCP_ALLOWED_ORIGINS,
                    why,
                    "list origins as scheme://host:port, for example https://copilot.contoso.com:443 or http://localhost:*",
                ),
            }
        }

        let shutdown_grace = reader
            .parse(
                &MCP_SHUTDOWN_GRACE_SECONDS,
                "use a whole number of seconds between 0 and 300",
                |value| match value.parse::<u64>() {
                    Ok(seconds) if seconds <= 300 => Ok(Duration::from_secs(seconds)),
                    _ => Err(format!(
                        "`{value}` is not a number of seconds from 0 to 300"
                    )),
                },
            )
            .unwrap_or(Duration::from_secs(10));

        let log_level = reader
            .parse(
                &MCP_LOG,
                "use one of error, warn, info, debug, trace",
                |value| {
                    value
                        .parse::<tracing::Level>()
                        .map_err(|_| format!("`{value}` is not a log level"))
                },
            )
            .unwrap_or(tracing::Level::INFO);

        let auth = auth::read(&mut reader, listen_source == ListenSource::FunctionsHost);
        let outbound = outbound::read(&mut reader);
        let toolsets = toolsets::read(&mut reader);
        let proof_from_vault = matches!(
            auth.gateway_proof.as_ref().map(|proof| &proof.source),
            Some(ProofSourceConfig::KeyVaultSecret { .. })
        );
        if proof_from_vault && outbound.key_vault_url.is_none() {
            reader.problem(
                &KEY_VAULT_URL,
                "is not set, but MCP_GATEWAY_PROOF_SECRET_NAME names a Key Vault secret",
                "set KEY_VAULT_URL to the vault that holds the secret",
            );
        }
        if outbound.signing_key_secret.is_some() && outbound.key_vault_url.is_none() {
            reader.problem(
                &KEY_VAULT_URL,
                "is not set, but MCP_SIGNING_KEY_SECRET_NAME names a Key Vault secret",
                "set KEY_VAULT_URL to the vault that holds the secret",
            );
        }
        // Instances behind the host must accept each other's cursors and confirmations.
        if listen_source == ListenSource::FunctionsHost && outbound.signing_key_secret.is_none() {
            reader.problem(
                &MCP_SIGNING_KEY_SECRET_NAME,
                "is not set, and under the Functions host every instance must accept the cursors \
                 and confirmations another one issued",
                "create a Key Vault secret with a long random value and set its name here (azd up \
                 does both)",
            );
        }

        let authorization = authorization::read(
            &mut reader,
            &authorization::Context {
                public_url: &public_url,
                listen_source,
            },
        );
        if authorization.broker().is_some() {
            if outbound.key_vault_url.is_none() {
                reader.problem(
                    &KEY_VAULT_URL,
                    "is not set, but broker mode keeps its sealing key in Key Vault",
                    "set KEY_VAULT_URL to the vault holding MCP_BROKER_SEALING_KEY_SECRET_NAME",
                );
            }
            // Tokens the broker hands out were issued to this server's own app registration.
            if !auth.allowed_client_apps.is_empty()
                && !auth.allowed_client_apps.contains(&auth.client_id)
            {
                reader.problem(
                    &MCP_ALLOWED_CLIENT_APPS,
                    "does not list MCP_CLIENT_ID, but in broker mode every token's client \
                     application is this server's own registration",
                    "add MCP_CLIENT_ID to the list, or leave it empty",
                );
            }
        }

        reader.finish(Config {
            authorization,
            auth,
            outbound,
            listen,
            listen_source,
            public_url,
            allowed_hosts,
            allowed_origins,
            shutdown_grace,
            log_level,
            toolsets,
        })
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list
        .iter()
        .any(|existing| existing.eq_ignore_ascii_case(&item))
    {
        list.push(item);
    }
}

/// Loopback hosts may use plain HTTP; anything else must be HTTPS.
pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_public_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        _ => {
            return Err(format!(
                "`{value}` must use https (plain http only for loopback)"
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`{value}` must not carry a query, fragment or credentials"
        ));
    }
    if url.path().ends_with('/') && url.path() != "/" {
        return Err(format!(
            "`{value}` must not end with a slash (clients compare it exactly)"
        ));
    }
    Ok(url)
}

/// The origin of `url` in the allowlist form the transport expects: always with a port.
fn origin_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or_default();
    format!("{}://{host}:{port}", url.scheme())
}

fn parse_origin(value: &str) -> Result<String, String> {
    let (scheme, rest) = value
        .split_once("://")
        .ok_or_else(|| format!("`{value}` has no scheme"))?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return Err(format!("`{value}` is not an origin"));
    }
    if let Some(host) = rest.strip_suffix(":*") {
        if host.is_empty() {
            return Err(format!("`{value}` has no host"));
        }
        return Ok(value.to_ascii_lowercase());
    }
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not an origin"))?;
    Ok(origin_of(&url))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const AUTH: [(&str, &str); 6] = [
        (MCP_TENANT_ID.name, "72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
        (MCP_CLIENT_ID.name, "00000000-1111-2222-3333-444444444444"),
        (
            MCP_APP_ID_URI.name,
            "api://00000000-1111-2222-3333-444444444444",
        ),
        (
            MANAGED_IDENTITY_CLIENT_ID.name,
            "55555555-6666-7777-8888-999999999999",
        ),
        (IDENTITY_ENDPOINT.name, "http://localhost:8081/msi/token"),
        (IDENTITY_HEADER.name, "platform-secret"),
    ];

    fn read_exactly(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&move |name| map.get(name).cloned())
    }

    /// Reads `pairs` on top of a valid set of required settings.
    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all = AUTH.to_vec();
        all.extend_from_slice(pairs);
        read_exactly(&all)
    }

    fn problem_settings(error: &ConfigError) -> Vec<&'static str> {
        error.problems.iter().map(|p| p.setting).collect()
    }

    #[test]
    fn defaults_listen_on_loopback_7071() {
        let config = read(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:7071");
        assert_eq!(config.listen_source, ListenSource::Default);
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:7071/mcp");
        assert_eq!(
            config.allowed_origins,
            vec![
                "http://127.0.0.1:7071",
                "http://localhost:7071",
                "http://[::1]:7071"
            ]
        );
    }

    #[test]
    fn functions_port_wins_over_listen_setting() {
        let config = read(&[
            (FUNCTIONS_CUSTOMHANDLER_PORT.name, "4567"),
            (MCP_LISTEN_ADDR.name, "127.0.0.1:9000"),
            (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/mcp"),
            (MCP_SIGNING_KEY_SECRET_NAME.name, "mcp-signing-key"),
            (KEY_VAULT_URL.name, "https://kv-m365.vault.azure.net/"),
            (MCP_GATEWAY_PROOF_REQUIRED.name, "false"),
        ])
        .unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:4567");
        assert_eq!(config.listen_source, ListenSource::FunctionsHost);
    }

    #[test]
    fn public_host_and_origin_join_the_allowlists() {
        let config = read(&[
            (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/m365/mcp"),
            (MCP_ALLOWED_HOSTS.name, "func.azurewebsites.net, other:8443"),
            (
                MCP_ALLOWED_ORIGINS.name,
                "http://localhost:*,https://vscode.dev",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.allowed_hosts,
            vec![
                "localhost",
                "127.0.0.1",
                "::1",
                "mcp.contoso.com",
                "func.azurewebsites.net",
                "other:8443"
            ]
        );
        assert_eq!(
            config.allowed_origins,
            vec![
                "https://mcp.contoso.com:443",
                "http://localhost:*",
                "https://vscode.dev:443"
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = read(&[
            (FUNCTIONS_CUSTOMHANDLER_PORT.name, "seventy"),
            (MCP_PUBLIC_URL.name, "http://mcp.contoso.com/mcp"),
            (MCP_ALLOWED_ORIGINS.name, "contoso.com"),
            (MCP_SHUTDOWN_GRACE_SECONDS.name, "-1"),
            (MCP_LOG.name, "loud"),
        ])
        .unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![
                FUNCTIONS_CUSTOMHANDLER_PORT.name,
                MCP_PUBLIC_URL.name,
                MCP_ALLOWED_ORIGINS.name,
                MCP_SHUTDOWN_GRACE_SECONDS.name,
                MCP_LOG.name
            ]
        );
        assert!(error.to_string().contains("must use https"), "{error}");
    }

    #[test]
    fn public_url_with_trailing_slash_is_refused() {
        let error = read(&[(MCP_PUBLIC_URL.name, "https://mcp.contoso.com/mcp/")]).unwrap_err();
        assert!(error.problems[0].message.contains("slash"));
    }

    #[test]
    fn the_settings_table_lists_exactly_what_is_read() {
        let asked = std::cell::RefCell::new(Vec::<String>::new());
        let _ = Config::from_lookup(&|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        });
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut documented: Vec<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        documented.sort();
        assert_eq!(asked, documented);
    }

    #[test]
    fn auth_settings_are_normalized_and_derive_issuer_and_scopes() {
        let config = read(&[(
            MCP_ALLOWED_CLIENT_APPS.name,
            "AEBC6443-996D-45C2-90F0-388FF96FAA56",
        )])
        .unwrap();
        let auth = &config.auth;
        assert_eq!(auth.tenant_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(
            auth.v2_issuer(),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        );
        assert_eq!(
            auth.full_scope(&auth.required_scope),
            "api://00000000-1111-2222-3333-444444444444/user_impersonation"
        );
        assert_eq!(
            auth.allowed_client_apps,
            vec!["aebc6443-996d-45c2-90f0-388ff96faa56"]
        );
        assert!(auth.allowed_app_roles.is_empty());
        assert!(!auth.accept_v1_tokens);
        assert!(auth.gateway_proof.is_none());
    }

    #[test]
    fn missing_and_malformed_auth_settings_are_reported_together() {
        let error = read_exactly(&[
            (MCP_CLIENT_ID.name, "not-a-guid"),
            (MCP_APP_ID_URI.name, "api://contoso/"),
            (MCP_AUTHORITY_HOST.name, "http://login.example.com"),
            (MCP_ALLOWED_CLIENT_APPS.name, "vscode"),
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
        ])
        .unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![
                MCP_TENANT_ID.name,
                MCP_CLIENT_ID.name,
                MCP_APP_ID_URI.name,
                MCP_ALLOWED_CLIENT_APPS.name,
                MCP_AUTHORITY_HOST.name,
                MCP_GATEWAY_PROOF_HEADER.name,
                MANAGED_IDENTITY_CLIENT_ID.name,
                IDENTITY_ENDPOINT.name,
                IDENTITY_HEADER.name,
            ]
        );
        assert_eq!(error.problems[0].message, "is not set");
    }

    #[test]
    fn a_gateway_proof_needs_its_header_and_a_long_value() {
        let error = read(&[(MCP_GATEWAY_PROOF.name, "short")]).unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![MCP_GATEWAY_PROOF.name, MCP_GATEWAY_PROOF_HEADER.name]
        );
        let config = read(&[
            (MCP_GATEWAY_PROOF_HEADER.name, "X-MCP-Gateway-Proof"),
            (
                MCP_GATEWAY_PROOF.name,
                "0123456789abcdef-current, 0123456789abcdef-previous",
            ),
        ])
        .unwrap();
        let proof = config.auth.gateway_proof.unwrap();
        assert_eq!(proof.header.as_str(), "x-mcp-gateway-proof");
        let ProofSourceConfig::Values(values) = proof.source else {
            panic!("configured values expected");
        };
        assert_eq!(
            values,
            vec![
                SecretString::from("0123456789abcdef-current"),
                SecretString::from("0123456789abcdef-previous")
            ]
        );
    }

    #[test]
    fn a_gateway_proof_from_key_vault_needs_the_vault() {
        let error = read(&[
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
            (MCP_GATEWAY_PROOF_SECRET_NAME.name, "mcp-gateway-proof"),
        ])
        .unwrap_err();
        assert_eq!(problem_settings(&error), vec![KEY_VAULT_URL.name]);
        let config = read(&[
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
            (MCP_GATEWAY_PROOF_SECRET_NAME.name, "mcp-gateway-proof"),
            (KEY_VAULT_URL.name, "https://kv-m365.vault.azure.net/"),
        ])
        .unwrap();
        assert!(matches!(
            config.auth.gateway_proof.unwrap().source,
            ProofSourceConfig::KeyVaultSecret { name, rotation_grace }
                if name == "mcp-gateway-proof" && rotation_grace == Duration::from_secs(8 * 3600)
        ));
        let config = read(&[
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
            (MCP_GATEWAY_PROOF_SECRET_NAME.name, "mcp-gateway-proof"),
            (KEY_VAULT_URL.name, "https://kv-m365.vault.azure.net/"),
            (MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS.name, "0"),
        ])
        .unwrap();
        assert!(matches!(
            config.auth.gateway_proof.unwrap().source,
            ProofSourceConfig::KeyVaultSecret { rotation_grace, .. } if rotation_grace.is_zero()
        ));
        let error = read(&[(MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS.name, "604801")]).unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS.name]
        );
        assert_eq!(
            config.outbound.key_vault_url.unwrap().as_str(),
            "https://kv-m365.vault.azure.net/"
        );
    }

    #[test]
    fn outbound_settings_have_safe_defaults_and_refuse_plain_http() {
        let config = read(&[]).unwrap();
        assert_eq!(
            config.outbound.graph_base_url.as_str(),
            "https://graph.microsoft.com/"
        );
        assert_eq!(config.outbound.tool_deadline, Duration::from_secs(45));
        assert_eq!(
            config.outbound.managed_identity_client_id,
            "55555555-6666-7777-8888-999999999999"
        );
        let error = read(&[
            (GRAPH_BASE_URL.name, "http://graph.example.com"),
            (KEY_VAULT_URL.name, "http://127.0.0.1:9/"),
            (MCP_TOOL_DEADLINE_SECONDS.name, "600"),
        ])
        .unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![
                GRAPH_BASE_URL.name,
                KEY_VAULT_URL.name,
                MCP_TOOL_DEADLINE_SECONDS.name
            ]
        );
        let missing = read_exactly(&AUTH[..3]).unwrap_err();
        assert_eq!(
            problem_settings(&missing),
            vec![
                MANAGED_IDENTITY_CLIENT_ID.name,
                IDENTITY_ENDPOINT.name,
                IDENTITY_HEADER.name
            ]
        );
    }

    #[test]
    fn under_the_functions_host_the_public_url_and_the_signing_key_are_required() {
        let error = read(&[
            (FUNCTIONS_CUSTOMHANDLER_PORT.name, "4567"),
            (MCP_GATEWAY_PROOF_REQUIRED.name, "false"),
        ])
        .unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![MCP_PUBLIC_URL.name, MCP_SIGNING_KEY_SECRET_NAME.name]
        );
    }

    #[test]
    fn the_signing_key_comes_from_the_vault() {
        let error = read(&[(MCP_SIGNING_KEY_SECRET_NAME.name, "mcp-signing-key")]).unwrap_err();
        assert_eq!(problem_settings(&error), vec![KEY_VAULT_URL.name]);
        let config = read(&[
            (MCP_SIGNING_KEY_SECRET_NAME.name, "mcp-signing-key"),
            (KEY_VAULT_URL.name, "https://kv-m365.vault.azure.net/"),
        ])
        .unwrap();
        assert_eq!(
            config.outbound.signing_key_secret.as_deref(),
            Some("mcp-signing-key")
        );
        assert_eq!(read(&[]).unwrap().outbound.signing_key_secret, None);
    }

    #[test]
    fn toolsets_default_to_every_read_toolset_and_unknown_names_are_a_problem() {
        let config = read(&[]).unwrap();
        assert!(config.toolsets.contains(Toolset::Calendar));
        assert!(!config.toolsets.contains(Toolset::Write));
        let config = read(&[(MCP_TOOLSETS.name, "profile,write")]).unwrap();
        assert!(config.toolsets.contains(Toolset::Write));
        assert!(!config.toolsets.contains(Toolset::Mail));
        let error = read(&[(MCP_TOOLSETS.name, "mail,chat")]).unwrap_err();
        assert_eq!(problem_settings(&error), vec![MCP_TOOLSETS.name]);
        assert!(
            error.problems[0].fix.contains("profile, calendar"),
            "{error}"
        );
    }

    #[test]
    fn under_the_functions_host_a_gateway_proof_is_required_unless_declared_unneeded() {
        let hosted = [
            (FUNCTIONS_CUSTOMHANDLER_PORT.name, "4567"),
            (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/mcp"),
            (MCP_SIGNING_KEY_SECRET_NAME.name, "mcp-signing-key"),
            (KEY_VAULT_URL.name, "https://kv-m365.vault.azure.net/"),
        ];
        let error = read(&hosted).unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![MCP_GATEWAY_PROOF_HEADER.name]
        );
        assert!(
            error.problems[0]
                .fix
                .contains("MCP_GATEWAY_PROOF_REQUIRED=false"),
            "{error}"
        );

        let mut isolated = hosted.to_vec();
        isolated.push((MCP_GATEWAY_PROOF_REQUIRED.name, "false"));
        assert!(read(&isolated).unwrap().auth.gateway_proof.is_none());

        let mut with_proof = hosted.to_vec();
        with_proof.extend([
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
            (MCP_GATEWAY_PROOF_SECRET_NAME.name, "mcp-gateway-proof"),
            (KEY_VAULT_URL.name, "https://kv-m365.vault.azure.net/"),
        ]);
        assert!(read(&with_proof).unwrap().auth.gateway_proof.is_some());

        // Outside the host it is not required, unless asked for.
        assert!(read(&[]).is_ok());
        let error = read(&[(MCP_GATEWAY_PROOF_REQUIRED.name, "true")]).unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![MCP_GATEWAY_PROOF_HEADER.name]
        );
        let error = read(&[(MCP_GATEWAY_PROOF_REQUIRED.name, "maybe")]).unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![MCP_GATEWAY_PROOF_REQUIRED.name]
        );
    }

    #[test]
    fn debug_output_never_shows_a_configured_gateway_proof() {
        let config = read(&[
            (MCP_GATEWAY_PROOF_HEADER.name, "x-mcp-gateway-proof"),
            (
                MCP_GATEWAY_PROOF.name,
                "secret-current-4b1f9e2a, secret-previous-7d3c8a51",
            ),
        ])
        .unwrap();
        let shown = format!("{config:?} {:?}", config.auth.gateway_proof);
        for value in ["secret-current-4b1f9e2a", "secret-previous-7d3c8a51"] {
            assert!(!shown.contains(value), "{shown}");
        }
        assert!(
            shown.contains("x-mcp-gateway-proof"),
            "the header is no secret"
        );
    }

    #[test]
    fn entra_is_the_default_mode_and_broker_mode_is_configured_from_the_public_url() {
        assert!(read(&[]).unwrap().authorization.broker().is_none());
        let config = read(&[
            (MCP_AUTHORIZATION.name, "broker"),
            (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/m365/mcp"),
            (KEY_VAULT_URL.name, "https://kv.vault.azure.net/"),
        ])
        .unwrap();
        let broker = config.authorization.broker().unwrap();
        assert_eq!(broker.issuer, "https://mcp.contoso.com/m365");
        assert_eq!(
            broker.endpoint("/token"),
            "https://mcp.contoso.com/m365/token"
        );
        assert_eq!(broker.issuer_path(), "/m365");
        assert!(matches!(broker.store, BrokerStoreConfig::InProcess));
        assert_eq!(broker.sealing_key_secret, "mcp-broker-sealing-key");
        assert_eq!(broker.redirect_policy.len(), DEFAULT_REDIRECTS.len());
    }

    #[test]
    fn broker_mode_needs_a_vault_a_shared_store_under_the_host_and_its_own_client_admitted() {
        let error = read(&[
            (MCP_AUTHORIZATION.name, "broker"),
            (FUNCTIONS_CUSTOMHANDLER_PORT.name, "4567"),
            (MCP_GATEWAY_PROOF_REQUIRED.name, "false"),
            (MCP_PUBLIC_URL.name, "https://mcp.contoso.com/mcp"),
            (
                MCP_ALLOWED_CLIENT_APPS.name,
                "aebc6443-996d-45c2-90f0-388ff96faa56",
            ),
        ])
        .unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![
                MCP_SIGNING_KEY_SECRET_NAME.name,
                MCP_BROKER_BLOB_ENDPOINT.name,
                KEY_VAULT_URL.name,
                MCP_ALLOWED_CLIENT_APPS.name
            ]
        );
        let error = read(&[
            (MCP_AUTHORIZATION.name, "brokered"),
            (
                MCP_BROKER_BLOB_ENDPOINT.name,
                "http://st.blob.core.windows.net/",
            ),
            (MCP_BROKER_BLOB_CONTAINER.name, "Bad_Name"),
            (
                MCP_BROKER_REDIRECT_URIS.name,
                "default,http://evil.example/cb",
            ),
        ])
        .unwrap_err();
        assert_eq!(
            problem_settings(&error),
            vec![
                MCP_AUTHORIZATION.name,
                MCP_BROKER_BLOB_ENDPOINT.name,
                MCP_BROKER_BLOB_CONTAINER.name,
                MCP_BROKER_REDIRECT_URIS.name
            ]
        );
        let config = read(&[
            (MCP_AUTHORIZATION.name, "broker"),
            (
                MCP_BROKER_BLOB_ENDPOINT.name,
                "https://st.blob.core.windows.net",
            ),
            (KEY_VAULT_URL.name, "https://kv.vault.azure.net/"),
            (MCP_BROKER_REDIRECT_URIS.name, "loopback"),
        ])
        .unwrap();
        let broker = config.authorization.broker().unwrap();
        assert!(matches!(
            &broker.store,
            BrokerStoreConfig::Blob { endpoint, container }
                if endpoint.as_str() == "https://st.blob.core.windows.net/" && container == "mcp-broker"
        ));
        assert_eq!(broker.redirect_policy, vec![RedirectRule::Loopback]);
    }
}
