"""XAgent's catalogue calls over the tools the image serves: JSON schemas for a list of tools and
top-k retrieval by a question (BM25 over names and descriptions; no model needed)."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from msagent.tools import tool_names, tool_specs

_WORD = re.compile(r"[a-z0-9]+|[^\x00-\x7f]")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("_", " "))


def schemas(names: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    known = set(tool_names())
    found = [n for n in names if n in known]
    return [s.model_dump() for s in tool_specs(found)], [n for n in names if n not in known]


def retrieve(question: str, top_k: int) -> list[dict[str, Any]]:
    specs = tool_specs()
    docs = [_tokens(f"{s.name} {s.name} {s.description}") for s in specs]
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
        scored.append((score, spec.name, spec))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [s.model_dump() for score, _, s in scored[:top_k] if score > 0]
