//! Settings of `handler stdio`: one user, signed in to their own public client app
//! registration, served over stdin and stdout. It reads a handful of the server's settings
//! (the tenant, the authority, Graph, the toolsets, the deadline, the log level) and its own
//! ([`super::STDIO_SETTINGS`]); nothing about listening, inbound tokens, the managed identity
//! or Key Vault, which it has none of.

use std::{path::PathBuf, time::Duration};

use url::Url;

use super::{
    ConfigError, EnabledToolsets, Reader, auth, log_level, outbound, settings::*, toolsets,
};

#[derive(Debug, Clone)]
pub struct StdioConfig {
    /// Lower-case GUID: the tenant the user signs in to.
    pub tenant_id: String,
    /// Lower-case GUID of the user's public client app registration.
    pub client_id: String,
    /// Scheme and host (and port), no path.
    pub authority_host: Url,
    pub graph_base_url: Url,
    pub toolsets: EnabledToolsets,
    pub tool_deadline: Duration,
    pub log_level: tracing::Level,
    /// `MCP_TOKEN_STORE_DIR`, if set; otherwise the platform's configuration directory.
    pub token_store_dir: Option<PathBuf>,
}

const CLIENT_ID_FIX: &str = "register a public client app (see the README, \"Local use over \
                             stdio\") and use the Application (client) ID from its Overview page";

impl StdioConfig {
    /// Reads the settings through `lookup`, reporting every problem at once.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut reader = Reader::new(lookup);
        let tenant_id = auth::guid(
            &mut reader,
            &MCP_TENANT_ID,
            "use your Entra tenant id (a GUID), for example from `az account show --query \
             tenantId`; leave it unset to try the tools offline against local stand-ins",
        );
        let client_id = auth::guid(&mut reader, &MCP_PUBLIC_CLIENT_ID, CLIENT_ID_FIX);
        let authority_host = auth::authority_host(&mut reader);
        let graph_base_url = outbound::graph_base_url(&mut reader);
        let toolsets = toolsets::read(&mut reader);
        let tool_deadline = outbound::tool_deadline(&mut reader);
        let log_level = log_level(&mut reader);
        let token_store_dir = reader.raw(&MCP_TOKEN_STORE_DIR).map(PathBuf::from);
        if token_store_dir
            .as_ref()
            .is_some_and(|dir| !dir.is_absolute())
        {
            reader.problem(
                &MCP_TOKEN_STORE_DIR,
                "is not an absolute path",
                "use an absolute directory path, or leave it unset for your configuration \
                 directory",
            );
        }
        reader.finish(StdioConfig {
            tenant_id: tenant_id.unwrap_or_default(),
            client_id: client_id.unwrap_or_default(),
            authority_host,
            graph_base_url,
            toolsets,
            tool_deadline,
            log_level,
            token_store_dir,
        })
    }

    /// `{authority}/{tenant}/{path}`: Entra's endpoints for the tenant.
    pub fn endpoint(&self, path: &str) -> String {
        format!(
            "{}/{}/{path}",
            self.authority_host.as_str().trim_end_matches('/'),
            self.tenant_id
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<StdioConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StdioConfig::from_lookup(&move |name| map.get(name).cloned())
    }

    #[test]
    fn a_tenant_and_a_public_client_are_all_it_needs() {
        let config = read(&[
            (MCP_TENANT_ID.name, "72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
            (
                MCP_PUBLIC_CLIENT_ID.name,
                "0C7D4C0E-6A3E-4A2B-9A51-3C1F2F6B8E27",
            ),
        ])
        .unwrap();
        assert_eq!(config.tenant_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(config.client_id, "0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27");
        assert_eq!(
            config.endpoint("oauth2/v2.0/devicecode"),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/devicecode"
        );
        assert_eq!(
            config.graph_base_url.as_str(),
            "https://graph.microsoft.com/"
        );
        assert_eq!(config.tool_deadline, Duration::from_secs(45));
        assert!(config.toolsets.contains(crate::config::Toolset::Mail));
        assert!(config.token_store_dir.is_none());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = read(&[
            (MCP_PUBLIC_CLIENT_ID.name, "my-app"),
            (MCP_AUTHORITY_HOST.name, "http://login.example.com"),
            (MCP_TOKEN_STORE_DIR.name, "relative/dir"),
        ])
        .unwrap_err();
        let settings: Vec<&str> = error.problems.iter().map(|p| p.setting).collect();
        assert_eq!(
            settings,
            [
                MCP_TENANT_ID.name,
                MCP_PUBLIC_CLIENT_ID.name,
                MCP_AUTHORITY_HOST.name,
                MCP_TOKEN_STORE_DIR.name
            ]
        );
        assert!(
            error.problems[1]
                .fix
                .contains("register a public client app"),
            "{error}"
        );
    }

    #[test]
    fn it_reads_exactly_the_settings_documented_for_it() {
        let asked = std::cell::RefCell::new(Vec::<String>::new());
        let _ = StdioConfig::from_lookup(&|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        });
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut documented: Vec<String> = STDIO_READS.iter().map(|s| s.name.to_owned()).collect();
        documented.sort();
        assert_eq!(asked, documented);
        for own in STDIO_SETTINGS {
            assert!(
                !SETTINGS.iter().any(|server| server.name == own.name),
                "{} is the server's too",
                own.name
            );
        }
    }
}
