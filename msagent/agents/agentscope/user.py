"""``UserAgent``: a person at this process's terminal (or whatever ``input_func`` reads).

``UserAgent(name="User", require_url=False, input_func=None)``; ``input_func(prompt) -> str``
defaults to ``input``. ``reply(x, required_keys=None)`` asks for the content, then for each required
key, then (``require_url``) for a URL; typing ``exit`` is how the seed's loop ends.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from msagent.agents.agentscope.base import AgentBase
from msagent.agentscope.placeholder import PlaceholderMsg
from msagent.errors import ConfigError
from msagent.message import Msg, iter_msgs


class UserAgent(AgentBase):
    def __init__(
        self,
        name: str = "User",
        require_url: bool = False,
        input_func: Callable[[str], str] | None = None,
        *,
        to_dist: bool | dict[str, Any] = False,
    ) -> None:
        super().__init__(name=name, use_memory=True)
        self.require_url = require_url
        self.input_func = input_func

    def _read(self, prompt: str) -> str:
        return str((self.input_func or builtins.input)(prompt))

    def reply(self, x: Any = None, required_keys: str | list[str] | None = None) -> Msg:
        for msg in iter_msgs(x):
            if isinstance(msg, PlaceholderMsg):
                msg.resolved()  # a person answers what they have seen: wait for a distributed reply
        self.observe(x)
        content = self._read(f"{self.name}: ")
        keys = [required_keys] if isinstance(required_keys, str) else list(required_keys or [])
        fields = {key: self._read(f"{key}: ") for key in keys}
        url = (self._read("URL: ").strip() or None) if self.require_url else None
        msg = Msg(self.name, content, role="user", url=url, **fields)
        self.observe(msg)
        return msg

    @classmethod
    def _check_distributable(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if kwargs.get("input_func") is None and len(args) < 3:
            name = kwargs.get("name", args[0] if args else "User")
            raise ConfigError(
                f"UserAgent {name!r} reads this process's terminal; keep it local "
                "(or give it an input_func that works in an actor)"
            )
