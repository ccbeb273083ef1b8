"""RapidAPI-style HTTP APIs (XAgent's ``RapidAPIEnv``): one tool that calls ``<host><path>`` with the
``X-RapidAPI-Key`` / ``X-RapidAPI-Host`` headers. Only where a key is configured
(``cfg['api_key']``, else ``$RAPIDAPI_KEY``); without one every call says how to set it.

``cfg['endpoint']`` replaces ``https://<host>`` (a gateway, or a local server in tests).
"""

from __future__ import annotations

import json
import os
from typing import Any

from msagent.errors import ToolArgumentError, ToolError
from msagent.tools.builtin.web import _WebTool
from msagent.tools.registry import register_tool

KEY_ENV = "RAPIDAPI_KEY"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@register_tool("RapidAPIEnv_call_api")
class CallAPI(_WebTool):
    env = "RapidAPIEnv"
    description = ("Call a RapidAPI API: host (e.g. 'weatherapi-com.p.rapidapi.com'), path, method, query "
                   "parameters and JSON body; returns the API's answer.")
    parameters = {"type": "object", "required": ["host", "path"], "properties": {
        "host": {"type": "string", "description": "the API's RapidAPI host"},
        "path": {"type": "string", "description": "the endpoint path, e.g. '/current.json'"},
        "method": {"type": "string", "enum": _METHODS, "description": "default GET"},
        "params": {"type": "object", "description": "query parameters"},
        "body": {"type": "object", "description": "a JSON body (POST, PUT, PATCH)"}}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        key = str(self.cfg.get("api_key") or os.environ.get(KEY_ENV) or "")
        if not key:
            raise ToolError(f"no RapidAPI key is configured; set tool_cfg {{\"RapidAPIEnv\": {{\"api_key\": "
                            f"\"...\"}}}} or ${KEY_ENV}")
        host, path = str(args["host"]).strip(), str(args["path"]).strip()
        if not host or "/" in host or ":" in host:
            raise ToolArgumentError(f"'host' must be a bare host name like 'example.p.rapidapi.com', got {host!r}")
        base = str(self.cfg.get("endpoint") or f"https://{host}").rstrip("/")
        headers = {"X-RapidAPI-Key": key, "X-RapidAPI-Host": host}
        with self.client() as http:
            try:
                r = http.request(args.get("method") or "GET", base + "/" + path.lstrip("/"),
                                 params=args.get("params") or None, json=args.get("body"), headers=headers)
            except Exception as e:  # noqa: BLE001
                raise ToolError(f"could not reach {base}: {type(e).__name__}: {e}") from None
        if r.status_code >= 400:
            raise ToolError(f"the API answered HTTP {r.status_code}: {r.text[:1000]}")
        try:
            return json.dumps(r.json(), ensure_ascii=False)[:20000]
        except ValueError:
            return r.text[:20000]
