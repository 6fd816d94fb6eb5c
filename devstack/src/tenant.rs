//! The sample directory: one Entra tenant with the app registrations this server meets and the
//! people of Microsoft's sample organisation.
//!
//! In Entra an application exists twice. The *app registration* is its global definition: a
//! client id (the GUID tokens carry as `aud` when the app is the API, or as `azp` when it is
//! the caller), the delegated permissions it exposes (*scopes*, granted to a client acting for a
//! signed-in user and carried in `scp`) and the *app roles* it defines (granted to users or to
//! other applications and carried in `roles`). Its *service principal* is the app's identity
//! inside one tenant: an object id, and the role assignments made in that tenant.
//!
//! Clients are *public* (a desktop or CLI app that cannot keep a secret; it proves nothing about
//! itself and signs users in with PKCE) or *confidential* (a service that authenticates to the
//! token endpoint and may get tokens for itself, without a user).
//!
//! The handler itself runs as a *user-assigned managed identity*: an identity Azure creates and
//! rotates credentials for, which the platform hands tokens for through a local endpoint. The
//! server's app registration trusts that identity through a *federated identity credential*,
//! so the handler can authenticate as the server app (for the on-behalf-of exchange) with the
//! identity's token instead of a secret. The identity also holds a role on the Key Vault.
//!
//! Microsoft Graph is an API like any other to Entra: delegated permissions that the tenant's
//! administrator consented to for everyone, or that each user consented to for themselves.
//!
//! Everything here is fixed, so ids stay the same across runs and tests can name them. The
//! users are plain data that the Graph stand-in hangs its sample mail, calendar and files off,
//! keyed by [`User::key`].

/// The tenant's id: `tid` in every token, and the path segment of the authority.
pub const TENANT_ID: &str = "4b554e94-7da5-4015-8c65-43dd4282655e";
/// The tenant's verified domain; user principal names end in it.
pub const TENANT_DOMAIN: &str = "contoso.example";

/// The MCP server's app registration: the audience of every token this server accepts.
pub const SERVER_CLIENT_ID: &str = "f07dc71e-5226-4b52-a821-7f45381eef5b";
pub const SERVER_DISPLAY_NAME: &str = "M365 MCP Server (devstack)";
/// The delegated permission the server's API exposes: "act as the signed-in user".
pub const USER_IMPERSONATION: &str = "user_impersonation";
/// Every delegated permission the server's API exposes.
pub const SERVER_SCOPES: &[&str] = &[USER_IMPERSONATION];
/// The app role the server defines for operators, assignable to users and to applications.
pub const MCP_OPERATOR: &str = "MCP.Operator";
/// The app role the server defines for users who may use the write tools (users only).
pub const MCP_WRITER: &str = "MCP.Writer";
/// Every app role the server defines.
pub const SERVER_APP_ROLES: &[&str] = &[MCP_OPERATOR, MCP_WRITER];

/// The public client `handler dev-token` and local SDK sign-ins use.
pub const DEV_CLIENT_ID: &str = "cb815bd0-de5e-4cf5-bc3b-9879bd15f847";
/// Visual Studio Code's real client id: Entra has no dynamic client registration, so VS Code
/// signs in as itself and the tenant pre-authorizes it on the server's API.
pub const VSCODE_CLIENT_ID: &str = "aebc6443-996d-45c2-90f0-388ff96faa56";
/// The app registration a user creates for `handler stdio`: a public client ("Allow public
/// client flows" on, redirect URI `http://localhost`) asking for delegated Graph permissions,
/// which signs its one user in with the device code flow or a browser and calls Graph
/// directly, with no server in between.
pub const LOCAL_CLIENT_ID: &str = "0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27";
/// A second registered public client, for tests of a client allowlist.
pub const OTHER_CLIENT_ID: &str = "05a3f072-8cc3-4312-bca3-a6398680863f";
/// A confidential background service granted the server's operator role.
pub const DAEMON_CLIENT_ID: &str = "7c0452d0-f02d-4e0b-a9ad-83e9ead75f1a";

