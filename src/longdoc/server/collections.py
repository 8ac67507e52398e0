"""Collections: named groups of uploaded files, asked about as one.

One JSON file, `<home>/server/collections.json`, rewritten atomically on every
change. A file may belong to several collections; deleting a collection keeps
its files, deleting a file takes it out of every collection.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import ApiError

log = logging.getLogger("longdoc.server")

_ID = re.compile(r"col-[0-9a-f]{24}")
MAX_NAME_CHARS = 100


@dataclass
class Collection:
    id: str
    name: str
    created_at: int
    file_ids: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "collection",
            "name": self.name,
            "created_at": self.created_at,
            "file_ids": list(self.file_ids),
        }


class CollectionStore:
    def __init__(self, root: Path) -> None:
        self._file = root / "collections.json"
        self._lock = threading.Lock()
        self._items: dict[str, Collection] = {}
        try:
            for d in json.loads(self._file.read_text(encoding="utf-8")):
                c = Collection(**d)
                self._items[c.id] = c
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as e:
            log.warning("ignoring unreadable %s: %s", self._file, e)

    def all(self) -> list[Collection]:
        with self._lock:
            return [self._copy(c) for c in self._items.values()]

    def get(self, collection_id: str) -> Collection:
        with self._lock:
            return self._copy(self._find(collection_id))

    def create(self, name: str, file_ids: list[str]) -> Collection:
        name = self._check_name(name)
        with self._lock:
            c = Collection(f"col-{secrets.token_hex(12)}", name, int(time.time()), list(dict.fromkeys(file_ids)))
            self._items[c.id] = c
            self._save()
            return self._copy(c)

    def rename(self, collection_id: str, name: str) -> Collection:
        name = self._check_name(name, collection_id)
        with self._lock:
            c = self._find(collection_id)
            c.name = name
            self._save()
            return self._copy(c)

    def delete(self, collection_id: str) -> None:
        with self._lock:
            self._items.pop(self._find(collection_id).id)
            self._save()

    def add_files(self, collection_id: str, file_ids: list[str]) -> Collection:
        with self._lock:
            c = self._find(collection_id)
            c.file_ids = list(dict.fromkeys([*c.file_ids, *file_ids]))
            self._save()
            return self._copy(c)

    def remove_file(self, collection_id: str, file_id: str) -> Collection:
        with self._lock:
            c = self._find(collection_id)
            c.file_ids = [i for i in c.file_ids if i != file_id]
            self._save()
            return self._copy(c)

    def forget_file(self, file_id: str) -> None:
        """A deleted file leaves every collection."""
        with self._lock:
            changed = False
            for c in self._items.values():
                if file_id in c.file_ids:
                    c.file_ids.remove(file_id)
                    changed = True
            if changed:
                self._save()

    def _check_name(self, name: str, renaming: str | None = None) -> str:
        name = " ".join("".join(ch for ch in name if ch.isprintable()).split())[:MAX_NAME_CHARS]
        if not name:
            raise ApiError(400, "the collection name is empty", code="invalid_request", param="name")
        with self._lock:
            if any(c.name == name and c.id != renaming for c in self._items.values()):
                raise ApiError(409, f"a collection named {name} already exists", code="collection_exists")
        return name

    def _find(self, collection_id: str) -> Collection:
        c = self._items.get(collection_id) if _ID.fullmatch(collection_id) else None
        if c is None:
            raise ApiError(404, f"no such collection: {collection_id}", code="collection_not_found")
        return c

    @staticmethod
    def _copy(c: Collection) -> Collection:
        return Collection(**asdict(c))

    def _save(self) -> None:
        """Write every collection atomically (callers hold the lock)."""
        tmp = self._file.with_name(".tmp-collections.json")
        data = [asdict(c) for c in self._items.values()]
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self._file)
