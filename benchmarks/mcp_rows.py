"""MCP rows of benchmarks/bench_tool_service.py (one run, interleaved blocks, p50/p99 per call):

- an MCP tool over stdio (the SDK's demo server, one session) vs the same function as an msagent
  tool, both through ``call_tool``;
- ``tools/call`` on the tool manager's ``/mcp`` (the SDK's client, one session) vs the manager's seed
  endpoint ``POST /execute_tool`` for the same tool and node.

    python benchmarks/mcp_rows.py [--calls 300]      # the local rows alone (no Docker needed)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import httpx

from msagent.tools import call_tool, function_tool
from msagent.tools.mcp import MCPToolset

Rows = list[tuple[str, str]]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def _row(name: str, xs: list[float]) -> tuple[str, str]:
    return name, f"{pct(xs, 50):.2f} / {pct(xs, 99):.2f} ms"


def _ratio(name: str, a: list[float], b: list[float]) -> tuple[str, str]:
    return name, f"{pct(a, 50) / pct(b, 50):.1f}x / +{pct(a, 50) - pct(b, 50):.2f} ms"


def local_rows(calls: int) -> Rows:
    @function_tool
    def add(a: int, b: int) -> str:
        """Add two integers."""
        return str(a + b)

    native = {"add": add()}
    toolset = MCPToolset({"mcpServers": {"demo": {"command": sys.executable,
                                                  "args": ["-m", "msagent.testing.mcp_demo_server"]}}})
    mcp = {t.name: t for t in toolset.tools}
    via_mcp: list[float] = []
    direct: list[float] = []
    try:
        for _ in range(max(1, calls // 10) + 2):  # interleaved blocks; the first two warm up
            for tools, name, out in ((mcp, "demo-add", via_mcp), (native, "add", direct)):
                for _ in range(10):
                    t = time.perf_counter()
                    assert call_tool(tools, (name, '{"a": 2, "b": 3}')) == "5"
                    out.append((time.perf_counter() - t) * 1000)
    finally:
        toolset.close()
    via_mcp, direct = via_mcp[20:], direct[20:]
    return [
        _row("msagent tool (function_tool) via call_tool p50 / p99", direct),
        _row("MCP tool, stdio, one session, via call_tool p50 / p99", via_mcp),
        _ratio("  MCP vs msagent tool (p50 ratio / added)", via_mcp, direct),
    ]


def manager_rows(url: str, tenant: str, token: str | None, calls: int) -> Rows:
    """The node of (tenant, calculator) must be running already."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    auth = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"tool_name": "calculator", "tenant_id": tenant, "params": '{"expression": "6*7"}', "kwargs": {}}

    async def measure() -> tuple[list[float], list[float]]:
        via_mcp: list[float] = []
        seed: list[float] = []
        http = create_mcp_http_client(headers={**auth, "X-Tenant-Id": tenant})
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as mcp, \
                httpx.AsyncClient(base_url=url, headers=auth, timeout=30) as plain:
            for _ in range(max(1, calls // 10) + 2):
                for _ in range(10):
                    t = time.perf_counter()
                    result = await mcp.call_tool("calculator", {"expression": "6*7"})
                    via_mcp.append((time.perf_counter() - t) * 1000)
                    assert result.content[0].text == "42", result  # type: ignore[union-attr]
                for _ in range(10):
                    t = time.perf_counter()
                    r = await plain.post("/execute_tool", json=body)
                    seed.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200 and r.json()["output"] == "42", r.text
        return via_mcp[20:], seed[20:]

    via_mcp, seed = asyncio.run(measure())
    return [
        _row("execute_tool (seed endpoint) via manager p50 / p99", seed),
        _row("tools/call on the manager's /mcp (SDK client) p50 / p99", via_mcp),
        _ratio("  /mcp vs seed endpoint (p50 ratio / added)", via_mcp, seed),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    rows = local_rows(ap.parse_args().calls)
    width = max(len(k) for k, _ in rows)
    print(f"\n{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|-{'-' * 24}")
    for k, v in rows:
        print(f"{k.ljust(width)} | {v}")


if __name__ == "__main__":
    main()
