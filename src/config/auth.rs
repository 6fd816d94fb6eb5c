//! Settings of inbound authorization: whose tokens are accepted, for which audience, with which
//! scope, and the gateway proof.

use std::time::Duration;

use http::HeaderName;
use url::Url;

use super::{Reader, SecretString, Setting, is_loopback_host, settings::*};

/// Who may call, as configured.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lower-case GUID.
    pub tenant_id: String,
    /// Lower-case GUID of this server's app registration.
    pub client_id: String,
    /// Identifier URI, without a trailing slash.
    pub app_id_uri: String,
    /// Short scope name, e.g. `user_impersonation`.
    pub required_scope: String,
    /// Lower-case GUIDs; empty admits every client application of the tenant.
    pub allowed_client_apps: Vec<String>,
    /// Empty refuses every app-only token.
    pub allowed_app_roles: Vec<String>,
    pub accept_v1_tokens: bool,
    /// Scheme and host (and port), no path, no trailing slash.
    pub authority_host: Url,
    pub jwks_refresh_cooldown: Duration,
    pub gateway_proof: Option<GatewayProofConfig>,
}

impl AuthConfig {
    /// The v2 issuer and authority: `{authority}/{tenant}/v2.0`.
    pub fn v2_issuer(&self) -> String {
        format!(
            "{}/{}/v2.0",
            self.authority_host.as_str().trim_end_matches('/'),
            self.tenant_id
        )
    }

    /// A scope in the form clients request it: `{app id uri}/{name}`.
    pub fn full_scope(&self, name: &str) -> String {
        format!("{}/{name}", self.app_id_uri)
    }
}

/// The header APIM adds and where the values it may carry come from.
#[derive(Debug, Clone)]
pub struct GatewayProofConfig {
    pub header: HeaderName,
    pub source: ProofSourceConfig,
}

/// `Debug` shows no proof value: [`SecretString`] redacts them.
#[derive(Debug, Clone)]
pub enum ProofSourceConfig {
    /// Fixed values (local development): current first, then the previous one.
    Values(Vec<SecretString>),
    /// A Key Vault secret: its current version, and the previous one for `rotation_grace`
    /// after the current one was created.
    KeyVaultSecret {
        name: String,
        rotation_grace: Duration,
    },
}

const GUID_FIX: &str = "use the GUID shown on the app registration's Overview page in Entra ID";
/// The shortest gateway proof accepted, from configuration or from Key Vault.
pub const MIN_PROOF_LENGTH: usize = 16;
const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(8 * 60 * 60);
const MAX_ROTATION_GRACE_SECONDS: u64 = 7 * 24 * 60 * 60;

