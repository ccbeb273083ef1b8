"""AgentScope's functional pipelines: ``sequentialpipeline(operators, x=None)`` and the if-else,
switch, for-loop and while-loop forms. An operator is anything callable as ``op(x) -> x``: an
agent (local or distributed), a pipeline, a function; a list of operators runs in sequence."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from msagent.errors import ConfigError

Operator = Callable[..., Any]
Operators = Union[Operator, Sequence[Operator]]


def placeholder(x: Any = None) -> Any:
    """The operator that passes ``x`` on unchanged (the default else/default branch)."""
    return x


def sequentialpipeline(operators: Sequence[Operator], x: Any = None) -> Any:
    """``x`` through each operator in turn: ``operators[-1](...operators[0](x))``."""
    if not isinstance(operators, Sequence) or isinstance(operators, (str, bytes)):
        raise ConfigError("sequentialpipeline takes a list of operators (agents, pipelines or functions)")
    if len(operators) == 0:
        raise ConfigError("sequentialpipeline got no operators")
    for operator in operators:
        x = operator(x)
    return x


def _run(operators: Operators, x: Any) -> Any:
    if isinstance(operators, Sequence) and not isinstance(operators, (str, bytes)):
        return sequentialpipeline(operators, x)
    if not callable(operators):
        raise ConfigError(f"a pipeline operator must be callable, not {type(operators).__name__}")
    return operators(x)


def ifelsepipeline(
    condition_func: Callable[[Any], bool],
    if_body_operators: Operators,
    else_body_operators: Operators = placeholder,
    x: Any = None,
) -> Any:
    """``if_body`` when ``condition_func(x)``, else ``else_body``."""
    return _run(if_body_operators if condition_func(x) else else_body_operators, x)


def switchpipeline(
    condition_func: Callable[[Any], Any],
    case_operators: Mapping[Any, Operators],
    default_operators: Operators = placeholder,
    x: Any = None,
) -> Any:
    """The operators of the case ``condition_func(x)`` names, else ``default_operators``."""
    case = condition_func(x)
    return _run(case_operators.get(case, default_operators), x)


def forlooppipeline(
    loop_body_operators: Operators,
    max_loop: int,
    break_func: Callable[[Any], bool] = lambda _: False,
    x: Any = None,
) -> Any:
    """The body up to ``max_loop`` times, stopping early once ``break_func(x)`` holds."""
    for _ in range(max_loop):
        x = _run(loop_body_operators, x)
        if break_func(x):
            break
    return x


def whilelooppipeline(
    loop_body_operators: Operators,
    condition_func: Callable[[int, Any], bool] = lambda _, __: False,
    x: Any = None,
) -> Any:
    """The body while ``condition_func(i, x)`` holds (``i`` counts the turns from 0)."""
    i = 0
    while condition_func(i, x):
        x = _run(loop_body_operators, x)
        i += 1
    return x


__all__ = [
    "forlooppipeline",
    "ifelsepipeline",
    "placeholder",
    "sequentialpipeline",
    "switchpipeline",
    "whilelooppipeline",
]
