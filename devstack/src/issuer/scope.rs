//! How Entra v2 reads the `scope` and `resource` parameters.
//!
//! In v2 the scope names the API and the permission at once: `{resource}/{permission}`, where
//! `{resource}` is one of the API's identifier URIs (or its client id) and the permission is
//! everything after the last `/`. The token's audience is that API and its `scp` holds the
//! short permission names. One token serves one API, so scopes of two APIs in one request are
//! refused. `{resource}/.default` means "whatever has been consented"; the devstack's tenant has
//! consented to everything the server exposes, so it grants all of it.
//!
//! The OpenID Connect scopes (`openid`, `profile`, `email`, `offline_access`) shape the ID
//! token and refresh token, never the access token, so they are set aside here.
//!
//! Entra v2 does not support RFC 8707's `resource` parameter, but it no longer ignores it
//! either: a `resource` that is not an identifier URI of the API the scopes belong to fails
//! with AADSTS9010010. MCP clients send the `resource` from the server's protected resource
//! metadata, so a deployment whose metadata names a URL that is not one of the app's
//! identifier URIs fails at sign-in, and the devstack fails the same way.

use super::error::EntraError;
use crate::tenant::{SERVER_CLIENT_ID, SERVER_SCOPES};

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// The permission name meaning "everything consented".
pub const DEFAULT: &str = ".default";

/// The ways the server's API can be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerApi {
    /// The configured identifier URI (the one the handler advertises).
    pub identifier_uri: String,
}

impl ServerApi {
    /// The app's identifier URIs: the configured one and `api://{client id}`, as the
    /// deployment registers them.
    pub fn identifier_uris(&self) -> Vec<String> {
        let mut uris = vec![self.identifier_uri.clone()];
        let by_client_id = format!("api://{SERVER_CLIENT_ID}");
        if by_client_id != self.identifier_uri {
            uris.push(by_client_id);
        }
        uris
    }

    /// Whether a scope's resource part names this API: an identifier URI or the client id.
    fn is_named_by(&self, resource: &str) -> bool {
        resource == SERVER_CLIENT_ID || self.identifier_uris().iter().any(|uri| uri == resource)
    }

    /// Parses a `scope` parameter into the API permissions it asks for.
    pub fn parse(&self, scope: &str) -> Result<ApiScopes, EntraError> {
        let api_scopes: Vec<&str> = scope
            .split_whitespace()
            .filter(|scope| !OIDC_SCOPES.contains(scope))
            .collect();
        if api_scopes.is_empty() {
            return Err(EntraError::invalid_scope(scope));
        }
        let mut resources = Vec::new();
        let mut names = Vec::new();
        for scope in &api_scopes {
            // A bare name (`User.Read`) means Microsoft Graph to Entra.
            let (resource, name) = scope
                .rsplit_once('/')
                .unwrap_or(("https://graph.microsoft.com", scope));
            if !resources.contains(&resource) {
                resources.push(resource);
            }
            names.push(name.to_owned());
        }
        if resources.len() > 1 {
            return Err(EntraError::new(
                "invalid_scope",
                28_000,
                format!(
                    "Provided value for the input parameter scope is not valid because it \
                     contains more than one resource. Scope {scope} is not valid."
                ),
            ));
        }
        let resource = resources[0];
        if !self.is_named_by(resource) {
            return Err(EntraError::new(
                "invalid_resource",
                500_011,
                format!(
                    "The resource principal named {resource} was not found in the tenant. This \
                     can happen if the application has not been installed by the administrator \
                     of the tenant or consented to by any user in the tenant."
                ),
            ));
        }
        if names.iter().any(|name| name == DEFAULT) && names.len() > 1 {
            return Err(EntraError::invalid_scope(scope));
        }
        if let Some(unknown) = names
            .iter()
            .find(|name| *name != DEFAULT && !SERVER_SCOPES.contains(&name.as_str()))
        {
            return Err(EntraError::new(
                "invalid_scope",
                650_053,
                format!(
                    "The application asked for scope '{unknown}' that doesn't exist on the \
                     resource '{SERVER_CLIENT_ID}'."
                ),
            ));
        }
        Ok(ApiScopes {
            resource: resource.to_owned(),
            names,
        })
    }

