"""checkov's Bicep checks pass on infra/, and every skipped check is an inline, justified
`// checkov:skip=ID: reason` comment that checkov really honours."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from infra_support import INFRA, bicep_files, run_checkov

SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(?P<id>[A-Z0-9_]+)(?P<rest>.*)")
JUSTIFIED = re.compile(r"^:\s*(?P<reason>\S.{19,})$")  # a reason of at least 20 characters


def relative(path: str) -> str:
    return path.lstrip("/")


def test_checkov_scanned_the_infrastructure(checkov_report):
    summary = checkov_report["summary"]
    assert summary["resource_count"] >= 50, summary
    assert summary["passed"] > 0, summary


def test_checkov_reports_no_failed_check(checkov_report):
    failed = [
        f"{c['check_id']} {c['check_name']} in {c['file_path']} ({c['resource']})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)


def test_checkov_parses_every_file_but_the_graph_module(checkov_report):
    # checkov's Bicep parser (pycep) does not know the `extension` statement either. The Graph
    # module holds only Microsoft.Graph resources, for which checkov has no checks; the next test
    # proves the rest of that file parses.
    unparsed = sorted(Path(p).resolve().relative_to(INFRA).as_posix() for p in checkov_report["results"]["parsing_errors"])
    assert unparsed == ["app/entra-app.bicep"]


def test_graph_module_parses_for_checkov_without_its_extension_line(tmp_path):
    source = (INFRA / "app" / "entra-app.bicep").read_text()
    assert source.startswith("extension microsoftGraphV1\n")
    (tmp_path / "entra-app.bicep").write_text(source.replace("extension microsoftGraphV1\n", "\n", 1))
    report = run_checkov(tmp_path)
    assert report["results"]["parsing_errors"] == []
    assert report["results"]["failed_checks"] == []


def skip_comments() -> list[tuple[str, str, str]]:
    found = []
    for path in bicep_files():
        for line in path.read_text().splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                found.append((path.relative_to(INFRA).as_posix(), match["id"], match["rest"]))
    return found


def test_every_skip_comment_gives_a_reason():
    unjustified = [f"{file}: {check}{rest}" for file, check, rest in skip_comments() if not JUSTIFIED.match(rest.strip())]
    assert unjustified == [], "skips without a reason:\n" + "\n".join(unjustified)


def test_every_skip_comment_is_honoured_and_none_is_stale(checkov_report):
    # Each comment must show up as a skipped check on its file with the same reason, and checkov
    # must skip nothing else: a skip for a check that no longer fires is noise and is removed.
    expected = sorted((file, check, JUSTIFIED.match(rest.strip())["reason"]) for file, check, rest in skip_comments())
    skipped = sorted(
        (relative(c["file_path"]), c["check_id"], c["check_result"].get("suppress_comment", "").strip())
        for c in checkov_report["results"]["skipped_checks"]
    )
    assert skipped == expected


def test_checkov_honours_an_inline_skip_comment(tmp_path):
    # The same storage account twice, once with a skip comment: checkov must fail the first and
    # skip the second. Guards against a checkov change that would silently ignore our comments.
    account = """
resource {symbol} 'Microsoft.Storage/storageAccounts@2023-05-01' = {{
{comment}  name: '{symbol}'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {{
    name: 'Standard_GRS'
  }}
  properties: {{
    minimumTlsVersion: 'TLS1_0'
  }}
}}
"""
    (tmp_path / "plain.bicep").write_text(account.format(symbol="plain", comment=""))
    (tmp_path / "skipped.bicep").write_text(
        account.format(symbol="skipped", comment="  // checkov:skip=CKV_AZURE_44: deliberately old TLS in this test fixture\n")
    )
    report = run_checkov(tmp_path)
    failed = {(relative(c["file_path"]), c["check_id"]) for c in report["results"]["failed_checks"]}
    skipped = {(relative(c["file_path"]), c["check_id"]) for c in report["results"]["skipped_checks"]}
    assert ("plain.bicep", "CKV_AZURE_44") in failed
    assert ("skipped.bicep", "CKV_AZURE_44") in skipped
    assert ("skipped.bicep", "CKV_AZURE_44") not in failed


def test_checkov_tool_is_where_the_tests_expect_it():
    from infra_support import CHECKOV

    assert CHECKOV.is_file(), f"missing {CHECKOV}"
    assert shutil.which(str(CHECKOV)) is not None
