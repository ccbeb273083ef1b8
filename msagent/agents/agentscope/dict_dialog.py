"""``DictDialogAgent``: asks the model for a JSON object and puts its fields on the reply ``Msg``.

``x.content`` is the object's ``speak`` field when there is one (else the whole object), and every
field is on the ``Msg`` too (``x.get("agreement")``). Answers are parsed tolerantly; an answer that
still does not parse is asked for again up to ``max_retries`` times, then ``fault_handler(text)``
decides (when given) or ``ResponseParsingError`` is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msagent.agents.agentscope.dialog import DialogAgent
from msagent.agents.agentscope.parsing import parse_json_object
from msagent.errors import ResponseParsingError
from msagent.message import Msg
from msagent.schemas import Message

JSON_HINT = "Respond with one JSON object only, no other text."
_MSG_KEYS = {"id", "timestamp", "name", "content", "role", "url"}


class DictDialogAgent(DialogAgent):
    def __init__(
        self,
        name: str,
        sys_prompt: str | None = None,
        model_config_name: str | None = None,
        use_memory: bool = True,
        memory_config: dict[str, Any] | None = None,
        parse_func: Callable[[str], Any] = parse_json_object,
        fault_handler: Callable[[str], Any] | None = None,
        max_retries: int = 3,
        *,
        model_or_config_name: Any = None,
        to_dist: bool | dict[str, Any] = False,
        json_hint: str | None = JSON_HINT,
    ) -> None:
        super().__init__(
            name, sys_prompt, model_config_name, use_memory, memory_config, model_or_config_name=model_or_config_name
        )
        self.parse_func = parse_func
        self.fault_handler = fault_handler
        self.max_retries = max(0, int(max_retries))
        self.json_hint = json_hint

    def reply(self, x: Any = None) -> Msg:
        messages = self.prompt(x)
        if self.json_hint:
            messages.append(Message(role="system", content=self.json_hint))
        text, error = "", None
        for _ in range(self.max_retries + 1):
            text = self.ask(messages)
            try:
                parsed = self.parse_func(text)
                break
            except Exception as e:  # the parse function is the user's: any failure means "ask again"
                error = e
        else:
            if self.fault_handler is None:
                raise ResponseParsingError(
                    f"agent {self.name!r}: the model's answer did not parse after {self.max_retries + 1} tries "
                    f"({error}); last answer: {text[:300]!r}",
                    agent=self.name,
                )
            parsed = self.fault_handler(text)
        if isinstance(parsed, dict) and "speak" in parsed:
            fields = {k: v for k, v in parsed.items() if k not in _MSG_KEYS}
            msg = Msg(self.name, parsed["speak"], role="assistant", **fields)
        else:
            msg = Msg(self.name, parsed, role="assistant")
        self.speak(msg)
        if self.memory is not None:
            self.memory.add(msg)
        return msg