/// The handler's user-assigned managed identity: the `client_id` it asks the identity endpoint
/// for tokens with, and the `appid`/`azp` of those tokens.
pub const MANAGED_IDENTITY_CLIENT_ID: &str = "46053251-452d-4ea9-a7d9-faebda347360";
/// The identity's service principal (object) id: `oid` and `sub` of its tokens, the subject the
/// federated credential trusts, and the principal of its role assignments.
pub const MANAGED_IDENTITY_PRINCIPAL_ID: &str = "b913963f-314a-4a6b-93e9-bc153e24fae7";
/// The Azure subscription and resource group the sample deployment lives in.
pub const RESOURCE_GROUP_ID: &str =
    "/subscriptions/7b5b2011-9db5-48b4-8c90-27b4b0176078/resourcegroups/rg-m365-mcp";
/// The identity's Azure resource id, which its tokens carry as `xms_mirid`.
pub const MANAGED_IDENTITY_RESOURCE_ID: &str = "/subscriptions/7b5b2011-9db5-48b4-8c90-27b4b0176078/resourcegroups/rg-m365-mcp/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-m365-mcp-func";

/// The audience of tokens meant only for a federated credential exchange (public cloud).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated identity credential: "tokens from `issuer` about `subject` for `audience` may
/// authenticate as this app". Entra compares all three exactly (case-sensitive).
#[derive(Debug)]
pub struct FederatedCredential {
    pub name: &'static str,
    /// Who issues the trusted tokens; `None` means this tenant's own v2 issuer, whose URL
    /// depends on where the devstack listens.
    pub issuer: Option<&'static str>,
    pub subject: &'static str,
    pub audience: &'static str,
}

/// The server app's federated credentials: it trusts the handler's managed identity.
pub const SERVER_FEDERATED_CREDENTIALS: &[FederatedCredential] = &[FederatedCredential {
    name: "handler-managed-identity",
    issuer: None,
    subject: MANAGED_IDENTITY_PRINCIPAL_ID,
    audience: TOKEN_EXCHANGE_AUDIENCE,
}];

/// The server app as a confidential client: in broker mode the handler signs users in with it
/// (authorization code + PKCE, then refresh tokens), its credential the managed identity's
/// federated assertion. Not among [`CLIENTS`]: it is the API itself, and no other client may
/// act as it.
pub const SERVER_APP: ClientApp = ClientApp {
    key: "server",
    client_id: SERVER_CLIENT_ID,
    service_principal_id: "3a1e5b1c-6f7d-4a0e-9d3b-2c8f7e6d5a41",
    display_name: SERVER_DISPLAY_NAME,
    kind: ClientKind::Confidential,
    app_roles: &[],
    api: ClientApi::Server,
    public_client_flows: false,
};

/// Azure Storage's resource: the audience of the managed identity's tokens for Blob Storage,
/// where broker mode keeps its state. Storage's tokens are v1 (issuer
/// `https://sts.windows.net/{tenant}/`), as Azure's are; Azurite checks exactly that.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";

/// The secret holding broker mode's sealing key (as the deployment names it).
pub const BROKER_SEALING_KEY_SECRET: &str = "mcp-broker-sealing-key";

/// The vault's name; its data-plane URL is `https://{name}.vault.azure.net/`.
pub const KEY_VAULT_NAME: &str = "devstack";
/// The audience Key Vault requires, and the `resource` of its authentication challenge.
pub const KEY_VAULT_RESOURCE: &str = "https://vault.azure.net";
/// Principals holding Key Vault Secrets User on the vault: the handler's identity only.
pub const KEY_VAULT_SECRETS_USERS: &[&str] = &[MANAGED_IDENTITY_PRINCIPAL_ID];
/// The secret the gateway proof lives in (as the deployment names it).
pub const GATEWAY_PROOF_SECRET: &str = "mcp-gateway-proof";
/// The secret keying the cursors and confirmations the handler hands out (as the deployment
/// names it).
pub const SIGNING_KEY_SECRET: &str = "mcp-signing-key";

