"""``/v1/files``: upload documents for retrieval (multipart ``uuid_str`` + ``files``), list, delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, UploadFile
from fastapi.responses import JSONResponse

from deploy.assistant.errors import APIError, ErrorBody, bad_request
from deploy.assistant.services import Services, services
from deploy.openapi_errors import responses
from msagent.errors import ConfigError
from msagent.knowledge import FileTooLargeError, InvalidFileError, KnowledgeNotFoundError
from msagent.knowledge.store import check_name, check_uuid
from msagent.schemas import new_id

router = APIRouter()
MAX_FILES = 16  # files in one upload
NOT_FOUND = responses(ErrorBody, {404: "no such uuid or document"})


def knowledge_error(e: ConfigError) -> APIError:
    status = 413 if isinstance(e, FileTooLargeError) else 404 if isinstance(e, KnowledgeNotFoundError) else 400
    return APIError(status, e.message, param=e.details.get("field"), code=type(e).__name__)


def envelope(output: object) -> JSONResponse:
    """The seed's ``{request_id, message, output}`` shape."""
    return JSONResponse({"request_id": new_id("req_"), "message": "", "output": output})


@router.post("/v1/files", summary="Upload documents (txt, md, pdf) for knowledge retrieval",
             responses=responses(ErrorBody, {413: "a file over max_upload_bytes"}))
async def upload(
    uuid_str: str = Form(..., description="whose documents these are"),
    files: list[UploadFile] = Form(..., description="one or more files"),
    svc: Services = Depends(services),
) -> JSONResponse:
    try:
        check_uuid(uuid_str)
        if len(files) > MAX_FILES:
            raise InvalidFileError(f"{len(files)} files in one upload; send at most {MAX_FILES}", field="files")
        # check every name and size before storing any, so a bad batch stores nothing
        loaded: list[tuple[str, bytes]] = []
        for f in files:
            name = check_name(f.filename or "")
            if any(name == seen for seen, _ in loaded):
                raise InvalidFileError(f"{name}: the same file name twice in one upload", field="files")
            data = await f.read(svc.config.max_upload_bytes + 1)
            if len(data) > svc.config.max_upload_bytes:
                raise FileTooLargeError(
                    f"{name}: over the {svc.config.max_upload_bytes}-byte upload limit", field="files"
                )
            loaded.append((name, data))
        stored = [await svc.threads.call(svc.store.add, uuid_str, name, data) for name, data in loaded]
    except ConfigError as e:
        raise knowledge_error(e) from e
    return envelope({"uuid_str": uuid_str, "files": stored})


@router.get("/v1/files", summary="List a uuid's uploaded documents", responses=NOT_FOUND)
async def list_files(uuid_str: str, svc: Services = Depends(services)) -> JSONResponse:
    try:
        return envelope({"uuid_str": uuid_str, "files": svc.store.files(uuid_str)})
    except ConfigError as e:
        raise knowledge_error(e) from e


@router.delete("/v1/files/{uuid_str}", summary="Delete all of a uuid's documents", responses=NOT_FOUND)
async def delete_all(uuid_str: str, svc: Services = Depends(services)) -> JSONResponse:
    try:
        return envelope({"uuid_str": uuid_str, "deleted": svc.store.delete(uuid_str)})
    except ConfigError as e:
        raise knowledge_error(e) from e


@router.delete("/v1/files/{uuid_str}/{name}", summary="Delete one document", responses=NOT_FOUND)
async def delete_one(uuid_str: str, name: str, svc: Services = Depends(services)) -> JSONResponse:
    try:
        return envelope({"uuid_str": uuid_str, "deleted": svc.store.delete(uuid_str, name)})
    except ConfigError as e:
        raise knowledge_error(e) from e


@router.get("/v1/files/search", summary="The best passages for a query, within a size budget", responses=NOT_FOUND)
async def search(
    uuid_str: str, query: str, budget: int = 2000, files: str | None = None, svc: Services = Depends(services)
) -> JSONResponse:
    if not query.strip():
        raise bad_request("query is empty", "query")
    if not 1 <= budget <= 100_000:
        raise bad_request("budget must be between 1 and 100000 characters", "budget")
    names = [n for n in (files or "").split(",") if n] or None
    try:
        found = await svc.threads.call(lambda: svc.store.search(uuid_str, query, files=names, budget=budget))
    except ConfigError as e:
        raise knowledge_error(e) from e
    return envelope({"uuid_str": uuid_str, "passages": [p.model_dump() for p in found]})
