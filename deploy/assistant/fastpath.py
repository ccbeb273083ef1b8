"""The relay to OpenAI-compatible back ends with native tools, for /v1/chat/completions.

The sync back end (``OpenAICompatModel``, the official SDK on a worker thread) costs several ms
of CPU per call on a small machine; this path speaks the same wire format on the event loop. The
request is the client's, normalised (messages, tools, settings) plus every field this back end
takes (``fields.py``); the answer is the back end's, as it came (``logprobs``, ``service_tier``,
... included), checked for what makes it usable. Anything else (DashScope, prompt-based function
calling, other back ends) goes through ``ChatModel.chat`` on the worker threads.

The HTTP client is ``upstream.py`` (keep-alive pool, one write per request, httptools parsing):
measured against the benchmark's fake server, a call cost ~0.5 ms of CPU through httpx, ~0.15 ms
through aiohttp and less again through it. A back end behind a proxy from the environment
(HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, NO_PROXY, as httpx honoured them) goes through one shared
aiohttp session instead, which also answers ``GET /v1/models``. Both keep httpx's defaults that
matter: certifi's CA roots and a per-operation (not whole-stream) timeout. (Not aiohttp's
``trust_env``: it reads ``~/.netrc`` and the proxy variables on a worker thread for every request.)
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp
import httpx

from deploy.assistant.sse import DONE
from deploy.assistant.upstream import Upstream
from deploy.assistant.wire_json import dumps, loads
from msagent.errors import ModelError
from msagent.llm.base import ChatModel
from msagent.llm.config import GenerationSettings
from msagent.llm.errors_map import retry_after_s, status_error, timeout_error, unreachable_error
from msagent.llm.openai_compat import OpenAICompatModel, to_chat_messages, tool_choice_form
from msagent.schemas import Message, ToolSpec


def applies(model: ChatModel, tools: list[ToolSpec], tool_choice: str) -> bool:
    uses_prompt = bool(tools) and tool_choice != "none" and not model.native_tool_calling
    return type(model) is OpenAICompatModel and not uses_prompt


class Answer(Protocol):
    """A back end's answer being read: ``upstream.Connection``, or ``_AiohttpAnswer`` via a proxy."""

    status: int
    headers: Any

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None: ...


class _AiohttpAnswer:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response, self.status, self.headers = response, response.status, response.headers

    async def read(self) -> bytes:
        return await self.response.read()

    def chunks(self) -> AsyncIterator[bytes]:
        return self.response.content.iter_any()

    def release(self) -> None:
        self.response.release()


