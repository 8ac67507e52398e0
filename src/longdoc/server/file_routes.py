"""The file routes: upload, list, get, delete, download, one cited passage,
and a PDF's pages (as images, and where a quote sits on one).

Shapes follow OpenAI's Files API where it has one (`client.files.create`,
`.list`, `.retrieve`, `.delete`, `.content` work), plus indexing status.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from . import pages
from .errors import ApiError
from .files import allowed_suffix, clean_name, clean_path
from .i18n import language
from .state import state_of

router = APIRouter()


@router.post("/v1/files")
async def upload(request: Request) -> dict[str, Any]:
    """One or several multipart parts named `file` (or `files`); one file
    gives its file object, several a list of them. Optional fields: `path`,
    one per file in the same order (where it was in an uploaded folder), and
    `collection_id` (the files join that collection). A file whose bytes are
    already stored is not stored again: its object comes back with
    `"duplicate": true`."""
    state = state_of(request)
    lang = language(request.headers)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "upload files as multipart/form-data, one part named 'file' per file", code="not_multipart")
    limit = state.options.max_files_per_upload
    async with request.form(max_files=limit, max_fields=limit + 16) as form:
        parts = [p for key in ("file", "files") for p in form.getlist(key) if isinstance(p, UploadFile)]
        if not parts:
            raise ApiError(400, "no file in the upload: send one multipart part named 'file' per file", code="no_file")
        names = [clean_name(p.filename) for p in parts]
        paths = [str(v) for v in form.getlist("path")]
        collection_id = form.get("collection_id")
        for name in names:
            allowed_suffix(name)  # refuse the whole request before storing any of it
        if isinstance(collection_id, str) and collection_id:
            state.collections.get(collection_id)  # 404 before anything is stored
        stored = []
        for i, (name, part) in enumerate(zip(names, parts)):
            shown = clean_path(paths[i] if i < len(paths) else "", name)
            stored.append(await run_in_threadpool(state.files.add, name, part.file, shown))
    if isinstance(collection_id, str) and collection_id:
        state.collections.add_files(collection_id, [f.id for f, _ in stored])
    objects = [{**f.to_api(lang), "duplicate": duplicate} for f, duplicate in stored]
    if len(objects) == 1:
        return objects[0]
    return {"object": "list", "data": objects}


@router.get("/v1/files")
async def list_files(request: Request) -> dict[str, Any]:
    lang = language(request.headers)
    return {"object": "list", "data": [f.to_api(lang) for f in state_of(request).files.all_files()], "has_more": False}


@router.get("/v1/files/{file_id}")
async def get_file(request: Request, file_id: str) -> dict[str, Any]:
    return state_of(request).files.get(file_id).to_api(language(request.headers))


@router.delete("/v1/files/{file_id}")
async def delete_file(request: Request, file_id: str) -> dict[str, Any]:
    state = state_of(request)
    state.files.delete(file_id)
    state.collections.forget_file(file_id)
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


def _pdf(request: Request, file_id: str) -> Any:
    files = state_of(request).files
    f = files.get(file_id)
    if f.suffix != ".pdf":
        raise ApiError(400, "pages are shown for PDF files only", code="not_a_pdf")
    return files, f


@router.get("/v1/files/{file_id}/pages/{page}/image")
async def page_image(request: Request, file_id: str, page: int) -> Response:
    """One page of a PDF as a PNG."""
    files, f = _pdf(request, file_id)
    png = await run_in_threadpool(pages.page_png, files.path(f), page, files.page_cache(f), f.filename)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/v1/files/{file_id}/pages/{page}/quote")
async def page_quote(request: Request, file_id: str, page: int, text: str) -> dict[str, Any]:
    """Where `text` (a citation's quote) is on the page: boxes in fractions of the page's
    width and height from its top left; empty when it is not there."""
    files, f = _pdf(request, file_id)
    boxes = await run_in_threadpool(pages.find_quote, files.path(f), page, text[:1000], f.filename)
    return {"file_id": f.id, "page": page, "boxes": [asdict(b) for b in boxes]}
