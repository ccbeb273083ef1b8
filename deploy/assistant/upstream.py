"""The relay's HTTP/1.1 client: a JSON ``POST`` to an OpenAI-compatible back end over a pool of
keep-alive connections, its answer read whole or as it arrives.

Why not aiohttp (still used for back ends behind a proxy, and for ``GET /v1/models``): per call it
builds a request, a response, a stream reader, header multidicts and timeout handles, about a fifth
of the replica's CPU per relayed request (``benchmarks/bench_assistant.py``). Here a connection is
its own answer: the request is one pre-built ``write``; the answer is parsed in ``data_received``
by httptools (the C parser uvicorn uses, a dependency of Ray Serve's uvicorn) into the connection's
fields; ``read`` / ``chunks`` wait on one future with one timer. Per call: that future and timer.

What it keeps of aiohttp's behaviour: TLS with the given context; a timeout per operation (getting
a connection, then each wait for bytes: a stream that keeps sending is never cut); a connection
goes back to the pool only when its answer was read to the end and the server keeps it alive;
a reused connection that the server closed before answering is retried once on a new one (nothing
of the answer was seen); gzip/deflate answers are decoded. Errors are ``OSError`` (``UpstreamError``
for protocol breaks) or ``asyncio.TimeoutError``, as aiohttp's are mapped in ``fastpath.py``.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httptools

HIGH_WATER = 256 * 1024  # body bytes buffered before the socket stops being read (a slow consumer)
_PREFIXES_MAX = 1024


class UpstreamError(ConnectionError):
    """The back end broke HTTP: an unparseable answer, a connection closed mid-answer."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


class Connection(asyncio.Protocol):
    """One keep-alive connection, and the answer to the request it carries (``status``,
    ``headers`` with lower-case names, the body through ``read`` or ``chunks``, then ``release``)."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = self.pooled = False
        self.timeout = 60.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.head_done = self.complete = self.paused = self.seen = self.keep_alive = False
        self.body: list[bytes] = []
        self.buffered = 0
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.decoder: Any = None

    # --- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.pooled:  # bytes on an idle connection answer nothing we asked: it is not reused
            self._close()
            return
        self.seen = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(UpstreamError(f"the back end's answer is not valid HTTP: {e}"))
            self._close()
            return
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.head_done and not self.complete and "content-length" not in self.headers \
                and "transfer-encoding" not in self.headers:
            self.complete = True  # a body without length or chunks ends when the connection does
        elif not self.complete:
            self._fail(UpstreamError(f"the back end closed the connection{f' ({exc})' if exc else ''}"))
        self._wake()

    # --- httptools callbacks -----------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:
            return  # an interim answer (100 Continue): the real one follows
        self.head_done = True
        self.keep_alive = self.parser.should_keep_alive()  # (llhttp forgets it once the message is complete)
        coding = self.headers.get("content-encoding", "identity").lower()
        if coding in ("gzip", "deflate", "x-gzip"):
            self.decoder = zlib.decompressobj(47)  # gzip or zlib, told by the header bytes
        elif coding != "identity":
            self._fail(UpstreamError(f"the back end's answer has content-encoding {coding!r}, which is not supported"))

    def on_body(self, data: bytes) -> None:
        if self.decoder is not None:
            try:
                data = self.decoder.decompress(data)
            except zlib.error as e:
                self._fail(UpstreamError(f"the back end's compressed answer is corrupt: {e}"))
                return
        if data:
            self.body.append(data)
            self.buffered += len(data)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:
            self.headers = {}
            return
        self.complete = True

    # --- the answer ----------------------------------------------------------------------------------
    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        """Until more of the answer (or its end, or a failure) arrives; at most ``timeout`` s."""
        if self.error is not None:
            raise self.error
        waiter = self.waiter = self.loop.create_future()
        timer = self.loop.call_later(self.timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    async def head(self) -> None:
        while not self.head_done:
            if self.closed and self.error is None:
                raise UpstreamError("the back end closed the connection before answering")
            await self._wait()

    def _take(self) -> bytes:
        data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body.clear()
        self.buffered = 0
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()
        return data

    async def read(self) -> bytes:
        """The whole body."""
        while not self.complete:
            await self._wait()
        if self.error is not None:
            raise self.error
        return self._take()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, a network read's worth at a time."""
        while True:
            if self.body:
                yield self._take()
            elif self.complete:
                if self.error is not None:
                    raise self.error
                return
            else:
                await self._wait()

    def release(self) -> None:
        """Back to the pool if the answer was read to its end and the server keeps the connection,
        else closed. Idempotent."""
        if self.closed or self.pooled:
            return
        if self.complete and self.error is None and not self.body and self.keep_alive:
            self._reset()
            self.pool.put(self)
        else:
            self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True
        self.pool.forget(self)


