//! Every setting the handler reads, each declared once: its name, its default and what it means.
//!
//! The reader in [`super`] and `handler --help` both use these declarations, so the help text
//! cannot drift from what is read, and no setting's name is typed twice.

/// One documented setting.
pub struct Setting {
    pub name: &'static str,
    /// What happens when the setting is absent.
    pub default: &'static str,
    pub help: &'static str,
}

/// The `default` of a setting the server cannot run without.
pub const REQUIRED: &str = "(required)";

pub const FUNCTIONS_CUSTOMHANDLER_PORT: Setting = Setting {
    name: "FUNCTIONS_CUSTOMHANDLER_PORT",
    default: "unset: listen on MCP_LISTEN_ADDR",
    help: "Set by the Azure Functions host: the loopback port to listen on.",
};

pub const MCP_LISTEN_ADDR: Setting = Setting {
    name: "MCP_LISTEN_ADDR",
    default: "127.0.0.1:7071",
    help: "Address to listen on when not run by the Functions host.",
};

pub const MCP_PUBLIC_URL: Setting = Setting {
    name: "MCP_PUBLIC_URL",
    default: "required under the Functions host; otherwise http://<listen address>/mcp",
    help: "URL clients use to reach the MCP endpoint (the APIM URL in Azure). Its host is \
           allowed in the Host header and its origin in the Origin header.",
};

pub const MCP_ALLOWED_HOSTS: Setting = Setting {
    name: "MCP_ALLOWED_HOSTS",
    default: "loopback names plus the MCP_PUBLIC_URL host",
    help: "Extra comma-separated Host header values to accept (host or host:port).",
};

pub const MCP_ALLOWED_ORIGINS: Setting = Setting {
    name: "MCP_ALLOWED_ORIGINS",
    default: "the MCP_PUBLIC_URL origin",
    help: "Extra comma-separated browser origins to accept (scheme://host:port, port may \
           be *). Requests without Origin are always accepted.",
};

pub const MCP_TENANT_ID: Setting = Setting {
    name: "MCP_TENANT_ID",
    default: REQUIRED,
    help: "Entra tenant (GUID) whose tokens are accepted; for `handler stdio`, the tenant its \
           user signs in to.",
};

pub const MCP_CLIENT_ID: Setting = Setting {
    name: "MCP_CLIENT_ID",
    default: REQUIRED,
    help: "Client id (GUID) of this server's app registration: the token audience.",
};

pub const MCP_APP_ID_URI: Setting = Setting {
    name: "MCP_APP_ID_URI",
    default: REQUIRED,
    help: "Identifier URI of the app registration (api://... or https://...): also accepted \
           as audience, and the prefix of the scopes clients request.",
};

pub const MCP_REQUIRED_SCOPE: Setting = Setting {
    name: "MCP_REQUIRED_SCOPE",
    default: "user_impersonation",
    help: "Delegated scope every user token must carry.",
};

pub const MCP_ALLOWED_CLIENT_APPS: Setting = Setting {
    name: "MCP_ALLOWED_CLIENT_APPS",
    default: "empty: any client application of the tenant",
    help: "Comma-separated client ids (GUIDs) of the applications allowed to call (azp/appid).",
};

pub const MCP_ALLOWED_APP_ROLES: Setting = Setting {
    name: "MCP_ALLOWED_APP_ROLES",
    default: "empty: app-only tokens are refused",
    help: "Comma-separated app roles that admit app-only callers (tokens without a user).",
};

pub const MCP_ACCEPT_V1_TOKENS: Setting = Setting {
    name: "MCP_ACCEPT_V1_TOKENS",
    default: "false",
    help: "Also accept v1 tokens (issuer https://sts.windows.net/<tenant>/).",
};

pub const MCP_AUTHORITY_HOST: Setting = Setting {
    name: "MCP_AUTHORITY_HOST",
    default: "https://login.microsoftonline.com",
    help: "Entra authority host; change it for sovereign clouds.",
};

