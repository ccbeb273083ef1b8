"""A sequential pipeline: each agent's reply is addressed to the next agent only.

``sequential_pipeline(agents, task=None, env=None, final_send_to='all', **step_kwargs)`` yields the
frames of each agent in turn; ``task`` goes to the first agent from 'user_requirement'.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from environment.routing import normalize_send_to
from msagent.errors import ConfigError
from msagent.runtime.calls import call, call_many
from msagent.runtime.fanout import iter_step
from msagent.schemas import USER_REQUIREMENT, Message, SendTo


def sequential_pipeline(
    agents: Sequence[Any],
    task: str | None = None,
    env: Any = None,
    final_send_to: SendTo = "all",
    **step_kwargs: Any,
) -> Iterator[str]:
    agents = list(agents)
    if not agents:
        raise ConfigError("sequential_pipeline needs at least one agent")
    final_send_to = normalize_send_to(final_send_to)
    roles = call_many(agents, "get_role")
    env = env if env is not None else call(agents[0], "get_env")
    if task is not None:
        if env is None:
            raise ConfigError("sequential_pipeline got a task but its agents have no environment")
        msg = Message(role=USER_REQUIREMENT, content=task, sent_from=USER_REQUIREMENT, send_to=roles[0])
        call(env, "store_message_from_role", USER_REQUIREMENT, msg)
    for i, agent in enumerate(agents):
        send_to = roles[i + 1] if i + 1 < len(roles) else final_send_to
        yield from iter_step(agent, roles[i], send_to=send_to, **step_kwargs)
