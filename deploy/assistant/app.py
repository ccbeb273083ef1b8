"""The assistant API as one FastAPI app (OpenAPI at ``/docs``); Serve and uvicorn both run it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from deploy.assistant import chat, errors, files, lite
from deploy.assistant.config import AssistantConfig
from deploy.assistant.services import Services, services


def create_app(config: AssistantConfig | None = None) -> FastAPI:
    """A fresh app with its own services (no module-level state: two apps never share a cache)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.services.aclose()

    app = FastAPI(
        lifespan=lifespan,
        title="msagent assistant API",
        version="0.1.0",
        description="OpenAI-compatible chat completions with function calling, an assistant agent "
        "with tools and knowledge, and document upload for retrieval.",
    )
    app.state.services = Services(config or AssistantConfig.from_env())
    errors.install(app)
    app.include_router(chat.router, tags=["chat"])
    app.include_router(lite.router, tags=["assistant"])
    app.include_router(files.router, tags=["files"])

    @app.get("/health", tags=["meta"])
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models", tags=["meta"])
    async def models(svc: Services = Depends(services)) -> JSONResponse:
        name = svc.config.model or svc.config.model_server
        return JSONResponse(
            {"object": "list", "data": [{"id": name, "object": "model", "created": int(time.time()), "owned_by": "msagent"}]}
        )

    return app