/// Microsoft Graph's application id: the resource Entra names in Graph-related errors.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Graph's identifier URI, the prefix of its scopes.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// The delegated Graph permissions the devstack knows: those the product's tools use and their
/// common broader alternatives. A scope outside this list does not exist to the devstack's
/// Entra (AADSTS650053).
pub const GRAPH_PERMISSIONS: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
    "Mail.ReadBasic",
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Calendars.ReadBasic",
    "Calendars.Read",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite",
    "Calendars.ReadWrite.Shared",
    "Files.Read",
    "Files.Read.All",
    "Files.ReadWrite",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "People.Read",
    "People.Read.All",
    "Tasks.Read",
    "Tasks.ReadWrite",
    "Chat.ReadBasic",
    "Chat.Read",
];

/// What the tenant's administrator consented to for every user of the server app.
pub const ADMIN_CONSENTED_GRAPH_PERMISSIONS: &[&str] = &["User.Read", "MailboxSettings.Read"];

/// What each user has consented to for themselves, until a test says otherwise: every
/// permission the product's tools use beyond the admin consent, the least-privileged choices
/// and the next broader ones, reads and the two writes (`Mail.Send`, `Calendars.ReadWrite`),
/// so that local development works out of the box. A test withdraws one to see a tool fail
/// for lack of consent. (In a real tenant `User.Read.All`, for the manager, and
/// `Calendars.ReadBasic` need an administrator; the devstack does not model which permissions
/// need one.)
pub const USER_CONSENTED_GRAPH_PERMISSIONS: &[&str] = &[
    "User.ReadBasic.All",
    "User.Read.All",
    "Mail.ReadBasic",
    "Mail.Read",
    "Mail.Send",
    "Calendars.ReadBasic",
    "Calendars.Read",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite",
    "People.Read",
    "Files.Read",
    "Files.Read.All",
    "Sites.Read.All",
    "Tasks.Read",
];

/// The id of the Conditional Access policy that requires multifactor authentication for the
/// users a test names; Entra names it in the claims challenge.
pub const MFA_POLICY_ID: &str = "b5e25e90-1ab3-4649-9e92-aeae45732364";

/// Whether a client can keep a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Signs users in through a loopback redirect with PKCE; never gets app-only tokens.
    Public,
    /// Gets app-only tokens with the client credentials grant.
    ///
    /// Real Entra requires a secret, a certificate or a federated assertion for that. This
    /// product never holds client secrets, so the devstack accepts a confidential client's
    /// client credentials grant without any credential and ignores one that is sent.
    Confidential,
}

/// A client application registered in (or consented to by) the tenant.
#[derive(Debug)]
pub struct ClientApp {
    /// Short name for tests and the dev-token CLI.
    pub key: &'static str,
    pub client_id: &'static str,
    /// The service principal's object id: `oid` and `sub` of the app's app-only tokens.
    pub service_principal_id: &'static str,
    pub display_name: &'static str,
    pub kind: ClientKind,
    /// App roles of the server granted to this app (application permissions).
    pub app_roles: &'static [&'static str],
    /// The API whose delegated permissions the registration asks for, and so what its
    /// sign-ins request: the server's API, or Microsoft Graph directly.
    pub api: ClientApi,
    /// "Allow public client flows" on the registration: the device code grant is refused
    /// (AADSTS7000218) unless it is on.
    pub public_client_flows: bool,
}

/// Which API a client signs users in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientApi {
    /// The MCP server's API (`user_impersonation`); Graph is reached through the server.
    Server,
    /// Microsoft Graph itself: a local app that calls Graph for its one user.
    Graph,
}

