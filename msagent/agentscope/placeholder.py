"""``PlaceholderMsg``: what a distributed agent's call returns at once.

It is a ``Msg`` whose fields arrive later: reading any of them (``x.content``, ``x["name"]``,
``len(x)``, ``x.serialize()``) waits for the agent's reply. Passed on to another distributed agent
it is not waited for here: the reference goes along and that agent's actor waits, so
``x = a(x); x = b(x)`` runs in order while independent calls run side by side.

Errors surface where the value is read: the remote exception (its type kept, the remote
traceback in its text); an agent whose actor died gives ``AgentDiedError``, never a hang.
(``json.dumps(x)`` of a placeholder not yet read sees an empty dict: use ``x.serialize()``.)
"""

from __future__ import annotations

import threading
from typing import Any

from msagent.errors import AgentDiedError, ConfigError
from msagent.message import Msg, _rebuild


def fetch(ref: Any, agent: str) -> Any:
    """``ray.get(ref)`` with a dead actor turned into ``AgentDiedError``."""
    import ray
    from ray.exceptions import RayActorError, RayTaskError

    try:
        return ray.get(ref)
    except RayActorError as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, RayTaskError):  # raised in another agent's actor this reply waited for
            message = f"distributed agent {agent!r} could not answer: an agent it waited for died ({detail})"
        else:
            message = (
                f"the actor of distributed agent {agent!r} died before it answered ({detail}); "
                "create the agent again with to_dist()"
            )
        raise AgentDiedError(message, agent=agent) from None


class PlaceholderMsg(Msg):
    def __init__(self, ref: Any, agent: str) -> None:  # noqa: D107  (no Msg fields yet)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_agent", agent)
        object.__setattr__(self, "_done", False)
        object.__setattr__(self, "_lock", threading.Lock())

    # --- state ------------------------------------------------------------------------------------
    @property
    def ref(self) -> Any:
        """The Ray reference while the value is pending, else None."""
        return None if self._done else self._ref

    def is_resolved(self) -> bool:
        return bool(self._done)

    def _resolve(self) -> None:
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            value = fetch(self._ref, self._agent)
            if not isinstance(value, dict):
                raise ConfigError(f"distributed agent {self._agent!r} answered {type(value).__name__}, not a Msg")
            dict.update(self, value)
            object.__setattr__(self, "_done", True)
            object.__setattr__(self, "_ref", None)  # the object can be freed in the store

    def resolved(self) -> Msg:
        """The value as a plain ``Msg`` (waits for it)."""
        self._resolve()
        return _rebuild(dict(dict.items(self)))

    # --- every read waits for the value -----------------------------------------------------------
    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        self._resolve()
        return Msg.__getattr__(self, key)

    def __getitem__(self, key: Any) -> Any:
        self._resolve()
        return dict.__getitem__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._resolve()
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._resolve()
        dict.__delitem__(self, key)

    def __iter__(self) -> Any:
        self._resolve()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._resolve()
        return dict.__len__(self)

    def __contains__(self, key: object) -> bool:
        self._resolve()
        return dict.__contains__(self, key)

    def __eq__(self, other: object) -> bool:
        self._resolve()
        if isinstance(other, PlaceholderMsg):
            other._resolve()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def get(self, key: Any, default: Any = None) -> Any:
        self._resolve()
        return dict.get(self, key, default)

    def keys(self) -> Any:
        self._resolve()
        return dict.keys(self)

    def values(self) -> Any:
        self._resolve()
        return dict.values(self)

    def items(self) -> Any:
        self._resolve()
        return dict.items(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._resolve()
        dict.update(self, *args, **kwargs)

    def pop(self, key: Any, *default: Any) -> Any:
        self._resolve()
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._resolve()
        return dict.setdefault(self, key, default)

    def copy(self) -> Msg:
        return self.resolved()

    def __reduce__(self) -> tuple[Any, ...]:
        return self.resolved().__reduce__()

    def __repr__(self) -> str:
        if not self._done:
            return f"PlaceholderMsg(<pending reply of {self._agent!r}>)"
        return f"PlaceholderMsg({dict.__repr__(self)})"
