"""``create_component``: the one switch between a plain object and a named Ray actor.

``create_component(cls, name, remote=False, prefix_name=None, max_concurrency=None,
force_new=False, num_cpus=0, max_restarts=None, **kwargs)``

- local: ``cls(**kwargs)`` (plus ``name``/``remote``/``prefix_name`` when ``cls`` accepts them);
  Ray is not started.
- remote: the named actor ``{prefix_name}_{name}`` (see ``ComponentId.actor_name``), reused when it
  exists, killed and replaced with ``force_new=True``. Actors take ``num_cpus=0`` so hundreds fit.
  A class may publish defaults in ``actor_defaults`` (a read-only mapping), e.g. the Environment
  asks for ``max_restarts`` so Ray restarts it after a crash and retries calls in flight.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Mapping
from typing import Any

from msagent.errors import ConfigError
from msagent.runtime.ids import ComponentId

_PASSED_IF_ACCEPTED = ("name", "remote", "prefix_name")


def _accepted(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            names.update(inspect.signature(init).parameters)
        except (TypeError, ValueError):
            continue
    return names


def init_kwargs(cls: type, name: str, remote: bool, prefix_name: str | None, kwargs: dict[str, Any]) -> dict:
    accepted = _accepted(cls)
    out = dict(kwargs)
    for key, value in (("name", name), ("remote", remote), ("prefix_name", prefix_name)):
        if key in accepted:
            out.setdefault(key, value)
    return out


@functools.cache
def _actor_class(cls: type) -> Any:
    import ray

    return ray.remote(cls)


def _ensure_ray() -> None:
    import ray

    if not ray.is_initialized():
        # Joins RAY_ADDRESS (e.g. under `ray job submit`) or starts a local cluster.
        ray.init()


def create_component(
    cls: type,
    name: str,
    remote: bool = False,
    prefix_name: str | None = None,
    max_concurrency: int | None = None,
    force_new: bool = False,
    num_cpus: float = 0,
    max_restarts: int | None = None,
    **kwargs: Any,
) -> Any:
    """Build ``cls`` as a plain object or as the named Ray actor ``{prefix_name}_{name}``."""
    if not isinstance(cls, type):
        raise ConfigError(f"create_component needs a class, got {cls!r}")
    cid = ComponentId(name=name, prefix=prefix_name)
    args = init_kwargs(cls, name, remote, prefix_name, kwargs)
    if not remote:
        return cls(**args)
    _ensure_ray()
    import ray

    actor_name = cid.actor_name
    if force_new:
        kill_component(actor_name)
    else:
        try:
            return ray.get_actor(actor_name)
        except ValueError:
            pass
    defaults: Mapping[str, Any] = getattr(cls, "actor_defaults", {}) or {}
    options: dict[str, Any] = {
        "name": actor_name,
        "num_cpus": num_cpus,
        "max_concurrency": max_concurrency or defaults.get("max_concurrency", 1),
    }
    restarts = max_restarts if max_restarts is not None else defaults.get("max_restarts", 0)
    if restarts:
        # Calls in flight when the actor dies are retried on the restarted one; our stateful
        # components make those calls idempotent (message ids, max-acks).
        options.update(max_restarts=restarts, max_task_retries=-1)
    actor_cls = _actor_class(cls)
    deadline = time.monotonic() + 10
    while True:
        try:
            return actor_cls.options(**options).remote(**args)
        except ValueError:
            # The name is still held by an actor being killed, or another caller created it first.
            if not force_new:
                try:
                    return ray.get_actor(actor_name)
                except ValueError:
                    pass
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def kill_component(actor_name: str) -> bool:
    """Kill the named actor if it exists (no restart) and wait until its name is free."""
    import ray

    try:
        handle = ray.get_actor(actor_name)
    except ValueError:
        return False
    ray.kill(handle, no_restart=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            ray.get_actor(actor_name)
        except ValueError:
            return True
        time.sleep(0.02)
    return True


def get_component(name: str, prefix_name: str | None = None) -> Any:
    """The named actor created by ``create_component`` (``ValueError`` if there is none)."""
    import ray

    return ray.get_actor(ComponentId(name=name, prefix=prefix_name).actor_name)
