"""``create_component``: the one switch between a plain object and a named Ray actor.

``create_component(cls, name, remote=False, prefix_name=None, max_concurrency=None,
force_new=False, num_cpus=0, max_restarts=None, actor_options=None, **kwargs)``

- local: ``cls(**kwargs)`` (plus ``name``/``remote``/``prefix_name`` when ``cls`` accepts them);
  Ray is not started.
- remote: the named actor ``{prefix_name}_{name}`` (see ``ComponentId.actor_name``), reused when it
  exists, killed and replaced with ``force_new=True``. Actors take ``num_cpus=0`` so hundreds fit.
  ``actor_options`` passes any Ray actor option (``resources``, ``scheduling_strategy``,
  ``runtime_env``, ``max_restarts``, ...; see ``placement.py``); it wins over the class's
  ``actor_defaults`` and over the ``num_cpus``/``max_restarts``/``max_concurrency`` keywords.
- ``env_shards=N`` (N > 1) with an Environment class: N shards (``{prefix}_{name}.s{i}``, each
  with its own log) behind a ``ShardedEnvironment`` router, which is returned (``environment/sharded.py``);
  ``shard_actor_options=[opts_0, ...]`` places each shard (else ``actor_options`` for all).
- state: a class that accepts ``instance_id`` keeps its state under it; a named actor gets its
  actor name as ``instance_id`` (unless given), so a restarted actor, or a new one under the same
  name, reopens the same state. ``force_new=True`` also discards that state (``cls.discard_state``).
- restarts: our stateful classes and agents ask for unlimited restarts in ``actor_defaults``;
  non-generator calls in flight are then retried on the restarted actor (the classes make them
  idempotent), generator calls are not (see ``host.py``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from msagent.errors import ConfigError
from msagent.runtime.host import accepted_params, actor_class
from msagent.runtime.ids import ComponentId
from msagent.runtime.placement import checked_options, ray_options


def init_kwargs(cls: type, name: str, remote: bool, prefix_name: str | None, kwargs: dict[str, Any]) -> dict:
    accepted = accepted_params(cls)
    out = dict(kwargs)
    for key, value in (("name", name), ("remote", remote), ("prefix_name", prefix_name)):
        if key in accepted:
            out.setdefault(key, value)
    return out


def _ensure_ray() -> None:
    import ray

    if not ray.is_initialized():
        # Joins RAY_ADDRESS (e.g. under `ray job submit`) or starts a local cluster.
        ray.init()


def actor_options_for(
    cls: type,
    actor_name: str,
    num_cpus: float = 0,
    max_concurrency: int | None = None,
    max_restarts: int | None = None,
    actor_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Ray options a component's actor is created with (defaults < keywords < actor_options)."""
    defaults: Mapping[str, Any] = getattr(cls, "actor_defaults", {}) or {}
    options: dict[str, Any] = {
        "num_cpus": num_cpus,
        "max_concurrency": max_concurrency or defaults.get("max_concurrency", 1),
        "max_restarts": max_restarts if max_restarts is not None else defaults.get("max_restarts", 0),
    }
    options.update(checked_options(actor_options))
    if options["max_restarts"] and "max_task_retries" not in options:
        # Calls in flight when the actor dies are retried on the restarted one; our stateful
        # components make those calls idempotent (message ids, request ids, max-acks).
        options["max_task_retries"] = -1
    options["name"] = actor_name
    return ray_options(options)


def create_component(
    cls: type,
    name: str,
    remote: bool = False,
    prefix_name: str | None = None,
    max_concurrency: int | None = None,
    force_new: bool = False,
    num_cpus: float = 0,
    max_restarts: int | None = None,
    actor_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Build ``cls`` as a plain object or as the named Ray actor ``{prefix_name}_{name}``."""
    if not isinstance(cls, type):
        raise ConfigError(f"create_component needs a class, got {cls!r}")
    shards = kwargs.pop("env_shards", None)
    shard_options = kwargs.pop("shard_actor_options", None)
    if shards is not None and int(shards) > 1:
        per_shard = list(shard_options) if shard_options else [actor_options] * int(shards)
        if len(per_shard) != int(shards):
            raise ConfigError(
                f"shard_actor_options has {len(per_shard)} entries for {shards} shards", field="shard_actor_options"
            )
        return _create_sharded(cls, name, int(shards), remote, prefix_name, force_new, per_shard, kwargs)
    cid = ComponentId(name=name, prefix=prefix_name)
    args = init_kwargs(cls, name, remote, prefix_name, kwargs)
    checked_options(actor_options)  # bad options fail the same way locally and on Ray
    if remote and "instance_id" in accepted_params(cls) and args.get("instance_id") is None:
        args["instance_id"] = cid.actor_name
    if not remote:
        if force_new and hasattr(cls, "discard_state"):
            cls.discard_state(**args)
        return cls(**args)
    _ensure_ray()
    import ray

    actor_name = cid.actor_name
    if force_new:
        kill_component(actor_name)
        if hasattr(cls, "discard_state"):
            cls.discard_state(**args)
    else:
        try:
            return ray.get_actor(actor_name)
        except ValueError:
            pass
    options = actor_options_for(cls, actor_name, num_cpus, max_concurrency, max_restarts, actor_options)
    try:
        actor_cls = actor_class(cls).options(**options)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"invalid actor_options for {actor_name!r}: {e}", field="actor_options") from None
    deadline = time.monotonic() + 10
    while True:
        try:
            return actor_cls.remote(**args)
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


def _create_sharded(
    cls: type, name: str, shards: int, remote: bool, prefix_name: str | None, force_new: bool,
    actor_options: list[Mapping[str, Any] | None], kwargs: dict[str, Any],
) -> Any:  # fmt: skip
    """``env_shards=N``: N Environments split by role behind one router (``environment/sharded.py``)."""
    from environment.env import Environment
    from environment.sharded import create_sharded

    if not issubclass(cls, Environment):
        raise ConfigError(f"env_shards applies to an Environment, not to {cls.__name__}", field="env_shards")
    return create_sharded(cls, name, shards, remote, prefix_name, force_new, actor_options, **kwargs)


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
