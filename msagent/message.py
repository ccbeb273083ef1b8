"""AgentScope's message: ``Msg(name, content, role='assistant', url=None, **fields)``.

A ``Msg`` is a dict whose keys also read as attributes (``x.content``, ``x["content"]``, ``x.name``):
``name``, ``content``, ``role`` ('system' | 'user' | 'assistant'), ``url``, an ``id``, a
``timestamp`` and any extra fields an agent adds (``DictDialogAgent`` puts the parsed JSON fields
there). It pickles and round-trips through JSON (``serialize()`` / ``deserialize(text)``).

Inside the runtime a ``Msg`` travels as an ``msagent.schemas.Message`` (``to_message`` /
``from_message``): the text goes in ``content``, the whole ``Msg`` in ``metadata`` so it arrives
unchanged, and messages from the rest of the runtime read as ``Msg`` too.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from msagent.errors import ConfigError
from msagent.schemas import USER_REQUIREMENT, Message, SendTo

ROLES = ("system", "user", "assistant")
_METADATA_KEY = "agentscope_msg"


def _timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class Msg(dict):
    """One message between agents: a dict with attribute access."""

    def __init__(
        self,
        name: str,
        content: Any,
        role: str = "assistant",
        url: str | Sequence[str] | None = None,
        timestamp: str | None = None,
        **fields: Any,
    ) -> None:
        if role not in ROLES:
            raise ConfigError(f"Msg role {role!r} is not one of {', '.join(ROLES)}", field="role")
        super().__init__(
            id=fields.pop("id", None) or uuid.uuid4().hex,
            timestamp=timestamp or _timestamp(),
            name=name,
            content=content,
            role=role,
            url=url,
            **fields,
        )

    # --- dict <-> attributes ----------------------------------------------------------------------
    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"Msg has no field {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(f"Msg has no field {key!r}") from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (dict(self.items()),))

    def copy(self) -> Msg:
        return _rebuild(dict(self.items()))

    # --- text forms -------------------------------------------------------------------------------
    def to_str(self) -> str:
        """``name: content``, the form agents show each other."""
        return f"{self.name}: {content_text(self.content)}"

    def serialize(self) -> str:
        return json.dumps(dict(self.items()), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Msg:
        if not isinstance(data, dict) or "name" not in data or "content" not in data:
            raise ConfigError("a Msg needs at least 'name' and 'content'")
        return _rebuild(dict(data))


def _rebuild(data: dict[str, Any]) -> Msg:
    msg = Msg.__new__(Msg)
    dict.update(msg, data)
    return msg


def deserialize(text: str | bytes) -> Msg | list[Msg]:
    """The inverse of ``serialize``: one ``Msg`` or a list of them from JSON."""
    data = json.loads(text)
    return [Msg.from_dict(d) for d in data] if isinstance(data, list) else Msg.from_dict(data)


def content_text(content: Any) -> str:
    """Message content as text: strings as they are, anything else as JSON."""
    if isinstance(content, str):
        return content
    try:
        return json.dumps(content, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(content)


# --- the runtime's Message ------------------------------------------------------------------------
def to_message(msg: Msg, send_to: SendTo, sender: str | None = None) -> Message:
    """``msg`` as the runtime's ``Message`` from ``sender`` (default its name) to ``send_to``.

    Each call makes a new message id: the Environment treats a repeated id as a retried store, and
    the same ``Msg`` may rightly be broadcast twice (an announcement reused by two hubs)."""
    who = sender or str(msg.get("name"))
    fields = dict(msg.items())
    try:
        json.dumps(fields)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"the Msg from {who!r} cannot pass through a hub: its fields must be JSON values ({e})", agent=who
        ) from None
    return Message(
        role=who,
        content=content_text(msg.get("content")),
        sent_from=who,
        send_to=send_to,
        name=str(msg.get("name")),
        metadata={_METADATA_KEY: fields},
    )


def from_message(message: Message) -> Msg:
    """The ``Msg`` a ``Message`` carries; a message from elsewhere in the runtime becomes one
    (``user_requirement`` tasks with role 'user')."""
    fields = (message.metadata or {}).get(_METADATA_KEY)
    if isinstance(fields, dict):
        return Msg.from_dict(fields)
    sender = message.sent_from or message.role
    role = "user" if sender == USER_REQUIREMENT or message.role == "user" else "assistant"
    return Msg(sender, message.content, role=role)


def iter_msgs(x: Any) -> Iterator[Msg]:
    """The ``Msg`` values in ``x``: one, a (nested) list of them, or None."""
    if x is None:
        return
    if isinstance(x, Msg):
        yield x
    elif isinstance(x, (list, tuple)):
        for item in x:
            yield from iter_msgs(item)
    elif isinstance(x, dict):
        yield Msg.from_dict(x)
    else:
        raise ConfigError(f"expected a Msg or a list of Msg, got {type(x).__name__}")


__all__ = ["Msg", "content_text", "deserialize", "from_message", "iter_msgs", "to_message"]
