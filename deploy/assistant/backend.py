"""Model instances per config (reused: building a client per request costs milliseconds) and the
bridge that keeps blocking model iterators off the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from msagent.llm.base import ChatModel
from msagent.llm.registry import get_chat_model

T = TypeVar("T")
_END = object()


class ModelCache:
    """A small LRU of chat models keyed by their config (instance state, never class state)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._models: OrderedDict[Any, ChatModel] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(config: dict[str, Any]) -> Any:
        # a tuple of the items when they are all plain values (the per-request case: no JSON
        # encoding per call), else their JSON; type names keep 1 and 1.0 and True apart
        try:
            key = tuple(sorted((k, type(v).__name__, v) for k, v in config.items()))
            hash(key)
            return key
        except TypeError:
            return json.dumps(config, sort_keys=True, default=str)

    def get(self, config: dict[str, Any]) -> ChatModel:
        key = self._key(config)
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
        model = get_chat_model(config)
        with self._lock:
            self._models[key] = model
            while len(self._models) > self.size:
                _, old = self._models.popitem(last=False)
                old.close()
        return model

    def close(self) -> None:
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()


class Worker:
    """Runs blocking calls and drains blocking iterators on a bounded thread pool."""

    def __init__(self, threads: int = 64) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="assistant")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def iterate(self, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """Items of ``make()`` as they come; one thread drains it, so there is one hop per
        item to the loop (not one thread switch per item). Exceptions re-raise here."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def drain() -> None:
            try:
                for item in make():
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                    if stop.is_set():
                        break
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            except BaseException as e:  # handed to the consumer, which re-raises it
                loop.call_soon_threadsafe(queue.put_nowait, _Failure(e))

        future = loop.run_in_executor(self.pool, drain)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            # a client that went away stops the drain at the next item
            stop.set()
            del future

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
