"""``GET /v1/models``: the models the back end serves.

An OpenAI-compatible back end (vLLM, llama.cpp's server, OpenAI) is asked (its ``/models``, with
the server's or the caller's key, kept for a few seconds); for the others the list is the model
the server is configured with (DashScope's, the local model's name).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from deploy.assistant.services import Services
from msagent.errors import ConfigError, ModelError
from msagent.llm.errors_map import status_error, timeout_error, unreachable_error
from msagent.llm.openai_compat import OpenAICompatModel

CACHE_S = 5.0
PLACEHOLDER_MODEL = "_"  # builds the back end's client only to learn where it is; never sent


async def model_list(svc: Services, key: str | None) -> list[dict[str, Any]]:
    try:
        model = svc.models.get(svc.config.llm_config(model=svc.config.model or PLACEHOLDER_MODEL, api_key=key))
    except ConfigError:
        return []
    if not isinstance(model, OpenAICompatModel):
        return [_entry(model.model)] if model.model and model.model != PLACEHOLDER_MODEL else []
    cache = svc.model_lists
    api_key = getattr(model, "_api_key", None) or "EMPTY"
    cached = cache.get((model.base_url, api_key))
    if cached and time.monotonic() - cached[0] < CACHE_S:
        return cached[1]
    found = await _ask(svc, model, api_key)
    cache[(model.base_url, api_key)] = (time.monotonic(), found)
    return found


async def _ask(svc: Services, model: OpenAICompatModel, api_key: str) -> list[dict[str, Any]]:
    url, timeout = f"{model.base_url}/models", model.config.timeout
    try:
        async with svc.fast.session.get(
            url, headers={"Authorization": f"Bearer {api_key}"}, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as r:
            raw = await r.read()
            if r.status != 200:
                raise status_error(r.status, raw.decode(errors="replace")[:500], url=model.base_url, model="",
                                   api_key=api_key)
    except asyncio.TimeoutError as e:
        raise timeout_error(model.base_url, "", timeout) from e
    except (aiohttp.ClientError, OSError) as e:
        raise unreachable_error(model.base_url, "", e) from e
    try:
        data = json.loads(raw)["data"]
        entries = [_entry(str(m["id"]), m) for m in data]
    except (ValueError, KeyError, TypeError):
        raise ModelError(f"{url} answered 200 with no model list: {raw[:200]!r}", status_code=200) from None
    return entries


def _entry(model_id: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    entry = {"id": model_id, "object": "model", "created": int(time.time()), "owned_by": "msagent"}
    entry.update({k: v for k, v in (given or {}).items() if k in ("created", "owned_by")})
    return entry
