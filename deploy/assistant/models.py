"""Request bodies of the assistant API, validated with pydantic (a bad one is a 400, never a 500)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class FunctionCallIn(BaseModel):
    name: str
    arguments: str | dict[str, Any] = "{}"


class ToolCallIn(BaseModel):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    """One message as OpenAI clients send it (content a string, parts, or null). Fields of an
    answer a client echoes back (``refusal``, ``audio``, ``annotations``) are accepted while empty;
    any other field is checked in ``convert.to_messages`` (a 400 naming it, never dropped)."""

    model_config = ConfigDict(extra="allow")

    role: Role
    content: Union[str, list[ContentPart], None] = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCallIn | None = Field(default=None, description="legacy: an assistant's function call")

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        out = []
        for part in self.content:
            if part.type not in ("text", "input_text"):
                raise ValueError(f"content part type {part.type!r} is not supported; send text parts")
            if not isinstance(part.text, str):
                raise ValueError("a text content part needs its 'text'")
            unused = [k for k, v in (part.model_extra or {}).items() if v is not None]
            if unused:  # e.g. a cache breakpoint: it would be dropped here, so it is refused
                raise ValueError(f"content part field {unused[0]!r} is not supported; send type and text")
            out.append(part.text)
        return "".join(out)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


# checked in convert.to_tool_choice, which can say exactly what is wrong
ToolChoiceIn = Union[str, dict[str, Any]]


class ResponseFormat(BaseModel):
    """``{"type": "text" | "json_object"}`` or ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class LegacyFunction(BaseModel):
    """An entry of the legacy ``functions`` list (they become tools)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    description: str = ""
    parameters: Union[dict[str, Any], list[Any], None] = None


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Every OpenAI field is declared; what a back end cannot take is
    a 400 naming it (``deploy.assistant.fields``). Fields OpenAI does not define (a vLLM option such as
    ``top_k``, sent by the SDK's ``extra_body``) go to back ends that take extra options, else 400."""

    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[ChatMessageIn] = Field(min_length=1)
    tools: list[Any] | None = None
    tool_choice: ToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: Union[str, list[str], None] = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    n: int | None = Field(default=None, ge=1, le=1)
    response_format: ResponseFormat | None = None
    # passed on to OpenAI-compatible back ends (see deploy.assistant.fields)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    verbosity: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None
    moderation: dict[str, Any] | None = None
    # legacy function calling: mapped to tools, answered with ``function_call``
    functions: list[LegacyFunction] | None = Field(default=None, min_length=1)
    function_call: Union[Literal["none", "auto"], NamedFunction, None] = None

    def settings(self) -> dict[str, Any]:
        """Generation settings passed on to the back-end (None means: the back-end's default)."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens or self.max_completion_tokens,
            "stop": [self.stop] if isinstance(self.stop, str) else self.stop,
            "seed": self.seed,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
        }


class LLMConfigIn(BaseModel):
    """The seed's ``llm_config``: model, model_server, api_key, generate_config (extra keys pass on)."""

    model_config = ConfigDict(extra="allow")

    model: str = ""
    model_server: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    api_base: str | None = None
    generate_config: dict[str, Any] = Field(default_factory=dict)


class AgentConfigIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = "assistant"
    description: str = ""
    instruction: str = "you are a helpful assistant"
    tools: list[Union[str, dict[str, Any]]] = Field(default_factory=list)


class AssistantRequest(BaseModel):
    """``POST /v1/assistants/lite`` (the seed's ``AgentRequest``)."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessageIn] = Field(min_length=1)
    llm_config: LLMConfigIn = Field(default_factory=LLMConfigIn)
    agent_config: AgentConfigIn = Field(default_factory=AgentConfigIn)
    stream: bool = False
    use_knowledge: bool = False
    files: list[str] | None = None
    uuid_str: str = Field(default="default", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    tools: list[Union[str, dict[str, Any]]] | None = None
    tool_choice: ToolChoiceIn | None = None
    knowledge_budget: int = Field(default=2000, ge=100, le=50_000)
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("messages")
    @classmethod
    def _last_is_user(cls, value: list[ChatMessageIn]) -> list[ChatMessageIn]:
        if value[-1].role != "user":
            raise ValueError("the last message must be the user's query (role 'user')")
        return value
