"""What a first real `azd up` would hit (issue 11, "Deploy-breakers"), each pinned by a test that
fails without the fix: the executable bit of `handler`, the region, unattended prompts, redeploying
after `azd down`, resource ordering, the APIM tier values and the VS Code sign-in limit without a
custom domain."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import yaml

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep

# -- 1. The executable bit --------------------------------------------------------------------


def azure_yaml() -> dict:
    return yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())


def test_azure_yaml_requires_an_azd_that_keeps_unix_modes():
    # Azure/azure-dev#8599 (rzip records Unix modes) shipped first in azd 1.26.0.
    assert azure_yaml()["requiredVersions"] == {"azd": ">= 1.26.0"}


def test_azd_deploys_the_zip_that_scripts_package_writes():
    dist = azure_yaml()["services"]["mcp"]["dist"]
    # azd deploys a dist ending in .zip as it is; anything else it zips itself.
    assert dist.endswith(".zip")
    assert f"zip_path={dist}\n" in (REPO_ROOT / "scripts" / "package").read_text()
    # Build output, never committed: the folder is ignored.
    assert dist.split("/")[0] == "target" and "/target\n" in (REPO_ROOT / ".gitignore").read_text()


def test_the_zip_step_records_mode_0755_for_the_handler_whatever_the_staged_mode(tmp_path):
    # Runs scripts/package's zip step on a staged folder whose handler lost its exec bit (as on a
    # Windows checkout): the archive must still say 0755, because that is what Azure applies.
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO_ROOT / "scripts" / "package", tmp_path / "scripts" / "package")
    staged = tmp_path / "function-app"
    staged.mkdir()
    (staged / "handler").write_bytes(b"\x7fELF not really")
    (staged / "handler").chmod(0o644)
    (staged / "host.json").write_bytes((REPO_ROOT / "host.json").read_bytes())
    subprocess.run([str(tmp_path / "scripts" / "package"), "--zip-only"], check=True, capture_output=True, timeout=60)
    with zipfile.ZipFile(tmp_path / azure_yaml()["services"]["mcp"]["dist"]) as archive:
        assert sorted(archive.namelist()) == ["handler", "host.json"]
        handler = archive.getinfo("handler")
        assert handler.create_system == 3
        assert stat.S_ISREG(handler.external_attr >> 16)
        assert stat.S_IMODE(handler.external_attr >> 16) == 0o755
        assert stat.S_IMODE(archive.getinfo("host.json").external_attr >> 16) == 0o644
        assert archive.read("host.json") == (REPO_ROOT / "host.json").read_bytes()


# -- 2. The region ----------------------------------------------------------------------------

# Flex Consumption regions as cited in main.bicep: Microsoft's Flex Consumption samples' @allowed
# list (Azure-Samples/mcp-sdk-functions-hosting-python infra/main.bicep).
FLEX_CONSUMPTION_REGIONS = {
    "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "centralindia", "centralus",
    "eastasia", "eastus", "eastus2", "eastus2euap", "francecentral", "germanywestcentral", "italynorth",
    "japaneast", "koreacentral", "northcentralus", "northeurope", "norwayeast", "southafricanorth",
    "southcentralus", "southeastasia", "southindia", "spaincentral", "swedencentral", "uaenorth",
    "uksouth", "ukwest", "westcentralus", "westeurope", "westus", "westus2", "westus3",
}

# API Management v2 tiers per region as cited in main.bicep: Learn "Availability of v2 tiers and
# workspace gateways" (api-management-region-availability.md, ms.date 04/24/2026). UK South carries
# the page's "new instance creation temporarily unavailable" mark for both tiers.
_V2_BOTH = {
    "australiacentral", "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "centralindia",
    "centralus", "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral", "italynorth",
    "japaneast", "koreacentral", "northcentralus", "northeurope", "norwayeast", "southafricanorth",
    "southcentralus", "southindia", "swedencentral", "switzerlandnorth", "uaenorth", "ukwest", "westeurope",
    "westus", "westus2",
}
APIM_V2_REGIONS = {"BasicV2": set(_V2_BOTH), "StandardV2": _V2_BOTH | {"westus3"}}
TEMPORARILY_UNAVAILABLE = {"uksouth"}


def allowed_values(declaration) -> list:
    decorator = next(d for d in declaration.decorators if d.startswith("@allowed("))
    return [line.strip().strip("'") for line in decorator.splitlines()[1:-1] if line.strip()]


def test_location_is_constrained_to_regions_with_flex_consumption_and_the_apim_v2_tiers():
    location = bicep("main.bicep").params["location"]
    regions = allowed_values(location)
    assert regions, "location has no @allowed list"
    assert len(regions) == len(set(regions))
    v2_tiers = [tier for tier in allowed_values(bicep("main.bicep").params["apimSku"]) if tier.endswith("V2")]
    assert v2_tiers == ["BasicV2", "StandardV2"]
    offering_everything = FLEX_CONSUMPTION_REGIONS.intersection(*(APIM_V2_REGIONS[t] for t in v2_tiers)) - TEMPORARILY_UNAVAILABLE
    assert set(regions) - offering_everything == set(), "regions missing from a cited list"
    # The intersection itself, so a region added to both sources is a deliberate edit here too.
    assert set(regions) == offering_everything


def test_the_region_list_cites_its_sources():
    source = (INFRA / "main.bicep").read_text()
    assert "az functionapp list-flexconsumption-locations" in source
    assert "api-management-region-availability" in source
    assert "Azure-Samples/mcp-sdk-functions-hosting-python" in source


# -- 3. No prompts ------------------------------------------------------------------------------

# Set by azd itself for every environment (`azd env new` asks for both once, `--location` and the
# environment name); every other parameter must resolve without a prompt.
AZD_MANAGED = {"AZURE_ENV_NAME": "mcp-test", "AZURE_LOCATION": "swedencentral"}
PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:=(?P<default>[^}]*))?\}")


def parameters_file(name: str = "main.parameters.json") -> dict:
    return json.loads((INFRA / name).read_text())["parameters"]


def substitute(text: str, environment: dict[str, str]) -> str:
    """azd's envsubst: ${NAME} and ${NAME=default} (default when NAME is unset)."""
    return PLACEHOLDER.sub(lambda m: environment.get(m["name"], m["default"] if m["default"] is not None else ""), text)


