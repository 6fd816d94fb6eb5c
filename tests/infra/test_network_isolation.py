"""Locked down by default (issue 11, items 8–10): how far each API Management tier lets the
function app be closed, and that the default deployment is the closed one; Key Vault's firewall
and its readers scoped to single secrets; API Management not logging client IP addresses."""

from __future__ import annotations

import json

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep
from test_first_deployment import AZD_MANAGED, resolved_parameters


def main():
    return bicep("main.bicep")


# -- 8. The function app ----------------------------------------------------------------------


def test_the_inbound_posture_follows_the_tier_and_the_vnet():
    variables = main().variables
    assert variables["apimVnetIntegration"].value == bicep_ast.Expr("vnetEnabled && apimSku == 'StandardV2'")
    assert variables["functionInboundAccess"].value == bicep_ast.Expr(
        "apimVnetIntegration ? 'privateEndpoint' : (isClassicApimTier ? 'apimAddresses' : 'gatewayProofOnly')"
    )
    assert variables["isClassicApimTier"].value.refers_to("apimSku")
    for tier in ("'Developer'", "'Basic'", "'Standard'", "'Premium'"):
        assert tier in variables["isClassicApimTier"].value.text
    assert "V2" not in variables["isClassicApimTier"].value.text


def test_the_default_deployment_is_the_locked_down_one():
    # Standard v2 with the VNet: APIM reaches the app only through its private endpoint.
    params = main().params
    assert params["apimSku"].value == "StandardV2"
    assert params["vnetEnabled"].value is True
    values = resolved_parameters(AZD_MANAGED)
    assert values["apimSku"] == "StandardV2"
    assert values["vnetEnabled"] is True


def test_the_app_endpoint_admits_only_what_the_posture_allows():
    module = bicep("app/function-app.bicep")
    assert "'privateEndpoint'" in module.params["inboundAccess"].decorators[1]
    site = module.resource("functionApp").body["properties"]
    config = site["siteConfig"]
    # Deny unless the tier leaves nothing to restrict to.
    assert config["ipSecurityRestrictionsDefaultAction"] == bicep_ast.Expr("inboundAccess == 'gatewayProofOnly' ? 'Allow' : 'Deny'")
    assert config["ipSecurityRestrictions"] == bicep_ast.Expr("inboundAccess == 'apimAddresses' ? apimAddressRules : []")
    rules = module.variables["apimAddressRules"].value.text
    assert rules.startswith("[for (address, i) in apimPublicIpAddresses:")
    assert "ipAddress: '${address}/32'" in rules and "action: 'Allow'" in rules
    # The deployment endpoint keeps its own rules (azd publishes there with an Entra token) and
    # basic publishing stays off.
    assert config["scmIpSecurityRestrictionsUseMain"] is False
    assert config["scmIpSecurityRestrictionsDefaultAction"] == "Allow"
    policies = {r.body["name"]: r.body["properties"]["allow"] for r in module.resources_of_type("Microsoft.Web/sites/basicPublishingCredentialsPolicies")}
    assert policies == {"ftp": False, "scm": False}
    assert site["publicNetworkAccess"] == bicep_ast.Expr("inboundAccess == 'privateEndpoint' ? publicNetworkAccess : 'Enabled'")


def test_main_wires_the_posture_apim_addresses_and_public_access():
    params = main().modules["functionApp"].value["params"]
    assert params["inboundAccess"] == bicep_ast.Expr("functionInboundAccess")
    assert params["apimPublicIpAddresses"] == bicep_ast.Expr("isClassicApimTier ? apim.outputs.publicIpAddresses : []")
    assert params["publicNetworkAccess"] == bicep_ast.Expr("functionPublicNetworkAccess")
    assert bicep("app/apim.bicep").outputs["publicIpAddresses"].value == bicep_ast.Expr("isClassicTier ? apim.properties.publicIPAddresses : []")


