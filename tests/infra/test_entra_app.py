"""The Entra app registration: one delegated scope, two app roles (MCP.Operator, MCP.Writer),
exactly the Graph permissions of the enabled toolsets, v2 tokens, a federated credential trusting the handler's managed identity and no
other credential, a service principal, optional admin consent and pre-authorized clients."""

from __future__ import annotations

import json
import re

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
VS_CODE_CLIENT_ID = "aebc6443-996d-45c2-90f0-388ff96faa56"
GUID_LITERAL = re.compile(r"'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'")


def entra() -> bicep_ast.BicepFile:
    return bicep("app/entra-app.bicep")


def applications() -> list[bicep_ast.Resource]:
    return entra().resources_of_type("Microsoft.Graph/applications")


def test_graph_extension_is_declared_and_pinned():
    assert entra().source.startswith("extension microsoftGraphV1\n")
    config = json.loads((INFRA / "bicepconfig.json").read_text())
    reference = config["extensions"]["microsoftGraphV1"]
    assert reference.startswith("br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:")
    assert not reference.endswith(":latest")


def test_graph_permissions_are_exactly_those_of_the_enabled_toolsets():
    module = entra()
    assert module.variables["graphPermissionsByToolset"].value == bicep_ast.Expr("loadJsonContent('graph-permissions.json').toolsets")
    # The enabled toolsets' lists, flattened and deduplicated (union), and nothing else.
    assert module.variables["permissionsPerToolset"].value == bicep_ast.Expr("[for toolset in toolsets: graphPermissionsByToolset[toolset]]")
    assert module.variables["graphDelegatedPermissions"].value == bicep_ast.Expr("union(flatten(permissionsPerToolset), [])")
    assert module.params["toolsets"].type == "array"
    access = module.variables["requiredResourceAccess"].value
    assert len(access) == 1 and access[0]["resourceAppId"] == bicep_ast.Expr("graphAppId")
    assert module.variables["graphAppId"].value == GRAPH_APP_ID
    assert access[0]["resourceAccess"] == bicep_ast.Expr("graphResourceAccess")
    resource_access = module.variables["graphResourceAccess"].value
    assert resource_access.refers_to("graphDelegatedPermissions")
    assert "type: 'Scope'" in resource_access.text and "'Role'" not in resource_access.text, "delegated permissions only"
    for app in applications():
        assert app.body["requiredResourceAccess"] == bicep_ast.Expr("requiredResourceAccess")
    # No permission is written into the Bicep itself: the data file is the one list.
    assert not GUID_LITERAL.search(module.source.replace(GRAPH_APP_ID, ""))


def test_main_passes_the_toolsets_parameter_split_from_the_azd_environment():
    main = bicep("main.bicep")
    assert main.params["toolsets"].type == "string"
    assert main.variables["toolsetList"].value == bicep_ast.Expr("empty(trim(toolsets)) ? [] : split(replace(toolsets, ' ', ''), ',')")
    assert main.modules["entraApp"].value["params"]["toolsets"] == bicep_ast.Expr("toolsetList")
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["toolsets"] == {"value": "${MCP_TOOLSETS=" + main.params["toolsets"].value + "}"}


def test_bicep_default_toolsets_leave_write_off_and_match_the_documentation():
    # test_app_settings.py compares this default with the handler's own (`handler --help`).
    main_default = bicep("main.bicep").params["toolsets"].value
    assert "write" not in main_default.split(","), "write tools are off unless the operator enables them"
    readme_row = re.search(r"^\| `MCP_TOOLSETS` \| `([^`]*)` \|", (REPO_ROOT / "README.md").read_text(), re.MULTILINE)
    assert readme_row and readme_row[1] == main_default
    deploy_row = re.search(r"^\| `MCP_TOOLSETS` \| `toolsets` \| `([^`]*)` \|", (REPO_ROOT / "docs" / "DEPLOY.md").read_text(), re.MULTILINE)
    assert deploy_row and deploy_row[1] == main_default


def test_api_issues_v2_tokens_with_one_user_scope():
    api = entra().variables["api"].value
    assert api["requestedAccessTokenVersion"] == 2
    (scope,) = api["oauth2PermissionScopes"]
    assert scope["value"] == bicep_ast.Expr("requiredScopeName")
    assert scope["type"] == "User"
    assert scope["isEnabled"] is True
    assert scope["id"] == bicep_ast.Expr("userScopeId")
    assert bicep("main.bicep").params["requiredScopeName"].value == "user_impersonation"


