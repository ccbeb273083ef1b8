"""Back-end for any HTTP model API reached by one POST (AgentScope's ``post_api``): HuggingFace and
ModelScope inference APIs, a home-made server.

``{'model_server': 'post_api', 'api_url': 'http://host/generate', 'headers': {...},
'json_args': {...}, 'post_args': {'timeout': 30}, 'messages_key': 'inputs', 'response_path': None}``

The body is ``{messages_key: [{'role', 'content'}, ...], **json_args}``. The reply text is read at
``response_path`` (dotted, e.g. ``'data.response.choices.0.message.content'``) or, without one,
from the shapes such APIs answer with: OpenAI's ``choices[0].message.content``, AgentScope's
``data.response.choices...``, HuggingFace's ``[{'generated_text'}]``, ``output.text``, ``text``,
``response``. ``post(messages)`` returns the raw JSON for callers that want it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from msagent.errors import ConfigError, ModelError
from msagent.llm.base import ChatModel, ToolChoice
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.errors_map import status_error, timeout_error, unreachable_error
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta
from msagent.llm.retry import with_retries
from msagent.schemas import Message, ToolSpec

_POST_ARGS = {"timeout"}  # what httpx takes of AgentScope's requests.post keywords
_GUESSES = (
    "choices.0.message.content",
    "data.response.choices.0.message.content",
    "0.generated_text",
    "generated_text",
    "output.text",
    "output.choices.0.message.content",
    "text",
    "response",
)


def lookup(data: Any, path: str) -> Any:
    """``data`` at a dotted path (list indexes as numbers); KeyError when it is not there."""
    for part in path.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(path)
    return data


class PostAPIModel(ChatModel):
    native_tool_calling_default = False  # tools go through the prompt protocol

    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config)
        extra = dict(config.model_extra or {})
        self.api_url = str(extra.get("api_url") or config.api_base or "")
        if not self.api_url.startswith(("http://", "https://")):
            raise ConfigError("a post_api model needs 'api_url', an http(s) URL", field="api_url")
        self.headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
        if config.api_key and not any(k.lower() == "authorization" for k in self.headers):
            self.headers["Authorization"] = f"Bearer {config.api_key}"
        self.json_args = dict(extra.get("json_args") or {})
        post_args = dict(extra.get("post_args") or {})
        unknown = sorted(set(post_args) - _POST_ARGS)
        if unknown:
            raise ConfigError(f"post_args {unknown} are not supported; supported: {sorted(_POST_ARGS)}")
        self.timeout = float(post_args.get("timeout", extra.get("timeout_s", config.timeout)))
        self.messages_key = str(extra.get("messages_key") or "inputs")
        self.response_path = extra.get("response_path")
        self._client = httpx.Client(timeout=self.timeout)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.config,))  # the HTTP client stays behind; a copy makes its own

    def post(self, messages: Any, **json_args: Any) -> Any:
        """One POST of ``messages`` (any JSON value); the response body as JSON."""
        body = {self.messages_key: messages, **self.json_args, **json_args}
        try:
            response = self._client.post(self.api_url, json=body, headers=self.headers)
        except httpx.TimeoutException:
            raise timeout_error(self.api_url, self.model or "post_api", self.timeout) from None
        except httpx.HTTPError as e:
            raise unreachable_error(self.api_url, self.model or "post_api", e) from None
        if response.status_code != 200:
            raise status_error(
                response.status_code, response.text[:500], url=self.api_url, model=self.model or "post_api",
                api_key=self.config.api_key,
            )  # fmt: skip
        try:
            return response.json()
        except ValueError:
            raise ModelError(f"the post_api at {self.api_url} did not answer JSON: {response.text[:200]!r}") from None

    def text_of(self, raw: Any) -> str:
        """The reply text in a raw response (see the module docstring)."""
        paths = [self.response_path] if self.response_path else list(_GUESSES)
        for path in paths:
            try:
                value = lookup(raw, str(path))
            except KeyError:
                continue
            if isinstance(value, str):
                return value
        where = f"at {self.response_path!r}" if self.response_path else "in any known shape"
        raise ModelError(
            f"no reply text {where} of the post_api answer {str(raw)[:200]!r}; set 'response_path' in the config"
        )

    def _chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        stream: bool,
        settings: GenerationSettings,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> Iterator[LLMEvent]:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        extra = settings.model_dump(exclude_none=True, exclude={"stop"})

        def once() -> Iterator[LLMEvent]:
            text = self.text_of(self.post(payload, **extra))
            for word in settings.stop or []:
                if word and word in text:  # the API may not know stop words: cut here
                    text = text[: text.index(word)]
            yield TextDelta(text=text)
            yield FinishEvent(reason="stop")

        return with_retries(once, max_retries=self.config.max_retries)

    def close(self) -> None:
        self._client.close()


def post_api_from_config(config: LLMConfig) -> PostAPIModel:
    return PostAPIModel(config)
