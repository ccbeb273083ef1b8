"""A short error taxonomy. Every exception pickles, so it crosses Ray actor boundaries intact.

- ``ToolError`` and its children: what the model should see (the call failed, retry differently).
- ``ConfigError`` and its children: what a developer did wrong (fix the config or the call).
- ``RuntimeFailure`` and its children: what failed at run time (unreachable, undeliverable, timeout).
"""

from __future__ import annotations

from typing import Any


class MsagentError(Exception):
    """Base of all msagent errors. ``message`` says what happened and how to fix it."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.details))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[MsagentError], message: str, details: dict[str, Any]) -> MsagentError:
    return cls(message, **details)


# --- for the model -------------------------------------------------------------------------------
class ToolError(MsagentError):
    """A tool call failed; the text is shown to the model as the observation."""


class ToolNotFoundError(ToolError):
    pass


class ToolArgumentError(ToolError):
    """Arguments were not valid JSON, lacked a required field, or had a wrong type."""


class ToolTimeoutError(ToolError):
    pass


class WorkspacePathError(ToolArgumentError):
    """A path given to a tool points outside its workspace (bad input: HTTP 400)."""


# --- for the developer ---------------------------------------------------------------------------
class ConfigError(MsagentError):
    pass


class MissingApiKeyError(ConfigError):
    pass


class UnknownModelServerError(ConfigError):
    pass


class UnknownRoleError(ConfigError):
    pass


class DuplicateRoleError(ConfigError):
    pass


class InvalidScenarioError(ConfigError):
    pass


class EmptySendToError(ConfigError):
    pass


class InvalidContentError(ConfigError):
    """A message's content is not text (e.g. bytes)."""


class UnfinishedRunError(ConfigError):
    """A scenario's earlier run did not finish: resume it or start it fresh (``run``, ``hint``)."""


class UnknownModelConfigError(ConfigError):
    """A ``model_config_name`` that ``msagent.init(model_configs=...)`` did not load."""


# --- at run time ---------------------------------------------------------------------------------
class RuntimeFailure(MsagentError):
    pass


class ModelError(RuntimeFailure):
    """The model server answered with an error. ``status_code`` is kept when there is one."""


class ModelUnreachableError(ModelError):
    pass


class ModelTimeoutError(ModelError):
    pass


class ModelAuthError(ModelError):
    pass


class UndeliverableError(RuntimeFailure):
    pass


class AgentDisabledError(UndeliverableError):
    pass


class NoEnvironmentError(RuntimeFailure):
    pass


class AgentLostError(RuntimeFailure):
    """An agent's process died and it did not come back (``role``, ``reason``)."""


class AgentDiedError(RuntimeFailure):
    """A distributed agent's actor died; ``agent`` names it. Create the agent again."""


class ResponseParsingError(ModelError):
    """The model's answer could not be parsed as asked (e.g. JSON), even after retries."""


class MCPServerError(RuntimeFailure):
    """An MCP server could not be started or reached; ``server`` names it."""
