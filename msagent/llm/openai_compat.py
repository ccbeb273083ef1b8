"""Back-end for OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama.cpp server, ...).

Uses the official ``openai`` SDK with one client per model instance and the SDK's own retries off
(``msagent.llm.retry`` decides). ``openai`` is imported only here, lazily, so msagent imports
without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from msagent.errors import ConfigError, MissingApiKeyError, ModelError
from msagent.llm.base import ChatModel, ToolChoice
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.errors_map import retry_after_s, status_error, timeout_error, unreachable_error
from msagent.llm.events import (
    FinishEvent,
    LLMEvent,
    TextDelta,
    ToolCallEvent,
    ToolCallPartial,
    Usage,
    UsageEvent,
)
from msagent.llm.retry import with_retries
from msagent.schemas import FunctionCall, Message, ToolCall, ToolSpec

OPENAI_BASE_URL = "https://api.openai.com/v1"
CHAT_ROLES = ("system", "user", "assistant", "tool")


def to_chat_messages(
    messages: Sequence[Message], *, null_content_with_calls: bool = True
) -> list[dict[str, Any]]:
    """Our messages in OpenAI's chat form. Agent roles that are not chat roles become ``user``
    messages prefixed ``"<role>: "`` so the model still sees who spoke."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role not in CHAT_ROLES:
            out.append({"role": "user", "content": f"{m.role}: {m.content}"})
            continue
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.role == "assistant" and m.tool_calls:
            item["tool_calls"] = [c.model_dump() for c in m.tool_calls]
            if not m.content and null_content_with_calls:
                item["content"] = None
        if m.role == "tool":
            item["tool_call_id"] = m.tool_call_id or ""
        elif m.name:
            item["name"] = m.name
        out.append(item)
    return out


def tool_choice_form(tool_choice: ToolChoice, tools: Sequence[ToolSpec] = ()) -> str | dict[str, Any]:
    """'auto' / 'none' / 'required' as they are; a tool name as OpenAI's named-function form."""
    if tool_choice in ("auto", "none", "required"):
        return tool_choice
    names = [t.name for t in tools]
    if names and tool_choice not in names:
        raise ConfigError(
            f"tool_choice {tool_choice!r} is neither 'auto', 'none', 'required' nor one of the tools: {', '.join(names)}"
        )
    return {"type": "function", "function": {"name": tool_choice}}