/// Every registered client.
pub const CLIENTS: &[ClientApp] = &[
    ClientApp {
        key: "dev",
        client_id: DEV_CLIENT_ID,
        service_principal_id: "eee8a392-0fd1-4be0-9855-2efa36136378",
        display_name: "Devstack Dev Client",
        kind: ClientKind::Public,
        app_roles: &[],
        api: ClientApi::Server,
        public_client_flows: false,
    },
    ClientApp {
        key: "vscode",
        client_id: VSCODE_CLIENT_ID,
        service_principal_id: "a23229e4-ea90-4ab9-9920-89886958de63",
        display_name: "Visual Studio Code",
        kind: ClientKind::Public,
        app_roles: &[],
        api: ClientApi::Server,
        public_client_flows: false,
    },
    ClientApp {
        key: "other",
        client_id: OTHER_CLIENT_ID,
        service_principal_id: "201f28d2-d06e-4d6d-be87-b91fa90fa128",
        display_name: "Other Client",
        kind: ClientKind::Public,
        app_roles: &[],
        api: ClientApi::Server,
        public_client_flows: false,
    },
    ClientApp {
        key: "local",
        client_id: LOCAL_CLIENT_ID,
        service_principal_id: "8b1f0e52-3d47-4c0f-b6a9-7e2d95c41a60",
        display_name: "M365 MCP (local)",
        kind: ClientKind::Public,
        app_roles: &[],
        api: ClientApi::Graph,
        public_client_flows: true,
    },
    ClientApp {
        key: "daemon",
        client_id: DAEMON_CLIENT_ID,
        service_principal_id: "9f5c8e1f-6dd3-4379-9c2a-6df08d9aaa11",
        display_name: "Devstack Daemon",
        kind: ClientKind::Confidential,
        app_roles: &[MCP_OPERATOR],
        api: ClientApi::Server,
        public_client_flows: false,
    },
];

/// A person in the directory, with the profile Microsoft Graph returns for `/users/{id}`.
#[derive(Debug)]
pub struct User {
    /// Short lower-case name for tests, `login_hint` and the dev-token CLI.
    pub key: &'static str,
    /// The user's object id: `oid` in tokens, the id in Graph URLs.
    pub object_id: &'static str,
    pub user_principal_name: &'static str,
    pub display_name: &'static str,
    pub given_name: &'static str,
    pub surname: &'static str,
    pub job_title: &'static str,
    pub department: &'static str,
    pub office_location: &'static str,
    pub mobile_phone: Option<&'static str>,
    pub business_phones: &'static [&'static str],
    pub preferred_language: &'static str,
    /// The mailbox's time zone (Graph `mailboxSettings.timeZone`). Outlook stores what the
    /// user or an administrator set, a Windows name (`Pacific Standard Time`) or an IANA one
    /// (`America/New_York`), and Graph returns it as stored, so clients must accept both.
    pub mailbox_time_zone: &'static str,
    /// The manager's [`User::key`]; `None` at the top of the organisation.
    pub manager: Option<&'static str>,
    /// App roles of the server assigned to this user; they appear in the user's `roles`.
    pub app_roles: &'static [&'static str],
}

impl User {
    pub fn manager(&self) -> Option<&'static User> {
        self.manager.and_then(user)
    }
}

/// Who signs in when an authorization request names nobody.
pub const DEFAULT_USER: &str = "adele";

