"""Back-end for DashScope (Qwen models) through the official ``dashscope`` SDK.

The base address goes per call (``base_address=``), so no module-global of the SDK is touched and
models with different servers can run side by side in one process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from msagent.errors import ConfigError, MissingApiKeyError, ModelError
from msagent.llm.base import ChatModel, ToolChoice
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.errors_map import retry_after_s, status_error, timeout_error, unreachable_error
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, Usage, UsageEvent
from msagent.llm.openai_compat import ToolCallAssembler, to_chat_messages, tool_choice_form
from msagent.llm.retry import with_retries
from msagent.schemas import Message, ToolSpec


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """DashScope response parts are dict subclasses with attribute access; read both safely."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _usage(raw: Any) -> Usage | None:
    if not raw:
        return None
    prompt = int(_get(raw, "input_tokens", 0) or 0)
    completion = int(_get(raw, "output_tokens", 0) or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=int(_get(raw, "total_tokens", 0) or prompt + completion),
    )


def _is_read_timeout(error: BaseException) -> bool:
    """requests reports a read timeout inside a stream as a ConnectionError wrapping urllib3's."""
    import urllib3

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            return True
        inner = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = inner or cause.__context__
    return False


class DashScopeModel(ChatModel):
    """``{'model': 'qwen-max', 'model_server': 'dashscope', 'api_key': ...}``."""

    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config)
        import dashscope

        if not config.model:
            raise ConfigError("the llm config needs 'model', e.g. 'qwen-max'")
        key = config.api_key or os.environ.get("DASHSCOPE_API_KEY")
        if not key:
            raise MissingApiKeyError(
                "no DashScope api key: set DASHSCOPE_API_KEY or pass llm={'api_key': ...}"
            )
        self._api_key = key
        self._base = (
            config.api_base
            or os.environ.get("DASHSCOPE_API_BASE")
            or os.environ.get("DASHSCOPE_HTTP_BASE_URL")
            or None
        )
        self.base_url = (self._base or dashscope.base_http_api_url).rstrip("/")
        self._generation = dashscope.Generation
        import requests

        self._requests = requests

    def __reduce__(self) -> tuple[Any, ...]:
        # the SDK holds no per-model client; rebuilding from the config is exact
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
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": to_chat_messages(messages, null_content_with_calls=False),
            "api_key": self._api_key,
            "result_format": "message",
            "stream": stream,
            "request_timeout": self.config.timeout,
        }
        if stream:
            kwargs["incremental_output"] = True
        if self._base:
            kwargs["base_address"] = self._base
        for key in ("temperature", "top_p", "max_tokens", "stop", "seed"):
            value = getattr(settings, key)
            if value is not None:
                kwargs[key] = value
        kwargs.update(settings.extra_fields())
        if tools:
            kwargs["tools"] = [t.openai_form() for t in tools]
            kwargs["tool_choice"] = tool_choice_form(tool_choice, tools)
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        delay = float((self.config.model_extra or {}).get("retry_base_delay_s", 0.25))
        return with_retries(
            lambda: self._once(kwargs, stream), max_retries=self.config.max_retries, base_delay_s=delay
        )

    def _once(self, kwargs: dict[str, Any], stream: bool) -> Iterator[LLMEvent]:
        requests = self._requests
        try:
            result: Any = self._generation.call(**kwargs)
            responses = result if stream else iter([result])
            yield from self._events(responses, stream)
        except json.JSONDecodeError as e:  # the SDK parses the body (or a stream event's data)
            raise ModelError(f"model {self.model!r} at {self.base_url} answered 200 with a body that is not JSON ({e})",
                             status_code=200) from None
        except requests.exceptions.ChunkedEncodingError as error:
            raise ModelError(f"the connection to model {self.model!r} at {self.base_url} broke mid-answer ({error}): "
                             "the answer is cut off") from None
        except requests.exceptions.Timeout:
            raise timeout_error(self.base_url, self.model, self.config.timeout) from None
        except requests.exceptions.ConnectionError as error:
            if _is_read_timeout(error):
                raise timeout_error(self.base_url, self.model, self.config.timeout) from None
            raise unreachable_error(self.base_url, self.model, error) from None

    def _check(self, response: Any) -> None:
        status = int(_get(response, "status_code", 500) or 500)
        if status != HTTPStatus.OK:
            code = _get(response, "code") or ""
            message = _get(response, "message") or "no message"
            raise status_error(
                status,
                f"{code}: {message}" if code else str(message),
                url=self.base_url,
                model=self.model,
                api_key=self._api_key,
                retry_after=retry_after_s(_get(response, "headers") or {}),
            )

    def _events(self, responses: Iterator[Any], stream: bool) -> Iterator[LLMEvent]:
        """A stream that ends before a finish reason, or fails after its first event, raises
        ``ModelError`` (a 502's, not the 4xx the SDK gives an event it cannot parse): a truncated
        answer never looks like a whole one."""
        calls = ToolCallAssembler()
        finish = ""
        usage: Usage | None = None
        for n, response in enumerate(responses):
            failed = int(_get(response, "status_code", 500) or 500) != HTTPStatus.OK
            if failed and stream and _get(response, "code") == "Unknown":  # the SDK's answer to an event it cannot parse
                raise ModelError(f"model {self.model!r} at {self.base_url} answered 200 with a stream event that is not "
                                 f"JSON: {str(_get(response, 'message'))[:200]!r}", status_code=200)
            if failed and n:
                raise ModelError(f"model {self.model!r} at {self.base_url} failed mid-stream: "
                                 f"{_get(response, 'code') or ''}: {_get(response, 'message') or 'no message'}")
            self._check(response)
            usage = _usage(_get(response, "usage")) or usage  # cumulative: the last one counts
            choices = _get(_get(response, "output"), "choices") or []
            if not stream and not choices:
                raise ModelError(f"model {self.model!r} at {self.base_url} returned no choices", status_code=200)
            for choice in choices:
                message = _get(choice, "message") or {}
                content = _get(message, "content")
                if isinstance(content, str) and content:
                    yield TextDelta(text=content)
                for part in _get(message, "tool_calls") or []:
                    fn = _get(part, "function") or {}
                    index = int(_get(part, "index", 0) or 0)
                    calls.add(index, _get(part, "id"), _get(fn, "name"), _get(fn, "arguments"))
                    yield calls.partial(index)
                reason = _get(choice, "finish_reason")
                if reason and reason != "null":
                    finish = reason
        if not finish:
            raise ModelError(f"the stream from model {self.model!r} at {self.base_url} ended without a finish "
                             "reason: the answer is cut off", status_code=200)
        if finish == "stop" and calls.has_calls():
            finish = "tool_calls"
        yield from calls.events()
        if usage is not None:
            yield UsageEvent(usage=usage)
        yield FinishEvent(reason=finish)


def dashscope_from_config(config: LLMConfig) -> DashScopeModel:
    return DashScopeModel(config)
