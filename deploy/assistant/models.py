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
    """One message as OpenAI clients send it (content a string, parts, or null)."""

    model_config = ConfigDict(extra="allow")

    role: Role
    content: Union[str, list[ContentPart], None] = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

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


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``; unknown fields are accepted and ignored, like OpenAI's SDK extras."""

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
