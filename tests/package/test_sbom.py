"""The SBOM scripts/package writes next to the package (target/function-app.cdx.json) describes the
deployed build: CycloneDX JSON whose root is the handler at its Cargo.toml version, listing every
crate the deployed build compiles (no default features, the musl target, no dev-dependencies) at
the version Cargo.lock resolves, and nothing else: not the local stand-ins (devstack), not a
crate only the tests use."""

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SBOM = ROOT / "target" / "function-app.cdx.json"
TARGET = "x86_64-unknown-linux-musl"


@pytest.fixture(scope="module")
def sbom() -> dict:
    assert SBOM.is_file(), f"{SBOM.relative_to(ROOT)} is missing: run scripts/package"
    return json.loads(SBOM.read_text())


@pytest.fixture(scope="module")
def deployed() -> tuple[dict, set[tuple[str, str]]]:
    """The handler's direct dependencies ({name: version}) and every crate (name, version) the
    deployed build compiles, as cargo resolves them from Cargo.lock."""
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--locked", "--offline", "--format-version", "1", "--no-default-features", "--filter-platform", TARGET],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
    )
    packages = {package["id"]: package for package in metadata["packages"]}
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    root = metadata["resolve"]["root"]

    def edges(node, kinds):
        return [dep["pkg"] for dep in node["deps"] if any(kind["kind"] in kinds for kind in dep["dep_kinds"])]

    direct = {packages[pkg]["name"]: packages[pkg]["version"] for pkg in edges(nodes[root], (None,))}
    # Normal and build dependencies, transitively: what compiling the handler needs.
    seen, todo = set(), edges(nodes[root], (None, "build"))
    while todo:
        pkg = todo.pop()
        if pkg not in seen:
            seen.add(pkg)
            todo.extend(edges(nodes[pkg], (None, "build")))
    closure = {(packages[pkg]["name"], packages[pkg]["version"]) for pkg in seen}
    return direct, closure


def components(sbom: dict) -> set[tuple[str, str]]:
    return {(component["name"], component["version"]) for component in sbom.get("components", [])}


def test_it_is_cyclonedx_json_about_the_handler(sbom):
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] in ("1.4", "1.5", "1.6")
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]
    root = sbom["metadata"]["component"]
    assert (root["name"], root["version"]) == (manifest["name"], manifest["version"])


def test_every_direct_dependency_is_listed_at_its_locked_version(sbom, deployed):
    direct, _ = deployed
    assert {"rmcp", "axum", "jsonwebtoken", "reqwest", "html5ever", "mimalloc"} <= direct.keys()
    missing = {(name, version) for name, version in direct.items()} - components(sbom)
    assert not missing, f"direct dependencies missing or at another version than Cargo.lock's: {sorted(missing)}"


def test_it_lists_only_what_the_deployed_build_compiles(sbom, deployed):
    _, closure = deployed
    listed = components(sbom)
    # Crates only the tests and the local stand-ins use (tokio-rustls is a dev-dependency too,
    # but reqwest compiles it into the handler, so it belongs).
    assert not {name for name, _ in listed} & {"devstack", "proptest", "rcgen"}
    extra = listed - closure
    assert not extra, f"not in the deployed build: {sorted(extra)}"
    # And nothing of it is left out: every crate compiled into the handler is accounted for.
    assert closure - listed == set(), sorted(closure - listed)
