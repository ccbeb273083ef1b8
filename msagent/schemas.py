"""Plain values that cross every boundary (HTTP, Ray calls, disk) unchanged."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_SEND_TO = "all"
USER_REQUIREMENT = "user_requirement"

SendTo = Union[str, list[str]]


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a surrogate pair becomes its character, a lone surrogate (which
    no UTF-8 encoder, JSON writer or database accepts) becomes U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class FunctionCall(BaseModel):
    """A function name and its arguments as a JSON string (OpenAI's shape)."""

    name: str
    arguments: str = "{}"


class ToolCall(BaseModel):
    id: str = Field(default_factory=lambda: new_id("call_"))
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(BaseModel):
    """One message: chat turns (system/user/assistant/tool) and agent-to-agent mail alike.

    In the multi-agent runtime ``role`` is the sending agent's role, ``sent_from`` who sent it
    and ``send_to`` who it is for ('all', one role or a list of roles).
    """

    model_config = ConfigDict(extra="forbid")

    role: str
    content: str = ""
    sent_from: str = ""
    send_to: SendTo = DEFAULT_SEND_TO
    id: str = Field(default_factory=new_id)
    timestamp: float = Field(default_factory=time.time)
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    # fields a sender attaches that the runtime routes and logs untouched (e.g. an AgentScope Msg's
    # role, url and extra fields, so it arrives whole); JSON values only
    metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _role_from_sender(cls, data: Any) -> Any:
        # ModelScope-Agent builds mail as Message(content=..., sent_from='alice'): the role is the sender
        if isinstance(data, dict) and not data.get("role") and data.get("sent_from"):
            data = {**data, "role": data["sent_from"]}
        return data

    @field_validator("content", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            raise ValueError("content must be text (str), not bytes: decode it first")
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("send_to")
    @classmethod
    def _send_to_not_empty(cls, value: SendTo) -> SendTo:
        if isinstance(value, list):
            if not value:
                raise ValueError("send_to is an empty list; use 'all' or name at least one role")
            if any(not isinstance(v, str) or not v for v in value):
                raise ValueError("send_to holds an empty role name")
        elif not value:
            raise ValueError("send_to is empty; use 'all' or a role name")
        return value

    def recipients(self) -> list[str] | None:
        """The explicit recipients, or None when the message is for all."""
        if isinstance(self.send_to, str):
            return None if self.send_to == DEFAULT_SEND_TO else [self.send_to]
        return None if DEFAULT_SEND_TO in self.send_to else list(self.send_to)


# --- tools as the model sees them ----------------------------------------------------------------
_LIST_FORM_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object", "list": "array"}


def parameters_to_json_schema(parameters: list[dict] | dict | None) -> dict:
    """Turn the list form ``[{'name','type','description','required'}]`` into a JSON schema.

    A dict is taken as a JSON schema already and returned as an object schema.
    """
    if parameters is None:
        return {"type": "object", "properties": {}}
    if isinstance(parameters, dict):
        if parameters.get("type", "object") != "object":
            raise ValueError("a tool's parameters schema must have type 'object'")
        return {"type": "object", "properties": {}, **parameters}
    if not isinstance(parameters, list):
        raise ValueError("tool parameters must be a list of {'name','type',...} or a JSON schema object")
    properties: dict[str, dict] = {}
    required: list[str] = []
    for i, item in enumerate(parameters):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError(f"tool parameter #{i} needs a non-empty 'name'")
        prop = {k: v for k, v in item.items() if k not in ("name", "required")}
        prop["type"] = _LIST_FORM_TYPES.get(str(prop.get("type", "string")), prop.get("type", "string"))
        properties[item["name"]] = prop
        if item.get("required"):
            required.append(item["name"])
    schema: dict = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


class ToolSpec(BaseModel):
    """What a model is told about one tool: a name, a description and a JSON schema."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-\.]{1,64}$")
    description: str = ""
    parameters: dict = Field(default_factory=lambda: {"type": "object", "properties": {}})
    # the seed's list form as the tool wrote it, for prompts that show it (Qwen-Agent's); not sent
    source_parameters: list[dict] | None = Field(default=None, exclude=True)

    @classmethod
    def from_any(cls, obj: dict | ToolSpec) -> ToolSpec:
        """Accept OpenAI's ``{'type':'function','function':{...}}``, a bare function dict, or the
        seed's ``{'name','description','parameters': [list form]}``."""
        if isinstance(obj, ToolSpec):
            return obj
        if not isinstance(obj, dict):
            raise ValueError("a tool must be an object")
        fn = obj.get("function", obj) if obj.get("type", "function") == "function" else None
        if not isinstance(fn, dict):
            raise ValueError("only tools of type 'function' are supported")
        params = fn.get("parameters")
        return cls(
            name=fn.get("name", ""),
            description=fn.get("description") or "",
            parameters=parameters_to_json_schema(params),
            source_parameters=params if isinstance(params, list) else None,
        )

    def openai_form(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }
