"""Scenario files (YAML or JSON): agents, the task, rounds and the speaker policy, validated by pydantic.

```yaml
name: debate
rounds: 4
policy: round_robin            # notified | round_robin | {name: director, director: judge}
remote: false                  # true: agents are Ray actors (``msagent run --remote``, ray job submit)
pool_size: 0                   # > 0: host agents in pools of this many per actor (thousands of agents)
env_shards: 1                  # > 1: the Environment split by role over this many shards
transcript: debate.jsonl       # the transcript, appended message by message (JSON lines)
actor_options: {}              # Ray actor options of the Environment and Agent Registry (remote runs)
task: {content: "Is tea better than coffee?", send_to: all, send_from: user_requirement}
agents:
  - role: alice
    class: RolePlay            # RolePlay, EchoAgent, or 'package.module:Class'
    instruction: You defend tea.
    llm: {model_server: scripted, replies: ["Tea is calm."], cycle: true}
    count: 1                   # > 1 makes roles alice_0, alice_1, ...
    actor_options:             # where its actor (or its pool) runs, see msagent/runtime/placement.py
      resources: {gpu_node: 0.01}
      scheduling_strategy: {node_affinity: {node_id: <hex>, soft: true}}
```

``load_scenario(path)`` -> ``Scenario``; a bad file is an ``InvalidScenarioError`` naming the field.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from msagent.errors import ConfigError, InvalidScenarioError
from msagent.llm.config import LLMConfig
from msagent.runtime.placement import checked_options
from msagent.schemas import DEFAULT_SEND_TO, USER_REQUIREMENT

# short names people write in scenario files; anything else is 'package.module:Class'
CLASS_ALIASES = {
    "RolePlay": ("msagent.agents", "RolePlay"),
    "EchoAgent": ("msagent.runtime.testing_agents", "EchoAgent"),
}


def resolve_class(spec: str) -> type:
    """``RolePlay`` / ``EchoAgent`` or ``package.module:Class`` (or ``package.module.Class``)."""
    if spec in CLASS_ALIASES:
        module_name, attr = CLASS_ALIASES[spec]
    elif ":" in spec:
        module_name, attr = spec.split(":", 1)
    elif "." in spec:
        module_name, attr = spec.rsplit(".", 1)
    else:
        raise ValueError(
            f"unknown agent class {spec!r}; use one of {sorted(CLASS_ALIASES)} or 'module:Class'"
        )
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot import agent class {spec!r}: {e}") from None
    if not isinstance(cls, type):
        raise ValueError(f"{spec!r} is not a class")
    return cls


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AgentSpec(_Strict):
    role: str = Field(min_length=1)
    cls: str = Field("RolePlay", alias="class")
    instruction: str | None = None
    llm: dict[str, Any]
    tools: list[str | dict[str, Any]] = Field(default_factory=list)
    is_watcher: bool = False
    use_history: bool = True
    human_input_mode: Literal["CLOSE", "ON", "TERMINAL"] = "CLOSE"
    count: int = Field(1, ge=1, le=100_000)
    options: dict[str, Any] = Field(default_factory=dict)
    actor_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("role")
    @classmethod
    def _role_ok(cls, value: str) -> str:
        if ":" in value or not value.strip():
            raise ValueError("a role is a non-empty name without ':'")
        return value

    @field_validator("cls")
    @classmethod
    def _class_ok(cls, value: str) -> str:
        resolve_class(value)
        return value

    @field_validator("llm")
    @classmethod
    def _llm_ok(cls, value: dict[str, Any]) -> dict[str, Any]:
        LLMConfig.model_validate(value)
        return value

    @field_validator("actor_options")
    @classmethod
    def _actor_options_ok(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked_actor_options(value)

    def roles(self) -> list[str]:
        return [self.role] if self.count == 1 else [f"{self.role}_{i}" for i in range(self.count)]

    def agent_kwargs(self, role: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **self.options,
            "name": role,
            "role": role,
            "llm": dict(self.llm),
            "is_watcher": self.is_watcher,
            "use_history": self.use_history,
            "human_input_mode": self.human_input_mode,
        }
        if self.instruction is not None:
            kwargs["instruction"] = self.instruction
        if self.tools:
            kwargs["function_list"] = list(self.tools)
        return kwargs


class TaskSpec(_Strict):
    content: str = Field(min_length=1)
    send_to: str | list[str] = DEFAULT_SEND_TO
    send_from: str = USER_REQUIREMENT

    @field_validator("send_to")
    @classmethod
    def _send_to_ok(cls, value: str | list[str]) -> str | list[str]:
        if (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value):
            raise ValueError("send_to is empty; use 'all' or name at least one role")
        return value


class PolicySpec(_Strict):
    name: Literal["notified", "round_robin", "director"] = "notified"
    director: str | None = None
    max_speakers: int | None = Field(default=None, ge=1)
    per_round: int | None = Field(default=None, ge=1)

    def as_policy(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.name == "director":
            out["director"] = self.director or "director"
            if self.max_speakers:
                out["max_speakers"] = self.max_speakers
        if self.name == "round_robin" and self.per_round:
            out["per_round"] = self.per_round
        return out


class Scenario(_Strict):
    name: str = "scenario"
    description: str = ""
    agents: list[AgentSpec] = Field(min_length=1)
    task: TaskSpec
    rounds: int = Field(3, ge=1, le=100_000)
    policy: PolicySpec = Field(default_factory=lambda: PolicySpec())
    send_to: str | list[str] = DEFAULT_SEND_TO
    remote: bool = False
    pool_size: int = Field(0, ge=0)
    pool_concurrency: int = Field(1, ge=1, le=256)
    env_shards: int = Field(1, ge=1, le=1024)
    transcript: str | None = None
    durable: bool = True
    actor_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("actor_options")
    @classmethod
    def _actor_options_ok(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked_actor_options(value)

    @field_validator("policy", mode="before")
    @classmethod
    def _policy_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        seen: set[str] = set()
        for agent in self.agents:
            for role in agent.roles():
                if role in seen:
                    raise ValueError(f"duplicate role {role!r} in agents")
                seen.add(role)
        targets = [self.task.send_to] if isinstance(self.task.send_to, str) else self.task.send_to
        for role in targets:
            if role != DEFAULT_SEND_TO and role not in seen:
                raise ValueError(f"task.send_to names {role!r}, which is not an agent role")
        if self.policy.name == "director":
            director = self.policy.director or "director"
            if director not in seen:
                raise ValueError(f"policy.director {director!r} is not an agent role")
        return self

    def roles(self) -> list[str]:
        return [r for a in self.agents for r in a.roles()]


def _checked_actor_options(value: dict[str, Any]) -> dict[str, Any]:
    try:
        return checked_options(value)
    except ConfigError as e:
        raise ValueError(e.message) from None


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise InvalidScenarioError(
            f"{source}: a scenario is a mapping, got {type(data).__name__}", field="<root>"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = _location(tuple(first["loc"]))
        problems = "; ".join(f"{_location(tuple(err['loc']))}: {err['msg']}" for err in e.errors())
        raise InvalidScenarioError(f"{source}: invalid scenario: {problems}", field=field) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a YAML (``.yaml``/``.yml``) or JSON scenario file and validate it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidScenarioError(
            f"cannot read scenario file {str(p)!r}: {e.strerror or e}", field="path"
        ) from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InvalidScenarioError(
            f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {e}", field="<root>"
        ) from None
    return parse_scenario(data, source=str(p))