class FastOpenAI:
    """The relay's clients, shared by every back-end URL; create it on the event loop that serves
    the requests."""

    def __init__(self, max_connections: int = 256) -> None:
        # the same trust roots as httpx (certifi, or SSL_CERT_FILE / SSL_CERT_DIR)
        self.ssl = httpx.create_ssl_context()
        self.upstream = Upstream(self.ssl, max_connections)
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._proxies: dict[str, str | None] = {}
        self._configured: weakref.WeakKeyDictionary[OpenAICompatModel, dict[str, Any]] = weakref.WeakKeyDictionary()

    def configured(self, model: OpenAICompatModel) -> dict[str, Any]:
        """The model's own generation settings (its config's ``generate_cfg``), validated once."""
        found = self._configured.get(model)
        if found is None:
            found = self._configured[model] = model.config.generation().model_dump(exclude_none=True)
        return found

    @property
    def session(self) -> aiohttp.ClientSession:
        """aiohttp, for back ends behind a proxy and for ``GET /v1/models``."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0, ssl=self.ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=None)
            )
        return self._session

    async def aclose(self) -> None:
        self.upstream.close()
        if self._session is not None:
            await self._session.close()

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

    async def _send(self, url: str, key: str, data: bytes, model: OpenAICompatModel) -> Answer:
        proxy = self._proxy(model.base_url)
        if proxy is None:
            return await self.upstream.post(url, f"Bearer {key}", data, model.config.timeout)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        response = await self.session.post(url, data=data, headers=headers, timeout=self._timeout(model.config.timeout),
                                           proxy=proxy)
        return _AiohttpAnswer(response)

    async def open(
        self, model: OpenAICompatModel, body: dict[str, Any], *, one_call: bool = False, legacy: bool = False
    ) -> Relay:
        """Send ``body``; a back-end error status raises (mapped like the SDK path's), a 200 gives
        the answer to relay."""
        url = f"{model.base_url}/chat/completions"
        key = getattr(model, "_api_key", None) or "EMPTY"
        data = dumps(body)
        try:
            answer = await self._send(url, key, data, model)
            if answer.status != 200:
                status, headers = answer.status, answer.headers  # (a released connection forgets them)
                try:
                    raw = (await answer.read()).decode(errors="replace")
                finally:
                    answer.release()
                try:
                    message = json.loads(raw)["error"]["message"]
                except (ValueError, KeyError, TypeError):
                    message = raw[:500]
                raise status_error(
                    status, message, url=model.base_url, model=model.model, api_key=key,
                    retry_after=retry_after_s(headers),
                )
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise timeout_error(model.base_url, model.model, model.config.timeout) from e
        except (aiohttp.ClientError, OSError, ValueError) as e:
            raise unreachable_error(model.base_url, model.model, e) from e
        return Relay(answer, model, one_call=one_call, legacy=legacy)


def request_body(
    model: OpenAICompatModel,
    messages: list[Message],
    *,
    tools: list[ToolSpec],
    tool_choice: str,
    parallel_tool_calls: bool,
    stream: bool,
    passed: dict[str, Any],
    configured: dict[str, Any] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """The back end's request: normalised messages and tools, the settings, and every field the
    client sent that this back end takes (``passed``: see ``fields.py``). ``configured``: the
    model's own generation settings (``FastOpenAI.configured``; computed here if not given)."""
    body: dict[str, Any] = {"model": model.model, "messages": to_chat_messages(messages), "stream": stream}
    if configured is None:
        configured = model.config.generation().model_dump(exclude_none=True)
    body.update(generation(configured, settings))
    if tools and tool_choice != "none":
        body["tools"] = [t.openai_form() for t in tools]
        body["tool_choice"] = tool_choice_form(tool_choice, tools)
        if not parallel_tool_calls:
            body["parallel_tool_calls"] = False
    body.update(passed)
    return body


_GENERATION_FIELDS = tuple(GenerationSettings.model_fields)


def generation(configured: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """``model.config.generation().merged(**settings).model_dump(exclude_none=True)``, keys in the
    same order, without three pydantic passes per request: ``configured`` is the config's part,
    validated once per model (``FastOpenAI.configured``); ``settings`` are the request's, validated
    already."""
    merged = {**configured, **{k: v for k, v in settings.items() if v is not None}}
    if isinstance(merged.get("stop"), str):
        merged["stop"] = [merged["stop"]]
    out = {k: merged.pop(k) for k in _GENERATION_FIELDS if k in merged}
    out.update(merged)
    return out


class Relay:
    """A back end's 200 answer, passed on as it came: the whole body (with the seed's envelope
    fields added) or its SSE frames. What is checked: the body is JSON with a choice and a message;
    each frame is a JSON object; an ``error`` frame and a stream that ends before ``[DONE]`` are
    failures (``ModelError``), never a clean end. With ``one_call`` (parallel_tool_calls false)
    only the first tool call is kept; ``legacy`` turns tool calls into ``function_call``."""

    def __init__(self, answer: Answer, model: OpenAICompatModel, *, one_call: bool, legacy: bool) -> None:
        self.answer, self.model = answer, model
        self.one_call, self.legacy = one_call, legacy

    def _broken(self, e: BaseException) -> ModelError:
        return ModelError(f"the connection to model {self.model.model!r} at {self.model.base_url} broke mid-answer "
                          f"({type(e).__name__}: {e}): the answer is cut off")

    def _malformed(self, what: str) -> ModelError:
        return ModelError(f"model {self.model.model!r} at {self.model.base_url} answered 200 with {what}", status_code=200)

    async def whole(self) -> dict[str, Any]:
        try:
            raw = await self.answer.read()
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise timeout_error(self.model.base_url, self.model.model, self.model.config.timeout) from e
        except (aiohttp.ClientError, OSError) as e:
            raise self._broken(e) from e
        finally:
            self.answer.release()
        try:
            data = loads(raw)
        except ValueError:
            raise self._malformed(f"a body that is not JSON: {raw[:200]!r}") from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._malformed(f"no choices: {raw[:200]!r}")
        message = choices[0].get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), (str, type(None))):
            raise self._malformed(f"no message in choices[0]: {raw[:200]!r}")
        calls = message.get("tool_calls")
        if calls is not None:
            if not isinstance(calls, list) or not all(isinstance(c, dict) and isinstance(c.get("function"), dict) for c in calls):
                raise self._malformed(f"malformed tool_calls: {str(calls)[:200]!r}")
            if calls and (self.one_call or self.legacy):
                message["tool_calls"] = calls[:1]
            if calls and self.legacy:
                fn = message.pop("tool_calls")[0]["function"]
                message["function_call"] = {"name": fn.get("name", ""), "arguments": fn.get("arguments") or "{}"}
                choices[0]["finish_reason"] = "function_call"
        data["request_id"], data["message"], data["output"] = data.get("id"), "", None
        return data  # type: ignore[no-any-return]

    async def frames(self) -> AsyncIterator[bytes]:
        """The SSE frames, a network read's worth at a time."""
        self.done = False
        buffer = b""
        try:
            async for data in self.answer.chunks():
                buffer += data
                if b"\n" not in data:
                    continue
                *lines, buffer = buffer.split(b"\n")
                out, failure = bytearray(), None
                for line in lines:
                    try:
                        out += self._frame(line)
                    except ModelError as e:
                        failure = e
                        break
                if out:  # what came before a bad frame still goes out, then the failure
                    yield bytes(out)
                if failure is not None:
                    raise failure
            if buffer:
                last = self._frame(buffer)
                if last:
                    yield last
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as e:
            raise timeout_error(self.model.base_url, self.model.model, self.model.config.timeout) from e
        except (aiohttp.ClientError, OSError) as e:
            raise self._broken(e) from e
        finally:
            # back to the pool when the body was read to its end, else the connection is closed
            self.answer.release()
        if not self.done:
            raise ModelError(f"the stream from model {self.model.model!r} at {self.model.base_url} ended before "
                             "data: [DONE]: the answer is cut off", status_code=200)

    def _frame(self, line: bytes) -> bytes:
        # after [DONE] the body is read to its end (as the openai SDK does), so that the
        # connection goes back to the pool instead of being closed
        line = line.rstrip(b"\r")
        if self.done or not line.startswith(b"data:"):
            return b""
        payload = line[5:].strip()
        if payload == b"[DONE]":
            self.done = True
            return DONE
        try:
            chunk = loads(payload)
        except ValueError:
            raise self._malformed(f"a stream frame that is not JSON: {payload[:200]!r}") from None
        if not isinstance(chunk, dict) or not isinstance(chunk.get("choices", []), list):
            raise self._malformed(f"a malformed stream frame: {payload[:200]!r}")
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ModelError(f"the model server failed mid-stream: {message}")
        if (self.one_call or self.legacy) and _rewrite(chunk, self.legacy):
            return b"data: " + dumps(chunk) + b"\n\n"
        return b"data: " + payload + b"\n\n"


def _rewrite(chunk: dict[str, Any], legacy: bool) -> bool:
    """Keep a chunk's first tool call only; with ``legacy``, as ``function_call``. True if changed."""
    changed = False
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or {}
        calls = delta.get("tool_calls")
        if calls:
            first = [c for c in calls if isinstance(c, dict) and c.get("index", 0) == 0]
            delta.pop("tool_calls")
            if first and legacy:
                fn = first[0].get("function") or {}
                delta["function_call"] = {k: fn[k] for k in ("name", "arguments") if fn.get(k) is not None}
            elif first:
                delta["tool_calls"] = first
            changed = True
        if legacy and choice.get("finish_reason") == "tool_calls":
            choice["finish_reason"] = "function_call"
            changed = True
    return changed


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (None: go direct)."""
    parts = urllib.parse.urlsplit(url)
    # only these names: getproxies() takes any variable ending in _proxy (RAY_SERVE_ENABLE_HA_PROXY)
    proxies = {k: v for k, v in urllib.request.getproxies_environment().items() if k in ("http", "https", "all", "no")}
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):  # type: ignore[attr-defined]
        return None
    return proxy
