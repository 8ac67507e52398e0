"""Writes that survive a crash: a file or a whole directory is written under a
temporary name, flushed to disk (the files and the directory that holds them),
then renamed into place in one step. A reader sees the old version or the new
one, never half of one, even after kill -9 or a power cut."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

TMP_PREFIX = ".tmp-"


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def write_file(final: Path, data: bytes) -> None:
    """Replace `final` with `data` atomically and durably."""
    tmp = final.with_name(f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)


@contextmanager
def atomic_dir(final: Path, replace_existing: bool = False) -> Iterator[Path]:
    """Yield a new temporary directory beside `final`; once the block ends,
    flush it and rename it to `final` in one step.

    When `final` already exists, another process finished the same entry
    first and its copy is kept; with `replace_existing` (the entry there was
    found damaged) it is moved aside and deleted instead. A block that raises
    leaves nothing behind."""
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        _fsync_tree(tmp)
        if replace_existing:
            discard(final)
        try:
            os.replace(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def discard(path: Path) -> None:
    """Remove a file or a directory tree, first renaming it out of the way so
    no reader ever opens it half-deleted."""
    aside = path.parent / f"{TMP_PREFIX}discard-{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        with suppress(OSError):
            aside.unlink()
