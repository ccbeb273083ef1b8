"""The Agent Registry: which agents exist, their state, which are human-driven."""

from registry.registry import AgentEntry, AgentRegistry

__all__ = ["AgentEntry", "AgentRegistry"]
