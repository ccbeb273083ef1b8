"""The relay's HTTP/1.1 client (deploy/assistant/upstream.py) against real sockets on 127.0.0.1: a
server thread that answers each request with exactly the bytes a test gives (keep-alive, chunked,
gzip, no length, cut off, silent), counting the connections it accepted."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deploy.assistant.upstream import HIGH_WATER, Upstream, UpstreamError
from msagent.ports import free_port

# one answer: the bytes to send (None: close without answering; "hang": say nothing), and whether
# to close the connection after it
Answer = tuple[Any, bool]


def ok(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def chunked(*parts: bytes, end: bool = True) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    out += b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)
    return out + (b"0\r\n\r\n" if end else b"")


class ScriptedServer:
    """Answers the n-th request (over all connections) with ``script(n, request_bytes)``."""

    def __init__(self, script: Callable[[int, bytes], Answer]) -> None:
        self.script = script
        self.port = free_port()
        self.connections = 0
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return None, b""
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += conn.recv(65536)
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def _connection(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while not self.stop.is_set():
                request, buffer = self._read_request(conn, buffer)
                if request is None:
                    return
                self.requests.append(request)
                answer, close = self.script(len(self.requests), request)
                if answer == "hang":
                    self.stop.wait(5)
                    return
                if answer is None:
                    return
                for piece in answer if isinstance(answer, list) else [answer]:
                    conn.sendall(piece)
                    time.sleep(0.01)
                if close:
                    return

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(2)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int, bytes], Answer]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Callable[[int, bytes], Answer]) -> ScriptedServer:
        server = ScriptedServer(script).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


async def _call(client: Upstream, url: str, body: bytes = b'{"x":1}', timeout: float = 5.0, stream: bool = False) -> Any:
    conn = await client.post(url, "Bearer sk-1", body, timeout)
    try:
        if stream:
            return conn.status, [c async for c in conn.chunks()]
        return conn.status, await conn.read()
    finally:
        conn.release()


def run(coro_fn: Callable[[Upstream], Any]) -> Any:
    async def main() -> Any:
        client = Upstream()
        try:
            return await coro_fn(client)
        finally:
            client.close()

    return asyncio.run(main())


def test_one_connection_kept_alive_for_many_calls(serve: Any) -> None:
    server = serve(lambda n, _: (ok(b'{"n":%d}' % n), False))

    async def calls(client: Upstream) -> list[Any]:
        return [await _call(client, server.url, b'{"q":"\xe6\xb5\xb7"}') for _ in range(5)]

    assert run(calls) == [(200, b'{"n":%d}' % n) for n in range(1, 6)]
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer sk-1" in head and b"\r\nContent-Length: 11" in head
    assert body == b'{"q":"\xe6\xb5\xb7"}'


def test_a_chunked_stream_arrives_as_it_comes_and_the_connection_is_reused(serve: Any) -> None:
    frames = [b"data: {\"a\":1}\n\n", b"data: {\"a\":2}\n\n", b"data: [DONE]\n\n"]
    answer = chunked(*frames)
    cut = answer.index(frames[1])  # the second frame comes in a later packet
    server = serve(lambda n, _: ([answer[:cut], answer[cut:]], False))

    async def calls(client: Upstream) -> list[Any]:
        return [await _call(client, server.url, stream=True) for _ in range(2)]

    (status, chunks), again = run(calls)
    assert status == 200 and b"".join(chunks) == b"".join(frames) and len(chunks) >= 2
    assert b"".join(again[1]) == b"".join(frames) and server.connections == 1


def test_gzip_answers_are_decoded(serve: Any) -> None:
    packed = gzip.compress(b'{"ok":true}')
    server = serve(lambda n, _: (ok(packed, "Content-Encoding: gzip"), False))
    assert run(lambda c: _call(c, server.url)) == (200, b'{"ok":true}')


def test_a_body_without_length_ends_with_the_connection(serve: Any) -> None:
    server = serve(lambda n, _: (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + b'{"till":"close"}', True))

    async def calls(client: Upstream) -> list[Any]:
        return [await _call(client, server.url) for _ in range(2)]

    assert run(calls) == [(200, b'{"till":"close"}')] * 2
    assert server.connections == 2  # not kept: its end was the close


def test_a_connection_cut_mid_body_is_an_error_not_an_end(serve: Any) -> None:
    server = serve(lambda n, _: (chunked(b"data: {\"a\":1}\n\n", end=False), True))
    with pytest.raises(UpstreamError, match="closed the connection"):
        run(lambda c: _call(c, server.url, stream=True))
    assert issubclass(UpstreamError, OSError)  # mapped like a socket error by the relay


def test_an_idle_connection_the_server_dropped_is_replaced_once(serve: Any) -> None:
    # request 2 arrives on the kept connection, which the server then closes without answering
    # (it timed the connection out as the request came): the call goes again on a new connection
    server = serve(lambda n, _: (None, True) if n == 2 else (ok(b'{"n":%d}' % n), False))

    async def calls(client: Upstream) -> list[Any]:
        return [await _call(client, server.url) for _ in range(2)]

    assert run(calls) == [(200, b'{"n":1}'), (200, b'{"n":3}')]
    assert server.connections == 2


def test_a_new_connection_closed_without_an_answer_is_not_retried(serve: Any) -> None:
    server = serve(lambda n, _: (None, True))
    with pytest.raises(UpstreamError, match="before answering|closed the connection"):
        run(lambda c: _call(c, server.url))
    assert len(server.requests) == 1


def test_silence_past_the_timeout_is_a_timeout(serve: Any) -> None:
    server = serve(lambda n, _: ("hang", True))
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        run(lambda c: _call(c, server.url, timeout=0.3))
    assert time.monotonic() - started < 3 and len(server.requests) == 1  # no second try after a timeout


def test_nobody_listening_is_an_os_error() -> None:
    with pytest.raises(OSError):
        run(lambda c: _call(c, f"http://127.0.0.1:{free_port()}/v1/chat/completions"))


def test_a_large_body_read_slowly_arrives_whole(serve: Any) -> None:
    big = bytes(range(256)) * (3 * HIGH_WATER // 256)
    server = serve(lambda n, _: (ok(big), False))

    async def slow(client: Upstream) -> bytes:
        conn = await client.post(server.url, "Bearer k", b"{}", 5.0)
        got = []
        async for chunk in conn.chunks():
            got.append(chunk)
            await asyncio.sleep(0.01)  # the socket is paused while the buffer is full
        conn.release()
        return b"".join(got)

    assert run(slow) == big


def test_an_interim_answer_is_skipped(serve: Any) -> None:
    server = serve(lambda n, _: (b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b'{"after":"100"}'), False))
    assert run(lambda c: _call(c, server.url)) == (200, b'{"after":"100"}')


def test_an_answer_that_is_not_http_is_an_error(serve: Any) -> None:
    server = serve(lambda n, _: (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", True))
    with pytest.raises(UpstreamError, match="not valid HTTP"):
        run(lambda c: _call(c, server.url))


def test_error_statuses_come_back_with_their_body(serve: Any) -> None:
    body = b'{"error":{"message":"slow down"}}'
    server = serve(lambda n, _: (f"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                                 + body, False))
    conn_info = run(lambda c: _headers_of(c, server.url))
    assert conn_info == (429, "3", body)


async def _headers_of(client: Upstream, url: str) -> tuple[int, str, bytes]:
    conn = await client.post(url, "Bearer k", b"{}", 5.0)
    try:
        return conn.status, conn.headers["retry-after"], await conn.read()
    finally:
        conn.release()


def test_a_key_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        run(lambda c: c.post("http://127.0.0.1:9/v1/chat/completions", "Bearer a\r\nX-Evil: 1", b"{}", 1.0))


def test_bytes_on_an_idle_connection_retire_it(serve: Any) -> None:
    stale = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"
    server = serve(lambda n, _: ([ok(b'{"n":%d}' % n), stale] if n == 1 else ok(b'{"n":%d}' % n), False))

    async def calls(client: Upstream) -> list[Any]:
        first = await _call(client, server.url)
        await asyncio.sleep(0.2)  # the stray answer arrives while the connection waits in the pool
        return [first, await _call(client, server.url)]

    assert run(calls) == [(200, b'{"n":1}'), (200, b'{"n":2}')]
    assert server.connections == 2