/// Everyone in the directory. The reporting lines run up to Patti, the president. Offices and
/// mailboxes span time zones: the four of the continental United States, Madrid, Berlin,
/// India and Japan; Megan's mailbox names its zone the IANA way.
pub const USERS: &[User] = &[
    User {
        key: "adele",
        object_id: "dad36cb3-638f-4def-a708-7bcbb5e43a7e",
        user_principal_name: "adele@contoso.example",
        display_name: "Adele Vance",
        given_name: "Adele",
        surname: "Vance",
        job_title: "Retail Manager",
        department: "Retail",
        office_location: "18/2111",
        mobile_phone: Some("+1 425 555 0109"),
        business_phones: &["+1 425 555 0110"],
        preferred_language: "en-US",
        mailbox_time_zone: "Pacific Standard Time",
        manager: Some("miriam"),
        app_roles: &[],
    },
    User {
        key: "alex",
        object_id: "6f761b16-eeb2-4e17-824f-6ab4a8fa8d06",
        user_principal_name: "alex@contoso.example",
        display_name: "Alex Wilber",
        given_name: "Alex",
        surname: "Wilber",
        job_title: "Marketing Assistant",
        department: "Marketing",
        office_location: "131/1104",
        mobile_phone: None,
        business_phones: &["+1 858 555 0110"],
        preferred_language: "en-US",
        mailbox_time_zone: "Pacific Standard Time",
        manager: Some("megan"),
        app_roles: &[],
    },
    User {
        key: "megan",
        object_id: "313144f9-c283-4adf-b58b-3ea7b3aadbdd",
        user_principal_name: "megan@contoso.example",
        display_name: "Megan Bowen",
        given_name: "Megan",
        surname: "Bowen",
        job_title: "Marketing Manager",
        department: "Marketing",
        office_location: "12/1110",
        mobile_phone: Some("+1 412 555 0109"),
        business_phones: &["+1 412 555 0110"],
        preferred_language: "en-US",
        mailbox_time_zone: "America/New_York",
        manager: Some("miriam"),
        app_roles: &[MCP_OPERATOR, MCP_WRITER],
    },
    User {
        key: "lee",
        object_id: "f9e94a3e-9765-4d5f-adbf-6135eb487da5",
        user_principal_name: "lee@contoso.example",
        display_name: "Lee Gu",
        given_name: "Lee",
        surname: "Gu",
        job_title: "Director",
        department: "Manufacturing",
        office_location: "23/3101",
        mobile_phone: Some("+1 913 555 0101"),
        business_phones: &["+1 913 555 0102"],
        preferred_language: "en-US",
        mailbox_time_zone: "Central Standard Time",
        manager: Some("patti"),
        app_roles: &[],
    },
    User {
        key: "miriam",
        object_id: "41712e9e-7948-45cb-bdd6-dca255e56e07",
        user_principal_name: "miriam@contoso.example",
        display_name: "Miriam Graham",
        given_name: "Miriam",
        surname: "Graham",
        job_title: "Director",
        department: "Sales & Marketing",
        office_location: "131/2400",
        mobile_phone: Some("+1 206 555 0105"),
        business_phones: &["+1 206 555 0106"],
        preferred_language: "en-US",
        mailbox_time_zone: "Pacific Standard Time",
        manager: Some("patti"),
        app_roles: &[],
    },
    User {
        key: "nestor",
        object_id: "005bac15-65a0-4667-9962-5aab6021dc38",
        user_principal_name: "nestor@contoso.example",
        display_name: "Nestor Wilke",
        given_name: "Nestor",
        surname: "Wilke",
        job_title: "Director",
        department: "Operations",
        office_location: "36/2121",
        mobile_phone: None,
        business_phones: &["+1 206 555 0107"],
        preferred_language: "en-US",
        mailbox_time_zone: "Pacific Standard Time",
        manager: Some("patti"),
        app_roles: &[],
    },
    User {
        key: "patti",
        object_id: "dc034ca0-66d4-42e5-8917-e37010300c55",
        user_principal_name: "patti@contoso.example",
        display_name: "Patti Fernandez",
        given_name: "Patti",
        surname: "Fernandez",
        job_title: "President",
        department: "Executive Management",
        office_location: "15/1102",
        mobile_phone: Some("+1 205 555 0108"),
        business_phones: &["+1 205 555 0109"],
        preferred_language: "en-US",
        mailbox_time_zone: "Central Standard Time",
        manager: None,
        app_roles: &[],
    },
    User {
        key: "diego",
        object_id: "ae507bf9-bea1-41e1-98ed-6cc96eace2a9",
        user_principal_name: "diego@contoso.example",
        display_name: "Diego Siciliani",
        given_name: "Diego",
        surname: "Siciliani",
        job_title: "HR Manager",
        department: "HR",
        office_location: "14/1108",
        mobile_phone: Some("+34 91 555 0104"),
        business_phones: &["+34 91 555 0105"],
        preferred_language: "es-ES",
        mailbox_time_zone: "Romance Standard Time",
        manager: Some("patti"),
        app_roles: &[],
    },
    User {
        key: "isaiah",
        object_id: "04f461d9-5ea8-4bf6-852d-b339ca209abf",
        user_principal_name: "isaiah@contoso.example",
        display_name: "Isaiah Langer",
        given_name: "Isaiah",
        surname: "Langer",
        job_title: "Sales Rep",
        department: "Sales",
        office_location: "20/1101",
        mobile_phone: Some("+1 918 555 0101"),
        business_phones: &["+1 918 555 0102"],
        preferred_language: "en-US",
        mailbox_time_zone: "Mountain Standard Time",
        manager: Some("miriam"),
        app_roles: &[],
    },
    User {
        key: "johanna",
        object_id: "d2705991-b7fd-404c-94bc-90d0e02f518a",
        user_principal_name: "johanna@contoso.example",
        display_name: "Johanna Lorenz",
        given_name: "Johanna",
        surname: "Lorenz",
        job_title: "Senior Engineer",
        department: "Engineering",
        office_location: "23/2102",
        mobile_phone: None,
        business_phones: &["+49 30 555 0102"],
        preferred_language: "de-DE",
        mailbox_time_zone: "W. Europe Standard Time",
        manager: Some("lee"),
        app_roles: &[],
    },
    User {
        key: "pradeep",
        object_id: "e9ce4669-f002-4947-afba-a5baf55d25f7",
        user_principal_name: "pradeep@contoso.example",
        display_name: "Pradeep Gupta",
        given_name: "Pradeep",
        surname: "Gupta",
        job_title: "Software Engineer",
        department: "Engineering",
        office_location: "Hyderabad 4/1201",
        mobile_phone: Some("+91 40 5555 0121"),
        business_phones: &["+91 40 5555 0120"],
        preferred_language: "en-IN",
        mailbox_time_zone: "India Standard Time",
        manager: Some("lee"),
        app_roles: &[],
    },
    User {
        key: "lidia",
        object_id: "14a8b490-eb2b-49f4-9b18-7699efbea3be",
        user_principal_name: "lidia@contoso.example",
        display_name: "Lidia Holloway",
        given_name: "Lidia",
        surname: "Holloway",
        job_title: "Product Manager",
        department: "Engineering",
        office_location: "Tokyo 21F",
        mobile_phone: None,
        business_phones: &["+81 3 5555 0130"],
        preferred_language: "ja-JP",
        mailbox_time_zone: "Tokyo Standard Time",
        manager: Some("lee"),
        app_roles: &[],
    },
];

