"""API Management: the policy XML under infra/ is well-formed, refers only to named values the
Bicep defines, and does what the architecture says (validate the Entra token, authorize and
rate-limit on the validated token, add the gateway proof from Key Vault, never touch bodies)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import bicep_ast
from infra_support import INFRA, bicep

POLICIES = INFRA / "apim" / "policies"
NAMED_VALUE_REF = re.compile(r"\{\{([^{}]+)\}\}")


def policy_files() -> list[Path]:
    return sorted(INFRA.rglob("*.xml"))


def policy(name: str) -> ET.Element:
    return ET.parse(POLICIES / name).getroot()


def api_module() -> bicep_ast.BicepFile:
    return bicep("app/apim-mcp-api.bicep")


def named_values() -> dict[str, bicep_ast.Resource]:
    # Policies refer to a named value by its display name; keep name and display name equal.
    defined = {}
    for resource in api_module().resources_of_type("Microsoft.ApiManagement/service/namedValues"):
        assert resource.body["name"] == resource.body["properties"]["displayName"], resource.symbol
        defined[resource.body["properties"]["displayName"]] = resource
    return defined


def inbound(root: ET.Element) -> list[str]:
    return [child.tag for child in root.find("inbound")]


def test_policy_files_exist():
    assert [p.name for p in policy_files()] == [
        "broker-operation.xml",
        "broker-register-operation.xml",
        "broker-token-operation.xml",
        "mcp-api.xml",
        "mcp-operation.xml",
        "prm-operation.xml",
    ]


@pytest.mark.parametrize("path", policy_files(), ids=lambda p: p.name)
def test_policy_is_well_formed_xml_with_the_four_sections(path):
    root = ET.parse(path).getroot()
    assert root.tag == "policies"
    assert [child.tag for child in root] == ["inbound", "backend", "outbound", "on-error"]


def test_policies_refer_only_to_defined_named_values_and_every_named_value_is_used():
    referenced = set()
    for path in policy_files():
        referenced |= set(NAMED_VALUE_REF.findall(path.read_text()))
    defined = set(named_values())
    assert referenced - defined == set(), "policies use undefined named values"
    assert defined - referenced == set(), "named values no policy uses"


def test_every_policy_file_is_loaded_by_the_bicep_as_well_formed_xml():
    loaded = {}
    for resource in api_module().resources:
        if resource.type.endswith("/policies"):
            value = resource.body["properties"]["value"]
            match = re.fullmatch(r"loadTextContent\('\.\./apim/policies/([\w.-]+)'\)", value.text)
            assert match, f"{resource.symbol}: policy must come from a file under infra/apim/policies"
            # format 'xml' (not 'rawxml'): APIM parses the files as the XML they are.
            assert resource.body["properties"]["format"] == "xml"
            loaded[resource.symbol] = match[1]
    assert loaded == {
        "mcpApiPolicy": "mcp-api.xml",
        "mcpOperationPolicies": "mcp-operation.xml",
        "metadataOperationPolicies": "prm-operation.xml",
        "brokerPageOperationPolicies": "broker-operation.xml",
        "brokerRegisterOperationPolicies": "broker-register-operation.xml",
        "brokerTokenOperationPolicies": "broker-token-operation.xml",
    }


def test_operations_route_mcp_and_the_protected_resource_metadata_paths():
    variables = api_module().variables
    mcp = {(op["method"], op["name"]) for op in variables["mcpOperations"].value}
    assert mcp == {("POST", "mcp-post"), ("GET", "mcp-get"), ("DELETE", "mcp-delete")}
    assert api_module().resource("mcpOperationResources").body["properties"]["urlTemplate"] == "/mcp"
    metadata = {op["urlTemplate"] for op in variables["metadataOperations"].value}
    assert metadata == {"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"}
    assert api_module().resource("metadataOperationResources").body["properties"]["method"] == "GET"


def test_api_needs_no_subscription_key_and_sits_at_the_gateway_root():
    api = api_module().resource("mcpApi").body["properties"]
    assert api["subscriptionRequired"] is False
    assert api["path"] == ""
    assert api["protocols"] == ["https"]
    assert api["serviceUrl"] == bicep_ast.Expr("'https://${functionAppHostName}'")


def test_mcp_operations_validate_the_entra_token():
    root = policy("mcp-operation.xml")
    validate = root.find("inbound/validate-azure-ad-token")
    assert validate is not None
    assert validate.get("tenant-id") == "{{mcp-tenant-id}}"
    assert validate.get("header-name") == "Authorization"
    assert validate.get("failed-validation-httpcode") == "401"
    assert validate.get("output-token-variable-name") == "mcp-token"
    assert [a.text for a in validate.findall("audiences/audience")] == ["{{mcp-client-id}}", "{{mcp-app-id-uri}}"]


def test_mcp_operations_require_the_scope_on_the_validated_token():
    root = policy("mcp-operation.xml")
    refusal = root.find("inbound/set-variable[@name='mcp-refusal']").get("value")
    assert 'context.Variables["mcp-token"]' in refusal
    assert 'scopes.Contains("{{mcp-required-scope}}")' in refusal
    assert '"{{mcp-allowed-app-roles}}"' in refusal and '"{{mcp-allowed-client-apps}}"' in refusal
    assert "Headers" not in refusal
    answers = {w.get("condition"): w for w in root.findall("inbound/choose/when")}
    scope_refusal = answers['@((string)context.Variables["mcp-refusal"] == "scope")']
    assert scope_refusal.find("return-response/set-status").get("code") == "403"
    challenge = scope_refusal.find("return-response/set-header[@name='WWW-Authenticate']/value").text
    assert 'error="insufficient_scope"' in challenge and "{{mcp-resource-metadata-url}}" in challenge


def test_rate_limit_is_keyed_on_tid_and_oid_of_the_validated_token():
    root = policy("mcp-operation.xml")
    limit = root.find("inbound/rate-limit-by-key")
    key = limit.get("counter-key")
    assert 'context.Variables["mcp-token"]' in key
    assert 'GetValueOrDefault("tid", "") + ":" + jwt.Claims.GetValueOrDefault("oid", "")' in key
    assert "Headers" not in key and "AsJwt" not in key
    assert limit.get("calls") == "{{mcp-rate-limit-calls}}"
    assert limit.get("renewal-period") == "{{mcp-rate-limit-period}}"


def test_mcp_inbound_order_is_validate_authorize_limit_then_forward():
    assert inbound(policy("mcp-operation.xml")) == ["validate-azure-ad-token", "set-variable", "choose", "rate-limit-by-key", "base"]


def test_failed_validation_answers_with_the_mcp_challenge():
    root = policy("mcp-operation.xml")
    when = root.find("on-error/choose/when")
    assert when.get("condition") == "@(context.Response.StatusCode == 401)"
    value = when.find("set-header[@name='WWW-Authenticate']").find("value").text
    assert value.count("resource_metadata=\\\"{{mcp-resource-metadata-url}}\\\"") == 2
    assert 'error=\\"invalid_token\\"' in value


def test_gateway_proof_header_comes_from_the_key_vault_named_value():
    root = policy("mcp-api.xml")
    header = root.find("inbound/set-header")
    assert header.get("name") == bicep("main.bicep").variables["gatewayProofHeaderName"].value
    assert header.get("exists-action") == "override"
    assert header.find("value").text == "{{mcp-gateway-proof}}"
    proof = named_values()["mcp-gateway-proof"].body["properties"]
    assert proof["secret"] is True
    assert "value" not in proof, "the proof must come from Key Vault, not be written into APIM"
    assert proof["keyVault"] == {
        "secretIdentifier": bicep_ast.Expr("gatewayProofUriWithVersion"),
        "identityClientId": bicep_ast.Expr("identityClientId"),
    }
    main_params = bicep("main.bicep").modules["mcpApi"].value["params"]
    assert main_params["identityClientId"] == bicep_ast.Expr("identities.outputs.apimIdentityClientId")
    assert main_params["gatewayProofUriWithVersion"] == bicep_ast.Expr("keyVault.outputs.gatewayProofUriWithVersion")


def test_other_named_values_are_plain_and_come_from_the_configuration():
    values = {name: r.body["properties"] for name, r in named_values().items() if name != "mcp-gateway-proof"}
    assert all("secret" not in v and "keyVault" not in v for v in values.values())
    assert values["mcp-tenant-id"]["value"] == bicep_ast.Expr("tenantId")
    assert values["mcp-client-id"]["value"] == bicep_ast.Expr("clientId")
    assert values["mcp-app-id-uri"]["value"] == bicep_ast.Expr("appIdUri")
    assert values["mcp-required-scope"]["value"] == bicep_ast.Expr("requiredScope")
    assert values["mcp-allowed-client-apps"]["value"] == bicep_ast.Expr("',${allowedClientApps},'")
    assert values["mcp-allowed-app-roles"]["value"] == bicep_ast.Expr("',${allowedAppRoles},'")
    main = bicep("main.bicep")
    assert main.variables["resourceMetadataUrl"].value == bicep_ast.Expr("'${publicOrigin}/.well-known/oauth-protected-resource/mcp'")


def broker_operations(symbol: str) -> list[dict]:
    return [dict(item) for item in api_module().variables[symbol].value]


def test_broker_mode_routes_the_authorization_server_and_only_in_broker_mode():
    module = api_module()
    assert module.params["brokerMode"].value is False
    routes = set()
    for symbol in ("brokerPageOperations", "brokerRegisterOperations", "brokerTokenOperations"):
        for operation in broker_operations(symbol):
            routes.add((operation["method"], operation["urlTemplate"]))
    assert routes == {
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/authorize"),
        ("GET", "/callback"),
        ("GET", "/consent"),
        ("POST", "/consent"),
        ("GET", "/consents"),
        ("POST", "/consents/revoke"),
        ("POST", "/register"),
        ("POST", "/token"),
        ("POST", "/revoke"),
    }
    assert [o["urlTemplate"] for o in broker_operations("brokerRegisterOperations")] == ["/register"]
    assert [o["urlTemplate"] for o in broker_operations("brokerTokenOperations")] == ["/token", "/revoke"]
    for symbol in ("brokerPageOperationResources", "brokerRegisterOperationResources", "brokerTokenOperationResources"):
        assert "brokerMode ?" in (module.resource(symbol).loop or ""), symbol
    assert bicep("main.bicep").modules["mcpApi"].value["params"]["brokerMode"] == bicep_ast.Expr("brokerMode")


@pytest.mark.parametrize(
    ("name", "calls"),
    [("broker-operation.xml", "60"), ("broker-register-operation.xml", "10"), ("broker-token-operation.xml", "60")],
)
def test_broker_operations_pass_through_without_token_validation_but_limited_per_ip(name, calls):
    root = policy(name)
    assert root.find(".//validate-azure-ad-token") is None and root.find(".//validate-jwt") is None
    assert inbound(root) == ["rate-limit-by-key", "base"]
    limit = root.find("inbound/rate-limit-by-key")
    assert limit.get("counter-key") == "@(context.Request.IpAddress)"
    assert (limit.get("calls"), limit.get("renewal-period")) == (calls, "60")


def test_metadata_operations_are_anonymous_and_limited_per_ip():
    root = policy("prm-operation.xml")
    assert root.find(".//validate-azure-ad-token") is None and root.find(".//validate-jwt") is None
    assert inbound(root) == ["rate-limit-by-key", "base"]
    assert root.find("inbound/rate-limit-by-key").get("counter-key") == "@(context.Request.IpAddress)"


@pytest.mark.parametrize("path", policy_files(), ids=lambda p: p.name)
def test_policy_never_reads_bodies_or_sends_function_keys(path):
    text = re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.DOTALL)  # the comments may name what is banned
    # Reading response bodies makes APIM buffer MCP streams; reading request bodies is not needed.
    assert "Response.Body" not in text and "Request.Body" not in text
    assert "x-functions-key" not in text.lower()
    assert not re.search(r"[?&]code=", text)
    assert "<log-to-eventhub" not in text and "<trace" not in text


@pytest.mark.parametrize(("module", "symbol"), [("app/apim.bicep", "noPayloadLogging"), ("app/apim-mcp-api.bicep", "mcpApiDiagnostics")])
def test_diagnostics_log_no_payloads_and_no_headers(module, symbol):
    # Service-wide default and the MCP API's own setting.
    diagnostics = bicep(module).resource(symbol).body["properties"]
    assert bicep(module).variables["noPayload"].value == {"headers": [], "body": {"bytes": 0}}
    # The declared Azure Monitor logger (test_first_deployment.py checks the dependency).
    assert diagnostics["loggerId"] in (bicep_ast.Expr("azureMonitorLogger.id"), bicep_ast.Expr("azureMonitorLoggerId"))
    for side in ("frontend", "backend"):
        for direction in ("request", "response"):
            assert diagnostics[side][direction] == bicep_ast.Expr("noPayload")
