"""What the routes share: config, model cache, worker threads, the knowledge store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from deploy.assistant.backend import ModelCache, Worker
from deploy.assistant.config import AssistantConfig
from deploy.assistant.fastpath import FastOpenAI
from msagent.knowledge import KnowledgeStore
from msagent.settings import data_dir


@dataclass
class Services:
    config: AssistantConfig
    models: ModelCache = field(default_factory=ModelCache)
    worker: Worker | None = None
    knowledge: KnowledgeStore | None = None
    _fast: FastOpenAI | None = None
    # GET /v1/models answers of OpenAI-compatible back ends: (base URL, key) -> (when, entries)
    model_lists: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.worker is None:
            self.worker = Worker(self.config.worker_threads)
        if self.knowledge is None:
            root = Path(self.config.knowledge_dir) if self.config.knowledge_dir else data_dir("knowledge")
            self.knowledge = KnowledgeStore(root, max_bytes=self.config.max_upload_bytes)

    @property
    def threads(self) -> Worker:
        assert self.worker is not None
        return self.worker

    @property
    def store(self) -> KnowledgeStore:
        assert self.knowledge is not None
        return self.knowledge

    @property
    def fast(self) -> FastOpenAI:
        """Created on first use, on the loop that serves requests."""
        if self._fast is None:
            self._fast = FastOpenAI()
        return self._fast

    def close(self) -> None:
        self.models.close()
        self.threads.close()

    async def aclose(self) -> None:
        """What lives on the serving loop (the fast path's HTTP session); the app's shutdown."""
        fast, self._fast = self._fast, None
        if fast is not None:
            await fast.aclose()


async def services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency on its thread pool, a thread hop per request
    return request.app.state.services  # type: ignore[no-any-return]


def bearer_key(request: Request) -> str | None:
    """The back-end key from ``Authorization: Bearer <key>`` (as the seed's clients send it)."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