pub const MCP_JWKS_REFRESH_COOLDOWN_SECONDS: Setting = Setting {
    name: "MCP_JWKS_REFRESH_COOLDOWN_SECONDS",
    default: "300",
    help: "Least time between two signing-key refreshes caused by an unknown key id.",
};

pub const MCP_GATEWAY_PROOF_HEADER: Setting = Setting {
    name: "MCP_GATEWAY_PROOF_HEADER",
    default: "unset: no gateway proof is checked (a configuration error under the Functions \
              host, see MCP_GATEWAY_PROOF_REQUIRED)",
    help: "Header the gateway (APIM) adds to every request; when set, requests without the \
           expected value are refused before token validation.",
};

pub const MCP_GATEWAY_PROOF_REQUIRED: Setting = Setting {
    name: "MCP_GATEWAY_PROOF_REQUIRED",
    default: "true under the Functions host, false elsewhere",
    help: "Whether starting without a gateway proof (MCP_GATEWAY_PROOF_HEADER) is a \
           configuration error. Set it to false only when the function app accepts traffic \
           from APIM's network alone (private endpoint or access restrictions).",
};

pub const MCP_GATEWAY_PROOF: Setting = Setting {
    name: "MCP_GATEWAY_PROOF",
    default: "unset",
    help: "Local development only: the expected gateway proof value, or `current,previous` \
           during a rotation.",
};

pub const MCP_GATEWAY_PROOF_SECRET_NAME: Setting = Setting {
    name: "MCP_GATEWAY_PROOF_SECRET_NAME",
    default: "unset",
    help: "Key Vault secret (in KEY_VAULT_URL) holding the gateway proof. Its newest enabled \
           version within its activation and expiry dates is accepted, and the one before it \
           for MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS after the newest was created.",
};

pub const MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS: Setting = Setting {
    name: "MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS",
    default: "28800 (8 hours)",
    help: "How long after a new version of the gateway proof secret was created the previous \
           version is still accepted (0 to 604800). Disabling a version in Key Vault retires \
           it at once.",
};

pub const MANAGED_IDENTITY_CLIENT_ID: Setting = Setting {
    name: "MANAGED_IDENTITY_CLIENT_ID",
    default: REQUIRED,
    help: "Client id of the user-assigned managed identity: the federated credential of the \
           on-behalf-of exchange, and the identity that reads Key Vault.",
};

pub const IDENTITY_ENDPOINT: Setting = Setting {
    name: "IDENTITY_ENDPOINT",
    default: "set by the platform",
    help: "The managed identity endpoint (Azure Functions and App Service set it).",
};

pub const IDENTITY_HEADER: Setting = Setting {
    name: "IDENTITY_HEADER",
    default: "set by the platform",
    help: "The secret header value for IDENTITY_ENDPOINT (set and rotated by the platform).",
};

pub const GRAPH_BASE_URL: Setting = Setting {
    name: "GRAPH_BASE_URL",
    default: "https://graph.microsoft.com",
    help: "Microsoft Graph endpoint, also the resource prefix of Graph scopes; change it for \
           national clouds.",
};

pub const KEY_VAULT_URL: Setting = Setting {
    name: "KEY_VAULT_URL",
    default: "unset: no Key Vault",
    help: "Vault URI holding the server's secrets (the gateway proof, the signing key).",
};

pub const MCP_SIGNING_KEY_SECRET_NAME: Setting = Setting {
    name: "MCP_SIGNING_KEY_SECRET_NAME",
    default: "required under the Functions host; otherwise unset: a random key per process",
    help: "Key Vault secret (in KEY_VAULT_URL) whose value keys the paging cursors and write \
           confirmations this server hands out, so any instance accepts what another issued. \
           Its current and previous enabled versions are accepted (rotate it like the gateway \
           proof).",
};

pub const MCP_TOOLSETS: Setting = Setting {
    name: "MCP_TOOLSETS",
    default: super::toolsets::Toolset::DEFAULT,
    help: "Comma-separated toolsets to serve: profile, calendar, mail, people, files, tasks, \
           search, and write (send_mail, create_event; also needs the MCP.Writer app role). \
           Enable what the tenant consented; `handler --help` lists each toolset's Graph \
           permissions.",
};

