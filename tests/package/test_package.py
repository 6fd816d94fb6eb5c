"""The deployable package (`function-app/`, built by scripts/package) is what azd ships to Azure
Functions: exactly host.json and an executable, statically linked `handler`, which starts the way
the Functions host starts it and answers."""

import json
import os
import socket
import stat
import struct
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "function-app"
PT_INTERP = 3
EM_X86_64 = 62


@pytest.fixture(scope="module")
def package() -> Path:
    assert (PACKAGE / "handler").exists(), "function-app/handler is missing: run scripts/package"
    return PACKAGE


def test_the_package_holds_exactly_host_json_and_the_handler(package: Path):
    assert sorted(p.name for p in package.iterdir()) == ["handler", "host.json"]
    assert (package / "host.json").read_bytes() == (ROOT / "host.json").read_bytes()


def test_the_handler_is_executable_by_everyone(package: Path):
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


def test_the_packaged_handler_starts_like_the_host_starts_it_and_answers(package: Path):
    port = free_port()
    process = subprocess.Popen(
        [str(package / "handler")],
        cwd=package,  # the host's working directory is the app root
        env={"FUNCTIONS_CUSTOMHANDLER_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
        status, body = post(
            f"http://127.0.0.1:{port}/mcp",
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "package-test", "version": "0"},
                },
            },
        )
        assert status == 200, body
        assert body["result"]["serverInfo"]["name"] == "m365-mcp-handler"
        assert body["result"]["protocolVersion"] == "2025-11-25"
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0, "SIGTERM should end the handler cleanly"
