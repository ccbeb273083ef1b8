"""XAgent rows of benchmarks/bench_tool_service.py (one run, interleaved blocks, p50/p99 per call):

- a session opened to its first result (``/get_cookie`` then ``/execute_tool`` until 200): cold (a
  container is started: non-default limits) and from the warm pool;
- ``/execute_tool`` through XAgent's endpoint (cookie, wrapped result) vs the same call straight to
  the session's node (with its secret), and vs the manager's seed endpoint on a seed node.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

Rows = list[tuple[str, str]]
CALL = {"tool_name": "calculator", "arguments": {"expression": "6*7"}}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def _timed(c: httpx.Client, path: str, body: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = c.post(path, json=body)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return out


def open_to_first_result(url: str, tool_cfg: dict[str, Any]) -> tuple[float, str, httpx.Client]:
    """Seconds from ``/get_cookie`` to the first 200 of ``/execute_tool``; the session's client."""
    c = httpx.Client(base_url=url, timeout=120)
    t = time.perf_counter()
    opened = c.post("/get_cookie", json={"tool_cfg": tool_cfg})
    assert opened.status_code == 200, opened.text
    r = c.post("/execute_tool", json=CALL)
    while r.status_code == 450:
        r = c.post("/execute_tool", json={"tool_name": "read_call_result", "arguments": r.json()["detail"]["arguments"]})
    assert r.status_code == 200 and r.json() == {"type": "simple", "data": "42"}, r.text
    return time.perf_counter() - t, opened.json()["status"], c


def session_node(docker: Any, manager_id: str, node_name: str) -> tuple[str, str]:
    """(URL, secret) of a session's node, read from its container (the raw layer under the manager)."""
    for ct in docker.containers.list(filters={"label": f"msagent.manager={manager_id}"}):
        if ct.name.endswith(node_name):
            env = dict(e.split("=", 1) for e in ct.attrs["Config"]["Env"])
            ip = next(n["IPAddress"] for n in ct.attrs["NetworkSettings"]["Networks"].values() if n["IPAddress"])
            return f"http://{ip}:{env['TOOL_NODE_PORT']}", env["TOOL_NODE_SECRET"]
    raise LookupError(node_name)


def xagent_rows(url: str, docker: Any, manager_id: str, seed_tenant: str, calls: int, opens: int) -> Rows:
    colds, warms = [], []
    for _ in range(opens):
        t, status, c = open_to_first_result(url, {})
        (warms if status == "running" else colds).append(t)
        c.post("/close_session")
        c.close()
        time.sleep(3)  # the pool refills in the background
    for _ in range(opens):
        t, _, c = open_to_first_result(url, {"memory": "600m"})  # non-default limits: never from the pool
        colds.append(t)
        c.post("/close_session")
        c.close()
    _, _, session = open_to_first_result(url, {})
    seed = {"tool_name": "calculator", "tenant_id": seed_tenant, "params": '{"expression": "6*7"}'}
    with httpx.Client(base_url=url, timeout=60) as m:
        nodes = m.get("/tools", params={"tenant_id": "default"}).json()["output"]["tools"]
        key = next(n for n in nodes if n.startswith("xagent-"))
        direct_url, secret = session_node(docker, manager_id, key)
        body = {"tool_name": "calculator", "params": {"expression": "6*7"}, "wrapped": True}
        with httpx.Client(base_url=direct_url, timeout=60, headers={"Authorization": f"Bearer {secret}"}) as d:
            _timed(session, "/execute_tool", CALL, 20)
            _timed(d, "/execute_tool", body, 20)
            _timed(m, "/execute_tool", seed, 20)
            via, raw, seed_via = [], [], []
            for _ in range(calls // 10):  # interleaved, so all see the same machine load
                via += _timed(session, "/execute_tool", CALL, 10)
                raw += _timed(d, "/execute_tool", body, 10)
                seed_via += _timed(m, "/execute_tool", seed, 10)
    session.post("/close_session")
    session.close()

    def ms(xs: list[float]) -> str:
        return f"{pct(xs, 50):.2f} / {pct(xs, 99):.2f} ms"

    return [
        (f"XAgent session open -> first result, cold (median of {len(colds)})",
         f"{statistics.median(colds):.3f} s" if colds else "n/a"),
        (f"XAgent session open -> first result, warm pool (median of {len(warms)})",
         f"{statistics.median(warms):.3f} s" if warms else "n/a"),
        ("XAgent execute_tool direct to the session's node p50 / p99", ms(raw)),
        ("XAgent execute_tool via manager /execute_tool (cookie) p50 / p99", ms(via)),
        ("  XAgent overhead p50 (ratio)", f"+{pct(via, 50) - pct(raw, 50):.2f} ms ({pct(via, 50) / pct(raw, 50):.2f}x)"),
        ("  seed /execute_tool on the same manager p50 / p99", ms(seed_via)),
    ]
