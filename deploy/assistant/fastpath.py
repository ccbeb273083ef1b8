"""An async path to OpenAI-compatible back-ends with native tools, for /v1/chat/completions.

The sync back-end (``OpenAICompatModel``, the official SDK on a worker thread) costs several ms
of CPU per call on a small machine; this path speaks the same wire format with one shared
``aiohttp`` session on the event loop and yields the same ``LLMEvent``s, reusing the back-end's
message conversion, tool-call assembly and error mapping. Anything else (DashScope, prompt-based
function calling, other back-ends) goes through ``ChatModel.chat`` on the worker threads.

aiohttp rather than ``httpx.AsyncClient``: measured against the benchmark's fake server, a call
cost ~0.5 ms of CPU through httpx and ~0.15 ms through aiohttp (which Ray Serve itself depends on).
The session keeps httpx's defaults that matter: proxies from the environment, certifi's CA roots,
and a per-operation (not whole-stream) timeout. (Not aiohttp's ``trust_env``: it reads ``~/.netrc``
and the proxy variables on a worker thread for every request.)
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx

from msagent.errors import ModelError
from msagent.llm.base import ChatModel
from msagent.llm.errors_map import retry_after_s, status_error, timeout_error, unreachable_error
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, ToolCallEvent, Usage, UsageEvent
from msagent.llm.openai_compat import OpenAICompatModel, ToolCallAssembler, to_chat_messages, tool_choice_form
from msagent.schemas import FunctionCall, Message, ToolCall, ToolSpec


def applies(model: ChatModel, tools: list[ToolSpec], tool_choice: str) -> bool:
    uses_prompt = bool(tools) and tool_choice != "none" and not model.native_tool_calling
    return type(model) is OpenAICompatModel and not uses_prompt


class FastOpenAI:
    """One shared async HTTP session (keep-alive pool) for every back-end URL; create it on the
    event loop that serves the requests."""

    def __init__(self, max_connections: int = 256) -> None:
        connector = aiohttp.TCPConnector(
            limit=max_connections,
            limit_per_host=0,
            # the same trust roots as httpx (certifi, or SSL_CERT_FILE / SSL_CERT_DIR)
            ssl=httpx.create_ssl_context(),
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._proxies: dict[str, str | None] = {}

    async def aclose(self) -> None:
        await self.session.close()

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        # per operation like httpx.Timeout(t): getting a connection, and each read; a long stream
        # that keeps sending is never cut
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        return timeout

    def _proxy(self, base_url: str) -> str | None:
        """HTTP_PROXY / HTTPS_PROXY / ALL_PROXY and NO_PROXY, as httpx honoured them; once per URL."""
        if base_url not in self._proxies:
            self._proxies[base_url] = env_proxy(base_url)
        return self._proxies[base_url]

    async def chat(
        self,
        model: OpenAICompatModel,
        messages: list[Message],
        *,
        tools: list[ToolSpec],
        tool_choice: str,
        parallel_tool_calls: bool,
        stream: bool,
        **settings: Any,
    ) -> AsyncIterator[LLMEvent]:
        gen = model.config.generation().merged(**settings)
        body: dict[str, Any] = {"model": model.model, "messages": to_chat_messages(messages), "stream": stream}
        body.update(gen.model_dump(exclude_none=True))
        if tools and tool_choice != "none":
            body["tools"] = [t.openai_form() for t in tools]
            body["tool_choice"] = tool_choice_form(tool_choice, tools)
            if not parallel_tool_calls:
                body["parallel_tool_calls"] = False
        if stream:
            body["stream_options"] = {"include_usage": True}
        url = f"{model.base_url}/chat/completions"
        key = getattr(model, "_api_key", None) or "EMPTY"
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            response = await self.session.post(
                url, data=data, headers=headers, timeout=self._timeout(model.config.timeout), proxy=self._proxy(model.base_url)
            )
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise timeout_error(model.base_url, model.model, model.config.timeout) from e
        except (aiohttp.ClientError, OSError) as e:
            raise unreachable_error(model.base_url, model.model, e) from e
        try:
            if response.status != 200:
                raw = (await response.read()).decode(errors="replace")
                try:
                    message = json.loads(raw)["error"]["message"]
                except (ValueError, KeyError, TypeError):
                    message = raw[:500]
                raise status_error(
                    response.status, message, url=model.base_url, model=model.model, api_key=key,
                    retry_after=retry_after_s(response.headers),
                )
            events = _stream_events(response) if stream else _whole_events(json.loads(await response.read()))
            seen = 0
            async for event in events:
                if isinstance(event, ToolCallEvent):
                    seen += 1
                    if not parallel_tool_calls and seen > 1:
                        continue
                yield event
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise timeout_error(model.base_url, model.model, model.config.timeout) from e
        except (aiohttp.ClientError, OSError) as e:
            raise unreachable_error(model.base_url, model.model, e) from e
        finally:
            # back to the pool when the body was read to its end, else the connection is closed
            response.release()


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (None: go direct)."""
    parts = urllib.parse.urlsplit(url)
    # only these names: getproxies() takes any variable ending in _proxy (RAY_SERVE_ENABLE_HA_PROXY)
    proxies = {k: v for k, v in urllib.request.getproxies_environment().items() if k in ("http", "https", "all", "no")}
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):  # type: ignore[attr-defined]
        return None
    return proxy


