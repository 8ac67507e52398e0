"""Uploaded files: stored under ids the server picks, indexed in the background.

Layout under `<home>/server/files/`: `<id><suffix>` holds the bytes exactly as
uploaded and `<id>.json` what the API shows about it. The client's file name
is kept for display only; it never becomes part of a path. The suffix, which
chooses the parser, is one of `SUPPORTED_SUFFIXES`, so it is safe in a name.

One thread indexes the queue in upload order: indexing is CPU-bound, so more
threads would only slow the questions being answered meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from ..api import open_store
from ..config import Settings
from ..durable import write_file
from ..errors import LongdocError, ParseError, StoreError
from ..index.store import IndexStore
from ..parse import SUPPORTED_SUFFIXES
from ..records import IndexedDoc
from ..tokens import TokenCounter
from .collections import Collection
from .errors import ApiError
from .i18n import translate
from .options import ServerOptions
from .parsing import ParserProcess

log = logging.getLogger("longdoc.server")

_ID = re.compile(r"file-[0-9a-f]{24}")
_NAME_CHARS = 200


@dataclass
class StoredFile:
    id: str
    filename: str  # as the client named it: display only
    suffix: str
    bytes: int
    created_at: int
    status: str = "queued"  # queued | indexing | ready | failed
    reason: str | None = None  # why it failed
    chunks: int = 0
    tokens: int = 0
    uploaded_ns: int = 0  # orders uploads within one second (created_at has whole seconds)
    path: str = ""  # where it was in a folder the client uploaded ("notes/2024/a.md"); display only
    sha256: str = ""  # of the bytes: the same document uploaded again is recognised

    @property
    def stored_name(self) -> str:
        return f"{self.id}{self.suffix}"

    @property
    def shown_path(self) -> str:
        return self.path or self.filename

    def to_api(self, lang: str = "en") -> dict[str, Any]:
        # The OpenAI file object's fields first, so `client.files` can read it.
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": "assistants",
            "status": self.status,
            "status_details": self.reason and translate(self.reason, lang),
            "chunks": self.chunks,
            "tokens": self.tokens,
            "path": self.shown_path,
        }


def clean_name(raw: str | None) -> str:
    """The last path component, printable characters only: what the page and
    citations show."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:_NAME_CHARS] or "upload"


def clean_path(raw: str | None, filename: str) -> str:
    """A folder upload's relative path, for display: printable components, no
    "." or "..", ending in the file's own (cleaned) name."""
    parts = [clean_part(p) for p in (raw or "").replace("\\", "/").split("/")[:-1]]
    kept = [p for p in parts if p and p not in (".", "..")][-8:]
    return "/".join([*kept, filename])[: _NAME_CHARS * 2]


def clean_part(part: str) -> str:
    return "".join(ch for ch in part if ch.isprintable()).strip()[:_NAME_CHARS]


