"""AgentScope's pipeline classes: each holds its operators and runs as ``pipe(x)``; pipelines are
operators themselves, so they nest with agents and with each other."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from msagent.pipelines.functional import (
    Operator,
    Operators,
    forlooppipeline,
    ifelsepipeline,
    placeholder,
    sequentialpipeline,
    switchpipeline,
    whilelooppipeline,
)


def _members(*groups: Any) -> list[Any]:
    out: list[Any] = []
    for group in groups:
        if isinstance(group, Sequence) and not isinstance(group, (str, bytes)):
            out.extend(group)
        elif isinstance(group, Mapping):
            out.extend(_members(*group.values()))
        elif group is not None and group is not placeholder:
            out.append(group)
    return out


class PipelineBase(ABC):
    """``participants`` lists the operators a pipeline runs (AgentScope's attribute)."""

    participants: list[Any]

    @abstractmethod
    def __call__(self, x: Any = None) -> Any: ...


class SequentialPipeline(PipelineBase):
    def __init__(self, operators: Sequence[Operator]) -> None:
        self.operators = list(operators)
        self.participants = _members(self.operators)

    def __call__(self, x: Any = None) -> Any:
        return sequentialpipeline(self.operators, x)


class IfElsePipeline(PipelineBase):
    def __init__(
        self,
        condition_func: Callable[[Any], bool],
        if_body_operators: Operators,
        else_body_operators: Operators = placeholder,
    ) -> None:
        self.condition_func = condition_func
        self.if_body_operators = if_body_operators
        self.else_body_operators = else_body_operators
        self.participants = _members(if_body_operators, else_body_operators)

    def __call__(self, x: Any = None) -> Any:
        return ifelsepipeline(self.condition_func, self.if_body_operators, self.else_body_operators, x)


class SwitchPipeline(PipelineBase):
    def __init__(
        self,
        condition_func: Callable[[Any], Any],
        case_operators: Mapping[Any, Operators],
        default_operators: Operators = placeholder,
    ) -> None:
        self.condition_func = condition_func
        self.case_operators = dict(case_operators)
        self.default_operators = default_operators
        self.participants = _members(self.case_operators, default_operators)

    def __call__(self, x: Any = None) -> Any:
        return switchpipeline(self.condition_func, self.case_operators, self.default_operators, x)


class ForLoopPipeline(PipelineBase):
    def __init__(
        self,
        loop_body_operators: Operators,
        max_loop: int,
        break_func: Callable[[Any], bool] = lambda _: False,
    ) -> None:
        self.loop_body_operators = loop_body_operators
        self.max_loop = max_loop
        self.break_func = break_func
        self.participants = _members(loop_body_operators)

    def __call__(self, x: Any = None) -> Any:
        return forlooppipeline(self.loop_body_operators, self.max_loop, self.break_func, x)


class WhileLoopPipeline(PipelineBase):
    def __init__(
        self,
        loop_body_operators: Operators,
        condition_func: Callable[[int, Any], bool] = lambda _, __: False,
    ) -> None:
        self.loop_body_operators = loop_body_operators
        self.condition_func = condition_func
        self.participants = _members(loop_body_operators)

    def __call__(self, x: Any = None) -> Any:
        return whilelooppipeline(self.loop_body_operators, self.condition_func, x)
