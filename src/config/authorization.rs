//! Settings of the authorization mode: whether clients get their tokens from Entra ID directly,
//! or from the built-in authorization server that brokers the Entra sign-in (broker mode), and
//! what the broker needs: its state store, its sealing key, its redirect-URI policy.

use url::Url;

use super::{ListenSource, Reader, is_loopback_host, settings::*};

/// Where MCP clients get their tokens.
#[derive(Debug, Clone)]
pub enum AuthorizationMode {
    /// The protected-resource metadata names Entra ID.
    Entra,
    /// This server is the authorization server, and an Entra client itself.
    Broker(BrokerConfig),
}

impl AuthorizationMode {
    pub fn broker(&self) -> Option<&BrokerConfig> {
        match self {
            AuthorizationMode::Entra => None,
            AuthorizationMode::Broker(broker) => Some(broker),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The issuer identifier (RFC 8414): the public URL's origin and the path above the MCP
    /// endpoint, without a trailing slash (`https://mcp.contoso.com` for
    /// `https://mcp.contoso.com/mcp`).
    pub issuer: String,
    pub store: BrokerStoreConfig,
    /// The Key Vault secret holding the sealing key.
    pub sealing_key_secret: String,
    /// What redirect URIs dynamically registered clients may use.
    pub redirect_policy: Vec<RedirectRule>,
}

impl BrokerConfig {
    /// An endpoint of the authorization server: `{issuer}{path}`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The path of the issuer on this host (empty at the root), for RFC 8414 path insertion.
    pub fn issuer_path(&self) -> String {
        Url::parse(&self.issuer)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub enum BrokerStoreConfig {
    /// Codes, refresh-token families and consents live in this process: one instance only.
    InProcess,
    /// In a Blob container, shared by every instance.
    Blob { endpoint: Url, container: String },
}

/// One entry of the redirect-URI policy for dynamically registered clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectRule {
    /// `http` on a loopback host (127.0.0.1, [::1], localhost), any port and path (RFC 8252).
    Loopback,
    /// Exactly this URI.
    Exact(String),
    /// Any https URI starting with this (an entry ending in `*`).
    Prefix(String),
}

/// What `default` stands for: loopback (every native client and CLI), and the documented
/// web callbacks of VS Code, Claude and ChatGPT.
pub const DEFAULT_REDIRECTS: &[&str] = &[
    "loopback",
    "https://vscode.dev/redirect",
    "https://insiders.vscode.dev/redirect",
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
    "https://chatgpt.com/connector_platform_oauth_redirect",
];

/// Context from the other settings that broker mode depends on.
pub(super) struct Context<'a> {
    pub public_url: &'a Url,
    pub listen_source: ListenSource,
}

pub(super) fn read(reader: &mut Reader, context: &Context) -> AuthorizationMode {
    let mode = reader.parse(
        &MCP_AUTHORIZATION,
        "use `entra` (clients sign in at Entra ID) or `broker` (this server brokers the sign-in)",
        |value| match value.to_ascii_lowercase().as_str() {
            "entra" => Ok(false),
            "broker" => Ok(true),
            _ => Err(format!("`{value}` is neither `entra` nor `broker`")),
        },
    );
    // The broker settings are read (and checked) whatever the mode, so `--help` lists them and
    // a typo shows up before someone switches modes.
    let endpoint = reader.parse(
        &MCP_BROKER_BLOB_ENDPOINT,
        "use the storage account's Blob endpoint, for example https://stmcp.blob.core.windows.net/",
        parse_blob_endpoint,
    );
    let container = reader
        .parse(
            &MCP_BROKER_BLOB_CONTAINER,
            "use a container name: 3 to 63 lower-case letters, digits and single hyphens",
            parse_container,
        )
        .unwrap_or_else(|| "mcp-broker".to_owned());
    let sealing_key_secret = reader
        .parse(
            &MCP_BROKER_SEALING_KEY_SECRET_NAME,
            "use the name of a Key Vault secret, for example mcp-broker-sealing-key",
            |value| {
                let valid = (1..=127).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if valid {
                    Ok(value.to_owned())
                } else {
                    Err(format!(
                        "`{value}` is not a Key Vault secret name (letters, digits, -)"
                    ))
                }
            },
        )
        .unwrap_or_else(|| "mcp-broker-sealing-key".to_owned());
    let redirect_policy = read_redirect_policy(reader);

    if mode != Some(true) {
        return AuthorizationMode::Entra;
    }
    let store = match endpoint {
        Some(endpoint) => BrokerStoreConfig::Blob {
            endpoint,
            container,
        },
        None => {
            if context.listen_source == ListenSource::FunctionsHost
                && reader.raw(&MCP_BROKER_BLOB_ENDPOINT).is_none()
            {
                reader.problem(
                    &MCP_BROKER_BLOB_ENDPOINT,
                    "is not set, but broker mode under the Functions host needs a store every \
                     instance shares",
                    "set it to the Blob endpoint of the storage account azd created (see \
                     docs/DEPLOY.md, Broker mode)",
                );
            }
            BrokerStoreConfig::InProcess
        }
    };
    AuthorizationMode::Broker(BrokerConfig {
        issuer: issuer_of(context.public_url),
        store,
        sealing_key_secret,
        redirect_policy,
    })
}

/// The public URL without its last path segment: `https://h/mcp` → `https://h`,
/// `https://h/m365/mcp` → `https://h/m365`.
pub fn issuer_of(public_url: &Url) -> String {
    let origin = public_url.origin().ascii_serialization();
    let path = public_url.path().trim_end_matches('/');
    let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    format!("{origin}{parent}")
}

fn parse_blob_endpoint(value: &str) -> Result<Url, String> {
    let mut url = Url::parse(value).map_err(|_| format!("`{value}` is not a URL"))?;
    // Bearer tokens travel only over TLS (the SDK refuses anything else).
    if url.scheme() != "https" {
        return Err(format!("`{value}` must use https"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`{value}` must not carry a query (no SAS tokens), fragment or credentials"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn parse_container(value: &str) -> Result<String, String> {
    let valid = (3..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--");
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!("`{value}` is not a Blob container name"))
    }
}

fn read_redirect_policy(reader: &mut Reader) -> Vec<RedirectRule> {
    let entries = match reader.raw(&MCP_BROKER_REDIRECT_URIS) {
        None => vec!["default".to_owned()],
        Some(_) => reader.list(&MCP_BROKER_REDIRECT_URIS),
    };
    let mut rules = Vec::new();
    for entry in entries {
        if entry.eq_ignore_ascii_case("default") {
            for default in DEFAULT_REDIRECTS {
                let rule = parse_redirect_rule(default).expect("the defaults parse");
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
            continue;
        }
        match parse_redirect_rule(&entry) {
            Ok(rule) => {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
            Err(why) => reader.problem(
                &MCP_BROKER_REDIRECT_URIS,
                why,
                "list `default`, `loopback`, exact https URIs, or https prefixes ending in *",
            ),
        }
    }
    rules
}

/// One policy entry.
pub fn parse_redirect_rule(entry: &str) -> Result<RedirectRule, String> {
    if entry.eq_ignore_ascii_case("loopback") {
        return Ok(RedirectRule::Loopback);
    }
    let (text, prefix) = match entry.strip_suffix('*') {
        Some(text) => (text, true),
        None => (entry, false),
    };
    let url = Url::parse(text).map_err(|_| format!("`{entry}` is not a URI"))?;
    if url.scheme() != "https" {
        if url.scheme() == "http" && is_loopback_host(&url) {
            return Err(format!(
                "`{entry}`: list `loopback` for loopback redirects (any port, RFC 8252)"
            ));
        }
        return Err(format!(
            "`{entry}` must use https: other schemes can be claimed by any app on a device"
        ));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{entry}` must not carry a fragment or credentials"
        ));
    }
    if prefix {
        // A prefix must pin at least the host and a path start, so it cannot reach other hosts
        // (`https://contoso.com*` would admit `https://contoso.com.evil.example`).
        if url.path() == "/" && !text.ends_with('/') {
            return Err(format!(
                "`{entry}`: a prefix must end with `/` or include a path, so it pins the host"
            ));
        }
        Ok(RedirectRule::Prefix(text.to_owned()))
    } else {
        Ok(RedirectRule::Exact(entry.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_the_public_url_without_the_mcp_segment() {
        let issuer = |url: &str| issuer_of(&Url::parse(url).unwrap());
        assert_eq!(
            issuer("https://mcp.contoso.com/mcp"),
            "https://mcp.contoso.com"
        );
        assert_eq!(
            issuer("https://mcp.contoso.com/m365/mcp"),
            "https://mcp.contoso.com/m365"
        );
        assert_eq!(issuer("http://127.0.0.1:7071/mcp"), "http://127.0.0.1:7071");
        assert_eq!(
            issuer("https://MCP.contoso.com:8443/mcp"),
            "https://mcp.contoso.com:8443"
        );
    }

    #[test]
    fn redirect_rules_parse_and_refuse_what_is_unsafe() {
        assert_eq!(parse_redirect_rule("loopback"), Ok(RedirectRule::Loopback));
        assert_eq!(
            parse_redirect_rule("https://app.contoso.com/cb"),
            Ok(RedirectRule::Exact("https://app.contoso.com/cb".into()))
        );
        assert_eq!(
            parse_redirect_rule("https://app.contoso.com/oauth/*"),
            Ok(RedirectRule::Prefix(
                "https://app.contoso.com/oauth/".into()
            ))
        );
        for bad in [
            "http://app.contoso.com/cb",
            "http://127.0.0.1:8080/cb",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "https://contoso.com*",
            "https://user@contoso.com/cb",
            "https://contoso.com/cb#x",
            "not a uri",
        ] {
            assert!(parse_redirect_rule(bad).is_err(), "{bad}");
        }
        for default in DEFAULT_REDIRECTS {
            assert!(parse_redirect_rule(default).is_ok(), "{default}");
        }
    }

    #[test]
    fn blob_endpoints_must_be_https_without_a_sas() {
        assert_eq!(
            parse_blob_endpoint("https://st.blob.core.windows.net")
                .unwrap()
                .as_str(),
            "https://st.blob.core.windows.net/"
        );
        assert!(parse_blob_endpoint("http://st.blob.core.windows.net/").is_err());
        assert!(parse_blob_endpoint("https://st.blob.core.windows.net/?sv=2024&sig=x").is_err());
        assert!(parse_container("mcp-broker").is_ok());
        for bad in ["MCP", "ab", "a--b", "-ab", "ab-", "a_b"] {
            assert!(parse_container(bad).is_err(), "{bad}");
        }
    }
}
