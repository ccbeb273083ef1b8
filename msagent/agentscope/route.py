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
    send_to: tuple[str, ...]

    def publish(self, msg: Msg, ack_seq: int | None = None) -> int:
        """Store ``msg`` for ``send_to`` and acknowledge the mail read up to ``ack_seq``, atomically."""
        message = to_message(msg, send_to=list(self.send_to), sender=self.role)
        return int(call(self.env, "publish_and_ack", self.role, message, ack_seq))
