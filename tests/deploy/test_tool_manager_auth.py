"""Secure by default: the tool manager refuses to run without a token unless told --no-auth (on a
loopback address only), creates its token once (mode 600, printed once), wants the Bearer scheme,
and refuses a malformed tool_image with a 400."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from deploy.tool_manager.app import create_app
from deploy.tool_manager.auth import load_or_create_token
from deploy.tool_manager.config import ManagerConfig
from msagent.errors import ConfigError
from msagent.ports import free_port
from msagent.testing.asgi import uvicorn_thread

TOKEN = "s3cret-token-for-tests"


def _config(tmp_path: Path, **more: object) -> ManagerConfig:
    return ManagerConfig(manager_id=f"auth{os.getpid()}", backend="local", pool_size=0, db_path=str(tmp_path / "m.db"),
                         **more)  # type: ignore[arg-type]


def test_no_token_no_app(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a token"):
        create_app(_config(tmp_path))
    with pytest.raises(ConfigError, match="not both"):
        create_app(_config(tmp_path, token=TOKEN, no_auth=True))


def test_bearer_scheme_and_constant_time_token(tmp_path: Path) -> None:
    with uvicorn_thread(create_app(_config(tmp_path, token=TOKEN))) as url:
        for header, status in ((None, 401), (TOKEN, 401), (f"Token {TOKEN}", 401), ("Bearer", 401),
                               ("Bearer nope", 403), (f"Bearer {TOKEN}x", 403), (f"Bearer {TOKEN}", 200),
                               (f"bearer {TOKEN}", 200)):
            r = httpx.get(f"{url}/get_available_tools", headers={"Authorization": header} if header else {}, timeout=30)
            assert r.status_code == status, (header, r.text)
            if status == 401:
                assert r.headers["www-authenticate"] == "Bearer" and "Bearer" in r.json()["message"]
        assert httpx.get(f"{url}/health").status_code == 200 and httpx.get(f"{url}/docs").status_code == 200
        # the same check guards every router on the app (the MCP endpoint too)
        assert httpx.post(f"{url}/mcp", json={}, headers={"Authorization": TOKEN}).status_code == 401


@pytest.mark.parametrize("image", ["Bad Image", "UPPER/case", "a::b", "x" * 300, "img:", "-lead"])
def test_malformed_tool_image_is_400(tmp_path: Path, image: str) -> None:
    with uvicorn_thread(create_app(_config(tmp_path, token=TOKEN))) as url:
        r = httpx.post(f"{url}/create_tool_service", headers={"Authorization": f"Bearer {TOKEN}"},
                       json={"tool_name": "calculator", "tool_image": image}, timeout=30)
        assert r.status_code == 400 and "tool_image" in r.json()["message"], r.text


def test_token_file_created_once_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    token, created = load_or_create_token(path)
    assert created and len(token) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, False)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_token(path)


def _run(args: list[str], data: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TOOL_MANAGER_")}
    return subprocess.Popen([sys.executable, "-m", "msagent", "serve", "tool-manager", "--uvicorn", "--pool-size", "0",
                             "--manager-id", f"cli{os.getpid()}", *args],
                            env={**clean, "MSAGENT_DATA_DIR": str(data), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _serving(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_command_line_creates_the_token_once_and_refuses_open_non_loopback(tmp_path: Path) -> None:
    for extra, needle in ((["--no-auth", "--host", "0.0.0.0"], "loopback address only"),
                          (["--no-auth", "--token", "x"], "contradict")):
        proc = _run([*extra, "--port", str(free_port())], tmp_path)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 2 and needle in out, out
    printed = []
    for _ in range(2):
        port = free_port()
        proc = _run(["--port", str(port)], tmp_path)
        try:
            _serving(proc, f"http://127.0.0.1:{port}")
            token = (tmp_path / "tool_manager" / "token").read_text().strip()
            ok = httpx.get(f"http://127.0.0.1:{port}/tools", headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200 and httpx.get(f"http://127.0.0.1:{port}/tools").status_code == 401
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        printed.append(token in out)
    assert printed == [True, False]  # shown on the start that created it, never again
    port = free_port()
    proc = _run(["--no-auth", "--port", str(port)], tmp_path)
    try:
        _serving(proc, f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/tools").status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "WITHOUT a token" in out
