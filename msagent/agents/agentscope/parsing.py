"""Reading a JSON object out of a model's answer, tolerantly: code fences, text around the object,
JSON5 (single quotes, trailing commas) are all accepted."""

from __future__ import annotations

import json
import re
from typing import Any

import json5

_FENCE = re.compile(r"```(?:json|JSON|json5)?\s*(.*?)```", re.S)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``; ``ValueError`` saying why when there is none."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        candidate = candidate.strip()
        start, end = candidate.find("{"), candidate.rfind("}")
        if start < 0 or end <= start:
            continue
        body = candidate[start : end + 1]
        for loads in (json.loads, json5.loads):
            try:
                value = loads(body)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    raise ValueError(f"no JSON object in the answer {text[:200]!r}")