def test_operator_app_role_admits_users_and_applications():
    roles = {role["value"]: role for role in entra().variables["appRoles"].value}
    role = roles["MCP.Operator"]
    assert role["allowedMemberTypes"] == ["User", "Application"]
    assert "diagnostics" in role["description"]
    assert role["isEnabled"] is True
    assert role["id"] == bicep_ast.Expr("operatorRoleId")


def test_writer_app_role_admits_users_only_for_the_write_tools():
    roles = {role["value"]: role for role in entra().variables["appRoles"].value}
    assert set(roles) == {"MCP.Operator", "MCP.Writer"}
    role = roles["MCP.Writer"]
    assert role["allowedMemberTypes"] == ["User"], "the write tools act as the signed-in user"
    assert "send_mail" in role["description"] and "create_event" in role["description"]
    assert role["isEnabled"] is True
    assert role["id"] == bicep_ast.Expr("writerRoleId")
    assert entra().variables["writerRoleId"].value == bicep_ast.Expr("guid(uniqueName, 'appRole', 'MCP.Writer')")


def test_app_has_no_secret_or_certificate():
    for app in applications():
        assert set(app.body).isdisjoint({"passwordCredentials", "keyCredentials"}), app.symbol
        # The web platform carries broker mode's redirect URI and nothing else: no implicit
        # grant, no logout URL; the credential stays the federated one.
        if "web" in app.body:
            assert dict(app.body["web"]) == {"redirectUris": bicep_ast.Expr("brokerRedirectUris")}, app.symbol
        assert app.body["signInAudience"] == "AzureADMyOrg"
        assert app.body["isFallbackPublicClient"] is False
    assert "passwordCredentials" not in entra().source and "keyCredentials" not in entra().source


def test_identifier_uris_are_api_app_id_and_the_custom_domain_mcp_url():
    second_pass = entra().resource("appWithIdentifierUris")
    assert second_pass.body["uniqueName"] == bicep_ast.Expr("app.uniqueName")
    uris = second_pass.body["identifierUris"].text
    assert "'api://${app.appId}'" in uris and "appIdUriOnCustomDomain" in uris
    assert entra().variables["appIdUriOnCustomDomain"].value == bicep_ast.Expr("'https://${customDomainHostName}/mcp'")


def test_federated_credential_trusts_the_handler_identity():
    (credential,) = entra().resources_of_type("Microsoft.Graph/applications/federatedIdentityCredentials")
    body = credential.body
    assert body["issuer"] == bicep_ast.Expr("'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'")
    assert body["subject"] == bicep_ast.Expr("federatedIdentityPrincipalId")
    assert body["audiences"] == ["api://AzureADTokenExchange"]


def test_service_principal_and_optional_admin_consent():
    (service_principal, graph) = sorted(entra().resources_of_type("Microsoft.Graph/servicePrincipals"), key=lambda r: r.existing)
    assert service_principal.body["appId"] == bicep_ast.Expr("app.appId")
    assert graph.existing and graph.body["appId"] == bicep_ast.Expr("graphAppId")
    (grant,) = entra().resources_of_type("Microsoft.Graph/oauth2PermissionGrants")
    assert grant.condition == "(grantAdminConsent && !empty(graphDelegatedPermissions))"
    assert grant.body == {
        "clientId": bicep_ast.Expr("servicePrincipal.id"),
        "resourceId": bicep_ast.Expr("graphServicePrincipal.id"),
        "consentType": "AllPrincipals",
        "scope": bicep_ast.Expr("join(graphDelegatedScopeNames, ' ')"),
    }
    assert bicep("main.bicep").params["grantAdminConsent"].value is False


def test_pre_authorized_clients_come_from_a_parameter_that_defaults_to_none():
    assert entra().variables["api"].value["preAuthorizedApplications"] == bicep_ast.Expr("preAuthorizedApplications")
    pre_authorized = entra().variables["preAuthorizedApplications"].value
    assert pre_authorized.refers_to("preAuthorizedClientAppIds") and pre_authorized.refers_to("userScopeId")
    main = bicep("main.bicep")
    assert main.params["preAuthorizedClientAppIds"].value == ""
    assert any(VS_CODE_CLIENT_ID in d for d in main.params["preAuthorizedClientAppIds"].decorators)
    assert VS_CODE_CLIENT_ID in (REPO_ROOT / "docs" / "DEPLOY.md").read_text()


def test_broker_mode_registers_the_callback_as_the_only_web_redirect():
    assert entra().params["brokerRedirectUris"].value == []
    redirects = bicep("main.bicep").modules["entraApp"].value["params"]["brokerRedirectUris"].text
    assert redirects.startswith("brokerMode ? [") and redirects.endswith("] : []")
    assert "/callback" in redirects and "customDomainHostName" in redirects and "azure-api.net" in redirects
