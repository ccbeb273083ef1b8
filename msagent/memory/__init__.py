"""Per-agent conversation memory: ``Memory`` (add, trim to a token budget, save/load as JSON)."""

from msagent.memory.memory import Memory, estimate_tokens

__all__ = ["Memory", "estimate_tokens"]