class _Pool:
    """The keep-alive connections to one origin (at most ``limit`` at a time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, ssl_context: ssl.SSLContext | None,
                 limit: int) -> None:
        self.loop, self.host, self.port, self.ssl, self.limit = loop, host, port, ssl_context, limit
        self.idle: list[Connection] = []
        self.live: set[Connection] = set()
        self.waiters: list[asyncio.Future[None]] = []

    async def get(self, timeout: float) -> tuple[Connection, bool]:
        """(a connection, whether it was used before)."""
        while True:
            while self.idle:
                conn = self.idle.pop()
                conn.pooled = False
                if not conn.closed:
                    return conn, True
            if len(self.live) < self.limit:
                break
            waiter = self.loop.create_future()
            self.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            finally:
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
        conn = Connection(self)
        self.live.add(conn)
        try:
            await asyncio.wait_for(self.loop.create_connection(
                lambda: conn, self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None,
            ), timeout)
        except BaseException:
            self.forget(conn)
            raise
        return conn, False

    def put(self, conn: Connection) -> None:
        conn.pooled = True
        self.idle.append(conn)
        self._next()

    def forget(self, conn: Connection) -> None:
        self.live.discard(conn)
        if conn.pooled:
            conn.pooled = False
            self.idle.remove(conn)
        self._next()

    def _next(self) -> None:
        while self.waiters:
            waiter = self.waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        for conn in list(self.live):
            conn._close()


class Upstream:
    """Pools per origin; create it on the event loop that serves the requests."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_connections: int = 256) -> None:
        self.ssl = ssl_context
        self.max_connections = max_connections
        self.pools: dict[tuple[str, str, int], _Pool] = {}
        # (url, authorization) -> the request's bytes up to the Content-Length value
        self._prefixes: dict[tuple[str, str], tuple[_Pool, bytes]] = {}

    def _target(self, url: str, authorization: str) -> tuple[_Pool, bytes]:
        found = self._prefixes.get((url, authorization))
        if found is not None:
            return found
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        key = (parts.scheme, parts.hostname, port)
        pool = self.pools.get(key)
        if pool is None:
            context = (self.ssl or ssl.create_default_context()) if tls else None
            pool = self.pools[key] = _Pool(asyncio.get_running_loop(), parts.hostname, port, context,
                                           self.max_connections)
        host = parts.netloc.rpartition("@")[2]
        if any(c in authorization for c in "\r\n\0"):
            raise ValueError("the back-end key has a line break in it")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        prefix = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\n"
                  "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                  "Accept-Encoding: gzip, deflate\r\nUser-Agent: msagent\r\nContent-Length: ").encode("latin-1")
        if len(self._prefixes) >= _PREFIXES_MAX:
            self._prefixes.clear()
        found = self._prefixes[(url, authorization)] = (pool, prefix)
        return found

    async def post(self, url: str, authorization: str, body: bytes, timeout: float) -> Connection:
        """Send ``body``; returns once the answer's status line and headers are in (the body is
        read from the returned connection, which must then be ``release``d)."""
        pool, prefix = self._target(url, authorization)
        request = b"".join((prefix, str(len(body)).encode(), b"\r\n\r\n", body))
        for attempt in (1, 2):
            conn, reused = await pool.get(timeout)
            conn.timeout = timeout
            assert conn.transport is not None
            try:
                conn.transport.write(request)
                await conn.head()
                return conn
            except asyncio.TimeoutError:
                conn._close()
                raise
            except OSError:
                conn._close()
                if attempt == 1 and reused and not conn.seen:
                    continue  # the server let go of an idle connection as it was taken: once more
                raise
            except BaseException:
                conn._close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
        self._prefixes.clear()
