"""Call a component the same way whether it is a plain object or a Ray actor handle.

This is the only place (with ``component`` and ``fanout``) where ``ray`` is imported, lazily,
so that Environment, AgentRegistry, TaskCenter and agents stay free of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def is_actor(obj: Any) -> bool:
    """True for a Ray actor handle (checked without importing ray)."""
    kind = type(obj)
    return kind.__name__ == "ActorHandle" and kind.__module__.startswith("ray")


def is_remote(obj: Any) -> bool:
    """An actor handle, or a plain object standing for actors that other processes use too (a
    sharded environment's router, whose shards are actors)."""
    return is_actor(obj) or getattr(obj, "over_actors", False) is True


def call(target: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """``target.method(*args, **kwargs)``, waiting for the result when ``target`` is an actor."""
    if is_actor(target):
        import ray

        return ray.get(getattr(target, method).remote(*args, **kwargs))
    return getattr(target, method)(*args, **kwargs)


class Pending:
    """A call made by ``call_async``; ``result()`` waits for its value (or raises its error)."""

    def __init__(self, ref: Any = None, thunk: Any = None) -> None:
        self._ref = ref
        self._thunk = thunk

    def result(self) -> Any:
        if self._thunk is not None:
            return self._thunk()
        import ray

        return ray.get(self._ref)


def call_async(target: Any, method: str, *args: Any, **kwargs: Any) -> Pending:
    """Start ``target.method(...)`` without waiting: an actor call is sent at once, so several
    of them overlap; a plain object's call runs when ``result()`` is asked for."""
    if is_actor(target):
        return Pending(ref=getattr(target, method).remote(*args, **kwargs))
    return Pending(thunk=lambda: getattr(target, method)(*args, **kwargs))


def call_many(targets: Sequence[Any], method: str, *args: Any, **kwargs: Any) -> list[Any]:
    """The same call on several targets; actor calls are issued together, then awaited together."""
    refs: dict[int, Any] = {}
    results: list[Any] = [None] * len(targets)
    for i, target in enumerate(targets):
        if is_actor(target):
            refs[i] = getattr(target, method).remote(*args, **kwargs)
    for i, target in enumerate(targets):
        if i not in refs:
            results[i] = getattr(target, method)(*args, **kwargs)
    if refs:
        import ray

        for i, value in zip(refs, ray.get(list(refs.values())), strict=False):
            results[i] = value
    return results


def alive(target: Any, timeout_s: float = 5.0) -> bool:
    """Whether an actor answers within ``timeout_s`` (waiting through a restart); a plain object is."""
    if not is_actor(target):
        return True
    import ray

    ref = target.__ray_ready__.remote()
    ready, _ = ray.wait([ref], timeout=timeout_s)
    if not ready:
        return False
    try:
        ray.get(ref)
    except ray.exceptions.RayActorError:
        return False
    return True


def iter_call(target: Any, method: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """Iterate a generator method; on an actor it is a Ray streaming generator."""
    if is_actor(target):
        import ray

        for ref in getattr(target, method).remote(*args, **kwargs):
            yield ray.get(ref)
        return
    yield from getattr(target, method)(*args, **kwargs)
