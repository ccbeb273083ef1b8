"""Every status a service answers, in its OpenAPI document, with its error body.

FastAPI documents 200 and its own 422 validation error; our services answer 400 for bad input
(never 422 for that) and several other statuses. ``responses(model, {status: why})`` declares a
route's statuses; ``install`` drops FastAPI's unused 422 entry and adds the statuses any route can
answer (unknown method, a body too large, an internal error) to every operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def responses(model: type[BaseModel], statuses: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with ``model`` as its body."""
    return {status: {"model": model, "description": why} for status, why in statuses.items()}


def install(app: FastAPI, model: type[BaseModel], common: dict[int, str]) -> None:
    """Build the document once: FastAPI's 422 out, ``common`` statuses into every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        name = model.__name__
        if name not in components:
            components[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                out = operation.setdefault("responses", {})
                if _refs(out.get("422"), _FASTAPI_422):
                    del out["422"]
                for status, why in common.items():
                    out.setdefault(str(status), {
                        "description": why,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                    })
        for unused in ("HTTPValidationError", "ValidationError"):
            others = {k: v for k, v in components.items() if k != unused}
            if unused in components and f"#/components/schemas/{unused}" not in str((schema["paths"], others)):
                del components[unused]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _refs(response: Any, ref: str) -> bool:
    return isinstance(response, dict) and ref in str(response.get("content", {}))