/// Reads the inbound settings; `under_functions_host` makes a gateway proof required unless
/// `MCP_GATEWAY_PROOF_REQUIRED=false` says otherwise.
pub(super) fn read(reader: &mut Reader, under_functions_host: bool) -> AuthConfig {
    let tenant_id = guid(
        reader,
        &MCP_TENANT_ID,
        "use your Entra tenant id (a GUID), for example from `az account show --query tenantId`",
    );
    let client_id = guid(reader, &MCP_CLIENT_ID, GUID_FIX);
    let app_id_uri = reader
        .required(
            &MCP_APP_ID_URI,
            "use the app registration's Application ID URI, for example api://<client id>",
        )
        .and_then(|value| match parse_app_id_uri(&value) {
            Ok(uri) => Some(uri),
            Err(why) => {
                reader.problem(
                    &MCP_APP_ID_URI,
                    why,
                    "use an api:// or https:// URI without a trailing slash",
                );
                None
            }
        });

    let required_scope = reader
        .parse(
            &MCP_REQUIRED_SCOPE,
            "use the short name of a delegated scope the app registration exposes",
            |value| {
                if value
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
                {
                    Ok(value.to_owned())
                } else {
                    Err(format!(
                        "`{value}` is not a scope name (letters, digits, `.`, `_`, `-`)"
                    ))
                }
            },
        )
        .unwrap_or_else(|| "user_impersonation".to_owned());

    let mut allowed_client_apps = Vec::new();
    for app in reader.list(&MCP_ALLOWED_CLIENT_APPS) {
        match normalize_guid(&app) {
            Some(app) => allowed_client_apps.push(app),
            None => reader.problem(
                &MCP_ALLOWED_CLIENT_APPS,
                format!("`{app}` is not a client id (GUID)"),
                "list the client ids of the allowed applications, comma-separated",
            ),
        }
    }
    let allowed_app_roles = reader.list(&MCP_ALLOWED_APP_ROLES);

    let accept_v1_tokens = reader
        .parse(&MCP_ACCEPT_V1_TOKENS, "use true or false", |value| {
            value
                .parse::<bool>()
                .map_err(|_| format!("`{value}` is not true or false"))
        })
        .unwrap_or(false);

    let authority_host = authority_host(reader);

    let jwks_refresh_cooldown = reader
        .parse(
            &MCP_JWKS_REFRESH_COOLDOWN_SECONDS,
            "use a whole number of seconds from 1 to 3600",
            |value| match value.parse::<u64>() {
                Ok(seconds @ 1..=3600) => Ok(Duration::from_secs(seconds)),
                _ => Err(format!(
                    "`{value}` is not a number of seconds from 1 to 3600"
                )),
            },
        )
        .unwrap_or(Duration::from_secs(300));

    let gateway_proof = read_gateway_proof(reader, under_functions_host);

    AuthConfig {
        tenant_id: tenant_id.unwrap_or_default(),
        client_id: client_id.unwrap_or_default(),
        app_id_uri: app_id_uri.unwrap_or_default(),
        required_scope,
        allowed_client_apps,
        allowed_app_roles,
        accept_v1_tokens,
        authority_host,
        jwks_refresh_cooldown,
        gateway_proof,
    }
}

