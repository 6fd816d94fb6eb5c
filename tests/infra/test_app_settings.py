"""The set of settings the handler reads equals the set of app settings the Bicep provides.

The handler's own `--help` is the source of truth for what it reads (every setting as a line of
two spaces + NAME, then `      <help>` and `      default: <...>`; `(required)` for settings it
cannot run without anywhere, `required under the Functions host; ...` for those it needs in Azure
only). The Bicep side is the `appsettings` resource of the function app. Two lists below name,
with a reason, the settings that are deliberately on one side only: every setting the handler
reads is either set by the Bicep or in LEFT_AT_DEFAULT.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep

# App settings the platform needs that are not the handler's: they configure the Functions host.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__credential": "host storage through the managed identity, no connection string",
    "AzureWebJobsStorage__clientId": "which user-assigned identity the host uses for storage",
    "AzureWebJobsStorage__blobServiceUri": "host storage endpoint (blob only: no queue or table triggers)",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "where the host sends telemetry (holds no key: local auth is off)",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Entra (identity) authentication for telemetry ingestion",
    "AzureWebJobsFeatureFlags": "EnableMcpCustomHandlerPreview: required for the mcp-custom-handler profile in Azure",
}

# Settings the handler reads that the Bicep deliberately does not set.
LEFT_AT_DEFAULT = {
    "GRAPH_BASE_URL": "default is Azure public cloud Graph",
    "MCP_AUTHORITY_HOST": "default is Azure public cloud Entra",
    "MCP_ACCEPT_V1_TOKENS": "the app registration requests v2 tokens",
    "MCP_LISTEN_ADDR": "unused under Functions: the host passes FUNCTIONS_CUSTOMHANDLER_PORT",
    "MCP_ALLOWED_ORIGINS": "default (the MCP_PUBLIC_URL origin) fits",
    "MCP_SHUTDOWN_GRACE_SECONDS": "default fits",
    "MCP_LOG": "default level fits; change in the portal when debugging",
    "MCP_GATEWAY_PROOF": "local development only: in Azure the proof comes from Key Vault, never from a setting",
    "MCP_GATEWAY_PROOF_REQUIRED": "default (true under the Functions host) fits: the Bicep sets MCP_GATEWAY_PROOF_HEADER",
    "MCP_GATEWAY_PROOF_ROTATION_GRACE_SECONDS": "default (8 hours) outlasts APIM's switch to a new version",
    "MCP_JWKS_REFRESH_COOLDOWN_SECONDS": "default (five minutes, Entra's guidance) fits",
    "MCP_DEVSTACK_ADDR": "local development only: the deployed build has no local stand-ins",
    "MCP_DEVSTACK_VAULT_ADDR": "local development only: the deployed build has no local stand-ins",
    "MCP_DEVSTACK_TEST_CA": "tests only: the deployed build has no local stand-ins",
    "MCP_DEVSTACK_RESOLVE": "tests only: the deployed build has no local stand-ins",
    "MCP_PUBLIC_CLIENT_ID": "`handler stdio` only (a user's own app registration): the server never reads it",
    "MCP_TOKEN_STORE_DIR": "`handler stdio` and `handler logout` only: the server stores no sign-in",
    "MCP_BROKER_REDIRECT_URIS": "default (loopback, VS Code, Claude, ChatGPT callbacks) fits; an operator narrows or widens it in the portal",
    "MCP_SECRET_REFRESH_SECONDS": "default (five minutes) fits; APIM's own refresh of the named value is pinned per version",
    "MCP_TOOL_DEADLINE_SECONDS": "default (45 s) stays well inside the Functions proxy's 240 s idle timeout",
    "MCP_MAX_CONCURRENT_REQUESTS": "default (64) is measured for the 2048 MB instance the Bicep deploys (docs/RELIABILITY.md#overload); raise it with a larger instance",
    "MCP_MAX_CONCURRENT_REQUESTS_PER_CALLER": "default (8: two rounds of Outlook's four requests per mailbox) fits every instance size",
    "FUNCTIONS_CUSTOMHANDLER_PORT": "set by the Functions host",
    "IDENTITY_ENDPOINT": "set by the platform (managed identity)",
    "IDENTITY_HEADER": "set by the platform (managed identity)",
}

SETTING_LINE = re.compile(r"^  (?P<name>[A-Za-z_][A-Za-z0-9_]*)$")
DEFAULT_LINE = re.compile(r"^      default: (?P<default>.*)$")


def parse_help(text: str) -> dict[str, str | None]:
    """Setting name -> its documented default (None when the entry has no default line)."""
    settings: dict[str, str | None] = {}
    current = None
    for line in text.splitlines():
        match = SETTING_LINE.match(line)
        if match:
            current = match["name"]
            settings[current] = None
            continue
        match = DEFAULT_LINE.match(line)
        if match and current is not None:
            settings[current] = match["default"].strip()
        elif not line.startswith("      "):
            current = None
    return settings


def cargo() -> str:
    found = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(found).is_file():
        pytest.fail("cargo is missing: the settings test needs the handler binary (rustup.rs toolchain)")
    return found


@pytest.fixture(scope="session")
def handler_settings() -> dict[str, str | None]:
    binary = REPO_ROOT / "target" / "debug" / "handler"
    # Always let cargo decide: it is a no-op when the binary is fresh, and a stale binary would
    # describe yesterday's settings.
    build = subprocess.run(
        [cargo(), "build", "--locked", "--quiet", "--bin", "handler"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if build.returncode != 0:
        pytest.fail(f"cargo build --bin handler failed:\n{build.stderr[-4000:]}")
    env = {key: value for key, value in os.environ.items() if key != "FUNCTIONS_CUSTOMHANDLER_PORT"}
    completed = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert completed.returncode == 0, completed.stderr
    settings = parse_help(completed.stdout)
    assert settings, f"no settings found in `handler --help`:\n{completed.stdout}"
    return settings


def bicep_app_settings() -> dict:
    resource = bicep("app/function-app.bicep").resource("appSettings")
    assert resource.type == "Microsoft.Web/sites/config" and resource.body["name"] == "appsettings"
    return resource.body["properties"]


def handler_settings_in_bicep() -> set[str]:
    return set(bicep_app_settings()) - set(PLATFORM_SETTINGS)


def test_help_parser_reads_the_documented_format():
    sample = (
        "handler 0.1.0: remote MCP server\n\nUSAGE:\n  handler              serve MCP at /mcp\n\n"
        "SETTINGS (environment variables; in Azure, app settings):\n"
        "  MCP_TENANT_ID\n      Entra tenant (GUID).\n      default: (required)\n"
        "  MCP_LOG\n      Log level.\n      default: info\n"
    )
    assert parse_help(sample) == {"MCP_TENANT_ID": "(required)", "MCP_LOG": "info"}


def test_bicep_sets_every_platform_setting_with_the_expected_value():
    settings = bicep_app_settings()
    assert set(PLATFORM_SETTINGS) <= set(settings)
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == bicep_ast.Expr("identityClientId")
    assert settings["AzureWebJobsStorage__blobServiceUri"] == bicep_ast.Expr("storageBlobEndpoint")
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == bicep_ast.Expr("'ClientId=${identityClientId};Authorization=AAD'")
    assert settings["AzureWebJobsFeatureFlags"] == "EnableMcpCustomHandlerPreview"


def test_lists_of_deliberate_differences_do_not_contradict_the_bicep():
    in_bicep = set(bicep_app_settings())
    assert in_bicep & set(LEFT_AT_DEFAULT) == set()
    assert "MCP_GATEWAY_PROOF" not in in_bicep, "the local-only proof value must never be an Azure app setting"


def test_bicep_sets_only_settings_the_handler_reads(handler_settings):
    unknown = handler_settings_in_bicep() - set(handler_settings)
    assert unknown == set(), f"the Bicep sets settings `handler --help` does not list: {sorted(unknown)}"


def test_bicep_toolsets_default_matches_the_handler_default(handler_settings):
    # The same default on both sides: a deployment that never sets MCP_TOOLSETS serves what the
    # handler serves by default, and its app registration requests exactly those permissions.
    assert "MCP_TOOLSETS" in handler_settings, "`handler --help` does not list MCP_TOOLSETS"
    default = handler_settings["MCP_TOOLSETS"]
    assert default and default != "(required)"
    assert bicep("main.bicep").params["toolsets"].value == default
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["toolsets"] == {"value": f"${{MCP_TOOLSETS={default}}}"}


def test_settings_the_handler_requires_under_the_functions_host_are_set(handler_settings):
    # `(required)` marks what the handler needs everywhere; these it needs only under the Functions
    # host (its default says so), which is where the Bicep runs it.
    host_only = {name for name, default in handler_settings.items() if default and default.startswith("required under the Functions host")}
    assert {"MCP_PUBLIC_URL", "MCP_SIGNING_KEY_SECRET_NAME"} <= host_only
    missing = host_only - handler_settings_in_bicep()
    assert missing == set(), f"settings the handler requires under the Functions host but the Bicep does not set: {sorted(missing)}"


def test_every_setting_the_handler_reads_is_set_or_deliberately_left_out(handler_settings):
    unaccounted = set(handler_settings) - handler_settings_in_bicep() - set(LEFT_AT_DEFAULT)
    assert unaccounted == set(), f"`handler --help` lists settings the Bicep neither sets nor names in LEFT_AT_DEFAULT: {sorted(unaccounted)}"


def test_settings_left_out_are_settings_the_handler_reads(handler_settings):
    stale = set(LEFT_AT_DEFAULT) - set(handler_settings)
    assert stale == set(), f"LEFT_AT_DEFAULT names settings `handler --help` does not list: {sorted(stale)}"


def test_every_required_setting_is_set(handler_settings):
    required = {name for name, default in handler_settings.items() if default == "(required)"}
    missing = required - handler_settings_in_bicep()
    assert missing == set(), f"settings the handler requires but the Bicep does not set: {sorted(missing)}"


def test_setting_values_come_from_the_right_sources():
    settings = bicep_app_settings()
    assert settings["MCP_TENANT_ID"] == bicep_ast.Expr("tenantId")
    assert settings["MCP_CLIENT_ID"] == bicep_ast.Expr("clientId")
    assert settings["MCP_APP_ID_URI"] == bicep_ast.Expr("appIdUri")
    assert settings["MCP_PUBLIC_URL"] == bicep_ast.Expr("publicUrl")
    assert settings["MCP_REQUIRED_SCOPE"] == bicep_ast.Expr("requiredScope")
    assert settings["MCP_ALLOWED_CLIENT_APPS"] == bicep_ast.Expr("allowedClientApps")
    assert settings["MCP_ALLOWED_APP_ROLES"] == bicep_ast.Expr("allowedAppRoles")
    assert settings["MCP_ALLOWED_HOSTS"] == bicep_ast.Expr("functionApp.properties.defaultHostName")
    assert settings["MANAGED_IDENTITY_CLIENT_ID"] == bicep_ast.Expr("identityClientId")
    assert settings["KEY_VAULT_URL"] == bicep_ast.Expr("keyVaultUri")
    assert settings["MCP_GATEWAY_PROOF_HEADER"] == bicep_ast.Expr("gatewayProofHeaderName")
    assert settings["MCP_AUTHORIZATION"] == bicep_ast.Expr("authorizationMode")
    assert settings["MCP_BROKER_BLOB_ENDPOINT"] == bicep_ast.Expr("storageBlobEndpoint")
    assert settings["MCP_BROKER_BLOB_CONTAINER"] == bicep_ast.Expr("brokerContainerName")
    assert settings["MCP_BROKER_SEALING_KEY_SECRET_NAME"] == bicep_ast.Expr("brokerSealingKeySecretName")
    assert settings["MCP_GATEWAY_PROOF_SECRET_NAME"] == bicep_ast.Expr("gatewayProofSecretName")
    assert settings["MCP_SIGNING_KEY_SECRET_NAME"] == bicep_ast.Expr("signingKeySecretName")
    assert settings["MCP_TOOLSETS"] == bicep_ast.Expr("toolsets")

    main = bicep("main.bicep")
    params = main.modules["functionApp"].value["params"]
    assert params["tenantId"] == bicep_ast.Expr("tenant().tenantId")
    assert params["clientId"] == bicep_ast.Expr("entraApp.outputs.appId")
    assert params["appIdUri"] == bicep_ast.Expr("entraApp.outputs.appIdUri")
    assert params["publicUrl"] == bicep_ast.Expr("publicMcpUrl")
    assert params["requiredScope"] == bicep_ast.Expr("requiredScopeName")
    assert params["identityClientId"] == bicep_ast.Expr("identities.outputs.functionIdentityClientId")
    assert params["keyVaultUri"] == bicep_ast.Expr("keyVault.outputs.keyVaultUri")
    assert params["gatewayProofHeaderName"] == bicep_ast.Expr("gatewayProofHeaderName")
    assert params["gatewayProofSecretName"] == bicep_ast.Expr("gatewayProofSecretName")
    assert params["signingKeySecretName"] == bicep_ast.Expr("signingKeySecretName")
    # The same normalized list the app registration's permissions follow.
    assert params["toolsets"] == bicep_ast.Expr("toolsetsSetting")
    assert main.modules["entraApp"].value["params"]["toolsets"] == bicep_ast.Expr("toolsetList")
    assert main.variables["toolsetsSetting"].value == bicep_ast.Expr("join(toolsetList, ',')")
    # The handler's contract values.
    assert main.variables["gatewayProofHeaderName"].value == "x-mcp-gateway-proof"
    assert main.variables["gatewayProofSecretName"].value == "mcp-gateway-proof"
    # The same secret the handler reads is the one keyvault.bicep writes and grants it.
    assert main.variables["signingKeySecretName"].value == "mcp-signing-key"
    assert main.modules["keyVault"].value["params"]["signingKeySecretName"] == bicep_ast.Expr("signingKeySecretName")
    assert main.params["requiredScopeName"].value == "user_impersonation"
    assert main.params["allowedClientApps"].value == ""
    assert main.params["allowedAppRoles"].value == ""
    # Public URL: the APIM (or custom-domain) origin + /mcp, no trailing slash.
    assert main.variables["publicMcpUrl"].value == bicep_ast.Expr("'${publicOrigin}/mcp'")
    assert main.variables["publicOrigin"].value == bicep_ast.Expr(
        "empty(customDomainHostName) ? apim.outputs.gatewayUrl : 'https://${customDomainHostName}'"
    )
