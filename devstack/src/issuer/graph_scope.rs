//! How Entra reads the `scope` of an on-behalf-of request for Microsoft Graph.
//!
//! The rules are those of [`super::scope`] (`{resource}/{permission}`, one resource per
//! request, `.default` alone or not at all, OpenID Connect scopes set aside), with Graph as
//! the resource. Graph is named by its identifier URI `https://graph.microsoft.com`, by its
//! application id, or not at all (a bare `User.Read` means Graph to Entra). The devstack also
//! accepts its own base URL as Graph's identifier, because the handler derives the scope prefix
//! from the Graph base URL it is configured with, which points at the devstack locally.

use super::error::EntraError;
use crate::tenant::{GRAPH_APP_ID, GRAPH_RESOURCE, SERVER_DISPLAY_NAME, graph_permission};

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const DEFAULT: &str = ".default";

/// The Graph permissions an on-behalf-of request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphScopes {
    /// The prefix the response's `scope` uses: Graph's identifier URI, or the devstack's base
    /// URL when the request named Graph that way.
    pub resource: String,
    pub requested: Requested,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// `{resource}/.default`: every consented permission.
    Default,
    /// Named permissions, canonical names.
    Named(Vec<&'static str>),
}

impl GraphScopes {
    /// Parses `scope`; `devstack_base` is the devstack's own base URL.
    pub fn parse(scope: &str, devstack_base: &str) -> Result<Self, EntraError> {
        let scopes: Vec<&str> = scope
            .split_whitespace()
            .filter(|scope| !OIDC_SCOPES.contains(scope))
            .collect();
        if scopes.is_empty() {
            return Err(EntraError::invalid_scope(scope));
        }
        let mut resources: Vec<&str> = Vec::new();
        let mut names = Vec::new();
        for scope in &scopes {
            let (resource, name) = scope.rsplit_once('/').unwrap_or((GRAPH_RESOURCE, scope));
            if !resources.contains(&resource) {
                resources.push(resource);
            }
            names.push(name);
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
        let resource = match resources[0] {
            GRAPH_RESOURCE | GRAPH_APP_ID => GRAPH_RESOURCE.to_owned(),
            base if base == devstack_base => devstack_base.to_owned(),
            other => {
                return Err(EntraError::new(
                    "invalid_resource",
                    500_011,
                    format!(
                        "The resource principal named {other} was not found in the tenant. \
                         This can happen if the application has not been installed by the \
                         administrator of the tenant or consented to by any user in the tenant."
                    ),
                ));
            }
        };
        if names.contains(&DEFAULT) {
            return if names.len() == 1 {
                Ok(Self {
                    resource,
                    requested: Requested::Default,
                })
            } else {
                Err(EntraError::invalid_scope(scope))
            };
        }
        let mut permissions = Vec::new();
        for name in names {
            let permission = graph_permission(name).ok_or_else(|| {
                EntraError::new(
                    "invalid_scope",
                    650_053,
                    format!(
                        "The application '{SERVER_DISPLAY_NAME}' asked for scope '{name}' that \
                         doesn't exist on the resource '{GRAPH_APP_ID}'. Contact the app vendor."
                    ),
                )
            })?;
            if !permissions.contains(&permission) {
                permissions.push(permission);
            }
        }
        Ok(Self {
            resource,
            requested: Requested::Named(permissions),
        })
    }

    /// The token response's `scope`: `permissions` as full scope strings.
    pub fn response_scope(&self, permissions: &[&str]) -> String {
        permissions
            .iter()
            .map(|permission| format!("{}/{permission}", self.resource))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:7072";

    fn parse(scope: &str) -> Result<GraphScopes, EntraError> {
        GraphScopes::parse(scope, BASE)
    }

    fn code(scope: &str) -> u32 {
        parse(scope).expect_err("the scope is refused").code
    }

    #[test]
    fn graph_can_be_named_four_ways() {
        for (scope, resource) in [
            ("https://graph.microsoft.com/User.Read", GRAPH_RESOURCE),
            (
                "00000003-0000-0000-c000-000000000000/User.Read",
                GRAPH_RESOURCE,
            ),
            ("User.Read", GRAPH_RESOURCE),
            ("http://127.0.0.1:7072/User.Read", BASE),
        ] {
            let scopes = parse(scope).unwrap();
            assert_eq!(scopes.resource, resource, "{scope}");
            assert_eq!(scopes.requested, Requested::Named(vec!["User.Read"]));
        }
    }

    #[test]
    fn names_are_canonical_and_oidc_scopes_are_set_aside() {
        let scopes =
            parse("openid https://graph.microsoft.com/mail.read offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read")
                .unwrap();
        assert_eq!(
            scopes.requested,
            Requested::Named(vec!["Mail.Read", "User.Read"])
        );
        assert_eq!(
            scopes.response_scope(&["User.Read", "Mail.Read"]),
            "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read"
        );
    }

    #[test]
    fn dot_default_means_everything_consented_and_stands_alone() {
        let scopes = parse("http://127.0.0.1:7072/.default").unwrap();
        assert_eq!(scopes.requested, Requested::Default);
        assert_eq!(
            scopes.response_scope(&["User.Read"]),
            "http://127.0.0.1:7072/User.Read"
        );
        assert_eq!(
            code("https://graph.microsoft.com/.default User.Read"),
            70_011
        );
    }

    #[test]
    fn refusals_carry_entras_codes() {
        assert_eq!(code("openid offline_access"), 70_011);
        assert_eq!(
            code("https://graph.microsoft.com/User.Read http://127.0.0.1:7072/Mail.Read"),
            28_000
        );
        assert_eq!(
            code("api://f07dc71e-5226-4b52-a821-7f45381eef5b/user_impersonation"),
            500_011
        );
        assert_eq!(code("http://127.0.0.1:9999/User.Read"), 500_011);
        let unknown = parse("https://graph.microsoft.com/Mail.Everything").unwrap_err();
        assert_eq!((unknown.error, unknown.code), ("invalid_scope", 650_053));
        assert!(unknown.message.contains("'Mail.Everything'"));
    }
}
