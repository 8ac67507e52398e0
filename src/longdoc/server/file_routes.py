"""The file routes: upload, list, get, delete, download, and one cited passage.

Shapes follow OpenAI's Files API where it has one (`client.files.create`,
`.list`, `.retrieve`, `.delete`, `.content` work), plus indexing status.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from .errors import ApiError
from .files import allowed_suffix, clean_name
from .state import state_of

router = APIRouter()


@router.post("/v1/files")
async def upload(request: Request) -> dict[str, Any]:
    """One or several multipart parts named `file` (or `files`); one file
    gives its file object, several a list of them."""
    state = state_of(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "upload files as multipart/form-data, one part named 'file' per file", code="not_multipart")
    limit = state.options.max_files_per_upload
    async with request.form(max_files=limit, max_fields=16) as form:
        parts = [p for key in ("file", "files") for p in form.getlist(key) if isinstance(p, UploadFile)]
        if not parts:
            raise ApiError(400, "no file in the upload: send one multipart part named 'file' per file", code="no_file")
        names = [clean_name(p.filename) for p in parts]
        for name in names:
            allowed_suffix(name)  # refuse the whole request before storing any of it
        stored = [await run_in_threadpool(state.files.add, name, p.file) for name, p in zip(names, parts)]
    if len(stored) == 1:
        return stored[0].to_api()
    return {"object": "list", "data": [f.to_api() for f in stored]}


@router.get("/v1/files")
async def list_files(request: Request) -> dict[str, Any]:
    return {"object": "list", "data": [f.to_api() for f in state_of(request).files.all_files()], "has_more": False}


@router.get("/v1/files/{file_id}")
async def get_file(request: Request, file_id: str) -> dict[str, Any]:
    return state_of(request).files.get(file_id).to_api()


@router.delete("/v1/files/{file_id}")
async def delete_file(request: Request, file_id: str) -> dict[str, Any]:
    state_of(request).files.delete(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


@router.get("/v1/files/{file_id}/content")
async def file_content(request: Request, file_id: str) -> FileResponse:
    files = state_of(request).files
    f = files.get(file_id)
    # Always a download, never rendered: an uploaded HTML file must not run as this site's page.
    return FileResponse(
        files.path(f),
        media_type="application/octet-stream",
        filename=f.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get("/v1/files/{file_id}/passages/{chunk_id}")
async def passage(request: Request, file_id: str, chunk_id: str) -> dict[str, Any]:
    return await run_in_threadpool(state_of(request).files.passage, file_id, chunk_id)
