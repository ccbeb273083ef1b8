"""``current_time``: the current date and time, in UTC or an IANA time zone."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msagent.errors import ToolArgumentError
from msagent.tools.base import BaseTool
from msagent.tools.registry import register_tool


@register_tool("current_time")
class CurrentTime(BaseTool):
    description = "The current date and time (ISO 8601) in a time zone."
    parameters = [
        {
            "name": "timezone",
            "type": "string",
            "description": "IANA time zone such as 'Asia/Shanghai' or 'UTC' (default UTC)",
            "required": False,
        }
    ]

    def call(self, params: str | dict, **kwargs: Any) -> str:
        name = self.verify_args(params).get("timezone") or "UTC"
        try:
            zone = timezone.utc if name.upper() == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolArgumentError(
                f"unknown time zone {name!r}; use an IANA name like 'Europe/Paris' or 'UTC'"
            ) from None
        now = datetime.now(zone)
        return f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')}, {name})"