def resolved_parameters(environment: dict[str, str], name: str = "main.parameters.json") -> dict:
    """The values azd passes: the file after substitution, with azd's relaxed conversion of
    strings for bool and int parameters (bicep_provider.go, armParameterFileValue), and an empty
    string for a parameter with a Bicep default treated as "not given"."""
    main = bicep("main.bicep")
    values = {}
    for key, entry in json.loads(substitute((INFRA / name).read_text(), environment))["parameters"].items():
        value = entry["value"]
        declared = main.params[key]
        if isinstance(value, str) and declared.type == "bool" and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        elif isinstance(value, str) and declared.type == "int" and re.fullmatch(r"-?\d+", value):
            value = int(value)
        elif value == "" and declared.value is not None:
            continue
        values[key] = value
    return values


def test_every_parameter_without_a_default_is_mapped_from_the_azd_environment():
    main = bicep("main.bicep")
    required = {name for name, p in main.params.items() if p.value is None}
    assert required == {"environmentName", "location", "apimPublisherEmail"}
    assert required <= set(parameters_file())


def test_an_unattended_azd_up_resolves_every_required_parameter_to_a_valid_value():
    # `azd up --no-prompt` in a fresh environment: only azd's own values are set.
    main = bicep("main.bicep")
    values = resolved_parameters(AZD_MANAGED)
    missing = {name for name, p in main.params.items() if p.value is None} - set(values)
    assert missing == set(), f"azd would prompt for {sorted(missing)}"
    for name, value in values.items():
        declared = main.params[name]
        python_type = {"string": str, "int": int, "bool": bool, "array": list, "object": dict}[declared.type]
        assert isinstance(value, python_type), (name, value)
        allowed = [d for d in declared.decorators if d.startswith("@allowed(")]
        if allowed:
            assert repr(value).replace('"', "'") in allowed[0] or str(value) in allowed[0], (name, value)


