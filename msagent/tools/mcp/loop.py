"""``LoopThread``: an asyncio event loop on a daemon thread, so sync agents can drive the async SDK.

Agents are synchronous (they run in threads and Ray actors); the MCP SDK is async and its sessions
must be entered and left in one task. Each MCP tool set owns one such loop: sessions live in
tasks on it, and ``run`` hands a coroutine over from any thread and waits for its result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from msagent.errors import RuntimeFailure

log = logging.getLogger(__name__)
T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "msagent-mcp") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=main, name=self.name, daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop

    @property
    def running(self) -> bool:
        return self._loop is not None and self._loop.is_running()

    def in_loop(self) -> bool:
        """True on the loop's own thread, where waiting for the loop would never end."""
        return self._thread is threading.current_thread()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._loop is None or not self._loop.is_running():
            coro.close()
            raise RuntimeFailure(f"the {self.name} event loop is stopped (the MCP tools were closed)")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait; on timeout the task is cancelled and TimeoutError raised."""
        if self.in_loop():
            coro.close()
            raise RuntimeFailure(f"{self.name}: a blocking MCP call from the event loop's own thread")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout:g} s") from None

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what still runs on the loop (sessions close their servers), then end the thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if thread is threading.current_thread():  # collected on the loop's own thread: no waiting here
            asyncio.ensure_future(_cancel_all(timeout), loop=loop).add_done_callback(lambda _: loop.stop())
            return
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(_cancel_all(timeout), loop).result(timeout + 1)
            except Exception:  # noqa: BLE001  (shutting down: log and go on)
                log.debug("%s: tasks did not stop cleanly", self.name, exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


async def _cancel_all(timeout: float) -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
