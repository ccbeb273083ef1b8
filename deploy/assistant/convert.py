"""Wire shapes in (OpenAI messages, tools, tool_choice) to our values, with 400s for bad ones."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from deploy.assistant.errors import bad_request
from deploy.assistant.models import (
    ChatCompletionRequest,
    ChatMessageIn,
    FunctionCallIn,
    NamedToolChoice,
    ToolChoiceIn,
)
from msagent.schemas import FunctionCall, Message, ToolCall, ToolSpec, new_id

# fields of an earlier answer that clients echo back; they describe it, they ask nothing
ECHOED = ("refusal", "annotations")


def _call(fn: FunctionCallIn, call_id: str | None) -> ToolCall:
    args = fn.arguments
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ToolCall(id=call_id or new_id("call_"), function=FunctionCall(name=fn.name, arguments=text))


def to_messages(messages: list[ChatMessageIn]) -> list[Message]:
    out: list[Message] = []
    legacy_ids: dict[str, str] = {}  # function name -> id given to its last legacy function_call
    for i, m in enumerate(messages):
        for key, value in (m.model_extra or {}).items():
            if value in (None, "", [], {}) or (key in ECHOED and m.role == "assistant"):
                continue
            raise bad_request(f"message field {key!r} is not supported", param=f"messages[{i}].{key}")
        try:
            text = m.text()
        except ValueError as e:
            raise bad_request(str(e), param=f"messages[{i}].content") from e
        role = {"developer": "system", "function": "tool"}.get(m.role, m.role)
        calls = None
        if (m.tool_calls or m.function_call) and role != "assistant":
            field = "tool_calls" if m.tool_calls else "function_call"
            raise bad_request(f"only assistant messages may carry {field}", param=f"messages[{i}].{field}")
        if m.tool_calls:
            calls = [_call(call.function, call.id) for call in m.tool_calls]
        elif m.function_call:
            calls = [_call(m.function_call, None)]
            legacy_ids[m.function_call.name] = calls[0].id
        call_id = m.tool_call_id
        if m.role == "function":
            if not m.name:
                raise bad_request("a function message needs the name of the function it answers",
                                  param=f"messages[{i}].name")
            call_id = call_id or legacy_ids.get(m.name)
        if role == "tool" and not (call_id or m.name):
            raise bad_request("a tool message needs the tool_call_id it answers", param=f"messages[{i}].tool_call_id")
        if role in ("user", "system") and m.content is None:
            raise bad_request(f"a {m.role} message needs content", param=f"messages[{i}].content")
        out.append(Message(role=role, content=text, tool_calls=calls, tool_call_id=call_id, name=m.name))
    return out


def tools_of(body: ChatCompletionRequest) -> tuple[list[Any] | None, ToolChoiceIn | None, str]:
    """(tools, tool_choice, param): the legacy ``functions`` / ``function_call`` as tools."""
    if body.functions is None:
        if body.function_call is not None:
            raise bad_request("function_call needs the functions it chooses from", param="function_call")
        return body.tools, body.tool_choice, "tools"
    if body.tools is not None:
        raise bad_request("give either functions (legacy) or tools, not both", param="functions")
    if body.tool_choice is not None:
        raise bad_request("with functions (legacy), choose with function_call, not tool_choice", param="tool_choice")
    tools = [{"type": "function", "function": f.model_dump(exclude_none=True)} for f in body.functions]
    choice: ToolChoiceIn | None = None
    if isinstance(body.function_call, str):
        choice = body.function_call
    elif body.function_call is not None:
        choice = {"type": "function", "function": {"name": body.function_call.name}}
    return tools, choice, "functions"


def to_tool_specs(tools: list[Any] | None, param: str = "tools") -> list[ToolSpec]:
    """OpenAI's JSON-schema form and the seed's list-of-parameters form both become ``ToolSpec``."""
    specs: list[ToolSpec] = []
    for i, raw in enumerate(tools or []):
        if not isinstance(raw, dict):
            raise bad_request("each tool must be an object {'type': 'function', 'function': {...}}", f"{param}[{i}]")
        fn = raw.get("function", raw)
        if raw.get("type", "function") != "function" or not isinstance(fn, dict):
            raise bad_request("only tools of type 'function' are supported", f"{param}[{i}].type")
        if not isinstance(fn.get("name"), str) or not fn.get("name"):
            raise bad_request("a tool needs a function name", f"{param}[{i}].function.name")
        params = fn.get("parameters")
        if params is not None and not isinstance(params, (dict, list)):
            raise bad_request("parameters must be a JSON schema object or a list", f"{param}[{i}].function.parameters")
        if isinstance(params, dict) and not isinstance(params.get("properties", {}), dict):
            raise bad_request("parameters.properties must be an object", f"{param}[{i}].function.parameters")
        required = params.get("required", []) if isinstance(params, dict) else []
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise bad_request("parameters.required must be a list of property names", f"{param}[{i}].function.parameters")
        try:
            specs.append(ToolSpec.from_any(raw))
        except (ValueError, ValidationError) as e:
            raise bad_request(f"malformed tool: {_short(e)}", f"{param}[{i}].function") from e
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise bad_request(f"duplicate tool names: {', '.join(dupes)}", param)
    return specs


def to_tool_choice(choice: ToolChoiceIn | None, specs: list[ToolSpec]) -> str:
    """'auto' | 'none' | 'required' | a tool name (checked against the given tools)."""
    return choice_among(choice, [s.name for s in specs])


def choice_among(choice: ToolChoiceIn | None, names: list[str]) -> str:
    """``to_tool_choice`` for tools known by name only (the assistant's server-side tools)."""
    if choice is None:
        return "auto"
    if isinstance(choice, dict):
        try:
            name = NamedToolChoice.model_validate(choice).function.name
        except ValidationError as e:
            raise bad_request(
                "tool_choice must be 'auto', 'none', 'required' or {'type': 'function', 'function': {'name': ...}}",
                "tool_choice",
            ) from e
        if name not in names:
            given = ", ".join(names) or "none"
            raise bad_request(f"tool_choice names {name!r}, which is not among the given tools ({given})", "tool_choice")
        return name
    if choice not in ("auto", "none", "required"):
        raise bad_request(
            f"tool_choice {choice!r} is not one of 'auto', 'none', 'required' or a function object", "tool_choice"
        )
    if choice == "required" and not names:
        raise bad_request("tool_choice 'required' needs at least one tool in 'tools'", "tool_choice")
    return choice


def _short(e: Exception) -> str:
    if isinstance(e, ValidationError):
        first = e.errors()[0]
        return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"
    return str(e)