fn read_gateway_proof(
    reader: &mut Reader,
    under_functions_host: bool,
) -> Option<GatewayProofConfig> {
    let header = reader.parse(
        &MCP_GATEWAY_PROOF_HEADER,
        "use an HTTP header name, for example x-mcp-gateway-proof",
        |value| {
            HeaderName::from_bytes(value.as_bytes())
                .map_err(|_| format!("`{value}` is not an HTTP header name"))
        },
    );
    let values: Vec<SecretString> = reader
        .list(&MCP_GATEWAY_PROOF)
        .into_iter()
        .map(SecretString::from)
        .collect();
    if values.iter().any(|value| value.len() < MIN_PROOF_LENGTH) {
        reader.problem(
            &MCP_GATEWAY_PROOF,
            format!("a value is shorter than {MIN_PROOF_LENGTH} characters"),
            "use a long random value, the same one the gateway sends",
        );
    }
    let secret_name = reader.parse(
        &MCP_GATEWAY_PROOF_SECRET_NAME,
        "use the name of the Key Vault secret APIM's named value reads, for example mcp-gateway-proof",
        |value| {
            let valid = (1..=127).contains(&value.len())
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if valid {
                Ok(value.to_owned())
            } else {
                Err(format!("`{value}` is not a Key Vault secret name (letters, digits, -)"))
            }
        },
    );
    let rotation_grace = reader
        .parse(
            &MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS,
            &format!("use a whole number of seconds from 0 to {MAX_ROTATION_GRACE_SECONDS}"),
            |value| match value.parse::<u64>() {
                Ok(seconds) if seconds <= MAX_ROTATION_GRACE_SECONDS => {
                    Ok(Duration::from_secs(seconds))
                }
                _ => Err(format!(
                    "`{value}` is not a number of seconds from 0 to {MAX_ROTATION_GRACE_SECONDS}"
                )),
            },
        )
        .unwrap_or(DEFAULT_ROTATION_GRACE);
    let required = reader
        .parse(&MCP_GATEWAY_PROOF_REQUIRED, "use true or false", |value| {
            value
                .parse::<bool>()
                .map_err(|_| format!("`{value}` is not true or false"))
        })
        .unwrap_or(under_functions_host);
    let source = match (values.is_empty(), secret_name) {
        (false, Some(_)) => {
            reader.problem(
                &MCP_GATEWAY_PROOF,
                "is set together with MCP_GATEWAY_PROOF_SECRET_NAME",
                "in Azure keep only MCP_GATEWAY_PROOF_SECRET_NAME; MCP_GATEWAY_PROOF is for local development",
            );
            None
        }
        (false, None) => Some(ProofSourceConfig::Values(values)),
        (true, Some(name)) => Some(ProofSourceConfig::KeyVaultSecret {
            name,
            rotation_grace,
        }),
        (true, None) => None,
    };
    let header_set = reader.raw(&MCP_GATEWAY_PROOF_HEADER).is_some();
    if required && !header_set {
        let message = if under_functions_host {
            "is not set, and under the Functions host a gateway proof is required: without it \
             anyone who reaches the function app directly gets past APIM's token check and rate \
             limit"
        } else {
            "is not set, but MCP_GATEWAY_PROOF_REQUIRED=true asks for a gateway proof"
        };
        reader.problem(
            &MCP_GATEWAY_PROOF_HEADER,
            message,
            "set MCP_GATEWAY_PROOF_HEADER and MCP_GATEWAY_PROOF_SECRET_NAME (the Bicep in infra/ \
             sets both), or set MCP_GATEWAY_PROOF_REQUIRED=false if the function app accepts \
             traffic from APIM's network only",
        );
    }
    match (header, source) {
        (Some(header), Some(source)) => Some(GatewayProofConfig { header, source }),
        (Some(_), None) => {
            reader.problem(
                &MCP_GATEWAY_PROOF_HEADER,
                "is set, but no expected value is configured",
                "set MCP_GATEWAY_PROOF_SECRET_NAME (Key Vault) or, locally, MCP_GATEWAY_PROOF",
            );
            None
        }
        (None, Some(_)) if !header_set => {
            reader.problem(
                &MCP_GATEWAY_PROOF_HEADER,
                "is not set, but a gateway proof value or secret is",
                "set MCP_GATEWAY_PROOF_HEADER, for example to x-mcp-gateway-proof",
            );
            None
        }
        _ => None,
    }
}

pub(super) fn guid(reader: &mut Reader, setting: &'static Setting, fix: &str) -> Option<String> {
    let value = reader.required(setting, fix)?;
    let guid = normalize_guid(&value);
    if guid.is_none() {
        reader.problem(setting, format!("`{value}` is not a GUID"), fix);
    }
    guid
}

/// `8-4-4-4-12` hexadecimal digits, returned in lower case.
pub(crate) fn normalize_guid(value: &str) -> Option<String> {
    let groups: Vec<&str> = value.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()));
    shape_ok.then(|| value.to_ascii_lowercase())
}

fn parse_app_id_uri(value: &str) -> Result<String, String> {
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not a URI"))?;
    let scheme_ok = match url.scheme() {
        "api" | "https" => true,
        "http" => is_loopback_host(&url),
        _ => false,
    };
    if !scheme_ok {
        return Err(format!("`{value}` must use api:// or https://"));
    }
    if value.ends_with('/') {
        return Err(format!(
            "`{value}` must not end with a slash: scopes are `<uri>/<scope>`"
        ));
    }
    Ok(value.to_owned())
}

/// `MCP_AUTHORITY_HOST`, or the public cloud's.
pub(super) fn authority_host(reader: &mut Reader) -> Url {
    reader
        .parse(
            &MCP_AUTHORITY_HOST,
            "use an https URL with no path, for example https://login.microsoftonline.us",
            parse_authority_host,
        )
        .unwrap_or_else(|| {
            Url::parse("https://login.microsoftonline.com").expect("default authority parses")
        })
}

fn parse_authority_host(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not a URL"))?;
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(&url));
    if !secure {
        return Err(format!(
            "`{value}` must use https (plain http only for loopback)"
        ));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!("`{value}` must be a host without a path"));
    }
    Ok(url)
}
