"""``MCPConnection``: one session with one MCP server, held open on a ``LoopThread``.

The SDK's ``Client`` is entered and left inside one task (``_hold``), as anyio requires; calls from
any thread go to the loop and run concurrently over that one session. When the server dies (the
connection closes under a call) the call fails and the session is marked dead; the next call starts
the server again, once: if that start fails too, the call fails and the one after tries again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp import types as mcp_types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from msagent.errors import MCPServerError, ToolError, ToolTimeoutError
from msagent.tools.mcp.config import MCPServerConfig
from msagent.tools.mcp.loop import LoopThread

log = logging.getLogger(__name__)
CONNECTION_CLOSED = mcp_types.CONNECTION_CLOSED
CLOSE_TIMEOUT = 10.0


class _Session:
    """One started server: the task holding the ``Client`` open and the event that ends it."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.task: asyncio.Task[None] | None = None
        self.closing = asyncio.Event()
        self.dead = False


class MCPConnection:
    def __init__(self, name: str, config: MCPServerConfig, loop: LoopThread) -> None:
        self.name = name
        self.config = config
        self._loop = loop
        self._session: _Session | None = None
        self._lock = threading.Lock()
        self.starts = 0  # how many times the server was started (1 + restarts)

    # --- lifecycle --------------------------------------------------------------------------------
    def open(self) -> list[mcp_types.Tool]:
        """Start the server and list its tools; ``MCPServerError`` naming the server if it fails."""
        with self._lock:
            self._start()
        return self.list_tools()

    def _start(self) -> None:
        timeout = self.config.connect_timeout
        try:
            self._session = self._loop.run(self._open(), timeout)
        except TimeoutError:
            raise MCPServerError(
                f"MCP server '{self.name}' ({self.config.describe()}) did not answer within {timeout:g} s; "
                "check that it starts and speaks MCP, or raise 'connect_timeout'", server=self.name,
            ) from None
        except MCPServerError:
            raise
        except Exception as e:  # noqa: BLE001  (whatever the SDK or the OS raised, said with the server's name)
            reason = (_http_refusal(self.config) if self.config.url else None) or _reason(e)
            if self.config.command and reason == "Connection closed":
                reason = "it exited before answering (its error output went to this process's stderr)"
            verb = "started" if self.config.command else "reached"
            raise MCPServerError(
                f"MCP server '{self.name}' ({self.config.describe()}) could not be {verb}: {reason}",
                server=self.name,
            ) from e
        self.starts += 1

    async def _open(self) -> _Session:
        session = _Session()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        session.task = asyncio.create_task(self._hold(session, ready), name=f"mcp-{self.name}")
        try:
            await asyncio.shield(ready)
        except asyncio.CancelledError:  # the start timed out: end the half-open session
            session.closing.set()
            session.task.cancel()
            raise
        return session

    async def _hold(self, session: _Session, ready: asyncio.Future[None]) -> None:
        try:
            async with Client(self._target(), mode="legacy", cache=None) as client:
                session.client = client
                ready.set_result(None)
                await session.closing.wait()
        except BaseException as e:
            if not ready.done():
                ready.set_exception(e if isinstance(e, Exception) else MCPServerError(f"start cancelled ({e!r})"))
            elif not session.closing.is_set():
                log.warning("MCP server %r: session ended: %s", self.name, _reason(e))
            if not isinstance(e, Exception):
                raise
        finally:
            session.dead = True
            session.client = None

    def _target(self) -> Any:
        c = self.config
        if c.command is not None:
            params = StdioServerParameters(command=c.command, args=c.args, env=c.env, cwd=c.cwd)
            return stdio_client(params, errlog=_errlog())
        http = create_mcp_http_client(headers=c.headers or None)
        return streamable_http_client(str(c.url), http_client=http)

    def close(self) -> None:
        """End the session (a stdio server process is stopped). Safe to call twice."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None and self._loop.running and self._loop.in_loop():
            self._loop.submit(_end(session))  # on the loop's own thread: end it without waiting
        elif session is not None and self._loop.running:
            try:
                self._loop.run(_end(session), CLOSE_TIMEOUT + 1)
            except Exception:  # noqa: BLE001  (closing: the loop's stop cancels what is left)
                log.debug("MCP server %r did not close cleanly", self.name, exc_info=True)

    # --- calls ------------------------------------------------------------------------------------
    def _client(self) -> Client:
        """The live client; a dead server is started again (once per call)."""
        with self._lock:
            session = self._session
            if session is None or session.dead or session.client is None:
                if session is not None:
                    self._session = None
                    self._loop.submit(_end(session))
                log.info("MCP server %r: starting it again", self.name)
                try:
                    self._start()
                except MCPServerError as e:
                    raise ToolError(f"{e.message} (it had stopped; the next call tries again)") from None
                session = self._session
            assert session is not None and session.client is not None
            return session.client

    def list_tools(self) -> list[mcp_types.Tool]:
        client = self._client()

        async def all_pages() -> list[mcp_types.Tool]:
            tools: list[mcp_types.Tool] = []
            cursor: str | None = None
            while True:
                page = await client.list_tools(cursor=cursor)
                tools += page.tools
                cursor = page.next_cursor
                if not cursor:
                    return tools

        return self._run(all_pages(), self.config.connect_timeout, "tools/list")

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        client = self._client()
        return self._run(client.call_tool(tool, arguments), self.config.timeout, f"tool '{tool}'")

    def _run(self, coro: Any, timeout: float, what: str) -> Any:
        try:
            return self._loop.run(coro, timeout)
        except TimeoutError:
            raise ToolTimeoutError(
                f"MCP server '{self.name}': {what} did not finish within {timeout:g} s (the call was cancelled)"
            ) from None
        except MCPError as e:
            if e.code == CONNECTION_CLOSED:
                self._mark_dead()
                raise ToolError(
                    f"MCP server '{self.name}' closed the connection during {what} (the server stopped or "
                    "crashed); it is started again for the next call"
                ) from None
            raise ToolError(f"MCP server '{self.name}' refused {what}: {e.message} (code {e.code})") from None
        except ToolError:
            raise
        except Exception as e:  # noqa: BLE001  (transport failures: the server is unreachable)
            self._mark_dead()
            raise ToolError(f"MCP server '{self.name}' failed during {what}: {_reason(e)}; "
                            "it is started again for the next call") from e

    def _mark_dead(self) -> None:
        session = self._session
        if session is not None:
            session.dead = True


async def _end(session: _Session) -> None:
    session.closing.set()
    task = session.task
    if task is None or task.done():
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT)
    except (asyncio.TimeoutError, Exception):  # noqa: BLE001
        task.cancel()


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: ours when it is a real file (not under pytest's capture,
    a notebook or a Gradio worker, which have no file descriptor), else the process's own."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (AttributeError, OSError, ValueError):
            continue
    return open(os.devnull, "w")  # noqa: SIM115  (kept open for the server's lifetime)


def _http_refusal(config: MCPServerConfig) -> str | None:
    """The SDK reports a refused HTTP request without its status; ask once more to say why."""
    import httpx

    hello = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "msagent", "version": "0"}}}
    headers = {"Accept": "application/json, text/event-stream", **config.headers}
    try:
        r = httpx.post(str(config.url), json=hello, headers=headers, timeout=5.0)
    except httpx.HTTPError:
        return None
    if r.status_code < 400:
        return None
    return f"HTTP {r.status_code} {r.reason_phrase}: {r.text.strip()[:300]}"


def _reason(e: BaseException) -> str:
    """The innermost useful message of an exception (task groups wrap them in exception groups)."""
    while getattr(e, "exceptions", None):
        e = e.exceptions[0]  # type: ignore[attr-defined]
    return str(e) or type(e).__name__
