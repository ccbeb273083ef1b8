"""Where each chat-completions field goes, per back end, so that none is silently dropped.

- ``relay``: an OpenAI-compatible back end with native tool calling (the fast path) gets every
  field as sent, and its answer comes back as it gave it (``logprobs`` included).
- ``openai``: the same back end behind prompt-based function calling gets the request-only fields
  and extra options in the body; fields that shape the answer (``logprobs``) are refused, since
  the prompt protocol rewrites the answer's text.
- ``dashscope``: extra options (``top_k``, ``enable_search``, ...) go to DashScope; OpenAI's own
  request-only fields do not exist there and are refused.
- any other back end (the local model, the scripted one): only the generation settings apply.

``response_format`` and the legacy ``functions`` / ``function_call`` are implemented for every
back end (``structured.py``, ``convert.py``). A field set to its neutral value (``logprobs:
false``, ``store: false``, ``n: 1``) changes nothing and is accepted everywhere.
"""

from __future__ import annotations

from typing import Any

from deploy.assistant.errors import bad_request
from deploy.assistant.models import ChatCompletionRequest

# OpenAI fields that change what the back end does, not the answer's shape
REQUEST_ONLY = (
    "user", "metadata", "store", "service_tier", "logit_bias", "reasoning_effort", "prediction",
    "web_search_options", "verbosity", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
    "safety_identifier", "moderation",
)
# OpenAI fields that add to the answer
ANSWER_SHAPING = ("logprobs", "top_logprobs", "modalities", "audio")
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "logprobs": (False,),
    "store": (False,),
    "service_tier": ("auto", "default"),
    "modalities": (["text"],),
    "metadata": ({},),
    "logit_bias": ({},),
}


def _set(body: ChatCompletionRequest, name: str) -> bool:
    value = getattr(body, name)
    return value is not None and value not in NEUTRAL.get(name, ())


def extras(body: ChatCompletionRequest) -> dict[str, Any]:
    """Fields OpenAI does not define (the SDK's ``extra_body``: vLLM's ``top_k``, ...)."""
    return dict(body.model_extra or {})


def passed_on(body: ChatCompletionRequest, route: str, backend: str) -> dict[str, Any]:
    """What goes to the back end besides messages, tools and settings; a 400 names the first
    field this back end cannot take. ``route``: relay | openai | dashscope | other."""
    out: dict[str, Any] = {}
    given = body.model_fields_set  # a field not given is None: never passed on, never refused
    shaping = [n for n in ANSWER_SHAPING if n in given and _set(body, n)]
    request_only = [n for n in REQUEST_ONLY if n in given and _set(body, n)]
    extra = extras(body)
    if route == "relay":
        out.update({n: getattr(body, n) for n in (*shaping, *request_only)})
        if body.response_format is not None:
            out["response_format"] = body.response_format.model_dump(exclude_none=True)
        out.update(extra)
        return out
    why = {
        "openai": "this request uses prompt-based function calling, which rewrites the answer's text",
        "dashscope": "the dashscope back end does not take it",
    }.get(route, f"the {backend!r} back end does not take it")
    refused = shaping if route == "openai" else [*shaping, *request_only]
    if route not in ("openai", "dashscope"):
        refused += sorted(extra)
    if refused:
        name = refused[0]
        raise bad_request(
            f"'{name}' is not supported here: {why}; it is passed on only to OpenAI-compatible back ends "
            "with native tool calling", param=name, code="unsupported_parameter",
        )
    if route == "openai":
        out.update({n: getattr(body, n) for n in request_only})
    out.update(extra)
    return out
