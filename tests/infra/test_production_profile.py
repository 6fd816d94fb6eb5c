"""The production profile (issue 11 item 11, issue 10 item 9): the permissive defaults (any client
application, no assignment required) are deliberate for evaluation, and production turns them
off: assignment required, an allowed-clients list that includes VS Code, VS Code pre-authorized,
the custom domain, Standard v2 with the VNet. infra/main.parameters.production.json holds the
profile, and docs/DEPLOY.md gives the same values as azd environment settings."""

from __future__ import annotations

import json
import re

from infra_support import INFRA, REPO_ROOT, bicep
from test_first_deployment import AZD_MANAGED, PLACEHOLDER, resolved_parameters

VS_CODE_CLIENT_ID = "aebc6443-996d-45c2-90f0-388ff96faa56"
PROFILE = INFRA / "main.parameters.production.json"


def profile() -> dict:
    document = json.loads(PROFILE.read_text())
    assert document["$schema"].endswith("deploymentParameters.json#")
    return document["parameters"]


def literal_settings() -> dict:
    return {name: entry["value"] for name, entry in profile().items() if not (isinstance(entry["value"], str) and PLACEHOLDER.fullmatch(entry["value"]))}


def test_the_production_file_requires_assignment_and_lists_vs_code_as_an_allowed_client():
    parameters = profile()
    assert parameters["appRoleAssignmentRequired"]["value"] is True
    assert VS_CODE_CLIENT_ID in parameters["allowedClientApps"]["value"].split(",")
    assert VS_CODE_CLIENT_ID in parameters["preAuthorizedClientAppIds"]["value"].split(",")


def test_the_production_file_takes_the_custom_domain_path_locked_down():
    parameters = profile()
    assert parameters["customDomainHostName"]["value"] == "${MCP_CUSTOM_DOMAIN}", "production needs the custom domain (VS Code)"
    assert parameters["customDomainCertificateName"]["value"] == "${MCP_CUSTOM_DOMAIN_CERTIFICATE_NAME}"
    assert parameters["apimSku"]["value"] == "StandardV2" and parameters["vnetEnabled"]["value"] is True
    assert parameters["apimLogClientIp"]["value"] is False
    assert parameters["grantAdminConsent"]["value"] is True


def test_the_production_file_fits_main_bicep():
    main = bicep("main.bicep")
    parameters = profile()
    assert set(parameters) <= set(main.params)
    required = {name for name, p in main.params.items() if p.value is None}
    assert required <= set(parameters)
    for name, value in literal_settings().items():
        python_type = {"string": str, "int": int, "bool": bool}[main.params[name].type]
        assert isinstance(value, python_type), name
        allowed = [d for d in main.params[name].decorators if d.startswith("@allowed(")]
        assert not allowed or f"'{value}'" in allowed[0], name
    # No ${NAME=default} placeholders: the file also works with plain envsubst outside azd.
    assert [m[0] for m in PLACEHOLDER.finditer(PROFILE.read_text()) if m["default"] is not None] == []


def test_the_permissive_defaults_are_deliberate_and_documented():
    main = bicep("main.bicep")
    assert main.params["appRoleAssignmentRequired"].value is False
    assert main.params["allowedClientApps"].value == ""
    deploy = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    assert "main.parameters.production.json" in deploy
    assert re.search(r"any client application", deploy, re.IGNORECASE)


def production_block() -> dict[str, str]:
    """`azd env set NAME VALUE` lines of the block after the production-profile marker in DEPLOY.md."""
    deploy = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    marker = deploy.index("<!-- production-profile -->")
    block = re.search(r"```sh\n(.*?)```", deploy[marker:], re.DOTALL)[1]
    settings = {}
    for line in block.splitlines():
        match = re.match(r"azd env set (\w+) (\S+)", line.strip())
        if match:
            settings[match[1]] = match[2]
    return settings


def test_the_documented_azd_settings_give_the_production_files_values():
    # What an operator running DEPLOY.md's commands gets through main.parameters.json equals the
    # production file, parameter by parameter.
    environment = {**AZD_MANAGED, "MCP_CUSTOM_DOMAIN": "mcp.contoso.com", "MCP_CUSTOM_DOMAIN_CERTIFICATE_NAME": "mcp-contoso-com"}
    documented = production_block()
    assert documented, "no production block in DEPLOY.md"
    values = resolved_parameters({**environment, **documented})
    main = bicep("main.bicep")
    for name, expected in literal_settings().items():
        got = values.get(name, main.params[name].value)
        assert got == expected, f"{name}: DEPLOY.md's settings give {got!r}, the production file {expected!r}"
