//! Settings of everything the server calls: its managed identity, Microsoft Graph, Key Vault,
//! and the time a tool call may take.

use std::time::Duration;

use url::Url;

use super::{Reader, Setting, is_loopback_host, settings::*};

#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Client id of the user-assigned managed identity: the federated credential behind the
    /// on-behalf-of exchange, and the identity that reads Key Vault.
    pub managed_identity_client_id: String,
    /// Graph's base URL, no trailing slash. It is also the resource prefix of Graph scopes
    /// (`https://graph.microsoft.com/User.Read`), which is right for every national cloud.
    pub graph_base_url: Url,
    /// The vault URL, if secrets come from Key Vault.
    pub key_vault_url: Option<Url>,
    pub secret_refresh: Duration,
    /// The Key Vault secret keying cursors and confirmations; `None`: a key per process.
    pub signing_key_secret: Option<String>,
    /// Every tool call, retries included, ends within this.
    pub tool_deadline: Duration,
}

const MI_FIX: &str = "run under Azure Functions with a user-assigned managed identity (the platform \
                      sets it), or locally with `cargo run` and no MCP_TENANT_ID";

pub(super) fn read(reader: &mut Reader) -> OutboundConfig {
    let managed_identity_client_id = reader
        .required(
            &MANAGED_IDENTITY_CLIENT_ID,
            "use the client id of the user-assigned managed identity the function app runs as",
        )
        .and_then(|value| match super::normalize_guid(&value) {
            Some(id) => Some(id),
            None => {
                reader.problem(
                    &MANAGED_IDENTITY_CLIENT_ID,
                    format!("`{value}` is not a client id (GUID)"),
                    "use the identity's client id, not its name or resource id",
                );
                None
            }
        });
    // azure_identity reads these two itself; checking them here turns a confusing failure on
    // the first Graph call into a clear one at start-up.
    for platform in [&IDENTITY_ENDPOINT, &IDENTITY_HEADER] {
        reader.required(platform, MI_FIX);
    }

    let graph_base_url = graph_base_url(reader);

    let key_vault_url = reader.parse(
        &KEY_VAULT_URL,
        "use the vault URI from the Key Vault's overview, for example https://kv-m365-mcp.vault.azure.net/",
        |value| https_or_loopback(value, true),
    );

    let secret_refresh = seconds(reader, &MCP_SECRET_REFRESH_SECONDS, 10..=86_400, 300);
    let signing_key_secret = reader.raw(&MCP_SIGNING_KEY_SECRET_NAME);
    let tool_deadline = tool_deadline(reader);

    OutboundConfig {
        managed_identity_client_id: managed_identity_client_id.unwrap_or_default(),
        graph_base_url,
        key_vault_url,
        secret_refresh,
        signing_key_secret,
        tool_deadline,
    }
}

/// `GRAPH_BASE_URL`, or the public cloud's Graph.
pub(super) fn graph_base_url(reader: &mut Reader) -> Url {
    reader
        .parse(
            &GRAPH_BASE_URL,
            "use https://graph.microsoft.com, or a national cloud's Graph endpoint",
            |value| https_or_loopback(value, false),
        )
        .unwrap_or_else(|| Url::parse("https://graph.microsoft.com").expect("default parses"))
}

/// `MCP_TOOL_DEADLINE_SECONDS`.
pub(super) fn tool_deadline(reader: &mut Reader) -> Duration {
    seconds(reader, &MCP_TOOL_DEADLINE_SECONDS, 1..=200, 45)
}

fn seconds(
    reader: &mut Reader,
    setting: &'static Setting,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Duration {
    let (low, high) = (*range.start(), *range.end());
    reader
        .parse(
            setting,
            &format!("use a whole number of seconds from {low} to {high}"),
            |value| match value.parse::<u64>() {
                Ok(seconds) if range.contains(&seconds) => Ok(Duration::from_secs(seconds)),
                _ => Err(format!(
                    "`{value}` is not a number of seconds from {low} to {high}"
                )),
            },
        )
        .map_or(Duration::from_secs(default), |duration| duration)
}

/// An https URL (plain http only on loopback) with no query; `https_only` refuses even that.
fn https_or_loopback(value: &str, https_only: bool) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|_| format!("`{value}` is not a URL"))?;
    let secure = url.scheme() == "https"
        || (!https_only && url.scheme() == "http" && is_loopback_host(&url));
    if !secure {
        return Err(format!("`{value}` must use https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{value}` must not carry a query or fragment"));
    }
    Ok(url)
}
