"""Pieces every format parser shares: the result type, block building, offsets."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath

from longdoc.parse.limits import check_zip, spend
from longdoc.records import BLOCK_SEPARATOR, Block
from longdoc.sentences import END_MARK

# Blocks above this size are cut so no single block can swamp a chunk or a prompt.
MAX_BLOCK_CHARS = 20_000

# One or more blank lines (lines holding only spaces or tabs count as blank).
PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")

# Break points for over-long text after a sentence end, best first: a line end, a word gap.
_BREAK_TIERS: tuple[tuple[str, ...], ...] = (
    ("\n",),
    (" ", "\t", "，", "、", "；"),
)


class Unreadable(Exception):
    """Raised by a format parser with a one-line, user-facing cause.

    `parse_bytes` turns it into a ParseError naming the file, so parsers need
    not know the path.
    """


@dataclass
class Parsed:
    """What a format parser returns; `parse_bytes` wraps it into a Document."""

    blocks: list[Block]
    title: str | None = None
    warning: str | None = None  # something was left out or assumed; shown with the file's name


class BlockCollector:
    """Gathers blocks in reading order and tracks the current heading path."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._headings: list[tuple[int, str]] = []

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._headings)

    def heading(self, level: int, text: str, page: int | None = None) -> None:
        """Add a heading block; it closes every open heading of the same or a deeper level."""
        spend(len(text))
        text = " ".join(text.split())
        if not text:
            return
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, text))
        self.blocks.append(Block(text, page, self.path, "heading"))

    def add(
        self,
        text: str,
        kind: str = "text",
        page: int | None = None,
        heading: tuple[str, ...] | None = None,
    ) -> None:
        """Add text (skipped when blank), cut into bounded pieces if it is very long."""
        spend(len(text))  # also called for blank text: pathological nesting adds many of those
        text = text.strip()
        if not text:
            return
        path = self.path if heading is None else heading
        for piece in split_long(text):
            self.blocks.append(Block(piece, page, path, kind))


def split_long(text: str, limit: int = MAX_BLOCK_CHARS) -> list[str]:
    """Cut `text` into stripped pieces of at most `limit` characters, at natural breaks."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        cut = _break_point(text, start + limit // 2, start + limit)
        pieces.append(text[start:cut].strip())
        start = cut
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _break_point(text: str, lo: int, hi: int) -> int:
    """The best place to cut within text[lo:hi]; `hi` when there is no break at all."""
    sentence_end = max((m.end() for m in END_MARK.finditer(text, lo, hi)), default=lo)
    if sentence_end > lo:
        return sentence_end
    for marks in _BREAK_TIERS:
        best = max(text.rfind(m, lo, hi) + len(m) for m in marks)
        if best > lo:
            return best
    return hi


def with_offsets(blocks: Iterable[Block]) -> list[Block]:
    """Set each block's start/end to its span in `full_text(blocks)`."""
    out: list[Block] = []
    pos = 0
    for b in blocks:
        end = pos + len(b.text)
        out.append(Block(b.text, b.page, b.heading, b.kind, pos, end))
        pos = end + len(BLOCK_SEPARATOR)
    return out


def printable_path(path: str | PurePath) -> str:
    """A path as text that can be printed and stored: bytes of a file name that
    are not UTF-8 (kept by Python as lone surrogates) are shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def describe(exc: BaseException) -> str:
    """A short one-line description of an exception for an error message."""
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else ""
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# Old binary Office files and password-protected OOXML files are both OLE containers.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@contextmanager
def opening_ooxml(data: bytes, kind: str) -> Iterator[None]:
    """Turn the ways python-docx / python-pptx fail to open a file into clear causes."""
    if data.startswith(_OLE_MAGIC):
        raise Unreadable(f"not a valid {kind} file: it is password-protected or an old binary Office file")
    check_zip(data, kind)
    try:
        yield
    except zipfile.BadZipFile as e:
        raise Unreadable(f"not a valid {kind} (zip) file") from e
    except KeyError as e:
        raise Unreadable(f"not a valid {kind} file (required parts are missing)") from e
    except ValueError as e:
        # python-docx / python-pptx say "... content type is ..." when the zip holds another
        # Office type (a .pptx renamed .docx); other ValueErrors are left to the generic handler.
        if "content type" not in str(e):
            raise
        raise Unreadable(f"not a {kind} file (it holds another kind of Office document)") from e
