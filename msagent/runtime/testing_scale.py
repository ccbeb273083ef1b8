"""Agents for scale runs (benchmarks/bench_scale.py, tests/scale): each addresses its own peers.

``PeerAgent(peers='all', **EchoAgent kwargs)``: an ``EchoAgent`` whose replies go to ``peers`` (a
role, a list of roles, or ``'all'``) whatever ``send_to`` the round passes, so one round can carry
"each agent sends to 1, 10 or all recipients". ``ring_peers(i, n, k)`` names the k agents after
agent i on a ring of ``worker_role(0..n-1)``; ``worker_role(i)`` is ``w<i>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from msagent.runtime.testing_agents import EchoAgent
from msagent.schemas import SendTo


def worker_role(i: int) -> str:
    return f"w{i}"


def ring_peers(i: int, n: int, k: int) -> list[str]:
    """The ``k`` roles after ``worker_role(i)`` on a ring of ``n`` (never itself)."""
    return [worker_role((i + j) % n) for j in range(1, min(k, n - 1) + 1)]


class PeerAgent(EchoAgent):
    def __init__(self, peers: SendTo = "all", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.peers = peers

    def step(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        kwargs["send_to"] = self.peers
        return super().step(*args, **kwargs)

    def forget_prompts(self) -> None:
        """Drop the prompts kept for tests (a long scale run would keep every one)."""
        self._prompts.clear()
