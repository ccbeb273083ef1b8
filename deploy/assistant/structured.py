"""``response_format`` for back ends that cannot enforce it (prompt-based function calling,
DashScope, the local model): the format is asked for in the system prompt, the answer is checked
(JSON, an object, and the schema of ``json_schema``), asked for once more with what was wrong, and
a second failure is a 502 naming it. OpenAI-compatible back ends with native tools get the field
itself (``fields.py``)."""

from __future__ import annotations

import json
import re
from typing import Any

from deploy.assistant.errors import APIError, bad_request
from deploy.assistant.models import ResponseFormat
from msagent.schemas import Message

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FENCE = re.compile(r"^```(?:json|JSON)?\s*\n?(.*?)\n?```$", re.S)


class JsonFormat:
    """A ``json_object`` or ``json_schema`` response format: its prompt and its check."""

    def __init__(self, schema: dict[str, Any] | None = None, name: str = "") -> None:
        self.schema, self.name = schema, name
        self._validator: Any = None
        if schema is not None:
            import jsonschema

            cls = jsonschema.validators.validator_for(schema)
            try:
                cls.check_schema(schema)
            except jsonschema.SchemaError as e:
                raise bad_request(f"response_format.json_schema.schema is not a valid JSON schema: {e.message}",
                                  param="response_format.json_schema.schema") from None
            self._validator = cls(schema)

    @classmethod
    def of(cls, fmt: ResponseFormat | None) -> JsonFormat | None:
        """None for no format or ``text``; a 400 for a ``json_schema`` without a usable schema."""
        if fmt is None or fmt.type == "text":
            return None
        if fmt.type == "json_object":
            return cls()
        spec = fmt.json_schema
        if not isinstance(spec, dict):
            raise bad_request("response_format type json_schema needs json_schema: {name, schema}",
                              param="response_format.json_schema")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise bad_request("response_format.json_schema.name must be 1-64 letters, digits, '_' or '-'",
                              param="response_format.json_schema.name")
        schema = spec.get("schema", {"type": "object"})
        if not isinstance(schema, dict):
            raise bad_request("response_format.json_schema.schema must be a JSON schema object",
                              param="response_format.json_schema.schema")
        return cls(schema, name)

    @property
    def kind(self) -> str:
        return "json_schema" if self.schema is not None else "json_object"

    def instruction(self) -> str:
        text = "Answer with one JSON object and nothing else: no prose, no code fences."
        if self.schema is not None:
            text += f" It must match this JSON schema ({self.name}):\n{json.dumps(self.schema, ensure_ascii=False)}"
        return text

    def prompt(self, messages: list[Message]) -> list[Message]:
        """``messages`` with the instruction added to the system message (or as one, first)."""
        out = list(messages)
        if out and out[0].role == "system":
            out[0] = out[0].model_copy(update={"content": f"{out[0].content}\n\n{self.instruction()}"})
        else:
            out.insert(0, Message(role="system", content=self.instruction()))
        return out

    def check(self, text: str) -> str:
        """The answer's JSON text (code fences removed); ``ValueError`` says what is wrong."""
        body = text.strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group(1).strip()
        try:
            value = json.loads(body)
        except ValueError as e:
            raise ValueError(f"not valid JSON ({e}): {body[:200]!r}") from None
        if not isinstance(value, dict):
            raise ValueError(f"a JSON {type(value).__name__}, not an object")
        if self._validator is not None:
            error = next(iter(self._validator.iter_errors(value)), None)
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                raise ValueError(f"does not match the schema at {where}: {error.message}")
        return body

    def retry(self, messages: list[Message], answer: str, problem: str) -> list[Message]:
        return [*messages, Message(role="assistant", content=answer),
                Message(role="user", content=f"That answer is {problem}. {self.instruction()}")]

    def failure(self, problem: str) -> APIError:
        return APIError(502, f"the model did not answer in the requested response_format ({self.kind}) after 2 tries: "
                             f"the answer is {problem}", code="invalid_model_output", type="api_error")
