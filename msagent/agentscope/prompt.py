"""How an agent's memory becomes the messages a chat model reads.

The system prompt first; then each ``Msg``: the agent's own as ``assistant``, a ``system`` one as
``system``, everyone else's as ``user`` text ``"<name>: <content>"`` (several agents talk in one
conversation, and chat APIs only know two sides). A url is shown after the content.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msagent.message import Msg, content_text
from msagent.schemas import Message


def _text(msg: Msg) -> str:
    text = content_text(msg.get("content"))
    url = msg.get("url")
    if url:
        urls = [url] if isinstance(url, str) else list(url)
        text += "".join(f"\n[attachment: {u}]" for u in urls)
    return text


def msg_to_chat(msg: Msg, me: str | None = None) -> Message:
    name = str(msg.get("name"))
    if msg.get("role") == "system":
        return Message(role="system", content=_text(msg))
    if me is not None and name == me:
        return Message(role="assistant", content=_text(msg))
    return Message(role="user", content=f"{name}: {_text(msg)}")


def to_chat(items: Any, me: str | None = None, sys_prompt: str | None = None) -> list[Message]:
    """Chat messages from a string, a ``Msg``, an OpenAI-style dict, a ``Message`` or a list of them."""
    out = [Message(role="system", content=sys_prompt)] if sys_prompt else []
    for item in _flat(items):
        if isinstance(item, Message):
            out.append(item)
        elif isinstance(item, Msg):
            out.append(msg_to_chat(item, me))
        elif isinstance(item, dict) and "role" in item and "content" in item and "name" not in item:
            out.append(Message(role=str(item["role"]), content=content_text(item["content"])))
        elif isinstance(item, dict):
            out.append(msg_to_chat(Msg.from_dict(item), me))
        elif isinstance(item, str):
            out.append(Message(role="user", content=item))
        else:
            raise TypeError(f"a model takes strings, Msg, message dicts or lists of them, not {type(item).__name__}")
    return out


def _flat(items: Any) -> Iterable[Any]:
    if items is None:
        return
    if isinstance(items, (list, tuple)):
        for item in items:
            yield from _flat(item)
    else:
        yield items