pub const MCP_SECRET_REFRESH_SECONDS: Setting = Setting {
    name: "MCP_SECRET_REFRESH_SECONDS",
    default: "300",
    help: "How often Key Vault secrets are re-read, so a rotation needs no restart.",
};

pub const MCP_TOOL_DEADLINE_SECONDS: Setting = Setting {
    name: "MCP_TOOL_DEADLINE_SECONDS",
    default: "45",
    help: "Every tool call, retries included, ends within this (well inside the Functions \
           proxy's 240-second idle timeout).",
};

pub const MCP_MAX_CONCURRENT_REQUESTS: Setting = Setting {
    name: "MCP_MAX_CONCURRENT_REQUESTS",
    default: "64",
    help: "The most /mcp requests the process works on at once, counted before the gateway \
           proof and authentication (so unauthenticated load is bounded too); more are refused \
           at once with 503 and Retry-After, never queued. docs/RELIABILITY.md says how the \
           default was measured.",
};

pub const MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER: Setting = Setting {
    name: "MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER",
    default: "8",
    help: "Of those, the most one caller (tenant + object id) may have in flight; more are \
           refused at once with 503 and Retry-After, so one user or agent cannot take every \
           slot. At most MCP_MAX_CONCURRENT_REQUESTS.",
};

pub const MCP_SHUTDOWN_GRACE_SECONDS: Setting = Setting {
    name: "MCP_SHUTDOWN_GRACE_SECONDS",
    default: "10",
    help: "On SIGTERM, how long in-flight requests may run before the process exits.",
};

pub const MCP_LOG: Setting = Setting {
    name: "MCP_LOG",
    default: "info",
    help: "Log level of the handler's own events: error, warn, info, debug or trace.",
};

pub const MCP_AUTHORIZATION: Setting = Setting {
    name: "MCP_AUTHORIZATION",
    default: "entra",
    help: "Who issues tokens to MCP clients. `entra`: the protected-resource metadata names \
           Entra ID, and clients sign in there themselves (pre-authorized client ids; RFC 8707 \
           clients need a custom domain). `broker`: this server is the OAuth 2.1 authorization \
           server for MCP clients (Client ID Metadata Documents, Dynamic Client Registration, \
           consent page) and signs users in at Entra ID as a confidential client whose \
           credential is the managed identity's federated assertion.",
};

pub const MCP_BROKER_BLOB_ENDPOINT: Setting = Setting {
    name: "MCP_BROKER_BLOB_ENDPOINT",
    default: "unset: an in-process store (local development only)",
    help: "Broker mode: the Blob service endpoint (https://<account>.blob.core.windows.net/) \
           holding authorization codes, refresh-token families and consents, read and written \
           with the managed identity. Required under the Functions host, where instances share \
           nothing else.",
};

pub const MCP_BROKER_BLOB_CONTAINER: Setting = Setting {
    name: "MCP_BROKER_BLOB_CONTAINER",
    default: "mcp-broker",
    help: "Broker mode: the container in MCP_BROKER_BLOB_ENDPOINT (it must exist; a lifecycle \
           rule deletes expired entries).",
};

pub const MCP_BROKER_SEALING_KEY_SECRET_NAME: Setting = Setting {
    name: "MCP_BROKER_SEALING_KEY_SECRET_NAME",
    default: "mcp-broker-sealing-key",
    help: "Broker mode: the Key Vault secret (in KEY_VAULT_URL) holding the key that encrypts \
           Entra refresh tokens at rest and seals registrations and sign-in state: 32 or more \
           random bytes, hex or base64. Its current and previous enabled versions are accepted.",
};

pub const MCP_BROKER_REDIRECT_URIS: Setting = Setting {
    name: "MCP_BROKER_REDIRECT_URIS",
    default: "default",
    help: "Broker mode: the redirect URIs a dynamically registered client may use, \
           comma-separated: `loopback` (http on 127.0.0.1, [::1] or localhost, any port), an \
           exact https URI, an https URI ending in `*` (that prefix), or `default`: loopback, \
           VS Code (vscode.dev, insiders.vscode.dev), Claude (claude.ai, claude.com) and \
           ChatGPT (chatgpt.com) callbacks.",
};