def test_standard_v2_reaches_the_app_through_a_private_endpoint_over_vnet_integration():
    # APIM: outbound VNet integration on the delegated subnet.
    apim = bicep("app/apim.bicep").resource("apim").body["properties"]
    assert apim["virtualNetworkType"] == bicep_ast.Expr("empty(virtualNetworkSubnetId) ? 'None' : 'External'")
    assert main().modules["apim"].value["params"]["virtualNetworkSubnetId"] == bicep_ast.Expr("apimVnetIntegration ? network!.outputs.apimSubnetId : ''")
    subnets = {s["name"]: s["properties"] for s in bicep("app/network.bicep").resource("vnet").body["properties"]["subnets"]}
    assert subnets["apim"]["delegations"][0]["properties"]["serviceName"] == "Microsoft.Web/serverFarms"
    assert subnets["apim"]["networkSecurityGroup"] == {"id": bicep_ast.Expr("apimNsg.id")}
    # The app: an inbound private endpoint, resolvable inside the VNet.
    endpoints = bicep("app/private-endpoints.bicep")
    site = endpoints.resource("sitePrivateEndpoint")
    connection = site.body["properties"]["privateLinkServiceConnections"][0]["properties"]
    assert connection == {"privateLinkServiceId": bicep_ast.Expr("functionAppId"), "groupIds": ["sites"]}
    assert site.condition == "(siteEndpointEnabled)"
    assert endpoints.resource("siteZone").body["name"] == "privatelink.azurewebsites.net"
    assert endpoints.resource("siteZoneLink").body["properties"]["virtualNetwork"] == {"id": bicep_ast.Expr("vnetId")}
    assert main().modules["privateEndpoints"].value["params"]["functionAppId"] == bicep_ast.Expr("apimVnetIntegration ? functionApp.outputs.functionAppId : ''")
    # The MCP API (named values from Key Vault, the app as backend) waits for the endpoints.
    assert "privateEndpoints" in main().modules["mcpApi"].text.split("dependsOn:", 1)[1]


def test_an_endpoint_that_stays_public_is_announced():
    warning = main().outputs["MCP_WARNING_NETWORK"].value.text
    assert warning.startswith("functionInboundAccess == 'gatewayProofOnly' ?")
    assert warning.endswith(": ''")
    assert "MCP_VNET_ENABLED=true" in warning and "StandardV2" in warning
    assert main().outputs["MCP_FUNCTION_APP_INBOUND"].value == bicep_ast.Expr("functionInboundAccess")


def test_maximum_instance_count_is_a_parameter_with_a_modest_default():
    declaration = main().params["functionMaximumInstanceCount"]
    assert declaration.value == 40, "the lowest maximum Flex Consumption accepts"
    assert "@minValue(40)" in declaration.decorators and "@maxValue(1000)" in declaration.decorators
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["functionMaximumInstanceCount"] == {"value": "${MCP_FUNCTION_MAXIMUM_INSTANCE_COUNT=40}"}
    assert main().modules["functionApp"].value["params"]["maximumInstanceCount"] == bicep_ast.Expr("functionMaximumInstanceCount")


# -- 9. Key Vault ---------------------------------------------------------------------------------


def test_key_vault_denies_public_traffic_with_the_vnet_and_has_a_private_endpoint():
    acls = bicep("app/keyvault.bicep").resource("vault").body["properties"]["networkAcls"]
    assert acls["defaultAction"] == bicep_ast.Expr("privateNetworking || publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'")
    assert main().modules["keyVault"].value["params"]["privateNetworking"] == bicep_ast.Expr("vnetEnabled")
    endpoints = bicep("app/private-endpoints.bicep").variables["endpoints"].value
    vault = next(e for e in endpoints if e["groupId"] == "vault")
    assert vault["serviceId"] == bicep_ast.Expr("keyVaultId") and vault["zone"] == "privatelink.vaultcore.azure.net"
    assert "if (vnetEnabled)" in main().modules["privateEndpoints"].text


def test_the_handler_reads_only_the_secret_it_needs():
    vault = bicep("app/keyvault.bicep")
    reader = vault.resource("functionGatewayProofReader")
    assert reader.body["scope"] == bicep_ast.Expr("gatewayProofExisting")
    assert reader.body["properties"]["principalId"] == bicep_ast.Expr("functionPrincipalId")
    # The secret exists before the assignment on the first deployment.
    assert reader.body["dependsOn"] == [bicep_ast.Expr("newGatewayProof")]
    scopes = {r.body["scope"].text for r in vault.resources_of_type("Microsoft.Authorization/roleAssignments")}
    assert "vault" not in scopes, "no reader of the whole vault"


# -- 10. Client IP addresses in API Management logs -------------------------------------------


def test_apim_does_not_log_client_ip_addresses_unless_asked():
    declaration = main().params["apimLogClientIp"]
    assert declaration.value is False
    assert "personal data" in declaration.decorators[0]
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["apimLogClientIp"] == {"value": "${MCP_APIM_LOG_CLIENT_IP=false}"}
    assert bicep("app/apim.bicep").resource("noPayloadLogging").body["properties"]["logClientIp"] == bicep_ast.Expr("logClientIp")
    assert bicep("app/apim-mcp-api.bicep").resource("mcpApiDiagnostics").body["properties"]["logClientIp"] == bicep_ast.Expr("logClientIp")
    assert main().modules["apim"].value["params"]["logClientIp"] == bicep_ast.Expr("apimLogClientIp")
    assert main().modules["mcpApi"].value["params"]["logClientIp"] == bicep_ast.Expr("apimLogClientIp")
    for path in INFRA.rglob("*.bicep"):
        assert "logClientIp: true" not in path.read_text(), path.name
