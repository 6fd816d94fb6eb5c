"""What a first real `azd up` would hit (issue 11, "Deploy-breakers"), each pinned by a test that
fails without the fix: the executable bit of `handler`, the region, unattended prompts, redeploying
after `azd down`, resource ordering, the APIM tier values and the VS Code sign-in limit without a
custom domain."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import yaml

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
