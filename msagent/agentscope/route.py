"""``HubRoute``: where one hub participant reads its mail and publishes its reply. A plain value:
it travels with a distributed participant's call (the Environment is then an actor handle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msagent.message import Msg, to_message
from msagent.runtime.calls import call


@dataclass(frozen=True)
class HubRoute:
    env: Any  # the hub's Environment: an object, or an actor handle for distributed participants
    role: str
    send_to: str | tuple[str, ...]  # 'all' on a hub's own Environment, else the other participants

    def publish(self, msg: Msg, ack_seq: int | None = None) -> int:
        """Store ``msg`` for ``send_to`` and acknowledge the mail read up to ``ack_seq``, atomically."""
        to = self.send_to if isinstance(self.send_to, str) else list(self.send_to)
        message = to_message(msg, send_to=to, sender=self.role)
        return int(call(self.env, "publish_and_ack", self.role, message, ack_seq))
