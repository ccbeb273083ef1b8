"""XAgent's catalogue calls over a list of tool specs (``{name, description, parameters, env?}``):
the tools registered here by default, or those a session's node serves. JSON schemas for named
tools, environments for named envs, and top-k retrieval by a question (BM25 over names and
descriptions; no model needed)."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from msagent.tools import tool_class, tool_names, tool_specs
from msagent.tools.builtin.env_tool import env_of, environments

_WORD = re.compile(r"[a-z0-9]+|[^\x00-\x7f]")
_SCHEMA_KEYS = ("name", "description", "parameters")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("_", " "))


def local_specs(names: list[str] | None = None) -> list[dict[str, Any]]:
    """Specs of tools registered in this process (with their env)."""
    return [{**s.model_dump(), "env": env_of(tool_class(s.name))} for s in tool_specs(names)]


def tool_json(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec as XAgent's ``tools_json`` lists it."""
    return {k: spec[k] for k in _SCHEMA_KEYS if k in spec}


def available(specs: list[dict[str, Any]]) -> dict[str, Any]:
    """``{available_envs, available_tools, tools_json}`` (XAgent's ``/get_available_tools``)."""
    envs = environments([(s["name"], s.get("env") or "") for s in specs])
    for env in envs:
        env["tools"] = env["tools"][:50]  # XAgent lists at most 50 per env here
    return {"available_envs": envs, "available_tools": [s["name"] for s in specs],
            "tools_json": [tool_json(s) for s in specs]}


def schemas(names: list[str], specs: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    if specs is None:
        known = set(tool_names())
        return [tool_json(s) for s in local_specs([n for n in names if n in known])], [n for n in names if n not in known]
    by_name = {s["name"]: s for s in specs}
    return [tool_json(by_name[n]) for n in names if n in by_name], [n for n in names if n not in by_name]


def env_schemas(names: list[str], specs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    envs = {e["name"]: e for e in environments([(s["name"], s.get("env") or "") for s in specs])}
    return [envs[n] for n in names if n in envs], [n for n in names if n not in envs]


def retrieve(question: str, top_k: int, specs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    specs = local_specs() if specs is None else specs
    docs = [_tokens(f"{s['name']} {s['name']} {s.get('description', '')}") for s in specs]
    query = _tokens(question)
    n = len(docs)
    avg = sum(map(len, docs)) / max(n, 1)
    df = Counter(t for d in docs for t in set(d))
    scored = []
    for spec, doc in zip(specs, docs, strict=True):
        tf = Counter(doc)
        score = 0.0
        for t in query:
            if t in tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf[t] * 2.2 / (tf[t] + 1.2 * (0.25 + 0.75 * len(doc) / max(avg, 1)))
        scored.append((score, spec["name"], spec))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [tool_json(s) for score, _, s in scored[:top_k] if score > 0]
