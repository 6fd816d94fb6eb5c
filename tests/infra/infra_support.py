"""Paths and tools shared by the offline infrastructure checks.

Every tool is located relative to the repository root; a missing tool fails the tests that need
it instead of skipping them, so a green run always means the checks ran.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import bicep_ast

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
SHARED = REPO_ROOT.parent / "shared"
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def bicep(relative: str) -> bicep_ast.BicepFile:
    return bicep_ast.load(INFRA / relative)


def run_checkov(directory: Path) -> dict:
    """Runs checkov's Bicep framework offline and returns its JSON report."""
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is missing at {CHECKOV.relative_to(REPO_ROOT)}: install tests/requirements-checkov.txt into .venv-checkov")
    env = dict(os.environ, LOG_LEVEL="WARNING")
    completed = subprocess.run(
        # --skip-download: no calls to the Prisma Cloud API (CI is offline); checks are built in.
        [str(CHECKOV), "--directory", str(directory), "--framework", "bicep", "--output", "json", "--skip-download", "--compact"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    # checkov exits 1 when a check fails; the report says which. Anything else is a crash.
    if completed.returncode not in (0, 1):
        pytest.fail(f"checkov crashed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    # With nothing to check, checkov prints only the summary.
    if "results" not in report:
        unparsed = ["(checkov did not say which file)"] * int(report.get("parsing_errors", 0))
        report = {"results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": unparsed}, "summary": report}
    return report

# Lines the terminal summary prints after the run (conftest.py): figures a test wants seen even
# when it passes, such as how many property paths the type check covered.
SUMMARY_LINES: list[str] = []
