"""Tool service benchmark: execute_tool through the manager vs straight to the node (overhead
p50/p99), and create -> running cold and from the warm pool; MCP rows (benchmarks/mcp_rows.py): an
MCP tool over stdio vs the same msagent tool, the manager's /mcp vs its seed endpoint; XAgent rows
(benchmarks/xagent_rows.py): a session opened to its first result, cold and from the warm pool, and
XAgent's /execute_tool vs the session's node directly. One table, one run.

    python benchmarks/bench_tool_service.py [--calls 300] [--creates 3] [--ingress haproxy|proxy]

Serve runs with the ingress `msagent serve tool-manager` uses (HAProxy, deploy/serve_env.py) unless
`--ingress proxy` asks for Serve's default Python proxy.

Needs Docker and the tool-node image (built here if missing). Starts a private Ray + Serve and a
manager with its own label, port range and data dir; removes its containers at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import threading
import time
from typing import Any

import httpx

from msagent.ports import free_port

BENCH = "bench" + secrets.token_hex(3)




def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def node_url(client: Any, manager_id: str, name: str) -> tuple[str, str]:
    """(URL, secret) of a node, read from its container (the raw layer under the manager)."""
    from xagent_rows import session_node

    return session_node(client, manager_id, name)


def timed_calls(c: httpx.Client, path: str, body: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = c.post(path, json=body)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return out


def overhead(manager: str, direct: tuple[str, str], tenant: str, n: int) -> tuple[list[float], list[float]]:
    call = {"tool_name": "calculator", "tenant_id": tenant, "params": '{"expression": "6*7"}', "kwargs": {}}
    via, raw = [], []
    secret = {"Authorization": f"Bearer {direct[1]}"}  # every node call carries the node's secret
    with httpx.Client(base_url=manager, timeout=30) as m, httpx.Client(base_url=direct[0], timeout=30,
                                                                        headers=secret) as d:
        timed_calls(m, "/execute_tool", call, 20)  # warm up connections and code paths
        timed_calls(d, "/execute_tool", {"params": call["params"], "kwargs": {}}, 20)
        for _ in range(n // 10):  # interleaved, so both see the same machine load
            via += timed_calls(m, "/execute_tool", call, 10)
            raw += timed_calls(d, "/execute_tool", {"params": call["params"], "kwargs": {}}, 10)
    return via, raw


def create_time(c: httpx.Client, tool: str, tenant: str, cfg: dict) -> tuple[float, str]:
    t = time.perf_counter()
    out = c.post("/create_tool_service", json={"tool_name": tool, "tenant_id": tenant, "tool_cfg": cfg}).json()
    assert out["output"] is not None, out["message"]
    first = out["output"]["status"]
    if first != "running":
        out = c.post("/check_tool_service_status", json={"tool_name": tool, "tenant_id": tenant, "wait": 60}).json()
    elapsed = time.perf_counter() - t
    assert out["output"]["status"] == "running", out
    return elapsed, first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--creates", type=int, default=3)
    ap.add_argument("--ingress", choices=["haproxy", "proxy"], default="haproxy")
    args = ap.parse_args()
    if args.ingress == "haproxy":
        from deploy.serve_env import use_fast_serve_env

        use_fast_serve_env()  # before Ray starts, as the CLI does
    os.environ.setdefault("MSAGENT_DATA_DIR", tempfile.mkdtemp(prefix="msagent-bench-"))
    import ray
    import uvicorn
    from mcp_rows import local_rows, manager_rows
    from ray import serve
    from xagent_rows import xagent_rows

    from deploy.tool_manager.app import create_app
    from deploy.tool_manager.config import ManagerConfig
    from deploy.tool_manager.serve_app import tool_manager_app
    from deploy.tool_node.image import build_image, docker_client

    image = build_image(progress=lambda s: print(s, flush=True))
    client = docker_client()
    base = 34000 + secrets.randbelow(50) * 40
    rows: list[tuple[str, str]] = []
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MSAGENT_DATA_DIR": os.environ["MSAGENT_DATA_DIR"]}})
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    local_cfg = ManagerConfig(manager_id=BENCH + "u", default_image=image, port_start=base + 20, port_end=base + 39,
                              pool_size=0, backend="local", db_path=os.path.join(os.environ["MSAGENT_DATA_DIR"], "u.db"),
                              no_auth=True)  # on 127.0.0.1 only: the manager refuses to run open otherwise
    uport = free_port()
    userver = uvicorn.Server(uvicorn.Config(create_app(local_cfg), host="127.0.0.1", port=uport, log_level="warning"))
    threading.Thread(target=userver.run, daemon=True).start()
    try:
        cfg = ManagerConfig(manager_id=BENCH, default_image=image, port_start=base, port_end=base + 19, pool_size=1,
                            no_auth=True)
        serve.run(tool_manager_app(cfg), name=BENCH, route_prefix=f"/{BENCH}")
        url = f"http://127.0.0.1:{port}/{BENCH}"
        with httpx.Client(base_url=url, timeout=120) as c:
            c.get("/tools")
            time.sleep(3)  # let the pool fill
            colds, warms = [], []
            for i in range(args.creates):
                t, first = create_time(c, "calculator", f"w{i}", {})
                warms.append(t) if first == "running" else colds.append(t)
                time.sleep(3)  # the pool refills in the background
            for i in range(args.creates):
                # non-default limits never come from the pool: a container is started
                t, _ = create_time(c, "calculator", f"c{i}", {"memory": "600m"})
                colds.append(t)
            via, raw = overhead(url, node_url(client, BENCH, "calculator_w0"), "w0", args.calls)
            mcp = manager_rows(url, "w0", cfg.token, args.calls)  # the manager's /mcp vs its seed endpoint
            xagent = xagent_rows(url, client, BENCH, "w0", args.calls, args.creates)  # XAgent's protocol
        with httpx.Client(base_url=f"http://127.0.0.1:{uport}", timeout=120) as u:
            create_time(u, "calculator", "u0", {})
            uvia, uraw = overhead(f"http://127.0.0.1:{uport}", node_url(client, BENCH + "u", "calculator_u0"), "u0",
                                  args.calls)

        def ov(a: list[float], b: list[float], p: float) -> str:
            return f"{pct(a, p) - pct(b, p):.2f} ms"

        rows += [
            ("execute_tool direct to node p50 / p99", f"{pct(raw, 50):.2f} / {pct(raw, 99):.2f} ms"),
            (f"execute_tool via manager (Ray Serve, {args.ingress}) p50 / p99", f"{pct(via, 50):.2f} / {pct(via, 99):.2f} ms"),
            ("  overhead (Serve) p50 / p99  [goal p50 <= 3 ms]", f"{ov(via, raw, 50)} / {ov(via, raw, 99)}"),
            ("execute_tool via manager (uvicorn) p50 / p99", f"{pct(uvia, 50):.2f} / {pct(uvia, 99):.2f} ms"),
            ("  overhead (uvicorn) p50 / p99", f"{ov(uvia, uraw, 50)} / {ov(uvia, uraw, 99)}"),
            (f"create -> running, cold (median of {len(colds)})  [goal <= 1.5 s]",
             f"{statistics.median(colds):.3f} s" if colds else "n/a"),
            (f"create -> running, warm pool (median of {len(warms)})  [goal <= 0.2 s]",
             f"{statistics.median(warms):.3f} s" if warms else "n/a"),
        ]
        rows += xagent  # XAgent rows (benchmarks/xagent_rows.py)
        rows += mcp + local_rows(args.calls)  # MCP rows (benchmarks/mcp_rows.py)
    finally:
        userver.should_exit = True
        serve.delete(BENCH)
        serve.shutdown()
        ray.shutdown()
        for ct in client.containers.list(all=True, filters={"label": "msagent.tool-node=1"}):
            if (ct.labels or {}).get("msagent.manager", "").startswith(BENCH):
                ct.remove(force=True)
    width = max(len(k) for k, _ in rows)
    print(f"\n{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|-{'-' * 24}")
    for k, v in rows:
        print(f"{k.ljust(width)} | {v}")


if __name__ == "__main__":
    main()
