"""The manager's HTTP-facing failures: a status code and a message saying what to do."""

from __future__ import annotations

from typing import Any


class ManagerError(Exception):
    def __init__(self, status: int, message: str, output: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.output = status, message, output
        self.headers = dict(headers or {})

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.message, self.output, self.headers))


def not_ready(call_id: str, tool_node_name: str) -> ManagerError:
    """XAgent's "call this next" answer (its HTTP 450) as a 202: the call runs on; fetch its result."""
    return ManagerError(
        202,
        "the call is still running; POST /execute_tool_result with this call_id to wait for its result",
        {"type": "retry", "call_id": call_id, "tool_node_name": tool_node_name,
         "next_calling": "/execute_tool_result", "arguments": {"call_id": call_id}},
    )
