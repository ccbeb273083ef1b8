"""One local-model actor per Ray cluster namespace, shared by every agent actor.

Each agent on Ray is its own process; loading the GGUF file in each would cost ~250 MB and a load
apiece. Instead one named actor holds the model and streams text pieces back through a Ray
streaming generator. Create it from the driver (``ensure_model_actor``) so that it lives as long as
the app, not as long as whichever agent happened to touch it first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from msagent.errors import ModelError, ModelUnreachableError
from msagent.llm.local_llama import EngineSpec, GenerateRequest, LlamaEngine

log = logging.getLogger(__name__)


class LocalModelHost:
    """The actor body: one engine; calls queue on its lock, so inference runs one at a time."""

    def __init__(self, spec: EngineSpec) -> None:
        self.engine = LlamaEngine(spec)

    def load(self) -> dict[str, Any]:
        self.engine.load()
        return self.engine.info()

    def info(self) -> dict[str, Any]:
        return self.engine.info()

    def warm(self, prompts: list[str]) -> int:
        return self.engine.warm(prompts)

    def stream(self, request: GenerateRequest) -> Iterator[str]:
        yield from self.engine.stream(request)


def actor_name(spec: EngineSpec) -> str:
    # one actor per distinct model file and settings; the name must be stable across processes
    import hashlib

    digest = hashlib.sha1(spec.model_dump_json().encode()).hexdigest()[:10]
    return f"msagent_local_model_{digest}"


# Ray collects a named actor once no handle to it is left; the process that created it keeps one
# here until release_model_actor(), so agents that come and go never take the model down with them.
_HANDLES: dict[str, Any] = {}


def ensure_model_actor(spec: EngineSpec) -> Any:
    """Get or create the shared model actor (it is not loaded until ``load()`` or a first call)."""
    import ray

    name = actor_name(spec)
    cls = ray.remote(LocalModelHost)
    handle = cls.options(  # type: ignore[attr-defined]
        name=name,
        get_if_exists=True,
        num_cpus=0,  # inference uses one thread; the scheduler must not starve agents for it
        max_concurrency=8,  # queued requests wait on the engine lock, info() answers meanwhile
    ).remote(spec)
    _HANDLES.setdefault(name, handle)
    return handle


def release_model_actor(spec: EngineSpec) -> None:
    """Kill the shared actor (when the app that created it shuts down)."""
    import ray

    handle = _HANDLES.pop(actor_name(spec), None)
    if handle is not None:
        ray.kill(handle)


def load_model_actor(spec: EngineSpec, timeout: float = 300.0) -> dict[str, Any]:
    """Create the actor if needed and block until its model is loaded; returns ``info()``."""
    import ray

    handle = ensure_model_actor(spec)
    try:
        return dict(ray.get(handle.load.remote(), timeout=timeout))
    except ray.exceptions.GetTimeoutError as e:
        raise ModelUnreachableError(f"the local model did not load within {timeout:.0f} s") from e


def stream_from_actor(spec: EngineSpec, request: GenerateRequest) -> Iterator[str]:
    """Text pieces from the shared actor, as they are generated."""
    import ray

    handle = ensure_model_actor(spec)
    refs = handle.stream.options(num_returns="streaming").remote(request)
    try:
        for ref in refs:
            yield ray.get(ref)
    except ray.exceptions.RayActorError as e:
        raise ModelUnreachableError(f"the local model actor died: {e}") from e
    except ray.exceptions.RayTaskError as e:
        cause = e.as_instanceof_cause()
        if isinstance(cause, ModelError):
            raise cause from e
        raise ModelError(f"the local model failed: {e}") from e
