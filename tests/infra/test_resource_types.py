"""Every resource in infra/ type-checks against the official Bicep type definitions in
../shared/bicep-types (bicep_types.py explains what is checked), and the check is strict enough to
find planted mistakes in a copy of a real module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bicep_types
from infra_support import INFRA, SHARED, SUMMARY_LINES, bicep_files

TYPES = SHARED / "bicep-types"
# Resource types the shared copy does not hold (alert rules, workbooks), copied the same way:
# tests/infra/bicep-types/SOURCE.md.
PROJECT_TYPES = Path(__file__).resolve().parent / "bicep-types"

# Open-enum values the type definitions do not know that the Bicep uses on purpose, with the
# reason. An unknown value of an open enum is accepted by Bicep, but it is usually a mistake (the
# API version predates the value, as PremiumV2 at APIM 2024-05-01 did), so each one is listed.
ACCEPTED_WARNINGS: dict[str, str] = {}


@pytest.fixture(scope="module")
def store() -> bicep_types.TypeStore:
    assert (TYPES / "index.json").is_file(), f"missing {TYPES}: the type definitions are shared by every worktree"
    return bicep_types.TypeStore(TYPES, PROJECT_TYPES)


@pytest.fixture(scope="module")
def infra_report(store) -> bicep_types.Report:
    report = bicep_types.Report()
    for path in bicep_files():
        report.merge(bicep_types.check_file(store, path))
    SUMMARY_LINES.append(report.summary())
    print(report.summary())
    return report


def test_every_resource_in_infra_type_checks(infra_report):
    errors = [str(f) for f in infra_report.errors]
    assert errors == [], "\n".join(errors)


def test_no_unknown_open_enum_value_unless_accepted(infra_report):
    unexpected = [str(f) for f in infra_report.warnings if f"{f.resource} {f.path}" not in ACCEPTED_WARNINGS]
    assert unexpected == [], "\n".join(unexpected)


def test_the_check_covers_the_infrastructure(infra_report):
    # Every declaration was looked at, and most values could be followed offline: a regression to
    # "skip everything" would otherwise pass silently.
    declared = sum(len(re.findall(r"^\s*resource\s+\w+\s+'", p.read_text(), re.MULTILINE)) for p in bicep_files())
    assert infra_report.resources == declared
    assert infra_report.checked >= 300, infra_report.summary()
    assert infra_report.skipped <= infra_report.checked // 10, infra_report.summary() + "\n" + "\n".join(infra_report.skipped_paths)


# -- planted mistakes ------------------------------------------------------------------------


def planted(tmp_path: Path, module: str, old: str, new: str, count: int = 1) -> Path:
    source = (INFRA / module).read_text()
    assert source.count(old) >= count, f"{module} no longer contains {old!r}: update the planted test"
    target = tmp_path / Path(module).name
    target.write_text(source.replace(old, new, count))
    return target


def messages(store, path: Path) -> list[str]:
    report = bicep_types.check_file(store, path)
    return [f"{f.severity}: {f.path}: {f.message}" for f in report.findings]


def test_the_unchanged_copy_is_clean(store, tmp_path):
    # The planted tests below mean something only if the copy itself passes.
    for module in ("app/keyvault.bicep", "app/entra-app.bicep", "app/apim.bicep"):
        path = planted(tmp_path, module, "", "", count=0)
        assert messages(store, path) == [], module


def test_finds_a_planted_misspelling(store, tmp_path):
    path = planted(tmp_path, "app/keyvault.bicep", "enableRbacAuthorization: true", "enableRbacAuthorisation: true")
    found = messages(store, path)
    assert any("unknown property 'enableRbacAuthorisation'" in m and "enableRbacAuthorization" in m for m in found), found


def test_finds_a_planted_bad_enum_value(store, tmp_path):
    # Key Vault's sku.name is a closed enum: 'standard' | 'premium'.
    path = planted(tmp_path, "app/keyvault.bicep", "name: 'standard'", "name: 'platinum'")
    found = messages(store, path)
    assert any(m.startswith("error: properties.sku.name: 'platinum' is not allowed") for m in found), found


def test_finds_a_case_only_difference_with_its_own_message(store, tmp_path):
    path = planted(tmp_path, "app/keyvault.bicep", "enablePurgeProtection: true", "EnablePurgeProtection: true")
    found = messages(store, path)
    assert any("only the case differs from 'enablePurgeProtection'" in m for m in found), found


def test_finds_a_planted_wrong_type(store, tmp_path):
    path = planted(tmp_path, "app/keyvault.bicep", "enableSoftDelete: true", "enableSoftDelete: 'yes'")
    found = messages(store, path)
    assert "error: properties.enableSoftDelete: expected a bool, got a string" in found, found


def test_finds_a_missing_required_property(store, tmp_path):
    path = planted(tmp_path, "app/keyvault.bicep", "    tenantId: tenant().tenantId\n", "")
    found = messages(store, path)
    assert "error: properties.tenantId: required property 'tenantId' is missing" in found, found


def test_finds_a_read_only_property_that_is_set(store, tmp_path):
    path = planted(tmp_path, "app/keyvault.bicep", "    enableRbacAuthorization: true\n", "    enableRbacAuthorization: true\n    hsmPoolResourceId: 'x'\n")
    found = messages(store, path)
    assert "error: properties.hsmPoolResourceId: 'hsmPoolResourceId' is read-only" in found, found


def test_finds_a_bad_value_behind_a_variable_and_a_ternary(store, tmp_path):
    # Values are followed through var declarations and both branches of c ? a : b.
    path = planted(tmp_path, "app/keyvault.bicep", "defaultAction: privateNetworking || publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'",
                   "defaultAction: privateNetworking || publicNetworkAccess == 'Disabled' ? 'Deny' : 'Permit'")
    found = messages(store, path)
    # An open enum at this API version: a warning, which the infra test above does not accept.
    assert any(m.startswith("warning: properties.networkAcls.defaultAction: 'Permit' is not a known value") for m in found), found


def test_finds_a_bad_value_among_a_params_allowed_values(store, tmp_path):
    # Every value a param's @allowed admits is checked where the param is used.
    path = planted(tmp_path, "app/apim.bicep", "  'StandardV2'\n", "  'StandardV2'\n  'GoldV2'\n")
    found = messages(store, path)
    assert any("sku.name (param sku = 'GoldV2')" in m and "not a known value" in m for m in found), found


def test_finds_a_planted_misspelling_in_a_graph_resource(store, tmp_path):
    path = planted(tmp_path, "app/entra-app.bicep", "signInAudience: 'AzureADMyOrg'", "signInAudiance: 'AzureADMyOrg'")
    found = messages(store, path)
    assert any("unknown property 'signInAudiance'" in m for m in found), found


def test_finds_a_setting_of_a_graph_read_only_property(store, tmp_path):
    path = planted(tmp_path, "app/entra-app.bicep", "  appRoleAssignmentRequired: appRoleAssignmentRequired\n",
                   "  appRoleAssignmentRequired: appRoleAssignmentRequired\n  signInAudience: 'AzureADMyOrg'\n")
    found = messages(store, path)
    assert "error: signInAudience: 'signInAudience' is read-only" in found, found


def test_finds_an_api_version_missing_from_the_type_definitions(store, tmp_path):
    path = planted(tmp_path, "app/keyvault.bicep", "Microsoft.KeyVault/vaults@2023-07-01' = {", "Microsoft.KeyVault/vaults@2099-01-01' = {")
    found = messages(store, path)
    assert any("Microsoft.KeyVault/vaults@2099-01-01 is not in ../shared/bicep-types" in m for m in found), found


def test_warns_on_a_value_unknown_to_an_open_enum(store, tmp_path):
    # What APIM's PremiumV2 at 2024-05-01 looked like: Bicep accepts it, the API version does not know it.
    path = planted(tmp_path, "app/apim.bicep", "  'StandardV2'\n", "  'StandardV2'\n  'PremiumV2'\n")
    report = bicep_types.check_file(store, path)
    assert [f.message for f in report.warnings if "'PremiumV2'" in f.message], report.findings
