"""The thin Ray host around a component class: what only the actor side knows, handed to plain code.

``actor_class(cls)`` is ``ray.remote`` of a subclass that

- fills in ``request_id`` with the Ray task id for the methods a class lists in ``request_keyed``
  (a retried call keeps its task id, so the component can answer it as it answered before);
- passes ``restarted=True`` to ``__init__`` when Ray re-creates the actor after a crash (for classes
  that accept it), so the component reopens its state instead of starting over;
- lets Ray retry no generator method by itself: a retried stream would be spliced from two runs
  (the first run's items, then the rest of the second); callers retry a whole step instead.

The component classes themselves never import ray. A host class is importable by name
(``msagent.runtime.host.<Class>__<base32 of module:qualname>``), built on first access in any process:
Ray and cloudpickle find it by reference, so every worker and every handle from ``ray.get_actor``
sees the same class with the real method signatures.
"""

from __future__ import annotations

import base64
import functools
import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any


def accepted_params(cls: type) -> set[str]:
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


def _task_id() -> str | None:
    import ray

    try:
        return ray.get_runtime_context().get_task_id()
    except Exception:  # outside a task (should not happen in an actor method)
        return None


def _keyed(method: Callable[..., Any]) -> Callable[..., Any]:
    params = list(inspect.signature(method).parameters)
    at = params.index("request_id")  # its position counting self

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) + 1 > at:  # given positionally
            if args[at - 1] is None:
                args = (*args[: at - 1], _task_id(), *args[at:])
        elif kwargs.get("request_id") is None:
            kwargs["request_id"] = _task_id()
        return method(self, *args, **kwargs)

    return wrapper


def _no_ray_retry(method: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from method(self, *args, **kwargs)

    functools.update_wrapper(wrapper, method)
    # Ray reads method options after inspect.unwrap(): no __wrapped__, the signature kept by hand
    del wrapper.__wrapped__  # type: ignore[attr-defined]
    wrapper.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    wrapper.__ray_max_task_retries__ = 0  # type: ignore[attr-defined]  # what @ray.method sets
    return wrapper


def _host_name(cls: type) -> str | None:
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return None  # not importable elsewhere: pickled by value instead
    raw = f"{cls.__module__}:{cls.__qualname__}".encode()
    return f"{cls.__name__}__{base64.b32encode(raw).decode().rstrip('=').lower()}"


@functools.cache
def host_type(cls: type) -> type:
    """The plain (not yet ``ray.remote``) host subclass of ``cls``."""
    import ray

    name = _host_name(cls)
    namespace: dict[str, Any] = {
        "__module__": __name__ if name else cls.__module__,
        "__qualname__": name or cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    if "restarted" in accepted_params(cls):
        base_init = cls.__dict__.get("__init__") or next(
            k.__dict__["__init__"] for k in cls.__mro__ if "__init__" in k.__dict__
        )

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            if ray.get_runtime_context().was_current_actor_reconstructed:
                kwargs["restarted"] = True
            base_init(self, *args, **kwargs)

        namespace["__init__"] = functools.wraps(base_init)(__init__)
    for method in getattr(cls, "request_keyed", ()):
        namespace[method] = _keyed(getattr(cls, method))
    for method, member in inspect.getmembers(cls, inspect.isgeneratorfunction):
        # a static or class method's generator is not called with the instance: left as it is
        bound = isinstance(inspect.getattr_static(cls, method), (staticmethod, classmethod))
        if not method.startswith("__") and not bound:
            namespace[method] = _no_ray_retry(namespace.get(method, member))
    return type(name or cls.__name__, (cls,), namespace)


@functools.cache
def actor_class(cls: type) -> Any:
    import ray

    return ray.remote(host_type(cls))


def __getattr__(name: str) -> Any:
    """``<Class>__<code>``: the host class of the class the code names (built on first use)."""
    if "__" not in name.strip("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    code = name.rsplit("__", 1)[1].upper()
    try:
        module_name, qualname = base64.b32decode(code + "=" * (-len(code) % 8)).decode().split(":", 1)
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ValueError, ImportError, AttributeError) as e:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} ({e})") from None
    return host_type(target)