def test_the_publisher_email_default_is_a_reserved_address():
    mapping = parameters_file()["apimPublisherEmail"]["value"]
    match = PLACEHOLDER.fullmatch(mapping)
    assert match and match["name"] == "MCP_APIM_PUBLISHER_EMAIL"
    # example.com is reserved (RFC 2606): API Management's notices reach nobody until the operator
    # sets a real address, and no third party ever receives them.
    assert match["default"] == "noreply@example.com"


# -- 5. Ordering ----------------------------------------------------------------------------------


def test_apim_reads_the_custom_domain_certificate_only_after_its_role_assignment():
    module = bicep("app/apim.bicep")
    reader = module.resource("customDomainCertificateReader")
    assert reader.type == "Microsoft.Authorization/roleAssignments"
    assert reader.body["scope"] == bicep_ast.Expr("customDomainCertificate")
    assert reader.body["properties"]["principalId"] == bicep_ast.Expr("identityPrincipalId")
    certificate = module.resource("customDomainCertificate")
    assert certificate.existing and certificate.type == "Microsoft.KeyVault/vaults/secrets"
    # The service is what reads the certificate (hostnameConfigurations → keyVaultId): it waits.
    service = module.resource("apim")
    assert bicep_ast.Expr("customDomainCertificateReader") in service.body["dependsOn"]
    assert "keyVaultId: customDomainCertificateUri" in module.variables["hostnameConfigurations"].text
    # Same condition on both, so the dependency is never on a resource that is not deployed while
    # the certificate is read.
    assert reader.condition == certificate.condition == "(hasCustomDomainCertificate)"


def test_apim_diagnostics_write_through_a_declared_logger_they_depend_on():
    module = bicep("app/apim.bicep")
    logger = module.resource("azureMonitorLogger")
    assert logger.type == "Microsoft.ApiManagement/service/loggers"
    assert logger.body["name"] == "azuremonitor"
    assert logger.body["parent"] == bicep_ast.Expr("apim")
    assert logger.body["properties"]["loggerType"] == "azureMonitor"
    # A symbolic reference makes Bicep emit the dependency; a hand-built id string would not.
    assert module.resource("noPayloadLogging").body["properties"]["loggerId"] == bicep_ast.Expr("azureMonitorLogger.id")
    assert module.outputs["azureMonitorLoggerId"].value == bicep_ast.Expr("azureMonitorLogger.id")
    api = bicep("app/apim-mcp-api.bicep")
    assert api.resource("mcpApiDiagnostics").body["properties"]["loggerId"] == bicep_ast.Expr("azureMonitorLoggerId")
    assert bicep("main.bicep").modules["mcpApi"].value["params"]["azureMonitorLoggerId"] == bicep_ast.Expr("apim.outputs.azureMonitorLoggerId")
    for path in INFRA.rglob("*.bicep"):
        assert "/loggers/azuremonitor'" not in path.read_text(), f"{path.name} builds a logger id by hand"


# -- 7. VS Code without a custom domain -----------------------------------------------------------


def test_an_output_warns_when_there_is_no_custom_domain():
    warning = bicep("main.bicep").outputs["MCP_WARNING_CUSTOM_DOMAIN"].value.text
    # Broker mode (the default without a custom domain) accepts VS Code's resource: no warning.
    assert warning.startswith("empty(customDomainHostName) && !brokerMode ?") and warning.endswith(": ''")
    for needed in ("VS Code", "AADSTS9010010", "MCP_CUSTOM_DOMAIN", "identifier URI"):
        assert needed in warning, needed


