"""A small MCP server written with the official SDK, for the tests and the benchmark.

``python -m msagent.testing.mcp_demo_server`` speaks stdio; ``... --http PORT`` serves streamable HTTP
on 127.0.0.1:PORT/mcp. ``DEMO_PID_FILE`` (env) gets the process id, so tests can see it end.
``DEMO_PREFIX`` (env) prefixes ``echo``'s answers, so a test can tell two servers apart;
``DEMO_EXTRA_TOOL`` (env) adds a copy of ``echo`` under that name.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import EmbeddedResource, TextResourceContents

# a 1x1 transparent PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

server = MCPServer("demo", log_level="WARNING")
_arrived: dict[str, asyncio.Event] = {}


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def echo(text: str) -> str:
    """Repeat the text."""
    return os.environ.get("DEMO_PREFIX", "") + text


@server.tool()
async def rendezvous(me: str, peer: str, wait_s: float = 5.0) -> str:
    """Wait until a call with me=<peer> has arrived too (proves two calls are in flight together)."""
    _arrived.setdefault(me, asyncio.Event()).set()
    try:
        await asyncio.wait_for(_arrived.setdefault(peer, asyncio.Event()).wait(), wait_s)
    except asyncio.TimeoutError:
        return f"{me}: alone"
    return f"{me}: met {peer}"


@server.tool()
def crash() -> str:
    """Kill this server process in the middle of the call."""
    os._exit(3)


@server.tool()
def fail(why: str) -> str:
    """Raise an error with the given text."""
    raise ToolError(why)


@server.tool()
def picture() -> Image:
    """A 1x1 PNG."""
    return Image(data=PNG, format="png")


@server.tool()
def document() -> EmbeddedResource:
    """A text resource."""
    return EmbeddedResource(
        type="resource",
        resource=TextResourceContents(uri="memo://notes/1", mime_type="text/plain", text="remember the milk"),
    )


@server.tool()
def write_note(path: str, text: str) -> str:
    """Append a line of text to a file."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")
    return f"wrote {len(text)} characters"


@server.tool()
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


@server.tool()
def whoami() -> str:
    """The server's user id and host name (a tool node runs it as uid 10001 in its container)."""
    return f"uid={os.getuid()} host={socket.gethostname()}"


if os.environ.get("DEMO_EXTRA_TOOL"):
    server.add_tool(echo, name=os.environ["DEMO_EXTRA_TOOL"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=0, help="serve streamable HTTP on this port")
    args = parser.parse_args()
    if os.environ.get("DEMO_PID_FILE"):
        with open(os.environ["DEMO_PID_FILE"], "w") as f:
            f.write(str(os.getpid()))
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
