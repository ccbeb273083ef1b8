"""Run a generator method on several components at once and yield their items as they arrive.

Actors: one Ray streaming generator per actor, multiplexed with ``ray.wait`` (blocks, never polls).
Plain objects: one thread per component feeding a queue. Errors are collected and the first is
raised after every other stream has finished, so one failing agent does not cut the others off.

A stream whose actor process dies (crash, OOM, its node lost) is started again once, from the
start, with ``attempt=2`` in its keywords, as soon as Ray has restarted the actor (an agent then
yields a retry notice first, see ``env_mixin``). If the actor is dead for good or not back within
``restart_timeout_s``, the stream is *lost*: ``on_lost(stream, reason)`` is told (the Task Center
disables the agent and its round goes on), or without ``on_lost`` an ``AgentLostError`` is raised
at the end. Ray itself never retries these calls (``host.py``): it would splice two runs.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from msagent.errors import AgentLostError
from msagent.runtime.calls import is_actor, iter_call

_DONE = object()
T = TypeVar("T")
DEFAULT_RESTART_TIMEOUT_S = 60.0


@dataclass
class Stream:
    """One generator call: ``target.method(*args, **kwargs)``; ``batched`` streams yield lists of
    items; ``roles`` name who speaks in it (for a lost stream's report)."""

    target: Any
    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    args: tuple[Any, ...] = ()
    batched: bool = False
    roles: tuple[str, ...] = ()


LostHandler = Callable[[Stream, str], None]


def fan_out(targets: Sequence[Any], method: str, kwargs_list: Sequence[dict[str, Any]]) -> Iterator[Any]:
    if len(targets) != len(kwargs_list):
        raise ValueError("fan_out needs one kwargs dict per target")
    return multiplex([Stream(t, method, dict(kw)) for t, kw in zip(targets, kwargs_list, strict=True)])


def iter_step(agent: Any, role: str = "", restart_timeout_s: float = DEFAULT_RESTART_TIMEOUT_S,
              **kwargs: Any) -> Iterator[str]:  # fmt: skip
    """One agent's ``step`` frames, retried once if its actor dies (``AgentLostError`` if it stays
    dead); a plain object steps in the caller's thread, as ``iter_call`` does."""
    if not is_actor(agent):
        return iter_call(agent, "step", **kwargs)
    return multiplex([Stream(agent, "step", kwargs, roles=(role,) if role else ())], restart_timeout_s)


def multiplex(
    streams: Sequence[Stream],
    restart_timeout_s: float = DEFAULT_RESTART_TIMEOUT_S,
    on_lost: LostHandler | None = None,
) -> Iterator[Any]:
    if not streams:
        return iter(())
    if all(is_actor(s.target) for s in streams):
        return _multiplex_ray(streams, restart_timeout_s, on_lost)
    return _multiplex_threads(streams)


@dataclass
class _Run:
    stream: Stream
    attempt: int = 1
    deadline: float = 0.0
    waiting: bool = False  # for the restarted actor to answer

    def submit(self) -> Any:
        s = self.stream
        kwargs = s.kwargs if self.attempt == 1 else {**s.kwargs, "attempt": self.attempt}
        self.waiting = False
        return getattr(s.target, s.method).remote(*s.args, **kwargs)


def _multiplex_ray(streams: Sequence[Stream], restart_timeout_s: float, on_lost: LostHandler | None) -> Iterator[Any]:
    import ray
    from ray.exceptions import RayActorError

    active: dict[Any, _Run] = {}
    for s in streams:
        run = _Run(s)
        active[run.submit()] = run
    errors: list[BaseException] = []

    def lose(run: _Run, reason: str) -> None:
        if on_lost is not None:
            on_lost(run.stream, reason)
        else:
            who = ", ".join(run.stream.roles) or run.stream.method
            errors.append(AgentLostError(f"{who}: {reason}", role=who, reason=reason))

    while active:
        waits = [r.deadline for r in active.values() if r.waiting]
        timeout = max(0.0, min(waits) - time.monotonic()) if waits else None
        ready, _ = ray.wait(list(active), num_returns=1, timeout=timeout)
        if not ready:  # a restart took too long
            now = time.monotonic()
            for ref, run in list(active.items()):
                if run.waiting and run.deadline <= now:
                    del active[ref]
                    lose(run, f"its actor died and did not come back within {restart_timeout_s:g} s")
            continue
        ref = ready[0]
        run = active.pop(ref)
        if run.waiting:  # the restarted actor answered (or is dead for good)
            try:
                ray.get(ref)
            except RayActorError as e:
                lose(run, f"its actor died and cannot be restarted ({_short(e)})")
                continue
            active[run.submit()] = run
            continue
        gen: Any = ref
        try:
            item = ray.get(next(gen))
        except StopIteration:
            continue
        except RayActorError as e:  # the process died mid-stream
            if run.attempt > 1:
                lose(run, f"its actor died again during the retried step ({_short(e)})")
                continue
            run.attempt, run.waiting = run.attempt + 1, True
            run.deadline = time.monotonic() + restart_timeout_s
            active[run.stream.target.__ray_ready__.remote()] = run
            continue
        except Exception as e:  # the step raised: keep the others streaming
            errors.append(_unwrap(e))
            continue
        active[ref] = run
        if run.stream.batched:
            yield from item
        else:
            yield item
    if errors:
        raise errors[0]


def _short(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return first[:200]


def _multiplex_threads(streams: Sequence[Stream]) -> Iterator[Any]:
    out: queue.Queue[tuple[str, Any]] = queue.Queue()
    threads = []
    for s in streams:
        make = functools.partial(iter_call, s.target, s.method, *s.args, **s.kwargs)
        source = _flatten(make) if s.batched else make
        threads.append(threading.Thread(target=_pump, args=(source, out), daemon=True, name=f"fanout-{s.method}"))
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


def _flatten(make: Callable[[], Iterable[Iterable[Any]]]) -> Callable[[], Iterator[Any]]:
    def items() -> Iterator[Any]:
        for batch in make():
            yield from batch

    return items


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
