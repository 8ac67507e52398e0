"""The per-item cache: `raw/<item>.json`, written atomically as each item is finished."""

from __future__ import annotations

import json
from pathlib import Path

from ..durable import write_file
from .records import SynthRecord

RAW_DIR = "raw"


def raw_path(out: Path, item: str) -> Path:
    return out / RAW_DIR / f"{item}.json"


def load_record(out: Path, item: str) -> SynthRecord | None:
    path = raw_path(out, item)
    if not path.is_file():
        return None
    return SynthRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))


def save_record(out: Path, record: SynthRecord) -> None:
    path = raw_path(out, record.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, json.dumps(record.to_dict(), ensure_ascii=False, indent=1).encode("utf-8"))


def finished(out: Path, item: str) -> bool:
    """Kept or dropped. An item whose backend failed counts as not finished: it is tried again."""
    record = load_record(out, item)
    return record is not None and record.error is None
