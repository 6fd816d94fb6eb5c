"""azure.yaml and host.json validate against the schemas in ../shared/schemas, and azure.yaml
describes the one service the infrastructure deploys to."""

from __future__ import annotations

import json

import jsonschema
import referencing
import yaml

from infra_support import REPO_ROOT, SHARED, bicep


def offline_validator(schema_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SHARED / "schemas" / schema_name).read_text())

    # The azd schema refers to remote schemas for hosts we do not use; they are never needed to
    # validate this file, and fetching one would be a network call, so any attempt fails loudly.
    def refuse(uri: str):
        raise referencing.exceptions.NoSuchResource(ref=uri)

    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, registry=referencing.Registry(retrieve=refuse))


def errors(validator: jsonschema.protocols.Validator, document) -> list[str]:
    found = []
    for error in validator.iter_errors(document):
        detail = [f"  {'/'.join(map(str, sub.path))}: {sub.message}" for sub in error.context]
        found.append(f"{'/'.join(map(str, error.path)) or '(root)'}: {error.message[:200]}\n" + "\n".join(detail))
    return found


def azure_yaml() -> dict:
    return yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())


def test_azure_yaml_validates_against_the_azd_schema():
    assert errors(offline_validator("azd-azure.yaml.json"), azure_yaml()) == []


def test_host_json_validates_against_the_functions_schema():
    document = json.loads((REPO_ROOT / "host.json").read_text())
    assert errors(offline_validator("azure-functions-host.json"), document) == []


def test_schema_validation_rejects_a_wrong_azure_yaml():
    wrong = dict(azure_yaml())
    # A type error azd would reject (dist must be a path). A service without `host` is not used
    # here: the schema then tries the remote schemas of the AI hosts.
    wrong["services"] = {"mcp": {"host": "function", "language": "custom", "dist": 5}}
    assert errors(offline_validator("azd-azure.yaml.json"), wrong) != []


def test_azure_yaml_deploys_one_custom_function_service_from_the_package_folder():
    services = azure_yaml()["services"]
    assert list(services) == ["mcp"]
    service = services["mcp"]
    assert service["host"] == "function"
    assert service["language"] == "custom"
    assert service["dist"] == "target/function-app.zip"
    assert service["project"] == "."
    hook = service["hooks"]["prepackage"]
    assert hook["run"] == "./scripts/package"
    assert hook["shell"] == "sh"
    assert (REPO_ROOT / "scripts" / "package").is_file()


def test_service_name_matches_the_function_app_tag():
    # azd finds the app to deploy to by the azd-service-name tag.
    assert bicep("main.bicep").variables["serviceName"].value == "mcp"
    site = bicep("app/function-app.bicep").resource("functionApp")
    assert "'azd-service-name': serviceName" in site.body["tags"].text


def test_azure_yaml_uses_the_bicep_infrastructure():
    infra = azure_yaml()["infra"]
    assert infra == {"provider": "bicep", "path": "infra", "module": "main"}
