"""Run a generator method on several components at once and yield their items as they arrive.

Actors: one Ray streaming generator per actor, multiplexed with ``ray.wait`` (blocks, never polls).
Plain objects: one thread per component feeding a queue. Errors are collected and the first is
raised after every other stream has finished, so one failing agent does not cut the others off.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from msagent.runtime.calls import is_actor, iter_call

_DONE = object()
T = TypeVar("T")


def fan_out(targets: Sequence[Any], method: str, kwargs_list: Sequence[dict[str, Any]]) -> Iterator[Any]:
    if len(targets) != len(kwargs_list):
        raise ValueError("fan_out needs one kwargs dict per target")
    if not targets:
        return iter(())
    if all(is_actor(t) for t in targets):
        return _fan_out_ray(targets, method, kwargs_list)
    return _fan_out_threads(targets, method, kwargs_list)


def _fan_out_ray(targets: Sequence[Any], method: str, kwargs_list: Sequence[dict[str, Any]]) -> Iterator[Any]:
    import ray

    pending: list[Any] = [getattr(t, method).remote(**kw) for t, kw in zip(targets, kwargs_list, strict=False)]
    errors: list[BaseException] = []
    while pending:
        ready, _ = ray.wait(pending, num_returns=1, timeout=None)
        gen: Any
        for gen in ready:
            try:
                ref = next(gen)
            except StopIteration:
                pending.remove(gen)
                continue
            try:
                yield ray.get(ref)
            except Exception as e:  # the agent's step raised: keep the others streaming
                errors.append(_unwrap(e))
                pending.remove(gen)
    if errors:
        raise errors[0]


def _fan_out_threads(
    targets: Sequence[Any], method: str, kwargs_list: Sequence[dict[str, Any]]
) -> Iterator[Any]:
    out: queue.Queue[tuple[str, Any]] = queue.Queue()
    threads = [
        threading.Thread(
            target=_pump, args=(functools.partial(iter_call, t, method, **kw), out),
            daemon=True, name=f"fanout-{method}",
        )
        for t, kw in zip(targets, kwargs_list, strict=False)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    errors: list[BaseException] = []
    running = len(threads)
    while running:
        kind, value = out.get()
        if kind == "item":
            yield value
        elif kind == "error":
            errors.append(_unwrap(value))
        else:
            running -= 1
    if errors:
        raise errors[0]


def _pump(make: Callable[[], Iterable[Any]], out: queue.Queue[tuple[str, Any]], stop: threading.Event | None = None) -> None:
    """In a thread: put ``("item", x)`` for each item of ``make()``, ``("error", e)`` if it fails,
    then ``("done", _DONE)``; stops early once ``stop`` is set (and closes the source)."""
    source: Iterator[Any] | None = None
    try:
        source = iter(make())
        for item in source:
            out.put(("item", item))
            if stop is not None and stop.is_set():
                break
    except BaseException as e:  # reported to the consumer, re-raised there
        out.put(("error", e))
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
        out.put(("done", _DONE))


def _unwrap(error: BaseException) -> BaseException:
    """Ray wraps an actor's exception in RayTaskError; give back ours when it is there."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error


def read_ahead(items: Iterable[T], name: str = "read-ahead") -> Iterator[T]:
    """``items``, produced by a thread of their own and handed over as soon as each exists.

    A model that streams from the same thread that yields Ray streaming-generator items is slowed
    by each yield (serialization, a report to the owner): 50 tokens cost the whole round their
    sum. With the producer in its own thread the model keeps its pace and the consumer only takes
    items that are already there; nothing is held back or merged, so frames stay token by token.
    Closing the iterator early stops the producer at its next item (and closes ``items``).
    """
    out: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=_pump, args=(lambda: items, out, stop), daemon=True, name=name).start()
    try:
        while True:
            kind, value = out.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
