"""Every Bicep file under infra/ parses with the tree-sitter-bicep grammar (no ERROR or MISSING
nodes), and the check is strict enough to catch a broken file."""

from __future__ import annotations

import re

import pytest

import bicep_ast
from infra_support import INFRA, REPO_ROOT, bicep_files


def test_infra_has_the_expected_bicep_files():
    names = {path.relative_to(INFRA).as_posix() for path in bicep_files()}
    assert "main.bicep" in names
    assert {
        "app/identity.bicep",
        "app/monitoring.bicep",
        "app/storage.bicep",
        "app/keyvault.bicep",
        "app/generated-secret.bicep",
        "app/entra-app.bicep",
        "app/function-app.bicep",
        "app/apim.bicep",
        "app/apim-mcp-api.bicep",
        "app/network.bicep",
        "app/private-endpoints.bicep",
    } <= names


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_bicep_file_parses_without_errors(path):
    problems = bicep_ast.syntax_problems(path.read_bytes())
    assert problems == [], f"{path.relative_to(REPO_ROOT)}:\n" + "\n".join(problems)


def test_parser_check_catches_a_broken_snippet():
    broken = b"""
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv'
  properties: {
    enableRbacAuthorization: true
"""
    assert bicep_ast.syntax_problems(broken) != []


def test_parser_check_catches_garbage_between_valid_statements():
    broken = b"param a string\nthis is not bicep at all ((\noutput b string = a\n"
    assert bicep_ast.syntax_problems(broken) != []


def test_extension_gap_is_forgiven_only_for_the_bare_statement():
    valid = b"extension microsoftGraphV1\n\nparam uniqueName string\n"
    assert bicep_ast.syntax_problems(valid) == []
    # Anything more on the statement line, or a broken file after it, is still an error.
    assert bicep_ast.syntax_problems(b"extension microsoftGraphV1 with { x: 1 } junk ((\nparam a string\n") != []
    assert bicep_ast.syntax_problems(b"extension microsoftGraphV1\nresource app 'Microsoft.Graph/applications@v1.0' = {\n") != []


def test_only_the_graph_module_needs_the_extension_statement():
    # Keeps the grammar gap (and checkov's matching parse gap) confined to one file.
    users = [path.relative_to(INFRA).as_posix() for path in bicep_files() if b"\nextension " in b"\n" + path.read_bytes()]
    assert users == ["app/entra-app.bicep"]


def module_calls():
    for path in bicep_files():
        for module in bicep_ast.load(path).modules.values():
            yield path, module, bicep_ast.load((path.parent / module.type).resolve())


def test_module_calls_pass_every_required_parameter_and_no_unknown_one():
    # No Bicep compiler runs offline; this catches the wiring mistakes it would.
    for path, call, target in module_calls():
        passed = set(call.value.get("params", {}))
        declared = set(target.params)
        required = {name for name, p in target.params.items() if p.value is None}
        where = f"{path.relative_to(INFRA)}: module {call.name} ({call.type})"
        assert passed <= declared, f"{where} passes unknown parameters {sorted(passed - declared)}"
        assert required <= passed, f"{where} misses required parameters {sorted(required - passed)}"


def test_module_outputs_used_exist():
    for path in bicep_files():
        module = bicep_ast.load(path)
        targets = {name: bicep_ast.load((path.parent / call.type).resolve()) for name, call in module.modules.items()}
        for symbol, output in re.findall(r"\b(\w+)!?\.outputs\.(\w+)", module.source):
            assert symbol in targets, f"{path.name}: {symbol} is not a module"
            assert output in targets[symbol].outputs, f"{path.name}: {symbol} has no output {output}"
