"""``calculator``: arithmetic evaluated over a whitelisted ``ast`` (no eval of arbitrary code)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from msagent.errors import ToolError
from msagent.tools.base import BaseTool
from msagent.tools.registry import register_tool

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "round": round, "min": min, "max": max,
    "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "log2": math.log2, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "floor": math.floor, "ceil": math.ceil, "factorial": math.factorial,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_MAX_POWER = 10_000  # bounds 10**10**10-style expressions that would hang the process
_MAX_LENGTH = 500


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression; ``ToolError`` for anything else."""
    if len(expression) > _MAX_LENGTH:
        raise ToolError(f"expression too long (over {_MAX_LENGTH} characters); split it up")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ToolError(f"not an arithmetic expression: {expression!r} ({e.msg})") from None
    try:
        return _eval(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (ValueError, OverflowError, TypeError) as e:
        raise ToolError(f"cannot compute {expression!r}: {e}") from None


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_POWER:
            raise ToolError(f"exponent {right} is too large (limit {_MAX_POWER})")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise ToolError(f"{node.func.id}() takes positional arguments only")
        return _FUNCTIONS[node.func.id](*(_eval(a) for a in node.args))
    allowed = "numbers, + - * / // % **, parentheses, " + ", ".join(sorted(_FUNCTIONS)) + ", pi, e, tau"
    raise ToolError(f"unsupported element {ast.dump(node)[:60]!r}; allowed: {allowed}")


@register_tool("calculator")
class Calculator(BaseTool):
    description = "Evaluate an arithmetic expression, e.g. '2 * (3 + 4) ** 2' or 'sqrt(2) * pi'."
    parameters = [
        {"name": "expression", "type": "string", "description": "the arithmetic expression", "required": True}
    ]

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        value = evaluate(args["expression"])
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        return str(value)
