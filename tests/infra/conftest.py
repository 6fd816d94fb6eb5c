"""The checkov scan is the slow part of these checks: run it once per test session."""

from __future__ import annotations

import pytest

from infra_support import INFRA, run_checkov


@pytest.fixture(scope="session")
def checkov_report() -> dict:
    return run_checkov(INFRA)
