"""The checkov scan is the slow part of these checks: run it once per test session."""

from __future__ import annotations

import pytest

from infra_support import INFRA, SUMMARY_LINES, run_checkov


@pytest.fixture(scope="session")
def checkov_report() -> dict:
    return run_checkov(INFRA)


def pytest_terminal_summary(terminalreporter):
    # Printed whether or not -s is given, so the coverage of the offline checks is always visible.
    for line in SUMMARY_LINES:
        terminalreporter.write_line(line)