class ToolCallAssembler:
    """Joins streamed tool-call fragments (id and name first, then argument pieces) by index."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, str]] = {}

    def add(self, index: int, call_id: str | None, name: str | None, arguments: str | None) -> None:
        part = self._parts.setdefault(index, {"id": "", "name": "", "arguments": ""})
        if call_id:
            part["id"] = call_id
        if name:
            part["name"] += name
        if arguments:
            part["arguments"] += arguments

    def partial(self, index: int) -> ToolCallPartial:
        """The call at ``index`` as written so far."""
        part = self._parts[index]
        return ToolCallPartial(index=sorted(self._parts).index(index), name=part["name"], arguments=part["arguments"])

    def has_calls(self) -> bool:
        return bool(self._parts)

    def events(self) -> list[ToolCallEvent]:
        events = []
        for position, index in enumerate(sorted(self._parts)):
            part = self._parts[index]
            call = ToolCall(function=FunctionCall(name=part["name"], arguments=part["arguments"] or "{}"))
            if part["id"]:
                call.id = part["id"]
            events.append(ToolCallEvent(index=position, call=call))
        self._parts.clear()
        return events


def _usage(raw: Any) -> Usage:
    return Usage(
        prompt_tokens=getattr(raw, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(raw, "completion_tokens", 0) or 0,
        total_tokens=getattr(raw, "total_tokens", 0) or 0,
    )


class OpenAICompatModel(ChatModel):
    """``{'model': 'gpt-4o-mini', 'model_server': 'openai'}`` or any base URL: ``api_base='http://host/v1'``."""

    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config)
        import openai

        if not config.model:
            raise ConfigError("the llm config needs 'model' (the model name the server serves)")
        base = config.api_base or os.environ.get("OPENAI_API_BASE") or OPENAI_BASE_URL
        key = config.api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if "api.openai.com" in base:
                raise MissingApiKeyError("no OpenAI api key: set OPENAI_API_KEY or pass llm={'api_key': ...}")
            key = "EMPTY"  # local servers (vLLM, Ollama, llama.cpp) accept any key
        self.base_url = base.rstrip("/")
        self._api_key = key
        self._openai = openai
        extra = config.model_extra or {}  # AgentScope configs: organization, client_args' headers/query
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=key, timeout=config.timeout, max_retries=0,
            organization=extra.get("organization"), default_headers=extra.get("default_headers"),
            default_query=extra.get("default_query"),
        )  # fmt: skip

    def __reduce__(self) -> tuple[Any, ...]:
        # the SDK client holds sockets and locks; a copy (e.g. sent to a Ray actor) gets its own
        return (type(self), (self.config,))

    def _chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        stream: bool,
        settings: GenerationSettings,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> Iterator[LLMEvent]:
        request = self._request(messages, tools, stream, settings, tool_choice, parallel_tool_calls)
        delay = float((self.config.model_extra or {}).get("retry_base_delay_s", 0.25))
        return with_retries(
            lambda: self._once(request, stream), max_retries=self.config.max_retries, base_delay_s=delay
        )

    def _request(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        stream: bool,
        settings: GenerationSettings,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": to_chat_messages(messages),
            "stream": stream,
        }
        for key in ("temperature", "top_p", "max_tokens", "stop", "seed"):
            value = getattr(settings, key)
            if value is not None:
                request[key] = value
        if tools:
            request["tools"] = [t.openai_form() for t in tools]
            request["tool_choice"] = tool_choice_form(tool_choice, tools)
            request["parallel_tool_calls"] = parallel_tool_calls
        if stream:
            request["stream_options"] = {"include_usage": True}
        extra = settings.extra_fields()
        if extra:
            request["extra_body"] = extra  # vLLM/Ollama options (top_k, repetition_penalty, ...) pass through
        return request

    def _once(self, request: dict[str, Any], stream: bool) -> Iterator[LLMEvent]:
        try:
            response = self._client.chat.completions.create(**request)
            if stream:
                yield from self._stream_events(response)
            else:
                yield from self._events(response)
        except self._openai.OpenAIError as error:
            raise self._map(error) from None

    def _map(self, error: Exception) -> ModelError:
        openai = self._openai
        if isinstance(error, openai.APITimeoutError):
            return timeout_error(self.base_url, self.model, self.config.timeout)
        if isinstance(error, openai.APIConnectionError):
            return unreachable_error(self.base_url, self.model, error)
        if isinstance(error, openai.APIStatusError):
            return status_error(
                error.status_code,
                _error_message(error),
                url=self.base_url,
                model=self.model,
                api_key=self._api_key,
                retry_after=retry_after_s(error.response.headers),
            )
        return ModelError(f"model {self.model!r} at {self.base_url} failed: {type(error).__name__}: {error}")

    def _malformed(self, what: str) -> ModelError:
        return ModelError(f"model {self.model!r} at {self.base_url} answered 200 with {what}", status_code=200)

    def _events(self, response: Any) -> Iterator[LLMEvent]:
        if isinstance(response, (str, bytes)):  # the SDK hands back a body that is not JSON as it came
            raise self._malformed(f"a body that is not JSON: {response[:200]!r}")
        if not response.choices:
            raise ModelError(f"model {self.model!r} at {self.base_url} returned no choices", status_code=200)
        choice = response.choices[0]
        if getattr(choice, "message", None) is None:
            raise self._malformed("no message in choices[0]")
        if choice.message.content:
            yield TextDelta(text=choice.message.content)
        for index, call in enumerate(choice.message.tool_calls or []):
            function = ToolCall(
                id=call.id,
                function=FunctionCall(name=call.function.name, arguments=call.function.arguments or "{}"),
            )
            yield ToolCallEvent(index=index, call=function)
        if response.usage is not None:
            yield UsageEvent(usage=_usage(response.usage))
        yield FinishEvent(reason=choice.finish_reason or "stop")

    def _stream_events(self, response: Any) -> Iterator[LLMEvent]:
        """A stream that ends without a finish reason (cut off, no ``[DONE]``), breaks, or sends a frame
        that is not JSON raises ``ModelError``: a truncated answer never looks like a whole one."""
        calls = ToolCallAssembler()
        finish = ""
        usage: Usage | None = None
        try:
            for chunk in _frames(response, self):
                if getattr(chunk, "usage", None) is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices or []:
                    delta = choice.delta
                    if delta is not None and delta.content:
                        yield TextDelta(text=delta.content)
                    for part in (delta.tool_calls if delta is not None else None) or []:
                        fn = part.function
                        calls.add(part.index, part.id, fn.name if fn else None, fn.arguments if fn else None)
                        yield calls.partial(part.index)
                    if choice.finish_reason:
                        finish = choice.finish_reason
                        yield from calls.events()
        finally:
            response.close()
        if not finish:
            raise ModelError(f"the stream from model {self.model!r} at {self.base_url} ended without a finish "
                             "reason: the answer is cut off", status_code=200)
        yield from calls.events()  # fragments after the finish reason
        if usage is not None:
            yield UsageEvent(usage=usage)
        yield FinishEvent(reason=finish)

    def close(self) -> None:
        self._client.close()


def _frames(response: Any, model: OpenAICompatModel) -> Iterator[Any]:
    """The SDK's stream, its failures after the status line said what they are: a frame that is not
    JSON (the SDK's ``json.loads`` fails) and a connection lost mid-answer (not "unreachable")."""
    openai = model._openai
    try:
        yield from response
    except json.JSONDecodeError as e:
        raise model._malformed(f"a stream frame that is not JSON ({e})") from None
    except openai.APITimeoutError:
        raise timeout_error(model.base_url, model.model, model.config.timeout) from None
    except openai.APIConnectionError as e:
        cause = e.__cause__ or e
        raise ModelError(f"the connection to model {model.model!r} at {model.base_url} broke mid-answer "
                         f"({type(cause).__name__}: {cause}): the answer is cut off") from None


def _error_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    message = getattr(error, "message", None) or str(error)
    return message if isinstance(message, str) else json.dumps(message)


def openai_from_config(config: LLMConfig) -> OpenAICompatModel:
    return OpenAICompatModel(config)