pub const MCP_PUBLIC_CLIENT_ID: Setting = Setting {
    name: "MCP_PUBLIC_CLIENT_ID",
    default: "required by `handler stdio` when MCP_TENANT_ID is set",
    help: "`handler stdio`: client id (GUID) of your own app registration, a public client \
           (Authentication > Allow public client flows: Yes; redirect URI http://localhost under \
           Mobile and desktop applications, for --browser) with the delegated Graph permissions \
           of the enabled toolsets. You sign in to it; there is no secret.",
};

pub const MCP_TOKEN_STORE_DIR: Setting = Setting {
    name: "MCP_TOKEN_STORE_DIR",
    default: "$XDG_CONFIG_HOME/m365-mcp-handler or ~/.config/m365-mcp-handler (Linux), \
              ~/Library/Application Support/m365-mcp-handler (macOS), \
              %APPDATA%\\m365-mcp-handler (Windows)",
    help: "`handler stdio` and `handler logout`: the directory (created readable by you alone) \
           holding sign-in.json: your refresh token, who you are (tenant, object id, user name) \
           and the tenant and app it belongs to.",
};

/// Every setting the handler reads, in the order `--help` shows them.
pub const SETTINGS: &[&Setting] = &[
    &FUNCTIONS_CUSTOMHANDLER_PORT,
    &MCP_LISTEN_ADDR,
    &MCP_PUBLIC_URL,
    &MCP_ALLOWED_HOSTS,
    &MCP_ALLOWED_ORIGINS,
    &MCP_TENANT_ID,
    &MCP_CLIENT_ID,
    &MCP_APP_ID_URI,
    &MCP_REQUIRED_SCOPE,
    &MCP_ALLOWED_CLIENT_APPS,
    &MCP_ALLOWED_APP_ROLES,
    &MCP_ACCEPT_V1_TOKENS,
    &MCP_AUTHORITY_HOST,
    &MCP_JWKS_REFRESH_COOLDOWN_SECONDS,
    &MCP_GATEWAY_PROOF_HEADER,
    &MCP_GATEWAY_PROOF_REQUIRED,
    &MCP_GATEWAY_PROOF,
    &MCP_GATEWAY_PROOF_SECRET_NAME,
    &MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS,
    &MANAGED_IDENTITY_CLIENT_ID,
    &IDENTITY_ENDPOINT,
    &IDENTITY_HEADER,
    &GRAPH_BASE_URL,
    &KEY_VAULT_URL,
    &MCP_SIGNING_KEY_SECRET_NAME,
    &MCP_SECRET_REFRESH_SECONDS,
    &MCP_TOOL_DEADLINE_SECONDS,
    &MCP_TOOLSETS,
    &MCP_MAX_CONCURRENT_REQUESTS,
    &MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER,
    &MCP_SHUTDOWN_GRACE_SECONDS,
    &MCP_LOG,
    &MCP_AUTHORIZATION,
    &MCP_BROKER_BLOB_ENDPOINT,
    &MCP_BROKER_BLOB_CONTAINER,
    &MCP_BROKER_SEALING_KEY_SECRET_NAME,
    &MCP_BROKER_REDIRECT_URIS,
];

/// Settings only `handler stdio` and `handler logout` read, in the order `--help` shows them.
pub const STDIO_SETTINGS: &[&Setting] = &[&MCP_PUBLIC_CLIENT_ID, &MCP_TOKEN_STORE_DIR];

/// Every setting `handler stdio` reads: those it shares with the server, then its own.
pub const STDIO_READS: &[&Setting] = &[
    &MCP_TENANT_ID,
    &MCP_AUTHORITY_HOST,
    &GRAPH_BASE_URL,
    &MCP_TOOLSETS,
    &MCP_TOOL_DEADLINE_SECONDS,
    &MCP_LOG,
    &MCP_PUBLIC_CLIENT_ID,
    &MCP_TOKEN_STORE_DIR,
];
