"""Ray actor options as plain data: where a component runs and how it is restarted.

``actor_options`` (in ``create_component`` and in scenario files) may hold any Ray actor option but
``name`` (that comes from the component's name and prefix): ``num_cpus``, ``num_gpus``, ``memory``,
``resources``, ``scheduling_strategy``, ``max_restarts``, ``max_task_retries``, ``max_concurrency``,
``runtime_env``, ``lifetime``, ... A scheduling strategy may be written as data::

    scheduling_strategy: SPREAD                                   # or DEFAULT
    scheduling_strategy: {node_affinity: {node_id: <hex>, soft: true}}
    scheduling_strategy: {placement_group: {name: my_pg, bundle_index: 0}}

or be a Ray strategy object when set from Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from msagent.errors import ConfigError

RESERVED = ("name",)


def checked_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Shape checks that need no Ray: a mapping, no reserved key, a readable strategy."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"actor_options must be a mapping of Ray actor options, not {type(options).__name__}",
                          field="actor_options")  # fmt: skip
    out = dict(options)
    for key in RESERVED:
        if key in out:
            raise ConfigError(
                f"actor_options may not set {key!r}: the actor's name comes from name and prefix_name",
                field=f"actor_options.{key}",
            )
    strategy = out.get("scheduling_strategy")
    if isinstance(strategy, Mapping):
        kinds = [k for k in strategy if k in ("node_affinity", "placement_group")]
        if len(kinds) != 1 or len(strategy) != 1 or not isinstance(strategy[kinds[0]], Mapping):
            raise ConfigError(
                "scheduling_strategy as data is {node_affinity: {node_id, soft}} or "
                f"{{placement_group: {{name, bundle_index}}}}, not {dict(strategy)!r}",
                field="actor_options.scheduling_strategy",
            )
        spec = strategy[kinds[0]]
        need = "node_id" if kinds[0] == "node_affinity" else "name"
        if not spec.get(need):
            raise ConfigError(f"scheduling_strategy.{kinds[0]} needs {need!r}",
                              field=f"actor_options.scheduling_strategy.{kinds[0]}.{need}")  # fmt: skip
    elif isinstance(strategy, str) and strategy not in ("DEFAULT", "SPREAD"):
        raise ConfigError(f"scheduling_strategy {strategy!r}: use DEFAULT, SPREAD or a mapping",
                          field="actor_options.scheduling_strategy")  # fmt: skip
    return out


# Ray places an actor that asks for no resources at all without regard to a node affinity (we saw
# 60% of soft-pinned 0-CPU actors on the wrong node); a token CPU share makes the strategy count.
TOKEN_CPUS = 0.0001


def ray_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with a strategy written as data turned into Ray's strategy object."""
    out = dict(options)
    strategy = out.get("scheduling_strategy")
    placed = strategy is not None and strategy not in ("DEFAULT", "SPREAD")
    if placed and not any(out.get(k) for k in ("num_cpus", "num_gpus", "memory", "resources")):
        out["num_cpus"] = TOKEN_CPUS
    if isinstance(strategy, Mapping):
        from ray.util import get_placement_group
        from ray.util.scheduling_strategies import (
            NodeAffinitySchedulingStrategy,
            PlacementGroupSchedulingStrategy,
        )

        if "node_affinity" in strategy:
            spec = strategy["node_affinity"]
            out["scheduling_strategy"] = NodeAffinitySchedulingStrategy(
                node_id=str(spec["node_id"]), soft=bool(spec.get("soft", False))
            )
        else:
            spec = strategy["placement_group"]
            try:
                group = get_placement_group(str(spec["name"]))
            except ValueError as e:
                raise ConfigError(f"no placement group named {spec['name']!r}: {e}",
                                  field="actor_options.scheduling_strategy.placement_group.name") from None  # fmt: skip
            out["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group=group, placement_group_bundle_index=int(spec.get("bundle_index", -1))
            )
    return out
