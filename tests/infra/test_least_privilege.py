"""Least-privilege facts a reviewer looks for: exactly the expected role assignments, Key Vault in
RBAC mode with purge protection, storage and telemetry without keys, no keys or secrets anywhere,
and generated secrets (the gateway proof, the signing key) that never leave Azure."""

from __future__ import annotations

import json
import re

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep, bicep_files

STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

# Roles no identity in this deployment may hold.
BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
}

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def role_assignments() -> list[tuple[str, str, str, str, str | None]]:
    """(file, scope, role GUID, principal, condition) for every role assignment in infra/."""
    found = []
    for path in bicep_files():
        module = bicep_ast.load(path)
        for resource in module.resources_of_type("Microsoft.Authorization/roleAssignments"):
            properties = resource.body["properties"]
            assert properties["principalType"] == "ServicePrincipal", resource.symbol
            role_ref = properties["roleDefinitionId"].text
            match = re.fullmatch(r"subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', (\w+)\)", role_ref)
            assert match, f"{resource.symbol}: role must be a named GUID variable, got {role_ref}"
            role = module.variables[match[1]].value
            found.append((path.relative_to(INFRA).as_posix(), resource.body["scope"].text, role, properties["principalId"].text, resource.condition))
    return found


def test_role_assignments_are_exactly_the_expected_ones():
    assert sorted(role_assignments()) == sorted(
        [
            ("app/monitoring.bicep", "applicationInsights", MONITORING_METRICS_PUBLISHER, "publisherPrincipalId", None),
            ("app/storage.bicep", "storage", STORAGE_BLOB_DATA_OWNER, "functionPrincipalId", None),
            ("app/keyvault.bicep", "gatewayProofExisting", KEY_VAULT_SECRETS_USER, "functionPrincipalId", None),
            ("app/keyvault.bicep", "signingKeyExisting", KEY_VAULT_SECRETS_USER, "functionPrincipalId", None),
            ("app/keyvault.bicep", "gatewayProofExisting", KEY_VAULT_SECRETS_USER, "apimPrincipalId", None),
            ("app/keyvault.bicep", "brokerSealingKeyExisting", KEY_VAULT_SECRETS_USER, "functionPrincipalId", "(brokerMode)"),
            ("app/apim.bicep", "customDomainCertificate", KEY_VAULT_SECRETS_USER, "identityPrincipalId", "(hasCustomDomainCertificate)"),
        ]
    )


# The secrets in the vault each identity may read (its Key Vault Secrets User assignments), by the
# existing-secret declaration they are scoped to and the secret name that declaration resolves to.
SECRET_SCOPES = {
    "gatewayProofExisting": "gatewayProofSecretName",
    "signingKeyExisting": "signingKeySecretName",
}


def secret_readers(principal: str) -> set[str]:
    vault = bicep("app/keyvault.bicep")
    return {
        r.body["scope"].text
        for r in vault.resources_of_type("Microsoft.Authorization/roleAssignments")
        if r.body["properties"]["principalId"] == bicep_ast.Expr(principal)
    }


def test_secret_scopes_are_the_named_secrets_of_the_vault():
    vault = bicep("app/keyvault.bicep")
    for symbol, name in SECRET_SCOPES.items():
        scope = vault.resource(symbol)
        assert scope.existing and scope.type == "Microsoft.KeyVault/vaults/secrets", symbol
        assert scope.body["parent"] == bicep_ast.Expr("vault"), symbol
        assert scope.body["name"] == bicep_ast.Expr(name), symbol
    main = bicep("main.bicep")
    assert main.variables["gatewayProofSecretName"].value == "mcp-gateway-proof"
    assert main.variables["signingKeySecretName"].value == "mcp-signing-key"
    params = main.modules["keyVault"].value["params"]
    assert params["gatewayProofSecretName"] == bicep_ast.Expr("gatewayProofSecretName")
    assert params["signingKeySecretName"] == bicep_ast.Expr("signingKeySecretName")


def test_the_handler_reads_exactly_the_gateway_proof_the_signing_key_and_the_sealing_key():
    # The broker's sealing key only in broker mode (its declaration and assignment are conditional).
    assert secret_readers("functionPrincipalId") == {"gatewayProofExisting", "signingKeyExisting", "brokerSealingKeyExisting"}


def test_apim_reads_only_the_gateway_proof_secret():
    # Never the signing key: APIM has no use for it, and with it could forge cursors and
    # confirmations.
    assert secret_readers("apimPrincipalId") == {"gatewayProofExisting"}