def test_azd_prints_the_warnings_after_every_provision(tmp_path):
    hook = azure_yaml()["hooks"]["postprovision"]
    assert hook["shell"] == "sh"
    # Run the hook as azd would, with the outputs in the environment.
    env = {"PATH": os.environ["PATH"], "MCP_WARNING_CUSTOM_DOMAIN": "no domain", "MCP_WARNING_NETWORK": ""}
    shown = subprocess.run(["sh", "-ec", hook["run"]], env=env, capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "WARNING: no domain"
    quiet = subprocess.run(["sh", "-ec", hook["run"]], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True).stdout
    assert quiet == ""
    outputs = bicep("main.bicep").outputs
    for name in ("MCP_WARNING_CUSTOM_DOMAIN", "MCP_WARNING_NETWORK"):
        assert name in outputs and f'"${name}"' in hook["run"]


def test_the_docs_say_plainly_that_vs_code_needs_a_custom_domain():
    deploy = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    for text in (deploy, readme):
        assert "AADSTS9010010" in text
        assert re.search(r"VS Code[^.]*custom domain", text), "VS Code's need for a custom domain is stated"
    # The custom-domain path is the documented production path.
    assert re.search(r"production[^.\n]*custom domain|custom domain[^.\n]*production", deploy, re.IGNORECASE)


# -- 4. Redeploying after azd down ------------------------------------------------------------------


def test_the_app_registration_unique_name_takes_a_suffix_from_the_azd_environment():
    main = bicep("main.bicep")
    assert main.params["appRegistrationSuffix"].value == ""
    unique_name = main.modules["entraApp"].value["params"]["uniqueName"]
    assert unique_name == bicep_ast.Expr("'mcp-m365-${environmentName}-${resourceToken}${empty(appRegistrationSuffix) ? '' : '-${appRegistrationSuffix}'}'")
    assert parameters_file()["appRegistrationSuffix"] == {"value": "${MCP_APP_REGISTRATION_SUFFIX}"}
    # What restoring or permanently deleting the old registration needs.
    assert main.outputs["MCP_APP_OBJECT_ID"].value == bicep_ast.Expr("entraApp.outputs.appObjectId")


def test_deploy_md_says_what_azd_down_leaves_and_how_to_redeploy():
    deploy = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    teardown = deploy[deploy.index("## Tearing down"):]
    # azd down --purge purges soft-deleted API Management (only purge-protected vaults stay).
    assert "`azd down --purge` also purges" in teardown and "API Management included" in teardown
    assert "`azd down --purge` cannot purge" not in deploy
    assert "Nobody can purge it, `azd down --purge` included" in teardown
    # A deleted registration keeps its unique name: restore, delete permanently, or a new suffix.
    assert "directory/deletedItems/$(azd env get-value MCP_APP_OBJECT_ID)/restore" in teardown
    assert "--method DELETE --url \"https://graph.microsoft.com/v1.0/directory/deletedItems/" in teardown
    assert "MCP_APP_REGISTRATION_SUFFIX" in teardown


# -- 6. API Management tier values ----------------------------------------------------------------


def apim_sku_names_at_declared_version() -> tuple[set[str], str]:
    import bicep_types
    from infra_support import SHARED

    store = bicep_types.TypeStore(SHARED / "bicep-types")
    (apim,) = bicep("app/apim.bicep").resources_of_type("Microsoft.ApiManagement/service")
    relative, resource_type = store.resource_type(apim.type, apim.api_version)
    _, body = store.get(relative, resource_type["body"])
    _, sku = store.get(relative, body["properties"]["sku"]["type"])
    _, names = store.get(relative, sku["properties"]["name"]["type"])
    literals = {store.get(relative, ref)[1].get("value") for ref in names["elements"]} - {None}
    return literals, apim.api_version


def test_every_allowed_apim_tier_is_a_sku_name_at_the_declared_api_version():
    known, version = apim_sku_names_at_declared_version()
    for module, name in (("main.bicep", "apimSku"), ("app/apim.bicep", "sku")):
        tiers = set(allowed_values(bicep(module).params[name]))
        assert tiers - known == set(), f"{module} allows tiers API version {version} does not know"
        assert "PremiumV2" not in tiers and "Consumption" not in tiers
    assert set(allowed_values(bicep("main.bicep").params["apimSku"])) == set(allowed_values(bicep("app/apim.bicep").params["sku"]))
