"""The OpenAPI document lists every status the assistant answers, each with OpenAI's error body."""

from __future__ import annotations

from deploy.assistant.app import create_app
from deploy.assistant.config import AssistantConfig


def test_every_status_is_documented_with_the_error_body(tmp_path: object) -> None:
    app = create_app(AssistantConfig(model_server="scripted", model="scripted", knowledge_dir=str(tmp_path)))
    doc = app.openapi()
    ops = {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()}
    chat = ops[("/v1/chat/completions", "post")]["responses"]
    assert {"400", "401", "403", "404", "405", "413", "429", "500", "502", "504"} <= set(chat)
    assert "422" not in ops[("/v1/files", "get")]["responses"]  # FastAPI's own 422 is gone: bad input is 400
    for (path, method), op in ops.items():
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (path, method, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["ErrorBody"]["properties"]["error"]
    assert "413" in ops[("/v1/files", "post")]["responses"] and "404" in ops[("/v1/assistants/lite", "post")]["responses"]