def allowed_suffix(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "without a suffix"
        raise ApiError(
            415,
            f"{name}: file type {shown} is not supported (allowed: {', '.join(sorted(SUPPORTED_SUFFIXES))})",
            code="unsupported_file_type",
        )
    return suffix


class FileStore:
    def __init__(self, settings: Settings, counter: Callable[[], TokenCounter], options: ServerOptions) -> None:
        self.root = settings.home / "server" / "files"
        self.root.mkdir(parents=True, exist_ok=True)
        self._settings = settings
        self._max_stored = options.max_stored_bytes
        self._parser = ParserProcess(options.parse_seconds, options.parse_memory_mb)
        self._counter = counter  # called on the worker thread: the embedded one loads a vocabulary
        self._index: IndexStore | None = None
        self._index_lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        """Load what earlier runs stored; index again what they left unfinished."""
        found = []
        for meta in self.root.glob("file-*.json"):
            try:
                f = StoredFile(**json.loads(meta.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as e:
                log.warning("ignoring unreadable file record %s: %s", meta.name, e)
                continue
            if _ID.fullmatch(f.id) and self.path(f).is_file():
                found.append(f)
        for f in sorted(found, key=lambda f: f.uploaded_ns):
            if not f.sha256:  # stored by a version that did not record it
                f.sha256 = hashlib.sha256(self.path(f).read_bytes()).hexdigest()
                self._save(f)
            self._files[f.id] = f
            if f.status in ("queued", "indexing"):
                f.status = "queued"
                self._queue.put(f.id)
        self._worker = threading.Thread(target=self._work, name="longdoc-indexer", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=30)
            self._worker = None
        self._parser.close()

    # -- the files ------------------------------------------------------------------

    def path(self, f: StoredFile) -> Path:
        return self.root / f.stored_name

    def add(self, filename: str, data: BinaryIO, path: str = "") -> tuple[StoredFile, bool]:
        """Store an upload (its type already checked) and queue it for indexing.
        The same bytes uploaded again are not stored twice: the file already
        there comes back, with True (a duplicate)."""
        suffix = allowed_suffix(filename)
        now = time.time_ns()
        f = StoredFile(f"file-{secrets.token_hex(12)}", filename, suffix, 0, now // 10**9, uploaded_ns=now, path=path)
        tmp = self.root / f".tmp-{f.id}"
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out:
                while block := data.read(1024 * 1024):
                    digest.update(block)
                    out.write(block)
            f.bytes = tmp.stat().st_size
            f.sha256 = digest.hexdigest()
            with self._lock:
                same = next((g for g in self._files.values() if g.sha256 == f.sha256), None)
                if same is not None:
                    return StoredFile(**asdict(same)), True
                stored = sum(g.bytes for g in self._files.values())
                if stored + f.bytes > self._max_stored:
                    raise ApiError(
                        507,
                        f"{filename}: not stored: uploads would take {stored + f.bytes:,} bytes, over the server's "
                        f"limit of {self._max_stored:,} (delete files first)",
                        code="storage_full",
                    )
                os.replace(tmp, self.path(f))
                self._files[f.id] = f
                self._save(f)
        finally:
            tmp.unlink(missing_ok=True)
        self._queue.put(f.id)
        return f, False

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            f = self._files.get(file_id) if _ID.fullmatch(file_id) else None
            if f is None:
                raise ApiError(404, f"no such file: {file_id}", code="file_not_found", param="file_id")
            return StoredFile(**asdict(f))  # a snapshot: the worker keeps updating the original

    def all_files(self) -> list[StoredFile]:
        with self._lock:
            return [StoredFile(**asdict(f)) for f in self._files.values()]  # in upload order

    def delete(self, file_id: str) -> None:
        f = self.get(file_id)
        with self._lock:
            self._files.pop(f.id, None)
            self.path(f).unlink(missing_ok=True)
            (self.root / f"{f.id}.json").unlink(missing_ok=True)
        shutil.rmtree(self.page_cache(f), ignore_errors=True)
        self._forget(f)

    def _forget(self, f: StoredFile) -> None:
        """Delete the file's chunks from a remote store (Milvus), where they would
        stay searchable and stored for good. No other file has its bytes: `add`
        keeps one file per content."""
        if not f.sha256 or self._settings.store == "local":  # local entries are a content cache, kept
            return
        store = self._store()
        try:
            store.forget([store.doc_key(f.sha256, f.suffix)])
        except StoreError as e:  # the file is gone either way; say what was left behind
            log.warning("deleted %s, but its chunks stay in the store: %s", f.id, e)

    def page_cache(self, f: StoredFile) -> Path:
        """Where the PDF's rendered pages are kept."""
        return self.root.parent / "pages" / f.id

    def for_question(self, file_ids: list[str] | None, collection: Collection | None = None) -> list[StoredFile]:
        """The files a question is asked over: those named and the ready ones of
        the collection, or, when neither is given, every ready one."""
        if collection is not None:
            return self._of_collection(collection, file_ids or [])
        if not file_ids:
            ready = [f for f in self.all_files() if f.status == "ready"]
            if not ready:
                raise ApiError(
                    400,
                    "no documents to ask about: upload files (POST /v1/files) and wait until their status is ready",
                    code="no_documents",
                    param="file_ids",
                )
            return ready
        files = [self.get(i) for i in dict.fromkeys(file_ids)]
        for f in files:
            if f.status == "failed":
                raise ApiError(409, f"{f.filename} ({f.id}) could not be indexed: {f.reason}", code="file_failed")
            if f.status != "ready":
                raise ApiError(
                    409,
                    f"{f.filename} ({f.id}) is still {f.status}: ask again when its status is ready",
                    code="file_not_ready",
                )
        return files

    def _of_collection(self, collection: Collection, file_ids: list[str]) -> list[StoredFile]:
        members = [f for f in self.all_files() if f.id in set(collection.file_ids)]
        if not members and not file_ids:
            raise ApiError(
                400,
                f"the collection {collection.name} has no documents: upload files into it first",
                code="collection_empty",
            )
        ready = [f for f in members if f.status == "ready"]
        if not ready and not file_ids:
            states = ", ".join(f"{f.filename} {f.status}" for f in members)
            raise ApiError(
                409, f"the collection {collection.name} has no ready documents yet: {states}", code="file_not_ready"
            )
        named = self.for_question(file_ids) if file_ids else []
        return ready + [f for f in named if f.id not in {g.id for g in ready}]

    def passage(self, file_id: str, chunk_id: str) -> dict[str, Any]:
        """A cited chunk in full, so the page can show the quote in its context."""
        f = self.get(file_id)
        if f.status != "ready":
            raise ApiError(409, f"{f.filename} is not indexed (status: {f.status})", code="file_not_ready")
        doc = self._load(f)
        for c in doc.chunks:
            if c.id == chunk_id:
                return {
                    "file_id": f.id,
                    "filename": f.filename,
                    "format": f.suffix.lstrip("."),
                    "chunk_id": c.id,
                    "index": c.index,
                    "page": c.page,
                    "page_end": c.page_end,
                    "heading": list(c.heading),
                    "text": c.text,
                }
        raise ApiError(404, f"no passage {chunk_id} in {f.filename}", code="passage_not_found", param="chunk_id")

    # -- indexing -------------------------------------------------------------------

    def _store(self) -> IndexStore:
        with self._index_lock:
            if self._index is None:
                self._index = open_store(self._settings, self._counter())
            return self._index

    def _load(self, f: StoredFile) -> IndexedDoc:
        try:
            return self._store().add(self.path(f), parse=self._parser.parse)  # unchanged: read from the index
        except ParseError as e:
            raise ApiError(409, f"{f.filename}: {e.cause}", code="file_unreadable") from None

    def _work(self) -> None:
        while (file_id := self._queue.get()) is not None:
            self._index_one(file_id)

    def _index_one(self, file_id: str) -> None:
        with self._lock:
            f = self._files.get(file_id)
            if f is None:  # deleted while queued
                return
            f.status = "indexing"
            self._save(f)
        try:
            store = self._store()
            doc = store.add(self.path(f), parse=self._parser.parse)
            store.corpus([doc])  # build BM25 now, so the first question needs no wait
            result: tuple[str, str | None, int, int] = ("ready", None, len(doc.chunks), doc.tokens)
        except ParseError as e:
            result = ("failed", e.cause, 0, 0)
        except LongdocError as e:
            result = ("failed", str(e), 0, 0)
        except Exception as e:  # a bug: keep the server up, say what happened, log the traceback
            log.exception("indexing %s failed", f.id)
            result = ("failed", f"internal error while indexing: {type(e).__name__}: {e}", 0, 0)
        with self._lock:
            if file_id not in self._files:
                return
            f.status, f.reason, f.chunks, f.tokens = result
            self._save(f)

    def _save(self, f: StoredFile) -> None:
        """Write the record atomically (callers hold the lock)."""
        write_file(self.root / f"{f.id}.json", json.dumps(asdict(f), ensure_ascii=False).encode())
