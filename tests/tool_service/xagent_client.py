"""A client written from XAgent's ToolServer protocol (its ``ToolServerInterface``): ``requests``,
the manager's URL with the token as its password (what XAgent's unchanged client can send), the
``node_id`` cookie from ``/get_cookie`` on every call, results unwrapped as XAgent unwraps them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import requests


def unwrap(obj: Any, files: Path) -> Any:
    """XAgent's ``unwrap_tool_response``: binary parts become files, composites lists."""
    if isinstance(obj, dict) and obj.get("type") in ("simple", "composite", "binary") and "data" in obj:
        if obj["type"] == "simple":
            return obj["data"]
        if obj["type"] == "binary":
            name = obj.get("name") or "blob"
            (files / name).write_bytes(base64.b64decode(obj["data"]))
            return {"media_type": obj["media_type"], "file_name": name}
        return [unwrap(o, files) for o in obj["data"]]
    return obj


class XAgentToolServer:
    def __init__(self, url: str, token: str | None, files: Path) -> None:
        scheme, rest = url.split("://", 1)
        self.url = f"{scheme}://xagent:{token}@{rest}" if token else url
        self.files = files
        response = requests.post(f"{self.url}/get_cookie", timeout=120)
        response.raise_for_status()
        self.cookies = response.cookies
        self.opened = response.json()

    def post(self, path: str, **kw: Any) -> requests.Response:
        return requests.post(f"{self.url}{path}", cookies=self.cookies, timeout=120, **kw)

    def get_available_tools(self) -> dict[str, Any]:
        r = self.post("/get_available_tools", json={})
        r.raise_for_status()
        return dict(r.json())

    def execute(self, tool_name: str, arguments: dict[str, Any] | str) -> tuple[int, Any]:
        """(status, result): 200 and 450 bodies unwrapped, other statuses' text."""
        r = self.post("/execute_tool", json={"tool_name": tool_name, "arguments": arguments})
        if r.status_code in (200, 450):
            return r.status_code, unwrap(r.json(), self.files)
        return r.status_code, r.text

    def run(self, tool_name: str, arguments: dict[str, Any] | str) -> tuple[int, Any]:
        """``execute``, following 450 answers as an XAgent agent does (``next_calling`` with its arguments)."""
        status, out = self.execute(tool_name, arguments)
        while status == 450:
            status, out = self.execute(out["detail"]["next_calling"], out["detail"]["arguments"])
        return status, out

    def close(self) -> None:
        self.post("/close_session")
