"""Run `api.ask` off the event loop, and bring its tokens and progress back.

Questions run on a small thread pool: the pipeline is blocking code, and the
embedded model serialises its own calls behind a lock, so more threads would
only wait. Each question's callbacks post events to the asyncio loop; a
question whose client went away stops at its next token or progress event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import api
from ..config import Settings
from ..errors import BackendError, ConfigError, LongdocError, ModelError, NoInputError
from ..names import display_names
from ..progress import Tracker
from ..records import Answer
from .errors import ApiError
from .files import StoredFile
from .model import ModelHolder
from .options import ServerOptions

log = logging.getLogger("longdoc.server")

# ("token", str) | ("progress", {"stage", "done", "total"}) | ("status", str) | ("end", None)
Event = tuple[str, Any]
Emit = Callable[[Event], None]


class AskCancelled(Exception):
    """Raised inside the pipeline once nobody is waiting for the answer."""


@dataclass
class Names:
    """The names a question's files are cited by (the shortest part of their
    upload paths that tells them apart): the pipeline is given these, so the
    model never sees a stored name; error messages, which name the stored
    file, are mapped back to them."""

    files: list[StoredFile]
    root: Path
    shown: list[str] = field(init=False)
    _by_shown: dict[str, StoredFile] = field(init=False)

    def __post_init__(self) -> None:
        self.shown = display_names([f.shown_path for f in self.files])
        self._by_shown = dict(zip(self.shown, self.files))

    def file(self, shown: str) -> StoredFile | None:
        return self._by_shown.get(shown)

    def text(self, s: str) -> str:
        for f, shown in zip(self.files, self.shown):
            s = s.replace(str(self.root / f.stored_name), shown).replace(f.stored_name, shown)
        return s


@dataclass
class Question:
    paths: list[Path]
    text: str
    mode: str
    names: Names


class Asker:
    def __init__(self, settings: Settings, model: ModelHolder, options: ServerOptions) -> None:
        self._settings = settings
        self._model = model
        self._max_pending = options.max_pending_asks
        self._pool = ThreadPoolExecutor(options.ask_workers, thread_name_prefix="longdoc-ask")
        self._pending = 0
        self._lock = threading.Lock()

    def submit(
        self, q: Question, emit: Emit | None = None, cancelled: threading.Event | None = None
    ) -> asyncio.Future[Answer]:
        """Queue a question; 503 when too many are already waiting."""
        llm = self._model.get()
        with self._lock:
            if self._pending >= self._max_pending:
                raise ApiError(503, f"busy: {self._pending} questions are waiting; retry later", code="busy")
            self._pending += 1
        stop = cancelled or threading.Event()
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._run, q, llm, emit, stop)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: asyncio.Future[Answer]) -> None:
        with self._lock:
            self._pending -= 1
        if not future.cancelled():
            future.exception()  # marks it retrieved: a stream whose client left never awaits it

    def _run(self, q: Question, llm: Any, emit: Emit | None, cancelled: threading.Event) -> Answer:
        def post(event: Event) -> None:
            if cancelled.is_set():
                raise AskCancelled()
            if emit is not None:
                emit(event)

        tracker = Tracker(
            display=lambda message: post(("status", q.names.text(message))),
            on_progress=lambda stage, done, total: post(("progress", {"stage": stage, "done": done, "total": total})),
        )
        try:
            return api.ask(
                q.paths,
                q.text,
                self._settings,
                mode=q.mode,
                llm=llm,
                tracker=tracker,
                on_token=lambda piece: post(("token", piece)),
                names=q.names.shown,
            )
        finally:
            if emit is not None:
                emit(("end", None))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def as_api_error(exc: BaseException, names: Names) -> ApiError:
    """The HTTP status and message for a failed question."""
    if isinstance(exc, ApiError):
        return exc
    message = names.text(str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(400, message, code="invalid_request")
    if isinstance(exc, NoInputError):
        return ApiError(409, f"the documents could not be read: {message}", code="no_usable_input")
    if isinstance(exc, BackendError):
        return ApiError(502, f"the model backend failed: {message}", code="backend_failed")
    if isinstance(exc, ModelError):
        return ApiError(503, message, code="model_failed")
    if isinstance(exc, LongdocError):
        return ApiError(500, message, code="longdoc_error")
    log.error("question failed", exc_info=exc)
    return ApiError(500, f"internal error: {type(exc).__name__}: {message}", code="internal_error")
