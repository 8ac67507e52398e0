"""The ASGI app: `create_app(settings)` wires the file store, the model, the
question runner and the routes together; `longdoc serve` runs it with uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__, api
from ..config import Settings
from ..llm.base import LLM
from ..parse import SUPPORTED_SUFFIXES
from . import chat, collection_routes, file_routes
from .asking import Asker
from .collections import CollectionStore
from .errors import install_handlers
from .files import FileStore
from .guard import Guard
from .model import ModelHolder
from .options import ServerOptions
from .state import ServerState, state_of

STATIC = Path(__file__).parent / "static"
# The page loads nothing from elsewhere and builds its DOM from text, never HTML.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def create_app(settings: Settings, llm: LLM | None = None, options: ServerOptions | None = None) -> FastAPI:
    """One app = one model (loaded in the background unless given) and one file store."""
    options = options or ServerOptions()
    model = ModelHolder(settings, llm)
    files = FileStore(settings, model.counter, options)
    collections = CollectionStore(files.root.parent)
    state = ServerState(settings, options, model, files, Asker(settings, model, options), collections)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        files.start()
        model.start()
        yield
        state.asker.shutdown()
        files.stop()

    app = FastAPI(
        title="longdoc", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )  # docs/server.md is the reference
    app.state.longdoc = state
    install_handlers(app)
    app.include_router(file_routes.router)
    app.include_router(collection_routes.router)
    app.include_router(chat.router)
    _add_service_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, options=options)
    return app


def _add_service_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """The process is up and serving HTTP."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        """Questions can be answered: the model is loaded."""
        state = state_of(request)
        queued = sum(1 for f in state.files.all_files() if f.status in ("queued", "indexing"))
        body = {
            "status": state.model.status,
            "model": state.model.name,
            "reason": state.model.error,
            "files_indexing": queued,
        }
        return JSONResponse(body, status_code=200 if state.model.status == "ready" else 503)

    @app.get("/v1/info")
    async def info(request: Request) -> dict[str, Any]:
        """What the page needs before its first call: whether a token is needed, and the limits."""
        state = state_of(request)
        return {
            "version": __version__,
            "auth_required": bool(state.options.token),
            "max_upload_bytes": state.options.max_upload_bytes,
            "max_files_per_upload": state.options.max_files_per_upload,
            "file_types": sorted(SUPPORTED_SUFFIXES),
            "models": list(chat.model_ids()),
            # The page's mode picker: the same table as the model list, labelled per language.
            "modes": [{"id": chat.model_id(m.name), "labels": dict(m.labels)} for m in api.MODES.values()],
            "default_model": chat.model_id(api.DEFAULT_MODE),
        }
