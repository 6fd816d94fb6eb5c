"""Broker mode (issue 14, item 7): what `azd up` creates for the built-in authorization server.

Without a custom domain the deployment brokers the sign-in by default; it then needs a Blob
container for the broker's state with a lifecycle rule that deletes expired entries, a sealing key
in Key Vault that only the handler reads, the app registration's web redirect URI, and APIM
operations that pass the authorization server's endpoints through (tested in
test_apim_policies.py)."""

from __future__ import annotations

import re

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep


def test_the_mode_defaults_to_broker_without_a_custom_domain():
    main = bicep("main.bicep")
    assert main.params["authorizationMode"].value == ""
    assert main.variables["effectiveAuthorizationMode"].value == bicep_ast.Expr(
        "empty(authorizationMode) ? (empty(customDomainHostName) ? 'broker' : 'entra') : authorizationMode"
    )
    assert main.variables["brokerMode"].value == bicep_ast.Expr("effectiveAuthorizationMode == 'broker'")
    parameters = (INFRA / "main.parameters.json").read_text()
    assert '"value": "${MCP_AUTHORIZATION}"' in parameters
    assert '"value": "${MCP_BROKER_SEALING_KEY_VERSION}"' in parameters
    assert main.outputs["MCP_AUTHORIZATION_MODE"].value == bicep_ast.Expr("effectiveAuthorizationMode")


def store_prefixes() -> set[str]:
    """The key prefixes the handler's state store uses (src/authorization/store/mod.rs)."""
    source = (REPO_ROOT / "src" / "authorization" / "store" / "mod.rs").read_text()
    return set(re.findall(r'pub const \w+: &str = "(\w+/)";', source))


def test_the_container_and_its_lifecycle_rule_exist_in_broker_mode_only():
    storage = bicep("app/storage.bicep")
    container = storage.resource("brokerContainer")
    assert container.condition == "(brokerMode)"
    assert container.body["properties"]["publicAccess"] == "None"
    lifecycle = storage.resource("lifecycle")
    assert lifecycle.condition == "(brokerMode)"
    rules = [dict(rule) for rule in storage.variables["brokerLifecycle"].value]
    covered = set()
    for rule in rules:
        for prefix in rule["prefixes"]:
            text = prefix.text if isinstance(prefix, bicep_ast.Expr) else prefix
            match = re.fullmatch(r"'\$\{brokerContainerName\}/(\w+/)'", text)
            assert match, prefix
            covered.add(match[1])
        assert rule["days"] >= 1
    assert covered == store_prefixes(), "every kind of entry the handler writes expires"
    families = next(rule for rule in rules if "families" in rule["name"])
    assert families["days"] > 90, "a family outlives its 90-day maximum before it is collected"
    main = bicep("main.bicep")
    assert main.modules["storage"].value["params"]["brokerMode"] == bicep_ast.Expr("brokerMode")


def test_the_sealing_key_is_generated_in_azure_and_read_by_the_handler_only():
    vault = bicep("app/keyvault.bicep")
    assert vault.variables["createBrokerSealingKey"].value == bicep_ast.Expr(
        "brokerMode && empty(brokerSealingKeyVersion)"
    )
    module = vault.modules["newBrokerSealingKey"].value
    assert module["params"]["secretName"] == bicep_ast.Expr("brokerSealingKeySecretName")
    assert "value" not in module["params"], "the value is generated inside Azure, never passed in"
    reader = vault.resource("functionBrokerSealingKeyReader")
    assert reader.condition == "(brokerMode)"
    assert reader.body["scope"] == bicep_ast.Expr("brokerSealingKeyExisting")
    assert reader.body["properties"]["principalId"] == bicep_ast.Expr("functionPrincipalId")


def test_the_handler_is_told_the_mode_the_store_and_the_key():
    params = bicep("main.bicep").modules["functionApp"].value["params"]
    assert params["authorizationMode"] == bicep_ast.Expr("effectiveAuthorizationMode")
    assert params["brokerContainerName"] == bicep_ast.Expr("brokerContainerName")
    assert params["brokerSealingKeySecretName"] == bicep_ast.Expr("brokerSealingKeySecretName")