def test_principals_are_the_right_identities():
    modules = bicep("main.bicep").modules
    function_principal = bicep_ast.Expr("identities.outputs.functionIdentityPrincipalId")
    apim_principal = bicep_ast.Expr("identities.outputs.apimIdentityPrincipalId")
    assert modules["monitoring"].value["params"]["publisherPrincipalId"] == function_principal
    assert modules["storage"].value["params"]["functionPrincipalId"] == function_principal
    assert modules["keyVault"].value["params"]["functionPrincipalId"] == function_principal
    assert modules["keyVault"].value["params"]["apimPrincipalId"] == apim_principal
    assert modules["apim"].value["params"]["identityPrincipalId"] == apim_principal
    assert modules["entraApp"].value["params"]["federatedIdentityPrincipalId"] == function_principal


def test_no_broad_role_guid_appears_anywhere():
    for path in [*bicep_files(), *INFRA.rglob("*.json")]:
        guids = set(GUID.findall(path.read_text().lower()))
        assert guids.isdisjoint(BROAD_ROLES), f"{path.name}: {[BROAD_ROLES[g] for g in guids & set(BROAD_ROLES)]}"


def test_key_vault_uses_rbac_with_purge_protection_and_soft_delete():
    vault = bicep("app/keyvault.bicep").resource("vault").body["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["enableSoftDelete"] is True
    assert "accessPolicies" not in vault
    assert vault["enabledForTemplateDeployment"] is False
    assert vault["publicNetworkAccess"] == bicep_ast.Expr("publicNetworkAccess")
    assert bicep("main.bicep").params["keyVaultPublicNetworkAccess"].value == "Enabled"


def test_storage_allows_no_shared_keys_and_no_public_blobs():
    account = bicep("app/storage.bicep").resource("storage").body["properties"]
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["supportsHttpsTrafficOnly"] is True


def test_telemetry_accepts_only_entra_authentication():
    monitoring = bicep("app/monitoring.bicep")
    assert monitoring.resource("logAnalytics").body["properties"]["features"]["disableLocalAuth"] is True
    assert monitoring.resource("applicationInsights").body["properties"]["DisableLocalAuth"] is True


def test_function_app_is_https_only_tls12_without_ftp_or_basic_publishing():
    module = bicep("app/function-app.bicep")
    site = module.resource("functionApp").body
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    properties = site["properties"]
    assert properties["httpsOnly"] is True
    assert properties["siteConfig"]["minTlsVersion"] == "1.2"
    assert properties["siteConfig"]["ftpsState"] == "Disabled"
    config = properties["functionAppConfig"]
    assert config["runtime"] == {"name": "custom", "version": "1.0"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert config["scaleAndConcurrency"] == {
        "instanceMemoryMB": bicep_ast.Expr("instanceMemoryMB"),
        "maximumInstanceCount": bicep_ast.Expr("maximumInstanceCount"),
    }
    plan = module.resource("plan").body
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    policies = {r.body["name"]: r.body["properties"]["allow"] for r in module.resources_of_type("Microsoft.Web/sites/basicPublishingCredentialsPolicies")}
    assert policies == {"ftp": False, "scm": False}


def test_no_function_host_master_or_account_key_is_ever_read_or_sent():
    forbidden = re.compile(r"listKeys|listSecrets|masterKey|functionKeys|x-functions-key|/host/default|AccountKey=|InstrumentationKey=|SharedAccessKey", re.IGNORECASE)
    for path in [*bicep_files(), *INFRA.rglob("*.xml"), *INFRA.rglob("*.json"), REPO_ROOT / "azure.yaml"]:
        assert not forbidden.search(path.read_text()), path


def test_no_client_secret_pattern_with_a_value_in_infra():
    pattern = re.compile(r"(client_secret|clientSecret|passwordCredentials|AZURE_CLIENT_SECRET)\s*[:=]", re.IGNORECASE)
    for path in [*bicep_files(), *INFRA.rglob("*.xml"), *INFRA.rglob("*.json"), REPO_ROOT / "azure.yaml"]:
        assert not pattern.search(path.read_text()), path


# The generated secrets: the keyvault.bicep module call that writes each, the flag that decides
# whether it runs, the version parameter that flag reads, and the azd environment value / main.bicep
# output that carries the version from one provision to the next.
GENERATED_SECRETS = {
    "gateway proof": ("newGatewayProof", "createGatewayProof", "gatewayProofVersion", "gatewayProofSecretName", "MCP_GATEWAY_PROOF_VERSION"),
    "signing key": ("newSigningKey", "createSigningKey", "signingKeyVersion", "signingKeySecretName", "MCP_SIGNING_KEY_VERSION"),
}


def test_the_secret_generator_makes_at_least_256_random_bits_in_azure_and_outputs_no_value():
    generator = bicep("app/generated-secret.bicep")
    value = generator.params["value"]
    assert "@secure()" in value.decorators
    assert value.value == bicep_ast.Expr("replace('${newGuid()}${newGuid()}${newGuid()}', '-', '')")
    # newGuid() is a version 4 GUID: 122 random bits each, so three give 366 >= 256 (the key size
    # the handler hashes the signing key to).
    assert 122 * value.value.text.count("newGuid()") >= 256
    secret = generator.resource("secret")
    assert secret.body["properties"]["value"] == bicep_ast.Expr("value")
    assert secret.body["name"] == bicep_ast.Expr("secretName")
    # Only identifiers come out of the module, never the value.
    assert {name: out.value for name, out in generator.outputs.items()} == {
        "uriWithVersion": bicep_ast.Expr("secret.properties.secretUriWithVersion")
    }


def test_each_generated_secret_is_written_only_without_a_version_in_use_and_by_the_one_generator():
    vault = bicep("app/keyvault.bicep")
    for what, (module, flag, version, name, _) in GENERATED_SECRETS.items():
        call = vault.modules[module]
        assert call.type == "generated-secret.bicep", what
        # Nobody passes a value in, so no file or environment ever holds one.
        assert call.value["params"] == {"keyVaultName": bicep_ast.Expr("vault.name"), "secretName": bicep_ast.Expr(name)}, what
        assert f"if ({flag})" in call.text, what
        assert vault.variables[flag].value == bicep_ast.Expr(f"empty({version})"), what
    # Two deployments of the one module, under different deployment names.
    names = [vault.modules[module].value["name"] for module, *_ in GENERATED_SECRETS.values()]
    assert len(set(names)) == len(names)
    # No template anywhere else writes a secret.
    writers = [
        (path.name, r.symbol)
        for path in bicep_files()
        for r in bicep_ast.load(path).resources_of_type("Microsoft.KeyVault/vaults/secrets")
        if not r.existing
    ]
    assert writers == [("generated-secret.bicep", "secret")]


def test_each_generated_secret_version_round_trips_through_the_azd_environment():
    # `azd up` twice keeps both values: the version in use comes out as an output, azd stores it
    # and passes it back, and with a version the generator does not run.
    vault = bicep("app/keyvault.bicep")
    main = bicep("main.bicep")
    vault_params = main.modules["keyVault"].value["params"]
    assert vault.outputs["gatewayProofVersion"].value == bicep_ast.Expr("last(split(gatewayProofUriWithVersion, '/'))")
    assert vault.variables["gatewayProofUriWithVersion"].value.text.startswith("createGatewayProof ? newGatewayProof!.outputs.uriWithVersion : ")
    assert vault.outputs["signingKeyVersion"].value == bicep_ast.Expr(
        "createSigningKey ? last(split(newSigningKey!.outputs.uriWithVersion, '/')) : signingKeyVersion"
    )
    for what, (_, _, version, _, environment) in GENERATED_SECRETS.items():
        assert main.params[version].value == "", what
        assert vault_params[version] == bicep_ast.Expr(version), what
        assert main.outputs[environment].value == bicep_ast.Expr(f"keyVault.outputs.{version}"), what
        for file in ("main.parameters.json", "main.parameters.production.json"):
            parameters = json.loads((INFRA / file).read_text())["parameters"]
            assert parameters[version] == {"value": f"${{{environment}}}"}, (what, file)


def test_no_output_carries_a_secure_value():
    for path in bicep_files():
        module = bicep_ast.load(path)
        secure = [name for name, p in module.params.items() if "@secure()" in p.decorators]
        for output in module.outputs.values():
            text = output.text
            assert not any(re.search(rf"\b{name}\b", text.split("=", 1)[1]) for name in secure), f"{path.name}: {output.name}"
            assert ".properties.value" not in text and "getSecret" not in text, f"{path.name}: {output.name}"


def test_parameters_file_maps_azd_environment_and_holds_no_secret():
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    main = bicep("main.bicep")
    assert set(parameters) <= set(main.params), "every mapped parameter exists in main.bicep"
    assert parameters["environmentName"] == {"value": "${AZURE_ENV_NAME}"}
    assert parameters["location"] == {"value": "${AZURE_LOCATION}"}
    # The versions (identifiers) round-trip through the azd environment; the values never do.
    assert parameters["gatewayProofVersion"] == {"value": "${MCP_GATEWAY_PROOF_VERSION}"}
    assert parameters["signingKeyVersion"] == {"value": "${MCP_SIGNING_KEY_VERSION}"}
    assert {"MCP_GATEWAY_PROOF_VERSION", "MCP_SIGNING_KEY_VERSION"} <= set(main.outputs)
    assert not any("@secure()" in p.decorators for p in main.params.values()), "main.bicep takes no secure input"


def test_every_module_file_is_used_and_exists():
    referenced = set()
    for path in bicep_files():
        for module in bicep_ast.load(path).modules.values():
            target = (path.parent / module.type).resolve()
            assert target.is_file(), f"{path.name} uses missing module {module.type}"
            referenced.add(target)
    unused = {p.relative_to(INFRA).as_posix() for p in bicep_files()} - {"main.bicep"} - {
        t.relative_to(INFRA).as_posix() for t in referenced
    }
    assert unused == set()