/// A user by short key, object id or user principal name (all case-insensitive, as Entra
/// compares them).
pub fn user(reference: &str) -> Option<&'static User> {
    USERS.iter().find(|user| {
        [user.key, user.object_id, user.user_principal_name]
            .iter()
            .any(|name| name.eq_ignore_ascii_case(reference))
    })
}

/// A registered client by short key or client id.
pub fn client(reference: &str) -> Option<&'static ClientApp> {
    CLIENTS.iter().find(|client| {
        client.key.eq_ignore_ascii_case(reference)
            || client.client_id.eq_ignore_ascii_case(reference)
    })
}

/// A Graph permission's canonical name (`mail.read` → `Mail.Read`; Entra compares scopes
/// case-insensitively).
pub fn graph_permission(name: &str) -> Option<&'static str> {
    GRAPH_PERMISSIONS
        .iter()
        .copied()
        .find(|permission| permission.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn users_are_found_by_key_object_id_and_upn() {
        let megan = user("megan").expect("megan exists");
        assert_eq!(user(megan.object_id).unwrap().key, "megan");
        assert_eq!(user("MEGAN@contoso.example").unwrap().key, "megan");
        assert!(user("mallory").is_none());
    }

    #[test]
    fn clients_are_found_by_key_and_client_id() {
        assert_eq!(client("vscode").unwrap().client_id, VSCODE_CLIENT_ID);
        assert_eq!(client(DAEMON_CLIENT_ID).unwrap().key, "daemon");
        assert!(client(SERVER_CLIENT_ID).is_none());
    }

    #[test]
    fn every_id_is_a_distinct_guid() {
        let mut ids = vec![
            TENANT_ID,
            SERVER_CLIENT_ID,
            MANAGED_IDENTITY_CLIENT_ID,
            MANAGED_IDENTITY_PRINCIPAL_ID,
            MFA_POLICY_ID,
            SERVER_APP.service_principal_id,
        ];
        ids.extend(
            CLIENTS
                .iter()
                .flat_map(|c| [c.client_id, c.service_principal_id]),
        );
        ids.extend(USERS.iter().map(|u| u.object_id));
        let distinct: HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "an id is used twice");
        for id in ids {
            assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is not a GUID");
        }
    }

    #[test]
    fn keys_and_upns_are_distinct_and_in_the_tenant_domain() {
        let keys: HashSet<_> = USERS.iter().map(|u| u.key).collect();
        assert_eq!(keys.len(), USERS.len());
        for user in USERS {
            assert_eq!(
                user.user_principal_name,
                format!("{}@{TENANT_DOMAIN}", user.key)
            );
        }
    }

    #[test]
    fn every_reporting_line_ends_at_the_president() {
        for start in USERS {
            let mut current = start;
            let mut steps = 0;
            while let Some(manager) = current.manager() {
                current = manager;
                steps += 1;
                assert!(steps < USERS.len(), "{} has a reporting loop", start.key);
            }
            assert_eq!(
                current.key, "patti",
                "{} does not report up to Patti",
                start.key
            );
        }
        for user in USERS {
            if let Some(manager) = user.manager {
                assert!(super::user(manager).is_some(), "unknown manager {manager}");
            }
        }
    }

    #[test]
    fn the_server_trusts_the_handlers_identity_and_only_it_reads_the_vault() {
        assert_eq!(SERVER_FEDERATED_CREDENTIALS.len(), 1);
        let credential = &SERVER_FEDERATED_CREDENTIALS[0];
        assert_eq!(credential.subject, MANAGED_IDENTITY_PRINCIPAL_ID);
        assert_eq!(credential.audience, TOKEN_EXCHANGE_AUDIENCE);
        assert!(credential.issuer.is_none(), "this tenant's own issuer");
        assert_eq!(KEY_VAULT_SECRETS_USERS, [MANAGED_IDENTITY_PRINCIPAL_ID]);
        assert!(MANAGED_IDENTITY_RESOURCE_ID.starts_with(RESOURCE_GROUP_ID));
        assert!(MANAGED_IDENTITY_RESOURCE_ID.ends_with("/userAssignedIdentities/id-m365-mcp-func"));
    }

    #[test]
    fn consented_graph_permissions_exist_and_do_not_overlap() {
        for permission in ADMIN_CONSENTED_GRAPH_PERMISSIONS
            .iter()
            .chain(USER_CONSENTED_GRAPH_PERMISSIONS)
        {
            assert!(GRAPH_PERMISSIONS.contains(permission), "{permission}");
        }
        assert!(
            !USER_CONSENTED_GRAPH_PERMISSIONS
                .iter()
                .any(|p| ADMIN_CONSENTED_GRAPH_PERMISSIONS.contains(p))
        );
        let distinct: HashSet<_> = GRAPH_PERMISSIONS.iter().collect();
        assert_eq!(distinct.len(), GRAPH_PERMISSIONS.len());
        assert_eq!(graph_permission("mail.READ"), Some("Mail.Read"));
        assert_eq!(graph_permission("Mail.Everything"), None);
    }

    #[test]
    fn the_default_user_exists_and_an_operator_exists() {
        assert!(user(DEFAULT_USER).is_some());
        assert!(USERS.iter().any(|u| u.app_roles.contains(&MCP_OPERATOR)));
        let daemon = client("daemon").unwrap();
        assert_eq!(daemon.kind, ClientKind::Confidential);
        assert_eq!(daemon.app_roles, &[MCP_OPERATOR]);
    }
}
