"""The model picker of the page: the local default, any OpenAI-compatible server, or DashScope.

A choice is checked field by field, then tried with one tiny call before the session uses it.
The key lives in the llm config of that browser session only: never in a file, a log line, a
transcript or another session; and a page choice never falls back to the server's own keys from
its environment (they must not be sent to a URL typed into the page).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.chatroom.models import ROOM_RETRIES, ROOM_TIMEOUT_S

Kind = Literal["local", "openai", "dashscope"]
KINDS: dict[str, Kind] = {"Local model (offline)": "local", "OpenAI-compatible server": "openai", "DashScope": "dashscope"}
PROBE_TIMEOUT_S = 20.0


class ModelChoice(BaseModel):
    kind: Kind = "local"
    base_url: str = ""
    model: str = ""
    api_key: str = Field(default="", repr=False)


def to_llm(choice: ModelChoice, local: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The llm config for ``choice`` (``local`` is the app's local config), or errors by field."""
    if choice.kind == "local":
        return dict(local), {}
    errors: dict[str, str] = {}
    url, model, key = choice.base_url.strip(), choice.model.strip(), choice.api_key.strip()
    if choice.kind == "openai":
        if not url:
            errors["base_url"] = "Give the server's base URL, e.g. http://127.0.0.1:8000/v1."
        if not model:
            errors["model"] = "Give the model name the server serves."
    if url and not url.startswith(("http://", "https://")):
        errors["base_url"] = "The base URL starts with http:// or https://."
    if choice.kind == "dashscope" and not key:
        errors["api_key"] = "DashScope needs an API key."
    if errors:
        return None, errors
    llm: dict[str, Any] = {
        "model_server": choice.kind,
        "model": model or ("qwen-max" if choice.kind == "dashscope" else ""),
        # never the server's own key from its environment: the URL came from the page
        "api_key": key or "EMPTY",
        "timeout": ROOM_TIMEOUT_S,
        "max_retries": ROOM_RETRIES,
    }
    if url:
        llm["api_base"] = url
    return llm, {}


def probe(llm: dict[str, Any], timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """One tiny call: (True, 'answered in 0.4 s') or (False, why, in one line)."""
    from apps.chatroom.room import brief_error
    from msagent.llm import get_chat_model
    from msagent.schemas import Message

    started = time.perf_counter()
    try:
        model = get_chat_model({**llm, "timeout": min(timeout, float(llm.get("timeout", timeout))), "max_retries": 0})
        try:
            model.chat_text([Message(role="user", content="Say OK.")], max_tokens=4)
        finally:
            model.close()
    except Exception as e:  # any failure is the user's to see, next to the fields
        return False, brief_error(e)
    return True, f"answered in {time.perf_counter() - started:.1f} s"
