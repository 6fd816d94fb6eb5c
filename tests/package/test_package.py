"""The deployable package is what azd ships to Azure Functions: the zip that azure.yaml's `dist`
names (written by scripts/package), holding exactly host.json and a statically linked `handler`
with mode 0755, which starts the way the Functions host starts it and answers.

The tests below run the handler extracted from that zip, with the modes the zip records, so an
archive that loses the executable bit fails here as it would fail in Azure."""

import json
import os
import socket
import stat
import struct
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGED = ROOT / "function-app"
PT_INTERP = 3
EM_X86_64 = 62
UNIX = 3  # ZipInfo.create_system of an archive made on Unix


def deployed_zip() -> Path:
    """The file azd deploys: azure.yaml's `dist` (a .zip is deployed as it is)."""
    service = yaml.safe_load((ROOT / "azure.yaml").read_text())["services"]["mcp"]
    assert service["dist"].endswith(".zip"), "azd must get a zip written with Unix modes, not a folder it zips itself"
    return ROOT / service["dist"]


def unix_mode(info: zipfile.ZipInfo) -> int:
    return info.external_attr >> 16


@pytest.fixture(scope="module")
def archive() -> zipfile.ZipFile:
    path = deployed_zip()
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run scripts/package"
    with zipfile.ZipFile(path) as opened:
        yield opened


@pytest.fixture(scope="module")
def package(archive, tmp_path_factory) -> Path:
    # Extract as a Unix unzip does, applying each entry's recorded mode (Python's extract does not).
    root = tmp_path_factory.mktemp("wwwroot")
    for info in archive.infolist():
        target = root / info.filename
        target.write_bytes(archive.read(info))
        target.chmod(stat.S_IMODE(unix_mode(info)))
    return root


def test_the_deployed_zip_holds_exactly_host_json_and_the_handler(archive):
    assert sorted(archive.namelist()) == ["handler", "host.json"]
    assert archive.read("host.json") == (ROOT / "host.json").read_bytes()


def test_the_handler_in_the_deployed_zip_is_a_regular_file_with_mode_0755(archive):
    info = archive.getinfo("handler")
    assert info.create_system == UNIX, "modes are only honoured in entries made on Unix"
    mode = unix_mode(info)
    assert stat.S_ISREG(mode), oct(mode)
    assert stat.S_IMODE(mode) == 0o755, oct(mode)
    host = archive.getinfo("host.json")
    assert stat.S_IMODE(unix_mode(host)) == 0o644, oct(unix_mode(host))


def test_the_deployed_zip_carries_the_freshly_staged_build(archive):
    # A stale zip next to a new build would deploy yesterday's binary.
    assert archive.read("handler") == (STAGED / "handler").read_bytes()


def test_the_extracted_handler_is_executable_by_everyone(package: Path):
    mode = (package / "handler").stat().st_mode
    assert mode & stat.S_IXUSR and mode & stat.S_IXGRP and mode & stat.S_IXOTH, oct(mode)


def test_the_handler_is_a_static_x86_64_linux_executable(package: Path):
    data = (package / "handler").read_bytes()
    assert data[:4] == b"\x7fELF", "not an ELF file"
    assert data[4] == 2, "not 64-bit"
    (machine,) = struct.unpack_from("<H", data, 18)
    assert machine == EM_X86_64
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    kinds = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    assert PT_INTERP not in kinds, "dynamically linked: the Functions image may lack its libraries"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "00000000-1111-2222-3333-444444444444"
PUBLIC_URL = "https://mcp.contoso.example/mcp"


def run_as_the_host_does(package: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [str(package / "handler")],
        cwd=package,  # the host's working directory is the app root
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_the_packaged_handler_starts_like_the_host_starts_it_and_answers(package: Path):
    port = free_port()
    process = run_as_the_host_does(
        package,
        {
            "FUNCTIONS_CUSTOMHANDLER_PORT": str(port),
            "MCP_TENANT_ID": TENANT,
            "MCP_CLIENT_ID": CLIENT,
            "MCP_APP_ID_URI": PUBLIC_URL,
            "MCP_PUBLIC_URL": PUBLIC_URL,
            # No APIM in front of this test: it stands in for a network-isolated function app.
            "MCP_GATEWAY_PROOF_REQUIRED": "false",
            # Instances share their signing key through Key Vault; nothing here reads it.
            "KEY_VAULT_URL": "https://kv-contoso.vault.azure.net/",
            "MCP_SIGNING_KEY_SECRET_NAME": "mcp-signing-key",
            # As the platform provides them; nothing here calls the identity.
            "MANAGED_IDENTITY_CLIENT_ID": "55555555-6666-7777-8888-999999999999",
            "IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token",
            "IDENTITY_HEADER": "platform-secret",
        },
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "never answered GET /"
                time.sleep(0.025)
        # MCP answers, and authentication is on in the deployed build: a 401 challenge that
        # points at the metadata, which is served.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/mcp",
            data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
            headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
        )
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("an unauthenticated request was served")
        except urllib.error.HTTPError as error:
            assert error.code == 401
            challenge = error.headers["www-authenticate"]
        assert challenge.startswith("Bearer resource_metadata=")
        assert "https://mcp.contoso.example/.well-known/oauth-protected-resource/mcp" in challenge
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp", timeout=10
        ) as response:
            metadata = json.loads(response.read())
        assert metadata["resource"] == PUBLIC_URL
        assert metadata["authorization_servers"] == [f"https://login.microsoftonline.com/{TENANT}/v2.0"]
    finally:
        # A handler that already stopped has had its failure reported above; do not mask it.
        if process.poll() is None:
            process.terminate()
            code = process.wait(timeout=20)
            assert code == 0, f"SIGTERM should end the handler cleanly: {code} {process.stderr.read().decode()}"


def test_the_deployed_build_has_no_local_stand_ins(package: Path):
    # Without a tenant it does not fall back to a local issuer: it reports the missing settings.
    process = run_as_the_host_does(package, {"FUNCTIONS_CUSTOMHANDLER_PORT": str(free_port())})
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 78
    assert "MCP_TENANT_ID: is not set" in stderr.decode()
    assert "local development" not in stderr.decode()
    help_text = subprocess.run([str(package / "handler"), "--help"], capture_output=True, text=True, check=True).stdout
    assert "dev-token" not in help_text and "MCP_DEVSTACK_ADDR" not in help_text
    refused = subprocess.run([str(package / "handler"), "dev-token"], capture_output=True, text=True)
    assert refused.returncode == 2
