"""``ToolServiceProxy``: a tool that runs in a tool node, reached through the tool manager.

It behaves like a local tool: the constructor creates the node (or finds it running), waits for
it with a timeout and fetches its spec; ``call`` executes remotely. The manager URL comes from
``TOOL_MANAGER_SERVICE_URL`` (default http://localhost:31511), the token from ``TOOL_MANAGER_AUTH``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx

from msagent.errors import ConfigError, RuntimeFailure, ToolArgumentError, ToolError, ToolTimeoutError
from msagent.schemas import ToolSpec
from msagent.tools.base import BaseTool

DEFAULT_URL = "http://localhost:31511"


class ToolServiceProxy(BaseTool):
    def __init__(
        self,
        tool_name: str,
        tool_cfg: dict | None = None,
        tenant_id: str = "default",
        *,
        url: str | None = None,
        token: str | None = None,
        tool_image: str | None = None,
        start_timeout: float = 120.0,
        call_timeout: float = 600.0,
    ) -> None:
        self.__dict__["name"] = tool_name  # per instance: the proxied tool's name
        super().__init__(tool_cfg)
        self.tenant_id = tenant_id
        self.url = (url or os.environ.get("TOOL_MANAGER_SERVICE_URL") or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get("TOOL_MANAGER_AUTH")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.call_timeout = call_timeout
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(30.0))
        try:
            self.node_name = self._start(tool_image, start_timeout)
            info = self._post("/tool_info", {"tool_name": tool_name, "tenant_id": tenant_id})
            self._spec = ToolSpec(name=tool_name, description=str(info.get("description", "")),
                                  parameters=info.get("parameters") or {"type": "object", "properties": {}},
                                  source_parameters=info.get("source_parameters"))
        except Exception:
            self._http.close()
            raise

    def _start(self, image: str | None, timeout: float) -> str:
        key = {"tool_name": self.name, "tenant_id": self.tenant_id}
        out = self._post("/create_tool_service", {**key, "tool_cfg": self.cfg, "tool_image": image})
        deadline = time.monotonic() + timeout
        while out["status"] == "pending":
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeFailure(f"tool service {out['tool_node_name']} is still pending after {timeout:g} s")
            # the manager holds the request while the node is pending: no busy polling here
            out = self._post("/check_tool_service_status", {**key, "wait": min(left, 25.0)})
        if out["status"] != "running":
            raise RuntimeFailure(f"tool service {out['tool_node_name']} is {out['status']}: {out.get('message', '')}")
        return str(out["tool_node_name"])

    def _post(self, path: str, body: dict[str, Any], timeout: float | None = None) -> Any:
        try:
            r = self._http.post(path, json=body, timeout=timeout or 60.0)
        except httpx.TimeoutException as e:
            raise ToolTimeoutError(f"the tool manager at {self.url} did not answer in time ({path})") from e
        except httpx.HTTPError as e:
            raise RuntimeFailure(f"the tool manager at {self.url} is unreachable ({e}); start it with "
                                 "`msagent serve tool-manager` or set TOOL_MANAGER_SERVICE_URL") from e
        data = _json(r)
        if r.status_code == 202:
            return _Pending(data.get("output") or {})
        if r.status_code in (401, 403):
            raise ConfigError(f"the tool manager refused the token ({r.status_code}): {data.get('message')}; "
                              "set TOOL_MANAGER_AUTH")
        if r.status_code >= 400:
            msg = str(data.get("message") or r.text)
            if r.status_code == 400 and path == "/execute_tool":
                raise ToolArgumentError(msg)
            if r.status_code == 504:
                raise ToolTimeoutError(msg)
            if path == "/execute_tool" and r.status_code in (422, 500):
                raise ToolError(msg)
            raise RuntimeFailure(f"tool manager {path} answered {r.status_code}: {msg}", status_code=r.status_code)
        return data.get("output")

    def arguments_text(self, params: str | dict | None) -> str:
        try:
            return super().arguments_text(params)
        except ToolArgumentError:
            # not a JSON object (e.g. bare code for code_interpreter): sent as it is, the node decides
            if isinstance(params, str) and params.strip() and not params.lstrip().startswith("{"):
                return params
            raise

    def call(self, params: str | dict, **kwargs: Any) -> str:
        """Run the tool in its node: ``params`` as JSON text (or a dict), ``kwargs`` go to the
        tool's ``call`` there (they must be JSON values)."""
        try:
            json.dumps(kwargs)
        except (TypeError, ValueError):
            bad = sorted(k for k, v in kwargs.items() if not _is_json(v))
            raise ToolArgumentError(
                f"keyword arguments {', '.join(bad)} for tool '{self.name}' are not JSON values; a tool in a "
                "tool node only gets strings, numbers, booleans, lists and objects"
            ) from None
        # wrapped: images and files the tool made in its node come back as bytes (saved here, below)
        body = {"tool_name": self.name, "tenant_id": self.tenant_id, "params": params, "kwargs": kwargs, "wait": 25.0,
                "wrapped": True}
        out = self._post("/execute_tool", body, timeout=35.0)
        deadline = time.monotonic() + self.call_timeout
        while isinstance(out, _Pending):  # a long call: fetch its result (each request waits up to 25 s)
            if time.monotonic() > deadline:
                raise ToolTimeoutError(f"tool '{self.name}' did not finish within {self.call_timeout:g} s")
            ask = {"call_id": out["call_id"], "tenant_id": self.tenant_id, "wait": 25.0}
            out = self._post("/execute_tool_result", ask, timeout=35.0)
        from msagent.settings import data_dir
        from msagent.tools.builtin.wrapped import to_text

        return to_text(out, data_dir("tool_files"))  # a chart made in the node: ![name](local file)

    def remove(self) -> None:
        """Remove the remote node (other proxies of the same tenant and tool lose it too)."""
        self._post("/remove_tool", {"tool_name": self.name, "tenant_id": self.tenant_id})

    def close(self) -> None:
        self._http.close()


class _Pending(dict):
    pass


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        data = r.json()
    except ValueError:
        return {"message": r.text}
    return data if isinstance(data, dict) else {"output": data}
