"""Helpers shared by the tool-service tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import secrets
import socket
import time
from typing import Any

import httpx

from msagent.testing.asgi import uvicorn_thread

SESSION = "t" + secrets.token_hex(4)
TOKEN = "test-token-" + SESSION


def session_containers(client: Any) -> list[str]:
    """Ids of the containers this session's managers started (one list call: no per-container
    inspect that could race with a removal)."""
    found = client.api.containers(all=True, filters={"label": "msagent.tool-node=1"})
    return [c["Id"] for c in found if (c.get("Labels") or {}).get("msagent.manager", "").startswith(SESSION)]


def port_range(slot: int) -> tuple[int, int]:
    """A port range for this session and slot, away from the default 31513.. so that other
    sessions on the machine do not collide."""
    assert 0 <= slot < 10
    base = 33000 + (int(SESSION[1:], 16) % 300) * 100 + slot * 10
    return base, base + 9


def free_port_block(size: int = 10) -> tuple[int, int]:
    """``size`` consecutive ports free on 127.0.0.1 right now (this range overlaps the kernel's
    ephemeral ports, so a fixed one can be taken by any outgoing connection)."""
    for _ in range(200):
        base = 33000 + secrets.randbelow(2500) * 10
        socks = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base, base + size - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {size} free ports found")


def client_for(url: str, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60.0)


class LocalManager:
    """The manager under plain uvicorn in a thread (in-process nodes), on a free port."""

    def __init__(self, **cfg: Any) -> None:
        from deploy.tool_manager.app import create_app
        from deploy.tool_manager.config import ManagerConfig

        self.config = ManagerConfig(**{"token": TOKEN, "backend": "local", "pool_size": 0, **cfg})
        self.app = create_app(self.config)
        self.url = ""
        self._serving: Any = None

    def __enter__(self) -> LocalManager:
        self._serving = uvicorn_thread(self.app)
        self.url = self._serving.__enter__()
        return self

    @property
    def manager(self) -> Any:
        return self.app.state.manager

    def __exit__(self, *exc: Any) -> None:
        self._serving.__exit__(*exc)


def wait_until(check: Any, what: str, seconds: float = 60.0) -> None:
    """Wait for a condition (a bound on waiting, not a speed check)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.1)