def _usage(raw: Any) -> Usage:
    raw = raw or {}
    return Usage(
        prompt_tokens=raw.get("prompt_tokens") or 0,
        completion_tokens=raw.get("completion_tokens") or 0,
        total_tokens=raw.get("total_tokens") or 0,
    )


async def _whole_events(data: dict[str, Any]) -> AsyncIterator[LLMEvent]:
    choices = data.get("choices") or []
    if not choices:
        raise ModelError("the model server returned no choices", status_code=200)
    message = choices[0].get("message") or {}
    if message.get("content"):
        yield TextDelta(text=message["content"])
    for index, raw in enumerate(message.get("tool_calls") or []):
        fn = raw.get("function") or {}
        call = ToolCall(function=FunctionCall(name=fn.get("name", ""), arguments=fn.get("arguments") or "{}"))
        if raw.get("id"):
            call.id = raw["id"]
        yield ToolCallEvent(index=index, call=call)
    if data.get("usage"):
        yield UsageEvent(usage=_usage(data["usage"]))
    finish = choices[0].get("finish_reason") or "stop"
    yield FinishEvent(reason="tool_calls" if message.get("tool_calls") else finish)


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The body's lines as they arrive (any length; ``\r\n`` or ``\n``), to the body's end."""
    buffer = b""
    async for data in response.content.iter_any():
        buffer += data
        if b"\n" not in data:
            continue
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.decode(errors="replace").rstrip("\r")
    if buffer:
        yield buffer.decode(errors="replace").rstrip("\r")


async def _stream_events(response: aiohttp.ClientResponse) -> AsyncIterator[LLMEvent]:
    calls = ToolCallAssembler()
    finish = "stop"
    done = False
    async for line in _lines(response):
        # after [DONE] the body is read to its end (as the openai SDK does), so that the
        # connection goes back to the pool instead of being closed
        if done or not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            done = True
            continue
        chunk = json.loads(payload)
        if chunk.get("error"):
            raise ModelError(f"the model server failed mid-stream: {chunk['error'].get('message', chunk['error'])}")
        if chunk.get("usage"):
            yield UsageEvent(usage=_usage(chunk["usage"]))
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                yield TextDelta(text=delta["content"])
            for tc in delta.get("tool_calls") or []:
                fn = tc.get("function") or {}
                calls.add(tc.get("index", 0), tc.get("id"), fn.get("name"), fn.get("arguments"))
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    has_calls = calls.has_calls()
    for event in calls.events():
        yield event
    yield FinishEvent(reason="tool_calls" if has_calls else finish)
