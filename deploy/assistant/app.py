"""The assistant API as one FastAPI app (OpenAPI at ``/docs``); Serve and uvicorn both run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from deploy import openapi_errors
from deploy.assistant import chat, errors, files, lite
from deploy.assistant.config import AssistantConfig
from deploy.assistant.fastroute import ChatFastRoute
from deploy.assistant.limits import BodyLimit
from deploy.assistant.model_list import model_list
from deploy.assistant.services import Services, bearer_key, services


class AssistantAPI(FastAPI):
    """The FastAPI app, called through its fast route: the relay's requests are answered before
    FastAPI's own layers (its middleware stack, error and body-limit wrappers, routing), everything
    else goes to them unchanged (``fastroute.py``)."""

    fast_route: ChatFastRoute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.fast_route(scope, receive, send)

    async def call_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(config: AssistantConfig | None = None) -> AssistantAPI:
    """A fresh app with its own services (no module-level state: two apps never share a cache)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.services.aclose()

    app = AssistantAPI(
        lifespan=lifespan,
        title="msagent assistant API",
        version="0.1.0",
        description="OpenAI-compatible chat completions with function calling, an assistant agent "
        "with tools and knowledge, and document upload for retrieval.",
    )
    app.state.services = svc = Services(config or AssistantConfig.from_env())
    uploads = svc.config.max_upload_bytes * files.MAX_FILES + 1024 * 1024  # a batch of files, plus the form
    app.add_middleware(
        BodyLimit,  # type: ignore[arg-type]
        limit_for=lambda path: uploads if path.endswith("/v1/files") else svc.config.max_request_bytes,
    )
    app.fast_route = ChatFastRoute(app.call_app, services=svc, limit=lambda: svc.config.max_request_bytes)
    errors.install(app)
    app.include_router(chat.router, tags=["chat"])
    app.include_router(lite.router, tags=["assistant"])
    app.include_router(files.router, tags=["files"])

    @app.get("/health", tags=["meta"])
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models", tags=["meta"], summary="The back end's models", responses=errors.MODELS_ERRORS)
    async def models(request: Request, svc: Services = Depends(services)) -> JSONResponse:
        return JSONResponse({"object": "list", "data": await model_list(svc, bearer_key(request))})

    openapi_errors.install(app, errors.ErrorBody, errors.COMMON_ERRORS)
    return app