    /// Entra v2's check of the RFC 8707 `resource` parameter: absent, or exactly one of the
    /// identifier URIs of the API the scopes belong to.
    pub fn check_resource(&self, resource: Option<&str>) -> Result<(), EntraError> {
        match resource {
            Some(resource) if !self.identifier_uris().iter().any(|uri| uri == resource) => {
                Err(EntraError::new(
                    "invalid_target",
                    9_010_010,
                    "The resource parameter provided in the request doesn't match with the \
                     requested scopes.",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The server API permissions a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiScopes {
    /// How the request named the API (kept for the token response's `scope`).
    pub resource: String,
    /// Short permission names as requested, possibly `.default`.
    pub names: Vec<String>,
}

impl ApiScopes {
    /// Whether this is exactly `{resource}/.default`, the only form the client credentials
    /// grant accepts.
    pub fn is_default(&self) -> bool {
        self.names.len() == 1 && self.names[0] == DEFAULT
    }

    /// The short names that go into `scp`, with `.default` expanded.
    pub fn granted(&self) -> Vec<&'static str> {
        SERVER_SCOPES
            .iter()
            .copied()
            .filter(|exposed| self.is_default() || self.names.iter().any(|name| name == exposed))
            .collect()
    }

    /// The token response's `scope`: the granted permissions as full scope strings.
    pub fn response_scope(&self) -> String {
        self.granted()
            .iter()
            .map(|name| format!("{}/{name}", self.resource))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "http://127.0.0.1:7071/mcp";

    fn api() -> ServerApi {
        ServerApi {
            identifier_uri: URI.to_owned(),
        }
    }

    fn code(result: Result<ApiScopes, EntraError>) -> u32 {
        result.expect_err("the scope is refused").code
    }

    #[test]
    fn an_identifier_uri_scope_grants_the_short_name() {
        let scopes = api()
            .parse(&format!(
                "openid profile {URI}/user_impersonation offline_access"
            ))
            .unwrap();
        assert_eq!(scopes.resource, URI);
        assert_eq!(scopes.granted(), ["user_impersonation"]);
        assert_eq!(scopes.response_scope(), format!("{URI}/user_impersonation"));
        assert!(!scopes.is_default());
    }

    #[test]
    fn the_api_client_id_forms_are_accepted() {
        for resource in [
            format!("api://{SERVER_CLIENT_ID}"),
            SERVER_CLIENT_ID.to_owned(),
        ] {
            let scopes = api()
                .parse(&format!("{resource}/user_impersonation"))
                .unwrap();
            assert_eq!(scopes.granted(), ["user_impersonation"]);
            assert_eq!(scopes.resource, resource);
        }
    }

    #[test]
    fn dot_default_grants_everything_exposed() {
        let scopes = api().parse(&format!("{URI}/.default")).unwrap();
        assert!(scopes.is_default());
        assert_eq!(scopes.granted(), SERVER_SCOPES);
    }

    #[test]
    fn only_oidc_scopes_or_nothing_is_aadsts70011() {
        assert_eq!(code(api().parse("openid profile offline_access")), 70_011);
        assert_eq!(code(api().parse("   ")), 70_011);
    }

    #[test]
    fn an_unknown_resource_is_aadsts500011() {
        let error = api()
            .parse("api://00000000-0000-0000-0000-000000000001/user_impersonation")
            .unwrap_err();
        assert_eq!((error.error, error.code), ("invalid_resource", 500_011));
        assert_eq!(
            code(api().parse("User.Read")),
            500_011,
            "bare names mean Graph"
        );
        assert_eq!(
            code(api().parse(&format!("{URI}/?/user_impersonation"))),
            500_011,
            "the resource is everything before the last slash"
        );
    }

    #[test]
    fn two_resources_are_aadsts28000() {
        let two = format!("{URI}/user_impersonation https://graph.microsoft.com/User.Read");
        assert_eq!(code(api().parse(&two)), 28_000);
    }

    #[test]
    fn an_unknown_permission_is_aadsts650053() {
        assert_eq!(code(api().parse(&format!("{URI}/Mail.Send"))), 650_053);
    }

    #[test]
    fn dot_default_cannot_be_mixed() {
        let mixed = format!("{URI}/.default {URI}/user_impersonation");
        assert_eq!(code(api().parse(&mixed)), 70_011);
    }

    #[test]
    fn the_resource_parameter_must_be_an_identifier_uri() {
        let api = api();
        assert!(api.check_resource(None).is_ok());
        assert!(api.check_resource(Some(URI)).is_ok());
        assert!(
            api.check_resource(Some(&format!("api://{SERVER_CLIENT_ID}")))
                .is_ok()
        );
        for wrong in [
            "http://127.0.0.1:7071/mcp/",
            "http://127.0.0.1:7071",
            SERVER_CLIENT_ID,
            "https://mcp.contoso.example/mcp",
        ] {
            let error = api.check_resource(Some(wrong)).unwrap_err();
            assert_eq!(
                (error.error, error.code),
                ("invalid_target", 9_010_010),
                "{wrong}"
            );
        }
    }

    #[test]
    fn the_default_identifier_uri_is_not_listed_twice() {
        let api = ServerApi {
            identifier_uri: format!("api://{SERVER_CLIENT_ID}"),
        };
        assert_eq!(api.identifier_uris().len(), 1);
    }
}
