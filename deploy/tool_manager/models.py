"""Request bodies of the tool manager API (the seed's shapes, plus XAgent's catalogue calls)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from deploy.tool_manager.config import NAME_PATTERN
from deploy.tool_manager.container import IMAGE_MAX, IMAGE_PATTERN

ToolName = Field(..., pattern=NAME_PATTERN, description="a registered tool, e.g. code_interpreter")
TenantId = Field(default="default", pattern=NAME_PATTERN, description="whose node this is")


class Envelope(BaseModel):
    request_id: str
    message: str = ""
    output: Any = None


class CreateRequest(BaseModel):
    tool_name: str = ToolName
    tenant_id: str = TenantId
    tool_cfg: dict[str, Any] = Field(default_factory=dict, description=(
        "given to the tool; also read: network (bool), memory ('512m'), cpus, pids_limit, timeout (s per call)"))
    tool_image: str | None = Field(default=None, pattern=IMAGE_PATTERN, max_length=IMAGE_MAX,
                                   description="a Docker image reference; default: the manager's image "
                                               "(msagent/tool-node:latest)")


class NodeRequest(BaseModel):
    tool_name: str = ToolName
    tenant_id: str = TenantId


class StatusRequest(NodeRequest):
    wait: float = Field(default=0.0, ge=0, le=300, description="seconds to wait while the node is pending")


class ExecuteRequest(NodeRequest):
    params: str | dict[str, Any] = Field(default="", description="the arguments: JSON text or an object")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    wait: float | None = Field(default=None, ge=0, le=3600, description=(
        "answer 202 with a call_id if the call takes longer than this (default: wait for the result)"))
    wrapped: bool = Field(default=False, description=(
        "output in XAgent's wrapped form {type: simple|composite|binary, data}: images and files made in the "
        "node come back as base64 binary parts"))


class ResultRequest(BaseModel):
    call_id: str = Field(..., min_length=1)
    tenant_id: str = TenantId
    wait: float = Field(default=30.0, ge=0, le=3600)


class SchemaRequest(BaseModel):
    tool_names: list[str] = Field(..., max_length=200)


class RetrieveRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=4000)
    top_k: int = Field(default=10, ge=1, le=100)
