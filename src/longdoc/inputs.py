"""What the command line's PATH arguments stand for: files, folders (their
supported files, recursively), `-` (a document on stdin) and URLs (refused
with a clear reason: longdoc reads local files only)."""

from __future__ import annotations

import os
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from .names import display_names
from .parse import SUPPORTED_SUFFIXES, printable_path

STDIN = "-"
STDIN_NAME = "stdin"  # how citations name a document read from stdin
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@dataclass
class Inputs:
    paths: list[str] = field(default_factory=list)  # the files to index, in order
    names: list[str] = field(default_factory=list)  # what citations call each of them
    errors: list[str] = field(default_factory=list)  # one line per argument that gave no file
    notes: list[str] = field(default_factory=list)  # what folders held besides supported files


def gather(args: Sequence[str], stdin: BinaryIO, scratch: Path) -> Inputs:
    """Expand the arguments into files; `scratch` holds a document read from stdin."""
    found: list[tuple[str, bool]] = []  # (path, read from stdin)
    out = Inputs()
    for arg in args:
        if _URL.match(arg):
            out.errors.append(f"{printable_path(arg)}: URLs are not supported yet: download the file and give its path")
        elif arg == STDIN:
            saved = _save_stdin(stdin, scratch)
            if saved is None:
                out.errors.append(f"{STDIN}: nothing was read from stdin")
            else:
                found.append((str(saved), True))
        elif os.path.isdir(arg):
            files, skipped = folder_files(Path(arg))
            found.extend((str(f), False) for f in files)
            if skipped:
                what = ", ".join(f"{n} {suffix}" for suffix, n in skipped.most_common())
                total = sum(skipped.values())
                out.notes.append(
                    f"{printable_path(arg)}: skipped {total} file{'s' * (total != 1)} of unsupported types ({what})"
                )
            if not files:
                out.errors.append(
                    f"{printable_path(arg)}: no supported files in this folder (supported: {_supported()})"
                )
        else:
            found.append((arg, False))
    real = display_names([printable_path(os.path.abspath(p)) for p, from_stdin in found if not from_stdin])
    names = iter(real)
    for path, from_stdin in found:
        out.paths.append(path)
        out.names.append(STDIN_NAME if from_stdin else next(names))
    return out


def folder_files(folder: Path) -> tuple[list[Path], Counter[str]]:
    """The supported files under `folder`, in path order, and how many of each
    other type were skipped. Hidden files and folders (".git") are passed over."""
    files: list[Path] = []
    skipped: Counter[str] = Counter()
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            suffix = Path(name).suffix.lower()
            if suffix in SUPPORTED_SUFFIXES:
                files.append(Path(root) / name)
            else:
                skipped[suffix or "(no extension)"] += 1
    return files, skipped


def _save_stdin(stdin: BinaryIO, scratch: Path) -> Path | None:
    data = stdin.read()
    if not data:
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"{STDIN_NAME}{sniff_suffix(data)}"
    path.write_bytes(data)
    return path


def sniff_suffix(data: bytes) -> str:
    """The file type of a document that came without a name."""
    if data.startswith(b"%PDF-"):
        return ".pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return ".txt"  # the text parser then says it is binary
        if any(n.startswith("ppt/") for n in names):
            return ".pptx"
        return ".docx"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return ".html"
    if re.search(rb"^#{1,6} \S", data[:4096], re.M):
        return ".md"
    return ".txt"


def _supported() -> str:
    return " ".join(sorted(SUPPORTED_SUFFIXES))
