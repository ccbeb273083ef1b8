"""MCP fixtures: the demo server (tests/mcp/demo_server.py, written with the SDK) over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mcp_helpers import start_http_demo, stop


@pytest.fixture(scope="session")
def http_demo() -> Iterator[str]:
    """The demo server on streamable HTTP (127.0.0.1, a free port): its /mcp URL."""
    proc, url = start_http_demo(DEMO_PREFIX="remote:")
    yield url
    stop(proc)
